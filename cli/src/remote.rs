//! `ops health --remote`: invokes the deployed health-checker with a component-run event
//! (`{"only": {...}}`, which never touches an alarm) and prints its answer.

use serde_json::{json, Value};

use crate::error::OpsError;

/// The deployed function's name: `--function`, else `HEALTH_CHECKER_FUNCTION`, else the
/// template's name for the default stack.
pub fn function_name(given: Option<String>) -> String {
    let set = |n: Option<String>| n.filter(|n| !n.trim().is_empty());
    set(given)
        .or_else(|| set(std::env::var("HEALTH_CHECKER_FUNCTION").ok()))
        .unwrap_or_else(|| "ops-lambdas-health-checker".into())
}

/// The component-run event for the filters; without any, every check by name (`*`): still a
/// component run, which touches no alarm (a plain event would be the configured run).
pub fn event(kinds: &[String], groups: &[String], names: &[String]) -> Value {
    let mut only = serde_json::Map::new();
    for (key, values) in [("kinds", kinds), ("groups", groups), ("names", names)] {
        if !values.is_empty() {
            only.insert(key.into(), json!(values));
        }
    }
    if only.is_empty() {
        only.insert("names".into(), json!(["*"]));
    }
    json!({ "only": only })
}

/// Invokes the function and returns its answer (the health-checker's report).
pub async fn invoke(aws: &aws_config::SdkConfig, function: &str, event: &Value) -> Result<Value, OpsError> {
    let lambda = aws_sdk_lambda::Client::new(aws);
    let out = lambda
        .invoke()
        .function_name(function)
        .payload(aws_smithy_types::Blob::new(event.to_string()))
        .send()
        .await
        .map_err(|e| {
            OpsError::Remote(format!(
                "invoking {function} failed: {}",
                ops_shared::error::sdk_message(&e)
            ))
        })?;
    let body = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
    answer(function, out.function_error(), &body)
}

/// The function's answer: its report, or why it is not one (a function error, or a payload that
/// is not a health-checker report), never an empty report that would read as "nothing matched".
pub fn answer(function: &str, function_error: Option<&str>, body: &[u8]) -> Result<Value, OpsError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let shown = || {
        let text = String::from_utf8_lossy(body);
        text.chars().take(300).collect::<String>()
    };
    if let Some(error) = function_error {
        let message = parsed
            .as_ref()
            .and_then(|a| a.get("errorMessage"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(shown);
        return Err(OpsError::Remote(format!(
            "{function} failed ({error}): {message}. Its log has the checks it ran"
        )));
    }
    match parsed {
        Some(report) if report["checks"].is_array() => Ok(report),
        _ => Err(OpsError::Remote(format!(
            "{function} answered with something that is not a health-checker report: {}",
            shown()
        ))),
    }
}

/// A table of the answer's checks: name, kind, result, latency, reason.
pub fn render(answer: &Value) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY)
        .set_header(["check", "kind", "result", "ms", "reason"]);
    let checks = answer["checks"].as_array().cloned().unwrap_or_default();
    // The outcome is flattened into each check (`healthy`, `latency_ms`, `reason`, ...).
    for c in &checks {
        let result = if c["healthy"] == true {
            "healthy"
        } else if c["skipped"] == true {
            "skipped"
        } else if c["unknown"] == true {
            "unknown"
        } else {
            "UNHEALTHY"
        };
        t.add_row(vec![
            c["name"].as_str().unwrap_or_default().to_string(),
            c["kind"].as_str().unwrap_or_default().to_string(),
            result.to_string(),
            c["latency_ms"]
                .as_f64()
                .map(|ms| format!("{ms:.1}"))
                .unwrap_or_else(|| "-".into()),
            c["reason"].as_str().unwrap_or_default().to_string(),
        ]);
    }
    let mut out = format!(
        "{t}\n{} healthy, {} unhealthy, {} not judged (the deployed function's run)\n",
        answer["healthy"], answer["unhealthy"], answer["unknown"]
    );
    if checks.is_empty() {
        out.push_str("no check matched: nothing was checked\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_text_reads_the_functions_answer() {
        let answer = json!({"healthy": 1, "unhealthy": 1, "unknown": 0, "checks": [
            {"name": "api", "kind": "http", "healthy": true, "latency_ms": 47, "reason": "HTTP 200"},
            {"name": "db", "kind": "tcp", "healthy": false, "latency_ms": 2000, "reason": "connect timed out after 2 s"}
        ]});
        let expected = "\
┌─────────────────────────────────────────────────────────────────┐
│ check   kind   result      ms       reason                      │
╞═════════════════════════════════════════════════════════════════╡
│ api     http   healthy     47.0     HTTP 200                    │
│ db      tcp    UNHEALTHY   2000.0   connect timed out after 2 s │
└─────────────────────────────────────────────────────────────────┘
1 healthy, 1 unhealthy, 0 not judged (the deployed function's run)
";
        let got = render(&answer);
        assert_eq!(got, expected, "\n--- got ---\n{got}");
    }

    #[test]
    fn a_function_error_or_a_payload_that_is_no_report_is_an_error() {
        let err = answer(
            "hc",
            Some("Unhandled"),
            br#"{"errorType": "HealthError", "errorMessage": "ECS could not be read"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("hc failed (Unhandled): ECS could not be read"),
            "{err}"
        );
        let err = answer("hc", Some("Handled"), b"not json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not json"), "{err}");
        for body in [&b""[..], b"null", br#"{"ok": true}"#, b"<html>"] {
            let err = answer("hc", None, body).unwrap_err().to_string();
            assert!(err.contains("not a health-checker report"), "{err}");
        }
        assert!(answer("hc", None, br#"{"checks": [], "healthy": 0}"#).is_ok());
    }

    #[test]
    fn the_event_is_always_a_component_run() {
        assert_eq!(event(&[], &[], &[]), json!({"only": {"names": ["*"]}}));
        assert_eq!(
            event(&["dns".into()], &["payments".into()], &[]),
            json!({"only": {"kinds": ["dns"], "groups": ["payments"]}})
        );
    }
}
