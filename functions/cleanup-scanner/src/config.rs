//! cleanup-scanner's configuration and scan input. The function's README tables follow this file.

use std::time::Duration;

use ops_shared::{SharedError, Vars};
use serde_json::Value;

use crate::decide::Mode;
use crate::error::CleanupError;
use crate::rules::RuleSettings;

pub const FUNCTION: &str = "cleanup-scanner";
const KEYS: &[&str] = &["mode", "regions", "rules", "max_actions"];

#[derive(Debug, Clone)]
pub struct Config {
    pub report_topic: String,
    pub mode: Mode,
    pub regions: Vec<String>,
    pub grace: Duration,
    pub protect_tag: String,
    pub allowed_accounts: Vec<String>,
    pub max_percent: f64,
    pub max_actions: usize,
    /// `CLEANUP_RETENTION_SKIP` (cloudtrail,audit,flowlog): log groups whose name holds one of
    /// these (case-insensitive) never get a retention set; `none` for no exception.
    pub retention_skip: Vec<String>,
    /// `CLEANUP_ACCOUNTS`: the other accounts scanned, each through a role the scanner assumes.
    pub accounts: Vec<AccountRole>,
}

/// An account of `CLEANUP_ACCOUNTS`: `ROLE_ARN` or `ROLE_ARN|EXTERNAL_ID`.
#[derive(Clone, PartialEq)]
pub struct AccountRole {
    pub role_arn: String,
    /// The account the role is in, from its ARN.
    pub account: String,
    pub external_id: Option<String>,
}

// The external id is kept out of logs and errors: it is the role's second lock.
impl std::fmt::Debug for AccountRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRole")
            .field("role_arn", &self.role_arn)
            .field("account", &self.account)
            .field("external_id", &self.external_id.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// Reads one `CLEANUP_ACCOUNTS` entry (`index` from 0); the error names the entry by its place and
/// its role ARN, never by what might be an external id.
fn account_role(index: usize, entry: &str) -> Result<AccountRole, String> {
    let (arn, external_id) = match entry.split_once('|') {
        Some((arn, id)) => (
            arn.trim(),
            Some(id.trim().to_string()).filter(|id| !id.is_empty()),
        ),
        None => (entry.trim(), None),
    };
    // arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, role]
            if account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && role.starts_with("role/")
                && role.len() > 5 =>
        {
            Ok(AccountRole {
                role_arn: arn.to_string(),
                account: account.to_string(),
                external_id,
            })
        }
        _ => Err(format!(
            "entry {}{} is not an IAM role ARN (arn:aws:iam::111122223333:role/NAME); an external id may not hold a comma here",
            index + 1,
            if arn.starts_with("arn:") {
                format!(" ('{arn}')")
            } else {
                String::new()
            }
        )),
    }
}

#[derive(Debug, Clone)]
pub struct ScanInput {
    pub mode: Mode,
    pub regions: Vec<String>,
    pub rules: RuleSettings,
    pub max_actions: usize,
}

fn mode(text: &str) -> Option<Mode> {
    match text.to_ascii_lowercase().as_str() {
        "report" => Some(Mode::Report),
        "mark" => Some(Mode::Mark),
        "delete" => Some(Mode::Delete),
        _ => None,
    }
}

