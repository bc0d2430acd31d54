//! `ops status`: the whole picture, and the verdict drawn from it. The JSON field names are a
//! contract (scripts and CI read them); the text view is rendered from the same document.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One check the health-checker manages, as its alarm and latest metric tell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    pub name: String,
    pub kind: Option<String>,
    pub group: Option<String>,
    /// The alarm's state: `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub latency_ms: Option<f64>,
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmRow {
    pub name: String,
    pub state: String,
    pub since: Option<DateTime<Utc>>,
    pub runbook: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecretRow {
    pub name: String,
    pub rotation_enabled: bool,
    pub last_rotated: Option<DateTime<Utc>>,
    pub next_rotation: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// A rotation has left a version labelled AWSPENDING (and not AWSCURRENT): started, not
    /// finished; since the secret last changed.
    pub rotation_pending_since: Option<DateTime<Utc>>,
    /// Pending for longer than a rotation takes ([`STUCK_AFTER`]): it failed, and the old
    /// credentials are still the current ones.
    pub rotation_failed: bool,
}

/// A rotation's four steps take seconds; pending an hour, it has failed.
pub const STUCK_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Whether a rotation pending since `since` has failed by `now` (unknown start: failed).
pub fn rotation_failed(since: Option<DateTime<Utc>>, pending: bool, now: DateTime<Utc>) -> bool {
    pending && since.is_none_or(|s| now - s > STUCK_AFTER)
}

/// One environment's figures, as the cost-reporter's metrics (or a live report) give them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EnvironmentCost {
    pub name: String,
    pub month_to_date: Option<f64>,
    pub forecast_month_end: Option<f64>,
    pub annual_projection: Option<f64>,
    pub budget: Option<f64>,
    /// The month-end forecast in percent of the budget.
    pub budget_use_pct: Option<f64>,
}

/// The cost section. What it could not say, and why, is in `note`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    pub month_to_date: Option<f64>,
    pub forecast_month_end: Option<f64>,
    pub annual_projection: Option<f64>,
    pub currency: Option<String>,
    pub budget: Option<f64>,
    pub budget_use_pct: Option<f64>,
    pub environments: Vec<EnvironmentCost>,
    /// When the figures were published (metrics) or read (live).
    pub as_of: Option<DateTime<Utc>>,
    /// `metrics` (the cost-reporter's last run, no Cost Explorer charge) or `live` (Cost Explorer now).
    pub source: Option<String>,
    /// Cost Explorer requests a live read made ($0.01 each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The forecast in percent of the budget.
pub fn budget_use(forecast: Option<f64>, budget: Option<f64>) -> Option<f64> {
    forecast
        .zip(budget.filter(|b| *b > 0.0))
        .map(|(f, b)| 100.0 * f / b)
}

/// One cleanup rule's latest count and estimated saving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CleanupRule {
    pub rule: String,
    pub candidates: u64,
    pub monthly_saving: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cleanup {
    pub candidates: Option<u64>,
    pub monthly_saving: Option<f64>,
    pub by_rule: Vec<CleanupRule>,
    /// When the cleanup-scanner's run these figures come from published them.
    pub as_of: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub checks: Vec<CheckRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Healthy,
    Degraded,
    Down,
    /// Could not tell: a section could not be read.
    Unknown,
}

impl Overall {
    /// 0 healthy, 1 degraded, 2 down, 3 could not tell: for CI and scripts.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Healthy => 0,
            Self::Degraded => 1,
            Self::Down => 2,
            Self::Unknown => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub overall: Overall,
    /// Why the verdict is what it is, most important first.
    pub reasons: Vec<String>,
    /// Sections that could not be read (their lists are empty because unseen, not because empty).
    pub unreadable: Vec<String>,
    pub generated_at: DateTime<Utc>,
    pub health: Health,
    pub alarms: Vec<AlarmRow>,
    pub cost: Cost,
    pub cleanup: Cleanup,
    pub secrets: Vec<SecretRow>,
}

