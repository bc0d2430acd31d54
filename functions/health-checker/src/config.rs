//! health-checker's configuration, read once at cold start. The function's README table follows this file.

use std::path::PathBuf;
use std::time::Duration;

use ops_shared::{SharedError, Vars};
use serde_json::Value;

use crate::checks_file::ChecksUrl;
use crate::error::HealthError;

pub const FUNCTION: &str = "health-checker";
pub const DEFAULT_ALARM_PREFIX: &str = "ops-lambdas-health-";

/// `METRICS_MODE`: what a run publishes and alarms on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsMode {
    /// Two metrics and one alarm per check.
    #[default]
    PerCheck,
    /// One `ChecksUnhealthy` metric and one alarm per group; per-check results in the result and log.
    PerGroup,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `HEALTH_CHECKS`: the checks run on a plain Scheduled Event (`{"checks": [...]}` or a list).
    pub checks: Option<Vec<Value>>,
    /// `HEALTH_CHECKS_URL`: the checks in an S3 object (`s3://bucket/key.json|.yaml`), instead of
    /// `HEALTH_CHECKS`, for lists longer than a variable holds.
    pub checks_url: Option<ChecksUrl>,
    /// `HEALTH_CONCURRENCY` (32): checks in flight at once.
    pub concurrency: usize,
    /// `MANAGE_ALARMS` (true): keep one alarm per check.
    pub manage_alarms: bool,
    /// `ALARM_TOPIC_ARN`: where the alarms send ALARM and OK (required when alarms are managed).
    pub alarm_topic: Option<String>,
    /// `ALARM_PREFIX` (ops-lambdas-health-): alarm names, and the set this function owns.
    pub alarm_prefix: String,
    /// `CHECK_PERIOD` (5m): how often the schedule runs; the alarms' period.
    pub period: Duration,
    /// `HEALTH_CA_BUNDLE`: extra CA certificates (PEM) trusted by http and tls checks.
    pub ca_bundle: Option<PathBuf>,
    /// `ECS_ROLLOUT_STUCK_AFTER` (30m): how long an ECS rollout may stay in progress.
    pub rollout_stuck_after: Duration,
    /// `METRICS_MODE` (per-check): `per-check` or `per-group`.
    pub metrics_mode: MetricsMode,
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda): tells this deployment's heartbeat from another's.
    pub function_name: Option<String>,
}

fn invalid(var: &str, problem: &str, expected: &str) -> HealthError {
    HealthError::Shared(SharedError::Config {
        var: var.into(),
        problem: problem.into(),
        expected: expected.into(),
    })
}

