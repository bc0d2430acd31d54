//! Check definitions, read from the schedule's constant Input or `HEALTH_CHECKS`.
//!
//! Keys are exactly the documented ones: an unknown key is reported (a typo such as `expect_stauts`
//! must not silently fall back to a default), with the check's name and the field at fault. A bad
//! check never stops the others.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::status::StatusSet;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// A check's own timeout must end well inside the run (the stack's function runs 120 s): a longer
/// one would be cut short by the run every time, skipped, and never judged.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    /// `group`: what the check belongs to (a team, a component), for component runs and tools.
    pub group: Option<String>,
    pub timeout: Duration,
    pub failure_threshold: u32,
    pub evaluation_runs: u32,
    pub probe: Probe,
}

#[derive(Debug, Clone)]
pub enum Probe {
    Http(HttpCheck),
    Tcp {
        host: String,
        port: u16,
    },
    Dns(DnsCheck),
    Tls {
        host: String,
        port: u16,
        min_days_left: i64,
    },
    Ecs {
        cluster: String,
        service: String,
        min_running: Option<i64>,
    },
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::Tcp { .. } => "tcp",
            Self::Dns(_) => "dns",
            Self::Tls { .. } => "tls",
            Self::Ecs { .. } => "ecs",
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpCheck {
    pub url: reqwest::Url,
    pub method: reqwest::Method,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub expect_status: StatusSet,
    pub max_latency: Option<Duration>,
    pub body_contains: Option<String>,
    pub json: Vec<JsonCondition>,
    pub follow_redirects: bool,
    pub verify_tls: bool,
}

#[derive(Debug, Clone)]
pub struct JsonCondition {
    pub path: JsonPath,
    pub path_text: String,
    pub expect: JsonExpect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpect {
    Equals(Value),
    Exists(bool),
}

#[derive(Debug, Clone)]
pub struct DnsCheck {
    pub query: String,
    pub record_type: RecordKind,
    pub resolver: Option<SocketAddr>,
    pub expect: DnsExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
    Txt,
    Mx,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsExpect {
    /// At least one answer.
    Answers,
    /// Every listed value is among the answers.
    Values(Vec<String>),
    /// The response code, e.g. NXDOMAIN for a name that must not exist.
    Rcode(String),
}

/// A check that could not be read: reported as failed under its name (when it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub name: String,
    pub problem: String,
}

/// Reads a list of checks. Each entry is a check or the reason it is not one.
/// Parses every entry; a broken one is reported by name (or position) and the others still run.
pub fn parse_list(list: &[Value]) -> Vec<Result<Check, Invalid>> {
    list.iter().enumerate().map(|(i, raw)| parse(i, raw)).collect()
}

/// The first name two entries share, with both positions. A shared name would put one check's
/// result under the other's metric and alarm, so the whole list is refused.
pub fn duplicate(list: &[Value]) -> Option<(String, usize, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, raw) in list.iter().enumerate() {
        if let Some(name) = raw.get("name").and_then(Value::as_str) {
            if let Some(first) = seen.insert(name, i) {
                return Some((name.to_string(), first, i));
            }
        }
    }
    None
}

const COMMON: &[&str] = &[
    "name",
    "kind",
    "group",
    "timeout",
    "failure_threshold",
    "evaluation_runs",
];
const HTTP: &[&str] = &[
    "url",
    "method",
    "headers",
    "body",
    "expect_status",
    "max_latency",
    "body_contains",
    "json",
    "follow_redirects",
    "verify_tls",
];
const TCP: &[&str] = &["host", "port"];
const DNS: &[&str] = &[
    "query",
    "record_type",
    "resolver",
    "expect_values",
    "expect_rcode",
];
const TLS: &[&str] = &["host", "port", "min_days_left"];
const ECS: &[&str] = &["cluster", "service", "min_running"];

/// Names are used in alarm names and metric dimensions: keep them to characters both accept.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn parse(index: usize, raw: &Value) -> Result<Check, Invalid> {
    let Some(obj) = raw.as_object() else {
        return Err(Invalid {
            name: format!("checks[{index}]"),
            problem: "is not a JSON object".into(),
        });
    };
    let name = match obj.get("name") {
        Some(Value::String(n)) if valid_name(n) => n.clone(),
        Some(Value::String(_)) => {
            return Err(Invalid {
                name: format!("checks[{index}]"),
                problem: "field name: use 1 to 200 letters, digits, '-', '_' or '.'".into(),
            })
        }
        _ => {
            return Err(Invalid {
                name: format!("checks[{index}]"),
                problem: "field name is missing".into(),
            })
        }
    };
    let f = Fields { obj, name: &name };
    let invalid = |problem: String| Invalid {
        name: name.clone(),
        problem,
    };
    let kind = f
        .string("kind")?
        .ok_or_else(|| invalid("field kind is missing (http, tcp, dns, tls or ecs)".into()))?;
    let specific = match kind.as_str() {
        "http" => HTTP,
        "tcp" => TCP,
        "dns" => DNS,
        "tls" => TLS,
        "ecs" => ECS,
        other => {
            return Err(invalid(format!(
                "field kind: '{other}' is not one of http, tcp, dns, tls, ecs"
            )))
        }
    };
    if let Some(unknown) = obj
        .keys()
        .find(|k| !COMMON.contains(&k.as_str()) && !specific.contains(&k.as_str()))
    {
        return Err(invalid(format!("field {unknown} is not a key of a {kind} check")));
    }
    let timeout = f.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    if timeout > MAX_TIMEOUT {
        return Err(invalid(format!(
            "field timeout is over {} s: a check must be able to finish inside the run",
            MAX_TIMEOUT.as_secs()
        )));
    }
    let failure_threshold = f.count("failure_threshold")?.unwrap_or(3);
    let evaluation_runs = f.count("evaluation_runs")?.unwrap_or(3);
    if failure_threshold > evaluation_runs {
        return Err(invalid(
            "field failure_threshold is larger than evaluation_runs".into(),
        ));
    }
    let probe = match kind.as_str() {
        "http" => Probe::Http(parse_http(&f)?),
        "tcp" => Probe::Tcp {
            host: f.required("host")?,
            port: f
                .port("port")?
                .ok_or_else(|| invalid("field port is missing".into()))?,
        },
        "dns" => Probe::Dns(parse_dns(&f)?),
        "tls" => Probe::Tls {
            host: f.required("host")?,
            port: f.port("port")?.unwrap_or(443),
            min_days_left: f.integer("min_days_left")?.unwrap_or(14),
        },
        _ => Probe::Ecs {
            cluster: f.required("cluster")?,
            service: f.required("service")?,
            min_running: f.integer("min_running")?,
        },
    };
    // A group becomes an alarm tag and, per group, a metric dimension and an alarm name.
    let group = match f.string("group")? {
        Some(g) if !valid_name(&g) => {
            return Err(f.invalid("group", "must be 1 to 200 letters, digits, '-', '_' or '.'"))
        }
        g => g,
    };
    Ok(Check {
        name,
        group,
        timeout,
        failure_threshold,
        evaluation_runs,
        probe,
    })
}

