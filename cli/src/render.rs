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
