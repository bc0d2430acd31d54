//! The per-environment section: each environment's month to date, forecast, year ahead, budget
//! and top services, from one request grouped by the environment dimension and SERVICE. Pure.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::{per_day_pct, Budget};
use crate::forecast::{AnnualProjection, Forecast};
use crate::request::{Range, Windows};
use crate::source::EnvironmentSeries;

const TOP_SERVICES: usize = 3;

/// What defines an environment (`COST_ENVIRONMENTS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "key")]
pub enum Dimension {
    Tag(String),
    CostCategory(String),
    LinkedAccount,
}

impl Dimension {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("LINKED_ACCOUNT") {
            return Some(Self::LinkedAccount);
        }
        let (kind, key) = text.split_once(':')?;
        if key.is_empty() {
            return None;
        }
        match kind.to_ascii_uppercase().as_str() {
            "TAG" => Some(Self::Tag(key.to_string())),
            "COST_CATEGORY" => Some(Self::CostCategory(key.to_string())),
            _ => None,
        }
    }

    /// As Cost Explorer's group-by takes it (`TAG:Environment`).
    pub fn group_by(&self) -> String {
        match self {
            Self::Tag(key) => format!("TAG:{key}"),
            Self::CostCategory(name) => format!("COST_CATEGORY:{name}"),
            Self::LinkedAccount => "LINKED_ACCOUNT".into(),
        }
    }

    /// The line for cost that carries no environment.
    fn untagged(&self) -> &'static str {
        match self {
            Self::Tag(_) => "(untagged)",
            Self::CostCategory(_) => "(uncategorized)",
            Self::LinkedAccount => "(no account)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environments {
    pub by: Dimension,
    /// `COST_ACCOUNT_NAMES`: account ID → environment name.
    pub account_names: BTreeMap<String, String>,
    /// `COST_BUDGETS`: environment name → monthly budget.
    pub budgets: BTreeMap<String, f64>,
}

