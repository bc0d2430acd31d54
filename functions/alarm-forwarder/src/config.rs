//! alarm-forwarder's configuration, read once at cold start. The function's README table follows this file.

use std::collections::BTreeMap;
use std::time::Duration;

use ops_shared::Vars;

use crate::error::ForwardError;
use crate::severity::Severity;

pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsufficientData {
    Ignore,
    Trigger,
    Resolve,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonAlarm {
    Skip,
    Trigger,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `PAGERDUTY_ROUTING_KEY_SECRET` (required): name or ARN of the secret holding the routing table.
    pub routing_secret: String,
    /// `PAGERDUTY_EVENTS_URL`: where events go.
    pub events_url: String,
    /// `ROUTING_CACHE_TTL` (5m): how long a read routing table is trusted.
    pub routing_cache_ttl: Duration,
    /// `INSUFFICIENT_DATA_ACTION` (ignore | trigger | resolve).
    pub insufficient_data: InsufficientData,
    /// `DEFAULT_SEVERITY` (error): severity when the alarm carries no `severity:` token.
    pub default_severity: Severity,
    /// `NON_ALARM_MESSAGES` (skip | trigger): what to do with SNS messages that are not alarms.
    pub non_alarm: NonAlarm,
    /// `PAGERDUTY_TIMEOUT` (10s): the longest one request to PagerDuty may take.
    pub request_timeout: Duration,
    /// `PAGERDUTY_MAX_ATTEMPTS` (6): attempts per event, within the Lambda's remaining time.
    pub max_attempts: u32,
    /// `AWS_REGION`: the region assumed for a notification that carries no alarm ARN.
    pub region: String,
    /// `ACCOUNT_NAMES` (JSON `{"123456789012": "prod"}`): shown as `[prod]` before each summary.
    pub account_names: BTreeMap<String, String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ForwardError> {
        Self::from_vars(&Vars::from_env())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ForwardError> {
        let events_url = vars.string("PAGERDUTY_EVENTS_URL", DEFAULT_EVENTS_URL);
        if reqwest::Url::parse(&events_url)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return Err(config_error(
                "PAGERDUTY_EVENTS_URL",
                "is not an http(s) URL",
                DEFAULT_EVENTS_URL,
            ));
        }
        let max_attempts = vars.parse(
            "PAGERDUTY_MAX_ATTEMPTS",
            6u32,
            "a whole number of attempts, at least 1",
        )?;
        if max_attempts == 0 {
            return Err(config_error(
                "PAGERDUTY_MAX_ATTEMPTS",
                "is 0",
                "a whole number of attempts, at least 1",
            ));
        }
        Ok(Self {
            routing_secret: vars.required(
                "PAGERDUTY_ROUTING_KEY_SECRET",
                "the name or ARN of the Secrets Manager secret holding the PagerDuty integration key",
            )?,
            events_url,
            routing_cache_ttl: vars.duration("ROUTING_CACHE_TTL", "5m")?,
            insufficient_data: match vars
                .choice(
                    "INSUFFICIENT_DATA_ACTION",
                    "ignore",
                    &["ignore", "trigger", "resolve"],
                )?
                .as_str()
            {
                "trigger" => InsufficientData::Trigger,
                "resolve" => InsufficientData::Resolve,
                _ => InsufficientData::Ignore,
            },
            default_severity: vars
                .choice(
                    "DEFAULT_SEVERITY",
                    "error",
                    &["critical", "error", "warning", "info"],
                )?
                .parse()
                .map_err(|e: String| {
                    config_error("DEFAULT_SEVERITY", &e, "critical, error, warning or info")
                })?,
            non_alarm: match vars
                .choice("NON_ALARM_MESSAGES", "skip", &["skip", "trigger"])?
                .as_str()
            {
                "trigger" => NonAlarm::Trigger,
                _ => NonAlarm::Skip,
            },
            request_timeout: vars.duration("PAGERDUTY_TIMEOUT", "10s")?,
            max_attempts,
            region: vars.string("AWS_REGION", "us-east-1"),
            // Cosmetic: a mistake here must never stop the pages.
            account_names: account_names(vars.optional("ACCOUNT_NAMES").as_deref()).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "ACCOUNT_NAMES is ignored; pages show account ids");
                BTreeMap::new()
            }),
        })
    }
}