fn parse_http(f: &Fields<'_>) -> Result<HttpCheck, Invalid> {
    let url_text = f.required("url")?;
    let url = reqwest::Url::parse(&url_text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| f.invalid("url", "is not an http(s) URL"))?;
    let method = f
        .string("method")?
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| f.invalid("method", "is not an HTTP method"))?;
    let headers = match f.obj.get("headers") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(f.invalid("headers", &format!("header {k} is not a string"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(f.invalid("headers", "is not an object of header names to values")),
    };
    let expect_status = match f.obj.get("expect_status") {
        None | Some(Value::Null) => StatusSet::default(),
        Some(v) => StatusSet::parse(v).map_err(|e| f.invalid("expect_status", &e))?,
    };
    let json = match f.obj.get("json") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, c)| json_condition(f, i, c))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(f.invalid("json", "is not a list of conditions")),
    };
    Ok(HttpCheck {
        url,
        method,
        headers,
        body: f.string("body")?,
        expect_status,
        max_latency: f.duration("max_latency")?,
        body_contains: f.string("body_contains")?,
        json,
        follow_redirects: f.boolean("follow_redirects")?.unwrap_or(true),
        verify_tls: f.boolean("verify_tls")?.unwrap_or(true),
    })
}

fn json_condition(f: &Fields<'_>, i: usize, c: &Value) -> Result<JsonCondition, Invalid> {
    let field = format!("json[{i}]");
    let obj = c
        .as_object()
        .ok_or_else(|| f.invalid(&field, "is not an object"))?;
    let path_text = obj
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| f.invalid(&field, "has no path"))?;
    let path =
        JsonPath::parse(path_text).map_err(|e| f.invalid(&field, &format!("path is not JSONPath ({e})")))?;
    let expect = match (obj.get("equals"), obj.get("exists")) {
        (Some(v), None) => JsonExpect::Equals(v.clone()),
        (None, Some(Value::Bool(b))) => JsonExpect::Exists(*b),
        _ => {
            return Err(f.invalid(
                &field,
                "needs exactly one of \"equals\" or \"exists\": true|false",
            ))
        }
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["path", "equals", "exists"].contains(&k.as_str()))
    {
        return Err(f.invalid(&field, &format!("key {k} is not path, equals or exists")));
    }
    Ok(JsonCondition {
        path,
        path_text: path_text.to_string(),
        expect,
    })
}

