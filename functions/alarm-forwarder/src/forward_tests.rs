//! The forwarder's decisions, over fakes of PagerDuty, the routing secret, CloudWatch and metrics.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::*;
use crate::alarm::State;
use crate::config::Config;
use crate::pagerduty::Delivery;
use crate::routing::SecretReader;
use crate::test_events::event;
use ops_shared::metrics::PutSummary;
use ops_shared::{SharedError, Vars};

const KEY: &str = "k0000000000000000000000000000001";
const DB_KEY: &str = "k0000000000000000000000000000002";

/// Records what it was sent; answers with `fail` for events whose target contains the text.
#[derive(Default)]
struct RecordingPager {
    sent: Mutex<Vec<(String, PagerEvent)>>,
    /// Fails events whose target contains the text (retryably or not).
    fail: Option<(&'static str, bool)>,
    /// Fails every event sent with this routing key (retryably or not).
    fail_key: Option<(&'static str, bool)>,
}

fn failure(event: &PagerEvent, retryable: bool) -> ForwardError {
    if retryable {
        ForwardError::Unreachable {
            target: event.target.clone(),
            attempts: 3,
            reason: "HTTP 503".into(),
        }
    } else {
        ForwardError::Rejected {
            target: event.target.clone(),
            status: 400,
            reason: "bad".into(),
        }
    }
}

impl RecordingPager {
    fn sent(&self) -> Vec<(String, PagerEvent)> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Pager for RecordingPager {
    async fn send(
        &self,
        key: &SecretString,
        event: &PagerEvent,
        _: Instant,
    ) -> Result<Delivery, ForwardError> {
        if let Some((text, retryable)) = self.fail {
            if event.target.contains(text) {
                return Err(failure(event, retryable));
            }
        }
        if let Some((bad, retryable)) = self.fail_key {
            if key.expose_secret() == bad {
                return Err(failure(event, retryable));
            }
        }
        self.sent
            .lock()
            .unwrap()
            .push((key.expose_secret().to_string(), event.clone()));
        Ok(Delivery {
            dedup_key: event.dedup_key.clone(),
            attempts: 1,
        })
    }
}

struct FixedSecret(String);

#[async_trait]
impl SecretReader for FixedSecret {
    async fn read(&self, _: &str) -> Result<SecretString, ForwardError> {
        Ok(SecretString::from(self.0.clone()))
    }
}

fn routes(value: &str) -> RoutingCache {
    RoutingCache::new(
        Box::new(FixedSecret(value.to_string())),
        "pd-routing",
        Duration::from_secs(300),
    )
}

fn config(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![("PAGERDUTY_ROUTING_KEY_SECRET", "pd-routing")];
    pairs.extend_from_slice(extra);
    Config::from_vars(&Vars::from_pairs(pairs)).unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

/// CloudWatch's current alarm states, or a failure to read them.
#[derive(Default)]
struct FakeStates {
    alarms: HashMap<String, Current>,
    broken: bool,
    asked: Mutex<Vec<String>>,
}

#[async_trait]
impl AlarmStates for FakeStates {
    async fn current(&self, names: &[String], _: Instant) -> Result<HashMap<String, Current>, String> {
        self.asked.lock().unwrap().extend(names.iter().cloned());
        if self.broken {
            return Err("ThrottlingException: Rate exceeded".into());
        }
        Ok(self.alarms.clone())
    }
}

#[derive(Default)]
struct RecordingSink(Mutex<Vec<Metric>>);

#[async_trait]
impl MetricSink for RecordingSink {
    async fn put(&self, metrics: &[Metric]) -> Result<PutSummary, SharedError> {
        self.0.lock().unwrap().extend(metrics.iter().cloned());
        Ok(PutSummary::default())
    }
}

async fn run_with(
    routes: &RoutingCache,
    pager: &RecordingPager,
    states: &FakeStates,
    sink: &RecordingSink,
    cfg: &Config,
    payload: Value,
) -> Result<Summary, ForwardError> {
    let ports = Ports {
        routes,
        pager,
        states,
        metrics: sink,
    };
    forward(&ports, cfg, &payload, soon()).await
}

async fn run(pager: &RecordingPager, cfg: &Config, payload: Value) -> Result<Summary, ForwardError> {
    let (states, sink) = (FakeStates::default(), RecordingSink::default());
    run_with(&routes(KEY), pager, &states, &sink, cfg, payload).await
}

async fn run_table(pager: &RecordingPager, table: &str, payload: Value) -> Result<Summary, ForwardError> {
    let (states, sink) = (FakeStates::default(), RecordingSink::default());
    run_with(&routes(table), pager, &states, &sink, &config(&[]), payload).await
}

#[tokio::test]
async fn ok_after_alarm_resolves_the_same_incident() {
    let pager = RecordingPager::default();
    let cfg = config(&[]);
    run(&pager, &cfg, event("metric-alarm-ALARM.json")).await.unwrap();
    run(&pager, &cfg, event("metric-alarm-OK.json")).await.unwrap();

    let sent = pager.sent();
    assert_eq!(sent[0].1.event_action, Action::Trigger);
    assert_eq!(sent[1].1.event_action, Action::Resolve);
    assert_eq!(sent[0].1.dedup_key, sent[1].1.dedup_key);
    assert_eq!(sent[0].0, KEY);
}

#[tokio::test]
async fn every_alarm_shape_triggers() {
    let pager = RecordingPager::default();
    let cfg = config(&[]);
    for file in [
        "metric-math-ALARM.json",
        "anomaly-detection-ALARM.json",
        "composite-alarm-ALARM.json",
        "eventbridge-state-change-ALARM.json",
        "sns-http-notification.json",
    ] {
        let summary = run(&pager, &cfg, event(file)).await.unwrap();
        assert_eq!(summary.triggered, 1, "{file}: {summary:?}");
    }
}

#[tokio::test]
async fn insufficient_data_follows_its_setting() {
    let pager = RecordingPager::default();
    let skipped = run(&pager, &config(&[]), event("metric-alarm-INSUFFICIENT_DATA.json"))
        .await
        .unwrap();
    assert_eq!(skipped.skipped, 1);
    assert!(pager.sent().is_empty());
    let cfg = config(&[("INSUFFICIENT_DATA_ACTION", "trigger")]);
    assert_eq!(
        run(&pager, &cfg, event("metric-alarm-INSUFFICIENT_DATA.json"))
            .await
            .unwrap()
            .triggered,
        1
    );
    let cfg = config(&[("INSUFFICIENT_DATA_ACTION", "resolve")]);
    assert_eq!(
        run(&pager, &cfg, event("metric-alarm-INSUFFICIENT_DATA.json"))
            .await
            .unwrap()
            .resolved,
        1
    );
}

#[tokio::test]
async fn non_alarm_messages_are_skipped_or_paged_by_message_id() {
    let pager = RecordingPager::default();
    let skipped = run(&pager, &config(&[]), event("non-alarm-text.json"))
        .await
        .unwrap();
    assert_eq!((skipped.skipped, skipped.triggered), (1, 0));
    let paged = run(
        &pager,
        &config(&[("NON_ALARM_MESSAGES", "trigger")]),
        event("non-alarm-text.json"),
    )
    .await
    .unwrap();
    assert_eq!(paged.triggered, 1);
    let sent = pager.sent();
    assert_eq!(sent[0].1.dedup_key, "6f1d5a7e-0b4c-5c5e-9f1a-1f2b3c4d5e08");
    assert_eq!(sent[0].1.payload.as_ref().unwrap().summary, "Deploy finished");
}

#[tokio::test]
async fn routes_pick_the_key_by_alarm_name() {
    let pager = RecordingPager::default();
    let table = format!(
        r#"{{"default": "{KEY}", "routes": [{{"match": "payments-*", "routing_key": "{DB_KEY}"}}]}}"#
    );
    run_table(&pager, &table, event("metric-math-ALARM.json"))
        .await
        .unwrap();
    run_table(&pager, &table, event("metric-alarm-ALARM.json"))
        .await
        .unwrap();
    let sent = pager.sent();
    assert_eq!(sent[0].0, DB_KEY);
    assert_eq!(sent[1].0, KEY);
}

#[tokio::test]
async fn one_failed_record_fails_the_invocation_but_not_the_others() {
    let pager = RecordingPager {
        fail: Some(("api-5xx-rate", true)),
        ..RecordingPager::default()
    };
    let mut two = event("metric-math-ALARM.json");
    let other = event("metric-alarm-ALARM.json")["Records"][0].clone();
    two["Records"].as_array_mut().unwrap().push(other);
    let err = run(&pager, &config(&[]), two).await.unwrap_err();
    assert!(
        matches!(
            err,
            ForwardError::Undelivered {
                failed: 1,
                total: 2,
                retryable: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .starts_with("1 of 2 records could not be delivered"));
    assert_eq!(pager.sent().len(), 1, "the good record was still delivered");
}

#[tokio::test]
async fn a_rejected_event_fails_as_not_retryable() {
    let pager = RecordingPager {
        fail: Some(("api-5xx-rate", false)),
        ..RecordingPager::default()
    };
    let err = run(&pager, &config(&[]), event("metric-alarm-ALARM.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, ForwardError::Undelivered { retryable: false, .. }));
    assert_eq!(ops_shared::diagnostic(&err).error_type, "NonRetryable");
}

#[tokio::test]
async fn an_alarm_with_no_route_and_no_default_fails_clearly() {
    let pager = RecordingPager::default();
    let table = format!(r#"{{"routes": [{{"match": "db-*", "routing_key": "{DB_KEY}"}}]}}"#);
    let err = run_table(&pager, &table, event("metric-alarm-ALARM.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, ForwardError::Undelivered { failed: 1, .. }));
    assert!(pager.sent().is_empty());
}

#[tokio::test]
async fn records_without_sns_fail_and_unknown_events_are_refused() {
    let pager = RecordingPager::default();
    let err = run(
        &pager,
        &config(&[]),
        json!({"Records": [{"EventSource": "aws:sqs"}]}),
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        ForwardError::Undelivered {
            failed: 1,
            total: 1,
            retryable: false,
            ..
        }
    ));
    let err = run(&pager, &config(&[]), json!({"source": "aws.events"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ForwardError::UnrecognisedEvent { .. }));
}

#[tokio::test]
async fn the_summary_counts_every_outcome() {
    let pager = RecordingPager::default();
    let mut mixed = event("metric-alarm-ALARM.json");
    for file in ["metric-alarm-OK.json", "non-alarm-text.json"] {
        let r = event(file)["Records"][0].clone();
        mixed["Records"].as_array_mut().unwrap().push(r);
    }
    let s = run(&pager, &config(&[]), mixed).await.unwrap();
    assert_eq!(
        (s.records, s.triggered, s.resolved, s.skipped, s.failed),
        (3, 1, 1, 1, 0)
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["results"][0]["outcome"], "triggered");
    assert_eq!(json["results"][2]["outcome"], "skipped");
}

fn alarm_now(state: State, at: &str) -> HashMap<String, Current> {
    HashMap::from([(
        "api-5xx-rate".to_string(),
        Current {
            arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx-rate".into()),
            state,
            changed_at: at.parse().unwrap(),
        },
    )])
}

#[tokio::test]
async fn a_late_ok_is_skipped_as_stale_and_counted() {
    let pager = RecordingPager::default();
    // The sample OK is from 2026-11-21T09:13; the alarm fired again after it.
    let states = FakeStates {
        alarms: alarm_now(State::Alarm, "2026-11-21T10:00:00Z"),
        ..FakeStates::default()
    };
    let sink = RecordingSink::default();
    let cfg = config(&[]);
    let s = run_with(
        &routes(KEY),
        &pager,
        &states,
        &sink,
        &cfg,
        event("metric-alarm-OK.json"),
    )
    .await
    .unwrap();
    assert_eq!((s.skipped, s.resolved), (1, 0));
    assert!(
        s.results[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("stale: this OK"),
        "{s:?}"
    );
    assert!(pager.sent().is_empty());
    assert_eq!(*states.asked.lock().unwrap(), vec!["api-5xx-rate".to_string()]);
    let metrics = sink.0.lock().unwrap().clone();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].name, "Skipped");
    assert_eq!(metrics[0].value, 1.0);
    assert_eq!(
        metrics[0].dimensions,
        vec![("Reason".to_string(), "stale".to_string())]
    );
}

#[tokio::test]
async fn when_the_states_cannot_be_read_everything_is_sent() {
    let pager = RecordingPager::default();
    let states = FakeStates {
        alarms: alarm_now(State::Alarm, "2026-11-21T10:00:00Z"),
        broken: true,
        ..FakeStates::default()
    };
    let sink = RecordingSink::default();
    let s = run_with(
        &routes(KEY),
        &pager,
        &states,
        &sink,
        &config(&[]),
        event("metric-alarm-OK.json"),
    )
    .await
    .unwrap();
    assert_eq!(s.resolved, 1, "when in doubt, send");
    assert!(sink.0.lock().unwrap().is_empty(), "nothing was skipped");
}

#[tokio::test]
async fn a_resolve_goes_to_every_key_and_a_trigger_to_its_route_only() {
    let pager = RecordingPager::default();
    let table =
        format!(r#"{{"default": "{KEY}", "routes": [{{"match": "api-*", "routing_key": "{DB_KEY}"}}]}}"#);
    run_table(&pager, &table, event("metric-alarm-ALARM.json"))
        .await
        .unwrap();
    let s = run_table(&pager, &table, event("metric-alarm-OK.json"))
        .await
        .unwrap();
    assert_eq!(s.resolved, 1, "one record, one result");
    let sent: Vec<(String, Action)> = pager
        .sent()
        .into_iter()
        .map(|(k, e)| (k, e.event_action))
        .collect();
    assert_eq!(
        sent,
        vec![
            (DB_KEY.to_string(), Action::Trigger),
            (DB_KEY.to_string(), Action::Resolve),
            (KEY.to_string(), Action::Resolve),
        ],
        "the alarm's own route first, then every other key"
    );
}

#[tokio::test]
async fn of_several_keys_only_the_routes_refusal_or_a_retryable_failure_fails_a_resolve() {
    let table =
        format!(r#"{{"default": "{KEY}", "routes": [{{"match": "api-*", "routing_key": "{DB_KEY}"}}]}}"#);
    // Another key refuses (a deleted integration): a warning, the resolve stands.
    let pager = RecordingPager {
        fail_key: Some((KEY, false)),
        ..RecordingPager::default()
    };
    let s = run_table(&pager, &table, event("metric-alarm-OK.json"))
        .await
        .unwrap();
    assert_eq!(s.resolved, 1);
    // Another key is throttled: the incident may be there, so the record fails and is retried.
    let pager = RecordingPager {
        fail_key: Some((KEY, true)),
        ..RecordingPager::default()
    };
    let err = run_table(&pager, &table, event("metric-alarm-OK.json"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForwardError::Undelivered { retryable: true, .. }),
        "{err}"
    );
    // The route's own key refuses: the record fails.
    let pager = RecordingPager {
        fail_key: Some((DB_KEY, false)),
        ..RecordingPager::default()
    };
    let err = run_table(&pager, &table, event("metric-alarm-OK.json"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForwardError::Undelivered { retryable: false, .. }),
        "{err}"
    );
    assert_eq!(pager.sent().len(), 1, "the other key still got the resolve");
}

#[tokio::test]
async fn the_description_runbook_wins_over_the_table_and_a_bad_one_falls_back() {
    let pager = RecordingPager::default();
    let table = format!(
        r#"{{"default": "{KEY}", "runbooks": [{{"match": "*", "url": "https://wiki.example.com/rb/{{alarm}}"}}]}}"#
    );
    // The sample's description says "Runbook: https://wiki.example.com/runbooks/api-5xx".
    run_table(&pager, &table, event("metric-alarm-ALARM.json"))
        .await
        .unwrap();
    let mut bad = event("metric-alarm-ALARM.json");
    let message = bad["Records"][0]["Sns"]["Message"].as_str().unwrap().replace(
        "Runbook: https://wiki.example.com/runbooks/api-5xx",
        "runbook:wiki",
    );
    bad["Records"][0]["Sns"]["Message"] = Value::String(message);
    run_table(&pager, &table, bad).await.unwrap();
    let sent = pager.sent();
    assert_eq!(
        sent[0].1.links[0].href,
        "https://wiki.example.com/runbooks/api-5xx"
    );
    assert_eq!(
        sent[1].1.links[0].href,
        "https://wiki.example.com/rb/api-5xx-rate"
    );
    assert_eq!(sent[1].1.links[0].text, "Runbook");
}

#[tokio::test]
async fn skipped_messages_are_counted_by_reason() {
    let pager = RecordingPager::default();
    let (states, sink) = (FakeStates::default(), RecordingSink::default());
    let mut two = event("non-alarm-text.json");
    let other = event("metric-alarm-INSUFFICIENT_DATA.json")["Records"][0].clone();
    two["Records"].as_array_mut().unwrap().push(other);
    run_with(&routes(KEY), &pager, &states, &sink, &config(&[]), two)
        .await
        .unwrap();
    let reasons: Vec<String> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.dimensions[0].1.clone())
        .collect();
    assert_eq!(reasons, vec!["insufficient_data", "not_alarm"]);
}

#[tokio::test]
async fn a_placeholder_routing_secret_is_quiet_and_counted_as_unconfigured() {
    let pager = RecordingPager::default();
    let (states, sink) = (FakeStates::default(), RecordingSink::default());
    let placeholder = r#"{"placeholder": "put the PagerDuty key here"}"#;
    let s = run_with(
        &routes(placeholder),
        &pager,
        &states,
        &sink,
        &config(&[]),
        event("metric-alarm-ALARM.json"),
    )
    .await
    .expect("an unconfigured forwarder answers with success");
    assert_eq!((s.skipped, s.failed), (1, 0));
    assert!(pager.sent().is_empty());
    let metrics = sink.0.lock().unwrap().clone();
    assert_eq!(metrics.len(), 1);
    assert_eq!(
        (metrics[0].name.as_str(), metrics[0].value),
        ("Unconfigured", 1.0)
    );
    assert!(metrics[0].dimensions.is_empty(), "Function is added by the sink");
}
