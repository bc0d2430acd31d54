//! Typed configuration from environment variables.
//!
//! Every reader takes a default or fails with an error that names the variable and the expected
//! form, so a bad deployment fails at cold start with a message that says what to fix. Values are
//! never echoed back: a variable may hold something sensitive by mistake.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::error::SharedError;

/// A source of configuration variables: the process environment, or a fixed map in tests.
pub struct Vars {
    source: Source,
}

enum Source {
    Process,
    Fixed(HashMap<String, String>),
}

impl Vars {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self {
            source: Source::Process,
        }
    }

    /// A fixed set of variables, for tests and for building config from an event.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let map = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self {
            source: Source::Fixed(map),
        }
    }

    /// The variable's value; unset and empty (after trimming) are the same thing.
    pub fn optional(&self, name: &str) -> Option<String> {
        let raw = match &self.source {
            Source::Process => std::env::var(name).ok(),
            Source::Fixed(map) => map.get(name).cloned(),
        };
        raw.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The variable's value, or `default` when unset.
    pub fn string(&self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_string())
    }

    /// The variable's value; unset is an error that says what the variable should hold.
    pub fn required(&self, name: &str, expected: &str) -> Result<String, SharedError> {
        self.optional(name)
            .ok_or_else(|| SharedError::config(name, "is not set", expected))
    }

    /// Parses the variable with `FromStr`, or returns `default` when unset.
    pub fn parse<T>(&self, name: &str, default: T, expected: &str) -> Result<T, SharedError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e: T::Err| SharedError::config(name, format!("could not be read ({e})"), expected)),
        }
    }

    /// A human duration such as `90s`, `15m` or `30d`; `default` uses the same form.
    pub fn duration(&self, name: &str, default: &str) -> Result<Duration, SharedError> {
        let text = self.string(name, default);
        parse_duration(&text).map_err(|e| SharedError::config(name, e, "a duration such as 90s, 15m or 30d"))
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or `default` when unset.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, SharedError> {
        match self.optional(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(SharedError::config(name, "is not a boolean", "true or false")),
            },
        }
    }

    /// One of `allowed` (case-insensitive, returned lower-case), or `default` when unset.
    pub fn choice(&self, name: &str, default: &str, allowed: &[&str]) -> Result<String, SharedError> {
        let value = self.string(name, default).to_ascii_lowercase();
        if allowed.contains(&value.as_str()) {
            Ok(value)
        } else {
            Err(SharedError::config(
                name,
                "has an unknown value",
                format!("one of {}", allowed.join(", ")),
            ))
        }
    }

    /// A comma-separated list; blanks are dropped, so unset means an empty list.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The keys of a schedule's constant Input. `None` means EventBridge's plain Scheduled Event (or an
/// empty event), which takes every default. A key outside `keys` is refused, naming it, so a typo
/// cannot silently fall back to a default.
pub fn schedule_input<'a>(
    event: &'a serde_json::Value,
    keys: &[&str],
) -> Result<Option<&'a serde_json::Map<String, serde_json::Value>>, String> {
    let Some(obj) = event.as_object() else {
        return if event.is_null() {
            Ok(None)
        } else {
            Err("the event is not a JSON object".into())
        };
    };
    if obj.is_empty() || obj.get("detail-type").and_then(serde_json::Value::as_str) == Some("Scheduled Event")
    {
        return Ok(None);
    }
    match obj.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!("key '{k}' is not one of {}", keys.join(", "))),
        None => Ok(Some(obj)),
    }
}