fn parse_dns(f: &Fields<'_>) -> Result<DnsCheck, Invalid> {
    let record_type = match f
        .string("record_type")?
        .unwrap_or_else(|| "A".into())
        .to_ascii_uppercase()
        .as_str()
    {
        "A" => RecordKind::A,
        "AAAA" => RecordKind::Aaaa,
        "CNAME" => RecordKind::Cname,
        "TXT" => RecordKind::Txt,
        "MX" => RecordKind::Mx,
        _ => return Err(f.invalid("record_type", "is not one of A, AAAA, CNAME, TXT, MX")),
    };
    let resolver = f
        .string("resolver")?
        .map(|r| {
            r.parse::<SocketAddr>()
                .map_err(|_| f.invalid("resolver", "is not ip:port, such as 10.0.0.2:53"))
        })
        .transpose()?;
    let expect = match (f.obj.get("expect_values"), f.string("expect_rcode")?) {
        (Some(_), Some(_)) => return Err(f.invalid("expect_values", "and expect_rcode cannot both be set")),
        (Some(Value::Array(values)), None) => DnsExpect::Values(
            values
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| f.invalid("expect_values", "is not a list of strings"))
                })
                .collect::<Result<_, _>>()?,
        ),
        (Some(_), None) => return Err(f.invalid("expect_values", "is not a list of strings")),
        (None, Some(rcode)) => {
            let rcode = rcode.to_ascii_uppercase();
            if !["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"].contains(&rcode.as_str()) {
                return Err(f.invalid(
                    "expect_rcode",
                    "is not one of NOERROR, NXDOMAIN, SERVFAIL, REFUSED",
                ));
            }
            DnsExpect::Rcode(rcode)
        }
        (None, None) => DnsExpect::Answers,
    };
    Ok(DnsCheck {
        query: f.required("query")?,
        record_type,
        resolver,
        expect,
    })
}

/// Typed access to one check's fields, with errors that name the check and the field.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    name: &'a str,
}

