//! One invocation: every SNS record becomes a PagerDuty trigger, a resolve, or a reasoned skip.
//! Records are handled independently; when any could not be delivered, the invocation fails
//! naming how many, so Lambda retries it and its on-failure destination keeps it.
//!
//! Before anything is sent, the alarms of the batch are looked up (one DescribeAlarms per 100):
//! a notification older than its alarm's last change and saying something else is stale and
//! skipped. Skips are counted in the `Skipped` metric by `Reason`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::alarm::AlarmChange;
use crate::config::InsufficientData;
use crate::error::ForwardError;
use crate::event::{self, Action, PagerEvent};
use crate::pagerduty::{Delivery, Pager};
use crate::plan::{plan, Plan, SkipReason};
use crate::routing::{RoutingCache, RoutingTable};
use crate::runbook;
use crate::sns::{self, Record};
use crate::states::{self, AlarmStates, Current};
use crate::Config;
use ops_shared::metrics::{Metric, MetricSink, Unit};
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
    #[serde(skip)]
    skip: Option<SkipReason>,
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

/// What the forwarder talks to.
pub struct Ports<'a> {
    pub routes: &'a RoutingCache,
    pub pager: &'a dyn Pager,
    pub states: &'a dyn AlarmStates,
    pub metrics: &'a dyn MetricSink,
}

/// Forwards every record of one invocation; `deadline` bounds all retries.
pub async fn forward(
    ports: &Ports<'_>,
    config: &Config,
    payload: &Value,
    deadline: Instant,
) -> Result<Summary, ForwardError> {
    let records = sns::records(payload)?;
    let mut plans: Vec<Plan> = records
        .iter()
        .map(|r| match r {
            Record::Message(message) => plan(message, config),
            Record::Invalid { problem, .. } => Plan::Invalid {
                problem: problem.clone(),
            },
        })
        .collect();
    skip_stale(&mut plans, ports.states, config, deadline).await;

    let mut summary = Summary::default();
    for (index, (record, plan)) in records.iter().zip(plans).enumerate() {
        let result = match plan {
            Plan::Invalid { problem } => failed(index, format!("record {index}"), problem, false),
            Plan::Skip { target, reason, code } => {
                if let (true, Record::Message(message)) = (code.is_warning(), record) {
                    let body = message.message.as_deref().unwrap_or_default();
                    // Redacted whole, then cut: a secret across the cut would leave its start.
                    let preview: String = ops_shared::redact::redact(body).chars().take(200).collect();
                    tracing::warn!(
                        record = index, %target, %reason,
                        kind = message.kind.as_deref().unwrap_or(""),
                        topic = message.topic_arn.as_deref().unwrap_or(""),
                        subject = %ops_shared::redact::redact(message.subject.as_deref().unwrap_or("")),
                        %preview,
                        "skipped"
                    );
                } else {
                    tracing::info!(record = index, %target, %reason, "skipped");
                }
                skipped(index, target, reason, code)
            }
            Plan::Send { event, alarm } => deliver(ports, index, &event, alarm.as_deref(), deadline).await,
        };
        if result.outcome == Outcome::Failed {
            tracing::error!(record = result.record, target = %result.target, reason = result.reason.as_deref().unwrap_or(""), "could not deliver to PagerDuty");
        }
        summary.add(result);
    }
    count_skips(ports.metrics, &summary, deadline).await;
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

/// Turns every notification its alarm has moved past into a `stale` skip. When the states cannot
/// be read, everything is sent: a page too many beats a page missed.
async fn skip_stale(plans: &mut [Plan], states: &dyn AlarmStates, config: &Config, deadline: Instant) {
    let names = states::describable(plans.iter().filter_map(Plan::alarm), &config.region);
    if names.is_empty() {
        return;
    }
    let current = match states.current(&names, deadline).await {
        Ok(current) => current,
        Err(reason) => {
            tracing::warn!(alarms = names.len(), %reason, "could not read the alarms' current state (cloudwatch:DescribeAlarms); sending every notification as it is");
            return;
        }
    };
    for plan in plans.iter_mut() {
        let Plan::Send {
            event,
            alarm: Some(alarm),
        } = plan
        else {
            continue;
        };
        if let Some(reason) = stale_reason(alarm, &current, config.insufficient_data) {
            *plan = Plan::Skip {
                target: event.target.clone(),
                reason,
                code: SkipReason::Stale,
            };
        }
    }
}

fn stale_reason(
    alarm: &AlarmChange,
    current: &HashMap<String, Current>,
    insufficient: InsufficientData,
) -> Option<String> {
    let now = current.get(&alarm.name)?;
    states::is_stale(alarm, now, insufficient).then(|| {
        format!(
            "stale: this {} is from {}, but the alarm has been {} since {}",
            alarm.state.as_str(),
            alarm.changed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            now.state.as_str(),
            now.changed_at.to_rfc3339()
        )
    })
}

async fn deliver(
    ports: &Ports<'_>,
    index: usize,
    event: &PagerEvent,
    alarm: Option<&AlarmChange>,
    deadline: Instant,
) -> RecordResult {
    let target = event.target.clone();
    let table = match ports.routes.table().await {
        Ok(table) => table,
        Err(e) => return failed(index, target, e.to_string(), e.retryable()),
    };
    if table.placeholder {
        return unconfigured(index, target, ports.routes.secret_id());
    }
    let mut event = event.clone();
    if let Some(url) = alarm.and_then(|a| runbook_of(a, &table)) {
        if event.event_action == Action::Trigger {
            event::with_runbook(&mut event, &url);
        }
    }
    // The alarm's own route first: that is where its incident most likely is.
    let route = match alarm {
        Some(alarm) => table.route(&alarm.name).map(|(k, _)| k),
        None => table.default_key(),
    };
    let keys: Vec<&SecretString> = match event.event_action {
        // The route may have changed since the trigger: every other key too, so the resolve finds it.
        Action::Resolve => table.keys(route),
        Action::Trigger => route.into_iter().collect(),
    };
    if keys.is_empty() {
        let e = ForwardError::NoRoute {
            secret: ports.routes.secret_id().to_string(),
            target: target.clone(),
        };
        return failed(index, target, e.to_string(), false);
    }
    let mut delivered: Option<Delivery> = None;
    let mut failure: Option<ForwardError> = None;
    for (n, key) in keys.iter().enumerate() {
        match ports.pager.send(key, &event, deadline).await {
            Ok(d) => {
                tracing::info!(record = index, %target, action = ?event.event_action, key = n + 1, keys = keys.len(), attempts = d.attempts, dedup_key = %d.dedup_key, "delivered");
                delivered.get_or_insert(d);
            }
            // Another key's refusal (a deleted integration) costs nothing: the resolve is a
            // courtesy there. A refusal on the route's own key, or anything a retry may fix, fails
            // the record so Lambda tries again.
            Err(e) if n > 0 && !e.retryable() => {
                tracing::warn!(record = index, %target, key = n + 1, keys = keys.len(), error = %e, "another routing key refused the resolve; check that integration still exists");
            }
            Err(e) => {
                tracing::warn!(record = index, %target, key = n + 1, keys = keys.len(), error = %e, "not delivered to this routing key");
                failure.get_or_insert(e);
            }
        }
    }
    match (failure, delivered) {
        (None, Some(d)) => RecordResult {
            record: index,
            target,
            outcome: match event.event_action {
                Action::Trigger => Outcome::Triggered,
                Action::Resolve => Outcome::Resolved,
            },
            dedup_key: Some(d.dedup_key),
            reason: None,
            retryable: false,
            skip: None,
        },
        (Some(e), _) => failed(index, target, e.to_string(), e.retryable()),
        (None, None) => failed(index, target, "no routing key took the event".into(), true),
    }
}

/// The description's `runbook:` token, else the routing table's entry for the alarm.
fn runbook_of(alarm: &AlarmChange, table: &RoutingTable) -> Option<String> {
    match alarm.description.as_deref().and_then(runbook::from_description) {
        Some(Ok(url)) => return Some(url),
        Some(Err(bad)) => {
            tracing::warn!(alarm = %alarm.name, runbook = %bad, "the runbook: token in the alarm's description is not an http(s) URL; left out")
        }
        None => {}
    }
    match runbook::from_template(table.runbook(&alarm.name)?, &alarm.name) {
        Ok(url) => Some(url),
        Err(bad) => {
            tracing::warn!(alarm = %alarm.name, runbook = %bad, "the routing table's runbook URL for this alarm is not an http(s) URL; left out");
            None
        }
    }
}

/// A fresh deploy before anyone put the routing key in: quiet, not failing, so the stack's own
/// alarms do not fire for it; the `Unconfigured` metric (and its alarm on the ops topic) tells.
fn unconfigured(index: usize, target: String, secret: &str) -> RecordResult {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let reason = format!(
        "the routing secret {secret} still holds its placeholder: nobody is paged until the PagerDuty \
         integration key is put there (docs/deploy.md)"
    );
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(%secret, "{reason}");
    } else {
        tracing::debug!(record = index, %target, "not sent: the routing secret holds its placeholder");
    }
    skipped(index, target, reason, SkipReason::Unconfigured)
}

