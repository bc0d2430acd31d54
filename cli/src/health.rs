//! `ops health`: the health-checker's own probes, run now from this machine. Publishes nothing and
//! touches no alarm.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use health_checker::alarms::{AlarmSpec, AlarmStore, Existing};
use health_checker::{Config, Deps, HealthError, Report};
use ops_shared::metrics::PutSummary;
use ops_shared::{Metric, MetricSink, SharedError, Vars};
use serde_json::{json, Value};

use crate::error::OpsError;

/// Which checks to run: every given filter must match (as a component run's `only`).
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub kinds: Vec<String>,
    pub groups: Vec<String>,
    pub names: Vec<String>,
    /// A check list (JSON or YAML, as `HEALTH_CHECKS`); else `HEALTH_CHECKS` from the environment.
    pub file: Option<PathBuf>,
}

/// A sink that keeps the metrics to itself: a terminal run must not feed the alarms.
struct Nowhere;

#[async_trait]
impl MetricSink for Nowhere {
    async fn put(&self, _: &[Metric]) -> Result<PutSummary, SharedError> {
        Ok(PutSummary {
            sent: 0,
            dropped: 0,
            requests: 0,
        })
    }
}

/// An alarm store that refuses everything: a terminal run has no business with the alarms, and
/// this keeps it so even if the run were ever asked to reconcile.
struct NoAlarms;

#[async_trait]
impl AlarmStore for NoAlarms {
    async fn list(&self, _: &str) -> Result<Vec<Existing>, HealthError> {
        Err(refused())
    }
    async fn put(&self, _: &AlarmSpec) -> Result<(), HealthError> {
        Err(refused())
    }
    async fn set_ok(&self, _: &str, _: &str) -> Result<(), HealthError> {
        Err(refused())
    }
    async fn delete(&self, _: &[String]) -> Result<(), HealthError> {
        Err(refused())
    }
}

fn refused() -> HealthError {
    HealthError::Alarms {
        operation: "any",
        reason: "ops health never changes alarms".into(),
        retryable: false,
    }
}

fn list(selection: &Selection) -> Result<Vec<Value>, OpsError> {
    let Some(path) = &selection.file else {
        return match std::env::var("HEALTH_CHECKS") {
            Ok(text) => health_checker::checks_file::parse(text.as_bytes(), false).map_err(|problem| {
                OpsError::CheckFile {
                    path: "HEALTH_CHECKS".into(),
                    problem,
                }
            }),
            Err(_) => Err(OpsError::CheckFile {
                path: "(none)".into(),
                problem: "was not given: pass --file checks.yaml, or set HEALTH_CHECKS".into(),
            }),
        };
    };
    let shown = path.display().to_string();
    let body = std::fs::read(path).map_err(|e| OpsError::CheckFile {
        path: shown.clone(),
        problem: format!("cannot be read: {e}"),
    })?;
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    health_checker::checks_file::parse(&body, yaml)
        .map_err(|problem| OpsError::CheckFile { path: shown, problem })
}

pub async fn run(selection: &Selection) -> Result<Report, OpsError> {
    let checks = list(selection)?;
    let mut vars = vec![
        ("MANAGE_ALARMS".to_string(), "false".to_string()),
        (
            "HEALTH_CHECKS".to_string(),
            json!({ "checks": checks }).to_string(),
        ),
    ];
    if let Ok(bundle) = std::env::var("HEALTH_CA_BUNDLE") {
        vars.push(("HEALTH_CA_BUNDLE".into(), bundle));
    }
    let config = Config::from_vars(&Vars::from_pairs(vars))?;
    let mut deps = Deps::connect(&config).await?;
    deps.metrics = Box::new(Nowhere);
    deps.alarms = Box::new(NoAlarms);
    let mut only = serde_json::Map::new();
    for (key, values) in [
        ("kinds", &selection.kinds),
        ("groups", &selection.groups),
        ("names", &selection.names),
    ] {
        if !values.is_empty() {
            only.insert(key.into(), json!(values));
        }
    }
    let event = if only.is_empty() {
        json!({"detail-type": "Scheduled Event"})
    } else {
        json!({ "only": only })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    Ok(health_checker::run::run(&deps, &config, &event, deadline).await?)
}
