//! cost-reporter's configuration and report input. Every input key defaults from a variable, so a
//! plain Scheduled Event gives the configured report. The function's README tables follow this file.

use std::collections::BTreeMap;

use ops_shared::{SharedError, Vars};
use serde::Serialize;
use serde_json::Value;

use crate::environments::{Dimension, Environments};
use crate::error::CostError;
use crate::request::Period;

pub const FUNCTION: &str = "cost-reporter";
const METRICS: &[&str] = &["UnblendedCost", "AmortizedCost", "NetUnblendedCost"];
const DIMENSIONS: &[&str] = &["SERVICE", "LINKED_ACCOUNT", "REGION"];
const KEYS: &[&str] = &[
    "period",
    "metric",
    "group_by",
    "top",
    "exclude_record_types",
    "budget",
];

/// What one report is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportInput {
    pub period: Period,
    pub metric: String,
    pub group_by: Vec<String>,
    pub top: usize,
    pub exclude_record_types: Vec<String>,
    pub budget_monthly: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The input a plain Scheduled Event gets, from COST_* variables.
    pub defaults: ReportInput,
    /// `REPORT_TOPIC_ARN` (required): where the digest is published.
    pub report_topic: String,
    /// `COST_ANOMALY_MONITOR_ARN`: read anomalies from this monitor when set.
    pub anomaly_monitor: Option<String>,
    /// `COST_ENVIRONMENTS` (with `COST_ACCOUNT_NAMES`, `COST_BUDGETS`): the per-environment section.
    pub environments: Option<Environments>,
}

/// A JSON object of strings to `T`s, or what is wrong with it.
fn json_map<T>(text: &str, value: impl Fn(&Value) -> Option<T>) -> Result<BTreeMap<String, T>, String> {
    let parsed: Value = serde_json::from_str(text).map_err(|e| format!("is not JSON ({e})"))?;
    let object = parsed.as_object().ok_or("is not a JSON object")?;
    object
        .iter()
        .map(|(k, v)| {
            value(v)
                .map(|t| (k.clone(), t))
                .ok_or_else(|| format!("has a bad value for '{k}'"))
        })
        .collect()
}

fn environments(vars: &Vars) -> Result<Option<Environments>, CostError> {
    let invalid = |var: &str, problem: String, expected: &str| {
        CostError::Shared(SharedError::Config {
            var: var.into(),
            problem,
            expected: expected.into(),
        })
    };
    let names = vars.optional("COST_ACCOUNT_NAMES");
    let budgets = vars.optional("COST_BUDGETS");
    let Some(by) = vars.optional("COST_ENVIRONMENTS") else {
        for (var, set) in [("COST_ACCOUNT_NAMES", &names), ("COST_BUDGETS", &budgets)] {
            if set.is_some() {
                return Err(invalid(
                    var,
                    "is set without COST_ENVIRONMENTS".into(),
                    "COST_ENVIRONMENTS too (TAG:<key>, COST_CATEGORY:<name> or LINKED_ACCOUNT), or neither",
                ));
            }
        }
        return Ok(None);
    };
    let expected_by = "TAG:<key> (such as TAG:Environment), COST_CATEGORY:<name> or LINKED_ACCOUNT";
    let by = Dimension::parse(&by)
        .ok_or_else(|| invalid("COST_ENVIRONMENTS", "is not a dimension".into(), expected_by))?;
    let expected_names = r#"a JSON object of account IDs to names, such as {"111122223333": "prod"}"#;
    let account_names = match names {
        None => BTreeMap::new(),
        Some(_) if by != Dimension::LinkedAccount => {
            return Err(invalid(
                "COST_ACCOUNT_NAMES",
                "names accounts but COST_ENVIRONMENTS is not LINKED_ACCOUNT".into(),
                "COST_ENVIRONMENTS=LINKED_ACCOUNT, or no COST_ACCOUNT_NAMES",
            ))
        }
        Some(text) => {
            let map = json_map(&text, |v| {
                v.as_str()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            })
            .map_err(|p| invalid("COST_ACCOUNT_NAMES", p, expected_names))?;
            if let Some(bad) = map
                .keys()
                .find(|k| k.len() != 12 || !k.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(invalid(
                    "COST_ACCOUNT_NAMES",
                    format!("has '{bad}', which is not a 12-digit account ID"),
                    expected_names,
                ));
            }
            map
        }
    };
    let budgets = match budgets {
        None => BTreeMap::new(),
        Some(text) => json_map(&text, |v| v.as_f64().filter(|b| *b > 0.0 && b.is_finite())).map_err(|p| {
            invalid(
                "COST_BUDGETS",
                p,
                r#"a JSON object of environment names to positive monthly amounts, such as {"prod": 60}"#,
            )
        })?,
    };
    Ok(Some(Environments {
        by,
        account_names,
        budgets,
    }))
}

