//! alarm-forwarder under real conditions: notifications that arrive late or out of order, routes
//! that changed between trigger and resolve, runbooks, PagerDuty's back-pressure, and messages that
//! are not alarms. Alarms live in moto; DescribeAlarms goes through the stack's fault proxy.

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use ops_tests::faults::access_key;
use ops_tests::lambda::Function;
use ops_tests::{create_secret, repo_path, routing_key, unique, Stack};
use serde_json::{json, Value};

async fn forwarder(stack: &Stack, secret_value: &str, extra: &[(&str, &str)]) -> (Function, String) {
    let secret = create_secret(&stack.aws().await, "pd-routing", secret_value).await;
    let mut env = vec![
        ("PAGERDUTY_ROUTING_KEY_SECRET", secret.as_str()),
        ("RUST_LOG", "debug"),
    ];
    env.extend_from_slice(extra);
    (Function::start("alarm-forwarder", &env), secret)
}

/// An SNS record carrying a classic alarm notification for `name`, now in `state` since `changed_at`.
fn notification(name: &str, state: &str, changed_at: &str, description: &str) -> Value {
    let path = repo_path("events/alarm-forwarder/metric-alarm-ALARM.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let sns = &mut event["Records"][0]["Sns"];
    let mut message: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
    message["AlarmName"] = json!(name);
    message["AlarmArn"] = json!(format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"));
    message["NewStateValue"] = json!(state);
    message["OldStateValue"] = json!(if state == "OK" { "ALARM" } else { "OK" });
    message["StateChangeTime"] = json!(changed_at);
    message["AlarmDescription"] = json!(description);
    sns["Message"] = json!(message.to_string());
    sns["MessageId"] = json!(unique("msg"));
    event
}

fn ago(seconds: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// An alarm in moto, set to `state`.
async fn alarm_in(stack: &Stack, name: &str, state: StateValue) {
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws().await);
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("Test/Forwarder")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cw.set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("set by the test")
        .send()
        .await
        .unwrap();
}

/// When moto says the alarm's state last changed, in the notification's format.
async fn state_changed_at(stack: &Stack, name: &str) -> String {
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws().await);
    let out = cw.describe_alarms().alarm_names(name).send().await.unwrap();
    let alarm = &out.metric_alarms()[0];
    let at = alarm
        .state_transitioned_timestamp()
        .or(alarm.state_updated_timestamp())
        .expect("moto stamps the state");
    chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos())
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// The sum of a metric the forwarder published in the last ten minutes (`Reason=reason` when given).
async fn forwarder_metric(stack: &Stack, name: &str, reason: Option<&str>) -> f64 {
    let cw = aws_sdk_cloudwatch::Client::new(&stack.aws().await);
    let now = std::time::SystemTime::now();
    let stats = cw
        .get_metric_statistics()
        .namespace("OpsLambdas")
        .metric_name(name)
        .set_dimensions(reason.map(|r| {
            vec![aws_sdk_cloudwatch::types::Dimension::builder()
                .name("Reason")
                .value(r)
                .build()]
        }))
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("Function")
                .value("alarm-forwarder")
                .build(),
        )
        .start_time((now - std::time::Duration::from_secs(600)).into())
        .end_time((now + std::time::Duration::from_secs(60)).into())
        .period(60)
        .statistics(Statistic::Sum)
        .send()
        .await
        .unwrap();
    stats.datapoints().iter().filter_map(|d| d.sum()).sum()
}

