//! The `Pager` port and its adapter for PagerDuty's Events API v2.
//!
//! Delivery follows PagerDuty's documented retry table: 202 is done; 400 is never retried (the
//! event itself is wrong); 429, 5xx, timeouts and network errors are retried with exponential
//! backoff and jitter, for as long as the attempt cap and the Lambda's remaining time allow. A
//! `Retry-After` header (seconds) sets the next attempt's delay instead, when the time left allows
//! it: PagerDuty knows better than our backoff when it will take events again.

use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use crate::error::ForwardError;
use crate::event::PagerEvent;

/// What PagerDuty said when it took an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub dedup_key: String,
    pub attempts: u32,
}

#[async_trait]
pub trait Pager: Send + Sync {
    /// Sends one event, retrying what can be retried until `deadline`.
    async fn send(
        &self,
        routing_key: &SecretString,
        event: &PagerEvent,
        deadline: Instant,
    ) -> Result<Delivery, ForwardError>;
}

/// How one HTTP answer is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    Retry(String),
    Reject(String),
}

/// PagerDuty's retry table, as code.
pub fn verdict(status: u16, body: &str) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        429 => Verdict::Retry("HTTP 429: throttled".to_string()),
        500..=599 => Verdict::Retry(format!("HTTP {status}")),
        _ => Verdict::Reject(rejection_reason(body)),
    }
}

/// PagerDuty's 400 body lists what is wrong in `errors`; keep that, and only that.
fn rejection_reason(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let errors: Vec<String> = parsed
        .as_ref()
        .and_then(|v| v["errors"].as_array())
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !errors.is_empty() {
        return errors.join("; ");
    }
    match parsed.as_ref().and_then(|v| v["message"].as_str()) {
        Some(message) => message.to_string(),
        None => body.chars().take(300).collect(),
    }
}

/// Sends events to PagerDuty (or the local receiver) over HTTPS.
pub struct PagerDutyHttp {
    client: reqwest::Client,
    url: String,
    request_timeout: Duration,
    max_attempts: u32,
}

impl PagerDutyHttp {
    pub fn new(url: impl Into<String>, request_timeout: Duration, max_attempts: u32) -> Self {
        let extra = ops_shared::aws::extra_cas().iter().map(|c| c.as_ref());
        Self {
            client: client(request_timeout, extra),
            url: url.into(),
            request_timeout,
            max_attempts: max_attempts.max(1),
        }
    }

    async fn attempt(&self, body: &[u8], timeout: Duration) -> Result<Answer, String> {
        let resp = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let text = resp.text().await.map_err(|e| describe(&e))?;
        Ok(Answer {
            status,
            text,
            retry_after,
        })
    }
}

/// The HTTPS client for PagerDuty: the Mozilla roots compiled into reqwest, and `extra` (the CAs
/// of `AWS_CA_BUNDLE`: a proxy that re-signs TLS re-signs this traffic too, and a page it cannot
/// deliver is the worst way to find out).
pub fn client<'a>(request_timeout: Duration, extra: impl IntoIterator<Item = &'a [u8]>) -> reqwest::Client {
    let base = || {
        reqwest::Client::builder()
            .user_agent(concat!("ops-lambdas-alarm-forwarder/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(request_timeout)
    };
    let mut builder = base();
    for der in extra {
        // Checked by ops_shared::aws::extra_cas already.
        if let Ok(cert) = reqwest::Certificate::from_der(der) {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().unwrap_or_else(|e| {
        tracing::error!(
            error = %ops_shared::error::chain(&e),
            "the PagerDuty client cannot trust AWS_CA_BUNDLE's CAs; it trusts the compiled-in roots alone"
        );
        base().build().unwrap_or_default()
    })
}

struct Answer {
    status: u16,
    text: String,
    retry_after: Option<Duration>,
}

/// The longest `Retry-After` followed; a longer one is PagerDuty's problem, not a reason to wait.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// `Retry-After` in delta-seconds; an HTTP date or anything else is ignored (the backoff applies).
fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A reqwest error as one line, without the request body (which holds the routing key).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", ops_shared::error::chain(e))
}

#[async_trait]
impl Pager for PagerDutyHttp {
    async fn send(
        &self,
        routing_key: &SecretString,
        event: &PagerEvent,
        deadline: Instant,
    ) -> Result<Delivery, ForwardError> {
        let mut json = serde_json::to_value(event).unwrap_or_default();
        json["routing_key"] = Value::String(routing_key.expose_secret().to_string());
        let body = serde_json::to_vec(&json).unwrap_or_default();
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(5))
            .with_jitter()
            .without_max_times()
            .build();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let mut told = None;
            let reason = match self.attempt(&body, remaining.min(self.request_timeout)).await {
                Ok(Answer {
                    status,
                    text,
                    retry_after,
                }) => match verdict(status, &text) {
                    Verdict::Delivered => {
                        let dedup_key = serde_json::from_str::<Value>(&text)
                            .ok()
                            .and_then(|v| v["dedup_key"].as_str().map(str::to_string))
                            .unwrap_or_else(|| event.dedup_key.clone());
                        return Ok(Delivery { dedup_key, attempts });
                    }
                    Verdict::Reject(reason) => {
                        return Err(ForwardError::Rejected {
                            target: event.target.clone(),
                            status,
                            reason,
                        });
                    }
                    Verdict::Retry(reason) => {
                        told = retry_after;
                        reason
                    }
                },
                Err(reason) => reason,
            };
            let backoff = delays.next().unwrap_or(Duration::from_secs(5));
            let now = Instant::now();
            // PagerDuty's wait when the time left allows it; otherwise our own backoff, so the
            // event still gets its tries within this invocation.
            let delay = told
                .map(|d| d.min(MAX_RETRY_AFTER))
                .filter(|d| now.checked_add(*d).is_some_and(|at| at < deadline))
                .unwrap_or(backoff);
            if attempts >= self.max_attempts || now + delay >= deadline {
                return Err(ForwardError::Unreachable {
                    target: event.target.clone(),
                    attempts,
                    reason,
                });
            }
            tracing::warn!(target_alarm = %event.target, attempts, %reason, retry_in_ms = delay.as_millis() as u64, "PagerDuty did not take the event; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_table_matches_pagerdutys() {
        assert_eq!(verdict(202, r#"{"status":"success"}"#), Verdict::Delivered);
        assert!(matches!(verdict(429, ""), Verdict::Retry(_)));
        assert!(matches!(verdict(500, ""), Verdict::Retry(_)));
        assert!(matches!(verdict(503, "<html>"), Verdict::Retry(_)));
        assert!(matches!(verdict(400, ""), Verdict::Reject(_)));
        assert!(matches!(verdict(404, ""), Verdict::Reject(_)));
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        assert_eq!(retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(retry_after("-1"), None);
    }

    #[test]
    fn a_rejection_keeps_pagerdutys_error_list() {
        let body = r#"{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank","'payload.source' is missing or blank"]}"#;
        assert_eq!(
            verdict(400, body),
            Verdict::Reject(
                "'payload.summary' is missing or blank; 'payload.source' is missing or blank".into()
            )
        );
        assert_eq!(
            verdict(413, r#"{"message":"too big"}"#),
            Verdict::Reject("too big".into())
        );
    }
}