fn bad(problem: String) -> CostError {
    CostError::BadInput { problem }
}

fn check_metric(metric: &str) -> Result<String, String> {
    METRICS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(metric))
        .map(|m| m.to_string())
        .ok_or_else(|| format!("metric '{metric}' is not one of {}", METRICS.join(", ")))
}

fn check_group_by(groups: Vec<String>) -> Result<Vec<String>, String> {
    if groups.is_empty() || groups.len() > 2 {
        return Err(
            "group_by takes one or two of SERVICE, LINKED_ACCOUNT, REGION, TAG:<key>, COST_CATEGORY:<name>"
                .into(),
        );
    }
    groups
        .into_iter()
        .map(|g| {
            let upper = g.to_ascii_uppercase();
            if DIMENSIONS.contains(&upper.as_str()) {
                Ok(upper)
            } else if let Some(key) = g.strip_prefix("TAG:").or_else(|| g.strip_prefix("tag:")) {
                if key.is_empty() { Err("group_by TAG: needs a tag key, such as TAG:team".to_string()) } else { Ok(format!("TAG:{key}")) }
            } else if let Some(name) = g.strip_prefix("COST_CATEGORY:").or_else(|| g.strip_prefix("cost_category:")) {
                if name.is_empty() { Err("group_by COST_CATEGORY: needs a category name".to_string()) } else { Ok(format!("COST_CATEGORY:{name}")) }
            } else {
                Err(format!("group_by '{g}' is not SERVICE, LINKED_ACCOUNT, REGION, TAG:<key> or COST_CATEGORY:<name>"))
            }
        })
        .collect()
}

