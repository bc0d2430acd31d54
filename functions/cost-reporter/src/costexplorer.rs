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
use crate::source::{
    Anomaly, CostQuery, CostSource, DayCost, EnvironmentDay, EnvironmentSeries, ForecastMonths,
    Recommendation, Series,
};

pub struct CostExplorer {
    pub(crate) client: Client,
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

pub(crate) fn ce_error<E, R>(
    operation: &'static str,
    e: &aws_sdk_costexplorer::error::SdkError<E, R>,
) -> CostError
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

/// One day's groups as Cost Explorer keys them, before naming.
struct RawDay {
    date: NaiveDate,
    estimated: bool,
    groups: Vec<(Vec<String>, f64)>,
}

impl CostExplorer {
    /// Every page of one GetCostAndUsage; a result without groups gives its total under no key.
    async fn cost_and_usage(
        &self,
        query: &CostQuery,
        granularity: Granularity,
    ) -> Result<(String, Vec<RawDay>, usize), CostError> {
        let mut days = Vec::new();
        let mut currency = String::new();
        let mut token: Option<String> = None;
        let mut requests = 0;
        loop {
            let mut call = self
                .client
                .get_cost_and_usage()
                .time_period(interval(query.range))
                .granularity(granularity.clone())
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
                    groups.push((g.keys().to_vec(), amount));
                }
                if groups.is_empty() {
                    if let Some(total) = result.total().and_then(|t| t.get(&query.metric)) {
                        currency = total.unit().unwrap_or(&currency).to_string();
                        groups.push((
                            Vec::new(),
                            total.amount().and_then(|a| a.parse().ok()).unwrap_or(0.0),
                        ));
                    }
                }
                days.push(RawDay {
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
        Ok((currency, days, requests))
    }
}

#[async_trait]
impl CostSource for CostExplorer {
    async fn daily_costs(&self, query: &CostQuery) -> Result<Series, CostError> {
        let (currency, raw, requests) = self.cost_and_usage(query, Granularity::Daily).await?;
        let days = raw
            .into_iter()
            .map(|day| DayCost {
                date: day.date,
                estimated: day.estimated,
                groups: day
                    .groups
                    .into_iter()
                    .map(|(keys, amount)| {
                        let name = if keys.is_empty() {
                            "Total".to_string()
                        } else {
                            keys.iter().map(|k| pretty_key(k)).collect::<Vec<_>>().join(" / ")
                        };
                        (name, amount)
                    })
                    .collect(),
            })
            .collect();
        Ok(Series {
            currency,
            days,
            requests,
        })
    }

    async fn environment_costs(&self, query: &CostQuery) -> Result<EnvironmentSeries, CostError> {
        let (_, raw, requests) = self.cost_and_usage(query, Granularity::Daily).await?;
        let days = raw
            .into_iter()
            .map(|day| EnvironmentDay {
                date: day.date,
                costs: day
                    .groups
                    .into_iter()
                    .map(|(mut keys, amount)| {
                        keys.resize(2, String::new());
                        let service = keys.pop().unwrap_or_default();
                        let environment = keys.pop().unwrap_or_default();
                        (environment, service, amount)
                    })
                    .collect(),
            })
            .collect();
        Ok(EnvironmentSeries { days, requests })
    }

    async fn monthly_totals(&self, query: &CostQuery) -> Result<(Vec<(NaiveDate, f64)>, usize), CostError> {
        let (_, raw, requests) = self.cost_and_usage(query, Granularity::Monthly).await?;
        let months = raw
            .into_iter()
            .map(|m| (m.date, m.groups.iter().map(|(_, c)| c).sum()))
            .collect();
        Ok((months, requests))
    }

    async fn forecast(
        &self,
        metric: &str,
        range: Range,
        exclude_record_types: &[String],
    ) -> Result<ForecastMonths, CostError> {
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
        let months: Vec<(NaiveDate, f64)> = out
            .forecast_results_by_time()
            .iter()
            .filter_map(|r| {
                let start = NaiveDate::parse_from_str(r.time_period()?.start(), "%Y-%m-%d").ok()?;
                Some((start, r.mean_value()?.parse().ok()?))
            })
            .collect();
        // A total without its months cannot be split into this month and the rest of the year:
        // better the labelled run rate than a year's forecast counted as one month.
        if months.is_empty() {
            return Err(CostError::CostExplorer {
                operation: "GetCostForecast",
                reason: "the answer has no monthly figures".into(),
                retryable: false,
            });
        }
        Ok(ForecastMonths { months })
    }

    async fn anomalies(&self, monitor_arn: &str, range: Range) -> Result<(Vec<Anomaly>, usize), CostError> {
        let dates = AnomalyDateInterval::builder()
            .start_date(range.start.to_string())
            .end_date(range.end.to_string())
            .build()
            .expect("start is set");
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
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
            pages += 1;
            found.extend(out.anomalies().iter().cloned());
            match out.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        let anomalies = found
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
            .collect();
        Ok((anomalies, pages))
    }

    async fn savings_plans(&self) -> Result<Vec<Recommendation>, CostError> {
        crate::ce_recommendations::savings_plans(&self.client).await
    }

    async fn reservations(&self, service: &str) -> Result<Vec<Recommendation>, CostError> {
        crate::ce_recommendations::reservations(&self.client, service).await
    }

    async fn rightsizing(&self) -> Result<Vec<Recommendation>, CostError> {
        crate::ce_recommendations::rightsizing(&self.client).await
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
