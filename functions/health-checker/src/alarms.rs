//! One CloudWatch alarm per check, kept in step with the check list.
//!
//! The alarm fires when `CheckHealthy` (Minimum) is under 1 for `failure_threshold` of
//! `evaluation_runs` periods, and treats missing data as breaching, so a checker that stops running
//! pages too. Existing alarms are read in one paged DescribeAlarms by prefix; only alarms that are
//! missing or differ are written, and alarms of checks no longer in the list are deleted.

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
                "Health check {check} failed {failure_threshold} of the last {evaluation_runs} runs, or stopped reporting. Managed by ops-lambdas health-checker: change the check, not this alarm."
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
            treat_missing_data: "breaching".to_string(),
            alarm_actions: vec![topic.to_string()],
            ok_actions: vec![topic.to_string()],
        }
    }
}

/// What reconciling the alarms will do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmPlan {
    pub create: Vec<AlarmSpec>,
    pub update: Vec<AlarmSpec>,
    pub delete: Vec<String>,
}

/// Compares the wanted alarms with those under the prefix. `keep` names alarms that must survive
/// even though no spec is wanted for them (checks whose definition is broken this run).
pub fn plan(wanted: &[AlarmSpec], existing: &[AlarmSpec], keep: &[String]) -> AlarmPlan {
    let mut out = AlarmPlan::default();
    for spec in wanted {
        match existing.iter().find(|e| e.name == spec.name) {
            None => out.create.push(spec.clone()),
            Some(current) if current != spec => out.update.push(spec.clone()),
            Some(_) => {}
        }
    }
    out.delete = existing
        .iter()
        .filter(|e| !wanted.iter().any(|w| w.name == e.name) && !keep.contains(&e.name))
        .map(|e| e.name.clone())
        .collect();
    out
}

/// The port through which alarms are read and written.
#[async_trait]
pub trait AlarmStore: Send + Sync {
    async fn list(&self, prefix: &str) -> Result<Vec<AlarmSpec>, HealthError>;
    async fn put(&self, spec: &AlarmSpec) -> Result<(), HealthError>;
    async fn delete(&self, names: &[String]) -> Result<(), HealthError>;
}

/// Applies a plan; returns it as done.
pub async fn apply(store: &dyn AlarmStore, plan: &AlarmPlan) -> Result<(), HealthError> {
    for spec in plan.create.iter().chain(&plan.update) {
        store.put(spec).await?;
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

    #[test]
    fn the_alarm_pages_on_failures_and_on_silence() {
        let s = spec("api", 2);
        assert_eq!(s.name, "ops-lambdas-health-api");
        assert_eq!((s.datapoints_to_alarm, s.evaluation_periods), (2, 3));
        assert_eq!(s.treat_missing_data, "breaching");
        assert_eq!(
            (s.statistic.as_str(), s.comparison.as_str(), s.threshold),
            ("Minimum", "LessThanThreshold", 1.0)
        );
        assert_eq!(s.ok_actions, s.alarm_actions);
    }

    #[test]
    fn only_missing_and_changed_alarms_are_written_and_removed_checks_deleted() {
        let existing = vec![
            spec("same", 3),
            spec("changed", 3),
            spec("removed", 3),
            spec("broken", 3),
        ];
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
        assert_eq!(plan(&all, &all, &[]), AlarmPlan::default());
    }
}
