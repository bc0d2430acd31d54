//! One CloudWatch alarm per check, kept in step with the check list.
//!
//! The alarm fires when `CheckHealthy` (Minimum) is under 1 for `failure_threshold` of
//! `evaluation_runs` periods. Missing data is `missing`: a run that did not happen, or a check that
//! could not be judged, pages nobody; the checker's own `RunsCompleted` heartbeat alarm (in the
//! template, on the ops topic) tells that the checker stopped. Existing alarms are read in one paged
//! DescribeAlarms by prefix; only alarms that are missing or differ are written. An alarm is deleted
//! only when its check left the configured list, at most a tenth of the managed alarms a run, and an
//! alarm in ALARM is set to OK first so that its incident resolves.

use async_trait::async_trait;

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
}

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
        }
    }
}

/// An alarm under the prefix as CloudWatch holds it, with whether it is in ALARM now.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub spec: AlarmSpec,
    pub in_alarm: bool,
}

/// What reconciling the alarms will do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmPlan {
    pub create: Vec<AlarmSpec>,
    pub update: Vec<AlarmSpec>,
    pub delete: Vec<String>,
    /// Of `delete`, the alarms in ALARM: set to OK first, so the page they sent resolves.
    pub resolve_first: Vec<String>,
    /// Alarms of removed checks left for a later run by the per-run deletion cap.
    pub waiting: usize,
}

/// A run deletes at most a tenth of the managed alarms (rounded up, at least one): a list cut
/// short by mistake costs a few alarms, not all of them.
pub fn deletion_cap(managed: usize) -> usize {
    managed.div_ceil(10).max(1)
}

/// Compares the wanted alarms with those under the prefix. `keep` names alarms that must survive
/// even though no spec is wanted for them (checks whose definition is broken this run).
pub fn plan(wanted: &[AlarmSpec], existing: &[Existing], keep: &[String]) -> AlarmPlan {
    let mut out = AlarmPlan::default();
    for spec in wanted {
        match existing.iter().find(|e| e.spec.name == spec.name) {
            None => out.create.push(spec.clone()),
            Some(current) if &current.spec != spec => out.update.push(spec.clone()),
            Some(_) => {}
        }
    }
    let mut gone: Vec<&Existing> = existing
        .iter()
        .filter(|e| !wanted.iter().any(|w| w.name == e.spec.name) && !keep.contains(&e.spec.name))
        .collect();
    gone.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    let cap = deletion_cap(existing.len());
    out.waiting = gone.len().saturating_sub(cap);
    gone.truncate(cap);
    out.resolve_first = gone
        .iter()
        .filter(|e| e.in_alarm)
        .map(|e| e.spec.name.clone())
        .collect();
    out.delete = gone.iter().map(|e| e.spec.name.clone()).collect();
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

/// Applies a plan; returns it as done.
pub async fn apply(store: &dyn AlarmStore, plan: &AlarmPlan) -> Result<(), HealthError> {
    for spec in plan.create.iter().chain(&plan.update) {
        store.put(spec).await?;
    }
    for name in &plan.resolve_first {
        store
            .set_ok(
                name,
                "its health check was removed from the configured list; the alarm is deleted next",
            )
            .await?;
    }
    if !plan.delete.is_empty() {
        store.delete(&plan.delete).await?;
    }
    Ok(())
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
                in_alarm: false,
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
        let p = plan(&wanted, &existing, &["ops-lambdas-health-broken".to_string()]);
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
    fn an_unchanged_list_writes_nothing() {
        let all = vec![spec("a", 3), spec("b", 1)];
        assert_eq!(plan(&all, &existing(&all), &[]), AlarmPlan::default());
    }

    #[test]
    fn deletions_are_capped_at_a_tenth_and_an_alarm_in_alarm_is_resolved_first() {
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
        managed[2].in_alarm = true;
        // Three checks removed: all three go, the alarmed one set to OK first.
        let kept: Vec<AlarmSpec> = all.iter().skip(3).cloned().collect();
        let p = plan(&kept, &managed, &[]);
        assert_eq!(p.delete.len(), 3);
        assert_eq!(p.resolve_first, vec!["ops-lambdas-health-c02".to_string()]);
        assert_eq!(p.waiting, 0);
        // A list cut to five: four deletions this run, the rest wait.
        let p = plan(&all[..5], &managed, &[]);
        assert_eq!((p.delete.len(), p.waiting), (4, 31));
    }
}
