//! What the sync core needs of Twenty's REST API for one object: a narrow trait whose
//! real implementation is [`TwentyClient`] and whose in-memory one (the simulator's
//! Twenty, in `tests/`) models ties, late commits, lost answers and rate limits.

use std::future::Future;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::{ListQuery, Page, RequestStats, TwentyClient, TwentyError};
use crate::domain::{LeadId, ObjectName, RemoteRecord};

pub trait RemoteObjects: Send + Sync {
    fn object(&self) -> &ObjectName;
    fn page_size(&self) -> u32;
    /// Requests and bytes so far; subtract two snapshots for one run's cost.
    fn stats(&self) -> RequestStats;

    fn list(
        &self,
        query: &ListQuery,
        deadline: Instant,
    ) -> impl Future<Output = Result<Page, TwentyError>> + Send;

    /// `None` when Twenty says 404 (absent or soft-deleted).
    fn get(
        &self,
        id: &LeadId,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<RemoteRecord>, TwentyError>> + Send;

    fn create(
        &self,
        fields: &Map<String, Value>,
        deadline: Instant,
    ) -> impl Future<Output = Result<RemoteRecord, TwentyError>> + Send;

    fn update(
        &self,
        id: &LeadId,
        fields: &Map<String, Value>,
        deadline: Instant,
    ) -> impl Future<Output = Result<RemoteRecord, TwentyError>> + Send;

    /// Soft (returns the record) or hard (returns `None`).
    fn delete(
        &self,
        id: &LeadId,
        soft: bool,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<RemoteRecord>, TwentyError>> + Send;
}

impl RemoteObjects for TwentyClient {
    fn object(&self) -> &ObjectName {
        TwentyClient::object(self)
    }

    fn page_size(&self) -> u32 {
        TwentyClient::page_size(self)
    }

    fn stats(&self) -> RequestStats {
        TwentyClient::stats(self)
    }

    async fn list(&self, query: &ListQuery, deadline: Instant) -> Result<Page, TwentyError> {
        TwentyClient::list(self, query, deadline).await
    }

    async fn get(
        &self,
        id: &LeadId,
        deadline: Instant,
    ) -> Result<Option<RemoteRecord>, TwentyError> {
        TwentyClient::get(self, id, deadline).await
    }

    async fn create(
        &self,
        fields: &Map<String, Value>,
        deadline: Instant,
    ) -> Result<RemoteRecord, TwentyError> {
        TwentyClient::create(self, fields, deadline).await
    }

    async fn update(
        &self,
        id: &LeadId,
        fields: &Map<String, Value>,
        deadline: Instant,
    ) -> Result<RemoteRecord, TwentyError> {
        TwentyClient::update(self, id, fields, deadline).await
    }

    async fn delete(
        &self,
        id: &LeadId,
        soft: bool,
        deadline: Instant,
    ) -> Result<Option<RemoteRecord>, TwentyError> {
        TwentyClient::delete(self, id, soft, deadline).await
    }
}