impl Config {
    pub fn from_env() -> Result<Self, CleanupError> {
        Self::from_vars(&Vars::from_env())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, CleanupError> {
        let invalid = |var: &str, problem: &str, expected: &str| {
            CleanupError::Shared(SharedError::Config {
                var: var.into(),
                problem: problem.into(),
                expected: expected.into(),
            })
        };
        let max_percent = vars.parse("CLEANUP_MAX_PERCENT", 25.0f64, "a percentage from 0 to 100")?;
        if !(0.0..=100.0).contains(&max_percent) {
            return Err(invalid(
                "CLEANUP_MAX_PERCENT",
                "is out of range",
                "a percentage from 0 to 100",
            ));
        }
        let regions = match vars.list("CLEANUP_REGIONS") {
            list if list.is_empty() => vec![vars.string("AWS_REGION", "us-east-1")],
            list => list,
        };
        Ok(Self {
            report_topic: vars.required("REPORT_TOPIC_ARN", "the ARN of the reports SNS topic")?,
            mode: mode(&vars.string("CLEANUP_MODE", "report"))
                .ok_or_else(|| invalid("CLEANUP_MODE", "is not a mode", "report, mark or delete"))?,
            regions,
            grace: vars.duration("CLEANUP_GRACE", "7d")?,
            protect_tag: vars.string("CLEANUP_PROTECT_TAG", ops_shared::PROTECT_TAG),
            allowed_accounts: vars.list("CLEANUP_ALLOWED_ACCOUNTS"),
            max_percent,
            max_actions: vars.parse("CLEANUP_MAX_ACTIONS", 20usize, "a number of actions per run")?,
            accounts: vars
                .list("CLEANUP_ACCOUNTS")
                .iter()
                .enumerate()
                .map(|(i, entry)| account_role(i, entry))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|problem| {
                    invalid(
                        "CLEANUP_ACCOUNTS",
                        &problem,
                        "role ARNs separated by commas, each optionally followed by |EXTERNAL_ID",
                    )
                })?,
            retention_skip: match vars.optional("CLEANUP_RETENTION_SKIP") {
                None => crate::rules::DEFAULT_RETENTION_SKIP
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                Some(v) if v.trim().eq_ignore_ascii_case("none") => Vec::new(),
                Some(_) => vars
                    .list("CLEANUP_RETENTION_SKIP")
                    .into_iter()
                    .map(|s| s.to_ascii_lowercase())
                    .collect(),
            },
        })
    }

    /// The event's keys over the defaults; EventBridge's plain Scheduled Event takes every default.
    pub fn input(&self, event: &Value) -> Result<ScanInput, CleanupError> {
        let bad = |problem: String| CleanupError::BadInput { problem };
        let mut input = ScanInput {
            mode: self.mode,
            regions: self.regions.clone(),
            rules: RuleSettings {
                retention_skip: self.retention_skip.clone(),
                ..RuleSettings::default()
            },
            max_actions: self.max_actions,
        };
        let Some(obj) = ops_shared::config::schedule_input(event, KEYS).map_err(bad)? else {
            return Ok(input);
        };
        if let Some(v) = obj.get("mode") {
            input.mode = v
                .as_str()
                .and_then(mode)
                .ok_or_else(|| bad("mode is not report, mark or delete".into()))?;
        }
        if let Some(v) = obj.get("regions") {
            input.regions = v
                .as_array()
                .and_then(|l| {
                    l.iter()
                        .map(|r| r.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                })
                .filter(|l| !l.is_empty())
                .ok_or_else(|| bad("regions is not a list of region names".into()))?;
            // A region named twice would be decided twice.
            let mut seen = std::collections::HashSet::new();
            input.regions.retain(|r| seen.insert(r.clone()));
        }
        if let Some(v) = obj.get("rules") {
            input
                .rules
                .apply(
                    v.as_object()
                        .ok_or_else(|| bad("rules is not an object".into()))?,
                )
                .map_err(bad)?;
        }
        if let Some(v) = obj.get("max_actions") {
            let asked =
                v.as_u64()
                    .ok_or_else(|| bad("max_actions is not a whole number".into()))? as usize;
            // An event may only lower the configured cap, never raise it.
            input.max_actions = asked.min(self.max_actions);
        }
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, CleanupError> {
        let mut all = vec![("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:1:reports")];
        all.extend_from_slice(pairs);
        Config::from_vars(&Vars::from_pairs(all))
    }

    #[test]
    fn defaults_are_safe() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mode, Mode::Report);
        assert_eq!(c.grace, Duration::from_secs(7 * 86_400));
        assert_eq!((c.max_percent, c.max_actions), (25.0, 20));
        assert_eq!(c.protect_tag, "ops-lambdas:protect");
        assert!(c.allowed_accounts.is_empty());
        let i = c.input(&json!({"detail-type": "Scheduled Event"})).unwrap();
        assert_eq!(i.mode, Mode::Report);
        assert_eq!(i.rules.retention_skip, vec!["cloudtrail", "audit", "flowlog"]);
    }

