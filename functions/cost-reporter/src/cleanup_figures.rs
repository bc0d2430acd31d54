//! The cleanup-scanner's last figures (`CleanupCandidates`, `CleanupMonthlySaving`), read from
//! CloudWatch: the scanner publishes them only after a whole scan, so the latest is a whole account.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ops_shared::error::{sdk_message, sdk_retryable};
use ops_shared::metrics::maximum_query;

use crate::error::CostError;
use crate::source::{CleanupFigures, CleanupReader};

/// The scanner runs daily or weekly: a week and a day covers one run.
const LOOK_BACK: Duration = Duration::from_secs(8 * 86_400);

pub struct CloudWatchCleanup {
    client: aws_sdk_cloudwatch::Client,
    /// The `Function` dimension the scanner publishes under (`cleanup-scanner`).
    function: String,
}

impl CloudWatchCleanup {
    pub fn new(client: aws_sdk_cloudwatch::Client, function: &str) -> Self {
        Self {
            client,
            function: function.to_string(),
        }
    }
}

#[async_trait]
impl CleanupReader for CloudWatchCleanup {
    async fn latest(&self) -> Result<Option<CleanupFigures>, CostError> {
        let now = SystemTime::now();
        let function = [("Function", self.function.as_str())];
        let answer = self
            .client
            .get_metric_data()
            .metric_data_queries(maximum_query(
                "candidates".into(),
                "CleanupCandidates",
                &function,
                3600,
            ))
            .metric_data_queries(maximum_query(
                "saving".into(),
                "CleanupMonthlySaving",
                &function,
                3600,
            ))
            .start_time((now - LOOK_BACK).into())
            .end_time((now + Duration::from_secs(3600)).into())
            .send()
            .await
            .map_err(|e| CostError::CloudWatch {
                reason: sdk_message(&e),
                retryable: sdk_retryable(&e),
            })?;
        let mut by_id: BTreeMap<&str, BTreeMap<i64, f64>> = BTreeMap::new();
        for r in answer.metric_data_results() {
            let Some(id) = r.id() else { continue };
            by_id.entry(id).or_default().extend(
                r.timestamps()
                    .iter()
                    .map(|t| t.secs())
                    .zip(r.values().iter().copied()),
            );
        }
        // Both figures from the hour of the latest run.
        let Some((at, saving)) = by_id.get("saving").and_then(|s| s.last_key_value()) else {
            return Ok(None);
        };
        let candidates = by_id
            .get("candidates")
            .and_then(|c| c.get(at))
            .copied()
            .unwrap_or(0.0);
        Ok(Some(CleanupFigures {
            candidates,
            monthly_saving: *saving,
        }))
    }
}
