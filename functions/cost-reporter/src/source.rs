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

/// One day's cost per (environment key, service), the environment key as Cost Explorer gives it
/// (`Environment$prod`, `Environment$` for untagged, an account ID).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentDay {
    pub date: NaiveDate,
    pub costs: Vec<(String, String, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentSeries {
    pub days: Vec<EnvironmentDay>,
    pub requests: usize,
}

/// A monthly forecast: the first month may start today (its rest only).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastMonths {
    pub months: Vec<(NaiveDate, f64)>,
}

/// A recommendation's source: which Cost Explorer operation (or the cleanup-scanner) made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    SavingsPlans,
    Reservation,
    Rightsizing,
    Cleanup,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub kind: RecommendationKind,
    /// What to do, in one line.
    pub action: String,
    pub monthly_saving: f64,
    pub currency: String,
}

/// The services whose reservations Cost Explorer recommends, by their SERVICE names.
pub const RESERVED_SERVICES: &[&str] = &[
    "Amazon Relational Database Service",
    "Amazon ElastiCache",
    "Amazon OpenSearch Service",
    "Amazon Redshift",
];

#[async_trait]
pub trait CostSource: Send + Sync {
    /// Daily costs over the range, every page followed.
    async fn daily_costs(&self, query: &CostQuery) -> Result<Series, CostError>;
    /// Daily costs per environment and service: `query.group_by` is the environment dimension
    /// and SERVICE.
    async fn environment_costs(&self, query: &CostQuery) -> Result<EnvironmentSeries, CostError>;
    /// Monthly totals over the range (whole months).
    async fn monthly_totals(&self, query: &CostQuery) -> Result<(Vec<(NaiveDate, f64)>, usize), CostError>;
    /// The monthly forecast over `range` (from today), on the same basis as the actuals: the same
    /// record types left out.
    async fn forecast(
        &self,
        metric: &str,
        range: Range,
        exclude_record_types: &[String],
    ) -> Result<ForecastMonths, CostError>;
    /// The anomalies and the pages it took.
    async fn anomalies(&self, monitor_arn: &str, range: Range) -> Result<(Vec<Anomaly>, usize), CostError>;
    /// Compute Savings Plans, one year, no upfront, from the last 30 days.
    async fn savings_plans(&self) -> Result<Vec<Recommendation>, CostError>;
    /// Reserved instances of one of [`RESERVED_SERVICES`], one year, no upfront, last 30 days.
    async fn reservations(&self, service: &str) -> Result<Vec<Recommendation>, CostError>;
    /// EC2 instances to terminate or resize.
    async fn rightsizing(&self) -> Result<Vec<Recommendation>, CostError>;
}

/// The cleanup-scanner's latest figures, from its CloudWatch metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanupFigures {
    pub candidates: f64,
    pub monthly_saving: f64,
}

#[async_trait]
pub trait CleanupReader: Send + Sync {
    /// None when the scanner published nothing lately.
    async fn latest(&self) -> Result<Option<CleanupFigures>, CostError>;
}
