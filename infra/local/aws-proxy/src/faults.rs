//! What the proxy was told to do: faults per operation, rate limits, canned answers, and the count
//! of every request it saw. Pure state; the clock is passed in so the rate limit is testable.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::busy::Busy;
use crate::capture::Captures;
use crate::request::AwsRequest;
use crate::shapes::Failure;

/// Which requests a rule applies to: the `operation`, `region` and `access_key` fields every rule
/// has. A field left out matches anything.
#[derive(Debug, Clone, Copy)]
pub struct Selector<'a> {
    /// `service:Operation`, `service:*`, or `*` for every AWS request.
    pub operation: &'a str,
    /// Only requests signed for this region.
    pub region: Option<&'a str>,
    /// Only requests signed with this access key: how tests running side by side keep their faults
    /// to their own function.
    pub access_key: Option<&'a str>,
}

impl Selector<'_> {
    pub fn validate(&self) -> Result<(), String> {
        let op = self.operation;
        if op == "*" {
            return Ok(());
        }
        match op.split_once(':') {
            Some((service, name)) if !service.is_empty() && service != "*" && !name.is_empty() => Ok(()),
            _ => Err(format!(
                "operation {op:?} is not service:Operation (e.g. monitoring:PutMetricAlarm), service:* or *"
            )),
        }
    }

    pub(crate) fn matches(&self, request: &AwsRequest) -> bool {
        let op_ok = match self.operation.split_once(':') {
            _ if self.operation == "*" => true,
            Some((service, "*")) => service == request.service,
            Some((service, name)) => service == request.service && name == request.operation,
            None => false,
        };
        op_ok
            && self.region.is_none_or(|r| request.region.as_deref() == Some(r))
            && self
                .access_key
                .is_none_or(|k| request.access_key.as_deref() == Some(k))
    }
}

/// The three selecting fields, the same in every rule's JSON.
macro_rules! selecting {
    ($name:ident) => {
        impl $name {
            pub fn selector(&self) -> Selector<'_> {
                Selector {
                    operation: &self.operation,
                    region: self.region.as_deref(),
                    access_key: self.access_key.as_deref(),
                }
            }
        }
    };
}
pub(crate) use selecting;

/// The kinds of fault `POST /faults` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum FaultKind {
    #[serde(rename = "throttle")]
    Throttle,
    #[serde(rename = "500")]
    Internal,
    #[serde(rename = "503")]
    Unavailable,
    #[serde(rename = "reset")]
    Reset,
    #[serde(rename = "latency")]
    Latency,
    #[serde(rename = "deny")]
    Deny,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    pub error: FaultKind,
    /// How many matching requests get the fault; absent: every one, for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// How many matching requests pass untouched before the fault starts.
    #[serde(default)]
    pub after: u64,
    /// The delay of a `latency` fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

selecting!(FaultSpec);

