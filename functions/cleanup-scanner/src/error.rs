//! cleanup-scanner's errors.

use lambda_runtime::Diagnostic;
use ops_shared::{Retryable, SharedError};

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error(transparent)]
    Shared(#[from] SharedError),

    #[error("the scan input is invalid: {problem}")]
    BadInput { problem: String },

    #[error("{mode} mode refuses to run in account {account}: it is not in CLEANUP_ALLOWED_ACCOUNTS (report mode runs anywhere)")]
    AccountNotAllowed { mode: String, account: String },

    #[error("the scan of {region} was stopped: the run's time was nearly up (raise the function's Timeout, or scan fewer regions or accounts per run)")]
    OutOfTime { region: String },

    #[error("AWS {operation} failed: {reason}")]
    Aws {
        operation: &'static str,
        reason: String,
        retryable: bool,
    },
}

impl Retryable for CleanupError {
    fn retryable(&self) -> bool {
        match self {
            Self::Shared(e) => e.retryable(),
            Self::Aws { retryable, .. } => *retryable,
            Self::BadInput { .. } | Self::AccountNotAllowed { .. } | Self::OutOfTime { .. } => false,
        }
    }
}

impl From<CleanupError> for Diagnostic {
    fn from(error: CleanupError) -> Self {
        ops_shared::diagnostic(&error)
    }
}
