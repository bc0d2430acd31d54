//! One CloudWatch alarm per check, kept in step with the check list.
//!
//! The alarm fires when `CheckHealthy` (Minimum) is under 1 for `failure_threshold` of
//! `evaluation_runs` periods. Missing data is `missing`: a run that did not happen, or a check that
//! could not be judged, pages nobody; the checker's own `RunsCompleted` heartbeat alarm (in the
//! template, on the ops topic) tells that the checker stopped. Existing alarms are read in one paged
//! DescribeAlarms by prefix; only alarms that are missing or differ are written. An alarm is deleted
//! only when its check left the configured list, at most a tenth of the managed alarms a run. One
//! that is not OK is retired first: its ALARM action is removed (so it can page no more) and it is
//! set to OK, whose action resolves its incident; it is deleted by a later run, once that OK went
//! out.

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use ops_shared::Retryable;
use tokio::time::Instant;

use crate::error::HealthError;

/// An alarm as this function wants it, or as CloudWatch holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: String,
    /// Sorted by name, so two specs compare equal whatever order CloudWatch returns.
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
    pub period_secs: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    pub threshold: f64,
    pub comparison: String,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    /// `ops-lambdas:check-kind` and `ops-lambdas:check-group`, so tools read the matrix without
    /// the check list. DescribeAlarms does not return tags: the same facts are in the description,
    /// which it does return, so a changed kind or group is seen as a change of the alarm.
    pub tags: Vec<(String, String)>,
}

pub const KIND_TAG: &str = "ops-lambdas:check-kind";
pub const GROUP_TAG: &str = "ops-lambdas:check-group";

impl AlarmSpec {
    /// The alarm of one check.
    pub fn for_check(
        prefix: &str,
        check: &str,
        failure_threshold: u32,
        evaluation_runs: u32,
        period_secs: i32,
        function: &str,
        topic: &str,
    ) -> Self {
        let mut dimensions = vec![
            ("Check".to_string(), check.to_string()),
            ("Function".to_string(), function.to_string()),
        ];
        dimensions.sort();
        Self {
            name: format!("{prefix}{check}"),
            description: format!(
                "Health check {check} failed {failure_threshold} of the last {evaluation_runs} runs. Managed by ops-lambdas health-checker: change the check, not this alarm."
            ),
            namespace: ops_shared::METRICS_NAMESPACE.to_string(),
            metric: "CheckHealthy".to_string(),
            dimensions,
            statistic: "Minimum".to_string(),
            period_secs,
            evaluation_periods: evaluation_runs as i32,
            datapoints_to_alarm: failure_threshold as i32,
            threshold: 1.0,
            comparison: "LessThanThreshold".to_string(),
            treat_missing_data: "missing".to_string(),
            alarm_actions: vec![topic.to_string()],
            ok_actions: vec![topic.to_string()],
            tags: Vec::new(),
        }
    }

    /// `METRICS_MODE=per-group`: the alarm of a group, on its `ChecksUnhealthy` count. `window` is
    /// (failures, runs): it fires when a check of the group failed in that many of the last runs.
    pub fn for_group(
        prefix: &str,
        group: &str,
        window: (u32, u32),
        period_secs: i32,
        function: &str,
        topic: &str,
    ) -> Self {
        let (failures, runs) = window;
        let mut dimensions = vec![
            ("Function".to_string(), function.to_string()),
            ("Group".to_string(), group.to_string()),
        ];
        dimensions.sort();
        Self {
            name: Self::group_alarm_name(prefix, group),
            description: format!(
                "A health check of group {group} failed in {failures} of the last {runs} runs; the health-checker's result and log name it. Managed by ops-lambdas health-checker: change the checks, not this alarm."
            ),
            namespace: ops_shared::METRICS_NAMESPACE.to_string(),
            metric: "ChecksUnhealthy".to_string(),
            dimensions,
            statistic: "Maximum".to_string(),
            period_secs,
            evaluation_periods: runs as i32,
            datapoints_to_alarm: failures as i32,
            threshold: 1.0,
            comparison: "GreaterThanOrEqualToThreshold".to_string(),
            treat_missing_data: "missing".to_string(),
            alarm_actions: vec![topic.to_string()],
            ok_actions: vec![topic.to_string()],
            tags: Vec::new(),
        }
        .about("group", Some(group))
    }

