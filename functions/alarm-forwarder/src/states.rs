//! The alarms' current state, so a notification that arrives after a newer change (a Lambda retry,
//! a throttled batch, two containers racing) never changes an incident.
//!
//! One DescribeAlarms call per 100 alarms in the batch. When in doubt the notification is sent: an
//! alarm of another account or region, a deleted alarm, a notification without its time, and any
//! failure to describe.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::alarm::{AlarmChange, State};
use crate::config::InsufficientData;

/// DescribeAlarms takes at most 100 names a call.
pub const NAMES_PER_CALL: usize = 100;
/// The longest the lookup may delay the pages.
const MAX_LOOKUP: std::time::Duration = std::time::Duration::from_secs(3);

/// An alarm as CloudWatch holds it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub arn: Option<String>,
    pub state: State,
    /// When its state last changed: `StateTransitionedTimestamp`, else `StateUpdatedTimestamp`.
    pub changed_at: DateTime<Utc>,
}

/// The port through which current states are read, by alarm name.
#[async_trait]
pub trait AlarmStates: Send + Sync {
    async fn current(&self, names: &[String], deadline: Instant) -> Result<HashMap<String, Current>, String>;
}

/// What a state asks of PagerDuty: open (`true`), close (`false`), or nothing (INSUFFICIENT_DATA
/// under `ignore`).
fn action(state: State, insufficient: InsufficientData) -> Option<bool> {
    match (state, insufficient) {
        (State::Alarm, _) | (State::InsufficientData, InsufficientData::Trigger) => Some(true),
        (State::Ok, _) | (State::InsufficientData, InsufficientData::Resolve) => Some(false),
        (State::InsufficientData, InsufficientData::Ignore) => None,
    }
}

/// Whether `change` is older than the alarm's last change and asks PagerDuty for something else
/// than the alarm's current state asks: sending it would undo what a newer notification did. A
/// current state that asks nothing (INSUFFICIENT_DATA under `ignore`, which sent nothing) never
/// makes a notification stale: the ALARM or OK before it is the last word PagerDuty heard.
pub fn is_stale(change: &AlarmChange, current: &Current, insufficient: InsufficientData) -> bool {
    // Same name, another alarm: another account's.
    if let (Some(a), Some(b)) = (&change.arn, &current.arn) {
        if a != b {
            return false;
        }
    }
    let (Some(at), Some(now_asks)) = (change.changed_at, action(current.state, insufficient)) else {
        return false;
    };
    at < current.changed_at && action(change.state, insufficient) != Some(now_asks)
}

