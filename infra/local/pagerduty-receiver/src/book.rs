//! What the receiver remembers: accepted events, rejections, incidents, and the faults it was told
//! to inject.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::{Action, Event};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
}

/// An incident as PagerDuty keeps it: opened by a trigger, keyed by routing key and dedup key.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub number: u64,
    pub routing_key: String,
    pub dedup_key: String,
    pub status: Status,
    pub summary: String,
    pub severity: String,
    /// Triggers received while it was open (the first one included).
    pub triggers: u32,
    pub opened_at: String,
    pub updated_at: String,
}

/// A fault to inject into the next requests: an answer status, a delay, or both.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub delay_ms: u64,
    /// Only requests for this routing key get the fault, so tests running side by side against one
    /// receiver do not trip over each other's faults.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// Seconds for a `Retry-After` header on the faulted answer.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

impl Fault {
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub faulted: u64,
}

#[derive(Debug, Default)]
pub struct Book {
    pub accepted: Vec<Value>,
    pub rejected: Vec<Value>,
    pub incidents: Vec<Incident>,
    pub faults: VecDeque<Fault>,
    pub stats: Stats,
    next_key: u64,
}

impl Book {
    /// Takes the first queued fault that applies to a request for `routing_key`.
    pub fn take_fault(&mut self, routing_key: Option<&str>) -> Option<Fault> {
        let pos = self
            .faults
            .iter()
            .position(|f| f.routing_key.is_none() || f.routing_key.as_deref() == routing_key)?;
        self.faults.remove(pos)
    }

    /// Applies a valid event the way PagerDuty does; returns the dedup key to answer with.
    pub fn apply(&mut self, event: &Event, raw: Value) -> String {
        let now = chrono::Utc::now().to_rfc3339();
        let dedup_key = event.dedup_key.clone().unwrap_or_else(|| self.generated_key());
        let open = self.incidents.iter_mut().find(|i| {
            i.routing_key == event.routing_key && i.dedup_key == dedup_key && i.status != Status::Resolved
        });
        match (event.action, open) {
            (Action::Trigger, Some(incident)) => {
                incident.triggers += 1;
                incident.updated_at = now;
            }
            (Action::Trigger, None) => {
                let number = self.incidents.len() as u64 + 1;
                self.incidents.push(Incident {
                    number,
                    routing_key: event.routing_key.clone(),
                    dedup_key: dedup_key.clone(),
                    status: Status::Triggered,
                    summary: event.summary.clone().unwrap_or_default(),
                    severity: event.severity.clone().unwrap_or_default(),
                    triggers: 1,
                    opened_at: now.clone(),
                    updated_at: now,
                });
            }
            (Action::Acknowledge, Some(incident)) => {
                incident.status = Status::Acknowledged;
                incident.updated_at = now;
            }
            (Action::Resolve, Some(incident)) => {
                incident.status = Status::Resolved;
                incident.updated_at = now;
            }
            // PagerDuty accepts and drops acknowledge/resolve events for alerts that are not open.
            (Action::Acknowledge | Action::Resolve, None) => {}
        }
        self.accepted.push(raw);
        self.stats.accepted += 1;
        dedup_key
    }

    /// PagerDuty makes a UUID; uniqueness within one receiver is all a test can observe.
    fn generated_key(&mut self) -> String {
        self.next_key += 1;
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        format!("{nanos:016x}{:016x}", self.next_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: Action, dedup: Option<&str>) -> Event {
        Event {
            routing_key: "k".repeat(32),
            action,
            dedup_key: dedup.map(str::to_string),
            summary: Some("s".into()),
            severity: Some("error".into()),
        }
    }

    #[test]
    fn trigger_then_resolve_closes_the_incident_and_a_new_trigger_opens_another() {
        let mut book = Book::default();
        book.apply(&event(Action::Trigger, Some("a")), Value::Null);
        book.apply(&event(Action::Trigger, Some("a")), Value::Null);
        assert_eq!(book.incidents.len(), 1);
        assert_eq!(book.incidents[0].triggers, 2);
        book.apply(&event(Action::Resolve, Some("a")), Value::Null);
        assert_eq!(book.incidents[0].status, Status::Resolved);
        book.apply(&event(Action::Trigger, Some("a")), Value::Null);
        assert_eq!(book.incidents.len(), 2);
        assert_eq!(book.incidents[1].status, Status::Triggered);
    }

    #[test]
    fn resolve_for_another_routing_key_is_dropped() {
        let mut book = Book::default();
        book.apply(&event(Action::Trigger, Some("a")), Value::Null);
        let mut other = event(Action::Resolve, Some("a"));
        other.routing_key = "z".repeat(32);
        book.apply(&other, Value::Null);
        assert_eq!(book.incidents[0].status, Status::Triggered);
    }

    #[test]
    fn triggers_without_dedup_key_get_unique_keys() {
        let mut book = Book::default();
        let a = book.apply(&event(Action::Trigger, None), Value::Null);
        let b = book.apply(&event(Action::Trigger, None), Value::Null);
        assert_ne!(a, b);
        assert_eq!(book.incidents.len(), 2);
    }
}
