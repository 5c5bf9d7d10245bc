//! Compact JSON in Twenty's key order.
//!
//! serde_json's map sorts keys; Twenty's bodies do not (`{"data":..,"totalCount":..,
//! "pageInfo":..}`, records with `name` before `id`). Clients must not care, but bodies
//! that read like the captures make failures easy to compare, so responses and webhook
//! bodies are written through here.

use serde_json::Value;

use super::schema::ObjectKind;

/// Key order for everything that is not a record: envelopes, page info, webhook bodies,
/// webhook entities, actors and composite sub-fields. Unknown keys follow, sorted.
const NESTED_ORDER: &[&str] = &[
    "data",
    "totalCount",
    "pageInfo",
    "startCursor",
    "endCursor",
    "hasNextPage",
    "hasPreviousPage",
    "id",
    "targetUrl",
    "eventName",
    "operations",
    "description",
    "secret",
    "objectMetadata",
    "nameSingular",
    "workspaceId",
    "applicationId",
    "webhookId",
    "eventDate",
    "record",
    "updatedFields",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "source",
    "workspaceMemberId",
    "name",
    "context",
    "primaryEmail",
    "additionalEmails",
    "primaryPhoneNumber",
    "primaryPhoneCountryCode",
    "primaryPhoneCallingCode",
    "additionalPhones",
    "amountMicros",
    "currencyCode",
    "blocknote",
    "markdown",
    "firstName",
    "lastName",
    "primaryLinkLabel",
    "primaryLinkUrl",
    "secondaryLinks",
    "addressStreet1",
    "addressStreet2",
    "addressCity",
    "addressPostcode",
    "addressState",
    "addressCountry",
    "addressLat",
    "addressLng",
];

/// Serialises `value`; objects that are records of `kind` get that object's field order.
pub(crate) fn to_string(value: &Value, kind: Option<ObjectKind>) -> String {
    let record_order = kind.map(ObjectKind::field_order).unwrap_or_default();
    let mut out = String::new();
    write(&mut out, value, &record_order);
    out
}

fn write(out: &mut String, value: &Value, record_order: &[&str]) {
    match value {
        Value::Object(map) => {
            // Records are the objects with both an id and a createdBy.
            let is_record = map.contains_key("id") && map.contains_key("createdBy");
            let order = if is_record && !record_order.is_empty() {
                record_order
            } else {
                NESTED_ORDER
            };
            let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(usize::MAX);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write(out, &map[key], record_order);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, record_order);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_records_and_envelopes_in_twentys_order() {
        let body = json!({
            "pageInfo": {"hasNextPage": false, "endCursor": null},
            "totalCount": 1,
            "data": {"leads": [{"id": "x", "name": "Acme", "createdBy": {"name": "k", "source": "API"}}]},
        });
        assert_eq!(
            to_string(&body, Some(ObjectKind::Lead)),
            r#"{"data":{"leads":[{"name":"Acme","id":"x","createdBy":{"source":"API","name":"k"}}]},"totalCount":1,"pageInfo":{"endCursor":null,"hasNextPage":false}}"#
        );
    }
}
