//! Where the month and the year will end: Cost Explorer's forecast on the actuals' basis, or a
//! run rate over the days that have data, labelled as such. Pure: no I/O, no clock.

use chrono::NaiveDate;
use serde::Serialize;

use crate::request::{next_month, Range, Windows};
use crate::source::{ForecastMonths, Series};

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
    /// The days of this month that have cost, which a run rate divides by.
    pub days_with_data: i64,
}

/// What Cost Explorer's forecast call gave, before the analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum ForecastInput {
    /// Twelve monthly figures from today.
    Months(ForecastMonths),
    /// Not available: project the run rate instead.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnualMethod {
    /// This month (actual to date plus forecast) and Cost Explorer's forecast of the 11 after.
    CostExplorerForecast,
    /// The month-end figure times twelve: Cost Explorer's forecast was unavailable.
    RunRateTimes12,
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnualProjection {
    /// The twelve whole months before this one, when they were asked for.
    pub trailing_12_months: Option<f64>,
    pub trailing_range: Option<Range>,
    pub next_12_months: Option<f64>,
    /// The first day of the first and of the last month projected.
    pub next_from: NaiveDate,
    pub next_to: NaiveDate,
    pub method: AnnualMethod,
}

/// Days of the month window with any cost (a day Cost Explorer lists with no group has none).
fn days_with_data(series: &Series, month: Range) -> i64 {
    let mut days: Vec<NaiveDate> = series
        .days
        .iter()
        .filter(|d| month.contains(d.date) && d.groups.iter().any(|(_, c)| c.abs() >= 0.005))
        .map(|d| d.date)
        .collect();
    days.sort();
    days.dedup();
    days.len() as i64
}

/// The forecast of the rest of this month: the figures for months starting before the next.
fn rest_of_month(months: &ForecastMonths, today: NaiveDate) -> f64 {
    let next = next_month(today);
    months
        .months
        .iter()
        .filter(|(start, _)| *start < next)
        .map(|(_, v)| v)
        .sum()
}

pub fn month_end(month_to_date: f64, windows: &Windows, series: &Series, input: &ForecastInput) -> Forecast {
    let with_data = days_with_data(series, windows.month);
    let (month_end, method) = if windows.month_complete() {
        (Some(month_to_date), ForecastMethod::MonthComplete)
    } else {
        match input {
            ForecastInput::Months(m) => (
                Some(month_to_date + rest_of_month(m, windows.month.end)),
                ForecastMethod::CostExplorer,
            ),
            // Actual to date plus the daily rate of the days that have cost for the days left: a
            // first run mid-month with two days of data is not spread over the whole month.
            ForecastInput::Failed if with_data > 0 => {
                let month_days = (next_month(windows.month.start) - windows.month.start).num_days();
                let left = month_days - windows.month.days();
                (
                    Some(month_to_date + month_to_date / with_data as f64 * left as f64),
                    ForecastMethod::RunRate,
                )
            }
            ForecastInput::Failed => (None, ForecastMethod::Unavailable),
        }
    };
    Forecast {
        month_end,
        method,
        days_with_data: with_data,
    }
}