    pub fn group_alarm_name(prefix: &str, group: &str) -> String {
        format!("{prefix}group-{group}")
    }

    /// One of this function's own: a check's or a group's alarm on its metric.
    pub fn is_managed(&self) -> bool {
        is_check_alarm(
            &self.namespace,
            &self.metric,
            self.dimensions.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }

    /// The check's kind and group, in the description and as tags.
    pub fn about(mut self, kind: &str, group: Option<&str>) -> Self {
        self.description
            .push_str(&format!(" Kind: {kind}. Group: {}.", group.unwrap_or("none")));
        self.tags = vec![
            (GROUP_TAG.to_string(), group.unwrap_or_default().to_string()),
            (KIND_TAG.to_string(), kind.to_string()),
        ];
        self
    }

    /// Whether CloudWatch must be told: every field but the tags, which DescribeAlarms does not
    /// return (the description carries what they say).
    pub fn differs(&self, other: &AlarmSpec) -> bool {
        let bare = |s: &AlarmSpec| AlarmSpec {
            tags: Vec::new(),
            ..s.clone()
        };
        bare(self) != bare(other)
    }
}

/// Whether an alarm on this metric is a check's or a group's, the checker's own: the one rule for
/// this function and for tools (`ops status`) that read its alarms. Anything else under the prefix
/// (the stack's `<stack>-health-checker-heartbeat`, under the default one) is not.
pub fn is_check_alarm<'a>(
    namespace: &str,
    metric: &str,
    mut dimensions: impl Iterator<Item = (&'a str, &'a str)>,
) -> bool {
    namespace == ops_shared::METRICS_NAMESPACE
        && matches!(metric, "CheckHealthy" | "ChecksUnhealthy")
        && dimensions.any(|(k, v)| k == "Function" && v == crate::config::FUNCTION)
}

/// An alarm under the prefix as CloudWatch holds it, with whether it is OK now.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub spec: AlarmSpec,
    pub ok: bool,
}

impl Existing {
    /// Retired by an earlier run: its ALARM action was taken away before it was set to OK.
    fn retired(&self) -> bool {
        self.spec.alarm_actions.is_empty()
    }
}

/// What reconciling the alarms will do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmPlan {
    pub create: Vec<AlarmSpec>,
    pub update: Vec<AlarmSpec>,
    pub delete: Vec<String>,
    /// Alarms of removed checks that are not OK: written without their ALARM action, then set to
    /// OK, so the page they sent resolves; deleted by a later run.
    pub retire: Vec<AlarmSpec>,
    /// Alarms of removed checks left for later runs (the per-run cap, or a list with an unnamed
    /// entry, whose alarm cannot be told apart).
    pub waiting: usize,
    /// Wanted names already taken by an alarm that is not this function's: left alone.
    pub conflicts: Vec<String>,
}

/// A run deletes at most a tenth of the managed alarms (rounded up, at least one): a list cut
/// short by mistake costs a few alarms, not all of them.
pub fn deletion_cap(managed: usize) -> usize {
    managed.div_ceil(10).max(1)
}

/// Compares the wanted alarms with those under the prefix. `keep` names alarms that must survive
/// even though no spec is wanted for them (checks whose definition is broken this run); with
/// `may_delete` false (an entry without a usable name, which could be any alarm's), none goes.
pub fn plan(wanted: &[AlarmSpec], existing: &[Existing], keep: &[String], may_delete: bool) -> AlarmPlan {
    let mut out = AlarmPlan::default();
    // Only this function's alarms are planned for: another alarm under the prefix (the stack's own
    // `<stack>-health-checker-heartbeat` shares the default one) is never changed or deleted.
    let (existing, foreign): (Vec<&Existing>, Vec<&Existing>) =
        existing.iter().partition(|e| e.spec.is_managed());
    for spec in wanted {
        if foreign.iter().any(|e| e.spec.name == spec.name) {
            out.conflicts.push(spec.name.clone());
            continue;
        }
        match existing.iter().find(|e| e.spec.name == spec.name) {
            None => out.create.push(spec.clone()),
            Some(current) if current.spec.differs(spec) => out.update.push(spec.clone()),
            Some(_) => {}
        }
    }
    let mut gone: Vec<&Existing> = existing
        .iter()
        .copied()
        .filter(|e| !wanted.iter().any(|w| w.name == e.spec.name) && !keep.contains(&e.spec.name))
        .collect();
    if !may_delete {
        out.waiting = gone.len();
        return out;
    }
    // Those paging now first: their incidents are the ones to resolve soonest.
    gone.sort_by_key(|e| (e.ok || e.retired(), e.spec.name.clone()));
    let cap = deletion_cap(existing.len());
    out.waiting = gone.len().saturating_sub(cap);
    gone.truncate(cap);
    for e in gone {
        if e.ok || e.retired() {
            out.delete.push(e.spec.name.clone());
        } else {
            out.retire.push(AlarmSpec {
                alarm_actions: Vec::new(),
                ..e.spec.clone()
            });
        }
    }
    out
}