    #[test]
    fn the_retention_exceptions_are_configurable_and_can_be_none() {
        let c = config(&[("CLEANUP_RETENTION_SKIP", "Compliance, vpc")]).unwrap();
        assert_eq!(c.retention_skip, vec!["compliance", "vpc"]);
        assert!(config(&[("CLEANUP_RETENTION_SKIP", "none")])
            .unwrap()
            .retention_skip
            .is_empty());
    }

    #[test]
    fn the_event_sets_mode_rules_and_cap() {
        let c = config(&[]).unwrap();
        let i = c.input(&json!({"mode": "mark", "regions": ["eu-west-1"], "rules": {"secret-unused": {"days": 10}, "sns-topic-unused": {"enabled": false}}, "max_actions": 3})).unwrap();
        assert_eq!((i.mode, i.max_actions), (Mode::Mark, 3));
        assert_eq!(i.regions, vec!["eu-west-1"]);
        assert_eq!(i.rules.secret_unused_days, 10);
        assert!(!i.rules.enabled["sns-topic-unused"]);
    }

    #[test]
    fn mistakes_are_named() {
        let c = config(&[]).unwrap();
        for (event, expected) in [
            (json!({"mode": "nuke"}), "mode"),
            (json!({"rules": {"ec2-idle": {}}}), "rule 'ec2-idle'"),
            (
                json!({"rules": {"alarm-stale": {"dayz": 3}}}),
                "rules.alarm-stale.dayz",
            ),
            (
                json!({"rules": {"secret-unused": {"recovery_window_days": 2}}}),
                "from 7 to 30",
            ),
            (json!({"dry_run": true}), "key 'dry_run'"),
        ] {
            let err = c.input(&event).unwrap_err().to_string();
            assert!(err.contains(expected), "{event}: {err}");
        }
        assert!(config(&[("CLEANUP_MODE", "purge")])
            .unwrap_err()
            .to_string()
            .contains("CLEANUP_MODE"));
        assert!(config(&[("CLEANUP_GRACE", "7")])
            .unwrap_err()
            .to_string()
            .contains("CLEANUP_GRACE"));
    }

    #[test]
    fn the_sample_events_are_valid_inputs() {
        let c = config(&[]).unwrap();
        for (file, mode) in [
            ("report", Mode::Report),
            ("mark", Mode::Mark),
            ("delete", Mode::Delete),
        ] {
            let path = ops_shared::sample_event_path("cleanup-scanner", &format!("{file}.json"));
            let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(
                c.input(&event)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .mode,
                mode
            );
        }
    }

    #[test]
    fn other_accounts_are_role_arns_with_an_optional_external_id_never_shown() {
        let c = config(&[(
            "CLEANUP_ACCOUNTS",
            "arn:aws:iam::111122223333:role/ops-cleanup|s3cr3t-id, arn:aws:iam::444455556666:role/org/ops-cleanup",
        )])
        .unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(
            (
                c.accounts[0].account.as_str(),
                c.accounts[0].external_id.as_deref()
            ),
            ("111122223333", Some("s3cr3t-id"))
        );
        assert_eq!(
            c.accounts[1].role_arn,
            "arn:aws:iam::444455556666:role/org/ops-cleanup"
        );
        assert!(!format!("{c:?}").contains("s3cr3t-id"));
        for bad in [
            "111122223333",
            "arn:aws:iam::111122223333:role/x|s3cr3t,id",
            "arn:aws:iam::1111:role/x",
            "arn:aws:iam::111122223333:user/x|s3cr3t-id",
        ] {
            let err = config(&[("CLEANUP_ACCOUNTS", bad)]).unwrap_err().to_string();
            assert!(
                err.contains("CLEANUP_ACCOUNTS") && err.contains("role ARN"),
                "{err}"
            );
            assert!(!err.contains("s3cr3t-id"), "{err}");
        }
        assert!(config(&[]).unwrap().accounts.is_empty());
    }

    #[test]
    fn an_event_may_lower_max_actions_never_raise_it() {
        let c = Config::from_vars(&Vars::from_pairs([
            ("REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:1:reports"),
            ("CLEANUP_MAX_ACTIONS", "5"),
        ]))
        .unwrap();
        assert_eq!(c.input(&json!({"max_actions": 2})).unwrap().max_actions, 2);
        assert_eq!(c.input(&json!({"max_actions": 500})).unwrap().max_actions, 5);
    }
}
