//! Every figure of the report, computed from one daily series. Pure: no I/O, no clock.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::ReportInput;
use crate::request::{Range, Windows};
use crate::source::{Anomaly, Series};

/// Price of one Cost Explorer API request (each page counts).
pub const REQUEST_PRICE: f64 = 0.01;
/// Changes smaller than this are noise, not movers.
const MOVER_MIN: f64 = 0.01;
const MOVERS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupLine {
    pub name: String,
    pub current: f64,
    pub previous: f64,
    pub change: f64,
    /// None when the previous cost was zero.
    pub change_pct: Option<f64>,
}

impl GroupLine {
    fn new(name: String, current: f64, previous: f64) -> Self {
        Self {
            name,
            current,
            previous,
            change: current - previous,
            change_pct: pct(current, previous),
        }
    }
}

/// The change in percent; none (`n/a`) against a previous value of zero or below, where a credit
/// would flip the sign.
fn pct(current: f64, previous: f64) -> Option<f64> {
    (previous >= 0.005).then(|| 100.0 * (current - previous) / previous)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastMethod {
    CostExplorer,
    RunRate,
    MonthComplete,
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub month_end: Option<f64>,
    pub method: ForecastMethod,
}

/// What Cost Explorer's forecast call gave, before the analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ForecastInput {
    /// The forecast of the rest of the month.
    Remaining(f64),
    /// Not available: project the month's run rate instead.
    Failed,
    /// The report covers a whole month that has ended.
    MonthComplete,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub monthly: f64,
    pub month_to_date_pct: f64,
    pub forecast_pct: Option<f64>,
    pub forecast_over: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub input: ReportInput,
    pub windows: Windows,
    pub currency: String,
    pub total: GroupLine,
    pub last_day: Option<(NaiveDate, f64)>,
    pub month_to_date: f64,
    pub forecast: Forecast,
    pub budget: Option<Budget>,
    /// The top groups by current cost, then "Other" when the tail was folded.
    pub groups: Vec<GroupLine>,
    pub folded_groups: usize,
    pub movers_up: Vec<GroupLine>,
    pub movers_down: Vec<GroupLine>,
    pub estimated_days: Vec<NaiveDate>,
    pub missing_days: Vec<NaiveDate>,
    pub anomalies: Vec<Anomaly>,
    /// Why anomalies could not be read, when a monitor is set and reading failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomalies_unread: Option<String>,
    pub requests: usize,
    pub request_cost: f64,
}

fn sum_in(series: &Series, range: Range) -> HashMap<&str, f64> {
    let mut out = HashMap::new();
    for day in series.days.iter().filter(|d| range.contains(d.date)) {
        for (name, cost) in &day.groups {
            *out.entry(name.as_str()).or_insert(0.0) += cost;
        }
    }
    out
}

