//! One run: every check, concurrently and within the deadline, then metrics and alarms.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::stream::{self, StreamExt};
use ops_shared::{Metric, MetricSink, Retryable, Unit};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

#[cfg(test)]
use crate::alarms::Existing;
use crate::alarms::{self, AlarmStore};
use crate::checks::{self, Check, Invalid, Probe};
use crate::checks_file::{ChecksFile, ListRead};
use crate::config::{Config, MetricsMode};
use crate::error::HealthError;
use crate::outcome::Outcome;
use crate::probe::ecs::{self, EcsServices, EcsUnread, ServiceRead};
use crate::probe::http::{self, HttpClients};
use crate::probe::tls::TlsProbe;
use crate::probe::{dns, tcp};
use crate::publish;
use crate::selection::{self, Selection};

/// Everything a run talks to, built once per container.
pub struct Deps {
    /// `HEALTH_CHECKS_URL`'s list, when the checks live in S3.
    pub checks_file: Option<ChecksFile>,
    pub http: HttpClients,
    pub tls: TlsProbe,
    pub ecs: Box<dyn EcsServices>,
    pub metrics: Box<dyn MetricSink>,
    pub alarms: Box<dyn AlarmStore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub name: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What a configured run did to the alarms.
pub type AlarmChanges = alarms::Applied;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub healthy: usize,
    pub unhealthy: usize,
    /// Checks that could not be judged this run (neither healthy nor unhealthy), skipped included.
    pub unknown: usize,
    /// Checks the run's time budget did not let run (or finish): no `CheckHealthy` for them.
    pub skipped: Vec<String>,
    pub checks: Vec<CheckReport>,
    pub metric_requests: usize,
    /// `None` unless the run was of the configured list (a component or ad-hoc run never touches
    /// an alarm).
    pub alarms: Option<AlarmChanges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `HEALTH_CHECKS_URL`'s object and the ETag this run's list had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_file: Option<ListRead>,
}

/// Time kept back from the deadline for PutMetricData and the alarms.
const PUBLISH_RESERVE: Duration = Duration::from_secs(3);
/// Time kept back for the answer itself: alarm writes stop this long before the deadline.
const FINAL_MARGIN: Duration = Duration::from_millis(500);