/// What was read, section by section; `Err` is why a section could not be read.
pub struct Readings {
    pub checks: Result<Vec<CheckRow>, String>,
    pub alarms: Result<Vec<AlarmRow>, String>,
    pub secrets: Result<Vec<SecretRow>, String>,
    pub cleanup: Result<Cleanup, String>,
    pub cost: Result<Cost, String>,
}

/// The verdict, most telling first. Down: at least half the managed checks (and at least one) in
/// ALARM, whatever else could not be read. Could not tell: the checks or the alarms could not be
/// read, no check is managed under the prefix, or no check has data (the checker may be stopped):
/// a status that cannot see must not say healthy. Degraded: a check or any other alarm in ALARM,
/// a check without data, a rotation overdue or failed, or the secrets unreadable. Healthy: every
/// check OK.
pub fn judge(readings: Readings, prefix: &str, now: DateTime<Utc>) -> Status {
    let mut blind = Vec::new();
    let mut unreadable = Vec::new();
    let mut section = |name: &'static str, e: String| {
        blind.push(format!("{name} could not be read: {e}"));
        unreadable.push(name.to_string());
    };
    let checks = readings.checks.unwrap_or_else(|e| {
        section("health checks", e);
        Vec::new()
    });
    let mut alarms = readings.alarms.unwrap_or_else(|e| {
        section("alarms", e);
        Vec::new()
    });
    let mut secrets = readings.secrets.unwrap_or_else(|e| {
        section("secrets", e);
        Vec::new()
    });
    alarms.sort_by_key(|a| std::cmp::Reverse(a.since));
    secrets.sort_by_key(|s| (!s.rotation_failed, !s.overdue, s.next_rotation));

    let mut reasons = Vec::new();
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| c.state == "ALARM")
        .map(|c| c.name.as_str())
        .collect();
    let no_data = checks.iter().filter(|c| c.state == "INSUFFICIENT_DATA").count();
    let ok = checks.iter().filter(|c| c.state == "OK").count();
    let down = !failing.is_empty() && failing.len() * 2 >= checks.len();
    let blind_checks =
        !unreadable.iter().any(|u| u == "health checks") && (checks.is_empty() || no_data == checks.len());
    if checks.is_empty() && !unreadable.iter().any(|u| u == "health checks") {
        reasons.push(format!(
            "no health-check alarm under the prefix {prefix} in this region: check AWS_REGION, the profile, or --prefix"
        ));
    } else if !checks.is_empty() {
        let mut line = format!("{ok}/{} checks OK", checks.len());
        if !failing.is_empty() {
            // A handful by name: the table has them all.
            let shown: Vec<&str> = failing.iter().take(5).copied().collect();
            let more = failing.len() - shown.len();
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            line.push_str(&format!("; failing: {}{tail}", shown.join(", ")));
        }
        if no_data > 0 {
            line.push_str(&format!(
                "; {no_data} without recent data (is the health-checker running?)"
            ));
        }
        reasons.push(line);
    }
    let is_check = |a: &AlarmRow| checks.iter().any(|c| a.name == format!("{prefix}{}", c.name));
    let other_alarms = alarms.iter().filter(|a| !is_check(a)).count();
    if other_alarms > 0 {
        reasons.push(format!("{other_alarms} other alarm(s) in ALARM"));
    }
    let failed = secrets.iter().filter(|s| s.rotation_failed).count();
    if failed > 0 {
        reasons.push(format!(
            "{failed} secret rotation(s) failed (AWSPENDING for over an hour): read the secret-rotator's log"
        ));
    }
    let overdue = secrets.iter().filter(|s| s.overdue).count();
    if overdue > 0 {
        reasons.push(format!("{overdue} secret rotation(s) overdue"));
    }
    let cannot_see = unreadable.iter().any(|u| u == "health checks" || u == "alarms") || blind_checks;
    let overall = if down {
        Overall::Down
    } else if cannot_see {
        Overall::Unknown
    } else if !failing.is_empty()
        || no_data > 0
        || !alarms.is_empty()
        || overdue > 0
        || failed > 0
        || !unreadable.is_empty()
    {
        Overall::Degraded
    } else {
        Overall::Healthy
    };
    // What could not be seen comes first: it qualifies everything after it.
    blind.extend(reasons);
    Status {
        overall,
        reasons: blind,
        unreadable,
        generated_at: now,
        health: Health { checks },
        alarms,
        cost: readings.cost.unwrap_or_else(|e| Cost {
            note: Some(format!("could not be read: {e}")),
            ..Cost::default()
        }),
        cleanup: readings.cleanup.unwrap_or_else(|e| Cleanup {
            note: Some(format!("could not be read: {e}")),
            ..Cleanup::default()
        }),
        secrets,
    }
}

