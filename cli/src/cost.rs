//! The cost section and `ops cost`: from the metrics the cost-reporter publishes (no Cost Explorer
//! charge), or live from Cost Explorer through the cost-reporter's own code, sending nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::DimensionFilter;
use chrono::{DateTime, Utc};
use cost_reporter::ReportOutput;
use ops_shared::metrics::{maximum_query, PutSummary};
use ops_shared::{Metric, MetricSink, Notification, Notifier, SharedError};

use crate::error::OpsError;
use crate::status::{budget_use, Cost, EnvironmentCost};

const FIGURES: [&str; 4] = [
    "CostMonthToDate",
    "CostForecastMonthEnd",
    "CostAnnualProjection",
    "CostBudget",
];
/// The reporter runs daily: three days find its last run even after a missed one.
const LOOK_BACK: Duration = Duration::from_secs(3 * 86_400);
/// Environments the table shows (the JSON has every one).
pub const MOST_ENVIRONMENTS: usize = 100;

fn message<E: std::error::Error + 'static>(e: E) -> String {
    ops_shared::error::chain(&e)
}

/// The bill's currency: the metrics carry none (`COST_CURRENCY`, default USD).
pub fn currency() -> String {
    std::env::var("COST_CURRENCY")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "USD".into())
}

/// The environments the cost-reporter has published figures for.
async fn environments(cw: &aws_sdk_cloudwatch::Client) -> Result<BTreeSet<String>, String> {
    let mut names = BTreeSet::new();
    let mut pages = cw
        .list_metrics()
        .namespace(ops_shared::METRICS_NAMESPACE)
        .metric_name("CostMonthToDate")
        .dimensions(
            DimensionFilter::builder()
                .name("Function")
                .value("cost-reporter")
                .build(),
        )
        .dimensions(DimensionFilter::builder().name("Environment").build())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for m in page.map_err(message)?.metrics() {
            names.extend(
                m.dimensions()
                    .iter()
                    .filter(|d| d.name() == Some("Environment"))
                    .filter_map(|d| d.value().map(str::to_string)),
            );
        }
    }
    Ok(names)
}

