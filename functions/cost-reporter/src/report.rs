//! One report: one GetCostAndUsage (every page), the forecast, anomalies when a monitor is set,
//! then the email, the metrics and the invocation's result.

use chrono::{Datelike, NaiveDate};
use ops_shared::{Metric, MetricSink, Notification, Notifier, Unit};
use serde::Serialize;
use serde_json::Value;

use crate::analysis::{analyse, Analysis, ForecastInput};
use crate::config::Config;
use crate::error::CostError;
use crate::render;
use crate::request::{next_month, windows, Range};
use crate::source::{CostQuery, CostSource};

#[derive(Debug, Clone, Serialize)]
pub struct ReportOutput {
    pub subject: String,
    pub report: Analysis,
    pub text: String,
}

pub async fn report(
    source: &dyn CostSource,
    notifier: &dyn Notifier,
    metrics: &dyn MetricSink,
    config: &Config,
    event: &Value,
    today: NaiveDate,
) -> Result<ReportOutput, CostError> {
    let input = config.input(event)?;
    let windows = windows(input.period, today);
    let query = CostQuery {
        range: windows.query,
        metric: input.metric.clone(),
        group_by: input.group_by.clone(),
        exclude_record_types: input.exclude_record_types.clone(),
    };
    let series = source.daily_costs(&query).await?;
    let mut requests = series.requests;

    // On the 1st, "month to date" is the whole month that just ended: there is nothing to forecast.
    let forecast = if today.day() == 1 {
        ForecastInput::MonthComplete
    } else {
        requests += 1;
        match source
            .forecast(
                &input.metric,
                Range {
                    start: today,
                    end: next_month(today),
                },
                &input.exclude_record_types,
            )
            .await
        {
            Ok(rest) => ForecastInput::Remaining(rest),
            Err(e) => {
                tracing::warn!(error = %e, "Cost Explorer's forecast is unavailable; projecting the run rate");
                ForecastInput::Failed
            }
        }
    };
    let (anomalies, anomalies_unread) = match &config.anomaly_monitor {
        Some(monitor) => {
            requests += 1;
            match source.anomalies(monitor, windows.current).await {
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

    let mut analysis = analyse(&input, &windows, &series, forecast, anomalies, requests);
    analysis.anomalies_unread = anomalies_unread;
    let subject = render::subject(&analysis);
    let text = render::text(&analysis);
    notifier
        .notify(&Notification {
            subject: subject.clone(),
            message: text.clone(),
        })
        .await?;

    let mut points = vec![Metric::new("CostMonthToDate", analysis.month_to_date, Unit::None)];
    if let Some(f) = analysis.forecast.month_end {
        points.push(Metric::new("CostForecastMonthEnd", f, Unit::None));
    }
    metrics.put(&points).await?;
    tracing::info!(%subject, requests, "report published");
    Ok(ReportOutput {
        subject,
        report: analysis,
        text,
    })
}
