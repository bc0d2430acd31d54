//! The `ops` tool's errors: each says what to fix.

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{what} could not be read from AWS: {reason}. Check the AWS profile and region (AWS_PROFILE, AWS_REGION), or AWS_ENDPOINT_URL for the local stack")]
    Aws { what: &'static str, reason: String },

    #[error("the check file {path} {problem}")]
    CheckFile { path: String, problem: String },

    #[error("{0}")]
    Health(#[from] health_checker::HealthError),

    #[error("{path} could not be written: {reason}")]
    Save { path: String, reason: String },

    #[error("the cost report could not be made: {0}")]
    Cost(String),

    #[error("the cleanup scan could not be made: {0}")]
    Cleanup(String),

    /// The rotation started and did not finish in time.
    #[error("{0}")]
    Rotate(String),

    #[error("{0}")]
    Remote(String),

    /// The rotation could not start.
    #[error("{0}")]
    RotateRefused(String),
}
