//! The `MetricSink` port and its CloudWatch adapter.
//!
//! PutMetricData takes at most 1,000 datapoints and 1 MB per request and refuses non-finite
//! values; the adapter batches to stay inside those limits and drops (and counts) what CloudWatch
//! would reject, so one bad value never costs the whole batch.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, MetricDataQuery, MetricDatum, MetricStat, StandardUnit};

use crate::error::{sdk_message, sdk_retryable, SharedError};

/// Datapoints per PutMetricData request (the API's limit).
pub const MAX_DATAPOINTS_PER_REQUEST: usize = 1000;
/// Estimated request size we stay under; the API's limit is 1 MB of form-encoded body.
pub const MAX_REQUEST_BYTES: usize = 800 * 1024;
/// Dimension added to every datapoint: the logical name of the function that sent it.
pub const FUNCTION_DIMENSION: &str = "Function";

/// Largest magnitude CloudWatch accepts; smaller non-zero values than [`MIN_MAGNITUDE`] are rejected too.
const MAX_MAGNITUDE: f64 = 1.174_271e108;
const MIN_MAGNITUDE: f64 = 8.515_920e-109;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    None,
    Count,
    Milliseconds,
    Seconds,
    Percent,
    Bytes,
}

/// One datapoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    pub dimensions: Vec<(String, String)>,
    pub timestamp: Option<SystemTime>,
}

impl Metric {
    pub fn new(name: impl Into<String>, value: f64, unit: Unit) -> Self {
        Self {
            name: name.into(),
            value,
            unit,
            dimensions: Vec::new(),
            timestamp: None,
        }
    }

    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    pub fn at(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

/// What a put did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutSummary {
    /// Datapoints sent.
    pub sent: usize,
    /// Datapoints dropped because CloudWatch would refuse their value.
    pub dropped: usize,
    /// PutMetricData requests made.
    pub requests: usize,
}

#[async_trait]
pub trait MetricSink: Send + Sync {
    async fn put(&self, metrics: &[Metric]) -> Result<PutSummary, SharedError>;
}

/// Sends metrics to one CloudWatch namespace, tagged with the sending function's name.
pub struct CloudWatchSink {
    client: aws_sdk_cloudwatch::Client,
    namespace: String,
    function: String,
}

impl CloudWatchSink {
    pub fn new(
        client: aws_sdk_cloudwatch::Client,
        namespace: impl Into<String>,
        function: impl Into<String>,
    ) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            function: function.into(),
        }
    }
}

#[async_trait]
impl MetricSink for CloudWatchSink {
    async fn put(&self, metrics: &[Metric]) -> Result<PutSummary, SharedError> {
        let (valid, dropped): (Vec<Metric>, Vec<Metric>) = metrics
            .iter()
            .cloned()
            .map(|m| with_function(m, &self.function))
            .partition(|m| accepted_value(m.value));
        for m in &dropped {
            tracing::warn!(metric = %m.name, value = m.value, "dropped a datapoint CloudWatch would refuse");
        }
        let mut summary = PutSummary {
            dropped: dropped.len(),
            ..PutSummary::default()
        };
        for batch in batches(&valid) {
            let data: Vec<MetricDatum> = batch.iter().map(to_datum).collect();
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(data))
                .send()
                .await
                .map_err(|e| SharedError::PutMetrics {
                    namespace: self.namespace.clone(),
                    count: batch.len(),
                    reason: sdk_message(&e),
                    retryable: sdk_retryable(&e),
                })?;
            summary.requests += 1;
            summary.sent += batch.len();
        }
        Ok(summary)
    }
}

fn with_function(mut metric: Metric, function: &str) -> Metric {
    if !metric.dimensions.iter().any(|(k, _)| k == FUNCTION_DIMENSION) {
        metric
            .dimensions
            .push((FUNCTION_DIMENSION.to_string(), function.to_string()));
    }
    // CloudWatch refuses values too close to zero; they mean zero.
    if metric.value != 0.0 && metric.value.abs() < MIN_MAGNITUDE {
        metric.value = 0.0;
    }
    metric
}

fn accepted_value(value: f64) -> bool {
    value.is_finite() && value.abs() <= MAX_MAGNITUDE
}