#[tokio::test]
async fn a_late_ok_never_resolves_a_live_incident_and_a_late_alarm_never_opens_one() {
    let stack = Stack::get();
    let key = routing_key();
    let (f, _) = forwarder(&stack, &key, &[]).await;
    let name = unique("late");
    alarm_in(&stack, &name, StateValue::Alarm).await;
    let before = forwarder_metric(&stack, "Skipped", Some("stale")).await;

    // The OK from before the alarm fired again, retried by Lambda after the new ALARM.
    let inv = f.invoke_json(&notification(&name, "OK", &ago(3600), "late ok"));
    assert!(inv.ok, "{}", inv.error);
    let summary = inv.json();
    assert_eq!(
        (summary["skipped"].as_u64(), summary["resolved"].as_u64()),
        (Some(1), Some(0)),
        "{summary}"
    );
    assert!(
        summary["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("stale"),
        "{summary}"
    );
    assert!(
        stack.pagerduty("events", &key).await.is_empty(),
        "nothing was sent"
    );

    // The reverse: the alarm is OK now, and an old ALARM arrives.
    alarm_in(&stack, &name, StateValue::Ok).await;
    let summary = f
        .invoke_json(&notification(&name, "ALARM", &ago(3600), "late alarm"))
        .json();
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert!(
        stack.pagerduty("events", &key).await.is_empty(),
        "nothing was sent"
    );
    assert!(f.logs().contains("stale"), "the skip is logged");

    // A notification of exactly the alarm's last change is sent.
    alarm_in(&stack, &name, StateValue::Alarm).await;
    let since = state_changed_at(&stack, &name).await;
    let summary = f
        .invoke_json(&notification(&name, "ALARM", &since, "current"))
        .json();
    assert_eq!(summary["triggered"], 1, "{summary}");
    assert_eq!(stack.pagerduty("incidents", &key).await.len(), 1);

    // An ALARM that failed to reach PagerDuty, retried after the metric stopped (INSUFFICIENT_DATA,
    // which sends nothing by default): it is the last word, so it pages.
    let silent = unique("silent");
    alarm_in(&stack, &silent, StateValue::InsufficientData).await;
    let summary = f
        .invoke_json(&notification(&silent, "ALARM", &ago(3600), "retried"))
        .json();
    assert_eq!(summary["triggered"], 1, "{summary}");

    assert!(
        forwarder_metric(&stack, "Skipped", Some("stale")).await >= before + 2.0,
        "Skipped{{Reason=stale}} counts both"
    );
}

#[tokio::test]
async fn when_describe_alarms_is_throttled_past_retries_the_page_is_sent() {
    let stack = Stack::get();
    let key = routing_key();
    let aws_key = access_key();
    stack
        .faults()
        .throttle("monitoring:DescribeAlarms", &aws_key)
        .await;
    let (f, _) = forwarder(&stack, &key, &[("AWS_ACCESS_KEY_ID", aws_key.as_str())]).await;
    let name = unique("blind");
    alarm_in(&stack, &name, StateValue::Ok).await;

    // Stale by the alarm's real state, but the forwarder cannot see it: when in doubt, page.
    let inv = f.invoke_json(&notification(&name, "ALARM", &ago(3600), "blind"));
    assert!(inv.ok, "{}", inv.error);
    assert_eq!(inv.json()["triggered"], 1, "{}", inv.output);
    assert_eq!(stack.pagerduty("incidents", &key).await.len(), 1);
    assert!(stack.faults().calls(&aws_key).await["monitoring:DescribeAlarms"] >= 1);
    assert!(
        f.logs().contains("DescribeAlarms"),
        "the fallback is logged:\n{}",
        f.logs()
    );
}

#[tokio::test]
async fn a_resolve_reaches_the_incident_on_the_key_it_was_opened_with_after_the_route_changed() {
    let stack = Stack::get();
    let (default, db_then, db_now) = (routing_key(), routing_key(), routing_key());
    let table = |db: &str, legacy: &str| {
        format!(
            r#"{{"default": "{default}", "routes": [{{"match": "db-*", "routing_key": "{db}"}}, {{"match": "legacy-*", "routing_key": "{legacy}"}}]}}"#
        )
    };
    let (f, secret) = forwarder(&stack, &table(&db_then, &db_now), &[("ROUTING_CACHE_TTL", "0s")]).await;
    let name = unique("db-orders");
    let summary = f.invoke_json(&notification(&name, "ALARM", &ago(5), "")).json();
    assert_eq!(summary["triggered"], 1, "{summary}");
    assert_eq!(
        stack.pagerduty("incidents", &db_then).await[0]["status"],
        "triggered"
    );

    // The database team moves to a new integration; the old key stays in the table for now.
    aws_sdk_secretsmanager::Client::new(&stack.aws().await)
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(table(&db_now, &db_then))
        .send()
        .await
        .unwrap();
    let summary = f.invoke_json(&notification(&name, "OK", &ago(1), "")).json();
    assert_eq!(summary["resolved"], 1, "{summary}");
    let incidents = stack.pagerduty("incidents", &db_then).await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["status"], "resolved", "resolved where it was opened");
    for key in [&default, &db_then, &db_now] {
        let sent = stack.pagerduty("events", key).await;
        assert!(
            sent.iter().any(|e| e["event_action"] == "resolve"),
            "every key of the table got the resolve"
        );
    }
}

