//! The Events API v2 contract, as PagerDuty documents it: what makes an event valid.
//!
//! Every rule here is one a real integration can trip over; the messages follow PagerDuty's own
//! wording where it is known, so a failing test reads like a real rejection.

use serde_json::{Map, Value};

/// Largest event PagerDuty accepts.
pub const MAX_EVENT_BYTES: usize = 512 * 1024;
pub const ROUTING_KEY_LEN: usize = 32;
pub const MAX_DEDUP_KEY_CHARS: usize = 255;
pub const MAX_SUMMARY_CHARS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Trigger,
    Acknowledge,
    Resolve,
}

/// A valid event, reduced to what the receiver's incident book needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub routing_key: String,
    pub action: Action,
    pub dedup_key: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<String>,
}

/// Checks a raw request body; `Err` holds every problem found, as PagerDuty lists them.
pub fn validate(body: &[u8]) -> Result<(Event, Value), Vec<String>> {
    if body.len() > MAX_EVENT_BYTES {
        return Err(vec![format!(
            "Event is {} bytes, larger than the 512 KB PagerDuty accepts",
            body.len()
        )]);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| vec!["Invalid JSON".to_string()])?;
    let Some(obj) = value.as_object() else {
        return Err(vec!["Event object is invalid: expected a JSON object".to_string()]);
    };
    let mut errors = Vec::new();

    let routing_key = match obj.get("routing_key") {
        Some(Value::String(k)) if !k.trim().is_empty() => {
            if k.chars().count() != ROUTING_KEY_LEN {
                errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".to_string());
            }
            k.clone()
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errors.push("'routing_key' is missing or blank".to_string());
            String::new()
        }
        Some(_) => {
            errors.push("'routing_key' must be a string".to_string());
            String::new()
        }
    };

    let action = match obj.get("event_action").and_then(Value::as_str) {
        Some("trigger") => Some(Action::Trigger),
        Some("acknowledge") => Some(Action::Acknowledge),
        Some("resolve") => Some(Action::Resolve),
        Some(_) => {
            errors.push(
                "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)".to_string(),
            );
            None
        }
        None => {
            errors.push("'event_action' is missing or blank".to_string());
            None
        }
    };

    let dedup_key = match obj.get("dedup_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => {
            if k.chars().count() > MAX_DEDUP_KEY_CHARS {
                errors.push("'dedup_key' is too long (maximum 255 characters)".to_string());
            }
            Some(k.clone()).filter(|k| !k.is_empty())
        }
        Some(_) => {
            errors.push("'dedup_key' must be a string".to_string());
            None
        }
    };
    if matches!(action, Some(Action::Acknowledge | Action::Resolve)) && dedup_key.is_none() {
        errors.push("'dedup_key' is required for acknowledge and resolve events".to_string());
    }

    let (mut summary, mut severity) = (None, None);
    if action == Some(Action::Trigger) {
        match obj.get("payload") {
            Some(Value::Object(payload)) => {
                summary = check_payload(payload, &mut errors);
                severity = payload
                    .get("severity")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            None | Some(Value::Null) => errors.push("'payload' is missing".to_string()),
            Some(_) => errors.push("'payload' must be an object".to_string()),
        }
        check_images(obj.get("images"), &mut errors);
        check_links(obj.get("links"), &mut errors);
        for field in ["client", "client_url"] {
            optional_string(obj, field, "", &mut errors);
        }
    }

    match action {
        Some(action) if errors.is_empty() => Ok((
            Event {
                routing_key,
                action,
                dedup_key,
                summary,
                severity,
            },
            value,
        )),
        _ => Err(errors),
    }
}

fn check_payload(payload: &Map<String, Value>, errors: &mut Vec<String>) -> Option<String> {
    let summary = match payload.get("summary") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > MAX_SUMMARY_CHARS {
                errors.push("'payload.summary' is too long (maximum 1024 characters)".to_string());
            }
            Some(s.clone())
        }
        _ => {
            errors.push("'payload.summary' is missing or blank".to_string());
            None
        }
    };
    match payload.get("source") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        _ => errors.push("'payload.source' is missing or blank".to_string()),
    }
    match payload.get("severity").and_then(Value::as_str) {
        Some("critical" | "error" | "warning" | "info") => {}
        Some(_) => errors.push(
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)".to_string(),
        ),
        None => errors.push("'payload.severity' is missing or blank".to_string()),
    }
    match payload.get("timestamp") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if is_iso8601(t) => {}
        Some(_) => errors.push("'payload.timestamp' is not a valid ISO 8601 timestamp".to_string()),
    }
    for field in ["component", "group", "class"] {
        optional_string(payload, field, "payload.", errors);
    }
    summary
}

