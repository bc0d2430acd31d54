//! One report: the daily costs (every page), the twelve-month forecast, the environments, the
//! trailing year and the recommendations where the period calls for them, anomalies when a monitor
//! is set; then the email, the metrics and the invocation's result. Only the daily costs are
//! essential: any other part that fails is said in the report, which still goes out.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use ops_shared::{Metric, MetricSink, Notification, Notifier, Unit};
use serde::Serialize;
use serde_json::Value;

use crate::analysis::{analyse, Analysis, Fetched};
use crate::config::{Config, ReportInput};
use crate::error::CostError;
use crate::forecast::ForecastInput;
use crate::recommendations;
use crate::render;
use crate::request::{forecast_range, trailing_year, windows, Period, Windows};
use crate::source::{CleanupReader, CostQuery, CostSource, EnvironmentSeries, Series};

#[derive(Debug, Clone, Serialize)]
pub struct ReportOutput {
    pub subject: String,
    pub report: Analysis,
    pub text: String,
    /// Whether the Cost* metrics went to CloudWatch: `published`, `not published: why`, `failed: why`.
    pub metrics: String,
}

/// What a report talks to.
pub struct Ports<'a> {
    pub source: &'a dyn CostSource,
    pub cleanup: &'a dyn CleanupReader,
    pub notifier: &'a dyn Notifier,
    pub metrics: &'a dyn MetricSink,
}

/// The services with spend in the report's period, where the grouping shows them.
fn services_spent(
    input: &ReportInput,
    series: &Series,
    envs: Option<&EnvironmentSeries>,
    w: &Windows,
) -> Option<BTreeSet<String>> {
    if let Some(envs) = envs {
        return Some(
            envs.days
                .iter()
                .filter(|d| w.current.contains(d.date))
                .flat_map(|d| {
                    d.costs
                        .iter()
                        .filter(|(_, _, c)| *c >= 0.005)
                        .map(|(_, s, _)| s.clone())
                })
                .collect(),
        );
    }
    (input.group_by == ["SERVICE"]).then(|| {
        series
            .days
            .iter()
            .filter(|d| w.current.contains(d.date))
            .flat_map(|d| {
                d.groups
                    .iter()
                    .filter(|(_, c)| *c >= 0.005)
                    .map(|(s, _)| s.clone())
            })
            .collect()
    })
}

