//! One invocation: every SNS record becomes a PagerDuty trigger, a resolve, or a reasoned skip.
//! Records are handled independently; when any could not be delivered, the invocation fails
//! naming how many, so Lambda retries it and its on-failure destination keeps it.

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::alarm::{self, State};
use crate::config::{Config, InsufficientData, NonAlarm};
use crate::error::ForwardError;
use crate::event::{self, Action, PagerEvent};
use crate::pagerduty::Pager;
use crate::routing::RoutingCache;
use crate::sns::{self, Record, SnsMessage};
use ops_shared::Retryable;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Triggered,
    Resolved,
    Skipped,
    Failed,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordResult {
    pub record: usize,
    pub target: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip)]
    retryable: bool,
}

/// The invocation's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub records: usize,
    pub triggered: usize,
    pub resolved: usize,
    pub skipped: usize,
    pub failed: usize,
    pub results: Vec<RecordResult>,
}

impl Summary {
    fn add(&mut self, result: RecordResult) {
        match result.outcome {
            Outcome::Triggered => self.triggered += 1,
            Outcome::Resolved => self.resolved += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
        }
        self.records += 1;
        self.results.push(result);
    }
}

/// What to do with one message, decided before any network call.
enum Plan {
    Send {
        event: Box<PagerEvent>,
        alarm_name: Option<String>,
    },
    Skip {
        target: String,
        reason: String,
    },
}

fn plan(message: &SnsMessage, config: &Config) -> Plan {
    if message.is_confirmation() {
        return Plan::Skip {
            target: message.label(),
            reason: "SNS subscription handshake".into(),
        };
    }
    let body = message.message.as_deref().unwrap_or_default();
    let Some(change) = alarm::parse(body) else {
        return match config.non_alarm {
            NonAlarm::Skip => Plan::Skip {
                target: message.label(),
                reason: "not a CloudWatch alarm notification (NON_ALARM_MESSAGES=skip)".into(),
            },
            NonAlarm::Trigger => Plan::Send {
                event: Box::new(event::for_message(message, config.default_severity)),
                alarm_name: None,
            },
        };
    };
    let action = match (change.state, config.insufficient_data) {
        (State::Alarm, _) | (State::InsufficientData, InsufficientData::Trigger) => Action::Trigger,
        (State::Ok, _) | (State::InsufficientData, InsufficientData::Resolve) => Action::Resolve,
        (State::InsufficientData, InsufficientData::Ignore) => {
            return Plan::Skip {
                target: format!("alarm {}", change.name),
                reason: "INSUFFICIENT_DATA (INSUFFICIENT_DATA_ACTION=ignore)".into(),
            }
        }
    };
    let event = event::for_alarm(&change, action, config.default_severity, &config.region);
    Plan::Send {
        event: Box::new(event),
        alarm_name: Some(change.name),
    }
}

/// Forwards every record of one invocation; `deadline` bounds all retries.
pub async fn forward(
    routes: &RoutingCache,
    pager: &dyn Pager,
    config: &Config,
    payload: &Value,
    deadline: Instant,
) -> Result<Summary, ForwardError> {
    let records = sns::records(payload)?;
    let mut summary = Summary::default();
    for (index, record) in records.iter().enumerate() {
        let result = match record {
            Record::Invalid { index, problem } => {
                failed(*index, format!("record {index}"), problem.clone(), false)
            }
            Record::Message(message) => match plan(message, config) {
                Plan::Skip { target, reason } => {
                    tracing::info!(record = index, %target, %reason, "skipped");
                    RecordResult {
                        record: index,
                        target,
                        outcome: Outcome::Skipped,
                        dedup_key: None,
                        reason: Some(reason),
                        retryable: false,
                    }
                }
                Plan::Send { event, alarm_name } => {
                    deliver(routes, pager, index, &event, alarm_name.as_deref(), deadline).await
                }
            },
        };
        if result.outcome == Outcome::Failed {
            tracing::error!(record = result.record, target = %result.target, reason = result.reason.as_deref().unwrap_or(""), "could not deliver to PagerDuty");
        }
        summary.add(result);
    }
    if summary.failed > 0 {
        let retryable = summary
            .results
            .iter()
            .any(|r| r.outcome == Outcome::Failed && r.retryable);
        tracing::error!(summary = %serde_json::to_string(&summary).unwrap_or_default(), "invocation failed");
        let first = summary.results.iter().find(|r| r.outcome == Outcome::Failed);
        return Err(ForwardError::Undelivered {
            failed: summary.failed,
            total: summary.records,
            target: first.map(|r| r.target.clone()).unwrap_or_default(),
            reason: first.and_then(|r| r.reason.clone()).unwrap_or_default(),
            retryable,
        });
    }
    tracing::info!(
        records = summary.records,
        triggered = summary.triggered,
        resolved = summary.resolved,
        skipped = summary.skipped,
        "forwarded"
    );
    Ok(summary)
}

