//! The report's later sections: the year ahead, environments, recommendations, and the parts
//! that could not be read.

use std::fmt::Write;

use crate::analysis::Analysis;
use crate::environments::Dimension;
use crate::forecast::AnnualMethod;
use crate::render::{cut, money, percent, RULE};
use crate::sparkline::sparkline;

const ENV_WIDTH: usize = 22;

fn month(d: chrono::NaiveDate) -> String {
    d.format("%b %Y").to_string()
}

/// `Year ahead     $3,600.00 for Nov 2026 to Oct 2027 (...)`, then the trailing year.
pub fn year(out: &mut String, a: &Analysis) {
    let y = &a.annual_projection;
    let c = a.currency.as_str();
    let span = format!("{} to {}", month(y.next_from), month(y.next_to));
    let line = match (y.next_12_months, y.method) {
        (Some(v), AnnualMethod::CostExplorerForecast) => format!(
            "{} for {span} (this month, then Cost Explorer's forecast of the 11 after)",
            money(v, c)
        ),
        (Some(v), AnnualMethod::RunRateTimes12) => format!(
            "{} for {span} (the month-end figure x 12: Cost Explorer's forecast was unavailable)",
            money(v, c)
        ),
        _ => "not available yet (no cost recorded this month)".into(),
    };
    let _ = writeln!(out, "Year ahead     {line}");
    if let (Some(v), Some(r)) = (y.trailing_12_months, y.trailing_range) {
        let last = r.end - chrono::Duration::days(1);
        let _ = writeln!(
            out,
            "Last 12 months {} ({} to {})",
            money(v, c),
            month(r.start),
            month(last)
        );
    }
}

fn dimension_text(d: &Dimension) -> String {
    match d {
        Dimension::Tag(key) => format!("tag {key}"),
        Dimension::CostCategory(name) => format!("cost category {name}"),
        Dimension::LinkedAccount => "account".into(),
    }
}

pub fn environments(out: &mut String, a: &Analysis) {
    let Some(by) = &a.environments_by else {
        return;
    };
    let c = a.currency.as_str();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Environments by {} (forecasts: the account's, in each one's share of the month to date)",
        dimension_text(by)
    );
    if a.environments.is_empty() {
        let _ = writeln!(out, "  No cost was recorded for any environment this month.");
        return;
    }
    let _ = writeln!(
        out,
        "{:<w$} {:>12} {:>12} {:>12} {:>8}  {:<14} Budget",
        "Environment",
        "To date",
        "Month end",
        "Year ahead",
        "Change",
        "Last 14 days",
        w = ENV_WIDTH
    );
    let _ = writeln!(out, "{RULE}");
    for env in &a.environments {
        let budget = match &env.budget {
            Some(b) => {
                let (what, pct) = match b.forecast_pct {
                    Some(p) => ("forecast", p),
                    None => ("to date", b.month_to_date_pct),
                };
                format!(
                    "{what} {pct:.0}% of {}{}",
                    money(b.monthly, c),
                    if b.forecast_over { " - OVER" } else { "" }
                )
            }
            None => String::new(),
        };
        let opt = |v: Option<f64>| v.map(|v| money(v, c)).unwrap_or_else(|| "n/a".into());
        let name: String = cut(&env.name).chars().take(ENV_WIDTH).collect();
        let line = format!(
            "{:<w$} {:>12} {:>12} {:>12} {:>8}  {:<14} {budget}",
            name,
            money(env.month_to_date, c),
            opt(env.forecast_month_end),
            opt(env.annual_projection),
            percent(env.change_pct, env.previous, env.current),
            sparkline(&env.daily),
            w = ENV_WIDTH
        );
        let _ = writeln!(out, "{}", line.trim_end());
        if !env.top_services.is_empty() {
            let top: Vec<String> = env
                .top_services
                .iter()
                .map(|s| format!("{} {}", s.name, money(s.month_to_date, c)))
                .collect();
            let _ = writeln!(out, "    top: {}", top.join(", "));
        }
    }
}

pub fn recommendations(out: &mut String, a: &Analysis) {
    let Some(r) = &a.recommendations else {
        return;
    };
    let _ = writeln!(out);
    let _ = writeln!(out, "Recommendations (estimated saving a month)");
    if r.items.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            if !r.available {
                "None: every source was unavailable (below)."
            } else if r.unavailable.is_empty() {
                "Nothing to act on: no source found a saving."
            } else {
                "No saving found by the sources that answered; the others are below."
            }
        );
    }
    for item in &r.items {
        let _ = writeln!(
            out,
            "  {:>12}  {}",
            money(item.monthly_saving, &item.currency),
            item.action
        );
    }
    for u in &r.unavailable {
        let _ = writeln!(out, "  unavailable: {}: {}", u.source, u.why);
    }
}