pub async fn report(
    ports: &Ports<'_>,
    config: &Config,
    event: &Value,
    today: NaiveDate,
) -> Result<ReportOutput, CostError> {
    let input = config.input(event)?;
    let windows = windows(input.period, today);
    let query = |range, group_by: Vec<String>| CostQuery {
        range,
        metric: input.metric.clone(),
        group_by,
        exclude_record_types: input.exclude_record_types.clone(),
    };
    let series = ports
        .source
        .daily_costs(&query(windows.query, input.group_by.clone()))
        .await?;
    let mut requests = series.requests;
    let mut unread: Vec<(String, String)> = Vec::new();
    let mut said = |part: &str, e: CostError| {
        tracing::warn!(error = %e, part, "a part of the report could not be read");
        unread.push((part.to_string(), e.to_string()));
    };

    // Twelve monthly figures: the first is the rest of this month (on the 1st, all of it).
    requests += 1;
    let forecast = match ports
        .source
        .forecast(&input.metric, forecast_range(today), &input.exclude_record_types)
        .await
    {
        Ok(months) => ForecastInput::Months(months),
        Err(e) => {
            said("forecast", e);
            ForecastInput::Failed
        }
    };

    let environments = match &config.environments {
        Some(envs) => {
            let q = query(windows.query, vec![envs.by.group_by(), "SERVICE".into()]);
            match ports.source.environment_costs(&q).await {
                Ok(s) => {
                    requests += s.requests;
                    Some((envs.clone(), s))
                }
                Err(e) => {
                    requests += 1;
                    said("environments", e);
                    None
                }
            }
        }
        None => None,
    };

    // A daily report stays within three requests: the trailing year only when no environments
    // are asked for.
    let trailing = if input.period != Period::Daily || config.environments.is_none() {
        let range = trailing_year(today);
        match ports.source.monthly_totals(&query(range, Vec::new())).await {
            Ok((months, n)) => {
                requests += n;
                Some((range, months.iter().map(|(_, v)| v).sum()))
            }
            Err(e) => {
                requests += 1;
                said("trailing 12 months", e);
                None
            }
        }
    } else {
        None
    };

    let (anomalies, anomalies_unread) = match &config.anomaly_monitor {
        Some(monitor) => match ports.source.anomalies(monitor, windows.current).await {
            Ok((found, pages)) => {
                requests += pages;
                (found, None)
            }
            // Said in the report: an empty list must not read as "no anomalies".
            Err(e) => {
                requests += 1;
                {
                    tracing::warn!(error = %e, "could not read cost anomalies");
                    (Vec::new(), Some(e.to_string()))
                }
            }
        },
        None => (Vec::new(), None),
    };

    let advice = if input.period == Period::Daily {
        None
    } else {
        let spent = services_spent(&input, &series, environments.as_ref().map(|(_, s)| s), &windows);
        let r = recommendations::gather(ports.source, ports.cleanup, spent.as_ref(), &series.currency).await;
        requests += r.requests;
        Some(r)
    };

    let fetched = Fetched {
        series,
        forecast,
        trailing,
        environments,
        anomalies,
        requests,
    };
    let mut analysis = analyse(&input, &windows, &fetched);
    analysis.anomalies_unread = anomalies_unread;
    analysis.recommendations = advice;
    analysis.unread = unread;
    let subject = render::subject(&analysis);
    let text = render::text(&analysis);
    ports
        .notifier
        .notify(&Notification {
            subject: subject.clone(),
            message: text.clone(),
        })
        .await?;
    // An ad-hoc report on another basis must not overwrite the series an alarm watches; and the
    // email is out, so a failure here is said, not retried (a retry would mail the report again).
    let metrics = if input.metric != config.defaults.metric
        || input.exclude_record_types != config.defaults.exclude_record_types
        || input.budget_monthly != config.defaults.budget_monthly
    {
        "not published: this report's metric, record types or budget are not the configured ones".to_string()
    } else {
        match ports.metrics.put(&points(&analysis)).await {
            Ok(_) => "published".to_string(),
            Err(e) => {
                tracing::error!(error = %e, "the cost metrics were not published; the report was");
                format!("failed: {e}")
            }
        }
    };
    tracing::info!(%subject, requests, %metrics, "report published");
    Ok(ReportOutput {
        subject,
        report: analysis,
        text,
        metrics,
    })
}

/// The figures of "this month" for one line (the account or an environment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub month_to_date: f64,
    pub forecast_month_end: Option<f64>,
    pub annual_projection: Option<f64>,
    pub budget: Option<f64>,
}

/// What "this month" is for anyone reading the report's figures as the state of things (the
/// metrics, `ops status --live`): on the 1st, the month that starts today (nothing spent yet, and
/// its whole forecast), never the month that ended; otherwise the report's month to date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    pub account: Figures,
    pub environments: Vec<(String, Figures)>,
}

pub fn headline(a: &Analysis) -> Headline {
    let new_month = a.windows.month_complete();
    let account = Figures {
        month_to_date: if new_month { 0.0 } else { a.month_to_date },
        forecast_month_end: if new_month {
            a.forecast.new_month
        } else {
            a.forecast.month_end
        },
        annual_projection: a.annual_projection.next_12_months,
        budget: a.budget.as_ref().map(|b| b.monthly),
    };
    let environments = a
        .environments
        .iter()
        .map(|env| {
            let figures = Figures {
                month_to_date: if new_month { 0.0 } else { env.month_to_date },
                forecast_month_end: if new_month {
                    a.forecast.new_month.zip(env.share).map(|(f, s)| f * s)
                } else {
                    env.forecast_month_end
                },
                annual_projection: env.annual_projection,
                budget: env.budget.as_ref().map(|b| b.monthly),
            };
            (env.name.clone(), figures)
        })
        .collect();
    Headline {
        account,
        environments,
    }
}

