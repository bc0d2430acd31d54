//! alarm-forwarder through the real Lambda runtime path (`cargo lambda watch` + `cargo lambda
//! invoke`), with its routing secret in moto and the local PagerDuty receiver as PagerDuty.

use ops_tests::faults::access_key;
use ops_tests::lambda::{Function, Invocation};
use ops_tests::{create_secret, routing_key, Stack};
use serde_json::Value;

/// Starts the forwarder with a routing secret holding `secret_value`.
async fn forwarder(stack: &Stack, secret_value: &str, extra: &[(&str, &str)]) -> Function {
    let secret = create_secret(&stack.aws().await, "pd-routing", secret_value).await;
    let mut env = vec![
        ("PAGERDUTY_ROUTING_KEY_SECRET", secret.as_str()),
        ("RUST_LOG", "trace"),
    ];
    env.extend_from_slice(extra);
    Function::start("alarm-forwarder", &env)
}

fn event(name: &str) -> String {
    format!("events/alarm-forwarder/{name}")
}

fn assert_ok(inv: &Invocation) -> Value {
    assert!(inv.ok, "invocation failed: {}", inv.error);
    inv.json()
}

#[tokio::test]
async fn alarm_opens_one_incident_and_ok_resolves_it() {
    let stack = Stack::get();
    let key = routing_key();
    let f = forwarder(&stack, &key, &[]).await;

    let summary = assert_ok(&f.invoke_file(&event("metric-alarm-ALARM.json")));
    assert_eq!(summary["triggered"], 1, "{summary}");
    let incidents = stack.pagerduty("incidents", &key).await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["status"], "triggered");
    assert_eq!(incidents[0]["severity"], "critical");
    assert_eq!(
        incidents[0]["dedup_key"],
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx-rate"
    );

    // SNS may deliver the same notification twice: still one incident.
    assert_ok(&f.invoke_file(&event("metric-alarm-ALARM.json")));
    assert_eq!(stack.pagerduty("incidents", &key).await.len(), 1);

    let summary = assert_ok(&f.invoke_file(&event("metric-alarm-OK.json")));
    assert_eq!(summary["resolved"], 1, "{summary}");
    let incidents = stack.pagerduty("incidents", &key).await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["status"], "resolved");

    let sent = stack.pagerduty("events", &key).await;
    let trigger = &sent[0];
    assert_eq!(trigger["payload"]["source"], "us-east-1:123456789012");
    assert_eq!(
        trigger["payload"]["component"],
        "AWS/ApplicationELB/HTTPCode_Target_5XX_Count"
    );
    // The description's runbook comes first, then the console.
    assert_eq!(
        trigger["links"][0]["href"],
        "https://wiki.example.com/runbooks/api-5xx"
    );
    assert!(trigger["links"][1]["href"]
        .as_str()
        .unwrap()
        .contains("#alarmsV2:alarm/api-5xx-rate"));
}

#[tokio::test]
async fn every_alarm_shape_reaches_pagerduty() {
    let stack = Stack::get();
    let key = routing_key();
    let f = forwarder(&stack, &key, &[]).await;
    for file in [
        "metric-math-ALARM.json",
        "anomaly-detection-ALARM.json",
        "composite-alarm-ALARM.json",
        "eventbridge-state-change-ALARM.json",
    ] {
        let summary = assert_ok(&f.invoke_file(&event(file)));
        assert_eq!(summary["triggered"], 1, "{file}: {summary}");
    }
    assert_eq!(stack.pagerduty("incidents", &key).await.len(), 4);
    assert!(
        stack.pagerduty("rejected", &key).await.is_empty(),
        "the receiver accepted every event as valid"
    );
}

#[tokio::test]
async fn routes_send_each_alarm_to_its_integration() {
    let stack = Stack::get();
    let (default, payments) = (routing_key(), routing_key());
    let table = format!(
        r#"{{"default": "{default}", "routes": [{{"match": "payments-*", "routing_key": "{payments}"}}]}}"#
    );
    let f = forwarder(&stack, &table, &[]).await;
    assert_ok(&f.invoke_file(&event("metric-math-ALARM.json")));
    assert_ok(&f.invoke_file(&event("metric-alarm-ALARM.json")));

    let to_payments = stack.pagerduty("incidents", &payments).await;
    assert_eq!(to_payments.len(), 1);
    assert!(to_payments[0]["dedup_key"]
        .as_str()
        .unwrap()
        .ends_with(":alarm:payments-lambda-error-rate"));
    let to_default = stack.pagerduty("incidents", &default).await;
    assert_eq!(to_default.len(), 1);
    assert!(to_default[0]["dedup_key"]
        .as_str()
        .unwrap()
        .ends_with(":alarm:api-5xx-rate"));
}

