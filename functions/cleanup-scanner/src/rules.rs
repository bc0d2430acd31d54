//! The rules: which resources are unused, by what measure, and what would be done. Pure.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Action, Candidate, Facts, Kind, Resource};

/// List prices (us-east-1) behind the savings estimates, stated in the report.
pub const LOG_STORAGE_PER_GB_MONTH: f64 = 0.03;
pub const SECRET_PER_MONTH: f64 = 0.40;
pub const ALARM_PER_MONTH: f64 = 0.10;

pub const RULES: &[&str] = &[
    "ecs-service-idle",
    "ecs-task-definition-stale",
    "ecs-task-definition-inactive",
    "ecs-cluster-empty",
    "alarm-stale",
    "alarm-orphaned-action",
    "log-group-no-retention",
    "log-group-stale",
    "secret-unused",
    "sns-topic-unused",
];

/// Each rule's switch and thresholds, with their documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSettings {
    pub enabled: BTreeMap<String, bool>,
    pub ecs_idle_days: i64,
    pub task_definition_keep: usize,
    pub cluster_min_age_days: i64,
    pub alarm_stale_days: i64,
    pub retention_days: i32,
    pub log_stale_days: i64,
    pub secret_unused_days: i64,
    pub secret_recovery_window_days: i64,
    /// Log groups whose lower-cased name holds one of these never get a retention set (audit and
    /// trail logs must not expire because a scanner thought they should).
    pub retention_skip: Vec<String>,
}

/// `CLEANUP_RETENTION_SKIP`'s default.
pub const DEFAULT_RETENTION_SKIP: &[&str] = &["cloudtrail", "audit", "flowlog"];

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            enabled: RULES.iter().map(|r| (r.to_string(), true)).collect(),
            ecs_idle_days: 14,
            task_definition_keep: 5,
            cluster_min_age_days: 14,
            alarm_stale_days: 30,
            retention_days: 30,
            log_stale_days: 90,
            secret_unused_days: 90,
            secret_recovery_window_days: 30,
            retention_skip: DEFAULT_RETENTION_SKIP.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl RuleSettings {
    /// Applies an event's `rules` object: `{RULE: {"enabled": bool, THRESHOLD: number}}`.
    pub fn apply(&mut self, rules: &Map<String, Value>) -> Result<(), String> {
        for (rule, settings) in rules {
            if !RULES.contains(&rule.as_str()) {
                return Err(format!("rule '{rule}' is not one of {}", RULES.join(", ")));
            }
            let Some(settings) = settings.as_object() else {
                return Err(format!("rules.{rule} is not an object"));
            };
            for (key, value) in settings {
                let number = || {
                    value
                        .as_i64()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| format!("rules.{rule}.{key} is not a whole number ≥ 0"))
                };
                match (rule.as_str(), key.as_str()) {
                    (_, "enabled") => {
                        let on = value
                            .as_bool()
                            .ok_or_else(|| format!("rules.{rule}.enabled is not true or false"))?;
                        self.enabled.insert(rule.clone(), on);
                    }
                    ("ecs-service-idle", "idle_days") => self.ecs_idle_days = number()?,
                    ("ecs-task-definition-stale", "keep") => self.task_definition_keep = number()? as usize,
                    ("ecs-cluster-empty", "min_age_days") => self.cluster_min_age_days = number()?,
                    ("alarm-stale", "days") => self.alarm_stale_days = number()?,
                    ("log-group-no-retention", "retention_days") => {
                        self.retention_days = i32::try_from(number()?)
                            .map_err(|_| format!("rules.{rule}.retention_days is too large"))?
                    }
                    ("log-group-stale", "days") => self.log_stale_days = number()?,
                    ("secret-unused", "days") => self.secret_unused_days = number()?,
                    ("secret-unused", "recovery_window_days") => {
                        let n = number()?;
                        if !(7..=30).contains(&n) {
                            return Err(
                                "rules.secret-unused.recovery_window_days must be from 7 to 30".into()
                            );
                        }
                        self.secret_recovery_window_days = n;
                    }
                    _ => return Err(format!("rules.{rule}.{key} is not a setting of {rule}")),
                }
            }
        }
        Ok(())
    }

    fn on(&self, rule: &str) -> bool {
        self.enabled.get(rule).copied().unwrap_or(true)
    }
}

fn days_since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<i64> {
    t.map(|t| (now - t).num_days())
}