/// The figures of the cost-reporter's latest run in the last three days, all from its hour
/// (`as_of` is the start of that hour).
pub async fn from_metrics(cw: &aws_sdk_cloudwatch::Client) -> Result<Cost, String> {
    let mut notes = Vec::new();
    // Without ListMetrics the account's figures still stand; only the environments are unseen.
    let envs: Vec<String> = match environments(cw).await {
        Ok(names) => names.into_iter().collect(),
        Err(e) => {
            notes.push(format!("environments could not be listed: {e}"));
            Vec::new()
        }
    };
    let mut queries = Vec::new();
    for (j, figure) in FIGURES.iter().enumerate() {
        queries.push(maximum_query(
            format!("a{j}"),
            figure,
            &[("Function", "cost-reporter")],
            3600,
        ));
        for (i, env) in envs.iter().enumerate() {
            // In the order the sink publishes them (moto matches dimensions in order).
            queries.push(maximum_query(
                format!("e{i}f{j}"),
                figure,
                &[("Environment", env), ("Function", "cost-reporter")],
                3600,
            ));
        }
    }
    let now = SystemTime::now();
    // Hour-long periods from a whole hour, so `as_of` names the hour the report was published in.
    let since = now - LOOK_BACK;
    let into_hour = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() % 3600)
        .unwrap_or(0);
    let since = since - Duration::from_secs(into_hour);
    let mut series: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for batch in queries.chunks(500) {
        let answer = cw
            .get_metric_data()
            .set_metric_data_queries(Some(batch.to_vec()))
            .start_time(since.into())
            .end_time((now + Duration::from_secs(3600)).into())
            .send()
            .await
            .map_err(message)?;
        crate::read::collect(answer.metric_data_results(), &mut series);
    }
    let Some(&at) = series.get("a0").and_then(|s| s.keys().next_back()) else {
        return Ok(Cost {
            source: Some("metrics".into()),
            note: Some("the cost-reporter published no cost figures in the last 3 days".into()),
            ..Cost::default()
        });
    };
    let value = |id: String| series.get(&id).and_then(|s| s.get(&at)).copied();
    let mut environments: Vec<EnvironmentCost> = envs
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let month_to_date = value(format!("e{i}f0"))?;
            let forecast = value(format!("e{i}f1"));
            let budget = value(format!("e{i}f3"));
            Some(EnvironmentCost {
                name: name.clone(),
                month_to_date: Some(month_to_date),
                forecast_month_end: forecast,
                annual_projection: value(format!("e{i}f2")),
                budget,
                budget_use_pct: budget_use(forecast, budget),
            })
        })
        .collect();
    // Biggest first; the screen shows the first hundred, the JSON all of them.
    environments.sort_by(|a, b| {
        b.month_to_date
            .unwrap_or(0.0)
            .total_cmp(&a.month_to_date.unwrap_or(0.0))
            .then(a.name.cmp(&b.name))
    });
    if environments.len() > MOST_ENVIRONMENTS {
        notes.push(format!(
            "{} environments; the table shows the {MOST_ENVIRONMENTS} biggest",
            environments.len()
        ));
    }
    let as_of = DateTime::from_timestamp(at, 0);
    if as_of.is_some_and(|t| Utc::now() - t > chrono::TimeDelta::hours(26)) {
        notes
            .push("no report in the last day: these figures are older than the daily report would be".into());
    }
    let forecast = value("a1".into());
    let budget = value("a3".into());
    Ok(Cost {
        month_to_date: value("a0".into()),
        forecast_month_end: forecast,
        annual_projection: value("a2".into()),
        currency: Some(currency()),
        budget,
        budget_use_pct: budget_use(forecast, budget),
        environments,
        as_of,
        source: Some("metrics".into()),
        requests: None,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

/// Sends nothing: `ops cost` prints what the cost-reporter would mail.
pub(crate) struct NotSent;

#[async_trait]
impl Notifier for NotSent {
    async fn notify(&self, _: &Notification) -> Result<String, SharedError> {
        Ok("not sent".into())
    }
}

#[async_trait]
impl MetricSink for NotSent {
    async fn put(&self, _: &[Metric]) -> Result<PutSummary, SharedError> {
        Ok(PutSummary {
            sent: 0,
            dropped: 0,
            requests: 0,
        })
    }
}

/// The cost-reporter's report for `period` (or its configured one), from Cost Explorer now, with
/// the cost-reporter's `COST_*` variables from this environment. Nothing is mailed or published.
pub async fn report(aws: &aws_config::SdkConfig, period: Option<&str>) -> Result<ReportOutput, OpsError> {
    report_with(aws, period, true).await
}

async fn report_with(
    aws: &aws_config::SdkConfig,
    period: Option<&str>,
    anomalies: bool,
) -> Result<ReportOutput, OpsError> {
    let mut vars = crate::function_vars("COST_", &[]);
    if !anomalies {
        vars.remove("COST_ANOMALY_MONITOR_ARN");
    }
    let config = cost_reporter::Config::from_vars(&ops_shared::Vars::from_pairs(vars))
        .map_err(|e| OpsError::Cost(e.to_string()))?;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(aws);
    let source = cost_reporter::costexplorer::CostExplorer::new(aws_sdk_costexplorer::Client::new(aws));
    let cleanup = cost_reporter::cleanup_figures::CloudWatchCleanup::new(cloudwatch, "cleanup-scanner");
    let ports = cost_reporter::Ports {
        source: &source,
        cleanup: &cleanup,
        notifier: &NotSent,
        metrics: &NotSent,
    };
    let event = match period {
        Some(p) => serde_json::json!({ "period": p }),
        None => serde_json::json!({}),
    };
    cost_reporter::report(&ports, &config, &event, Utc::now().date_naive())
        .await
        .map_err(|e| OpsError::Cost(e.to_string()))
}

/// `ops status --live`: a daily report's figures, as the metrics would give them (on the 1st, the
/// month that starts); three Cost Explorer requests, plus pages of a large account (anomalies are
/// not asked for: the section does not show them).
pub async fn live(aws: &aws_config::SdkConfig) -> Result<Cost, String> {
    let out = report_with(aws, Some("daily"), false)
        .await
        .map_err(|e| e.to_string())?;
    let a = &out.report;
    let h = cost_reporter::report::headline(a);
    let env = |(name, f): &(String, cost_reporter::report::Figures)| EnvironmentCost {
        name: name.clone(),
        month_to_date: Some(f.month_to_date),
        forecast_month_end: f.forecast_month_end,
        annual_projection: f.annual_projection,
        budget: f.budget,
        budget_use_pct: budget_use(f.forecast_month_end, f.budget),
    };
    Ok(Cost {
        month_to_date: Some(h.account.month_to_date),
        forecast_month_end: h.account.forecast_month_end,
        annual_projection: h.account.annual_projection,
        currency: Some(a.currency.clone()),
        budget: h.account.budget,
        budget_use_pct: budget_use(h.account.forecast_month_end, h.account.budget),
        environments: h.environments.iter().map(env).collect(),
        as_of: Some(Utc::now()),
        source: Some("live".into()),
        requests: Some(a.requests),
        note: Some(format!(
            "live from Cost Explorer: {} request(s), ${:.2}",
            a.requests, a.request_cost
        )),
    })
}