impl Environments {
    /// The environment of a Cost Explorer key: `Environment$prod` → `prod`, `Environment$` →
    /// `(untagged)`, an account ID → its name.
    pub fn name_of(&self, key: &str) -> (String, bool) {
        let value = match &self.by {
            Dimension::LinkedAccount => {
                return match self.account_names.get(key) {
                    Some(name) => (name.clone(), false),
                    None if key.is_empty() => (self.by.untagged().into(), true),
                    None => (key.to_string(), false),
                }
            }
            _ => key.split_once('$').map_or(key, |(_, v)| v),
        };
        if value.is_empty() {
            (self.by.untagged().into(), true)
        } else {
            (value.to_string(), false)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCost {
    pub name: String,
    pub month_to_date: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentLine {
    pub name: String,
    /// The cost that carries no environment: its own line, never spread over the others.
    pub untagged: bool,
    pub month_to_date: f64,
    /// Actual to date plus the account's forecast of the rest, in this environment's share of the
    /// month to date.
    pub forecast_month_end: Option<f64>,
    /// The account's year ahead in the same share.
    pub annual_projection: Option<f64>,
    /// This environment's share of the month's positive cost, which splits the forecasts; none
    /// when nothing was spent yet.
    pub share: Option<f64>,
    pub budget: Option<Budget>,
    pub current: f64,
    pub previous: f64,
    /// Per day, current period against its comparison; none against zero or a credit.
    pub change_pct: Option<f64>,
    pub top_services: Vec<ServiceCost>,
    /// Daily cost over the sparkline's days.
    pub daily: Vec<f64>,
}

#[derive(Default)]
struct Sums {
    month: f64,
    current: f64,
    previous: f64,
    services: HashMap<String, f64>,
    daily: BTreeMap<chrono::NaiveDate, f64>,
    untagged: bool,
}

/// Every environment with cost or a budget, biggest first, the untagged line last.
pub fn lines(
    config: &Environments,
    series: &EnvironmentSeries,
    windows: &Windows,
    account_month_to_date: f64,
    forecast: &Forecast,
    annual: &AnnualProjection,
) -> Vec<EnvironmentLine> {
    let mut by_name: BTreeMap<String, Sums> = BTreeMap::new();
    for day in &series.days {
        for (key, service, cost) in &day.costs {
            let (name, untagged) = config.name_of(key);
            let sums = by_name.entry(name).or_default();
            sums.untagged = untagged;
            if windows.month.contains(day.date) {
                sums.month += cost;
                *sums.services.entry(service.clone()).or_insert(0.0) += cost;
            }
            if windows.current.contains(day.date) {
                sums.current += cost;
            }
            if windows.comparison.contains(day.date) {
                sums.previous += cost;
            }
            if windows.spark.contains(day.date) {
                *sums.daily.entry(day.date).or_insert(0.0) += cost;
            }
        }
    }
    for name in config.budgets.keys() {
        by_name.entry(name.clone()).or_default();
    }
    // Shares of the positive cost: a credit on one line (often the untagged one) must not inflate
    // the others past the account.
    let positive: f64 = by_name.values().map(|s| s.month.max(0.0)).sum();
    let share = |month: f64| (positive >= 0.005).then(|| month.max(0.0) / positive);
    let mut out: Vec<EnvironmentLine> = by_name
        .into_iter()
        .map(|(name, s)| {
            let forecast_month_end = forecast
                .month_end
                .zip(share(s.month))
                .map(|(end, share)| s.month + (end - account_month_to_date) * share);
            let budget = config
                .budgets
                .get(&name)
                .map(|monthly| Budget::new(*monthly, s.month, forecast_month_end));
            let mut services: Vec<ServiceCost> = s
                .services
                .into_iter()
                .map(|(name, month_to_date)| ServiceCost { name, month_to_date })
                .collect();
            services.sort_by(|a, b| {
                b.month_to_date
                    .total_cmp(&a.month_to_date)
                    .then(a.name.cmp(&b.name))
            });
            services.truncate(TOP_SERVICES);
            EnvironmentLine {
                share: share(s.month),
                annual_projection: annual
                    .next_12_months
                    .zip(share(s.month))
                    .map(|(y, share)| y * share),
                change_pct: per_day_pct(s.current, windows.current, s.previous, windows.comparison),
                daily: daily(&s.daily, windows.spark),
                name,
                untagged: s.untagged,
                month_to_date: s.month,
                forecast_month_end,
                budget,
                current: s.current,
                previous: s.previous,
                top_services: services,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.untagged
            .cmp(&b.untagged)
            .then(b.month_to_date.total_cmp(&a.month_to_date))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// One figure per day of `range`, zero where Cost Explorer had none.
pub fn daily(days: &BTreeMap<chrono::NaiveDate, f64>, range: Range) -> Vec<f64> {
    range
        .start
        .iter_days()
        .take_while(|d| *d < range.end)
        .map(|d| days.get(&d).copied().unwrap_or(0.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::forecast::{AnnualMethod, ForecastMethod};
    use crate::request::{windows, Period};
    use crate::source::EnvironmentDay;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    /// The account's month end and year ahead, as Cost Explorer would forecast them in November.
    fn outlook(month_end: f64, next_12_months: f64) -> (Forecast, AnnualProjection) {
        (
            Forecast {
                month_end: Some(month_end),
                method: ForecastMethod::CostExplorer,
                days_with_data: 15,
                new_month: None,
            },
            AnnualProjection {
                trailing_12_months: None,
                trailing_range: None,
                next_12_months: Some(next_12_months),
                next_from: d(1),
                next_to: NaiveDate::from_ymd_opt(2027, 10, 1).unwrap(),
                method: AnnualMethod::CostExplorerForecast,
            },
        )
    }

    fn config(by: Dimension) -> Environments {
        Environments {
            by,
            account_names: BTreeMap::from([("111122223333".to_string(), "prod".to_string())]),
            budgets: BTreeMap::from([("prod".to_string(), 600.0), ("qa".to_string(), 50.0)]),
        }
    }

    #[test]
    fn dimensions_parse_and_keys_name_environments() {
        assert_eq!(
            Dimension::parse("TAG:Environment"),
            Some(Dimension::Tag("Environment".into()))
        );
        assert_eq!(
            Dimension::parse("cost_category:Env"),
            Some(Dimension::CostCategory("Env".into()))
        );
        assert_eq!(Dimension::parse("linked_account"), Some(Dimension::LinkedAccount));
        assert_eq!(Dimension::parse("TAG:"), None);
        assert_eq!(Dimension::parse("SERVICE"), None);
        let tags = config(Dimension::Tag("Environment".into()));
        assert_eq!(tags.name_of("Environment$prod"), ("prod".into(), false));
        assert_eq!(tags.name_of("Environment$"), ("(untagged)".into(), true));
        let accounts = config(Dimension::LinkedAccount);
        assert_eq!(accounts.name_of("111122223333"), ("prod".into(), false));
        assert_eq!(accounts.name_of("444455556666"), ("444455556666".into(), false));
    }

    #[test]
    fn each_environment_gets_its_share_its_budget_and_its_top_services_and_untagged_stays_apart() {
        let today = d(16);
        let w = windows(Period::Monthly, today);
        let mut days = Vec::new();
        for day in w.query.start.iter_days().take_while(|x| *x < today) {
            days.push(EnvironmentDay {
                date: day,
                costs: vec![
                    ("Environment$prod".into(), "EC2".into(), 30.0),
                    ("Environment$prod".into(), "RDS".into(), 10.0),
                    ("Environment$prod".into(), "S3".into(), 2.0),
                    ("Environment$prod".into(), "Lambda".into(), 1.0),
                    ("Environment$dev".into(), "EC2".into(), 5.0),
                    ("Environment$".into(), "S3".into(), 5.0),
                ],
            });
        }
        let series = EnvironmentSeries { days, requests: 1 };
        let mtd = 15.0 * 53.0;
        let (forecast, annual) = outlook(30.0 * 53.0, 12.0 * 30.0 * 53.0);
        let out = lines(
            &config(Dimension::Tag("Environment".into())),
            &series,
            &w,
            mtd,
            &forecast,
            &annual,
        );
        let names: Vec<&str> = out.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["prod", "dev", "qa", "(untagged)"],
            "biggest first, untagged last"
        );
        let prod = &out[0];
        assert_eq!(prod.month_to_date, 15.0 * 43.0);
        assert!((prod.forecast_month_end.unwrap() - 30.0 * 43.0).abs() < 1e-9);
        assert!((prod.annual_projection.unwrap() - 12.0 * 30.0 * 43.0).abs() < 1e-6);
        let budget = prod.budget.as_ref().unwrap();
        assert!(budget.forecast_over, "1,290 forecast against 600");
        assert_eq!(
            prod.top_services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            vec!["EC2", "RDS", "S3"]
        );
        assert_eq!(
            prod.change_pct,
            Some(0.0),
            "15 days against 15 days of October, same rate"
        );
        assert_eq!(prod.daily, vec![43.0; 14]);
        let qa = &out[2];
        assert_eq!(
            (qa.month_to_date, qa.budget.as_ref().unwrap().monthly),
            (0.0, 50.0),
            "a budget with no cost is still a line"
        );
        assert!(out[3].untagged);
        assert_eq!(out[3].month_to_date, 75.0);
        let sum: f64 = out.iter().filter_map(|l| l.forecast_month_end).sum();
        assert!(
            (sum - 30.0 * 53.0).abs() < 1e-6,
            "the environments add up to the account"
        );
    }

    #[test]
    fn a_credit_on_one_line_does_not_inflate_the_others() {
        let today = d(16);
        let w = windows(Period::Monthly, today);
        let days = d(1)
            .iter_days()
            .take_while(|x| *x < today)
            .map(|date| EnvironmentDay {
                date,
                costs: vec![
                    ("Environment$prod".into(), "EC2".into(), 100.0),
                    ("Environment$".into(), "Credits".into(), -99.0),
                ],
            })
            .collect();
        let series = EnvironmentSeries { days, requests: 1 };
        let mtd = 15.0;
        let (forecast, annual) = outlook(30.0, 360.0);
        let out = lines(
            &config(Dimension::Tag("Environment".into())),
            &series,
            &w,
            mtd,
            &forecast,
            &annual,
        );
        let prod = out.iter().find(|l| l.name == "prod").unwrap();
        assert_eq!(prod.share, Some(1.0), "all of the positive cost");
        assert_eq!(
            prod.forecast_month_end,
            Some(1500.0 + 15.0),
            "its own 1,500 plus the account's rest"
        );
        assert_eq!(prod.annual_projection, Some(360.0));
        let untagged = out.iter().find(|l| l.untagged).unwrap();
        assert_eq!(untagged.share, Some(0.0));
        assert!(out
            .iter()
            .all(|l| l.forecast_month_end.is_some_and(f64::is_finite)));
    }
}