/// `CostMonthToDate`, `CostForecastMonthEnd`, `CostAnnualProjection` and `CostBudget` (the budget
/// beside the figures, so a reader of the metrics can say its use), for the account and per
/// environment (dimension `Environment`), from the [`headline`]: a budget alarm must not fire for
/// a closed month.
pub fn points(a: &Analysis) -> Vec<Metric> {
    let h = headline(a);
    let mut points = Vec::new();
    let mut add = |f: &Figures, env: Option<&str>| {
        let with = |m: Metric| match env {
            Some(e) => m.dimension("Environment", e),
            None => m,
        };
        points.push(with(Metric::new("CostMonthToDate", f.month_to_date, Unit::None)));
        for (name, value) in [
            ("CostForecastMonthEnd", f.forecast_month_end),
            ("CostAnnualProjection", f.annual_projection),
            ("CostBudget", f.budget),
        ] {
            if let Some(v) = value {
                points.push(with(Metric::new(name, v, Unit::None)));
            }
        }
    };
    add(&h.account, None);
    for (name, figures) in &h.environments {
        add(figures, Some(name));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use ops_shared::metrics::PutSummary;
    use ops_shared::SharedError;

    use crate::request::Range;
    use crate::source::{
        Anomaly, CleanupFigures, DayCost, EnvironmentDay, ForecastMonths, Recommendation, RESERVED_SERVICES,
    };

    /// Every reserved service had spend, in every environment: the most a report asks for.
    struct Counting {
        calls: AtomicUsize,
    }

    impl Counting {
        fn call(&self) {
            self.calls.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn day_range(range: Range) -> Vec<chrono::NaiveDate> {
        range.start.iter_days().take_while(|d| *d < range.end).collect()
    }

    #[async_trait]
    impl CostSource for Counting {
        async fn daily_costs(&self, q: &CostQuery) -> Result<Series, CostError> {
            self.call();
            let days = day_range(q.range)
                .into_iter()
                .map(|date| DayCost {
                    date,
                    estimated: false,
                    groups: RESERVED_SERVICES.iter().map(|s| (s.to_string(), 10.0)).collect(),
                })
                .collect();
            Ok(Series {
                currency: "USD".into(),
                days,
                requests: 1,
            })
        }
        async fn environment_costs(&self, q: &CostQuery) -> Result<EnvironmentSeries, CostError> {
            self.call();
            let days = day_range(q.range)
                .into_iter()
                .map(|date| EnvironmentDay {
                    date,
                    costs: RESERVED_SERVICES
                        .iter()
                        .map(|s| ("Environment$prod".to_string(), s.to_string(), 10.0))
                        .collect(),
                })
                .collect();
            Ok(EnvironmentSeries { days, requests: 1 })
        }
        async fn monthly_totals(&self, _: &CostQuery) -> Result<(Vec<(NaiveDate, f64)>, usize), CostError> {
            self.call();
            Ok((Vec::new(), 1))
        }
        async fn forecast(&self, _: &str, range: Range, _: &[String]) -> Result<ForecastMonths, CostError> {
            self.call();
            Ok(ForecastMonths {
                months: vec![(range.start, 100.0)],
            })
        }
        async fn anomalies(&self, _: &str, _: Range) -> Result<(Vec<Anomaly>, usize), CostError> {
            self.call();
            Ok((Vec::new(), 1))
        }
        async fn savings_plans(&self) -> Result<Vec<Recommendation>, CostError> {
            self.call();
            Ok(Vec::new())
        }
        async fn reservations(&self, _: &str) -> Result<Vec<Recommendation>, CostError> {
            self.call();
            Ok(Vec::new())
        }
        async fn rightsizing(&self) -> Result<Vec<Recommendation>, CostError> {
            self.call();
            Ok(Vec::new())
        }
    }

    struct Nowhere;

    #[async_trait]
    impl CleanupReader for Nowhere {
        async fn latest(&self) -> Result<Option<CleanupFigures>, CostError> {
            Ok(None)
        }
    }

    #[async_trait]
    impl Notifier for Nowhere {
        async fn notify(&self, _: &Notification) -> Result<String, SharedError> {
            Ok("sent".into())
        }
    }

    #[async_trait]
    impl MetricSink for Nowhere {
        async fn put(&self, m: &[Metric]) -> Result<PutSummary, SharedError> {
            Ok(PutSummary {
                sent: m.len(),
                dropped: 0,
                requests: 1,
            })
        }
    }

    #[tokio::test]
    async fn the_request_budget_holds_at_its_worst() {
        let config = Config::from_vars(&ops_shared::Vars::from_pairs([
            ("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:reports"),
            ("COST_ENVIRONMENTS", "TAG:Environment"),
        ]))
        .unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
        for (period, most) in [("daily", 3), ("weekly", 10), ("monthly", 10)] {
            let source = Counting {
                calls: AtomicUsize::new(0),
            };
            let ports = Ports {
                source: &source,
                cleanup: &Nowhere,
                notifier: &Nowhere,
                metrics: &Nowhere,
            };
            let out = report(&ports, &config, &serde_json::json!({"period": period}), today)
                .await
                .unwrap();
            let calls = source.calls.load(Ordering::SeqCst);
            assert_eq!(calls, most, "{period}");
            assert_eq!(
                out.report.requests, calls,
                "{period}: the footer counts what was asked"
            );
            assert!(out
                .text
                .contains(&format!("This report made {most} Cost Explorer request(s)")));
        }
    }

    fn value(points: &[Metric], name: &str, env: Option<&str>) -> Option<f64> {
        points
            .iter()
            .find(|m| {
                m.name == name
                    && m.dimensions
                        .iter()
                        .find(|(k, _)| k == "Environment")
                        .map(|(_, v)| v.as_str())
                        == env
            })
            .map(|m| m.value)
    }

    #[test]
    fn the_metrics_of_the_first_are_about_the_month_that_starts() {
        let mut a = crate::render_sections::tests::monthly();
        let mid = points(&a);
        assert_eq!(value(&mid, "CostMonthToDate", None), Some(a.month_to_date));
        assert_eq!(
            value(&mid, "CostForecastMonthEnd", Some("prod")),
            a.environments[0].forecast_month_end
        );
        assert!(value(&mid, "CostAnnualProjection", Some("(untagged)")).is_some());
        assert_eq!(value(&mid, "CostBudget", None), Some(2000.0));
        assert_eq!(value(&mid, "CostBudget", Some("prod")), Some(1500.0));
        assert_eq!(
            value(&mid, "CostBudget", Some("dev")),
            None,
            "no budget, no figure"
        );

        // The same report as if run on the 1st of December with December's forecast at 2,400.
        a.windows = crate::request::windows(
            crate::request::Period::Monthly,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        );
        a.forecast.new_month = Some(2400.0);
        let first = points(&a);
        assert_eq!(value(&first, "CostMonthToDate", None), Some(0.0));
        assert_eq!(
            value(&first, "CostForecastMonthEnd", None),
            Some(2400.0),
            "December's, not November's total"
        );
        let prod = value(&first, "CostForecastMonthEnd", Some("prod")).unwrap();
        assert!((prod - 2400.0 * a.environments[0].share.unwrap()).abs() < 1e-9);
    }
}