pub fn analyse(
    input: &ReportInput,
    windows: &Windows,
    series: &Series,
    forecast: ForecastInput,
    anomalies: Vec<Anomaly>,
    requests: usize,
) -> Analysis {
    let current = sum_in(series, windows.current);
    let previous = sum_in(series, windows.comparison);
    let mut lines: Vec<GroupLine> = current
        .keys()
        .chain(previous.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|name| {
            GroupLine::new(
                name.to_string(),
                current.get(name).copied().unwrap_or(0.0),
                previous.get(name).copied().unwrap_or(0.0),
            )
        })
        .collect();
    lines.sort_by(|a, b| {
        b.current
            .total_cmp(&a.current)
            .then(b.previous.total_cmp(&a.previous))
            .then(a.name.cmp(&b.name))
    });
    let total = GroupLine::new(
        "Total".into(),
        lines.iter().map(|l| l.current).sum(),
        lines.iter().map(|l| l.previous).sum(),
    );

    let mut movers_up: Vec<GroupLine> = lines.iter().filter(|l| l.change >= MOVER_MIN).cloned().collect();
    movers_up.sort_by(|a, b| b.change.total_cmp(&a.change));
    movers_up.truncate(MOVERS);
    let mut movers_down: Vec<GroupLine> = lines.iter().filter(|l| l.change <= -MOVER_MIN).cloned().collect();
    movers_down.sort_by(|a, b| a.change.total_cmp(&b.change));
    movers_down.truncate(MOVERS);

    let folded_groups = lines.len().saturating_sub(input.top);
    let tail = lines.split_off(lines.len().min(input.top));
    if !tail.is_empty() {
        let (c, p) = tail
            .iter()
            .fold((0.0, 0.0), |(c, p), l| (c + l.current, p + l.previous));
        lines.push(GroupLine::new(format!("Other ({} groups)", tail.len()), c, p));
    }

    let month_to_date: f64 = sum_in(series, windows.month).values().sum();
    let last_day = series
        .days
        .iter()
        .filter(|d| windows.current.contains(d.date))
        .max_by_key(|d| d.date)
        .map(|d| (d.date, d.total()));
    let elapsed = windows.month.days();
    let month_length = (crate::request::next_month(windows.month.start) - windows.month.start).num_days();
    let forecast = match forecast {
        ForecastInput::Remaining(rest) => Forecast {
            month_end: Some(month_to_date + rest),
            method: ForecastMethod::CostExplorer,
        },
        ForecastInput::MonthComplete => Forecast {
            month_end: Some(month_to_date),
            method: ForecastMethod::MonthComplete,
        },
        ForecastInput::Failed
            if elapsed > 0 && series.days.iter().any(|d| windows.month.contains(d.date)) =>
        {
            Forecast {
                month_end: Some(month_to_date / elapsed as f64 * month_length as f64),
                method: ForecastMethod::RunRate,
            }
        }
        ForecastInput::Failed => Forecast {
            month_end: None,
            method: ForecastMethod::Unavailable,
        },
    };
    let budget = input.budget_monthly.map(|monthly| Budget {
        monthly,
        month_to_date_pct: 100.0 * month_to_date / monthly,
        forecast_pct: forecast.month_end.map(|f| 100.0 * f / monthly),
        forecast_over: forecast.month_end.is_some_and(|f| f > monthly),
    });

    let report_days = |d: &NaiveDate| windows.current.contains(*d) || windows.month.contains(*d);
    let mut estimated_days: Vec<NaiveDate> = series
        .days
        .iter()
        .filter(|d| d.estimated && report_days(&d.date))
        .map(|d| d.date)
        .collect();
    estimated_days.sort();
    estimated_days.dedup();
    let have: std::collections::HashSet<NaiveDate> = series.days.iter().map(|d| d.date).collect();
    let missing_days = windows
        .query
        .start
        .iter_days()
        .take_while(|d| *d < windows.query.end)
        .filter(|d| !have.contains(d))
        .collect();

    Analysis {
        input: input.clone(),
        windows: *windows,
        currency: series.currency.clone(),
        total,
        last_day,
        month_to_date,
        forecast,
        budget,
        groups: lines,
        folded_groups,
        movers_up,
        movers_down,
        estimated_days,
        missing_days,
        anomalies,
        anomalies_unread: None,
        requests,
        request_cost: requests as f64 * REQUEST_PRICE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{windows, Period};
    use crate::source::DayCost;

    pub fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    pub fn input(period: Period, top: usize) -> ReportInput {
        ReportInput {
            period,
            metric: "UnblendedCost".into(),
            group_by: vec!["SERVICE".into()],
            top,
            exclude_record_types: vec![],
            budget_monthly: None,
        }
    }

    fn series(days: &[(u32, &[(&str, f64)])]) -> Series {
        Series {
            currency: "USD".into(),
            days: days
                .iter()
                .map(|(day, groups)| DayCost {
                    date: d(*day),
                    estimated: false,
                    groups: groups.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
                })
                .collect(),
            requests: 1,
        }
    }

    #[test]
    fn daily_deltas_per_group_and_in_total() {
        let s = series(&[
            (20, &[("EC2", 10.0), ("S3", 5.0)]),
            (21, &[("EC2", 15.0), ("S3", 4.0), ("RDS", 2.0)]),
        ]);
        let a = analyse(
            &input(Period::Daily, 10),
            &windows(Period::Daily, d(22)),
            &s,
            ForecastInput::Failed,
            vec![],
            2,
        );
        assert_eq!(a.total.current, 21.0);
        assert_eq!(a.total.previous, 15.0);
        assert_eq!(a.total.change_pct, Some(40.0));
        assert_eq!(
            a.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            vec!["EC2", "S3", "RDS"]
        );
        assert_eq!(a.groups[2].change_pct, None, "new groups have no percentage");
        assert_eq!(
            a.movers_up.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            vec!["EC2", "RDS"]
        );
        assert_eq!(a.movers_down[0].name, "S3");
        assert_eq!(a.last_day, Some((d(21), 21.0)));
        assert_eq!(a.month_to_date, 36.0);
        assert!((a.request_cost - 0.02).abs() < 1e-9);
    }

    #[test]
    fn the_long_tail_is_folded_into_other() {
        let groups: Vec<(String, f64)> = (0..3000)
            .map(|i| (format!("svc-{i:04}"), 1.0 + i as f64 / 1000.0))
            .collect();
        let refs: Vec<(&str, f64)> = groups.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let s = series(&[(21, &refs)]);
        let a = analyse(
            &input(Period::Daily, 10),
            &windows(Period::Daily, d(22)),
            &s,
            ForecastInput::Failed,
            vec![],
            1,
        );
        assert_eq!(a.groups.len(), 11);
        assert_eq!(a.groups[0].name, "svc-2999");
        assert_eq!(a.groups[10].name, "Other (2990 groups)");
        assert_eq!(a.folded_groups, 2990);
        let sum: f64 = a.groups.iter().map(|g| g.current).sum();
        assert!((sum - a.total.current).abs() < 1e-6);
    }

    #[test]
    fn forecasts_use_cost_explorer_or_the_run_rate_and_budgets_warn() {
        let s = series(&[(1, &[("EC2", 100.0)]), (2, &[("EC2", 100.0)])]);
        let mut i = input(Period::Daily, 10);
        i.budget_monthly = Some(2000.0);
        let w = windows(Period::Daily, d(3));
        let ce = analyse(&i, &w, &s, ForecastInput::Remaining(1000.0), vec![], 2);
        assert_eq!(
            ce.forecast,
            Forecast {
                month_end: Some(1200.0),
                method: ForecastMethod::CostExplorer
            }
        );
        assert!(!ce.budget.as_ref().unwrap().forecast_over);
        let rr = analyse(&i, &w, &s, ForecastInput::Failed, vec![], 2);
        assert_eq!(
            rr.forecast,
            Forecast {
                month_end: Some(3000.0),
                method: ForecastMethod::RunRate
            },
            "100 a day for 30 days"
        );
        let b = rr.budget.unwrap();
        assert!(b.forecast_over);
        assert_eq!(b.month_to_date_pct, 10.0);
        assert_eq!(b.forecast_pct, Some(150.0));
    }

    #[test]
    fn empty_data_missing_days_and_estimated_days_give_a_sensible_report() {
        let empty = Series {
            currency: "USD".into(),
            days: vec![],
            requests: 1,
        };
        let a = analyse(
            &input(Period::Weekly, 10),
            &windows(Period::Weekly, d(22)),
            &empty,
            ForecastInput::Failed,
            vec![],
            1,
        );
        assert_eq!((a.total.current, a.total.change_pct), (0.0, None));
        assert!(a.groups.is_empty() && a.movers_up.is_empty());
        assert_eq!(a.forecast.method, ForecastMethod::Unavailable);
        assert_eq!(a.missing_days.len(), 21);

        let mut s = series(&[(20, &[("EC2", 1.0)]), (21, &[("EC2", 2.0)])]);
        s.days[1].estimated = true;
        let a = analyse(
            &input(Period::Daily, 10),
            &windows(Period::Daily, d(22)),
            &s,
            ForecastInput::Failed,
            vec![],
            1,
        );
        assert_eq!(a.estimated_days, vec![d(21)]);
        assert_eq!(a.missing_days.len(), 19, "the 1st to the 19th are missing");
    }

    #[test]
    fn a_first_run_mid_month_projects_from_the_days_it_has() {
        let s = series(&[(20, &[("EC2", 30.0)]), (21, &[("EC2", 30.0)])]);
        let a = analyse(
            &input(Period::Monthly, 10),
            &windows(Period::Monthly, d(22)),
            &s,
            ForecastInput::Failed,
            vec![],
            1,
        );
        assert_eq!(a.total.change_pct, None, "no October data to compare with");
        assert_eq!(a.forecast.method, ForecastMethod::RunRate);
        assert!(a.forecast.month_end.unwrap() > 0.0);
    }

    #[test]
    fn a_change_against_zero_or_a_credit_is_not_a_percentage() {
        assert_eq!(pct(10.0, 0.0), None);
        assert_eq!(
            pct(10.0, -5.0),
            None,
            "a negative previous value would flip the sign"
        );
        assert_eq!(pct(15.0, 10.0), Some(50.0));
    }
}
