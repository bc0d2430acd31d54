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
    /// On the 1st: Cost Explorer's forecast of the whole month that starts today.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_month: Option<f64>,
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

/// The forecast of the rest of this month: the figure that starts today, or none when Cost
/// Explorer's answer does not have it.
fn rest_of_month(months: &ForecastMonths, today: NaiveDate) -> Option<f64> {
    let next = next_month(today);
    let mut this = months
        .months
        .iter()
        .filter(|(start, _)| *start >= today && *start < next);
    this.next().map(|(_, v)| *v)
}

/// The eleven months after this one, when the answer has every one of them.
fn eleven_after(months: &ForecastMonths, today: NaiveDate) -> Option<f64> {
    let next = next_month(today);
    let after: Vec<f64> = months
        .months
        .iter()
        .filter(|(start, _)| *start >= next)
        .map(|(_, v)| *v)
        .collect();
    (after.len() >= 11).then(|| after.iter().take(11).sum())
}

/// Days of the month still to come: after the last day with cost (Cost Explorer's data lags a day
/// or so, and a missing yesterday is to come too, not a day without cost).
fn days_left(series: &Series, month: Range) -> i64 {
    let month_days = (next_month(month.start) - month.start).num_days();
    let last = series
        .days
        .iter()
        .filter(|d| month.contains(d.date) && d.groups.iter().any(|(_, c)| c.abs() >= 0.005))
        .map(|d| d.date)
        .max();
    match last {
        Some(last) => month_days - ((last - month.start).num_days() + 1),
        None => month_days - month.days(),
    }
}

pub fn month_end(month_to_date: f64, windows: &Windows, series: &Series, input: &ForecastInput) -> Forecast {
    let with_data = days_with_data(series, windows.month);
    let today = windows.query.end;
    let rest = match input {
        ForecastInput::Months(m) => rest_of_month(m, today),
        ForecastInput::Failed => None,
    };
    let (month_end, method) = if windows.month_complete() {
        (Some(month_to_date), ForecastMethod::MonthComplete)
    } else if let Some(rest) = rest {
        (Some(month_to_date + rest), ForecastMethod::CostExplorer)
    } else if with_data > 0 {
        // Actual to date plus the daily rate of the days that have cost for the days left: a
        // first run mid-month with two days of data is not spread over the whole month.
        let left = days_left(series, windows.month);
        (
            Some(month_to_date + month_to_date / with_data as f64 * left as f64),
            ForecastMethod::RunRate,
        )
    } else {
        (None, ForecastMethod::Unavailable)
    };
    Forecast {
        month_end,
        method,
        days_with_data: with_data,
        // On the 1st the forecast's first figure is the whole new month.
        new_month: rest.filter(|_| windows.month_complete()),
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
    // This month: on the 1st its whole forecast, otherwise actual to date plus the rest.
    let this = if today == this_month {
        forecast.new_month
    } else {
        forecast
            .month_end
            .filter(|_| forecast.method == ForecastMethod::CostExplorer)
    };
    let after = match input {
        ForecastInput::Months(m) => eleven_after(m, today),
        ForecastInput::Failed => None,
    };
    let (next_12_months, method) = match (this, after, forecast.month_end) {
        (Some(this), Some(after), _) => (Some(this + after), AnnualMethod::CostExplorerForecast),
        // A forecast short of its months is not called one.
        (_, _, Some(month)) if forecast.method != ForecastMethod::Unavailable => {
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
    use crate::analysis::tests::flat;
    use crate::request::{windows, Period};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
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
    fn a_forecast_without_this_month_or_short_of_months_is_not_taken_as_one() {
        let today = d(2026, 11, 15);
        let w = windows(Period::Monthly, today);
        let s = flat(w.query.start, today, 10.0);
        // Only next month onwards: this month's rest is missing.
        let skewed = ForecastInput::Months(ForecastMonths {
            months: vec![(d(2026, 12, 1), 300.0)],
        });
        let f = month_end(140.0, &w, &s, &skewed);
        assert_eq!(f.method, ForecastMethod::RunRate, "{f:?}");
        // This month and three more, not eleven: the year is the labelled run rate.
        let short = ForecastInput::Months(ForecastMonths {
            months: vec![
                (today, 160.0),
                (d(2026, 12, 1), 300.0),
                (d(2027, 1, 1), 300.0),
                (d(2027, 2, 1), 300.0),
            ],
        });
        let f = month_end(140.0, &w, &s, &short);
        assert_eq!(
            (f.month_end, f.method),
            (Some(300.0), ForecastMethod::CostExplorer)
        );
        let a = annual(&f, &short, None, today);
        assert_eq!(
            (a.next_12_months, a.method),
            (Some(3600.0), AnnualMethod::RunRateTimes12)
        );
    }

    #[test]
    fn a_lagging_yesterday_is_still_to_come_in_the_run_rate() {
        // $10 a day up to the 13th; the 14th not in Cost Explorer yet; run on the 15th of a
        // 30-day month: 130 + 10 x 17 days (the 14th to the 30th).
        let today = d(2026, 11, 15);
        let w = windows(Period::Monthly, today);
        let s = flat(d(2026, 11, 1), d(2026, 11, 14), 10.0);
        let f = month_end(130.0, &w, &s, &ForecastInput::Failed);
        assert_eq!(f.month_end, Some(300.0));
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
        assert_eq!(
            f.new_month,
            Some(310.0),
            "March's whole forecast, for the metrics of the 1st"
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