/// The port through which alarms are read and written.
#[async_trait]
pub trait AlarmStore: Send + Sync {
    async fn list(&self, prefix: &str) -> Result<Vec<Existing>, HealthError>;
    async fn put(&self, spec: &AlarmSpec) -> Result<(), HealthError>;
    /// Sets an alarm to OK (its OK action notifies, so its incident resolves).
    async fn set_ok(&self, name: &str, reason: &str) -> Result<(), HealthError>;
    async fn delete(&self, names: &[String]) -> Result<(), HealthError>;
}

/// What applying a plan did (the `alarms` of a configured run's result); what did not fit waits
/// for the next run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Applied {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
    /// Alarms of removed checks that were not OK: their ALARM action taken away and set to OK (so
    /// their incidents resolve); a later run deletes them.
    pub retired: Vec<String>,
    /// Alarms of removed checks that the per-run deletion cap leaves for the next runs (the plan's
    /// `waiting`; `apply` leaves it at 0).
    pub waiting: usize,
    /// Writes left for the next run: CloudWatch throttled them past the SDK's retries, or the
    /// run's time ran out.
    pub deferred: usize,
}

/// Alarm writes in flight at once: CloudWatch's PutMetricAlarm quota is a few a second, so more
/// only earns throttles.
pub const WRITES_IN_FLIGHT: usize = 4;

/// Writes one alarm, waiting out throttles (on top of the SDK's own retries) until `deadline`.
async fn put_patiently(
    store: &dyn AlarmStore,
    spec: &AlarmSpec,
    deadline: Instant,
) -> Result<(), HealthError> {
    let mut pause = std::time::Duration::from_millis(500);
    loop {
        let err = match tokio::time::timeout_at(deadline, store.put(spec)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => {
                return Err(HealthError::Alarms {
                    operation: "PutMetricAlarm",
                    reason: "the run's time ran out".into(),
                    retryable: true,
                })
            }
        };
        if !err.retryable() || Instant::now() + pause >= deadline {
            return Err(err);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(4));
    }
}

