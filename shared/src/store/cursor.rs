//! Opaque page cursors over DynamoDB's `LastEvaluatedKey`: base64 of the key's string
//! attributes, refused unless it names only the attributes a key may hold.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{Map, Value};

use super::item::attr;
use super::keys::{PK, SK};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid cursor: pass back exactly the nextCursor of an earlier page")]
pub struct BadCursor;

pub(crate) fn encode(key: &HashMap<String, AttributeValue>) -> String {
    let map: Map<String, Value> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), Value::String(s.clone()))))
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Value::Object(map).to_string())
}

pub(crate) fn decode(cursor: &str) -> Result<HashMap<String, AttributeValue>, BadCursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| BadCursor)?;
    let map: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| BadCursor)?;
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s)
                if [
                    PK,
                    SK,
                    attr::KIND,
                    attr::CHANGED_AT,
                    attr::PENDING_QUEUE,
                    attr::PENDING_SINCE,
                ]
                .contains(&k.as_str()) =>
            {
                Ok((k, AttributeValue::S(s)))
            }
            _ => Err(BadCursor),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let key = HashMap::from([
            (PK.to_string(), AttributeValue::S("LEAD#x".into())),
            (SK.to_string(), AttributeValue::S("LEAD".into())),
        ]);
        assert_eq!(decode(&encode(&key)).unwrap(), key);
        assert_eq!(decode("garbage!"), Err(BadCursor));
        let foreign = encode(&HashMap::from([(
            "other".to_string(),
            AttributeValue::S("x".into()),
        )]));
        assert_eq!(decode(&foreign), Err(BadCursor));
    }
}
