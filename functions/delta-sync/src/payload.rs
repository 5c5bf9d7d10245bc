use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use spartan_sync::RequestedMode;

/// Reads what the invocation asks for:
/// - the EventBridge scheduled event (or EventBridge Scheduler's `{}`): the schedule's choice;
/// - `{"mode": "full"}` / `{"mode": "delta"}` / `{"mode": "auto"}`: forced, for people;
/// - a scheduled event whose `detail` carries `mode`: forced from a rule.
pub fn parse_requested_mode(payload: &Value) -> Result<RequestedMode, String> {
    match payload {
        Value::Null => Ok(RequestedMode::Auto),
        Value::Object(map) if map.is_empty() => Ok(RequestedMode::Auto),
        Value::Object(map) if map.contains_key("mode") => mode_of(map.get("mode")),
        Value::Object(map) if map.contains_key("detail-type") => {
            let event: EventBridgeEvent = serde_json::from_value(payload.clone())
                .map_err(|e| format!("not a valid EventBridge event: {e}"))?;
            match event.detail.get("mode") {
                None => Ok(RequestedMode::Auto),
                some => mode_of(some),
            }
        }
        _ => Err(
            "unrecognised payload: expected an EventBridge scheduled event or {\"mode\":\"full\"|\"delta\"}"
                .to_string(),
        ),
    }
}

fn mode_of(value: Option<&Value>) -> Result<RequestedMode, String> {
    match value.and_then(Value::as_str) {
        Some("full") => Ok(RequestedMode::Full),
        Some("delta") => Ok(RequestedMode::Delta),
        Some("auto") => Ok(RequestedMode::Auto),
        _ => Err(format!(
            "\"mode\" must be \"full\", \"delta\" or \"auto\", not {}",
            value
                .map(Value::to_string)
                .unwrap_or_else(|| "nothing".into())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_scheduled_event_aws_sends_means_auto() {
        let raw = include_str!("../../../tests/fixtures/aws/example-eventbridge-schedule.json");
        let v: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(parse_requested_mode(&v), Ok(RequestedMode::Auto));
    }

    #[test]
    fn manual_payloads_force_a_mode() {
        assert_eq!(
            parse_requested_mode(&json!({"mode": "full"})),
            Ok(RequestedMode::Full)
        );
        assert_eq!(
            parse_requested_mode(&json!({"mode": "delta"})),
            Ok(RequestedMode::Delta)
        );
        assert_eq!(parse_requested_mode(&json!({})), Ok(RequestedMode::Auto));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        let err = parse_requested_mode(&json!({"mode": "everything"})).unwrap_err();
        assert!(err.contains("\"everything\""), "{err}");
        assert!(parse_requested_mode(&json!([1, 2])).is_err());
        assert!(parse_requested_mode(&json!("full")).is_err());
    }
}
