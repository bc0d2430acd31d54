//! The local PagerDuty receiver: the Events API v2 contract, incidents, and injected faults.

use ops_tests::{routing_key, Stack};
use serde_json::{json, Value};

async fn send(stack: &Stack, event: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", stack.pagerduty_url))
        .json(event)
        .send()
        .await
        .expect("the receiver answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("the receiver answers JSON"))
}

fn trigger(key: &str, dedup: &str) -> Value {
    json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": "db-cpu is in ALARM", "source": "us-east-1 123456789012", "severity": "critical"}
    })
}

#[tokio::test]
async fn a_trigger_opens_an_incident_and_a_resolve_closes_it() {
    let stack = Stack::get();
    let key = routing_key();
    let (status, body) = send(&stack, &trigger(&key, "alarm-1")).await;
    assert_eq!(status, 202);
    assert_eq!(
        body,
        json!({"status": "success", "message": "Event processed", "dedup_key": "alarm-1"})
    );

    let incidents = stack.pagerduty("incidents", &key).await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["status"], "triggered");
    assert_eq!(incidents[0]["severity"], "critical");

    let (status, _) = send(
        &stack,
        &json!({"routing_key": key, "event_action": "resolve", "dedup_key": "alarm-1"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(stack.pagerduty("incidents", &key).await[0]["status"], "resolved");
    assert_eq!(stack.pagerduty("events", &key).await.len(), 2);
}

#[tokio::test]
async fn a_malformed_event_is_rejected_with_every_error_and_recorded() {
    let stack = Stack::get();
    let key = routing_key();
    let bad = json!({"routing_key": key, "event_action": "trigger", "payload": {"summary": "", "severity": "sev1"}});
    let (status, body) = send(&stack, &bad).await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "invalid event");
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        errors.contains(&"'payload.summary' is missing or blank"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"'payload.source' is missing or blank"),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("payload.severity")),
        "{errors:?}"
    );
    assert!(stack.pagerduty("incidents", &key).await.is_empty());
    assert_eq!(stack.pagerduty("rejected", &key).await.len(), 1);

    let (status, _) = send(
        &stack,
        &json!({"routing_key": "too-short", "event_action": "trigger"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn injected_throttling_answers_429_then_the_retry_is_accepted() {
    let stack = Stack::get();
    let key = routing_key();
    stack.pagerduty_fault(&key, 2, Some(429), 0).await;

    for _ in 0..2 {
        let (status, body) = send(&stack, &trigger(&key, "alarm-2")).await;
        assert_eq!(status, 429);
        assert_eq!(body["status"], "throttle event");
    }
    let (status, _) = send(&stack, &trigger(&key, "alarm-2")).await;
    assert_eq!(status, 202);
    assert_eq!(stack.pagerduty("incidents", &key).await.len(), 1);
}

#[tokio::test]
async fn injected_server_errors_and_delays_apply_to_their_routing_key_only() {
    let stack = Stack::get();
    let (key, other) = (routing_key(), routing_key());
    stack.pagerduty_fault(&key, 1, Some(503), 0).await;
    stack.pagerduty_fault(&key, 1, None, 300).await;

    assert_eq!(
        send(&stack, &trigger(&other, "a")).await.0,
        202,
        "another integration is not affected"
    );
    assert_eq!(send(&stack, &trigger(&key, "a")).await.0, 503);
    let started = std::time::Instant::now();
    assert_eq!(
        send(&stack, &trigger(&key, "a")).await.0,
        202,
        "a delay alone still delivers"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}
