use serde_json::{Map, Value};
use spartan_sync::domain::SYSTEM_FIELDS;

/// A create or update body: a JSON object of Twenty fields, none of them Twenty's own
/// system fields or our bookkeeping.
pub fn fields(body: &[u8], allow_empty: bool) -> Result<Map<String, Value>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("the body must be a JSON object of lead fields".into());
    };
    if fields.is_empty() && !allow_empty {
        return Err("the body has no fields to change".into());
    }
    for key in fields.keys() {
        if SYSTEM_FIELDS.contains(&key.as_str()) {
            return Err(format!("`{key}` is set by Twenty and cannot be written"));
        }
        if key.starts_with('_') || key == "pk" || key == "sk" || key.is_empty() {
            return Err(format!("`{key}` is not a lead field"));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_set_of_lead_fields() {
        assert!(fields(b"{\"score\": 5}", false).is_ok());
        assert!(fields(b"nope", false).unwrap_err().contains("not JSON"));
        assert!(fields(b"[1]", false).unwrap_err().contains("object"));
        assert!(fields(b"{}", false).unwrap_err().contains("no fields"));
        assert!(
            fields(b"{\"updatedAt\": \"x\"}", false)
                .unwrap_err()
                .contains("updatedAt")
        );
        assert!(
            fields(b"{\"_pending\": 1}", false)
                .unwrap_err()
                .contains("_pending")
        );
    }
}
