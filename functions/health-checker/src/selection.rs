//! Which checks a run runs, and whether it may touch the alarms.
//!
//! Alarms are reconciled only from the configured list (`HEALTH_CHECKS`, on the schedule's plain
//! Scheduled Event). A list an event carries, or a component run (`{"only": ...}`), runs its checks
//! and publishes their metrics but never creates or deletes an alarm: an ad-hoc DNS-only run, or a
//! truncated input, must not delete the alarms of every other check.

use serde_json::Value;
use wildmatch::WildMatch;

use crate::error::HealthError;

#[derive(Debug)]
pub enum Selection {
    /// The configured list: the only run that reconciles alarms.
    Configured(Vec<Value>),
    /// The list the event carried (`{"checks": [...]}`).
    AdHoc(Vec<Value>),
    /// A subset of the configured list (`{"only": {"kinds", "names", "groups"}}`).
    Component(Vec<Value>),
    /// No check is configured: the run succeeds and says so.
    Nothing,
}

impl Selection {
    pub fn checks(&self) -> &[Value] {
        match self {
            Self::Configured(c) | Self::AdHoc(c) | Self::Component(c) => c,
            Self::Nothing => &[],
        }
    }

    pub fn reconciles_alarms(&self) -> bool {
        matches!(self, Self::Configured(_))
    }
}

/// `{"only": ...}`: every field given must match (kinds and groups exactly, names as globs).
#[derive(Debug, Default)]
struct Only {
    kinds: Option<Vec<String>>,
    names: Option<Vec<WildMatch>>,
    groups: Option<Vec<String>>,
}

impl Only {
    fn parse(v: &Value) -> Result<Self, HealthError> {
        let bad = |problem: &str| {
            HealthError::BadEvent {
            problem: format!("\"only\" {problem}: use {{\"only\": {{\"kinds\": [\"dns\"], \"names\": [\"api-*\"], \"groups\": [\"payments\"]}}}}, any of the three"),
        }
        };
        let obj = v.as_object().ok_or_else(|| bad("is not an object"))?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["kinds", "names", "groups"].contains(&k.as_str()))
        {
            return Err(bad(&format!("has an unknown key {k:?}")));
        }
        let list = |key: &str| -> Result<Option<Vec<String>>, HealthError> {
            match obj.get(key) {
                None => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(&format!("has a {key} entry that is not a string")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(bad(&format!("has {key} that is not a list"))),
            }
        };
        let only = Self {
            kinds: list("kinds")?,
            names: list("names")?.map(|n| n.iter().map(|g| WildMatch::new(g)).collect()),
            groups: list("groups")?,
        };
        if only.kinds.is_none() && only.names.is_none() && only.groups.is_none() {
            return Err(bad("names nothing to select"));
        }
        Ok(only)
    }

    fn keeps(&self, check: &Value) -> bool {
        let field = |k: &str| check.get(k).and_then(Value::as_str).unwrap_or("");
        self.kinds
            .as_ref()
            .is_none_or(|k| k.iter().any(|x| x == field("kind")))
            && self
                .names
                .as_ref()
                .is_none_or(|n| n.iter().any(|g| g.matches(field("name"))))
            && self
                .groups
                .as_ref()
                .is_none_or(|g| g.iter().any(|x| x == field("group")))
    }
}

