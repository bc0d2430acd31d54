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
            tracing::warn!(error = %e, "Cost Explorer's forecast is unavailable; projecting the run rate");
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
        Some(monitor) => {
            requests += 1;
            match ports.source.anomalies(monitor, windows.current).await {
                Ok(found) => (found, None),
                // Said in the report: an empty list must not read as "no anomalies".
                Err(e) => {
                    tracing::warn!(error = %e, "could not read cost anomalies");
                    (Vec::new(), Some(e.to_string()))
                }
            }
        }
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
    ports.metrics.put(&points(&analysis)).await?;
    tracing::info!(%subject, requests, "report published");
    Ok(ReportOutput {
        subject,
        report: analysis,
        text,
    })
}

/// `CostMonthToDate`, `CostForecastMonthEnd` and `CostAnnualProjection`, for the account and per
/// environment (dimension `Environment`), so an alarm can watch a budget and `ops status` can show them.
pub fn points(a: &Analysis) -> Vec<Metric> {
    let mut points = vec![Metric::new("CostMonthToDate", a.month_to_date, Unit::None)];
    if let Some(f) = a.forecast.month_end {
        points.push(Metric::new("CostForecastMonthEnd", f, Unit::None));
    }
    if let Some(y) = a.annual_projection.next_12_months {
        points.push(Metric::new("CostAnnualProjection", y, Unit::None));
    }
    for env in &a.environments {
        let with = |m: Metric| m.dimension("Environment", env.name.clone());
        points.push(with(Metric::new(
            "CostMonthToDate",
            env.month_to_date,
            Unit::None,
        )));
        if let Some(f) = env.forecast_month_end {
            points.push(with(Metric::new("CostForecastMonthEnd", f, Unit::None)));
        }
        if let Some(y) = env.annual_projection {
            points.push(with(Metric::new("CostAnnualProjection", y, Unit::None)));
        }
    }
    points
}