pub async fn run(
    deps: &Deps,
    config: &Config,
    event: &Value,
    deadline: Instant,
) -> Result<Report, HealthError> {
    // An ad-hoc list needs no configured one: a broken file does not stop it.
    let mut list_error = None;
    let (configured, checks_file) = match (&deps.checks_file, event.get("checks")) {
        (Some(file), None) => match file.checks().await {
            Ok((list, read)) => (list, Some(read)),
            // The list last read goes on being checked, so an outage during a bad edit still
            // pages; no alarm changes, and the run fails once the results are out.
            Err(e) => match file.last_good().await {
                Some((list, read)) => {
                    tracing::error!(error = %e, etag = %read.etag, "the check list could not be read; running the list last read, changing no alarm");
                    list_error = Some(e);
                    (list, Some(read))
                }
                None => return Err(e),
            },
        },
        _ => (Arc::new(config.checks.clone().unwrap_or_default()), None),
    };
    let selection = selection::select(event, &configured)?;
    if let Some((name, first, second)) = checks::duplicate(selection.checks()) {
        return Err(HealthError::DuplicateName { name, first, second });
    }
    let parsed = checks::parse_list(selection.checks());
    let parsed = match config.metrics_mode {
        MetricsMode::PerGroup => publish::one_window_per_group(parsed),
        MetricsMode::PerCheck => parsed,
    };
    let checks_deadline = deadline
        .checked_sub(PUBLISH_RESERVE)
        .filter(|d| *d > Instant::now())
        .unwrap_or(deadline);

    let wanted: Vec<(String, String)> = parsed
        .iter()
        .filter_map(|c| match c {
            Ok(Check {
                probe: Probe::Ecs { cluster, service, .. },
                ..
            }) => Some((cluster.clone(), service.clone())),
            _ => None,
        })
        .collect();
    let services = if wanted.is_empty() {
        HashMap::new()
    } else {
        tokio::time::timeout_at(checks_deadline, ecs::describe_all(deps.ecs.as_ref(), &wanted))
            .await
            .unwrap_or_default()
    };

    let outcomes: Vec<(usize, Outcome)> = stream::iter(
        parsed
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().ok().map(|c| (i, c))),
    )
    .map(|(i, check)| {
        let services = &services;
        async move {
            let started = Instant::now();
            if started >= checks_deadline {
                return (
                    i,
                    Outcome::skipped(Duration::ZERO, "not started: the run's time budget was spent"),
                );
            }
            let own = started + check.timeout;
            let outcome =
                match tokio::time::timeout_at(own.min(checks_deadline), probe(deps, config, check, services))
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(_) if own <= checks_deadline => Outcome::unhealthy(
                        started.elapsed(),
                        format!("timed out after {} ms", started.elapsed().as_millis()),
                    ),
                    // Cut short by the run, not by its own timeout: that says nothing about the target.
                    Err(_) => Outcome::skipped(
                        started.elapsed(),
                        format!(
                            "cut short after {} ms: the run's time budget was spent",
                            started.elapsed().as_millis()
                        ),
                    ),
                };
            (i, outcome)
        }
    })
    .buffer_unordered(config.concurrency)
    .collect()
    .await;
    let mut by_index: HashMap<usize, Outcome> = outcomes.into_iter().collect();

    let reports: Vec<CheckReport> = parsed
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            Ok(check) => CheckReport {
                name: check.name.clone(),
                kind: check.probe.kind().to_string(),
                group: check.group.clone(),
                outcome: by_index
                    .remove(&i)
                    .unwrap_or_else(|| Outcome::skipped(Duration::ZERO, "not run")),
            },
            Err(Invalid { name, problem }) => CheckReport {
                name: name.clone(),
                kind: "invalid".to_string(),
                // A group that is itself the problem ("", too long) must not reach a dimension.
                group: selection.checks()[i]
                    .get("group")
                    .and_then(Value::as_str)
                    .filter(|g| checks::valid_name(g))
                    .map(str::to_string),
                outcome: Outcome::unhealthy(Duration::ZERO, format!("invalid check definition: {problem}")),
            },
        })
        .collect();
    // Per group, the log is where a check's own result lives: every one is written.
    let per_group = config.metrics_mode == MetricsMode::PerGroup;
    for r in reports.iter().filter(|r| per_group || !r.outcome.healthy) {
        if r.outcome.healthy {
            tracing::info!(check = %r.name, kind = %r.kind, group = r.group.as_deref().unwrap_or(publish::UNGROUPED), latency_ms = r.outcome.latency.as_millis() as u64, reason = %r.outcome.reason, "check healthy");
        } else if r.outcome.skipped {
            tracing::warn!(check = %r.name, kind = %r.kind, group = r.group.as_deref().unwrap_or(publish::UNGROUPED), reason = %r.outcome.reason, "check skipped");
        } else if r.outcome.unknown {
            tracing::warn!(check = %r.name, kind = %r.kind, group = r.group.as_deref().unwrap_or(publish::UNGROUPED), reason = %r.outcome.reason, "check not judged");
        } else {
            tracing::warn!(check = %r.name, kind = %r.kind, group = r.group.as_deref().unwrap_or(publish::UNGROUPED), latency_ms = r.outcome.latency.as_millis() as u64, reason = %r.outcome.reason, "check failed");
        }
    }

    let skipped: Vec<String> = reports
        .iter()
        .filter(|r| r.outcome.skipped)
        .map(|r| r.name.clone())
        .collect();
    // Per group, only the configured list speaks for a group: an ad-hoc test of one failing check,
    // or a component run of part of a group, must not page (or clear) the whole group's alarm.
    let mut metrics = match (config.metrics_mode, &selection) {
        (MetricsMode::PerGroup, s) if !s.reconciles_alarms() => Vec::new(),
        (mode, _) => publish::metrics(mode, &parsed, &reports),
    };
    // The run's own: how many checks it could not run, and that it ran at all (the heartbeat the
    // template's RunsCompleted alarm watches, so a checker that stopped pages once).
    let now = SystemTime::now();
    let own = |name: &str, value: f64| {
        let m = Metric::new(name, value, Unit::Count).at(now);
        match &config.function_name {
            Some(f) => m.dimension("FunctionName", f),
            None => m,
        }
    };
    metrics.push(own("ChecksSkipped", skipped.len() as f64));
    // Only the schedule's runs beat: an ad-hoc run must not hide a schedule that stopped.
    if matches!(selection, Selection::Configured(_) | Selection::Nothing) && event.get("checks").is_none() {
        metrics.push(own("RunsCompleted", 1.0));
    }
    let put = deps.metrics.put(&metrics).await?;

    let note = match &selection {
        Selection::Nothing if event.get("checks").is_some() => {
            Some("the event's check list is empty: nothing was checked".to_string())
        }
        Selection::Nothing => {
            tracing::warn!(
                "no health check is configured: set HEALTH_CHECKS (the stack's HealthChecks parameter) or HEALTH_CHECKS_URL"
            );
            Some(
                "no health check is configured (HEALTH_CHECKS or HEALTH_CHECKS_URL): nothing was checked and no alarm was changed"
                    .to_string(),
            )
        }
        s if !s.reconciles_alarms() && config.manage_alarms => {
            Some("only the configured list changes alarms; this run changed none".to_string())
        }
        _ => None,
    };
    let alarm_changes = if config.manage_alarms && selection.reconciles_alarms() && list_error.is_none() {
        let until = deadline.checked_sub(FINAL_MARGIN).unwrap_or(deadline);
        Some(reconcile(deps.alarms.as_ref(), config, &parsed, &reports, until).await?)
    } else {
        None
    };
    let healthy = reports.iter().filter(|r| r.outcome.healthy).count();
    let unknown = reports.iter().filter(|r| r.outcome.unknown).count();
    tracing::info!(
        checks = reports.len(),
        healthy,
        unhealthy = reports.len() - healthy - unknown,
        unknown,
        metric_requests = put.requests,
        "run done"
    );
    if let Some(e) = list_error {
        return Err(e);
    }
    // The checker could not do part of its job: fail the run so its own errors alarm tells the
    // platform team, after everything that could be published was.
    let unjudged = reports
        .iter()
        .filter(|r| r.outcome.unknown && r.kind == "ecs")
        .count();
    if unjudged > 0 {
        let failures: Vec<&EcsUnread> = services.values().filter_map(|r| r.as_ref().err()).collect();
        // Name what a person must fix (a denial) before what fixes itself (a throttle).
        let first = failures.iter().find(|u| !u.retryable).or(failures.first());
        return Err(HealthError::Ecs {
            checks: unjudged,
            reason: first.map_or_else(
                || "reading ECS did not finish within the run's time budget".into(),
                |u| u.reason.clone(),
            ),
            retryable: failures.iter().all(|u| u.retryable),
        });
    }
    Ok(Report {
        healthy,
        unhealthy: reports.len() - healthy - unknown,
        unknown,
        skipped,
        checks: reports,
        metric_requests: put.requests,
        alarms: alarm_changes,
        note,
        checks_file,
    })
}

