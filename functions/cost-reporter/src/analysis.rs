//! Every figure of the report, computed from what was fetched. Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::ReportInput;
use crate::environments::{self, EnvironmentLine};
use crate::forecast::{self, AnnualProjection, Forecast, ForecastInput};
use crate::recommendations::Recommendations;
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
    /// Daily cost over the sparkline's days.
    pub daily: Vec<f64>,
}

impl GroupLine {
    fn new(name: String, current: f64, previous: f64, daily: Vec<f64>) -> Self {
        Self {
            name,
            current,
            previous,
            change: current - previous,
            change_pct: pct(current, previous),
            daily,
        }
    }
}

/// The change in percent; none (`n/a`) against a previous value of zero or below, where a credit
/// would flip the sign.
fn pct(current: f64, previous: f64) -> Option<f64> {
    (previous >= 0.005).then(|| 100.0 * (current - previous) / previous)
}

/// The change of the per-day averages: like for like when the two ranges differ in length.
pub fn per_day_pct(current: f64, current_range: Range, previous: f64, previous_range: Range) -> Option<f64> {
    let (c, p) = (
        current_range.days().max(1) as f64,
        previous_range.days().max(1) as f64,
    );
    pct(current / c, previous / p)
}

/// The total as daily averages, when the current period and its comparison differ in length
/// (a month against a shorter or longer one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerDay {
    pub current_days: i64,
    pub comparison_days: i64,
    pub current: f64,
    pub previous: f64,
    pub change_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub monthly: f64,
    pub month_to_date_pct: f64,
    pub forecast_pct: Option<f64>,
    pub forecast_over: bool,
}

impl Budget {
    pub fn new(monthly: f64, month_to_date: f64, forecast: Option<f64>) -> Self {
        Self {
            monthly,
            month_to_date_pct: 100.0 * month_to_date / monthly,
            forecast_pct: forecast.map(|f| 100.0 * f / monthly),
            forecast_over: forecast.is_some_and(|f| f > monthly),
        }
    }
}

/// What the report's requests gave, before the analysis.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub series: Series,
    pub forecast: ForecastInput,
    /// The twelve whole months before this one, when asked for.
    pub trailing: Option<(Range, f64)>,
    pub environments: Option<(environments::Environments, crate::source::EnvironmentSeries)>,
    pub anomalies: Vec<Anomaly>,
    pub requests: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub input: ReportInput,
    pub windows: Windows,
    pub currency: String,
    pub total: GroupLine,
    /// Set when the period and its comparison differ in length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_day: Option<PerDay>,
    /// Daily reports: the total against the same weekday a week before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week_ago: Option<GroupLine>,
    pub last_day: Option<(NaiveDate, f64)>,
    pub month_to_date: f64,
    pub forecast: Forecast,
    pub annual_projection: AnnualProjection,
    pub budget: Option<Budget>,
    /// What defines an environment, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environments_by: Option<environments::Dimension>,
    pub environments: Vec<EnvironmentLine>,
    /// Weekly and monthly reports only.
    pub recommendations: Option<Recommendations>,
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
    /// Other parts that could not be read (environments, the trailing year), and why.
    pub unread: Vec<(String, String)>,
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