#[tokio::test]
async fn throttling_server_errors_and_slow_answers_are_retried_until_delivered() {
    let stack = Stack::get();
    let key = routing_key();
    let f = forwarder(&stack, &key, &[("PAGERDUTY_TIMEOUT", "500ms")]).await;
    stack.pagerduty_fault(&key, 2, Some(429), 0).await;
    stack.pagerduty_fault(&key, 1, Some(500), 0).await;
    stack.pagerduty_fault(&key, 1, None, 1500).await;

    let summary = assert_ok(&f.invoke_file(&event("metric-alarm-ALARM.json")));
    assert_eq!(summary["triggered"], 1, "{summary}");
    let incidents = stack.pagerduty("incidents", &key).await;
    assert_eq!(incidents.len(), 1, "delivered once the receiver recovered");
    let logs = f.logs();
    assert!(
        logs.matches("PagerDuty did not take the event").count() >= 4,
        "each failure was retried:\n{logs}"
    );
}

#[tokio::test]
async fn a_rejected_event_fails_the_invocation_without_retrying() {
    let stack = Stack::get();
    let key = routing_key();
    let f = forwarder(&stack, &key, &[]).await;
    stack.pagerduty_fault(&key, 1, Some(400), 0).await;

    let inv = f.invoke_file(&event("metric-alarm-ALARM.json"));
    assert!(!inv.ok, "a 400 must fail the invocation: {}", inv.output);
    assert!(inv.error.contains("NonRetryable"), "{}", inv.error);
    assert!(
        inv.error.contains("1 of 1 records could not be delivered"),
        "{}",
        inv.error
    );
    let logs = f.logs();
    assert!(
        logs.contains("injected fault: event refused"),
        "PagerDuty's error list is logged:\n{logs}"
    );
    assert!(
        !logs.contains("PagerDuty did not take the event"),
        "a 400 is never retried:\n{logs}"
    );
    assert!(stack.pagerduty("incidents", &key).await.is_empty());
}

#[tokio::test]
async fn the_routing_key_never_appears_in_any_output() {
    let stack = Stack::get();
    let (key, other) = (routing_key(), routing_key());
    let table =
        format!(r#"{{"default": "{key}", "routes": [{{"match": "payments-*", "routing_key": "{other}"}}]}}"#);
    let f = forwarder(&stack, &table, &[("NON_ALARM_MESSAGES", "trigger")]).await;
    stack.pagerduty_fault(&key, 1, Some(503), 0).await;
    stack.pagerduty_fault(&other, 1, Some(400), 0).await;

    let mut outputs = Vec::new();
    for file in [
        "metric-alarm-ALARM.json",
        "metric-math-ALARM.json",
        "non-alarm-text.json",
        "metric-alarm-OK.json",
    ] {
        let inv = f.invoke_file(&event(file));
        outputs.push(inv.output);
        outputs.push(inv.error);
    }
    let everything = format!("{}\n{}", f.logs(), outputs.join("\n"));
    assert!(
        everything.contains("TRACE") || everything.contains("DEBUG"),
        "logs ran at trace level:\n{everything}"
    );
    for secret in [&key, &other] {
        assert!(
            !everything.contains(secret.as_str()),
            "a routing key leaked:\n{everything}"
        );
    }
}

#[tokio::test]
async fn an_unusable_routing_secret_fails_with_instructions_and_no_key() {
    let stack = Stack::get();
    let f = forwarder(
        &stack,
        r#"{"routes": [{"match": "*", "routing_key": "tooShortToBeAKey123"}]}"#,
        &[],
    )
    .await;
    let inv = f.invoke_file(&event("metric-alarm-ALARM.json"));
    assert!(!inv.ok);
    let logs = f.logs();
    assert!(
        logs.contains("routes[0].routing_key is not a 32-character PagerDuty integration key"),
        "{logs}"
    );
    assert!(!logs.contains("tooShortToBeAKey123") && !inv.error.contains("tooShortToBeAKey123"));
}

#[tokio::test]
async fn a_throttled_routing_secret_fails_the_invocation_retryably_and_says_aws_throttled() {
    let stack = Stack::get();
    let key = routing_key();
    let aws_key = access_key();
    stack
        .faults()
        .throttle("secretsmanager:GetSecretValue", &aws_key)
        .await;
    let f = forwarder(&stack, &key, &[("AWS_ACCESS_KEY_ID", aws_key.as_str())]).await;

    let inv = f.invoke_file(&event("metric-alarm-ALARM.json"));
    inv.assert_throttled("secretsmanager:GetSecretValue", "ThrottlingException");
    assert!(
        !inv.error.contains("check it exists"),
        "a throttle is not a missing secret or permission: {}",
        inv.error
    );
    assert!(stack.pagerduty("events", &key).await.is_empty());
    let calls = stack.faults().calls(&aws_key).await;
    assert!(
        calls["secretsmanager:GetSecretValue"] >= 3,
        "the SDK retried first: {calls:?}"
    );
}
