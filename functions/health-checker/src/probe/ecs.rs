//! `ecs`: a service is healthy when it runs what it should and no deployment failed or hangs.
//!
//! Services are read in batches (DescribeServices takes ten at a time per cluster) before the
//! checks are judged, so a hundred ECS checks cost ten requests, not a hundred.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::outcome::Outcome;

/// What the checks need to know about a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceState {
    pub name: String,
    pub status: String,
    pub desired: i64,
    pub running: i64,
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    pub created_at: Option<SystemTime>,
}

/// The port through which ECS services are read.
#[async_trait]
pub trait EcsServices: Send + Sync {
    /// At most ten services of one cluster; services the cluster does not have are left out.
    async fn describe(&self, cluster: &str, services: &[String]) -> Result<Vec<ServiceState>, EcsUnread>;
}

pub const BATCH: usize = 10;

/// Why ECS could not be read (throttled, denied, down): it says nothing about the services.
#[derive(Debug, Clone, PartialEq)]
pub struct EcsUnread {
    pub reason: String,
    /// Whether a later run can succeed by itself (throttling, 5xx), or a person must act.
    pub retryable: bool,
}

/// What reading one service gave: its state, `None` when the cluster has no such service, or why
/// ECS could not be read.
pub type ServiceRead = Result<Option<ServiceState>, EcsUnread>;

/// Reads every (cluster, service) pair in batches; a failed batch is the reason of its checks.
pub async fn describe_all(
    ecs: &dyn EcsServices,
    wanted: &[(String, String)],
) -> HashMap<(String, String), ServiceRead> {
    let mut by_cluster: HashMap<&str, Vec<String>> = HashMap::new();
    for (cluster, service) in wanted {
        let names = by_cluster.entry(cluster.as_str()).or_default();
        if !names.contains(service) {
            names.push(service.clone());
        }
    }
    let mut found = HashMap::new();
    for (cluster, services) in by_cluster {
        for batch in services.chunks(BATCH) {
            match ecs.describe(cluster, batch).await {
                Ok(states) => {
                    for name in batch {
                        let state = states.iter().find(|s| &s.name == name).cloned();
                        found.insert((cluster.to_string(), name.clone()), Ok(state));
                    }
                }
                Err(e) => {
                    for name in batch {
                        found.insert((cluster.to_string(), name.clone()), Err(e.clone()));
                    }
                }
            }
        }
    }
    found
}

