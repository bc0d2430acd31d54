//! alarm-forwarder's errors: each says what failed and what the operator can do about it.

use lambda_runtime::Diagnostic;
use ops_shared::{Retryable, SharedError};

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Config(#[from] SharedError),

    #[error("the event is neither an SNS event (Records[].Sns) nor an SNS message (Type: Notification); its top-level keys are [{keys}]: subscribe the function to the alarms SNS topic")]
    UnrecognisedEvent { keys: String },

    #[error("could not read the routing secret {secret} (secretsmanager:GetSecretValue): {reason}{hint}", hint = if *.retryable { "" } else { " (check it exists, has a value, and the function may secretsmanager:GetSecretValue on it)" })]
    RoutingSecretUnreadable {
        secret: String,
        reason: String,
        retryable: bool,
    },

    #[error("the routing secret {secret} is not usable: {problem}. Store a bare 32-character integration key, or {{\"default\": KEY, \"routes\": [{{\"match\": \"GLOB\", \"routing_key\": KEY}}]}}")]
    RoutingSecretInvalid { secret: String, problem: String },

    #[error("no route in the routing secret {secret} matches {target} and it has no \"default\" key: add a default or a route that matches")]
    NoRoute { secret: String, target: String },

    #[error("PagerDuty rejected the event for {target} with HTTP {status}: {reason} (not retried)")]
    Rejected {
        target: String,
        status: u16,
        reason: String,
    },

    #[error("PagerDuty was unreachable for {target} after {attempts} attempts: {reason}")]
    Unreachable {
        target: String,
        attempts: u32,
        reason: String,
    },

    #[error("{failed} of {total} records could not be delivered to PagerDuty, the first ({target}) because {reason} (see the error lines above); Lambda retries the invocation and its on-failure destination keeps the event")]
    Undelivered {
        failed: usize,
        total: usize,
        target: String,
        reason: String,
        retryable: bool,
    },
}

impl Retryable for ForwardError {
    fn retryable(&self) -> bool {
        match self {
            Self::Config(e) => e.retryable(),
            Self::RoutingSecretUnreadable { retryable, .. } | Self::Undelivered { retryable, .. } => {
                *retryable
            }
            Self::Unreachable { .. } => true,
            Self::UnrecognisedEvent { .. }
            | Self::RoutingSecretInvalid { .. }
            | Self::NoRoute { .. }
            | Self::Rejected { .. } => false,
        }
    }
}

impl From<ForwardError> for Diagnostic {
    fn from(error: ForwardError) -> Self {
        ops_shared::diagnostic(&error)
    }
}