/// The next twelve months from this one, and the twelve before it when known.
pub fn annual(
    forecast: &Forecast,
    input: &ForecastInput,
    trailing: Option<(Range, f64)>,
    today: NaiveDate,
) -> AnnualProjection {
    let this_month = crate::request::first_of_month(today);
    let next = next_month(today);
    let (next_12_months, method) = match (input, forecast.month_end) {
        (ForecastInput::Months(m), _) if !m.months.is_empty() => {
            let after: f64 = m
                .months
                .iter()
                .filter(|(start, _)| *start >= next)
                .map(|(_, v)| v)
                .sum();
            let this = if today == this_month {
                // On the 1st the forecast starts with this whole month.
                rest_of_month(m, today)
            } else {
                forecast.month_end.unwrap_or(0.0)
            };
            (Some(this + after), AnnualMethod::CostExplorerForecast)
        }
        (_, Some(month)) if forecast.method != ForecastMethod::Unavailable => {
            (Some(month * 12.0), AnnualMethod::RunRateTimes12)
        }
        _ => (None, AnnualMethod::Unavailable),
    };
    AnnualProjection {
        trailing_12_months: trailing.map(|(_, v)| v),
        trailing_range: trailing.map(|(r, _)| r),
        next_12_months,
        next_from: this_month,
        next_to: crate::request::add_months(this_month, 11),
        method,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{windows, Period};
    use crate::source::DayCost;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn flat(from: NaiveDate, to: NaiveDate, cost: f64) -> Series {
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

    fn months(today: NaiveDate, rest: f64, each: f64) -> ForecastInput {
        let mut m = vec![(today, rest)];
        let mut first = next_month(today);
        while m.len() < 12 {
            m.push((first, each));
            first = next_month(first);
        }
        ForecastInput::Months(ForecastMonths { months: m })
    }

    #[test]
    fn the_run_rate_divides_by_the_days_with_data() {
        // A first run on the 22nd with two days of data, $30 a day: 60 + 30 × 9 days left.
        let today = d(2026, 11, 22);
        let s = flat(d(2026, 11, 20), today, 30.0);
        let f = month_end(60.0, &windows(Period::Monthly, today), &s, &ForecastInput::Failed);
        assert_eq!(f.days_with_data, 2);
        assert_eq!((f.month_end, f.method), (Some(330.0), ForecastMethod::RunRate));
    }

    #[test]
    fn flat_spend_projects_flat_on_the_15th_and_the_last_day_of_every_month_length() {
        for today in [
            d(2026, 2, 15),
            d(2026, 2, 28),
            d(2026, 4, 15),
            d(2026, 4, 30),
            d(2026, 3, 15),
            d(2026, 3, 31),
        ] {
            let w = windows(Period::Monthly, today);
            let s = flat(w.query.start, today, 10.0);
            let mtd = 10.0 * w.month.days() as f64;
            let length = (next_month(today) - w.month.start).num_days() as f64;
            let f = month_end(mtd, &w, &s, &ForecastInput::Failed);
            assert!(
                (f.month_end.unwrap() - 10.0 * length).abs() < 1e-9,
                "{today}: {f:?}"
            );
            let ce = month_end(
                mtd,
                &w,
                &s,
                &months(today, 10.0 * (length - w.month.days() as f64), 300.0),
            );
            assert_eq!(
                ce.month_end, f.month_end,
                "{today}: Cost Explorer's rest of the month added to the actuals"
            );
            assert_eq!(ce.method, ForecastMethod::CostExplorer);
        }
    }

    #[test]
    fn on_the_first_the_month_is_complete_and_the_year_starts_with_the_new_month() {
        let today = d(2026, 3, 1);
        let w = windows(Period::Monthly, today);
        let s = flat(w.query.start, today, 10.0);
        let input = months(today, 310.0, 300.0);
        let f = month_end(280.0, &w, &s, &input);
        assert_eq!(
            (f.month_end, f.method),
            (Some(280.0), ForecastMethod::MonthComplete)
        );
        let a = annual(&f, &input, None, today);
        assert_eq!(
            a.next_12_months,
            Some(310.0 + 11.0 * 300.0),
            "March forecast whole, then 11 months"
        );
        assert_eq!((a.next_from, a.next_to), (d(2026, 3, 1), d(2027, 2, 1)));
    }

    #[test]
    fn the_year_ahead_is_this_month_and_the_forecast_of_the_eleven_after_or_the_run_rate_labelled() {
        let today = d(2026, 11, 15);
        let w = windows(Period::Monthly, today);
        let s = flat(w.query.start, today, 10.0);
        let input = months(today, 160.0, 300.0);
        let f = month_end(140.0, &w, &s, &input);
        assert_eq!(f.month_end, Some(300.0));
        let trailing = Some((crate::request::trailing_year(today), 3500.0));
        let a = annual(&f, &input, trailing, today);
        assert_eq!(a.next_12_months, Some(300.0 + 11.0 * 300.0));
        assert_eq!(a.method, AnnualMethod::CostExplorerForecast);
        assert_eq!(a.trailing_12_months, Some(3500.0));

        let failed = month_end(140.0, &w, &s, &ForecastInput::Failed);
        let a = annual(&failed, &ForecastInput::Failed, None, today);
        assert_eq!(a.method, AnnualMethod::RunRateTimes12);
        assert_eq!(a.next_12_months, failed.month_end.map(|m| m * 12.0));

        let empty = Series {
            currency: "USD".into(),
            days: vec![],
            requests: 1,
        };
        let none = month_end(0.0, &w, &empty, &ForecastInput::Failed);
        assert_eq!(none.method, ForecastMethod::Unavailable);
        assert_eq!(
            annual(&none, &ForecastInput::Failed, None, today).method,
            AnnualMethod::Unavailable
        );
    }
}