impl FaultSpec {
    pub fn validate(&self) -> Result<(), String> {
        self.selector().validate()?;
        match (self.error, self.latency_ms) {
            (FaultKind::Latency, None) => Err("a latency fault needs \"latency_ms\"".into()),
            (FaultKind::Latency, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err("\"latency_ms\" belongs to a latency fault only".into()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Matching requests seen, and of those, how many got the fault.
    pub matched: u64,
    pub fired: u64,
}

impl Fault {
    /// Whether the request just counted in `matched` may get the fault: past `after`, within `times`.
    fn eligible(&self) -> bool {
        self.matched > self.spec.after && self.spec.times.is_none_or(|t| self.fired < t)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Sustained requests a second before the service throttles.
    pub per_second: f64,
    /// Requests allowed at once from a full bucket; default: `per_second`, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<f64>,
}

selecting!(RateSpec);

impl RateSpec {
    pub fn validate(&self) -> Result<(), String> {
        self.selector().validate()?;
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(format!(
                "per_second must be a positive number, not {}",
                self.per_second
            ));
        }
        if self.burst.is_some_and(|b| !(b.is_finite() && b >= 1.0)) {
            return Err("burst must be at least 1".into());
        }
        Ok(())
    }
}

/// A token bucket, as AWS's published API quotas behave: a burst, then a sustained rate.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    #[serde(flatten)]
    pub spec: RateSpec,
    pub throttled: u64,
    #[serde(skip)]
    tokens: f64,
    #[serde(skip)]
    refilled: Option<Instant>,
}

impl Rate {
    fn capacity(&self) -> f64 {
        self.spec.burst.unwrap_or(self.spec.per_second.max(1.0))
    }

    /// Takes a token; false when the bucket is empty and the request is throttled.
    fn admit(&mut self, now: Instant) -> bool {
        let capacity = self.capacity();
        let tokens = match self.refilled {
            None => capacity,
            Some(then) => {
                (self.tokens + now.duration_since(then).as_secs_f64() * self.spec.per_second).min(capacity)
            }
        };
        self.refilled = Some(now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            true
        } else {
            self.tokens = tokens;
            self.throttled += 1;
            false
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerSpec {
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// The body to answer: a JSON value for JSON-protocol services, a string (XML) for Query.
    pub body: Value,
    /// HTTP status; default 200.
    #[serde(default = "ok")]
    pub status: u16,
}

fn ok() -> u16 {
    200
}

selecting!(AnswerSpec);

impl AnswerSpec {
    pub fn validate(&self) -> Result<(), String> {
        self.selector().validate()?;
        if self.operation.ends_with('*') {
            return Err("an answer names one operation, not a wildcard".into());
        }
        if !(200..600).contains(&self.status) {
            return Err(format!("status {} is not an HTTP status", self.status));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    #[serde(flatten)]
    pub spec: AnswerSpec,
    pub served: u64,
}

/// Requests seen and time spent waiting on moto, per operation.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tally {
    pub requests: u64,
    #[serde(serialize_with = "millis")]
    pub upstream_ms: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// What to do with one request, decided under the lock and carried out after it.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Fail(Failure),
    Reset,
    Answer { status: u16, body: Value },
    Forward,
}

/// Where calls are counted: per operation, region and access key, so a count can be narrowed.
type CallKey = (String, Option<String>, Option<String>);

#[derive(Debug, Default)]
pub struct Book {
    next_id: u64,
    pub faults: Vec<Fault>,
    pub rates: Vec<Rate>,
    pub answers: Vec<Answer>,
    pub captures: Captures,
    calls: BTreeMap<CallKey, Tally>,
    /// Wall time with a request at moto, since the counts were last cleared.
    pub busy: Busy,
}

impl Book {
    pub fn add_fault(&mut self, spec: FaultSpec) -> u64 {
        self.next_id += 1;
        self.faults.push(Fault {
            id: self.next_id,
            spec,
            matched: 0,
            fired: 0,
        });
        self.next_id
    }

    pub fn add_rate(&mut self, spec: RateSpec) {
        self.rates.push(Rate {
            spec,
            throttled: 0,
            tokens: 0.0,
            refilled: None,
        });
    }

    /// A new answer replaces an earlier one for the same requests.
    pub fn add_answer(&mut self, spec: AnswerSpec) {
        let same = |a: &Answer| {
            a.spec.operation == spec.operation
                && a.spec.region == spec.region
                && a.spec.access_key == spec.access_key
        };
        self.answers.retain(|a| !same(a));
        self.answers.push(Answer { spec, served: 0 });
    }

    /// Counts `request` and decides its fate: the total delay of every latency fault that fires,
    /// then the first fault that fires, else a rate limit that is exceeded, else a canned answer,
    /// else moto.
    pub fn decide(&mut self, request: &AwsRequest, now: Instant) -> (Duration, Decision) {
        let key = (request.name(), request.region.clone(), request.access_key.clone());
        self.calls.entry(key).or_default().requests += 1;
        let mut delay = Duration::ZERO;
        let mut decision = None;
        for fault in self
            .faults
            .iter_mut()
            .filter(|f| f.spec.selector().matches(request))
        {
            let answer = match fault.spec.error {
                FaultKind::Latency => None,
                FaultKind::Throttle => Some(Decision::Fail(Failure::Throttle)),
                FaultKind::Internal => Some(Decision::Fail(Failure::Internal)),
                FaultKind::Unavailable => Some(Decision::Fail(Failure::Unavailable)),
                FaultKind::Deny => Some(Decision::Fail(Failure::Deny)),
                FaultKind::Reset => Some(Decision::Reset),
            };
            fault.matched += 1;
            if !fault.eligible() {
                continue;
            }
            match answer {
                // Every latency fault that fires adds its delay.
                None => delay += Duration::from_millis(fault.spec.latency_ms.unwrap_or(0)),
                // The first answering fault decides; a later one counts the request as matched but
                // keeps its `times` for the next.
                Some(answer) if decision.is_none() => decision = Some(answer),
                Some(_) => continue,
            }
            fault.fired += 1;
        }
        if let Some(decision) = decision {
            return (delay, decision);
        }
        for rate in self
            .rates
            .iter_mut()
            .filter(|r| r.spec.selector().matches(request))
        {
            if !rate.admit(now) {
                return (delay, Decision::Fail(Failure::Throttle));
            }
        }
        // The most specific answer wins: one for this test's key over one for everybody.
        let answer = self
            .answers
            .iter_mut()
            .filter(|a| a.spec.selector().matches(request))
            .max_by_key(|a| (a.spec.access_key.is_some(), a.spec.region.is_some()));
        if let Some(answer) = answer {
            answer.served += 1;
            return (
                delay,
                Decision::Answer {
                    status: answer.spec.status,
                    body: answer.spec.body.clone(),
                },
            );
        }
        (delay, Decision::Forward)
    }

    /// Adds the time one forwarded request waited on moto.
    pub fn add_upstream(&mut self, request: &AwsRequest, waited: Duration) {
        let key = (request.name(), request.region.clone(), request.access_key.clone());
        self.calls.entry(key).or_default().upstream_ms += waited;
    }

    /// Requests and upstream time per operation, narrowed to a region and/or access key.
    pub fn tallies(&self, region: Option<&str>, access_key: Option<&str>) -> BTreeMap<String, Tally> {
        let mut out: BTreeMap<String, Tally> = BTreeMap::new();
        for ((op, r, k), tally) in &self.calls {
            if region.is_some_and(|want| r.as_deref() != Some(want))
                || access_key.is_some_and(|want| k.as_deref() != Some(want))
            {
                continue;
            }
            let entry = out.entry(op.clone()).or_default();
            entry.requests += tally.requests;
            entry.upstream_ms += tally.upstream_ms;
        }
        out
    }

    /// Everything back to the start, but requests still at moto finish later: their stretch is
    /// kept, only the count restarts.
    pub fn reset(&mut self, now: Instant) {
        let mut busy = std::mem::take(&mut self.busy);
        busy.clear(now);
        *self = Book {
            busy,
            ..Book::default()
        };
    }

    pub fn clear_calls(&mut self) {
        self.calls.clear();
        self.busy.clear(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, region: &str, key: &str) -> AwsRequest {
        AwsRequest::signed_json(name, region, key)
    }

    fn fault(json: Value) -> FaultSpec {
        let spec: FaultSpec = serde_json::from_value(json).unwrap();
        spec.validate().unwrap();
        spec
    }

    #[test]
    fn a_fault_lets_after_pass_then_fires_times_then_stops() {
        let mut book = Book::default();
        book.add_fault(fault(serde_json::json!({"operation": "logs:DescribeLogGroups", "error": "throttle", "times": 2, "after": 1})));
        let r = request("logs:DescribeLogGroups", "us-east-1", "k");
        let now = Instant::now();
        let seen: Vec<Decision> = (0..4).map(|_| book.decide(&r, now).1).collect();
        assert_eq!(
            seen,
            vec![
                Decision::Forward,
                Decision::Fail(Failure::Throttle),
                Decision::Fail(Failure::Throttle),
                Decision::Forward
            ]
        );
        assert_eq!(book.tallies(None, None)["logs:DescribeLogGroups"].requests, 4);
    }

    #[test]
    fn faults_keep_to_their_operation_region_and_key() {
        let mut book = Book::default();
        book.add_fault(fault(serde_json::json!({"operation": "logs:*", "error": "503", "region": "eu-west-1", "access_key": "mine"})));
        let now = Instant::now();
        let hit = |book: &mut Book, op: &str, region: &str, key: &str| {
            book.decide(&request(op, region, key), now).1
        };
        assert_eq!(
            hit(&mut book, "logs:DescribeLogGroups", "eu-west-1", "mine"),
            Decision::Fail(Failure::Unavailable)
        );
        assert_eq!(
            hit(&mut book, "logs:DescribeLogGroups", "us-east-1", "mine"),
            Decision::Forward
        );
        assert_eq!(
            hit(&mut book, "logs:DescribeLogGroups", "eu-west-1", "other"),
            Decision::Forward
        );
        assert_eq!(
            hit(&mut book, "sns:ListTopics", "eu-west-1", "mine"),
            Decision::Forward
        );
        assert_eq!(book.tallies(Some("eu-west-1"), Some("mine")).len(), 2);
    }

    #[test]
    fn a_second_fault_waits_until_the_first_is_used_up() {
        let mut book = Book::default();
        book.add_fault(fault(
            serde_json::json!({"operation": "*", "error": "throttle", "times": 1}),
        ));
        book.add_fault(fault(
            serde_json::json!({"operation": "*", "error": "500", "times": 1}),
        ));
        let r = request("ecs:ListClusters", "us-east-1", "k");
        let now = Instant::now();
        let seen: Vec<Decision> = (0..3).map(|_| book.decide(&r, now).1).collect();
        assert_eq!(
            seen,
            vec![
                Decision::Fail(Failure::Throttle),
                Decision::Fail(Failure::Internal),
                Decision::Forward
            ]
        );
    }

    #[test]
    fn latency_adds_up_and_composes_with_an_error() {
        let mut book = Book::default();
        book.add_fault(fault(
            serde_json::json!({"operation": "*", "error": "latency", "latency_ms": 30}),
        ));
        book.add_fault(fault(
            serde_json::json!({"operation": "*", "error": "reset", "times": 1}),
        ));
        let r = request("ecs:DescribeServices", "us-east-1", "k");
        let now = Instant::now();
        assert_eq!(book.decide(&r, now), (Duration::from_millis(30), Decision::Reset));
        assert_eq!(
            book.decide(&r, now),
            (Duration::from_millis(30), Decision::Forward)
        );
    }

    #[test]
    fn a_rate_allows_its_burst_then_refills_at_its_rate() {
        let mut book = Book::default();
        let spec: RateSpec = serde_json::from_value(
            serde_json::json!({"operation": "monitoring:PutMetricAlarm", "per_second": 3}),
        )
        .unwrap();
        spec.validate().unwrap();
        book.add_rate(spec);
        let r = request("monitoring:PutMetricAlarm", "us-east-1", "k");
        let t0 = Instant::now();
        let admitted = (0..5)
            .filter(|_| book.decide(&r, t0).1 == Decision::Forward)
            .count();
        assert_eq!(admitted, 3, "the burst is per_second requests");
        let later = t0 + Duration::from_millis(700);
        let admitted = (0..5)
            .filter(|_| book.decide(&r, later).1 == Decision::Forward)
            .count();
        assert_eq!(admitted, 2, "0.7 s at 3/s refills two tokens");
        assert_eq!(book.rates[0].throttled, 5);
    }

    #[test]
    fn the_most_specific_answer_wins_and_a_new_one_replaces_the_old() {
        let mut book = Book::default();
        let answer = |body: Value, key: Option<&str>| AnswerSpec {
            operation: "ce:GetCostForecast".into(),
            region: None,
            access_key: key.map(str::to_string),
            body,
            status: 200,
        };
        book.add_answer(answer(serde_json::json!({"n": 1}), None));
        book.add_answer(answer(serde_json::json!({"n": 2}), Some("mine")));
        book.add_answer(answer(serde_json::json!({"n": 3}), None));
        let now = Instant::now();
        let body = |book: &mut Book, key: &str| match book
            .decide(&request("ce:GetCostForecast", "us-east-1", key), now)
            .1
        {
            Decision::Answer { body, .. } => body["n"].as_i64().unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(body(&mut book, "mine"), 2);
        assert_eq!(body(&mut book, "other"), 3);
        assert_eq!(book.answers.len(), 2);
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let spec: FaultSpec =
            serde_json::from_value(serde_json::json!({"operation": "DescribeAlarms", "error": "throttle"}))
                .unwrap();
        assert!(spec.validate().unwrap_err().contains("service:Operation"));
        let spec: FaultSpec =
            serde_json::from_value(serde_json::json!({"operation": "*:GetSecretValue", "error": "throttle"}))
                .unwrap();
        assert!(spec.validate().is_err());
        let spec: FaultSpec =
            serde_json::from_value(serde_json::json!({"operation": "*", "error": "latency"})).unwrap();
        assert!(spec.validate().unwrap_err().contains("latency_ms"));
        assert!(serde_json::from_value::<FaultSpec>(
            serde_json::json!({"operation": "*", "error": "explode"})
        )
        .is_err());
        assert!(serde_json::from_value::<FaultSpec>(
            serde_json::json!({"operation": "*", "error": "500", "tims": 1})
        )
        .is_err());
    }
}