/// One `Skipped` datapoint per reason, and `Unconfigured` for what a placeholder routing secret
/// kept from PagerDuty; a failure to publish costs the metric, never a page.
async fn count_skips(metrics: &dyn MetricSink, summary: &Summary, deadline: Instant) {
    let mut counts: BTreeMap<&'static str, u32> = BTreeMap::new();
    for code in summary.results.iter().filter_map(|r| r.skip) {
        *counts.entry(code.as_str()).or_default() += 1;
    }
    if counts.is_empty() {
        return;
    }
    let data: Vec<Metric> = counts
        .iter()
        .map(|(reason, n)| {
            if *reason == SkipReason::Unconfigured.as_str() {
                Metric::new("Unconfigured", f64::from(*n), Unit::Count)
            } else {
                Metric::new("Skipped", f64::from(*n), Unit::Count).dimension("Reason", *reason)
            }
        })
        .collect();
    match tokio::time::timeout_at(deadline, metrics.put(&data)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not publish the Skipped metric"),
        Err(_) => tracing::warn!("the Skipped metric was not published before the deadline"),
    }
}

fn skipped(record: usize, target: String, reason: String, code: SkipReason) -> RecordResult {
    RecordResult {
        record,
        target,
        outcome: Outcome::Skipped,
        dedup_key: None,
        reason: Some(reason),
        retryable: false,
        skip: Some(code),
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
        skip: None,
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
