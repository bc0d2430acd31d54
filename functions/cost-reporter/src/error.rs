//! cost-reporter's errors.

use lambda_runtime::Diagnostic;
use ops_shared::{Retryable, SharedError};

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error(transparent)]
    Shared(#[from] SharedError),

    #[error("the report input is invalid: {problem}")]
    BadInput { problem: String },

    #[error("Cost Explorer {operation} failed: {reason}")]
    CostExplorer {
        operation: &'static str,
        reason: String,
        retryable: bool,
    },

    #[error("reading the cleanup-scanner's figures from CloudWatch (GetMetricData) failed: {reason}")]
    CloudWatch { reason: String, retryable: bool },
}

impl Retryable for CostError {
    fn retryable(&self) -> bool {
        match self {
            Self::Shared(e) => e.retryable(),
            Self::BadInput { .. } => false,
            Self::CostExplorer { retryable, .. } | Self::CloudWatch { retryable, .. } => *retryable,
        }
    }
}

impl From<CostError> for Diagnostic {
    fn from(error: CostError) -> Self {
        ops_shared::diagnostic(&error)
    }
}