impl Fields<'_> {
    fn invalid(&self, field: &str, problem: &str) -> Invalid {
        Invalid {
            name: self.name.to_string(),
            problem: format!("field {field} {problem}"),
        }
    }

    fn string(&self, field: &str) -> Result<Option<String>, Invalid> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(field, "is not a string")),
        }
    }

    fn required(&self, field: &str) -> Result<String, Invalid> {
        self.string(field)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| self.invalid(field, "is missing"))
    }

    fn duration(&self, field: &str) -> Result<Option<Duration>, Invalid> {
        self.string(field)?
            .map(|t| {
                ops_shared::parse_duration(&t)
                    .map_err(|e| self.invalid(field, &format!("{e}; use a duration such as 10s or 500ms")))
            })
            .transpose()
    }

    fn integer(&self, field: &str) -> Result<Option<i64>, Invalid> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.invalid(field, "is not a whole number")),
        }
    }

    fn count(&self, field: &str) -> Result<Option<u32>, Invalid> {
        match self.integer(field)? {
            None => Ok(None),
            Some(n) if (1..=100).contains(&n) => Ok(Some(n as u32)),
            Some(_) => Err(self.invalid(field, "must be from 1 to 100")),
        }
    }

    fn port(&self, field: &str) -> Result<Option<u16>, Invalid> {
        match self.integer(field)? {
            None => Ok(None),
            Some(n) => u16::try_from(n)
                .ok()
                .filter(|p| *p > 0)
                .map(Some)
                .ok_or_else(|| self.invalid(field, "is not a port from 1 to 65535")),
        }
    }

    fn boolean(&self, field: &str) -> Result<Option<bool>, Invalid> {
        match self.obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(field, "is not true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one(v: Value) -> Result<Check, Invalid> {
        parse_list(&[v]).remove(0)
    }

    #[test]
    fn an_http_check_takes_its_defaults() {
        let c = one(json!({"name": "api", "kind": "http", "url": "https://api.example.com/health"})).unwrap();
        assert_eq!(
            (c.timeout, c.failure_threshold, c.evaluation_runs),
            (DEFAULT_TIMEOUT, 3, 3)
        );
        let Probe::Http(h) = c.probe else { panic!() };
        assert_eq!(h.method, reqwest::Method::GET);
        assert!(h.follow_redirects && h.verify_tls);
        assert!(h.expect_status.contains(302) && !h.expect_status.contains(404));
    }

    #[test]
    fn every_kind_parses_its_own_keys() {
        let list = parse_list(&[
            json!({"name": "a", "kind": "http", "url": "http://x/", "method": "post", "headers": {"X-Key": "v"}, "body": "{}",
                   "expect_status": [200, "500-599"], "max_latency": "2s", "body_contains": "ok",
                   "json": [{"path": "$.status", "equals": "ok"}, {"path": "$.db.up", "exists": true}],
                   "follow_redirects": false, "verify_tls": false, "timeout": "5s", "failure_threshold": 2, "evaluation_runs": 5}),
            json!({"name": "b", "kind": "tcp", "host": "db", "port": 5432}),
            json!({"name": "c", "kind": "dns", "query": "example.com", "record_type": "mx", "resolver": "127.0.0.1:5353", "expect_values": ["10 mx.example.com."]}),
            json!({"name": "d", "kind": "dns", "query": "gone.example.com", "expect_rcode": "nxdomain"}),
            json!({"name": "e", "kind": "tls", "host": "example.com"}),
            json!({"name": "f", "kind": "ecs", "cluster": "prod", "service": "api", "min_running": 2}),
        ]);
        assert!(list.iter().all(Result::is_ok), "{list:?}");
        let Ok(Check {
            probe: Probe::Tls {
                port, min_days_left, ..
            },
            ..
        }) = &list[4]
        else {
            panic!()
        };
        assert_eq!((*port, *min_days_left), (443, 14));
        let Ok(Check {
            probe: Probe::Dns(d), ..
        }) = &list[3]
        else {
            panic!()
        };
        assert_eq!(d.expect, DnsExpect::Rcode("NXDOMAIN".into()));
    }

    #[test]
    fn bad_fields_are_named_with_their_check() {
        let cases = [
            (
                json!({"name": "x", "kind": "http", "url": "ftp://x"}),
                "field url is not an http(s) URL",
            ),
            (
                json!({"name": "x", "kind": "http", "url": "http://x", "expect_stauts": [200]}),
                "field expect_stauts is not a key of a http check",
            ),
            (
                json!({"name": "x", "kind": "http", "url": "http://x", "timeout": "10"}),
                "field timeout",
            ),
            (
                json!({"name": "x", "kind": "http", "url": "http://x", "json": [{"path": "status", "equals": 1}]}),
                "json[0] path is not JSONPath",
            ),
            (
                json!({"name": "x", "kind": "http", "url": "http://x", "expect_status": ["2xx"]}),
                "field expect_status",
            ),
            (
                json!({"name": "x", "kind": "tcp", "host": "h"}),
                "field port is missing",
            ),
            (
                json!({"name": "x", "kind": "tcp", "host": "h", "port": 70000}),
                "field port is not a port",
            ),
            (
                json!({"name": "x", "kind": "dns", "query": "q", "resolver": "8.8.8.8"}),
                "field resolver is not ip:port",
            ),
            (
                json!({"name": "x", "kind": "ecs", "cluster": "c"}),
                "field service is missing",
            ),
            (
                json!({"name": "x", "kind": "smtp"}),
                "field kind: 'smtp' is not one of",
            ),
            (
                json!({"name": "x", "kind": "tcp", "host": "h", "port": 1, "failure_threshold": 4}),
                "larger than evaluation_runs",
            ),
        ];
        for (raw, expected) in cases {
            let err = one(raw.clone()).unwrap_err();
            assert_eq!(err.name, "x");
            assert!(err.problem.contains(expected), "{raw}: {}", err.problem);
        }
    }

    #[test]
    fn names_must_be_present_usable_and_unique() {
        let raw = [
            json!({"kind": "tcp", "host": "h", "port": 1}),
            json!({"name": "has space", "kind": "tcp", "host": "h", "port": 1}),
            json!({"name": "ok", "kind": "tcp", "host": "h", "port": 1, "group": "db"}),
            json!({"name": "ok", "kind": "tcp", "host": "h", "port": 2}),
            json!("not an object"),
            json!({"name": "g", "kind": "tcp", "host": "h", "port": 1, "group": "a b"}),
        ];
        let list = parse_list(&raw);
        assert!(list[5].as_ref().unwrap_err().problem.contains("field group"));
        assert_eq!(list[0].as_ref().unwrap_err().name, "checks[0]");
        assert!(list[1].as_ref().unwrap_err().problem.contains("letters, digits"));
        assert_eq!(list[2].as_ref().unwrap().group.as_deref(), Some("db"));
        assert!(list[4].is_err());
        assert_eq!(duplicate(&raw), Some(("ok".to_string(), 2, 3)));
        assert_eq!(duplicate(&raw[..3]), None);
    }

    #[test]
    fn the_sample_event_holds_one_valid_check_of_each_kind() {
        let path = ops_shared::sample_event_path("health-checker", "constant-input.json");
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let list = parse_list(event["checks"].as_array().unwrap());
        assert!(list.iter().all(Result::is_ok), "{list:?}");
        let mut kinds: Vec<&str> = list.iter().map(|c| c.as_ref().unwrap().probe.kind()).collect();
        kinds.dedup();
        assert_eq!(kinds, vec!["http", "tcp", "dns", "tls", "ecs"]);
    }
}