/// Judges one service. `stuck_after` is how long a rollout may stay in progress.
pub fn judge(
    state: &ServiceState,
    min_running: Option<i64>,
    stuck_after: Duration,
    now: SystemTime,
) -> Outcome {
    let zero = Duration::ZERO;
    if state.status != "ACTIVE" {
        return Outcome::unhealthy(zero, format!("service {} is {}", state.name, state.status));
    }
    if let Some(failed) = state
        .deployments
        .iter()
        .find(|d| d.rollout_state.as_deref() == Some("FAILED"))
    {
        let why = failed.rollout_reason.as_deref().unwrap_or("no reason given");
        return Outcome::unhealthy(zero, format!("deployment {} failed: {why}", failed.id));
    }
    let stuck = state.deployments.iter().find(|d| {
        d.status == "PRIMARY"
            && d.rollout_state.as_deref() == Some("IN_PROGRESS")
            && d.created_at
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > stuck_after)
    });
    if let Some(d) = stuck {
        let age = d
            .created_at
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        return Outcome::unhealthy(
            zero,
            format!(
                "deployment {} has been in progress for {} min",
                d.id,
                age.as_secs() / 60
            ),
        );
    }
    // More tasks than desired is normal while a rolling deployment replaces them.
    if state.running < state.desired {
        return Outcome::unhealthy(
            zero,
            format!("{} of {} desired tasks running", state.running, state.desired),
        );
    }
    if let Some(min) = min_running {
        if state.running < min {
            return Outcome::unhealthy(
                zero,
                format!("{} tasks running, under min_running {min}", state.running),
            );
        }
    }
    Outcome::healthy(
        zero,
        format!("{} of {} desired tasks running", state.running, state.desired),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(desired: i64, running: i64) -> ServiceState {
        ServiceState {
            name: "api".into(),
            status: "ACTIVE".into(),
            desired,
            running,
            deployments: Vec::new(),
        }
    }

    fn deployment(status: &str, rollout: &str, age_min: u64, now: SystemTime) -> Deployment {
        Deployment {
            id: "ecs-svc/1".into(),
            status: status.into(),
            rollout_state: Some(rollout.into()),
            rollout_reason: Some("tasks failed to start".into()),
            created_at: Some(now - Duration::from_secs(age_min * 60)),
        }
    }

    const STUCK: Duration = Duration::from_secs(30 * 60);

    #[test]
    fn running_what_is_desired_is_healthy() {
        let now = SystemTime::now();
        assert!(judge(&service(3, 3), None, STUCK, now).healthy);
        assert!(
            judge(&service(3, 4), None, STUCK, now).healthy,
            "extra tasks during a rollout"
        );
        let degraded = judge(&service(3, 1), None, STUCK, now);
        assert!(!degraded.healthy);
        assert_eq!(degraded.reason, "1 of 3 desired tasks running");
    }

    #[test]
    fn min_running_catches_a_service_scaled_to_zero() {
        let now = SystemTime::now();
        assert!(judge(&service(0, 0), None, STUCK, now).healthy);
        assert!(!judge(&service(0, 0), Some(1), STUCK, now).healthy);
    }

    #[test]
    fn failed_and_stuck_rollouts_are_unhealthy() {
        let now = SystemTime::now();
        let mut s = service(2, 2);
        s.deployments = vec![deployment("PRIMARY", "FAILED", 5, now)];
        assert!(judge(&s, None, STUCK, now)
            .reason
            .contains("failed: tasks failed to start"));
        s.deployments = vec![deployment("PRIMARY", "IN_PROGRESS", 45, now)];
        assert!(judge(&s, None, STUCK, now)
            .reason
            .contains("in progress for 45 min"));
        s.deployments = vec![deployment("PRIMARY", "IN_PROGRESS", 5, now)];
        assert!(judge(&s, None, STUCK, now).healthy, "a young rollout is fine");
        s.status = "DRAINING".into();
        assert!(!judge(&s, None, STUCK, now).healthy);
    }

    struct Fake {
        calls: std::sync::Mutex<Vec<(String, usize)>>,
    }

    #[async_trait]
    impl EcsServices for Fake {
        async fn describe(&self, cluster: &str, services: &[String]) -> Result<Vec<ServiceState>, EcsUnread> {
            self.calls
                .lock()
                .unwrap()
                .push((cluster.to_string(), services.len()));
            Ok(services
                .iter()
                .filter(|s| *s != "gone")
                .map(|s| ServiceState {
                    name: s.clone(),
                    ..service(1, 1)
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn services_are_read_ten_at_a_time_per_cluster() {
        let fake = Fake {
            calls: Default::default(),
        };
        let mut wanted: Vec<(String, String)> = (0..25)
            .map(|i| ("prod".to_string(), format!("svc-{i}")))
            .collect();
        wanted.push(("prod".into(), "svc-0".into()));
        wanted.push(("dev".into(), "gone".into()));
        let found = describe_all(&fake, &wanted).await;
        let mut calls = fake.calls.lock().unwrap().clone();
        calls.sort();
        assert_eq!(
            calls,
            vec![
                ("dev".to_string(), 1),
                ("prod".to_string(), 5),
                ("prod".to_string(), 10),
                ("prod".to_string(), 10)
            ]
        );
        assert_eq!(found[&("dev".to_string(), "gone".to_string())], Ok(None));
        assert!(matches!(
            found[&("prod".to_string(), "svc-24".to_string())],
            Ok(Some(_))
        ));
    }
}
