//! What a report covers: the period, its comparison, and the one date range Cost Explorer is asked
//! for, from which every figure of the report is computed.

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
}

impl Period {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }
}

/// A half-open range of days: `start` included, `end` excluded (as Cost Explorer takes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Range {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day < self.end
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }
}

/// The windows of one report, for a run on `today` (whose own costs are not complete yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Windows {
    pub current: Range,
    pub comparison: Range,
    /// Month to date: from the first of the month up to today.
    pub month: Range,
    /// What Cost Explorer is asked for: the union of the above.
    pub query: Range,
}

pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

pub fn previous_month(first: NaiveDate) -> NaiveDate {
    first_of_month(first - Duration::days(1))
}

/// The first day of the month after `day`'s.
pub fn next_month(day: NaiveDate) -> NaiveDate {
    first_of_month(first_of_month(day) + Duration::days(32))
}

/// The same day of the month in the month starting `first`, clamped to its length.
fn same_day_in(first: NaiveDate, day: u32) -> NaiveDate {
    let last = next_month(first) - Duration::days(1);
    first.with_day(day.min(last.day())).unwrap_or(last)
}

pub fn windows(period: Period, today: NaiveDate) -> Windows {
    let month_start = first_of_month(today);
    let (current, comparison) = match period {
        Period::Daily => {
            let yesterday = today - Duration::days(1);
            (
                Range {
                    start: yesterday,
                    end: today,
                },
                Range {
                    start: yesterday - Duration::days(1),
                    end: yesterday,
                },
            )
        }
        Period::Weekly => {
            let start = today - Duration::days(7);
            (
                Range { start, end: today },
                Range {
                    start: start - Duration::days(7),
                    end: start,
                },
            )
        }
        // Run on the 1st, a monthly report covers the month that just ended.
        Period::Monthly if today.day() == 1 => {
            let last = previous_month(today);
            let before = previous_month(last);
            (
                Range {
                    start: last,
                    end: today,
                },
                Range {
                    start: before,
                    end: last,
                },
            )
        }
        Period::Monthly => {
            let before = previous_month(month_start);
            (
                Range {
                    start: month_start,
                    end: today,
                },
                Range {
                    start: before,
                    end: same_day_in(before, today.day()),
                },
            )
        }
    };
    let month = if today.day() == 1 {
        Range {
            start: previous_month(today),
            end: today,
        }
    } else {
        Range {
            start: month_start,
            end: today,
        }
    };
    let query = Range {
        start: current.start.min(comparison.start).min(month.start),
        end: today,
    };
    Windows {
        current,
        comparison,
        month,
        query,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn daily_compares_yesterday_with_the_day_before_and_asks_once_from_the_first() {
        let w = windows(Period::Daily, d(2026, 11, 22));
        assert_eq!(
            w.current,
            Range {
                start: d(2026, 11, 21),
                end: d(2026, 11, 22)
            }
        );
        assert_eq!(
            w.comparison,
            Range {
                start: d(2026, 11, 20),
                end: d(2026, 11, 21)
            }
        );
        assert_eq!(
            w.query,
            Range {
                start: d(2026, 11, 1),
                end: d(2026, 11, 22)
            }
        );
    }

    #[test]
    fn weekly_compares_seven_days_with_the_seven_before_across_months() {
        let w = windows(Period::Weekly, d(2026, 11, 3));
        assert_eq!(
            w.current,
            Range {
                start: d(2026, 10, 27),
                end: d(2026, 11, 3)
            }
        );
        assert_eq!(
            w.comparison,
            Range {
                start: d(2026, 10, 20),
                end: d(2026, 10, 27)
            }
        );
        assert_eq!(w.query.start, d(2026, 10, 20));
        assert_eq!(
            w.month,
            Range {
                start: d(2026, 11, 1),
                end: d(2026, 11, 3)
            }
        );
    }

    #[test]
    fn monthly_compares_to_the_same_day_of_the_previous_month() {
        let w = windows(Period::Monthly, d(2026, 3, 31));
        assert_eq!(
            w.current,
            Range {
                start: d(2026, 3, 1),
                end: d(2026, 3, 31)
            }
        );
        assert_eq!(
            w.comparison,
            Range {
                start: d(2026, 2, 1),
                end: d(2026, 2, 28)
            },
            "clamped to February"
        );
    }

    #[test]
    fn monthly_on_the_first_reports_the_month_that_ended() {
        let w = windows(Period::Monthly, d(2026, 1, 1));
        assert_eq!(
            w.current,
            Range {
                start: d(2025, 12, 1),
                end: d(2026, 1, 1)
            }
        );
        assert_eq!(
            w.comparison,
            Range {
                start: d(2025, 11, 1),
                end: d(2025, 12, 1)
            }
        );
        assert_eq!(w.month, w.current);
        assert_eq!(next_month(d(2025, 12, 15)), d(2026, 1, 1));
    }
}
