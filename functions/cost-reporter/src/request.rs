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

/// Days of the sparkline on each line.
pub const SPARK_DAYS: i64 = 14;

/// The windows of one report, for a run on `today` (whose own costs are not complete yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Windows {
    pub current: Range,
    /// As many days as `current` where the previous month has them; a full month compares with
    /// the whole month before (the per-day averages make them like for like).
    pub comparison: Range,
    /// Daily reports only: the same weekday a week before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub week_ago: Option<Range>,
    /// Month to date: from the first of the month up to today.
    pub month: Range,
    /// The sparklines' days, up to yesterday.
    pub spark: Range,
    /// What Cost Explorer is asked for: the union of the above.
    pub query: Range,
}

impl Windows {
    /// The month to date is a whole month that has ended (a run on the 1st).
    pub fn month_complete(&self) -> bool {
        self.month.end.day() == 1
    }
}

/// `first` moved by `months` whole months.
pub fn add_months(first: NaiveDate, months: u32) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(months))
        .unwrap_or(first)
}

/// The twelve whole months before the month of `today`.
pub fn trailing_year(today: NaiveDate) -> Range {
    let end = first_of_month(today);
    Range {
        start: end.checked_sub_months(chrono::Months::new(12)).unwrap_or(end),
        end,
    }
}

/// What Cost Explorer is asked to forecast: from today to the end of the eleventh month after this
/// one, twelve monthly figures (the most a MONTHLY forecast gives), the first the rest of this month.
pub fn forecast_range(today: NaiveDate) -> Range {
    Range {
        start: today,
        end: add_months(first_of_month(today), 12),
    }
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

pub fn windows(period: Period, today: NaiveDate) -> Windows {
    let month_start = first_of_month(today);
    let mut week_ago = None;
    let (current, comparison) = match period {
        Period::Daily => {
            let yesterday = today - Duration::days(1);
            week_ago = Some(Range {
                start: yesterday - Duration::days(7),
                end: yesterday - Duration::days(6),
            });
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
        // The same number of days of the previous month, or all of it when it is shorter.
        Period::Monthly => {
            let before = previous_month(month_start);
            let days = (today - month_start).num_days();
            (
                Range {
                    start: month_start,
                    end: today,
                },
                Range {
                    start: before,
                    end: (before + Duration::days(days)).min(month_start),
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
    let spark = Range {
        start: today - Duration::days(SPARK_DAYS),
        end: today,
    };
    let query = Range {
        start: current
            .start
            .min(comparison.start)
            .min(month.start)
            .min(spark.start)
            .min(week_ago.map_or(today, |w| w.start)),
        end: today,
    };
    Windows {
        current,
        comparison,
        week_ago,
        month,
        spark,
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
            w.week_ago,
            Some(Range {
                start: d(2026, 11, 14),
                end: d(2026, 11, 15)
            }),
            "the same weekday a week before"
        );
        assert_eq!(
            w.query,
            Range {
                start: d(2026, 11, 1),
                end: d(2026, 11, 22)
            }
        );
        assert_eq!(
            windows(Period::Daily, d(2026, 11, 3)).query.start,
            d(2026, 10, 20),
            "14 days of sparkline"
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
    fn monthly_compares_as_many_days_of_the_previous_month_as_it_has() {
        // The last day of 31-, 30- and 28-day months, the 15th, and the 1st.
        for (today, current_days, comparison) in [
            (d(2026, 3, 31), 30, (d(2026, 2, 1), d(2026, 3, 1))),
            (d(2026, 4, 30), 29, (d(2026, 3, 1), d(2026, 3, 30))),
            (d(2026, 2, 28), 27, (d(2026, 1, 1), d(2026, 1, 28))),
            (d(2026, 3, 15), 14, (d(2026, 2, 1), d(2026, 2, 15))),
            (d(2026, 5, 31), 30, (d(2026, 4, 1), d(2026, 5, 1))),
        ] {
            let w = windows(Period::Monthly, today);
            assert_eq!(w.current.days(), current_days, "{today}");
            assert_eq!(
                (w.comparison.start, w.comparison.end),
                comparison,
                "{today}: as many days as February, April have, not a clamped day"
            );
            assert!(!w.month_complete());
        }
    }

    #[test]
    fn the_forecast_covers_twelve_monthly_figures_and_the_trailing_year_twelve_whole_months() {
        assert_eq!(
            forecast_range(d(2026, 12, 3)),
            Range {
                start: d(2026, 12, 3),
                end: d(2027, 12, 1)
            }
        );
        assert_eq!(
            trailing_year(d(2026, 3, 1)),
            Range {
                start: d(2025, 3, 1),
                end: d(2026, 3, 1)
            }
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
        assert!(w.month_complete());
        assert_eq!(next_month(d(2025, 12, 15)), d(2026, 1, 1));
        let march = windows(Period::Monthly, d(2026, 3, 1));
        assert_eq!(
            (march.current.days(), march.comparison.days()),
            (28, 31),
            "February vs January, whole"
        );
    }
}
