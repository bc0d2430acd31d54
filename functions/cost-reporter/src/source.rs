//! The `CostSource` port: what the report needs from Cost Explorer, in its own words.

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;

use crate::error::CostError;
use crate::request::Range;

/// One day's cost per group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCost {
    pub date: NaiveDate,
    /// Cost Explorer's own flag: the day's figures can still change.
    pub estimated: bool,
    pub groups: Vec<(String, f64)>,
}

impl DayCost {
    pub fn total(&self) -> f64 {
        self.groups.iter().map(|(_, c)| c).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub currency: String,
    pub days: Vec<DayCost>,
    /// Cost Explorer requests (pages) it took.
    pub requests: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    pub start: String,
    pub dimension: String,
    pub impact: f64,
}

/// What was asked of GetCostAndUsage.
#[derive(Debug, Clone, PartialEq)]
pub struct CostQuery {
    pub range: Range,
    pub metric: String,
    pub group_by: Vec<String>,
    pub exclude_record_types: Vec<String>,
}

#[async_trait]
pub trait CostSource: Send + Sync {
    /// Daily costs over the range, every page followed.
    async fn daily_costs(&self, query: &CostQuery) -> Result<Series, CostError>;
    /// The forecast for the rest of the month (`range` from today to the first of next month), on
    /// the same basis as the actuals: the same record types left out.
    async fn forecast(
        &self,
        metric: &str,
        range: Range,
        exclude_record_types: &[String],
    ) -> Result<f64, CostError>;
    async fn anomalies(&self, monitor_arn: &str, range: Range) -> Result<Vec<Anomaly>, CostError>;
}