#[tokio::test]
async fn runbooks_come_from_the_description_then_the_table_and_a_malformed_one_still_pages() {
    let stack = Stack::get();
    let key = routing_key();
    let table = format!(
        r#"{{"default": "{key}", "runbooks": [{{"match": "rb-*", "url": "https://wiki.example.com/runbooks/{{alarm}}"}}]}}"#
    );
    let (f, _) = forwarder(
        &stack,
        &table,
        &[("ACCOUNT_NAMES", r#"{"123456789012": "prod"}"#)],
    )
    .await;
    let first_link = |events: &[Value], name: &str| -> Value {
        events
            .iter()
            .find(|e| e["dedup_key"].as_str().unwrap_or("").ends_with(name))
            .map(|e| e["links"][0].clone())
            .unwrap_or_else(|| panic!("no event for {name} reached the receiver"))
    };

    let from_description = unique("rb-desc");
    let described = "Orders failing. runbook:https://runbooks.example.com/orders severity:critical";
    f.invoke_json(&notification(&from_description, "ALARM", &ago(1), described));
    let from_table = format!("{} with space", unique("rb-table"));
    f.invoke_json(&notification(&from_table, "ALARM", &ago(1), "no token"));
    let malformed = unique("other");
    let inv = f.invoke_json(&notification(&malformed, "ALARM", &ago(1), "runbook:not-a-url"));
    assert_eq!(
        inv.json()["triggered"],
        1,
        "a malformed runbook still pages: {}",
        inv.output
    );

    let events = stack.pagerduty("events", &key).await;
    let link = first_link(&events, &from_description);
    assert_eq!(link["href"], "https://runbooks.example.com/orders");
    assert_eq!(link["text"], "Runbook");
    let link = first_link(&events, &from_table);
    let encoded = from_table.replace(' ', "%20");
    assert_eq!(
        link["href"],
        format!("https://wiki.example.com/runbooks/{encoded}")
    );
    assert_ne!(first_link(&events, &malformed)["text"], "Runbook");
    assert!(stack.pagerduty("rejected", &key).await.is_empty());
    let paged = events
        .iter()
        .find(|e| e["dedup_key"].as_str().unwrap_or("").ends_with(&from_description))
        .unwrap();
    assert_eq!(
        paged["payload"]["custom_details"]["runbook"],
        "https://runbooks.example.com/orders"
    );
    assert_eq!(paged["payload"]["custom_details"]["account_name"], "prod");
    assert!(
        paged["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[prod] "),
        "{paged}"
    );
    assert!(
        f.logs().contains("not-a-url"),
        "the malformed runbook is warned about"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_delays_the_next_attempt() {
    let stack = Stack::get();
    let key = routing_key();
    let (f, _) = forwarder(&stack, &key, &[]).await;
    let body = json!({"count": 1, "status": 429, "retry_after": 2, "routing_key": key});
    let resp = reqwest::Client::new()
        .post(format!("{}/_test/faults", stack.pagerduty_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());

    let started = std::time::Instant::now();
    let inv = f.invoke_json(&notification(&unique("backoff"), "ALARM", &ago(1), ""));
    let took = started.elapsed();
    assert!(inv.ok, "{}", inv.error);
    assert_eq!(stack.pagerduty("incidents", &key).await.len(), 1);
    assert!(
        took >= std::time::Duration::from_secs(2),
        "the retry waited as told: {took:?}"
    );
    assert!(f.logs().contains("retry_in_ms=2000"), "{}", f.logs());
}

#[tokio::test]
async fn messages_that_are_not_alarms_are_warned_about_and_counted() {
    let stack = Stack::get();
    let key = routing_key();
    let (f, _) = forwarder(&stack, &key, &[]).await;
    let before = forwarder_metric(&stack, "Skipped", Some("not_alarm")).await;
    let summary = f.invoke_file("events/alarm-forwarder/non-alarm-text.json").json();
    assert_eq!(summary["skipped"], 1, "{summary}");
    let logs = f.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("skipped") && l.contains("Deploy finished")),
        "one warning shows what the message was:\n{logs}"
    );
    assert!(forwarder_metric(&stack, "Skipped", Some("not_alarm")).await >= before + 1.0);
}

#[tokio::test]
async fn health_events_and_rotation_failures_page_with_a_real_summary() {
    let stack = Stack::get();
    let key = routing_key();
    let (f, _) = forwarder(&stack, &key, &[("NON_ALARM_MESSAGES", "trigger")]).await;
    for file in ["aws-health-event.json", "secrets-manager-rotation-failed.json"] {
        let inv = f.invoke_file(&format!("events/alarm-forwarder/{file}"));
        assert_eq!(inv.json()["triggered"], 1, "{file}: {}", inv.output);
    }
    let incidents = stack.pagerduty("incidents", &key).await;
    let summaries: Vec<&str> = incidents.iter().map(|i| i["summary"].as_str().unwrap()).collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("AWS Health: EC2 AWS_EC2_OPERATIONAL_ISSUE")),
        "{summaries:?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("Secrets Manager rotation failed: ")),
        "{summaries:?}"
    );
    assert!(
        incidents
            .iter()
            .all(|i| !i["summary"].as_str().unwrap().starts_with('{')),
        "no raw JSON"
    );
    assert!(
        incidents
            .iter()
            .any(|i| i["dedup_key"].as_str().unwrap().starts_with("arn:aws:health:")),
        "the Health event's ARN is its dedup key: {incidents:?}"
    );
}

/// A fresh deploy: the routing secret still holds the stack's placeholder. The forwarder answers
/// with success (so its own error alarm stays quiet), sends nothing, and counts `Unconfigured`.
#[tokio::test]
async fn a_placeholder_routing_secret_answers_quietly_and_counts_unconfigured() {
    let stack = Stack::get();
    // Anything that reaches this listener is a PagerDuty request that should not have been made.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v2/enqueue", listener.local_addr().unwrap());
    let visits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = visits.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    let template = std::fs::read_to_string(repo_path("infra/template.yaml")).unwrap();
    assert!(
        template.contains("SecretString: '{}'"),
        "the test uses the template's placeholder"
    );
    let placeholder = "{}";
    let before = forwarder_metric(&stack, "Unconfigured", None).await;
    let (f, _) = forwarder(&stack, placeholder, &[("PAGERDUTY_EVENTS_URL", url.as_str())]).await;

    let inv = f.invoke_json(&notification(&unique("fresh"), "ALARM", &ago(1), ""));
    assert!(inv.ok, "an unconfigured forwarder does not fail: {}", inv.error);
    assert_eq!(inv.json()["skipped"], 1, "{}", inv.output);
    assert_eq!(
        visits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no PagerDuty request"
    );
    assert_eq!(forwarder_metric(&stack, "Unconfigured", None).await, before + 1.0);
    assert!(f.logs().contains("still holds its placeholder"), "{}", f.logs());
}
