//! Settling an open conflict: the conflict rewritten as settled and, when the choice
//! changes the lead, the lead's local edit, in one transaction. Each part is
//! conditional (the conflict still open, the lead at the revision the decision read),
//! so two people settling one conflict, or an edit landing meanwhile, cannot both win.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde_json::{Map, Value};

use super::conflict::{Conflict, ConflictStatus};
use super::item::ConflictItem;
use super::keys::{PK, SK};
use super::lead_table::built;
use super::mirror::LeadWrite;
use super::{DynamoLeadStore, StoreError};

impl DynamoLeadStore {
    /// The conflict recorded for `lead_id` under `sk`, with its id.
    pub async fn conflict(&self, lead_id: &str, sk: &str) -> Result<Option<Conflict>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(format!("CONFLICT#{lead_id}")))
            .key(SK, AttributeValue::S(sk.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let doc: Map<String, Value> =
            serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                key: lead_id.to_string(),
                source,
            })?;
        let item: ConflictItem =
            serde_json::from_value(Value::Object(doc)).map_err(|e| StoreError::Corrupt {
                key: lead_id.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Some(item.into_conflict()))
    }

    /// Writes `settled` over the open conflict at `sk`, with the lead's edit if any;
    /// `false` if the conflict was no longer open or the lead had changed.
    pub async fn settle_conflict(
        &self,
        sk: &str,
        settled: &Conflict,
        edit: Option<&LeadWrite>,
    ) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(ConflictItem::at_key(settled, sk).to_dynamo()?))
            .condition_expression("#s = :open")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(
                ":open",
                AttributeValue::S(ConflictStatus::Open.as_str().into()),
            )
            .build()
            .map_err(built)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(w) = edit {
            items.push(self.transact_item(w)?);
        }
        match self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(_) => Ok(false),
                other => Err(StoreError::dynamo("TransactWriteItems", other)),
            },
        }
    }
}