pub fn unread(out: &mut String, a: &Analysis) {
    for (part, why) in &a.unread {
        let _ = writeln!(out);
        let _ = writeln!(out, "The {part} could not be read: {why}");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use crate::analysis::{analyse, Fetched};
    use crate::config::ReportInput;
    use crate::environments::{Dimension, Environments};
    use crate::forecast::ForecastInput;
    use crate::recommendations::{Recommendations, Unavailable};
    use crate::render::{subject, text};
    use crate::request::{next_month, trailing_year, windows, Period};
    use crate::source::{
        DayCost, EnvironmentDay, EnvironmentSeries, ForecastMonths, Recommendation, RecommendationKind,
        Series,
    };

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    /// A monthly report on the 15th of November: three environments and untagged cost, the year
    /// ahead from Cost Explorer's forecast, and one recommendation of each kind.
    pub fn monthly() -> crate::analysis::Analysis {
        let today = d(11, 15);
        let w = windows(Period::Monthly, today);
        let days: Vec<NaiveDate> = w.query.start.iter_days().take_while(|x| *x < today).collect();
        // Production's compute grows by a dollar a day in November.
        let ec2 = |day: NaiveDate| {
            if day >= d(11, 1) {
                40.0 + day.day0() as f64
            } else {
                40.0
            }
        };
        use chrono::Datelike;
        let series = Series {
            currency: "USD".into(),
            days: days
                .iter()
                .map(|&date| DayCost {
                    date,
                    estimated: date == d(11, 14),
                    groups: vec![
                        ("Amazon Elastic Compute Cloud - Compute".into(), ec2(date) + 8.0),
                        ("Amazon Relational Database Service".into(), 12.0),
                        ("Amazon Simple Storage Service".into(), 6.0),
                        ("AWS Lambda".into(), 1.5),
                    ],
                })
                .collect(),
            requests: 1,
        };
        let env_days = days
            .iter()
            .map(|&date| EnvironmentDay {
                date,
                costs: vec![
                    (
                        "Environment$prod".into(),
                        "Amazon Elastic Compute Cloud - Compute".into(),
                        ec2(date),
                    ),
                    (
                        "Environment$prod".into(),
                        "Amazon Relational Database Service".into(),
                        12.0,
                    ),
                    ("Environment$prod".into(), "AWS Lambda".into(), 1.0),
                    (
                        "Environment$staging".into(),
                        "Amazon Elastic Compute Cloud - Compute".into(),
                        6.0,
                    ),
                    (
                        "Environment$dev".into(),
                        "Amazon Elastic Compute Cloud - Compute".into(),
                        2.0,
                    ),
                    ("Environment$dev".into(), "AWS Lambda".into(), 0.5),
                    ("Environment$".into(), "Amazon Simple Storage Service".into(), 6.0),
                ],
            })
            .collect();
        let mut months = vec![(today, 16.0 * 75.0)];
        let mut first = next_month(today);
        while months.len() < 12 {
            months.push((first, 2250.0));
            first = next_month(first);
        }
        let input = ReportInput {
            period: Period::Monthly,
            metric: "UnblendedCost".into(),
            group_by: vec!["SERVICE".into()],
            top: 3,
            exclude_record_types: vec!["Credit".into()],
            budget_monthly: Some(2000.0),
        };
        let fetched = Fetched {
            series,
            forecast: ForecastInput::Months(ForecastMonths { months }),
            trailing: Some((trailing_year(today), 21_480.0)),
            environments: Some((
                Environments {
                    by: Dimension::Tag("Environment".into()),
                    account_names: BTreeMap::new(),
                    budgets: BTreeMap::from([("prod".into(), 1500.0), ("staging".into(), 250.0)]),
                },
                EnvironmentSeries {
                    days: env_days,
                    requests: 1,
                },
            )),
            anomalies: vec![],
            requests: 10,
        };
        let mut a = analyse(&input, &w, &fetched);
        let rec = |kind, action: &str, saving| Recommendation {
            kind,
            action: action.into(),
            monthly_saving: saving,
            currency: "USD".into(),
        };
        a.recommendations = Some(Recommendations {
            available: true,
            items: vec![
                rec(RecommendationKind::Rightsizing, "Resize the EC2 instance i-0abc (api) from m5.2xlarge to m5.xlarge", 140.16),
                rec(RecommendationKind::SavingsPlans, "Buy a Compute Savings Plan of $0.85 an hour (1 year, no upfront)", 112.4),
                rec(RecommendationKind::Reservation, "Reserve 2 x db.r6g.large (PostgreSQL) of Amazon Relational Database Service (1 year, no upfront)", 96.5),
                rec(RecommendationKind::Cleanup, "Remove the 7 unused resource(s) the cleanup-scanner reported (its report lists each)", 12.3),
            ],
            unavailable: vec![Unavailable {
                source: "reservations (Amazon ElastiCache)".into(),
                why: "Cost Explorer GetReservationPurchaseRecommendation failed: AccessDeniedException".into(),
            }],
            requests: 5,
        });
        a
    }

    #[test]
    fn the_monthly_report_with_every_section_matches_the_golden_copy() {
        let a = monthly();
        assert_eq!(
            subject(&a),
            "AWS cost November 2026 to date: $1,036.00 (+10% vs previous month) - forecast over budget"
        );
        let expected = "\
Monthly AWS cost report: 2026-11-01 to 2026-11-14 (UnblendedCost, grouped by SERVICE)

Total          $1,036.00  (+$91.00 +9.6% vs the first 14 days of October 2026: $945.00)
Month to date  $1,036.00  (2026-11-01 to 2026-11-14)
Forecast       $2,236.00 at month end (Cost Explorer forecast)
Year ahead     $26,986.00 for Nov 2026 to Oct 2027 (this month, then Cost Explorer's forecast of the 11 after)
Last 12 months $21,480.00 (Nov 2025 to Oct 2026)
Budget         $2,000.00 a month: 52% used, forecast 112%
WARNING        the month-end forecast passes the budget

Top by cost                                   Current     Previous       Change        %  Last 14 days
------------------------------------------------------------------------------------------------------
Amazon Elastic Compute Cloud - Compute        $763.00      $672.00      +$91.00   +13.5%  ▅▆▆▆▆▆▇▇▇▇▇███
Amazon Relational Database Service            $168.00      $168.00        $0.00    +0.0%  ██████████████
Amazon Simple Storage Service                  $84.00       $84.00        $0.00    +0.0%  ██████████████
Other (1 group)                                $21.00       $21.00        $0.00    +0.0%  ██████████████
------------------------------------------------------------------------------------------------------
Total                                       $1,036.00      $945.00      +$91.00    +9.6%  ▆▆▆▇▇▇▇▇▇▇████

Biggest movers
  Amazon Elastic Compute Cloud - Compute        +$91.00   +13.5%

Environments by tag Environment (forecasts: the account's, in each one's share of the month to date)
Environment                 To date    Month end   Year ahead   Change  Last 14 days   Budget
------------------------------------------------------------------------------------------------------
prod                        $833.00    $1,797.86   $21,698.20   +12.3%  ▆▆▆▆▆▇▇▇▇▇▇███ forecast 120% of $1,500.00 - OVER
    top: Amazon Elastic Compute Cloud - Compute $651.00, Amazon Relational Database Service $168.00, AWS Lambda $14.00
staging                      $84.00      $181.30    $2,188.05    +0.0%  ██████████████ forecast 73% of $250.00
    top: Amazon Elastic Compute Cloud - Compute $84.00
dev                          $35.00       $75.54      $911.69    +0.0%  ██████████████
    top: Amazon Elastic Compute Cloud - Compute $28.00, AWS Lambda $7.00
(untagged)                   $84.00      $181.30    $2,188.05    +0.0%  ██████████████
    top: Amazon Simple Storage Service $84.00

Recommendations (estimated saving a month)
       $140.16  Resize the EC2 instance i-0abc (api) from m5.2xlarge to m5.xlarge
       $112.40  Buy a Compute Savings Plan of $0.85 an hour (1 year, no upfront)
        $96.50  Reserve 2 x db.r6g.large (PostgreSQL) of Amazon Relational Database Service (1 year, no upfront)
        $12.30  Remove the 7 unused resource(s) the cleanup-scanner reported (its report lists each)
  unavailable: reservations (Amazon ElastiCache): Cost Explorer GetReservationPurchaseRecommendation failed: AccessDeniedException

Estimated: 2026-11-14 may still change (Cost Explorer marks them as estimated).

This report made 10 Cost Explorer request(s), $0.10 at $0.01 each.
";
        let got = text(&a);
        assert_eq!(got, expected, "\n--- got ---\n{got}");
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        assert!(
            readme.contains(&format!("Subject: {}\n\n{expected}```", subject(&a))),
            "functions/cost-reporter/README.md's sample is this report"
        );
    }
}
