//! The Cost Explorer adapter of [`CostSource`].

use async_trait::async_trait;
use aws_sdk_costexplorer::types::{
    AnomalyDateInterval, DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, Metric,
};
use aws_sdk_costexplorer::Client;
use chrono::NaiveDate;
use ops_shared::error::{sdk_message_with, sdk_retryable};

use crate::error::CostError;
use crate::request::Range;
use crate::source::{Anomaly, CostQuery, CostSource, DayCost, Series};

pub struct CostExplorer {
    client: Client,
}

impl CostExplorer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn interval(range: Range) -> DateInterval {
    DateInterval::builder()
        .start(range.start.to_string())
        .end(range.end.to_string())
        .build()
        .expect("start and end are set")
}

/// Every record type but the excluded ones (credits, refunds, ...), or no filter at all.
fn without_record_types(excluded: &[String]) -> Option<Expression> {
    if excluded.is_empty() {
        return None;
    }
    let record_types = DimensionValues::builder()
        .key(Dimension::RecordType)
        .set_values(Some(excluded.to_vec()))
        .build();
    Some(
        Expression::builder()
            .not(Expression::builder().dimensions(record_types).build())
            .build(),
    )
}

fn group_definition(group: &str) -> GroupDefinition {
    let (kind, key) = match group.split_once(':') {
        Some(("TAG", key)) => (GroupDefinitionType::Tag, key),
        Some(("COST_CATEGORY", key)) => (GroupDefinitionType::CostCategory, key),
        _ => (GroupDefinitionType::Dimension, group),
    };
    GroupDefinition::builder().r#type(kind).key(key).build()
}

/// `team$platform` → `team: platform`; `team$` → `team: (untagged)`; dimension values as they are.
fn pretty_key(key: &str) -> String {
    match key.split_once('$') {
        Some((name, "")) => format!("{name}: (untagged)"),
        Some((name, value)) => format!("{name}: {value}"),
        None => key.to_string(),
    }
}

fn forecast_metric(metric: &str) -> Metric {
    match metric {
        "AmortizedCost" => Metric::AmortizedCost,
        "NetUnblendedCost" => Metric::NetUnblendedCost,
        _ => Metric::UnblendedCost,
    }
}

fn ce_error<E, R>(operation: &'static str, e: &aws_sdk_costexplorer::error::SdkError<E, R>) -> CostError
where
    E: aws_sdk_costexplorer::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    CostError::CostExplorer {
        operation,
        // Cost Explorer throttles with LimitExceededException ("too many calls in a short period").
        reason: sdk_message_with(e, &["LimitExceededException"]),
        retryable: sdk_retryable(e),
    }
}

#[async_trait]
impl CostSource for CostExplorer {
    async fn daily_costs(&self, query: &CostQuery) -> Result<Series, CostError> {
        let mut days = Vec::new();
        let mut currency = String::new();
        let mut token: Option<String> = None;
        let mut requests = 0;
        loop {
            let mut call = self
                .client
                .get_cost_and_usage()
                .time_period(interval(query.range))
                .granularity(Granularity::Daily)
                .metrics(&query.metric)
                .set_next_page_token(token.clone());
            for g in &query.group_by {
                call = call.group_by(group_definition(g));
            }
            if let Some(filter) = without_record_types(&query.exclude_record_types) {
                call = call.filter(filter);
            }
            let out = call.send().await.map_err(|e| ce_error("GetCostAndUsage", &e))?;
            requests += 1;
            for result in out.results_by_time() {
                let Some(date) = result
                    .time_period()
                    .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())
                else {
                    continue;
                };
                let mut groups = Vec::new();
                for g in result.groups() {
                    let Some(value) = g.metrics().and_then(|m| m.get(&query.metric)) else {
                        continue;
                    };
                    if currency.is_empty() {
                        currency = value.unit().unwrap_or_default().to_string();
                    }
                    let amount = value.amount().and_then(|a| a.parse::<f64>().ok()).unwrap_or(0.0);
                    let name = g
                        .keys()
                        .iter()
                        .map(|k| pretty_key(k))
                        .collect::<Vec<_>>()
                        .join(" / ");
                    groups.push((name, amount));
                }
                if groups.is_empty() {
                    if let Some(total) = result.total().and_then(|t| t.get(&query.metric)) {
                        currency = total.unit().unwrap_or(&currency).to_string();
                        groups.push((
                            "Total".into(),
                            total.amount().and_then(|a| a.parse().ok()).unwrap_or(0.0),
                        ));
                    }
                }
                days.push(DayCost {
                    date,
                    estimated: result.estimated(),
                    groups,
                });
            }
            token = out
                .next_page_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if currency.is_empty() {
            currency = "USD".into();
        }
        Ok(Series {
            currency,
            days,
            requests,
        })
    }

    async fn forecast(
        &self,
        metric: &str,
        range: Range,
        exclude_record_types: &[String],
    ) -> Result<f64, CostError> {
        let out = self
            .client
            .get_cost_forecast()
            .time_period(interval(range))
            .metric(forecast_metric(metric))
            .granularity(Granularity::Monthly)
            // The actuals' basis: month end is actual-to-date plus this, credits counted alike.
            .set_filter(without_record_types(exclude_record_types))
            .send()
            .await
            .map_err(|e| ce_error("GetCostForecast", &e))?;
        out.total()
            .and_then(|t| t.amount())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| CostError::CostExplorer {
                operation: "GetCostForecast",
                reason: "no total in the answer".into(),
                retryable: false,
            })
    }

    async fn anomalies(&self, monitor_arn: &str, range: Range) -> Result<Vec<Anomaly>, CostError> {
        let dates = AnomalyDateInterval::builder()
            .start_date(range.start.to_string())
            .end_date(range.end.to_string())
            .build()
            .expect("start is set");
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get_anomalies()
                .monitor_arn(monitor_arn)
                .date_interval(dates.clone())
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| ce_error("GetAnomalies", &e))?;
            found.extend(out.anomalies().iter().cloned());
            match out.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(found
            .iter()
            .map(|a| Anomaly {
                start: a
                    .anomaly_start_date()
                    .unwrap_or_default()
                    .chars()
                    .take(10)
                    .collect(),
                dimension: a.dimension_value().unwrap_or("(unknown)").to_string(),
                impact: a.impact().map(|i| i.total_impact()).unwrap_or(0.0),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_and_category_keys_read_well() {
        assert_eq!(pretty_key("team$platform"), "team: platform");
        assert_eq!(pretty_key("team$"), "team: (untagged)");
        assert_eq!(
            pretty_key("Amazon Simple Storage Service"),
            "Amazon Simple Storage Service"
        );
    }
}