async fn probe(
    deps: &Deps,
    config: &Config,
    check: &Check,
    services: &HashMap<(String, String), ServiceRead>,
) -> Outcome {
    match &check.probe {
        Probe::Http(h) => http::probe(&deps.http, h).await,
        Probe::Tcp { host, port } => tcp::probe(host, *port).await,
        Probe::Dns(d) => dns::probe(d, check.timeout).await,
        Probe::Tls {
            host,
            port,
            min_days_left,
        } => deps.tls.probe(host, *port, *min_days_left).await,
        Probe::Ecs {
            cluster,
            service,
            min_running,
        } => match services.get(&(cluster.clone(), service.clone())) {
            Some(Ok(Some(state))) => {
                ecs::judge(state, *min_running, config.rollout_stuck_after, SystemTime::now())
            }
            Some(Ok(None)) => Outcome::unhealthy(
                Duration::ZERO,
                format!("service {service} not found in cluster {cluster}"),
            ),
            // Not being able to read ECS says nothing about the service: never call it unhealthy.
            Some(Err(unread)) => Outcome::unknown(unread.reason.clone()),
            None => Outcome::unknown("reading ECS did not finish within the run's time budget"),
        },
    }
}

async fn reconcile(
    store: &dyn AlarmStore,
    config: &Config,
    parsed: &[Result<Check, Invalid>],
    reports: &[CheckReport],
    until: Instant,
) -> Result<AlarmChanges, HealthError> {
    let (wanted, keep) = publish::wanted_alarms(config, parsed, reports);
    // An entry without a usable name could be the check of any alarm: delete none this run.
    let may_delete = !parsed
        .iter()
        .any(|c| matches!(c, Err(Invalid { name, .. }) if name.starts_with("checks[")));
    let existing = match tokio::time::timeout_at(until, store.list(&config.alarm_prefix)).await {
        Ok(Ok(existing)) => existing,
        Ok(Err(e)) if !e.retryable() => return Err(e),
        // Throttled past the SDK's retries, or out of time: a later run keeps the alarms in step.
        outcome => {
            let reason = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "the run's time ran out".to_string(),
            };
            tracing::warn!(%reason, "could not read the managed alarms; they are reconciled next run");
            return Ok(AlarmChanges {
                deferred: wanted.len(),
                ..AlarmChanges::default()
            });
        }
    };
    let plan = alarms::plan(&wanted, &existing, &keep, may_delete);
    if !plan.conflicts.is_empty() {
        tracing::warn!(alarms = ?plan.conflicts, "a check's alarm name is taken by an alarm this function does not own; rename the check (or the other alarm)");
    }
    if plan.waiting > 0 {
        tracing::warn!(
            deleting = plan.delete.len(),
            waiting = plan.waiting,
            "more checks left the list than one run deletes alarms for; the rest go in the next runs"
        );
    }
    let applied = alarms::apply(store, &plan, until).await?;
    if applied.deferred > 0 {
        tracing::warn!(
            deferred = applied.deferred,
            "CloudWatch did not take every alarm write in time (throttled or out of time); the rest are written next run"
        );
    }
    Ok(AlarmChanges {
        waiting: plan.waiting,
        ..applied
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use ops_shared::metrics::PutSummary;
    use ops_shared::SharedError;
    use serde_json::json;

    use super::*;
    use crate::alarms::AlarmSpec;

    /// Records what was put; the test keeps a handle to read it after the run.
    #[derive(Default, Clone)]
    struct Sink(Arc<Mutex<Vec<Metric>>>);

    #[async_trait]
    impl MetricSink for Sink {
        async fn put(&self, metrics: &[Metric]) -> Result<PutSummary, SharedError> {
            self.0.lock().unwrap().extend_from_slice(metrics);
            Ok(PutSummary {
                sent: metrics.len(),
                dropped: 0,
                requests: 1,
            })
        }
    }

    /// Alarms as CloudWatch would hold them, shared with the test; `set_ok` is recorded.
    #[derive(Default, Clone)]
    struct Alarms(Arc<Mutex<Vec<Existing>>>, Arc<Mutex<Vec<String>>>);

    #[async_trait]
    impl AlarmStore for Alarms {
        async fn list(&self, prefix: &str) -> Result<Vec<Existing>, HealthError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|a| a.spec.name.starts_with(prefix))
                .cloned()
                .collect())
        }
        async fn put(&self, spec: &AlarmSpec) -> Result<(), HealthError> {
            let mut all = self.0.lock().unwrap();
            all.retain(|a| a.spec.name != spec.name);
            all.push(Existing {
                spec: spec.clone(),
                ok: true,
            });
            Ok(())
        }
        async fn set_ok(&self, name: &str, _: &str) -> Result<(), HealthError> {
            let mut all = self.0.lock().unwrap();
            let alarm = all
                .iter_mut()
                .find(|a| a.spec.name == name)
                .unwrap_or_else(|| panic!("{name} was set to OK after it was deleted"));
            alarm.ok = true;
            self.1.lock().unwrap().push(name.to_string());
            Ok(())
        }
        async fn delete(&self, names: &[String]) -> Result<(), HealthError> {
            self.0.lock().unwrap().retain(|a| !names.contains(&a.spec.name));
            Ok(())
        }
    }

    /// An ECS that answers, but has none of the services asked for.
    struct EmptyEcs;

    #[async_trait]
    impl EcsServices for EmptyEcs {
        async fn describe(
            &self,
            _: &str,
            _: &[String],
        ) -> Result<Vec<crate::probe::ecs::ServiceState>, EcsUnread> {
            Ok(Vec::new())
        }
    }

    /// An ECS that cannot be read (throttled, denied, down).
    struct UnreadableEcs;

    #[async_trait]
    impl EcsServices for UnreadableEcs {
        async fn describe(
            &self,
            cluster: &str,
            _: &[String],
        ) -> Result<Vec<crate::probe::ecs::ServiceState>, EcsUnread> {
            Err(EcsUnread {
                reason: format!(
                    "ecs:DescribeServices in cluster {cluster} failed: AWS throttled the request"
                ),
                retryable: true,
            })
        }
    }

    fn deps() -> Deps {
        deps_with(Box::new(EmptyEcs), Sink::default())
    }

    fn deps_with(ecs: Box<dyn EcsServices>, sink: Sink) -> Deps {
        deps_full(ecs, sink, Alarms::default())
    }

    fn deps_full(ecs: Box<dyn EcsServices>, sink: Sink, alarms: Alarms) -> Deps {
        let roots = rustls::RootCertStore {
            roots: webpki_roots_stub(),
        };
        Deps {
            checks_file: None,
            http: HttpClients::new(roots.clone()),
            tls: TlsProbe::new(roots).unwrap(),
            ecs,
            metrics: Box::new(sink),
            alarms: Box::new(alarms),
        }
    }

    #[tokio::test]
    async fn an_unreadable_ecs_fails_the_run_but_calls_no_service_unhealthy() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = open.local_addr().unwrap().port();
        let sink = Sink::default();
        let d = deps_with(Box::new(UnreadableEcs), sink.clone());
        let event = json!({"checks": [
            {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": port},
            {"name": "svc", "kind": "ecs", "cluster": "prod", "service": "api"},
        ]});
        let deadline = Instant::now() + Duration::from_secs(10);

        let err = run(&d, &config(), &event, deadline).await.unwrap_err();
        assert!(
            matches!(
                err,
                HealthError::Ecs {
                    checks: 1,
                    retryable: true,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("1 ECS check was not judged"), "{err}");
        assert!(err.to_string().contains("AWS throttled"), "{err}");
        let put: Vec<(String, String, f64)> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| !m.dimensions.is_empty())
            .map(|m| (m.name.clone(), m.dimensions[0].1.clone(), m.value))
            .collect();
        assert!(
            put.contains(&("CheckHealthy".into(), "db".into(), 1.0)),
            "{put:?}"
        );
        assert!(
            !put.iter().any(|(_, check, _)| check == "svc"),
            "an unread service publishes nothing: {put:?}"
        );
        drop(open);
    }

    /// One self-made root: the TLS verifier needs at least one; these tests make no TLS checks.
    fn webpki_roots_stub() -> Vec<rustls::pki_types::TrustAnchor<'static>> {
        vec![rustls::pki_types::TrustAnchor {
            subject: rustls::pki_types::Der::from_slice(b"0"),
            subject_public_key_info: rustls::pki_types::Der::from_slice(b"0"),
            name_constraints: None,
        }]
    }

    fn config() -> Config {
        Config::from_vars(&ops_shared::Vars::from_pairs([(
            "ALARM_TOPIC_ARN",
            "arn:aws:sns:us-east-1:1:alarms",
        )]))
        .unwrap()
    }

    fn configured(checks: Value) -> Config {
        Config::from_vars(&ops_shared::Vars::from_pairs([
            ("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:1:alarms".to_string()),
            ("HEALTH_CHECKS", checks.to_string()),
        ]))
        .unwrap()
    }

    fn scheduled() -> Value {
        json!({"detail-type": "Scheduled Event", "source": "aws.events"})
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn tcp(name: &str, port: u16) -> Value {
        let group = if name.starts_with("db") { "db" } else { "web" };
        json!({"name": name, "kind": "tcp", "host": "127.0.0.1", "port": port, "group": group})
    }

    #[tokio::test]
    async fn only_the_configured_list_changes_alarms() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = open.local_addr().unwrap().port();
        let alarms = Alarms::default();
        let d = deps_full(Box::new(EmptyEcs), Sink::default(), alarms.clone());
        let cfg = configured(json!({"checks": [tcp("db1", port), tcp("db2", port), tcp("web", port)]}));
        let first = run(&d, &cfg, &scheduled(), soon()).await.unwrap();
        assert_eq!(first.alarms.unwrap().created.len(), 3);

        // A component run and an ad-hoc run: their checks run, no alarm is created or deleted.
        let component = run(&d, &cfg, &json!({"only": {"groups": ["db"]}}), soon())
            .await
            .unwrap();
        assert_eq!(component.checks.len(), 2);
        assert!(component.alarms.is_none() && component.note.is_some());
        let adhoc = run(&d, &cfg, &json!({"checks": [tcp("other", port)]}), soon())
            .await
            .unwrap();
        assert!(adhoc.alarms.is_none());
        assert_eq!(alarms.0.lock().unwrap().len(), 3, "every alarm is still there");
        drop(open);
    }

    #[tokio::test]
    async fn a_removed_check_in_alarm_is_retired_then_deleted_by_the_next_run() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = open.local_addr().unwrap().port();
        let alarms = Alarms::default();
        let d = deps_full(Box::new(EmptyEcs), Sink::default(), alarms.clone());
        let all = json!({"checks": [tcp("a", port), tcp("b", port)]});
        run(&d, &configured(all), &scheduled(), soon()).await.unwrap();
        for a in alarms.0.lock().unwrap().iter_mut() {
            a.ok = !a.spec.name.ends_with("-b");
        }
        let fewer = configured(json!({"checks": [tcp("a", port)]}));
        let changes = run(&d, &fewer, &scheduled(), soon())
            .await
            .unwrap()
            .alarms
            .unwrap();
        assert!(
            changes.deleted.is_empty(),
            "not deleted in the run that resolves it"
        );
        assert_eq!(changes.retired, vec!["ops-lambdas-health-b"]);
        assert_eq!(
            *alarms.1.lock().unwrap(),
            vec!["ops-lambdas-health-b".to_string()]
        );
        let b = alarms
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.spec.name.ends_with("-b"))
            .cloned()
            .unwrap();
        assert!(b.spec.alarm_actions.is_empty(), "it can page no more");
        assert!(!b.spec.ok_actions.is_empty(), "its OK still tells the forwarder");
        let next = run(&d, &fewer, &scheduled(), soon())
            .await
            .unwrap()
            .alarms
            .unwrap();
        assert_eq!(next.deleted, vec!["ops-lambdas-health-b"]);
        drop(open);
    }

    #[tokio::test]
    async fn nothing_configured_succeeds_says_so_and_keeps_every_alarm() {
        let alarms = Alarms::default();
        let sink = Sink::default();
        let d = deps_full(Box::new(EmptyEcs), sink.clone(), alarms.clone());
        let old = AlarmSpec::for_check(
            "ops-lambdas-health-",
            "old",
            3,
            3,
            300,
            crate::config::FUNCTION,
            "t",
        );
        alarms.put(&old).await.unwrap();
        let report = run(&d, &config(), &scheduled(), soon()).await.unwrap();
        assert!(report.checks.is_empty() && report.alarms.is_none());
        assert!(report.note.unwrap().contains("HEALTH_CHECKS"));
        assert_eq!(alarms.0.lock().unwrap().len(), 1);
        let names: Vec<String> = sink.0.lock().unwrap().iter().map(|m| m.name.clone()).collect();
        assert_eq!(
            names,
            vec!["ChecksSkipped", "RunsCompleted"],
            "the heartbeat still beats"
        );
    }

    #[tokio::test]
    async fn a_check_the_budget_did_not_let_run_publishes_no_check_healthy() {
        // One slot and a budget shorter than the first check's timeout: the first is cut short by
        // the run, the second never starts.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let sink = Sink::default();
        let d = deps_with(Box::new(EmptyEcs), sink.clone());
        let mut cfg = config();
        cfg.concurrency = 1;
        let hang = |n: &str| json!({"name": n, "kind": "http", "url": format!("http://127.0.0.1:{port}/"), "timeout": "30s"});
        let event = json!({"checks": [hang("first"), hang("second")]});
        let deadline = Instant::now() + Duration::from_millis(3500);
        let report = run(&d, &cfg, &event, deadline).await.unwrap();
        assert_eq!(report.skipped, vec!["first", "second"], "{:?}", report.checks);
        assert_eq!((report.healthy, report.unhealthy), (0, 0));
        let put = sink.0.lock().unwrap().clone();
        assert!(!put.iter().any(|m| m.name == "CheckHealthy"), "{put:?}");
        let skipped = put.iter().find(|m| m.name == "ChecksSkipped").unwrap();
        assert_eq!(skipped.value, 2.0);
        drop(silent);
    }

    #[tokio::test]
    async fn a_shared_name_is_refused_naming_both_entries() {
        let d = deps();
        let event = json!({"checks": [tcp("x", 1), tcp("y", 1), tcp("x", 2)]});
        let err = run(&d, &config(), &event, soon()).await.unwrap_err();
        assert!(
            matches!(
                err,
                HealthError::DuplicateName {
                    first: 0,
                    second: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("checks[0] and checks[2]"), "{err}");
    }

    #[tokio::test]
    async fn a_run_reports_every_check_and_keeps_the_alarm_of_a_broken_definition() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_port = open.local_addr().unwrap().port();
        let closed_port = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_port = silent.local_addr().unwrap().port();
        let d = deps();
        let event = json!({"checks": [
            {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": open_port},
            {"name": "down", "kind": "tcp", "host": "127.0.0.1", "port": closed_port},
            {"name": "hangs", "kind": "http", "url": format!("http://127.0.0.1:{silent_port}/"), "timeout": "300ms"},
            {"name": "typo", "kind": "tcp", "host": "h", "port": 1, "retries": 3},
            {"name": "svc", "kind": "ecs", "cluster": "prod", "service": "api"},
        ]});
        let deadline = Instant::now() + Duration::from_secs(10);
        let cfg = configured(event.clone());
        let report = run(&d, &cfg, &scheduled(), deadline).await.unwrap();
        let by_name: HashMap<&str, &CheckReport> =
            report.checks.iter().map(|c| (c.name.as_str(), c)).collect();
        assert!(by_name["db"].outcome.healthy);
        assert!(by_name["down"].outcome.reason.contains("could not connect"));
        assert!(
            by_name["hangs"].outcome.reason.starts_with("timed out"),
            "{}",
            by_name["hangs"].outcome.reason
        );
        assert!(by_name["typo"].outcome.reason.contains("field retries"));
        assert_eq!(
            by_name["svc"].outcome.reason,
            "service api not found in cluster prod"
        );
        assert_eq!((report.healthy, report.unhealthy), (1, 4));

        let alarms = report.alarms.unwrap();
        assert_eq!(alarms.created.len(), 4, "one alarm per valid check: {alarms:?}");
        // Next run: "down" removed from the list, "typo" still broken: only "down" loses its alarm.
        let again = json!({"checks": [
            {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": open_port},
            {"name": "hangs", "kind": "http", "url": format!("http://127.0.0.1:{silent_port}/"), "timeout": "300ms"},
            {"name": "typo", "kind": "tcp", "host": "h", "port": 1, "retries": 3},
            {"name": "svc", "kind": "ecs", "cluster": "prod", "service": "api"},
        ]});
        let second = run(&d, &configured(again), &scheduled(), deadline)
            .await
            .unwrap()
            .alarms
            .unwrap();
        assert_eq!(second.deleted, vec!["ops-lambdas-health-down"]);
        assert!(second.created.is_empty() && second.updated.is_empty());
        drop(open);
    }
}
