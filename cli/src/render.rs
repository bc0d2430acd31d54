//! The text view of `ops status` and `ops health`: plain tables, no colour (nothing to switch off
//! for `NO_COLOR` or a pipe).

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::Table;

use crate::status::Status;

fn when(t: &Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    t
}

pub fn status(s: &Status) -> String {
    let mut out = String::new();
    let verdict = serde_json::to_value(s.overall)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    out.push_str(&format!("overall: {verdict}\n"));
    for r in &s.reasons {
        out.push_str(&format!("  - {r}\n"));
    }
    let unseen = |section: &str| s.unreadable.iter().any(|u| u == section);
    out.push_str(&format!("\nhealth checks ({})\n", s.health.checks.len()));
    if unseen("health checks") {
        out.push_str("  could not be read (see above)\n");
    } else if s.health.checks.is_empty() {
        out.push_str("  none managed under this prefix\n");
    } else {
        let mut t = table(&["check", "kind", "group", "state", "latency ms", "since"]);
        for c in &s.health.checks {
            t.add_row(vec![
                c.name.clone(),
                c.kind.clone().unwrap_or_else(|| "-".into()),
                c.group.clone().unwrap_or_else(|| "-".into()),
                c.state.clone(),
                c.latency_ms
                    .map(|l| format!("{l:.1}"))
                    .unwrap_or_else(|| "-".into()),
                when(&c.since),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out.push_str(&format!("\nalarms in ALARM ({})\n", s.alarms.len()));
    if unseen("alarms") {
        out.push_str("  could not be read (see above)\n");
    } else if !s.alarms.is_empty() {
        let mut t = table(&["alarm", "since", "runbook"]);
        for a in &s.alarms {
            t.add_row(vec![
                a.name.clone(),
                when(&a.since),
                a.runbook.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    cost(&mut out, &s.cost);
    out.push_str("\ncleanup\n");
    let c = &s.cleanup;
    if let Some(n) = c.candidates {
        let saving = c.monthly_saving.unwrap_or(0.0);
        out.push_str(&format!(
            "  {n} candidate(s), about ${saving:.2} a month (as of {})\n",
            when(&c.as_of)
        ));
        if !c.by_rule.is_empty() {
            let mut t = table(&["rule", "candidates", "$ a month"]);
            for r in &c.by_rule {
                t.add_row(vec![
                    r.rule.clone(),
                    r.candidates.to_string(),
                    format!("{:.2}", r.monthly_saving),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
    }
    if let Some(note) = &c.note {
        out.push_str(&format!("  {note}\n"));
    }
    out.push_str(&format!("\nsecrets with rotation ({})\n", s.secrets.len()));
    if unseen("secrets") {
        out.push_str("  could not be read (see above)\n");
    } else if !s.secrets.is_empty() {
        let mut t = table(&["secret", "rotation", "last rotated", "next rotation", "state"]);
        for r in &s.secrets {
            t.add_row(vec![
                r.name.clone(),
                if r.rotation_enabled { "on" } else { "off" }.to_string(),
                when(&r.last_rotated),
                when(&r.next_rotation),
                if r.rotation_failed {
                    format!("FAILED: AWSPENDING since {}", when(&r.rotation_pending_since))
                } else if r.rotation_pending_since.is_some() {
                    "rotating".to_string()
                } else if r.overdue {
                    "OVERDUE".to_string()
                } else {
                    String::new()
                },
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out
}

fn cost(out: &mut String, c: &crate::status::Cost) {
    let from = match c.source.as_deref() {
        Some("live") => "live from Cost Explorer",
        _ => "the cost-reporter's last report",
    };
    out.push_str(&format!("\ncost ({from}, as of {})\n", when(&c.as_of)));
    let currency = c.currency.as_deref().unwrap_or("USD");
    let money = |v: Option<f64>| {
        v.map(|v| cost_reporter::render::money(v, currency))
            .unwrap_or_else(|| "-".into())
    };
    if c.month_to_date.is_some() {
        let budget = match (c.budget, c.budget_use_pct) {
            (Some(b), Some(pct)) => format!(
                "; budget {}: forecast {pct:.0}%{}",
                money(Some(b)),
                if pct > 100.0 { " OVER" } else { "" }
            ),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  month to date {}, forecast month end {}, year ahead {}{budget}\n",
            money(c.month_to_date),
            money(c.forecast_month_end),
            money(c.annual_projection)
        ));
    }
    if !c.environments.is_empty() {
        let mut t = table(&["environment", "to date", "month end", "year ahead", "budget use"]);
        for e in &c.environments {
            t.add_row(vec![
                e.name.clone(),
                money(e.month_to_date),
                money(e.forecast_month_end),
                money(e.annual_projection),
                match (e.budget, e.budget_use_pct) {
                    (Some(b), Some(pct)) => format!(
                        "{pct:.0}% of {}{}",
                        money(Some(b)),
                        if pct > 100.0 { " OVER" } else { "" }
                    ),
                    _ => "-".into(),
                },
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if let Some(note) = &c.note {
        out.push_str(&format!("  {note}\n"));
    }
}

pub fn health(report: &health_checker::Report) -> String {
    let mut t = table(&[
        "check",
        "kind",
        "result",
        "ms",
        "dns",
        "connect",
        "tls",
        "first byte",
        "reason",
    ]);
    let ms = |d: Option<std::time::Duration>| {
        d.map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "-".into())
    };
    for c in &report.checks {
        let o = &c.outcome;
        let result = if o.healthy {
            "healthy"
        } else if o.skipped {
            "skipped"
        } else if o.unknown {
            "unknown"
        } else {
            "UNHEALTHY"
        };
        t.add_row(vec![
            c.name.clone(),
            c.kind.clone(),
            result.to_string(),
            ms(Some(o.latency)),
            ms(o.phases.dns_ms),
            ms(o.phases.connect_ms),
            ms(o.phases.tls_ms),
            ms(o.phases.first_byte_ms),
            o.reason.clone(),
        ]);
    }
    let mut out = format!(
        "{t}\n{} healthy, {} unhealthy, {} not judged\n",
        report.healthy, report.unhealthy, report.unknown
    );
    if let Some(note) = &report.note {
        out.push_str(&format!("{note}\n"));
    }
    if report.checks.is_empty() {
        out.push_str("no check matched: nothing was checked\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::status::{
        judge, AlarmRow, CheckRow, Cleanup, CleanupRule, Cost, EnvironmentCost, Readings, SecretRow,
    };

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
    }

    /// Every section seeded: three checks (one failing), another alarm in ALARM with a runbook,
    /// cost and cleanup figures, two rotating secrets (one overdue): degraded.
    pub fn seeded() -> Status {
        let check = |name: &str, kind: &str, group: Option<&str>, state: &str, ms: f64| CheckRow {
            name: name.into(),
            kind: Some(kind.into()),
            group: group.map(str::to_string),
            state: state.into(),
            latency_ms: Some(ms),
            since: Some(at(8, 5)),
        };
        let secret = |name: &str, next: DateTime<Utc>, overdue: bool| SecretRow {
            name: name.into(),
            rotation_enabled: true,
            last_rotated: Some(at(6, 0) - chrono::TimeDelta::days(30)),
            next_rotation: Some(next),
            overdue,
            rotation_pending_since: None,
            rotation_failed: false,
        };
        judge(
            Readings {
                checks: Ok(vec![
                    check("api", "http", Some("payments"), "ALARM", 812.4),
                    check("db", "tcp", Some("payments"), "OK", 1.2),
                    check("dns", "dns", None, "OK", 3.9),
                ]),
                alarms: Ok(vec![
                    AlarmRow {
                        name: "ops-lambdas-health-api".into(),
                        state: "ALARM".into(),
                        since: Some(at(8, 5)),
                        runbook: None,
                    },
                    AlarmRow {
                        name: "orders-queue-depth".into(),
                        state: "ALARM".into(),
                        since: Some(at(7, 40)),
                        runbook: Some("https://wiki.example.com/runbooks/orders-queue".into()),
                    },
                ]),
                secrets: Ok(vec![
                    secret("prod/db", at(6, 0) + chrono::TimeDelta::days(9), false),
                    secret("prod/api-key", at(6, 0) - chrono::TimeDelta::days(2), true),
                ]),
                cleanup: Ok(Cleanup {
                    candidates: Some(7),
                    monthly_saving: Some(2.8),
                    by_rule: vec![CleanupRule {
                        rule: "secret-unused".into(),
                        candidates: 7,
                        monthly_saving: 2.8,
                    }],
                    as_of: Some(at(6, 0)),
                    note: None,
                }),
                cost: Ok(Cost {
                    month_to_date: Some(1036.0),
                    forecast_month_end: Some(2236.0),
                    annual_projection: Some(26_986.0),
                    currency: Some("USD".into()),
                    budget: Some(2000.0),
                    budget_use_pct: Some(111.8),
                    environments: vec![EnvironmentCost {
                        name: "prod".into(),
                        month_to_date: Some(833.0),
                        forecast_month_end: Some(1797.86),
                        annual_projection: Some(21_698.2),
                        budget: Some(1500.0),
                        budget_use_pct: Some(119.9),
                    }],
                    as_of: Some(at(7, 0)),
                    source: Some("metrics".into()),
                    requests: None,
                    note: None,
                }),
            },
            "ops-lambdas-health-",
            at(9, 0),
        )
    }

    #[test]
    fn the_status_text_matches_the_golden_copy() {
        let s = seeded();
        assert_eq!(s.overall.exit_code(), 1, "one check of three failing: degraded");
        let expected = "\
overall: degraded
  - 2/3 checks OK; failing: api
  - 1 other alarm(s) in ALARM
  - 1 secret rotation(s) overdue

health checks (3)
┌─────────────────────────────────────────────────────────────────────┐
│ check   kind   group      state   latency ms   since                │
╞═════════════════════════════════════════════════════════════════════╡
│ api     http   payments   ALARM   812.4        2026-11-20 08:05 UTC │
│ db      tcp    payments   OK      1.2          2026-11-20 08:05 UTC │
│ dns     dns    -          OK      3.9          2026-11-20 08:05 UTC │
└─────────────────────────────────────────────────────────────────────┘

alarms in ALARM (2)
┌────────────────────────────────────────────────────────────────────────────────────────────────┐
│ alarm                    since                  runbook                                        │
╞════════════════════════════════════════════════════════════════════════════════════════════════╡
│ ops-lambdas-health-api   2026-11-20 08:05 UTC   -                                              │
│ orders-queue-depth       2026-11-20 07:40 UTC   https://wiki.example.com/runbooks/orders-queue │
└────────────────────────────────────────────────────────────────────────────────────────────────┘

cost (the cost-reporter's last report, as of 2026-11-20 07:00 UTC)
  month to date $1,036.00, forecast month end $2,236.00, year ahead $26,986.00; budget $2,000.00: forecast 112% OVER
┌─────────────────────────────────────────────────────────────────────────┐
│ environment   to date   month end   year ahead   budget use             │
╞═════════════════════════════════════════════════════════════════════════╡
│ prod          $833.00   $1,797.86   $21,698.20   120% of $1,500.00 OVER │
└─────────────────────────────────────────────────────────────────────────┘

cleanup
  7 candidate(s), about $2.80 a month (as of 2026-11-20 06:00 UTC)
┌────────────────────────────────────────┐
│ rule            candidates   $ a month │
╞════════════════════════════════════════╡
│ secret-unused   7            2.80      │
└────────────────────────────────────────┘

secrets with rotation (2)
┌─────────────────────────────────────────────────────────────────────────────────┐
│ secret         rotation   last rotated           next rotation          state   │
╞═════════════════════════════════════════════════════════════════════════════════╡
│ prod/api-key   on         2026-10-21 06:00 UTC   2026-11-18 06:00 UTC   OVERDUE │
│ prod/db        on         2026-10-21 06:00 UTC   2026-11-29 06:00 UTC           │
└─────────────────────────────────────────────────────────────────────────────────┘
";
        let got = status(&s);
        assert_eq!(got, expected, "\n--- got ---\n{got}");
    }

    /// A local run of two checks, one unhealthy, with their phases.
    fn health_report() -> health_checker::Report {
        use std::time::Duration;

        use health_checker::outcome::Outcome;
        use health_checker::probe::connect::Phases;
        use health_checker::run::CheckReport;

        let ms = |n: u64| Some(Duration::from_millis(n));
        let phases = Phases {
            dns_ms: ms(2),
            connect_ms: ms(4),
            tls_ms: ms(11),
            first_byte_ms: ms(30),
        };
        health_checker::Report {
            healthy: 1,
            unhealthy: 1,
            unknown: 0,
            skipped: vec![],
            checks: vec![
                CheckReport {
                    name: "api".into(),
                    kind: "http".into(),
                    group: Some("payments".into()),
                    outcome: Outcome::healthy(Duration::from_millis(47), "HTTP 200").with_phases(phases),
                },
                CheckReport {
                    name: "db".into(),
                    kind: "tcp".into(),
                    group: None,
                    outcome: Outcome::unhealthy(Duration::from_millis(2000), "connect timed out after 2 s"),
                },
            ],
            metric_requests: 0,
            alarms: None,
            note: None,
            checks_file: None,
        }
    }

    #[test]
    fn the_health_text_matches_the_golden_copy() {
        let expected = "\
┌─────────────────────────────────────────────────────────────────────────────────────────────────────┐
│ check   kind   result      ms       dns   connect   tls    first byte   reason                      │
╞═════════════════════════════════════════════════════════════════════════════════════════════════════╡
│ api     http   healthy     47.0     2.0   4.0       11.0   30.0         HTTP 200                    │
│ db      tcp    UNHEALTHY   2000.0   -     -         -      -            connect timed out after 2 s │
└─────────────────────────────────────────────────────────────────────────────────────────────────────┘
1 healthy, 1 unhealthy, 0 not judged
";
        let got = health(&health_report());
        assert_eq!(got, expected, "\n--- got ---\n{got}");
    }
}
