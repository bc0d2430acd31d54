//! The report as an email: a subject that carries the headline, and a fixed-width body that reads
//! well in a mail client. The JSON form is the `Analysis` itself.

use std::fmt::Write;

use chrono::{Datelike, Duration};

use crate::analysis::{Analysis, GroupLine};
use crate::forecast::ForecastMethod;
use crate::render_sections;
use crate::request::{Period, Range};
use crate::sparkline::sparkline;

pub(crate) const NAME_WIDTH: usize = 40;
pub(crate) const RULE: &str =
    "------------------------------------------------------------------------------------------------------";

/// `$1,234.56` for USD, `1,234.56 EUR` otherwise; negative amounts keep their sign in front.
pub fn money(amount: f64, currency: &str) -> String {
    let cents = (amount.abs() * 100.0).round() as u64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    match currency {
        "USD" | "" => format!("{sign}${grouped}.{:02}", cents % 100),
        other => format!("{sign}{grouped}.{:02} {other}", cents % 100),
    }
}

pub(crate) fn signed(amount: f64, currency: &str) -> String {
    if amount >= 0.005 {
        format!("+{}", money(amount, currency))
    } else {
        money(amount, currency)
    }
}

/// A change in percent; `new` where there was nothing before, `n/a` against a credit or zero.
pub(crate) fn percent(p: Option<f64>, previous: f64, current: f64) -> String {
    match p {
        Some(p) if p >= 0.0 => format!("+{p:.1}%"),
        Some(p) => format!("{p:.1}%"),
        None if previous.abs() < 0.005 && current >= 0.005 => "new".to_string(),
        None => "n/a".to_string(),
    }
}

fn line_percent(line: &GroupLine) -> String {
    percent(line.change_pct, line.previous, line.current)
}

fn range_text(r: Range) -> String {
    let last = r.end - Duration::days(1);
    if r.days() <= 1 {
        r.start.to_string()
    } else {
        format!("{} to {}", r.start, last)
    }
}

fn comparison_text(a: &Analysis) -> &'static str {
    match a.input.period {
        Period::Daily => "previous day",
        Period::Weekly => "previous 7 days",
        Period::Monthly => "previous month",
    }
}

/// What the period is compared with, saying how many days: like for like, or all of a shorter month.
fn compared_with(a: &Analysis) -> String {
    let c = a.windows.comparison;
    let month = c.start.format("%B %Y");
    match a.input.period {
        Period::Monthly if a.windows.month_complete() => format!("{month} ({} days)", c.days()),
        Period::Monthly if a.per_day.is_some() => format!("all {} days of {month}", c.days()),
        Period::Monthly => format!("the first {} days of {month}", c.days()),
        _ => format!("{} {}", comparison_text(a), range_text(c)),
    }
}

/// The headline change: per day where the two periods differ in length.
fn headline_pct(a: &Analysis) -> Option<f64> {
    match &a.per_day {
        Some(per_day) => per_day.change_pct,
        None => a.total.change_pct,
    }
}

/// `AWS cost 2026-11-21: $123.45 (+12% vs previous day)`
pub fn subject(a: &Analysis) -> String {
    let when = match a.input.period {
        Period::Daily => a.windows.current.start.to_string(),
        Period::Weekly => format!("week to {}", a.windows.current.end - Duration::days(1)),
        Period::Monthly if a.windows.current.end.day() == 1 => {
            a.windows.current.start.format("%B %Y").to_string()
        }
        Period::Monthly => format!("{} to date", a.windows.current.start.format("%B %Y")),
    };
    let per_day = if a.per_day.is_some() { " per day" } else { "" };
    let change = match headline_pct(a) {
        Some(p) => format!(
            " ({}{:.0}%{per_day} vs {})",
            if p >= 0.0 { "+" } else { "" },
            p,
            comparison_text(a)
        ),
        None => String::new(),
    };
    let warning = if a.budget.as_ref().is_some_and(|b| b.forecast_over) {
        " - forecast over budget"
    } else {
        ""
    };
    format!(
        "AWS cost {when}: {}{change}{warning}",
        money(a.total.current, &a.currency)
    )
}