/// The alarms whose state this function can read: those of its own region (by ARN).
pub fn describable<'a>(changes: impl Iterator<Item = &'a AlarmChange>, region: &str) -> Vec<String> {
    let mut names: Vec<String> = changes
        .filter(|c| c.region.as_deref() == Some(region) && c.changed_at.is_some())
        .map(|c| c.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

pub struct CloudWatchStates {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchStates {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }

    async fn describe(&self, names: &[String]) -> Result<HashMap<String, Current>, String> {
        let mut out = HashMap::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                // Without AlarmTypes, DescribeAlarms leaves composite alarms out.
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| ops_shared::error::sdk_message(&e))?;
            for a in page.metric_alarms() {
                let changed = a.state_transitioned_timestamp().or(a.state_updated_timestamp());
                insert(&mut out, a.alarm_name(), a.alarm_arn(), a.state_value(), changed);
            }
            for a in page.composite_alarms() {
                let changed = a.state_transitioned_timestamp().or(a.state_updated_timestamp());
                insert(&mut out, a.alarm_name(), a.alarm_arn(), a.state_value(), changed);
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

fn insert(
    out: &mut HashMap<String, Current>,
    name: Option<&str>,
    arn: Option<&str>,
    state: Option<&StateValue>,
    changed: Option<&aws_smithy_types::DateTime>,
) {
    let state = match state {
        Some(StateValue::Alarm) => State::Alarm,
        Some(StateValue::Ok) => State::Ok,
        Some(StateValue::InsufficientData) => State::InsufficientData,
        _ => return,
    };
    let (Some(name), Some(changed)) = (name, changed) else {
        return;
    };
    let Some(changed_at) = DateTime::from_timestamp(changed.secs(), changed.subsec_nanos()) else {
        return;
    };
    out.insert(
        name.to_string(),
        Current {
            arn: arn.map(str::to_string),
            state,
            changed_at,
        },
    );
}

#[async_trait]
impl AlarmStates for CloudWatchStates {
    async fn current(&self, names: &[String], deadline: Instant) -> Result<HashMap<String, Current>, String> {
        // At most 3 s, and half the time left: the pages themselves need the rest.
        let budget = (deadline.saturating_duration_since(Instant::now()) / 2).min(MAX_LOOKUP);
        let lookup = async {
            let mut out = HashMap::new();
            for chunk in names.chunks(NAMES_PER_CALL) {
                out.extend(self.describe(chunk).await?);
            }
            Ok(out)
        };
        match tokio::time::timeout(budget, lookup).await {
            Ok(found) => found,
            Err(_) => Err(format!("no answer within {} ms", budget.as_millis())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::parse;
    use crate::test_events::message_of;

    const IGNORE: InsufficientData = InsufficientData::Ignore;

    fn ok_at(at: &str) -> AlarmChange {
        let mut c = parse(&message_of("metric-alarm-OK.json")).unwrap();
        c.changed_at = Some(at.parse().unwrap());
        c
    }

    fn current(state: State, at: &str) -> Current {
        Current {
            arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx-rate".into()),
            state,
            changed_at: at.parse().unwrap(),
        }
    }

    #[test]
    fn an_older_notification_asking_the_opposite_is_stale() {
        let late_ok = ok_at("2026-12-03T10:00:00Z");
        assert!(is_stale(
            &late_ok,
            &current(State::Alarm, "2026-12-03T10:05:00Z"),
            IGNORE
        ));
    }

    #[test]
    fn a_newer_or_agreeing_notification_is_not() {
        let ok = ok_at("2026-12-03T10:00:00Z");
        let alarm_before = current(State::Alarm, "2026-12-03T09:59:00Z");
        assert!(!is_stale(&ok, &alarm_before, IGNORE), "newer");
        let ok_after = current(State::Ok, "2026-12-03T10:05:00Z");
        assert!(!is_stale(&ok, &ok_after, IGNORE), "same state");
        let alarm_same_instant = current(State::Alarm, "2026-12-03T10:00:00Z");
        assert!(!is_stale(&ok, &alarm_same_instant, IGNORE), "same instant");
    }

    #[test]
    fn insufficient_data_that_sent_nothing_never_makes_a_notification_stale() {
        // ALARM failed to reach PagerDuty, then the metric stopped: the retried ALARM must page.
        let mut late_alarm = ok_at("2026-12-03T10:00:00Z");
        late_alarm.state = State::Alarm;
        let silent = current(State::InsufficientData, "2026-12-03T10:05:00Z");
        assert!(!is_stale(&late_alarm, &silent, IGNORE));
        assert!(!is_stale(&ok_at("2026-12-03T10:00:00Z"), &silent, IGNORE));
        // When INSUFFICIENT_DATA resolves, it asks what an OK asks.
        let resolve = InsufficientData::Resolve;
        assert!(!is_stale(&ok_at("2026-12-03T10:00:00Z"), &silent, resolve));
        assert!(is_stale(&late_alarm, &silent, resolve));
    }

    #[test]
    fn another_alarm_of_the_same_name_or_no_time_is_never_stale() {
        let ok = ok_at("2026-12-03T10:00:00Z");
        let mut elsewhere = current(State::Alarm, "2026-12-03T10:05:00Z");
        elsewhere.arn = Some("arn:aws:cloudwatch:us-east-1:999999999999:alarm:api-5xx-rate".into());
        assert!(!is_stale(&ok, &elsewhere, IGNORE));
        let mut untimed = ok;
        untimed.changed_at = None;
        assert!(!is_stale(
            &untimed,
            &current(State::Alarm, "2026-12-03T10:05:00Z"),
            IGNORE
        ));
    }

    #[test]
    fn only_alarms_of_the_functions_region_are_described_once_each() {
        let a = ok_at("2026-12-03T10:00:00Z");
        let mut other_region = a.clone();
        other_region.region = Some("eu-west-1".into());
        other_region.name = "eu-alarm".into();
        let names = describable([&a, &a, &other_region].into_iter(), "us-east-1");
        assert_eq!(names, vec!["api-5xx-rate".to_string()]);
    }
}