/// Every rule over every resource. `topics` are the SNS topic ARNs that exist.
pub fn evaluate(
    resources: &[Resource],
    topics: &HashSet<String>,
    settings: &RuleSettings,
    now: DateTime<Utc>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for r in resources {
        let age = days_since(r.created, now);
        let candidate = |rule: &'static str,
                         action: Action,
                         reason: String,
                         age_days: Option<i64>,
                         saving: Option<f64>| Candidate {
            rule,
            resource: r.clone(),
            action,
            reason,
            age_days,
            monthly_saving: saving,
            min_mark_days: 0,
        };
        match &r.facts {
            Facts::EcsService {
                desired,
                running,
                last_change,
                ..
            } if settings.on("ecs-service-idle") => {
                let idle = days_since(*last_change, now).or(age);
                if *desired == 0 && *running == 0 && idle.is_some_and(|d| d >= settings.ecs_idle_days) {
                    out.push(candidate(
                        "ecs-service-idle",
                        Action::Delete,
                        format!("no task desired or running for {} days", idle.unwrap_or(0)),
                        idle,
                        None,
                    ));
                }
            }
            Facts::EcsTaskDefinition {
                active,
                in_use,
                newer_revisions,
                revision,
                ..
            } => {
                // Deleting an INACTIVE revision is for good, so it is a rule of its own: a mark set
                // before the revision was deregistered (by this scanner or anyone) never counts
                // for the delete, which waits for a grace period of its own. A service can still
                // run an INACTIVE revision.
                if !*active && !*in_use && settings.on("ecs-task-definition-inactive") {
                    out.push(candidate(
                        "ecs-task-definition-inactive",
                        Action::Delete,
                        format!("revision {revision} is INACTIVE (deregistered) and nothing runs it"),
                        age,
                        None,
                    ));
                } else if *active
                    && !*in_use
                    && *newer_revisions >= settings.task_definition_keep
                    && settings.on("ecs-task-definition-stale")
                {
                    out.push(candidate(
                        "ecs-task-definition-stale",
                        Action::Deregister,
                        format!("revision {revision} has {newer_revisions} newer revisions and no service or EventBridge rule uses it"),
                        age,
                        None,
                    ));
                }
            }
            Facts::EcsCluster {
                services,
                running_tasks,
                pending_tasks,
                instances,
                scheduled_by,
            } if settings.on("ecs-cluster-empty")
                && *services == 0
                && *running_tasks == 0
                && *pending_tasks == 0
                && *instances == 0
                && scheduled_by.is_empty() =>
            {
                // ECS does not say when a cluster was made: the mark must age instead.
                let mut c = candidate(
                    "ecs-cluster-empty",
                    Action::Delete,
                    "no services, tasks or container instances".into(),
                    None,
                    None,
                );
                c.min_mark_days = settings.cluster_min_age_days;
                out.push(c);
            }
            Facts::Alarm {
                state,
                state_updated,
                in_composite,
                actions,
            } => {
                let stuck = days_since(*state_updated, now);
                if settings.on("alarm-stale")
                    && state == "INSUFFICIENT_DATA"
                    && stuck.is_some_and(|d| d >= settings.alarm_stale_days)
                    && !crate::composite::quiet_by_design(&r.name, actions)
                {
                    match in_composite {
                        Some(false) => out.push(candidate(
                            "alarm-stale",
                            Action::Delete,
                            format!("INSUFFICIENT_DATA for {} days", stuck.unwrap_or(0)),
                            stuck,
                            Some(ALARM_PER_MONTH),
                        )),
                        Some(true) => {}
                        None => out.push(candidate(
                            "alarm-stale",
                            Action::ReportOnly,
                            format!("INSUFFICIENT_DATA for {} days; not deleted: composite alarms could not be read to rule out a parent", stuck.unwrap_or(0)),
                            stuck,
                            Some(ALARM_PER_MONTH),
                        )),
                    }
                }
                if settings.on("alarm-orphaned-action") {
                    let missing: Vec<&String> = actions
                        .iter()
                        .filter(|a| a.starts_with("arn:aws") && a.contains(":sns:") && !topics.contains(*a))
                        .collect();
                    if !missing.is_empty() {
                        out.push(candidate(
                            "alarm-orphaned-action",
                            Action::ReportOnly,
                            format!(
                                "notifies topics that do not exist: {}",
                                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                            None,
                            None,
                        ));
                    }
                }
            }
            Facts::LogGroup {
                retention_days,
                stored_bytes,
                last_event,
            } => {
                let gb = *stored_bytes as f64 / 1e9;
                let quiet = days_since(*last_event, now).or(age);
                let lower = r.name.to_ascii_lowercase();
                let skipped = settings
                    .retention_skip
                    .iter()
                    .find(|w| lower.contains(w.as_str()));
                if let (Some(word), true, true) = (
                    skipped,
                    settings.on("log-group-stale"),
                    quiet.is_some_and(|d| d >= settings.log_stale_days)
                        && age.is_some_and(|a| a >= settings.log_stale_days),
                ) {
                    // An audit or trail group gone quiet is still evidence: reported, never deleted.
                    out.push(candidate(
                        "log-group-stale",
                        Action::ReportOnly,
                        format!(
                            "no event written for {} days; its name holds \"{word}\" (CLEANUP_RETENTION_SKIP), so it is never deleted here",
                            quiet.unwrap_or(0)
                        ),
                        quiet,
                        None,
                    ));
                } else if settings.on("log-group-stale")
                    && quiet.is_some_and(|d| d >= settings.log_stale_days)
                    && age.is_some_and(|a| a >= settings.log_stale_days)
                {
                    out.push(candidate(
                        "log-group-stale",
                        Action::Delete,
                        format!("no event written for {} days", quiet.unwrap_or(0)),
                        quiet,
                        Some(gb * LOG_STORAGE_PER_GB_MONTH),
                    ));
                } else if settings.on("log-group-no-retention") && retention_days.is_none() {
                    if let Some(word) = skipped {
                        out.push(candidate(
                            "log-group-no-retention",
                            Action::ReportOnly,
                            format!(
                                "keeps logs forever; its name holds \"{word}\" (CLEANUP_RETENTION_SKIP), so no retention is ever set here: set one yourself if these logs may expire"
                            ),
                            age,
                            None,
                        ));
                    } else {
                        out.push(candidate(
                            "log-group-no-retention",
                            Action::SetRetention {
                                days: settings.retention_days,
                            },
                            format!(
                                "keeps logs forever; retention would be set to {} days",
                                settings.retention_days
                            ),
                            age,
                            None,
                        ));
                    }
                }
            }
            Facts::Secret {
                last_accessed,
                rotation_enabled,
            } if settings.on("secret-unused") => {
                let unused = match last_accessed {
                    None => true,
                    Some(t) => (now - *t).num_days() >= settings.secret_unused_days,
                };
                if !rotation_enabled && unused && age.is_some_and(|a| a >= settings.secret_unused_days) {
                    let reason = match last_accessed {
                        None => "never accessed".to_string(),
                        Some(t) => format!("last accessed {} days ago", (now - *t).num_days()),
                    };
                    out.push(candidate(
                        "secret-unused",
                        Action::DeleteSecret {
                            recovery_window_days: settings.secret_recovery_window_days,
                        },
                        reason,
                        age,
                        Some(SECRET_PER_MONTH),
                    ));
                }
            }
            Facts::SnsTopic { subscriptions } if settings.on("sns-topic-unused") && *subscriptions == 0 => {
                out.push(candidate(
                    "sns-topic-unused",
                    Action::Delete,
                    "no confirmed or pending subscription from this account (another account's are checked before it is marked or deleted)".into(),
                    age,
                    None,
                ));
            }
            _ => {}
        }
    }
    out
}

pub fn kind_of_rule(rule: &str) -> Option<Kind> {
    Some(match rule {
        "ecs-service-idle" => Kind::EcsService,
        "ecs-task-definition-stale" | "ecs-task-definition-inactive" => Kind::EcsTaskDefinition,
        "ecs-cluster-empty" => Kind::EcsCluster,
        "alarm-stale" | "alarm-orphaned-action" => Kind::Alarm,
        "log-group-no-retention" | "log-group-stale" => Kind::LogGroup,
        "secret-unused" => Kind::Secret,
        "sns-topic-unused" => Kind::SnsTopic,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::Duration;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ago(days: i64) -> Option<DateTime<Utc>> {
        Some(now() - Duration::days(days))
    }

    fn r(kind: Kind, created: Option<DateTime<Utc>>, facts: Facts) -> Resource {
        Resource {
            kind,
            arn: format!("arn:{kind:?}"),
            name: format!("{kind:?}"),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            created,
            tags: HashMap::new(),
            facts,
        }
    }

    fn rules_of(resources: &[Resource]) -> Vec<(&'static str, Action)> {
        let topics: HashSet<String> = ["arn:aws:sns:us-east-1:1:alarms".to_string()].into();
        evaluate(resources, &topics, &RuleSettings::default(), now())
            .into_iter()
            .map(|c| (c.rule, c.action))
            .collect()
    }

    #[test]
    fn ecs_services_idle_long_enough_are_candidates() {
        let idle = |days, desired| {
            r(
                Kind::EcsService,
                ago(100),
                Facts::EcsService {
                    cluster: "c".into(),
                    desired,
                    running: 0,
                    last_change: ago(days),
                },
            )
        };
        assert_eq!(
            rules_of(&[idle(20, 0)]),
            vec![("ecs-service-idle", Action::Delete)]
        );
        assert!(rules_of(&[idle(5, 0)]).is_empty(), "idle for 5 days only");
        assert!(rules_of(&[idle(20, 2)]).is_empty(), "still wanted");
    }

    #[test]
    fn task_definitions_inactive_or_old_and_unused_are_candidates() {
        let td = |active, in_use, newer| {
            r(
                Kind::EcsTaskDefinition,
                None,
                Facts::EcsTaskDefinition {
                    family: "web".into(),
                    revision: 1,
                    active,
                    in_use,
                    newer_revisions: newer,
                },
            )
        };
        assert_eq!(
            rules_of(&[td(false, false, 0)]),
            vec![("ecs-task-definition-inactive", Action::Delete)]
        );
        assert!(
            rules_of(&[td(false, true, 0)]).is_empty(),
            "a service still runs this INACTIVE revision"
        );
        assert_eq!(
            rules_of(&[td(true, false, 5)]),
            vec![("ecs-task-definition-stale", Action::Deregister)]
        );
        assert!(
            rules_of(&[td(true, false, 4), td(true, true, 9)]).is_empty(),
            "kept: within the newest 5, or in use"
        );
    }

    #[test]
    fn empty_clusters_wait_for_their_mark_to_age() {
        let cluster = |services: i64, scheduled_by: Vec<String>| {
            r(
                Kind::EcsCluster,
                None,
                Facts::EcsCluster {
                    services,
                    running_tasks: 0,
                    pending_tasks: 0,
                    instances: 0,
                    scheduled_by,
                },
            )
        };
        let c = evaluate(
            &[cluster(0, Vec::new())],
            &HashSet::new(),
            &RuleSettings::default(),
            now(),
        );
        assert_eq!(c[0].min_mark_days, 14);
        assert!(rules_of(&[cluster(1, Vec::new())]).is_empty());
        assert!(
            rules_of(&[cluster(0, vec!["nightly-report".into()])]).is_empty(),
            "an EventBridge rule runs tasks in it"
        );
    }

    #[test]
    fn stale_alarms_are_deleted_only_when_no_composite_can_own_them() {
        let alarm = |in_composite, actions: Vec<&str>| {
            r(
                Kind::Alarm,
                None,
                Facts::Alarm {
                    state: "INSUFFICIENT_DATA".into(),
                    state_updated: ago(40),
                    in_composite,
                    actions: actions.into_iter().map(String::from).collect(),
                },
            )
        };
        assert_eq!(
            rules_of(&[alarm(Some(false), vec![])]),
            vec![("alarm-stale", Action::Delete)]
        );
        assert!(rules_of(&[alarm(Some(true), vec![])]).is_empty());
        assert_eq!(
            rules_of(&[alarm(None, vec![])]),
            vec![("alarm-stale", Action::ReportOnly)]
        );
        let orphan = alarm(
            Some(true),
            vec!["arn:aws:sns:us-east-1:1:alarms", "arn:aws:sns:us-east-1:1:gone"],
        );
        assert_eq!(
            rules_of(&[orphan]),
            vec![("alarm-orphaned-action", Action::ReportOnly)]
        );
        // Quiet by design: a target-tracking alarm of an idle table, a step-scaling alarm.
        let mut tracking = alarm(Some(false), vec![]);
        tracking.name = "TargetTracking-table/orders-AlarmLow-1a2b".into();
        assert!(rules_of(&[tracking]).is_empty());
        let scaling = alarm(
            Some(false),
            vec!["arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:autoScalingGroupName/web:policyName/up"],
        );
        assert!(rules_of(&[scaling]).is_empty());
    }

    #[test]
    fn audit_and_trail_groups_never_get_a_retention_only_a_line_in_the_report() {
        let now = Utc::now();
        let group = |name: &str| Resource {
            kind: Kind::LogGroup,
            arn: format!("arn:aws:logs:us-east-1:123456789012:log-group:{name}"),
            name: name.into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            created: Some(now - chrono::Duration::days(10)),
            tags: Default::default(),
            facts: Facts::LogGroup {
                retention_days: None,
                stored_bytes: 0,
                last_event: Some(now),
            },
        };
        let rs = [
            group("/aws/CloudTrail/org"),
            group("app-Audit-log"),
            group("/aws/lambda/api"),
        ];
        let found = evaluate(&rs, &HashSet::new(), &RuleSettings::default(), now);
        let actions: Vec<(&str, &Action)> = found
            .iter()
            .map(|c| (c.resource.name.as_str(), &c.action))
            .collect();
        assert_eq!(actions[0], ("/aws/CloudTrail/org", &Action::ReportOnly));
        assert_eq!(actions[1], ("app-Audit-log", &Action::ReportOnly));
        assert_eq!(
            actions[2],
            ("/aws/lambda/api", &Action::SetRetention { days: 30 })
        );
        assert!(
            found[0].reason.contains("CLEANUP_RETENTION_SKIP"),
            "{}",
            found[0].reason
        );
        let none = RuleSettings {
            retention_skip: Vec::new(),
            ..RuleSettings::default()
        };
        let found = evaluate(&rs[..1], &HashSet::new(), &none, now);
        assert_eq!(found[0].action, Action::SetRetention { days: 30 });
        // Quiet for a year: still never deleted, only reported.
        let mut trail = group("/aws/cloudtrail/old");
        trail.created = Some(now - chrono::Duration::days(400));
        trail.facts = Facts::LogGroup {
            retention_days: Some(365),
            stored_bytes: 1,
            last_event: Some(now - chrono::Duration::days(300)),
        };
        let found = evaluate(&[trail], &HashSet::new(), &RuleSettings::default(), now);
        assert_eq!(
            (found[0].rule, &found[0].action),
            ("log-group-stale", &Action::ReportOnly)
        );
    }

    #[test]
    fn log_groups_get_retention_or_are_deleted_when_stale() {
        let lg = |created, retention, last| {
            r(
                Kind::LogGroup,
                ago(created),
                Facts::LogGroup {
                    retention_days: retention,
                    stored_bytes: 2_000_000_000,
                    last_event: last,
                },
            )
        };
        assert_eq!(
            rules_of(&[lg(10, None, ago(1))]),
            vec![("log-group-no-retention", Action::SetRetention { days: 30 })]
        );
        assert!(rules_of(&[lg(10, Some(14), ago(1))]).is_empty());
        let stale = evaluate(
            &[lg(200, Some(14), ago(120))],
            &HashSet::new(),
            &RuleSettings::default(),
            now(),
        );
        assert_eq!(stale[0].rule, "log-group-stale");
        assert!(
            (stale[0].monthly_saving.unwrap() - 0.06).abs() < 1e-9,
            "2 GB at $0.03"
        );
    }

    #[test]
    fn secrets_unused_and_not_rotated_are_candidates() {
        let s = |created, accessed, rotation| {
            r(
                Kind::Secret,
                ago(created),
                Facts::Secret {
                    last_accessed: accessed,
                    rotation_enabled: rotation,
                },
            )
        };
        assert_eq!(
            rules_of(&[s(200, None, false)]),
            vec![(
                "secret-unused",
                Action::DeleteSecret {
                    recovery_window_days: 30
                }
            )]
        );
        assert_eq!(rules_of(&[s(200, ago(100), false)]).len(), 1);
        assert!(rules_of(&[s(200, ago(10), false), s(200, None, true), s(30, None, false)]).is_empty());
    }

    #[test]
    fn topics_without_subscriptions_are_candidates_and_rules_can_be_switched_off() {
        let t = |subs| r(Kind::SnsTopic, None, Facts::SnsTopic { subscriptions: subs });
        assert_eq!(
            rules_of(&[t(0), t(2)]),
            vec![("sns-topic-unused", Action::Delete)]
        );
        let mut off = RuleSettings::default();
        off.apply(
            serde_json::json!({"sns-topic-unused": {"enabled": false}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert!(evaluate(&[t(0)], &HashSet::new(), &off, now()).is_empty());
    }
}