impl Config {
    pub fn from_env() -> Result<Self, CostError> {
        Self::from_vars(&Vars::from_env())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, CostError> {
        let invalid = |var: &str, problem: String, expected: &str| {
            CostError::Shared(SharedError::Config {
                var: var.into(),
                problem,
                expected: expected.into(),
            })
        };
        let period = Period::parse(&vars.string("COST_PERIOD", "daily")).ok_or_else(|| {
            invalid(
                "COST_PERIOD",
                "is not a period".into(),
                "daily, weekly or monthly",
            )
        })?;
        let metric = check_metric(&vars.string("COST_METRIC", "UnblendedCost")).map_err(|p| {
            invalid(
                "COST_METRIC",
                p,
                "UnblendedCost, AmortizedCost or NetUnblendedCost",
            )
        })?;
        let group_by = {
            let list = vars.list("COST_GROUP_BY");
            check_group_by(if list.is_empty() {
                vec!["SERVICE".into()]
            } else {
                list
            })
            .map_err(|p| {
                invalid(
                    "COST_GROUP_BY",
                    p,
                    "SERVICE, or two of SERVICE, LINKED_ACCOUNT, REGION, TAG:<key>, COST_CATEGORY:<name>",
                )
            })?
        };
        let top = vars.parse("COST_TOP", 10usize, "a number of groups from 1 to 100")?;
        if !(1..=100).contains(&top) {
            return Err(invalid(
                "COST_TOP",
                "is out of range".into(),
                "a number of groups from 1 to 100",
            ));
        }
        let exclude_record_types = match vars.optional("COST_EXCLUDE_RECORD_TYPES") {
            None => vec![
                "Credit".into(),
                "Refund".into(),
                "Upfront".into(),
                "Support".into(),
            ],
            Some(v) if v.eq_ignore_ascii_case("none") => Vec::new(),
            Some(_) => vars.list("COST_EXCLUDE_RECORD_TYPES"),
        };
        let budget_monthly = match vars.optional("COST_BUDGET_MONTHLY") {
            None => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|b| *b > 0.0 && b.is_finite())
                    .ok_or_else(|| {
                        invalid(
                            "COST_BUDGET_MONTHLY",
                            "is not a positive amount".into(),
                            "the monthly budget in the bill's currency, such as 1000",
                        )
                    })?,
            ),
        };
        Ok(Self {
            defaults: ReportInput {
                period,
                metric,
                group_by,
                top,
                exclude_record_types,
                budget_monthly,
            },
            report_topic: vars.required("REPORT_TOPIC_ARN", "the ARN of the reports SNS topic")?,
            anomaly_monitor: vars.optional("COST_ANOMALY_MONITOR_ARN"),
            environments: environments(vars)?,
        })
    }

    /// The input of one invocation: the event's keys over the defaults. EventBridge's plain
    /// Scheduled Event (or an empty object) takes every default.
    pub fn input(&self, event: &Value) -> Result<ReportInput, CostError> {
        let mut input = self.defaults.clone();
        let Some(obj) = ops_shared::config::schedule_input(event, KEYS).map_err(bad)? else {
            return Ok(input);
        };
        if let Some(v) = obj.get("period") {
            input.period = v
                .as_str()
                .and_then(Period::parse)
                .ok_or_else(|| bad("period is not daily, weekly or monthly".into()))?;
        }
        if let Some(v) = obj.get("metric") {
            input.metric = check_metric(v.as_str().unwrap_or_default()).map_err(bad)?;
        }
        if let Some(v) = obj.get("group_by") {
            let list = strings(v).ok_or_else(|| bad("group_by is not a list of strings".into()))?;
            input.group_by = check_group_by(list).map_err(bad)?;
        }
        if let Some(v) = obj.get("top") {
            input.top =
                v.as_u64()
                    .filter(|t| (1..=100).contains(t))
                    .ok_or_else(|| bad("top is not a number from 1 to 100".into()))? as usize;
        }
        if let Some(v) = obj.get("exclude_record_types") {
            input.exclude_record_types =
                strings(v).ok_or_else(|| bad("exclude_record_types is not a list of strings".into()))?;
        }
        if let Some(v) = obj.get("budget") {
            if !v.is_object() && !v.is_null() {
                return Err(bad(r#"budget is not an object such as {"monthly": 1000}"#.into()));
            }
            input.budget_monthly = match v.get("monthly") {
                None | Some(Value::Null) => None,
                Some(m) => Some(
                    m.as_f64()
                        .filter(|b| *b > 0.0)
                        .ok_or_else(|| bad("budget.monthly is not a positive amount".into()))?,
                ),
            };
        }
        Ok(input)
    }
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, CostError> {
        let mut all = vec![("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:1:reports")];
        all.extend_from_slice(pairs);
        Config::from_vars(&Vars::from_pairs(all))
    }

    #[test]
    fn defaults_are_a_daily_service_report_without_credits() {
        let c = config(&[]).unwrap();
        assert_eq!(c.defaults.period, Period::Daily);
        assert_eq!(c.defaults.group_by, vec!["SERVICE"]);
        assert_eq!(
            c.defaults.exclude_record_types,
            vec!["Credit", "Refund", "Upfront", "Support"]
        );
        assert_eq!((c.defaults.top, c.defaults.budget_monthly), (10, None));
        assert_eq!(
            c.input(&json!({"detail-type": "Scheduled Event", "source": "aws.events"}))
                .unwrap(),
            c.defaults
        );
        assert!(Config::from_vars(&Vars::from_pairs([("COST_PERIOD", "daily")]))
            .unwrap_err()
            .to_string()
            .contains("REPORT_TOPIC_ARN"));
    }

    #[test]
    fn event_keys_override_the_defaults() {
        let c = config(&[("COST_BUDGET_MONTHLY", "1000")]).unwrap();
        let i = c
            .input(&json!({"period": "weekly", "metric": "amortizedcost", "group_by": ["SERVICE", "TAG:team"], "top": 5, "exclude_record_types": [], "budget": {"monthly": 2500.0}}))
            .unwrap();
        assert_eq!(
            (i.period, i.metric.as_str(), i.top),
            (Period::Weekly, "AmortizedCost", 5)
        );
        assert_eq!(i.group_by, vec!["SERVICE", "TAG:team"]);
        assert!(i.exclude_record_types.is_empty());
        assert_eq!(i.budget_monthly, Some(2500.0));
        assert_eq!(c.input(&json!({})).unwrap().budget_monthly, Some(1000.0));
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let c = config(&[]).unwrap();
        for (event, expected) in [
            (json!({"period": "hourly"}), "period"),
            (json!({"metric": "BlendedCost"}), "metric 'BlendedCost'"),
            (
                json!({"group_by": ["SERVICE", "REGION", "LINKED_ACCOUNT"]}),
                "one or two",
            ),
            (json!({"group_by": ["INSTANCE_TYPE"]}), "'INSTANCE_TYPE'"),
            (json!({"top": 0}), "top"),
            (json!({"budget": {"monthly": -5}}), "budget.monthly"),
            (json!({"budget": 50000}), "budget is not an object"),
            (json!({"perod": "daily"}), "key 'perod'"),
        ] {
            let err = c.input(&event).unwrap_err().to_string();
            assert!(err.contains(expected), "{event}: {err}");
        }
        for (var, value) in [
            ("COST_PERIOD", "yearly"),
            ("COST_GROUP_BY", "TAG:"),
            ("COST_TOP", "500"),
            ("COST_BUDGET_MONTHLY", "lots"),
        ] {
            assert!(
                config(&[(var, value)]).unwrap_err().to_string().contains(var),
                "{var}"
            );
        }
        assert!(config(&[("COST_EXCLUDE_RECORD_TYPES", "none")])
            .unwrap()
            .defaults
            .exclude_record_types
            .is_empty());
    }

    #[test]
    fn environments_are_configured_or_refused_with_what_to_set() {
        assert!(config(&[]).unwrap().environments.is_none());
        let c = config(&[
            ("COST_ENVIRONMENTS", "LINKED_ACCOUNT"),
            ("COST_ACCOUNT_NAMES", r#"{"111122223333": "prod"}"#),
            ("COST_BUDGETS", r#"{"prod": 60, "dev": 12.5}"#),
        ])
        .unwrap()
        .environments
        .unwrap();
        assert_eq!(c.by, Dimension::LinkedAccount);
        assert_eq!(c.account_names["111122223333"], "prod");
        assert_eq!(c.budgets["dev"], 12.5);
        for (pairs, expected) in [
            (vec![("COST_ENVIRONMENTS", "SERVICE")], "COST_ENVIRONMENTS"),
            (
                vec![("COST_BUDGETS", r#"{"prod": 60}"#)],
                "without COST_ENVIRONMENTS",
            ),
            (
                vec![
                    ("COST_ENVIRONMENTS", "TAG:Environment"),
                    ("COST_BUDGETS", r#"{"prod": -1}"#),
                ],
                "bad value for 'prod'",
            ),
            (
                vec![
                    ("COST_ENVIRONMENTS", "TAG:Environment"),
                    ("COST_BUDGETS", "prod=60"),
                ],
                "is not JSON",
            ),
            (
                vec![
                    ("COST_ENVIRONMENTS", "TAG:Environment"),
                    ("COST_ACCOUNT_NAMES", r#"{"111122223333": "prod"}"#),
                ],
                "not LINKED_ACCOUNT",
            ),
            (
                vec![
                    ("COST_ENVIRONMENTS", "LINKED_ACCOUNT"),
                    ("COST_ACCOUNT_NAMES", r#"{"prod": "111122223333"}"#),
                ],
                "12-digit",
            ),
            (
                vec![
                    ("COST_ENVIRONMENTS", "LINKED_ACCOUNT"),
                    ("COST_ACCOUNT_NAMES", r#"{"111122223333": " "}"#),
                ],
                "bad value for '111122223333'",
            ),
        ] {
            let err = config(&pairs).unwrap_err().to_string();
            assert!(err.contains(expected), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn the_sample_events_are_valid_inputs() {
        let c = config(&[]).unwrap();
        for file in ["daily", "weekly", "monthly", "by-team-tag", "scheduled-event"] {
            let path = ops_shared::sample_event_path("cost-reporter", &format!("{file}.json"));
            let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            c.input(&event)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}
