//! What one check found.

use std::time::Duration;

use serde::Serialize;

use crate::probe::connect::Phases;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub healthy: bool,
    /// The check could not be judged (what it reads could not be read): neither healthy nor
    /// unhealthy, and it publishes no `CheckHealthy` datapoint, so it never reads as a failure.
    /// (Its alarm sees the datapoint missing, which it treats as missing: no page.)
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
    /// The check did not run, or was cut short, because the run's time budget was spent: says
    /// nothing about the target (also `unknown`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    #[serde(rename = "latency_ms")]
    #[serde(serialize_with = "millis")]
    pub latency: Duration,
    /// Why it is unhealthy, or what was seen when it is healthy.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// How long the connection's phases took (`dns_ms`, `connect_ms`, `tls_ms`, `first_byte_ms`).
    #[serde(flatten)]
    pub phases: Phases,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Outcome {
    pub fn healthy(latency: Duration, reason: impl Into<String>) -> Self {
        Self {
            healthy: true,
            unknown: false,
            skipped: false,
            latency,
            reason: reason.into(),
            days_left: None,
            phases: Phases::default(),
        }
    }

    pub fn unhealthy(latency: Duration, reason: impl Into<String>) -> Self {
        Self {
            healthy: false,
            unknown: false,
            skipped: false,
            latency,
            reason: reason.into(),
            days_left: None,
            phases: Phases::default(),
        }
    }

    pub fn unknown(reason: impl Into<String>) -> Self {
        Self {
            healthy: false,
            unknown: true,
            skipped: false,
            latency: Duration::ZERO,
            reason: reason.into(),
            days_left: None,
            phases: Phases::default(),
        }
    }

    pub fn with_phases(self, phases: Phases) -> Self {
        Self { phases, ..self }
    }

    pub fn skipped(latency: Duration, reason: impl Into<String>) -> Self {
        Self {
            skipped: true,
            latency,
            ..Self::unknown(reason)
        }
    }
}
