//! health-checker's errors.

use lambda_runtime::Diagnostic;
use ops_shared::{Retryable, SharedError};

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Shared(#[from] SharedError),

    #[error("the event has no checks: send {{\"checks\": [...]}} as the schedule's constant Input, or send EventBridge's Scheduled Event and set HEALTH_CHECKS")]
    NoChecks,

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
            Self::NoChecks | Self::BadEvent { .. } => false,
        }
    }
}

impl From<HealthError> for Diagnostic {
    fn from(error: HealthError) -> Self {
        ops_shared::diagnostic(&error)
    }
}
