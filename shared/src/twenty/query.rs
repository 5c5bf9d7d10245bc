use crate::domain::{LeadId, Timestamp};

/// The parameters of a list request, in Twenty's own vocabulary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub order_by: Option<String>,
    pub limit: Option<u32>,
    pub starting_after: Option<String>,
    /// 0 returns the record alone: smaller pages, and all the mirror needs.
    pub depth: Option<u8>,
    /// The lower bound `filter` says, kept typed for other implementations of
    /// [`super::RemoteObjects`] (the in-memory Twenty); never sent.
    pub changed_since: Option<Timestamp>,
    /// The records `filter` names by id, kept typed likewise; never sent.
    pub ids: Option<Vec<LeadId>>,
}

impl ListQuery {
    /// Every record changed at or after `since` (all records when `None`), soft-deleted
    /// ones included, oldest change first so that a cursor can resume the pass.
    pub fn changes_since(since: Option<Timestamp>, limit: u32) -> Self {
        let filter = match since {
            Some(ts) => filter::and(&[&filter::updated_at_gte(ts), filter::ANY_DELETION_STATE]),
            None => filter::ANY_DELETION_STATE.to_string(),
        };
        Self {
            filter: Some(filter),
            order_by: Some("updatedAt[AscNullsFirst]".into()),
            limit: Some(limit),
            starting_after: None,
            depth: Some(0),
            changed_since: since,
            ids: None,
        }
    }

    /// The records with these ids, soft-deleted ones included, in one page (the caller
    /// keeps the list short enough for one URL: see [`MAX_IDS`]).
    pub fn by_ids(ids: &[LeadId]) -> Self {
        Self {
            filter: Some(filter::and(&[
                &filter::id_in(ids),
                filter::ANY_DELETION_STATE,
            ])),
            order_by: None,
            limit: Some(ids.len().max(1) as u32),
            starting_after: None,
            depth: Some(0),
            changed_since: None,
            ids: Some(ids.to_vec()),
        }
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.starting_after = cursor;
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(5);
        if let Some(f) = &self.filter {
            pairs.push(("filter", f.clone()));
        }
        if let Some(o) = &self.order_by {
            pairs.push(("order_by", o.clone()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.starting_after {
            pairs.push(("starting_after", c.clone()));
        }
        if let Some(d) = self.depth {
            pairs.push(("depth", d.to_string()));
        }
        pairs
    }
}

/// Ids per [`ListQuery::by_ids`] request: 50 UUIDs keep the URL near 2.5 kB, well under
/// what Twenty's server and any proxy in front of it accept.
pub const MAX_IDS: usize = 50;

/// Builders for Twenty's filter syntax (`field[op]:value`, `and(...)`, `or(...)`).
pub mod filter {
    use crate::domain::{LeadId, Timestamp};

    /// Lists hide soft-deleted rows unless the filter names `deletedAt`; this names it
    /// without narrowing, so live and soft-deleted changes come back together.
    pub const ANY_DELETION_STATE: &str = "or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)";

    pub fn updated_at_gte(ts: Timestamp) -> String {
        format!("updatedAt[gte]:\"{ts}\"")
    }

    /// `id[in]:["a","b"]` (the form `PATCH /rest/restore` also takes).
    pub fn id_in(ids: &[LeadId]) -> String {
        let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
        format!("id[in]:[{}]", quoted.join(","))
    }

    pub fn and(parts: &[&str]) -> String {
        format!("and({})", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_query_names_deleted_at_and_orders_by_updated_at() {
        let since = Timestamp::parse("2026-11-24T17:13:20.558Z").unwrap();
        let q = ListQuery::changes_since(Some(since), 200);
        assert_eq!(
            q.filter.as_deref(),
            Some(
                "and(updatedAt[gte]:\"2026-11-24T17:13:20.558Z\",or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL))"
            )
        );
        assert_eq!(q.order_by.as_deref(), Some("updatedAt[AscNullsFirst]"));
        assert_eq!(q.limit, Some(200));
    }

    #[test]
    fn an_id_query_names_each_id_and_deleted_at() {
        let a = LeadId::parse("73affd6e-2319-4ad1-82d8-f8eb9312a232").unwrap();
        let b = LeadId::parse("8d969ae5-8538-4664-85fc-96a6fa79311e").unwrap();
        let q = ListQuery::by_ids(&[a, b]);
        assert_eq!(
            q.filter.as_deref(),
            Some(
                "and(id[in]:[\"73affd6e-2319-4ad1-82d8-f8eb9312a232\",\"8d969ae5-8538-4664-85fc-96a6fa79311e\"],or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL))"
            )
        );
        assert_eq!(q.limit, Some(2));
        assert_eq!(q.order_by, None);
    }

    #[test]
    fn full_query_still_includes_soft_deleted_rows() {
        let q = ListQuery::changes_since(None, 200);
        assert_eq!(q.filter.as_deref(), Some(filter::ANY_DELETION_STATE));
    }
}