/// `Kind: http. Group: payments.` at the end of a managed alarm's description.
pub fn kind_and_group(description: &str) -> (Option<String>, Option<String>) {
    let field = |key: &str| {
        let at = description.rfind(key)? + key.len();
        // A group may hold dots: the value ends at ". " or at the description's final ".".
        let rest = description[at..].trim_start();
        let value = rest.split(". ").next().unwrap_or_default();
        let value = value.trim().trim_end_matches('.').to_string();
        (!value.is_empty() && value != "none").then_some(value)
    };
    (field("Kind:"), field("Group:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, state: &str) -> CheckRow {
        CheckRow {
            name: name.into(),
            kind: Some("http".into()),
            group: None,
            state: state.into(),
            latency_ms: Some(12.0),
            since: None,
        }
    }

    fn alarm(name: &str) -> AlarmRow {
        AlarmRow {
            name: name.into(),
            state: "ALARM".into(),
            since: None,
            runbook: None,
        }
    }

    const P: &str = "ops-lambdas-health-";

    fn readings(checks: Vec<CheckRow>, alarms: Vec<AlarmRow>) -> Readings {
        Readings {
            checks: Ok(checks),
            alarms: Ok(alarms),
            secrets: Ok(Vec::new()),
            cleanup: Ok(Cleanup::default()),
            cost: Ok(Cost::default()),
        }
    }

    #[test]
    fn the_verdict_follows_the_checks_and_the_alarms() {
        let now = Utc::now();
        let all_ok = judge(readings(vec![check("a", "OK"), check("b", "OK")], vec![]), P, now);
        assert_eq!(
            (all_ok.overall, all_ok.reasons[0].as_str()),
            (Overall::Healthy, "2/2 checks OK")
        );
        let one = judge(
            readings(
                vec![check("a", "ALARM"), check("b", "OK"), check("c", "OK")],
                vec![alarm("ops-lambdas-health-a")],
            ),
            P,
            now,
        );
        assert_eq!(one.overall, Overall::Degraded);
        assert_eq!(one.reasons, vec!["2/3 checks OK; failing: a"]);
        let half = judge(
            readings(vec![check("a", "ALARM"), check("b", "OK")], vec![]),
            P,
            now,
        );
        assert_eq!((half.overall, half.overall.exit_code()), (Overall::Down, 2));
        // An alarm whose name only ends like a check's is someone else's.
        let other = judge(
            readings(vec![check("api", "OK")], vec![alarm("payments-api")]),
            P,
            now,
        );
        assert_eq!(other.overall, Overall::Degraded);
        assert_eq!(other.reasons[1], "1 other alarm(s) in ALARM");
    }

    #[test]
    fn a_rotation_pending_for_an_hour_has_failed_and_degrades() {
        let now = Utc::now();
        let minutes = |m| Some(now - chrono::TimeDelta::minutes(m));
        assert!(!rotation_failed(minutes(5), true, now), "in progress");
        assert!(rotation_failed(minutes(61), true, now));
        assert!(rotation_failed(None, true, now), "pending since who knows when");
        assert!(!rotation_failed(minutes(600), false, now), "nothing pending");
        let secret = |name: &str, failed: bool| SecretRow {
            name: name.into(),
            rotation_enabled: true,
            last_rotated: None,
            next_rotation: Some(now + chrono::TimeDelta::days(3)),
            overdue: false,
            rotation_pending_since: minutes(90),
            rotation_failed: failed,
        };
        let s = judge(
            Readings {
                checks: Ok(vec![CheckRow {
                    name: "api".into(),
                    kind: None,
                    group: None,
                    state: "OK".into(),
                    latency_ms: None,
                    since: None,
                }]),
                alarms: Ok(vec![]),
                secrets: Ok(vec![secret("fine", false), secret("db", true)]),
                cleanup: Ok(Cleanup::default()),
                cost: Ok(Cost::default()),
            },
            "p-",
            now,
        );
        assert_eq!(s.overall, Overall::Degraded);
        assert!(
            s.reasons
                .iter()
                .any(|r| r.starts_with("1 secret rotation(s) failed")),
            "{:?}",
            s.reasons
        );
        assert_eq!(s.secrets[0].name, "db", "failed first");
    }

    #[test]
    fn what_cannot_be_seen_is_never_healthy() {
        let now = Utc::now();
        let blind = judge(
            Readings {
                checks: Err("AccessDenied".into()),
                alarms: Ok(vec![]),
                secrets: Ok(vec![]),
                cleanup: Ok(Cleanup::default()),
                cost: Ok(Cost::default()),
            },
            P,
            now,
        );
        assert_eq!((blind.overall, blind.overall.exit_code()), (Overall::Unknown, 3));
        assert!(blind.reasons[0].starts_with("health checks could not be read"));
        let none = judge(readings(vec![], vec![]), P, now);
        assert_eq!(none.overall, Overall::Unknown);
        assert!(none.reasons[0].contains("no health-check alarm under the prefix"));
        let stopped = judge(readings(vec![check("a", "INSUFFICIENT_DATA")], vec![]), P, now);
        assert_eq!(stopped.overall, Overall::Unknown);
        let some = judge(
            readings(
                vec![
                    check("a", "INSUFFICIENT_DATA"),
                    check("b", "OK"),
                    check("c", "OK"),
                ],
                vec![],
            ),
            P,
            now,
        );
        assert_eq!(some.overall, Overall::Degraded);
        // Down is down even when the alarm listing failed.
        let down = judge(
            Readings {
                checks: Ok(vec![check("a", "ALARM")]),
                alarms: Err("Throttling".into()),
                secrets: Ok(vec![]),
                cleanup: Ok(Cleanup::default()),
                cost: Ok(Cost::default()),
            },
            P,
            now,
        );
        assert_eq!(down.overall, Overall::Down);
        assert_eq!(down.unreadable, vec!["alarms"]);
        let secrets = judge(
            Readings {
                checks: Ok(vec![check("a", "OK")]),
                alarms: Ok(vec![]),
                secrets: Err("AccessDenied".into()),
                cleanup: Ok(Cleanup::default()),
                cost: Ok(Cost::default()),
            },
            P,
            now,
        );
        assert_eq!(secrets.overall, Overall::Degraded);
    }

    #[test]
    fn kind_and_group_come_from_the_description() {
        let d = "Health check api failed 3 of the last 3 runs. Managed by ops-lambdas health-checker: change the check, not this alarm. Kind: http. Group: payments.";
        assert_eq!(kind_and_group(d), (Some("http".into()), Some("payments".into())));
        let dotted = "... Kind: tcp. Group: pay.v2.";
        assert_eq!(kind_and_group(dotted).1.as_deref(), Some("pay.v2"));
        let none = "... Kind: tcp. Group: none.";
        assert_eq!(kind_and_group(none), (Some("tcp".into()), None));
        assert_eq!(kind_and_group("an alarm of someone else"), (None, None));
    }
}