/// `configured`: the list from `HEALTH_CHECKS` or `HEALTH_CHECKS_URL` (empty when neither is set).
pub fn select(event: &Value, configured: &[Value]) -> Result<Selection, HealthError> {
    if let Some(only) = event.get("only") {
        if event.get("checks").is_some() {
            return Err(HealthError::BadEvent {
                problem: "it has both \"only\" and \"checks\": a component run selects from the configured checks; send one or the other".into(),
            });
        }
        let only = Only::parse(only)?;
        if configured.is_empty() {
            return Err(HealthError::BadEvent {
                problem: "a component run selects from the configured checks, and neither HEALTH_CHECKS nor HEALTH_CHECKS_URL names one"
                    .into(),
            });
        }
        return Ok(Selection::Component(
            configured.iter().filter(|c| only.keeps(c)).cloned().collect(),
        ));
    }
    match event.get("checks") {
        Some(Value::Array(list)) if list.is_empty() => return Ok(Selection::Nothing),
        Some(Value::Array(list)) => return Ok(Selection::AdHoc(list.clone())),
        Some(_) => {
            return Err(HealthError::BadEvent {
                problem: "\"checks\" is not a list".into(),
            })
        }
        None => {}
    }
    let scheduled = event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || event.is_null()
        || event.as_object().is_some_and(|o| o.is_empty());
    if !scheduled {
        let keys = event
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        return Err(HealthError::BadEvent {
            problem: format!(
                "it has neither \"checks\", \"only\" nor detail-type Scheduled Event (keys: {keys})"
            ),
        });
    }
    Ok(if configured.is_empty() {
        Selection::Nothing
    } else {
        Selection::Configured(configured.to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(checks: Option<Value>) -> Vec<Value> {
        checks
            .and_then(|c| c["checks"].as_array().cloned())
            .unwrap_or_default()
    }

    fn configured() -> Value {
        json!({"checks": [
            {"name": "api-dns", "kind": "dns", "query": "api.example.com", "group": "payments"},
            {"name": "api-http", "kind": "http", "url": "https://api.example.com", "group": "payments"},
            {"name": "db", "kind": "tcp", "host": "db", "port": 5432},
        ]})
    }

    fn names(s: &Selection) -> Vec<&str> {
        s.checks().iter().map(|c| c["name"].as_str().unwrap()).collect()
    }

    #[test]
    fn only_the_schedules_plain_event_reconciles_alarms() {
        let c = config(Some(configured()));
        let scheduled = select(
            &json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
            &c,
        )
        .unwrap();
        assert!(scheduled.reconciles_alarms());
        assert_eq!(names(&scheduled).len(), 3);
        let adhoc = select(
            &json!({"checks": [{"name": "x", "kind": "tcp", "host": "h", "port": 1}]}),
            &c,
        )
        .unwrap();
        assert!(!adhoc.reconciles_alarms());
        let component = select(&json!({"only": {"kinds": ["dns"]}}), &c).unwrap();
        assert!(!component.reconciles_alarms());
    }

    #[test]
    fn a_component_run_selects_by_kind_name_glob_and_group() {
        let c = config(Some(configured()));
        let pick = |only: Value| names(&select(&json!({ "only": only }), &c).unwrap()).join(",");
        assert_eq!(pick(json!({"kinds": ["dns"]})), "api-dns");
        assert_eq!(pick(json!({"names": ["api-*"]})), "api-dns,api-http");
        assert_eq!(
            pick(json!({"groups": ["payments"], "kinds": ["http"]})),
            "api-http"
        );
        assert_eq!(pick(json!({"groups": ["none"]})), "");
    }

    #[test]
    fn bad_component_runs_say_how_to_write_one() {
        let c = config(Some(configured()));
        for only in [
            json!({}),
            json!({"kind": ["dns"]}),
            json!({"kinds": "dns"}),
            json!([1]),
        ] {
            let err = select(&json!({ "only": only }), &c).unwrap_err().to_string();
            assert!(err.contains("\"kinds\""), "{err}");
        }
        let err = select(&json!({"only": {"kinds": ["dns"]}}), &config(None)).unwrap_err();
        assert!(err.to_string().contains("HEALTH_CHECKS"), "{err}");
    }

    #[test]
    fn nothing_configured_is_a_selection_of_its_own() {
        let none = config(None);
        assert!(matches!(
            select(&json!({"detail-type": "Scheduled Event"}), &none).unwrap(),
            Selection::Nothing
        ));
        assert!(matches!(select(&json!({}), &none).unwrap(), Selection::Nothing));
        assert!(matches!(
            select(&json!({"checks": []}), &none).unwrap(),
            Selection::Nothing
        ));
        let empty = config(Some(json!({"checks": []})));
        assert!(matches!(
            select(&Value::Null, &empty).unwrap(),
            Selection::Nothing
        ));
    }
}