/// Each group's daily cost over the sparkline's days.
fn daily_by_group(series: &Series, range: Range) -> HashMap<&str, BTreeMap<NaiveDate, f64>> {
    let mut out: HashMap<&str, BTreeMap<NaiveDate, f64>> = HashMap::new();
    for day in series.days.iter().filter(|d| range.contains(d.date)) {
        for (name, cost) in &day.groups {
            *out.entry(name.as_str())
                .or_default()
                .entry(day.date)
                .or_insert(0.0) += cost;
        }
    }
    out
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn total_line(name: &str, series: &Series, current: Range, previous: Range, spark: Range) -> GroupLine {
    let sum = |r: Range| sum_in(series, r).values().sum::<f64>();
    let daily: BTreeMap<NaiveDate, f64> = series
        .days
        .iter()
        .filter(|d| spark.contains(d.date))
        .map(|d| (d.date, d.total()))
        .collect();
    GroupLine::new(
        name.into(),
        sum(current),
        sum(previous),
        environments::daily(&daily, spark),
    )
}

pub fn analyse(input: &ReportInput, windows: &Windows, fetched: &Fetched) -> Analysis {
    let series = &fetched.series;
    let current = sum_in(series, windows.current);
    let previous = sum_in(series, windows.comparison);
    let daily = daily_by_group(series, windows.spark);
    let empty = BTreeMap::new();
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
                environments::daily(daily.get(name).unwrap_or(&empty), windows.spark),
            )
        })
        .collect();
    lines.sort_by(|a, b| {
        b.current
            .total_cmp(&a.current)
            .then(b.previous.total_cmp(&a.previous))
            .then(a.name.cmp(&b.name))
    });
    let total = total_line(
        "Total",
        series,
        windows.current,
        windows.comparison,
        windows.spark,
    );
    let per_day = (windows.current.days() != windows.comparison.days()).then(|| PerDay {
        current_days: windows.current.days(),
        comparison_days: windows.comparison.days(),
        current: total.current / windows.current.days().max(1) as f64,
        previous: total.previous / windows.comparison.days().max(1) as f64,
        change_pct: per_day_pct(total.current, windows.current, total.previous, windows.comparison),
    });
    let week_ago = windows.week_ago.map(|w| {
        total_line(
            "Same weekday a week before",
            series,
            windows.current,
            w,
            windows.spark,
        )
    });

    let mut movers_up: Vec<GroupLine> = lines.iter().filter(|l| l.change >= MOVER_MIN).cloned().collect();
    movers_up.sort_by(|a, b| b.change.total_cmp(&a.change));
    movers_up.truncate(MOVERS);
    let mut movers_down: Vec<GroupLine> = lines.iter().filter(|l| l.change <= -MOVER_MIN).cloned().collect();
    movers_down.sort_by(|a, b| a.change.total_cmp(&b.change));
    movers_down.truncate(MOVERS);

    let folded_groups = lines.len().saturating_sub(input.top);
    let tail = lines.split_off(lines.len().min(input.top));
    if !tail.is_empty() {
        let zero = vec![0.0; windows.spark.days().max(0) as usize];
        let (c, p, d) = tail.iter().fold((0.0, 0.0, zero), |(c, p, d), l| {
            (c + l.current, p + l.previous, add(&d, &l.daily))
        });
        let plural = if tail.len() == 1 { "" } else { "s" };
        lines.push(GroupLine::new(
            format!("Other ({} group{plural})", tail.len()),
            c,
            p,
            d,
        ));
    }

    let month_to_date: f64 = sum_in(series, windows.month).values().sum();
    let last_day = series
        .days
        .iter()
        .filter(|d| windows.current.contains(d.date))
        .max_by_key(|d| d.date)
        .map(|d| (d.date, d.total()));
    let forecast = forecast::month_end(month_to_date, windows, series, &fetched.forecast);
    let annual_projection =
        forecast::annual(&forecast, &fetched.forecast, fetched.trailing, windows.query.end);
    let budget = input
        .budget_monthly
        .map(|monthly| Budget::new(monthly, month_to_date, forecast.month_end));
    let environments = fetched
        .environments
        .as_ref()
        .map(|(config, env_series)| {
            environments::lines(
                config,
                env_series,
                windows,
                month_to_date,
                &forecast,
                &annual_projection,
            )
        })
        .unwrap_or_default();

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
        per_day,
        week_ago,
        last_day,
        month_to_date,
        forecast,
        annual_projection,
        budget,
        environments_by: fetched.environments.as_ref().map(|(c, _)| c.by.clone()),
        environments,
        recommendations: None,
        groups: lines,
        folded_groups,
        movers_up,
        movers_down,
        estimated_days,
        missing_days,
        anomalies: fetched.anomalies.clone(),
        anomalies_unread: None,
        unread: Vec::new(),
        requests: fetched.requests,
        request_cost: fetched.requests as f64 * REQUEST_PRICE,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::forecast::ForecastMethod;
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

    pub fn fetched(series: &Series, forecast: ForecastInput, requests: usize) -> Fetched {
        Fetched {
            series: series.clone(),
            forecast,
            trailing: None,
            environments: None,
            anomalies: vec![],
            requests,
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
            &fetched(&s, ForecastInput::Failed, 2),
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
            &fetched(&s, ForecastInput::Failed, 1),
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
        let months = crate::source::ForecastMonths {
            months: vec![
                (d(3), 1000.0),
                (NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), 3000.0),
            ],
        };
        let ce = analyse(&i, &w, &fetched(&s, ForecastInput::Months(months), 2));
        assert_eq!(ce.forecast.month_end, Some(1200.0));
        assert_eq!(ce.forecast.method, ForecastMethod::CostExplorer);
        assert!(!ce.budget.as_ref().unwrap().forecast_over);
        let rr = analyse(&i, &w, &fetched(&s, ForecastInput::Failed, 2));
        assert_eq!(rr.forecast.month_end, Some(3000.0), "100 a day for 30 days");
        assert_eq!(rr.forecast.method, ForecastMethod::RunRate);
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
            &fetched(&empty, ForecastInput::Failed, 1),
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
            &fetched(&s, ForecastInput::Failed, 1),
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
            &fetched(&s, ForecastInput::Failed, 1),
        );
        assert_eq!(a.total.change_pct, None, "no October data to compare with");
        assert_eq!(a.forecast.method, ForecastMethod::RunRate);
        assert!(a.forecast.month_end.unwrap() > 0.0);
    }

    /// `cost` of EC2 every day from `from` up to `to`.
    pub fn flat(from: NaiveDate, to: NaiveDate, cost: f64) -> Series {
        Series {
            currency: "USD".into(),
            days: from
                .iter_days()
                .take_while(|day| *day < to)
                .map(|date| DayCost {
                    date,
                    estimated: false,
                    groups: vec![("EC2".into(), cost)],
                })
                .collect(),
            requests: 1,
        }
    }

    #[test]
    fn flat_spend_reads_flat_on_the_first_of_months_of_every_length_per_day() {
        let date = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // (run on, days of the month that ended, days of the one before)
        for (today, ended, before) in [
            (date(2026, 3, 1), 28, 31),
            (date(2026, 5, 1), 30, 31),
            (date(2026, 4, 1), 31, 28),
            (date(2026, 2, 1), 31, 31),
        ] {
            let w = windows(Period::Monthly, today);
            let s = flat(w.query.start, today, 10.0);
            let a = analyse(
                &input(Period::Monthly, 10),
                &w,
                &fetched(&s, ForecastInput::Failed, 2),
            );
            assert_eq!(a.total.current, 10.0 * ended as f64, "{today}");
            assert_eq!(a.total.previous, 10.0 * before as f64, "{today}");
            if ended == before {
                assert!(a.per_day.is_none(), "{today}");
                assert_eq!(a.total.change_pct, Some(0.0));
            } else {
                let per_day = a.per_day.expect("months of different lengths");
                assert_eq!((per_day.current_days, per_day.comparison_days), (ended, before));
                assert_eq!(
                    per_day.change_pct,
                    Some(0.0),
                    "{today}: flat spend is flat per day"
                );
                assert_ne!(a.total.change_pct, Some(0.0), "the totals still differ");
            }
        }
    }

    #[test]
    fn daily_compares_with_the_day_before_and_the_same_weekday_a_week_before() {
        let today = d(22);
        let mut s = flat(d(1), today, 10.0);
        s.days[13].groups[0].1 = 20.0; // the 14th, a week before the 21st
        let a = analyse(
            &input(Period::Daily, 10),
            &windows(Period::Daily, today),
            &fetched(&s, ForecastInput::Failed, 1),
        );
        assert_eq!(a.total.change_pct, Some(0.0));
        let week = a.week_ago.expect("daily reports compare a week back");
        assert_eq!(
            (week.current, week.previous, week.change_pct),
            (10.0, 20.0, Some(-50.0))
        );
        assert_eq!(a.total.daily.len(), 14);
        assert_eq!(
            a.total.daily[6], 20.0,
            "the 14th in the sparkline's days from the 8th"
        );
        assert_eq!(a.groups[0].daily, a.total.daily);
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
