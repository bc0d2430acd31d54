//! What one check found.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub healthy: bool,
    #[serde(rename = "latency_ms")]
    #[serde(serialize_with = "millis")]
    pub latency: Duration,
    /// Why it is unhealthy, or what was seen when it is healthy.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Outcome {
    pub fn healthy(latency: Duration, reason: impl Into<String>) -> Self {
        Self {
            healthy: true,
            latency,
            reason: reason.into(),
            days_left: None,
        }
    }

    pub fn unhealthy(latency: Duration, reason: impl Into<String>) -> Self {
        Self {
            healthy: false,
            latency,
            reason: reason.into(),
            days_left: None,
        }
    }
}