/// Applies a plan within `deadline`, a few writes at a time. A throttle or the deadline defers the
/// rest to the next run, never fails this one; a refusal a retry cannot fix (a denied permission)
/// fails it, so someone hears.
pub async fn apply(
    store: &dyn AlarmStore,
    plan: &AlarmPlan,
    deadline: Instant,
) -> Result<Applied, HealthError> {
    let mut out = Applied::default();
    let writes: Vec<(&AlarmSpec, bool)> = plan
        .create
        .iter()
        .map(|s| (s, true))
        .chain(plan.update.iter().map(|s| (s, false)))
        .collect();
    let results: Vec<(&AlarmSpec, bool, Result<(), HealthError>)> = stream::iter(writes)
        .map(|(spec, new)| async move { (spec, new, put_patiently(store, spec, deadline).await) })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    let mut fatal = None;
    for (spec, new, r) in results {
        match r {
            Ok(()) if new => out.created.push(spec.name.clone()),
            Ok(()) => out.updated.push(spec.name.clone()),
            Err(e) if e.retryable() => out.deferred += 1,
            Err(e) => {
                fatal.get_or_insert(e);
            }
        }
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    for spec in &plan.retire {
        let retire = async {
            store.put(spec).await?;
            store
                .set_ok(
                    &spec.name,
                    "its health check was removed from the configured list; the alarm is deleted by a later run",
                )
                .await
        };
        match tokio::time::timeout_at(deadline, retire).await {
            Ok(Ok(())) => out.retired.push(spec.name.clone()),
            Ok(Err(e)) if !e.retryable() => return Err(e),
            // Not retired: the next run tries again; it is not deleted meanwhile.
            _ => out.deferred += 1,
        }
    }
    if !plan.delete.is_empty() {
        match tokio::time::timeout_at(deadline, store.delete(&plan.delete)).await {
            Ok(Ok(())) => out.deleted = plan.delete.clone(),
            Ok(Err(e)) if !e.retryable() => return Err(e),
            _ => out.deferred += plan.delete.len(),
        }
    }
    out.created.sort();
    out.updated.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(check: &str, threshold: u32) -> AlarmSpec {
        AlarmSpec::for_check(
            "ops-lambdas-health-",
            check,
            threshold,
            3,
            300,
            "health-checker",
            "arn:aws:sns:us-east-1:1:alarms",
        )
    }

    fn existing(specs: &[AlarmSpec]) -> Vec<Existing> {
        specs
            .iter()
            .map(|s| Existing {
                spec: s.clone(),
                ok: true,
            })
            .collect()
    }

    #[test]
    fn the_alarm_pages_on_failures_never_on_silence() {
        let s = spec("api", 2);
        assert_eq!(s.name, "ops-lambdas-health-api");
        assert_eq!((s.datapoints_to_alarm, s.evaluation_periods), (2, 3));
        assert_eq!(s.treat_missing_data, "missing");
        assert_eq!(
            (s.statistic.as_str(), s.comparison.as_str(), s.threshold),
            ("Minimum", "LessThanThreshold", 1.0)
        );
        assert_eq!(s.ok_actions, s.alarm_actions);
    }

    #[test]
    fn only_missing_and_changed_alarms_are_written_and_removed_checks_deleted() {
        let existing = existing(&[
            spec("same", 3),
            spec("changed", 3),
            spec("removed", 3),
            spec("broken", 3),
        ]);
        let wanted = vec![spec("same", 3), spec("changed", 2), spec("new", 3)];
        let p = plan(
            &wanted,
            &existing,
            &["ops-lambdas-health-broken".to_string()],
            true,
        );
        assert_eq!(
            p.create.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            vec!["ops-lambdas-health-new"]
        );
        assert_eq!(
            p.update.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            vec!["ops-lambdas-health-changed"]
        );
        assert_eq!(p.delete, vec!["ops-lambdas-health-removed"]);
    }

    #[test]
    fn kind_and_group_are_tags_and_in_the_description_so_a_change_is_written() {
        let a = spec("api", 3).about("http", Some("payments"));
        assert!(
            a.description.ends_with("Kind: http. Group: payments."),
            "{}",
            a.description
        );
        assert_eq!(
            a.tags,
            vec![
                (GROUP_TAG.to_string(), "payments".to_string()),
                (KIND_TAG.to_string(), "http".to_string())
            ]
        );
        // As DescribeAlarms returns it: no tags.
        let listed = AlarmSpec {
            tags: Vec::new(),
            ..a.clone()
        };
        assert!(!listed.differs(&a));
        let moved = spec("api", 3).about("http", Some("billing"));
        let p = plan(&[moved], &existing(&[listed]), &[], true);
        assert_eq!(p.update.len(), 1, "a new group is written");
    }

    #[test]
    fn an_alarm_under_the_prefix_that_is_not_a_checks_is_never_touched() {
        // The stack's `ops-lambdas-health-checker-heartbeat` under the default prefix.
        let heartbeat = AlarmSpec {
            name: "ops-lambdas-health-checker-heartbeat".into(),
            namespace: "OpsLambdas".into(),
            metric: "RunsCompleted".into(),
            ..spec("x", 3)
        };
        let mut managed = existing(&[spec("a", 3), heartbeat.clone()]);
        managed[1].ok = false;
        let p = plan(&[spec("a", 3)], &managed, &[], true);
        assert_eq!(p, AlarmPlan::default(), "neither retired nor deleted");
        let named_like_it = AlarmSpec {
            name: heartbeat.name.clone(),
            ..spec("checker-heartbeat", 3)
        };
        let p = plan(&[named_like_it], &managed, &[], true);
        assert!(p.create.is_empty() && p.update.is_empty());
        assert_eq!(p.conflicts, vec![heartbeat.name]);
    }

    #[test]
    fn an_unchanged_list_writes_nothing() {
        let all = vec![spec("a", 3), spec("b", 1)];
        assert_eq!(plan(&all, &existing(&all), &[], true), AlarmPlan::default());
    }

    #[test]
    fn deletions_are_capped_at_a_tenth_and_an_alarm_not_ok_is_retired_first() {
        assert_eq!(
            (
                deletion_cap(1),
                deletion_cap(10),
                deletion_cap(11),
                deletion_cap(40)
            ),
            (1, 1, 2, 4)
        );
        let all: Vec<AlarmSpec> = (0..40).map(|i| spec(&format!("c{i:02}"), 3)).collect();
        let mut managed = existing(&all);
        managed[2].ok = false;
        // Three checks removed: two deleted, the one not OK retired (no ALARM action, set OK).
        let kept: Vec<AlarmSpec> = all.iter().skip(3).cloned().collect();
        let p = plan(&kept, &managed, &[], true);
        assert_eq!(p.delete, vec!["ops-lambdas-health-c00", "ops-lambdas-health-c01"]);
        assert_eq!(p.retire.len(), 1);
        assert_eq!(p.retire[0].name, "ops-lambdas-health-c02");
        assert!(p.retire[0].alarm_actions.is_empty() && !p.retire[0].ok_actions.is_empty());
        // The next run finds it retired (OK by now or not): it is deleted.
        managed[2].spec.alarm_actions.clear();
        let p = plan(&kept, &managed, &[], true);
        assert_eq!(p.delete.len(), 3);
        assert!(p.retire.is_empty());
        // A list cut to five: four go this run, alarms paging now first; the rest wait.
        managed[30].ok = false;
        let p = plan(&all[..5], &managed, &[], true);
        assert_eq!(p.delete.len() + p.retire.len(), 4);
        assert_eq!(p.retire[0].name, "ops-lambdas-health-c30");
        assert_eq!(p.waiting, 31);
        // An entry without a usable name could be any alarm's: nothing goes.
        let p = plan(&kept, &managed, &[], false);
        assert!(p.delete.is_empty() && p.retire.is_empty());
        assert_eq!(p.waiting, 3);
    }

    /// Takes `room` writes, then answers every other one with `error`.
    struct Throttled {
        room: std::sync::atomic::AtomicUsize,
        retryable: bool,
    }

    #[async_trait]
    impl AlarmStore for Throttled {
        async fn list(&self, _: &str) -> Result<Vec<Existing>, HealthError> {
            Ok(Vec::new())
        }
        async fn put(&self, _: &AlarmSpec) -> Result<(), HealthError> {
            let left = self.room.load(std::sync::atomic::Ordering::SeqCst);
            if left == 0 {
                return Err(HealthError::Alarms {
                    operation: "PutMetricAlarm",
                    reason: if self.retryable {
                        "Throttling"
                    } else {
                        "AccessDenied"
                    }
                    .into(),
                    retryable: self.retryable,
                });
            }
            self.room.store(left - 1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        async fn set_ok(&self, _: &str, _: &str) -> Result<(), HealthError> {
            Ok(())
        }
        async fn delete(&self, _: &[String]) -> Result<(), HealthError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_throttled_write_waits_for_the_next_run_and_a_denied_one_fails_the_run() {
        let wanted: Vec<AlarmSpec> = (0..20).map(|i| spec(&format!("c{i}"), 3)).collect();
        let p = plan(&wanted, &[], &[], true);
        // A second: throttles are waited out until then, and the rest deferred.
        let soon = Instant::now() + std::time::Duration::from_secs(1);
        let throttled = Throttled {
            room: 5.into(),
            retryable: true,
        };
        let done = apply(&throttled, &p, soon)
            .await
            .expect("a throttle never fails the run");
        assert_eq!((done.created.len(), done.deferred), (5, 15));
        let denied = Throttled {
            room: 0.into(),
            retryable: false,
        };
        assert!(
            apply(&denied, &p, soon).await.is_err(),
            "a denied write is someone's to fix"
        );
    }
}