async fn deliver(
    routes: &RoutingCache,
    pager: &dyn Pager,
    index: usize,
    event: &PagerEvent,
    alarm_name: Option<&str>,
    deadline: Instant,
) -> RecordResult {
    let target = event.target.clone();
    let table = match routes.table().await {
        Ok(table) => table,
        Err(e) => return failed(index, target, e.to_string(), e.retryable()),
    };
    let key = match alarm_name {
        Some(name) => table.route(name).map(|(key, _)| key),
        None => table.default_key(),
    };
    let Some(key) = key else {
        let e = ForwardError::NoRoute {
            secret: routes.secret_id().to_string(),
            target: target.clone(),
        };
        return failed(index, target, e.to_string(), false);
    };
    match pager.send(key, event, deadline).await {
        Ok(delivery) => {
            let outcome = match event.event_action {
                Action::Trigger => Outcome::Triggered,
                Action::Resolve => Outcome::Resolved,
            };
            tracing::info!(record = index, %target, ?outcome, attempts = delivery.attempts, dedup_key = %delivery.dedup_key, "delivered");
            RecordResult {
                record: index,
                target,
                outcome,
                dedup_key: Some(delivery.dedup_key),
                reason: None,
                retryable: false,
            }
        }
        Err(e) => failed(index, target, e.to_string(), e.retryable()),
    }
}

fn failed(record: usize, target: String, reason: String, retryable: bool) -> RecordResult {
    RecordResult {
        record,
        target,
        outcome: Outcome::Failed,
        dedup_key: None,
        reason: Some(reason),
        retryable,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use secrecy::{ExposeSecret, SecretString};
    use serde_json::json;

    use super::*;
    use crate::config::Config;
    use crate::pagerduty::Delivery;
    use crate::routing::SecretReader;
    use crate::test_events::event;
    use ops_shared::Vars;

    const KEY: &str = "k0000000000000000000000000000001";
    const DB_KEY: &str = "k0000000000000000000000000000002";

    /// Records what it was sent; answers with `fail` for events whose target contains the text.
    #[derive(Default)]
    struct RecordingPager {
        sent: Mutex<Vec<(String, PagerEvent)>>,
        fail: Option<(&'static str, bool)>,
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
                    return Err(if retryable {
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
                    });
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

    async fn run(pager: &RecordingPager, cfg: &Config, payload: Value) -> Result<Summary, ForwardError> {
        forward(&routes(KEY), pager, cfg, &payload, soon()).await
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
        let cfg = config(&[]);
        forward(
            &routes(&table),
            &pager,
            &cfg,
            &event("metric-math-ALARM.json"),
            soon(),
        )
        .await
        .unwrap();
        forward(
            &routes(&table),
            &pager,
            &cfg,
            &event("metric-alarm-ALARM.json"),
            soon(),
        )
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
        let err = forward(
            &routes(&table),
            &pager,
            &config(&[]),
            &event("metric-alarm-ALARM.json"),
            soon(),
        )
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

    #[test]
    fn subscription_confirmations_are_skipped() {
        let msg = SnsMessage {
            kind: Some("SubscriptionConfirmation".into()),
            ..SnsMessage::default()
        };
        assert!(matches!(plan(&msg, &config(&[])), Plan::Skip { .. }));
    }
}