pub(crate) fn cut(name: &str) -> String {
    if name.chars().count() <= NAME_WIDTH {
        name.to_string()
    } else {
        format!("{}...", name.chars().take(NAME_WIDTH - 3).collect::<String>())
    }
}

fn row(out: &mut String, line: &GroupLine, currency: &str) {
    let _ = writeln!(
        out,
        "{:<w$} {:>12} {:>12} {:>12} {:>8}  {}",
        cut(&line.name),
        money(line.current, currency),
        money(line.previous, currency),
        signed(line.change, currency),
        line_percent(line),
        sparkline(&line.daily),
        w = NAME_WIDTH
    );
}

pub fn text(a: &Analysis) -> String {
    let c = a.currency.as_str();
    let mut out = String::new();
    let period = match a.input.period {
        Period::Daily => "Daily",
        Period::Weekly => "Weekly",
        Period::Monthly => "Monthly",
    };
    let _ = writeln!(
        out,
        "{period} AWS cost report: {} ({}, grouped by {})",
        range_text(a.windows.current),
        a.input.metric,
        a.input.group_by.join(" and ")
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Total          {}  ({} {} vs {}: {})",
        money(a.total.current, c),
        signed(a.total.change, c),
        line_percent(&a.total),
        compared_with(a),
        money(a.total.previous, c)
    );
    if let Some(p) = &a.per_day {
        let _ = writeln!(
            out,
            "Per day        {} over {} days vs {} over {}: {}",
            money(p.current, c),
            p.current_days,
            money(p.previous, c),
            p.comparison_days,
            percent(p.change_pct, p.previous, p.current)
        );
    }
    if let (Some(w), Some(range)) = (&a.week_ago, a.windows.week_ago) {
        let _ = writeln!(
            out,
            "Week before    {} on {} (same weekday): {} {}",
            money(w.previous, c),
            range.start,
            signed(w.change, c),
            line_percent(w)
        );
    }
    let _ = writeln!(
        out,
        "Month to date  {}  ({})",
        money(a.month_to_date, c),
        range_text(a.windows.month)
    );
    let forecast = match (a.forecast.month_end, a.forecast.method) {
        (Some(f), ForecastMethod::CostExplorer) => {
            format!("{} at month end (Cost Explorer forecast)", money(f, c))
        }
        (Some(f), ForecastMethod::RunRate) => format!(
            "{} at month end (run-rate projection: Cost Explorer's forecast was unavailable)",
            money(f, c)
        ),
        (Some(f), ForecastMethod::MonthComplete) => format!("{} (the month is complete)", money(f, c)),
        _ => "not available yet (no cost recorded this month)".to_string(),
    };
    let _ = writeln!(out, "Forecast       {forecast}");
    render_sections::year(&mut out, a);
    if let Some(b) = &a.budget {
        let _ = write!(
            out,
            "Budget         {} a month: {:.0}% used",
            money(b.monthly, c),
            b.month_to_date_pct
        );
        if let Some(f) = b.forecast_pct {
            let _ = write!(out, ", forecast {f:.0}%");
        }
        let _ = writeln!(out);
        if b.forecast_over {
            let _ = writeln!(out, "WARNING        the month-end forecast passes the budget");
        }
    }
    let _ = writeln!(out);
    if a.groups.is_empty() {
        let _ = writeln!(out, "No cost was recorded in this period.");
    } else {
        let _ = writeln!(
            out,
            "{:<w$} {:>12} {:>12} {:>12} {:>8}  Last 14 days",
            "Top by cost",
            "Current",
            "Previous",
            "Change",
            "%",
            w = NAME_WIDTH
        );
        let _ = writeln!(out, "{RULE}");
        for line in &a.groups {
            row(&mut out, line, c);
        }
        let _ = writeln!(out, "{RULE}");
        row(&mut out, &a.total, c);
    }
    if !a.movers_up.is_empty() || !a.movers_down.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Biggest movers");
        for l in a.movers_up.iter().chain(&a.movers_down) {
            let _ = writeln!(
                out,
                "  {:<w$} {:>12} {:>8}",
                cut(&l.name),
                signed(l.change, c),
                line_percent(l),
                w = NAME_WIDTH
            );
        }
    }
    render_sections::environments(&mut out, a);
    render_sections::recommendations(&mut out, a);
    render_sections::unread(&mut out, a);
    if let Some(why) = &a.anomalies_unread {
        let _ = writeln!(out);
        let _ = writeln!(out, "Cost anomalies could not be read: {why}");
    }
    if !a.anomalies.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Cost anomalies");
        for an in &a.anomalies {
            let _ = writeln!(
                out,
                "  {} {:<w$} impact {}",
                an.start,
                cut(&an.dimension),
                money(an.impact, c),
                w = NAME_WIDTH - 11
            );
        }
    }
    if !a.estimated_days.is_empty() {
        let days: Vec<String> = a.estimated_days.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Estimated: {} may still change (Cost Explorer marks them as estimated).",
            days.join(", ")
        );
    }
    if !a.missing_days.is_empty() {
        let _ = writeln!(
            out,
            "No data for {} day(s) between {} and {}.",
            a.missing_days.len(),
            a.missing_days[0],
            a.missing_days[a.missing_days.len() - 1]
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "This report made {} Cost Explorer request(s), {} at {} each.",
        a.requests,
        money(a.request_cost, "USD"),
        money(crate::analysis::REQUEST_PRICE, "USD")
    );
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::analysis::analyse;
    use crate::analysis::tests::fetched;
    use crate::config::ReportInput;
    use crate::forecast::ForecastInput;
    use crate::request::windows;
    use crate::source::{DayCost, Series};

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    fn sample() -> Analysis {
        let day = |date, estimated, groups: &[(&str, f64)]| DayCost {
            date,
            estimated,
            groups: groups.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
        };
        let mut days: Vec<DayCost> = (1..20)
            .map(|n| {
                day(
                    d(n),
                    false,
                    &[
                        ("Amazon Elastic Compute Cloud - Compute", 80.0),
                        ("Amazon Simple Storage Service", 20.0),
                    ],
                )
            })
            .collect();
        days.push(day(
            d(20),
            false,
            &[
                ("Amazon Elastic Compute Cloud - Compute", 80.0),
                ("Amazon Simple Storage Service", 20.0),
                ("AWS Lambda", 10.25),
            ],
        ));
        days.push(day(
            d(21),
            true,
            &[
                ("Amazon Elastic Compute Cloud - Compute", 95.5),
                ("Amazon Simple Storage Service", 18.0),
                ("Amazon Relational Database Service", 9.95),
            ],
        ));
        let series = Series {
            currency: "USD".into(),
            days,
            requests: 1,
        };
        let input = ReportInput {
            period: Period::Daily,
            metric: "UnblendedCost".into(),
            group_by: vec!["SERVICE".into()],
            top: 2,
            exclude_record_types: vec!["Credit".into()],
            budget_monthly: Some(3000.0),
        };
        analyse(
            &input,
            &windows(Period::Daily, d(22)),
            &fetched(&series, ForecastInput::Failed, 2),
        )
    }

    #[test]
    fn money_reads_like_a_bill() {
        assert_eq!(money(1234567.891, "USD"), "$1,234,567.89");
        assert_eq!(money(-5.0, "USD"), "-$5.00");
        assert_eq!(money(0.004, "USD"), "$0.00");
        assert_eq!(money(12.5, "EUR"), "12.50 EUR");
        assert_eq!(signed(3.0, "USD"), "+$3.00");
    }

    #[test]
    fn the_subject_carries_the_headline() {
        assert_eq!(
            subject(&sample()),
            "AWS cost 2026-11-21: $123.45 (+12% vs previous day) - forecast over budget"
        );
    }

    #[test]
    fn the_text_report_matches_the_golden_copy() {
        let expected = "\
Daily AWS cost report: 2026-11-21 (UnblendedCost, grouped by SERVICE)

Total          $123.45  (+$13.20 +12.0% vs previous day 2026-11-20: $110.25)
Week before    $100.00 on 2026-11-14 (same weekday): +$23.45 +23.5%
Month to date  $2,133.70  (2026-11-01 to 2026-11-21)
Forecast       $3,048.14 at month end (run-rate projection: Cost Explorer's forecast was unavailable)
Year ahead     $36,577.71 for Nov 2026 to Oct 2027 (the month-end figure x 12: Cost Explorer's forecast was unavailable)
Budget         $3,000.00 a month: 71% used, forecast 102%
WARNING        the month-end forecast passes the budget

Top by cost                                   Current     Previous       Change        %  Last 14 days
------------------------------------------------------------------------------------------------------
Amazon Elastic Compute Cloud - Compute         $95.50       $80.00      +$15.50   +19.4%  ▆▆▆▆▆▆▆▆▆▆▆▆▆█
Amazon Simple Storage Service                  $18.00       $20.00       -$2.00   -10.0%  █████████████▇
Other (2 groups)                                $9.95       $10.25       -$0.30    -2.9%  ▁▁▁▁▁▁▁▁▁▁▁▁██
------------------------------------------------------------------------------------------------------
Total                                         $123.45      $110.25      +$13.20   +12.0%  ▆▆▆▆▆▆▆▆▆▆▆▆▇█

Biggest movers
  Amazon Elastic Compute Cloud - Compute        +$15.50   +19.4%
  Amazon Relational Database Service             +$9.95      new
  AWS Lambda                                    -$10.25  -100.0%
  Amazon Simple Storage Service                  -$2.00   -10.0%

Estimated: 2026-11-21 may still change (Cost Explorer marks them as estimated).

This report made 2 Cost Explorer request(s), $0.02 at $0.01 each.
";
        let got = text(&sample());
        assert_eq!(got, expected, "\n--- got ---\n{got}");
    }

    #[test]
    fn an_empty_month_still_renders() {
        let series = Series {
            currency: "USD".into(),
            days: vec![],
            requests: 1,
        };
        let input = ReportInput {
            period: Period::Monthly,
            ..sample().input
        };
        let a = analyse(
            &input,
            &windows(Period::Monthly, d(1)),
            &fetched(&series, ForecastInput::Failed, 2),
        );
        let t = text(&a);
        assert!(t.contains("No cost was recorded in this period."), "{t}");
        assert_eq!(subject(&a), "AWS cost October 2026: $0.00");
    }

    #[test]
    fn anomalies_are_listed_with_their_impact() {
        let mut a = sample();
        a.anomalies = vec![crate::source::Anomaly {
            start: "2026-11-20".into(),
            dimension: "Amazon Relational Database Service".into(),
            impact: 42.5,
        }];
        let t = text(&a);
        assert!(
            t.contains("Cost anomalies\n  2026-11-20 Amazon Relational Database Service"),
            "{t}"
        );
        assert!(t.contains("impact $42.50"), "{t}");
    }

    #[test]
    fn anomalies_that_could_not_be_read_are_said_so() {
        let mut a = sample();
        a.anomalies_unread = Some("AWS ce:GetAnomalies failed: AccessDenied".into());
        let t = text(&a);
        assert!(
            t.contains("Cost anomalies could not be read: AWS ce:GetAnomalies failed"),
            "{t}"
        );
    }
}