fn is_iso8601(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

fn optional_string(obj: &Map<String, Value>, field: &str, prefix: &str, errors: &mut Vec<String>) {
    if let Some(v) = obj.get(field) {
        if !v.is_string() && !v.is_null() {
            errors.push(format!("'{prefix}{field}' must be a string"));
        }
    }
}

fn check_images(images: Option<&Value>, errors: &mut Vec<String>) {
    let Some(images) = images.filter(|v| !v.is_null()) else {
        return;
    };
    let Some(list) = images.as_array() else {
        errors.push("'images' must be an array".to_string());
        return;
    };
    for (i, image) in list.iter().enumerate() {
        let Some(image) = image.as_object() else {
            errors.push(format!("'images[{i}]' must be an object"));
            continue;
        };
        match image.get("src").and_then(Value::as_str) {
            Some(src) if src.starts_with("https://") => {}
            Some(_) => errors.push(format!("'images[{i}].src' must be served over HTTPS")),
            None => errors.push(format!("'images[{i}].src' is missing")),
        }
        for field in ["href", "alt"] {
            optional_string(image, field, &format!("images[{i}]."), errors);
        }
    }
}

fn check_links(links: Option<&Value>, errors: &mut Vec<String>) {
    let Some(links) = links.filter(|v| !v.is_null()) else {
        return;
    };
    let Some(list) = links.as_array() else {
        errors.push("'links' must be an array".to_string());
        return;
    };
    for (i, link) in list.iter().enumerate() {
        let Some(link) = link.as_object() else {
            errors.push(format!("'links[{i}]' must be an object"));
            continue;
        };
        let has_href = matches!(link.get("href"), Some(Value::String(h)) if !h.is_empty());
        if !has_href {
            errors.push(format!("'links[{i}].href' is missing"));
        }
        optional_string(link, "text", &format!("links[{i}]."), errors);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn trigger() -> Value {
        json!({
            "routing_key": KEY,
            "event_action": "trigger",
            "dedup_key": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:db-cpu",
            "payload": {
                "summary": "db-cpu is in ALARM",
                "source": "us-east-1 123456789012",
                "severity": "error",
                "timestamp": "2026-11-21T08:42:58.315+0000",
                "component": "AWS/RDS CPUUtilization",
                "custom_details": {"a": 1}
            },
            "links": [{"href": "https://console.aws.amazon.com/", "text": "Alarm"}],
            "images": [{"src": "https://example.com/graph.png"}]
        })
    }

    fn errors_of(v: Value) -> Vec<String> {
        validate(v.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn a_documented_trigger_is_accepted() {
        let (event, _) = validate(trigger().to_string().as_bytes()).unwrap();
        assert_eq!(event.action, Action::Trigger);
        assert_eq!(event.severity.as_deref(), Some("error"));
    }

    #[test]
    fn routing_key_must_be_32_characters() {
        let mut v = trigger();
        v["routing_key"] = json!("short");
        assert_eq!(
            errors_of(v),
            vec!["Length of 'routing_key' is incorrect (should be 32 characters)"]
        );
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let errs =
            errors_of(json!({"routing_key": KEY, "event_action": "trigger", "payload": {"severity": "bad"}}));
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[test]
    fn unknown_action_and_missing_dedup_key_on_resolve_are_rejected() {
        assert!(errors_of(json!({"routing_key": KEY, "event_action": "page"}))[0].contains("event_action"));
        assert!(errors_of(json!({"routing_key": KEY, "event_action": "resolve"}))[0].contains("dedup_key"));
        assert!(validate(
            json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": "k"})
                .to_string()
                .as_bytes()
        )
        .is_ok());
    }

    #[test]
    fn limits_on_summary_and_dedup_key_are_enforced() {
        let mut v = trigger();
        v["payload"]["summary"] = json!("s".repeat(1025));
        v["dedup_key"] = json!("d".repeat(256));
        assert_eq!(errors_of(v).len(), 2);
        let mut ok = trigger();
        ok["payload"]["summary"] = json!("é".repeat(1024));
        assert!(validate(ok.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn timestamps_links_and_images_have_shapes() {
        let mut v = trigger();
        v["payload"]["timestamp"] = json!("yesterday");
        v["links"] = json!([{"text": "no href"}]);
        v["images"] = json!([{"src": "http://insecure"}]);
        assert_eq!(errors_of(v).len(), 3);
        for ts in [
            "2026-11-21T08:42:58Z",
            "2026-11-21T08:42:58.315+00:00",
            "2026-11-21T08:42:58.315+0000",
        ] {
            let mut v = trigger();
            v["payload"]["timestamp"] = json!(ts);
            assert!(validate(v.to_string().as_bytes()).is_ok(), "{ts}");
        }
    }

    #[test]
    fn oversized_and_non_json_bodies_are_rejected() {
        assert_eq!(validate(b"not json").unwrap_err(), vec!["Invalid JSON"]);
        let mut v = trigger();
        v["payload"]["custom_details"] = json!({"blob": "x".repeat(MAX_EVENT_BYTES)});
        assert!(errors_of(v)[0].contains("512 KB"));
    }
}