/// Splits datapoints into requests within the count and size limits, in order.
pub fn batches(metrics: &[Metric]) -> Vec<&[Metric]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, m) in metrics.iter().enumerate() {
        let size = estimated_bytes(m);
        if i > start && (i - start == MAX_DATAPOINTS_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES) {
            out.push(&metrics[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < metrics.len() {
        out.push(&metrics[start..]);
    }
    out
}

/// A generous estimate of a datapoint's form-encoded size: field names such as
/// `MetricData.member.999.Dimensions.member.30.Value=` are long, and values may be percent-encoded.
fn estimated_bytes(m: &Metric) -> usize {
    let dims: usize = m
        .dimensions
        .iter()
        .map(|(k, v)| 120 + 3 * (k.len() + v.len()))
        .sum();
    200 + 3 * m.name.len() + dims
}

fn to_datum(m: &Metric) -> MetricDatum {
    let dims = m
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    MetricDatum::builder()
        .metric_name(&m.name)
        .value(m.value)
        .unit(standard_unit(m.unit))
        .set_dimensions(Some(dims))
        .set_timestamp(m.timestamp.map(aws_smithy_types::DateTime::from))
        .build()
}

fn standard_unit(unit: Unit) -> StandardUnit {
    match unit {
        Unit::None => StandardUnit::None,
        Unit::Count => StandardUnit::Count,
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Seconds => StandardUnit::Seconds,
        Unit::Percent => StandardUnit::Percent,
        Unit::Bytes => StandardUnit::Bytes,
    }
}

/// A GetMetricData query for the `Maximum` of one of our metrics (namespace `OpsLambdas`).
pub fn maximum_query(id: String, metric: &str, dimensions: &[(&str, &str)], period: i32) -> MetricDataQuery {
    let mut m = aws_sdk_cloudwatch::types::Metric::builder()
        .namespace(crate::METRICS_NAMESPACE)
        .metric_name(metric);
    for (name, value) in dimensions {
        m = m.dimensions(Dimension::builder().name(*name).value(*value).build());
    }
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(m.build())
                .period(period)
                .stat("Maximum")
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(n: usize) -> Vec<Metric> {
        (0..n)
            .map(|i| Metric::new("CheckHealthy", 1.0, Unit::None).dimension("Check", format!("check-{i}")))
            .collect()
    }

    #[test]
    fn a_thousand_datapoints_fit_one_request() {
        let m = checks(1000);
        assert_eq!(batches(&m).len(), 1);
    }

    #[test]
    fn more_than_a_thousand_datapoints_split_in_order() {
        let m = checks(2500);
        let b = batches(&m);
        assert_eq!(
            b.iter().map(|b| b.len()).collect::<Vec<_>>(),
            vec![1000, 1000, 500]
        );
        assert_eq!(b[1][0].dimensions[0].1, "check-1000");
    }

    #[test]
    fn large_dimensions_split_by_size_before_count() {
        let m: Vec<Metric> = (0..1000)
            .map(|i| {
                let mut metric = Metric::new("CheckLatencyMs", 5.0, Unit::Milliseconds);
                for d in 0..10 {
                    metric = metric.dimension(format!("D{d}"), format!("{i}-{}", "v".repeat(60)));
                }
                metric
            })
            .collect();
        let b = batches(&m);
        assert!(b.len() > 1);
        assert!(b
            .iter()
            .all(|b| b.iter().map(estimated_bytes).sum::<usize>() <= MAX_REQUEST_BYTES));
        assert_eq!(b.iter().map(|b| b.len()).sum::<usize>(), 1000);
    }

    #[test]
    fn no_datapoints_make_no_request() {
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn the_function_dimension_is_added_once() {
        let m = with_function(Metric::new("X", 1.0, Unit::Count), "health-checker");
        assert_eq!(
            m.dimensions,
            vec![("Function".to_string(), "health-checker".to_string())]
        );
        let again = with_function(m.clone(), "other");
        assert_eq!(again.dimensions, m.dimensions);
    }

    #[test]
    fn values_cloudwatch_refuses_are_filtered_or_zeroed() {
        assert!(!accepted_value(f64::NAN));
        assert!(!accepted_value(f64::INFINITY));
        assert!(!accepted_value(1e200));
        assert!(accepted_value(-5.0));
        assert_eq!(
            with_function(Metric::new("X", 1e-200, Unit::None), "f").value,
            0.0
        );
    }
}