impl Config {
    pub fn from_env() -> Result<Self, HealthError> {
        Self::from_vars(&Vars::from_env())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, HealthError> {
        let checks = match vars.optional("HEALTH_CHECKS") {
            None => None,
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(list)) => Some(list),
                Ok(Value::Object(obj)) => match obj.get("checks") {
                    Some(Value::Array(list)) => Some(list.clone()),
                    _ => {
                        return Err(invalid(
                            "HEALTH_CHECKS",
                            "has no \"checks\" list",
                            "{\"checks\": [...]}",
                        ))
                    }
                },
                _ => {
                    return Err(invalid(
                        "HEALTH_CHECKS",
                        "is not JSON",
                        "{\"checks\": [...]}, the stack's HealthChecks parameter",
                    ))
                }
            },
        };
        let checks_url = match vars.optional("HEALTH_CHECKS_URL") {
            None => None,
            Some(text) => Some(ChecksUrl::parse(&text).map_err(|problem| {
                invalid("HEALTH_CHECKS_URL", &problem, "s3://bucket/key.json (or .yaml)")
            })?),
        };
        if checks.is_some() && checks_url.is_some() {
            return Err(invalid(
                "HEALTH_CHECKS_URL",
                "is set together with HEALTH_CHECKS",
                "one of the two: the list in the variable, or in the S3 object",
            ));
        }
        // Each check in flight holds a socket of its own, and Lambda allows 1,024 open files.
        let concurrency = vars.parse("HEALTH_CONCURRENCY", 32usize, "a number of checks from 1 to 256")?;
        if !(1..=256).contains(&concurrency) {
            return Err(invalid(
                "HEALTH_CONCURRENCY",
                "is out of range",
                "a number of checks from 1 to 256 (each holds a connection; Lambda allows 1,024 open files)",
            ));
        }
        let manage_alarms = vars.bool("MANAGE_ALARMS", true)?;
        let alarm_topic = vars.optional("ALARM_TOPIC_ARN");
        if manage_alarms && alarm_topic.is_none() {
            return Err(invalid(
                "ALARM_TOPIC_ARN",
                "is not set",
                "the ARN of the alarms SNS topic (or MANAGE_ALARMS=false to leave alarms alone)",
            ));
        }
        let period = vars.duration("CHECK_PERIOD", "5m")?;
        if period.as_secs() < 60 || period.as_secs() % 60 != 0 || period.as_secs() > 86_400 {
            return Err(invalid(
                "CHECK_PERIOD",
                "is not a whole number of minutes up to a day",
                "the schedule's rate, such as 5m",
            ));
        }
        let metrics_mode = match vars.string("METRICS_MODE", "per-check").as_str() {
            "per-check" => MetricsMode::PerCheck,
            "per-group" => MetricsMode::PerGroup,
            _ => {
                return Err(invalid(
                    "METRICS_MODE",
                    "is neither per-check nor per-group",
                    "per-check (a metric and an alarm per check) or per-group (one per group)",
                ))
            }
        };
        Ok(Self {
            checks,
            checks_url,
            metrics_mode,
            concurrency,
            manage_alarms,
            alarm_topic,
            alarm_prefix: vars.string("ALARM_PREFIX", DEFAULT_ALARM_PREFIX),
            period,
            ca_bundle: vars.optional("HEALTH_CA_BUNDLE").map(PathBuf::from),
            rollout_stuck_after: vars.duration("ECS_ROLLOUT_STUCK_AFTER", "30m")?,
            function_name: vars.optional("AWS_LAMBDA_FUNCTION_NAME"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, HealthError> {
        Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    const TOPIC: (&str, &str) = ("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alarms");

    #[test]
    fn defaults() {
        let c = config(&[TOPIC]).unwrap();
        assert_eq!(
            (c.concurrency, c.manage_alarms, c.period),
            (32, true, Duration::from_secs(300))
        );
        assert_eq!(c.alarm_prefix, "ops-lambdas-health-");
        assert!(c.checks.is_none());
    }

    #[test]
    fn the_topic_is_required_only_when_alarms_are_managed() {
        assert!(config(&[]).unwrap_err().to_string().contains("ALARM_TOPIC_ARN"));
        assert!(config(&[("MANAGE_ALARMS", "false")]).is_ok());
    }

    #[test]
    fn health_checks_take_the_schedule_input_form_or_a_list() {
        let c = config(&[TOPIC, ("HEALTH_CHECKS", r#"{"checks": [{"name": "a"}]}"#)]).unwrap();
        assert_eq!(c.checks.unwrap().len(), 1);
        let c = config(&[TOPIC, ("HEALTH_CHECKS", r#"[{"name": "a"}, {"name": "b"}]"#)]).unwrap();
        assert_eq!(c.checks.unwrap().len(), 2);
        for bad in ["{\"checks\": 1}", "not json"] {
            assert!(config(&[TOPIC, ("HEALTH_CHECKS", bad)])
                .unwrap_err()
                .to_string()
                .contains("HEALTH_CHECKS"));
        }
    }

    #[test]
    fn the_list_comes_from_the_variable_or_from_s3_never_both() {
        let c = config(&[TOPIC, ("HEALTH_CHECKS_URL", "s3://ops/checks.yaml")]).unwrap();
        assert_eq!(c.checks_url.unwrap().to_string(), "s3://ops/checks.yaml");
        let both = config(&[
            TOPIC,
            ("HEALTH_CHECKS_URL", "s3://ops/checks.yaml"),
            ("HEALTH_CHECKS", "[]"),
        ]);
        assert!(both
            .unwrap_err()
            .to_string()
            .contains("together with HEALTH_CHECKS"));
        let bad = config(&[TOPIC, ("HEALTH_CHECKS_URL", "s3://ops/checks.txt")]);
        assert!(bad.unwrap_err().to_string().contains("HEALTH_CHECKS_URL"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("HEALTH_CONCURRENCY", "0"),
            ("CHECK_PERIOD", "90s"),
            ("MANAGE_ALARMS", "sometimes"),
            ("ECS_ROLLOUT_STUCK_AFTER", "x"),
            ("METRICS_MODE", "per-team"),
        ] {
            let err = config(&[TOPIC, (var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{var}: {err}");
        }
    }
}