fn account_names(value: Option<&str>) -> Result<BTreeMap<String, String>, ForwardError> {
    let expected = r#"a JSON object of account ids to names, e.g. {"123456789012": "prod"}"#;
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let names: BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|_| config_error("ACCOUNT_NAMES", "is not such an object", expected))?;
    if let Some((id, _)) = names.iter().find(|(id, name)| {
        id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) || name.trim().is_empty()
    }) {
        return Err(config_error(
            "ACCOUNT_NAMES",
            &format!("has {id:?}, which is not a 12-digit account id with a name"),
            expected,
        ));
    }
    Ok(names)
}

fn config_error(var: &str, problem: &str, expected: &str) -> ForwardError {
    ForwardError::Config(ops_shared::SharedError::Config {
        var: var.to_string(),
        problem: problem.to_string(),
        expected: expected.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ForwardError> {
        Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn only_the_routing_secret_is_required() {
        let c = config(&[("PAGERDUTY_ROUTING_KEY_SECRET", "pd/routing")]).unwrap();
        assert_eq!(c.events_url, DEFAULT_EVENTS_URL);
        assert_eq!(c.routing_cache_ttl, Duration::from_secs(300));
        assert_eq!(c.insufficient_data, InsufficientData::Ignore);
        assert_eq!(c.default_severity, Severity::Error);
        assert_eq!(c.non_alarm, NonAlarm::Skip);
        assert_eq!(c.max_attempts, 6);
    }

    #[test]
    fn a_missing_routing_secret_says_what_to_set() {
        let err = config(&[]).unwrap_err().to_string();
        assert!(
            err.contains("PAGERDUTY_ROUTING_KEY_SECRET") && err.contains("Secrets Manager"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let base = ("PAGERDUTY_ROUTING_KEY_SECRET", "s");
        for (var, value) in [
            ("PAGERDUTY_EVENTS_URL", "events.pagerduty.com"),
            ("ROUTING_CACHE_TTL", "5"),
            ("INSUFFICIENT_DATA_ACTION", "page"),
            ("DEFAULT_SEVERITY", "sev1"),
            ("NON_ALARM_MESSAGES", "drop"),
            ("PAGERDUTY_MAX_ATTEMPTS", "0"),
        ] {
            let err = config(&[base, (var, value)]).unwrap_err().to_string();
            assert!(err.contains(var), "{var}: {err}");
        }
    }

    #[test]
    fn choices_are_read() {
        let c = config(&[
            ("PAGERDUTY_ROUTING_KEY_SECRET", "s"),
            ("INSUFFICIENT_DATA_ACTION", "RESOLVE"),
            ("DEFAULT_SEVERITY", "warning"),
            ("NON_ALARM_MESSAGES", "trigger"),
        ])
        .unwrap();
        assert_eq!(c.insufficient_data, InsufficientData::Resolve);
        assert_eq!(c.default_severity, Severity::Warning);
        assert_eq!(c.non_alarm, NonAlarm::Trigger);
    }

    #[test]
    fn account_names_are_read() {
        let c = config(&[
            ("PAGERDUTY_ROUTING_KEY_SECRET", "s"),
            (
                "ACCOUNT_NAMES",
                r#"{"123456789012": "prod", "210987654321": "staging"}"#,
            ),
        ])
        .unwrap();
        assert_eq!(c.account_names["123456789012"], "prod");
        let none = config(&[("PAGERDUTY_ROUTING_KEY_SECRET", "s"), ("ACCOUNT_NAMES", "")]).unwrap();
        assert!(none.account_names.is_empty());
    }

    #[test]
    fn a_bad_account_names_map_is_ignored_never_fatal() {
        for bad in ["prod", r#"{"prod": "123456789012"}"#, r#"{"123456789012": ""}"#] {
            let c = config(&[("PAGERDUTY_ROUTING_KEY_SECRET", "s"), ("ACCOUNT_NAMES", bad)]).unwrap();
            assert!(c.account_names.is_empty(), "{bad}");
            assert!(account_names(Some(bad))
                .unwrap_err()
                .to_string()
                .contains("ACCOUNT_NAMES"));
        }
    }
}