/// Parses a human duration (`90s`, `15m`, `2h`, `30d`, `1h 30m`, `500ms`).
///
/// A bare number is refused on purpose: `30` could mean seconds or days, and guessing wrong is how a
/// cleanup grace period of 30 days becomes 30 seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".to_string());
    }
    if text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("'{text}' has no unit"));
    }
    humantime::parse_duration(text).map_err(|e| format!("could not be read ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn schedule_input_tells_defaults_from_keys_and_refuses_typos() {
        let keys = ["mode", "top"];
        assert!(schedule_input(
            &serde_json::json!({"detail-type": "Scheduled Event", "x": 1}),
            &keys
        )
        .unwrap()
        .is_none());
        assert!(schedule_input(&serde_json::json!({}), &keys).unwrap().is_none());
        assert!(schedule_input(&serde_json::Value::Null, &keys).unwrap().is_none());
        assert_eq!(
            schedule_input(&serde_json::json!({"top": 3}), &keys)
                .unwrap()
                .unwrap()["top"],
            3
        );
        assert_eq!(
            schedule_input(&serde_json::json!({"topp": 3}), &keys).unwrap_err(),
            "key 'topp' is not one of mode, top"
        );
        assert!(schedule_input(&serde_json::json!([1]), &keys).is_err());
    }

    #[test]
    fn unset_and_blank_variables_take_the_default() {
        let v = vars(&[("BLANK", "   ")]);
        assert_eq!(v.string("BLANK", "x"), "x");
        assert_eq!(v.string("MISSING", "y"), "y");
        assert_eq!(v.parse("MISSING", 32u32, "a number").unwrap(), 32);
    }

    #[test]
    fn a_missing_required_variable_names_itself_and_the_expected_form() {
        let err = vars(&[])
            .required("REPORT_TOPIC_ARN", "the ARN of the reports SNS topic")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("REPORT_TOPIC_ARN"), "{msg}");
        assert!(msg.contains("is not set"), "{msg}");
        assert!(msg.contains("the ARN of the reports SNS topic"), "{msg}");
    }

    #[test]
    fn a_malformed_number_names_the_variable_but_not_the_value() {
        let err = vars(&[("HEALTH_CONCURRENCY", "lots-of-s3cr3t")])
            .parse::<u32>("HEALTH_CONCURRENCY", 32, "a whole number such as 32")
            .unwrap_err()
            .to_string();
        assert!(err.contains("HEALTH_CONCURRENCY"), "{err}");
        assert!(err.contains("a whole number such as 32"), "{err}");
        assert!(!err.contains("lots-of-s3cr3t"), "{err}");
    }

    #[test]
    fn durations_read_human_forms() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    }

    #[test]
    fn durations_without_a_unit_or_with_a_bad_one_are_refused() {
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 fortnights").is_err());
        let err = vars(&[("CLEANUP_GRACE", "7")])
            .duration("CLEANUP_GRACE", "7d")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CLEANUP_GRACE") && err.contains("90s, 15m or 30d"),
            "{err}"
        );
    }

    #[test]
    fn duration_default_applies_when_unset() {
        assert_eq!(
            vars(&[]).duration("ROUTING_CACHE_TTL", "5m").unwrap(),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn booleans_accept_common_spellings_and_refuse_others() {
        let v = vars(&[("A", "TRUE"), ("B", "0"), ("C", "off"), ("D", "maybe")]);
        assert!(v.bool("A", false).unwrap());
        assert!(!v.bool("B", true).unwrap());
        assert!(!v.bool("C", true).unwrap());
        assert!(v.bool("UNSET", true).unwrap());
        assert!(v
            .bool("D", true)
            .unwrap_err()
            .to_string()
            .contains("true or false"));
    }

    #[test]
    fn choices_are_case_insensitive_and_list_the_allowed_values() {
        let v = vars(&[("MODE", "Trigger"), ("BAD", "page")]);
        let allowed = ["ignore", "trigger", "resolve"];
        assert_eq!(v.choice("MODE", "ignore", &allowed).unwrap(), "trigger");
        assert_eq!(v.choice("UNSET", "ignore", &allowed).unwrap(), "ignore");
        let err = v.choice("BAD", "ignore", &allowed).unwrap_err().to_string();
        assert!(err.contains("ignore, trigger, resolve"), "{err}");
    }

    #[test]
    fn lists_split_on_commas_and_drop_blanks() {
        let v = vars(&[("ALLOWED", " 111111111111, ,222222222222,")]);
        assert_eq!(v.list("ALLOWED"), vec!["111111111111", "222222222222"]);
        assert!(v.list("UNSET").is_empty());
    }
}
