//! health-checker's errors.

use lambda_runtime::Diagnostic;
use ops_shared::{Retryable, SharedError};

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Shared(#[from] SharedError),

    #[error("two checks are named {name} (checks[{first}] and checks[{second}]): one's result would be published under the other's metric and alarm; rename one. Nothing was run and no alarm was changed")]
    DuplicateName {
        name: String,
        first: usize,
        second: usize,
    },

    #[error("the check list {object} {problem}. Nothing was run and no alarm was changed")]
    ChecksFile {
        object: String,
        problem: String,
        retryable: bool,
    },

    #[error("the event is not a check list: {problem}")]
    BadEvent { problem: String },

    #[error("CloudWatch {operation} failed: {reason}")]
    Alarms {
        operation: &'static str,
        reason: String,
        retryable: bool,
    },

    #[error("ECS could not be read ({reason}), so {checks} ECS {noun} not judged this run and published no CheckHealthy datapoint; every other check's result was published", noun = if *.checks == 1 { "check was" } else { "checks were" })]
    Ecs {
        checks: usize,
        reason: String,
        retryable: bool,
    },
}

impl Retryable for HealthError {
    fn retryable(&self) -> bool {
        match self {
            Self::Shared(e) => e.retryable(),
            Self::Alarms { retryable, .. } => *retryable,
            Self::Ecs { retryable, .. } => *retryable,
            Self::ChecksFile { retryable, .. } => *retryable,
            Self::DuplicateName { .. } | Self::BadEvent { .. } => false,
        }
    }
}

impl From<HealthError> for Diagnostic {
    fn from(error: HealthError) -> Self {
        ops_shared::diagnostic(&error)
    }
}
