//! `ops cleanup scan`: the cleanup-scanner's rules in report mode, from this machine, with a
//! progress line per region on a terminal. It never marks, deletes or publishes: the mode is
//! report, and the inventory it scans through refuses every change besides.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use async_trait::async_trait;
use cleanup_scanner::inventory::{Inventory, Scan};
use cleanup_scanner::model::{Candidate, Resource};
use cleanup_scanner::{CleanupError, Report};
use serde_json::{json, Value};

use crate::error::OpsError;

const REFUSED: &str = "ops cleanup scan changes nothing";

/// One region's inventory, watched: the region's progress on stderr, and no change let through.
struct Watched {
    inner: Box<dyn Inventory>,
    /// The region, and the account when it is not this profile's own.
    region: String,
    show: bool,
}

impl Watched {
    fn say(&self, what: &str) {
        if self.show {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K{:<16} {what}", self.region);
            let _ = err.flush();
        }
    }
}

#[async_trait]
impl Inventory for Watched {
    async fn account(&self) -> Result<String, CleanupError> {
        self.inner.account().await
    }

    async fn scan(&self) -> Result<Scan, CleanupError> {
        self.say("listing ECS, CloudWatch, Logs, Secrets Manager and SNS...");
        let scan = self.inner.scan().await;
        match &scan {
            Ok(s) => self.say(&format!(
                "{} resources listed in {} requests\n",
                s.resources.len(),
                self.inner.requests()
            )),
            Err(e) => self.say(&format!("could not be listed: {e}\n")),
        }
        scan
    }

    async fn reread_tags(&self, resource: &Resource) -> Result<HashMap<String, String>, String> {
        self.inner.reread_tags(resource).await
    }

    async fn in_use(&self, candidate: &Candidate) -> Result<Option<String>, String> {
        self.inner.in_use(candidate).await
    }

    async fn set_tag(&self, _: &Resource, _: &str, _: &str) -> Result<(), String> {
        Err(REFUSED.into())
    }

    async fn remove_tag(&self, _: &Resource, _: &str) -> Result<(), String> {
        Err(REFUSED.into())
    }

    async fn snapshot(&self, _: &Candidate) -> Result<Value, String> {
        Err(REFUSED.into())
    }

    async fn act(&self, _: &Candidate) -> Result<(), String> {
        Err(REFUSED.into())
    }

    fn requests(&self) -> usize {
        self.inner.requests()
    }
}

/// What to scan: regions (default: `CLEANUP_REGIONS`, else the profile's region) and the rules'
/// settings as the scanner's event takes them (`{"secret-unused": {"days": 30}}`).
pub struct Selection {
    pub regions: Vec<String>,
    pub rules: Option<Value>,
}

/// Scans in report mode with the cleanup-scanner's `CLEANUP_*` variables from this environment.
pub async fn scan(aws: &aws_config::SdkConfig, selection: &Selection) -> Result<Report, OpsError> {
    let fail = |e: CleanupError| OpsError::Cleanup(e.to_string());
    let mut vars = crate::function_vars("CLEANUP_", &["AWS_REGION"]);
    // The command is report mode whatever the variable says; a bad value must not stop it.
    vars.remove("CLEANUP_MODE");
    if !vars.contains_key("AWS_REGION") {
        if let Some(region) = aws.region() {
            vars.insert("AWS_REGION".into(), region.to_string());
        }
    }
    let config = cleanup_scanner::Config::from_vars(&ops_shared::Vars::from_pairs(vars)).map_err(fail)?;
    let mut event = json!({"mode": "report"});
    if !selection.regions.is_empty() {
        event["regions"] = json!(selection.regions);
    }
    if let Some(rules) = &selection.rules {
        event["rules"] = rules.clone();
    }
    let input = config.input(&event).map_err(fail)?;
    let stale_days = input.rules.log_stale_days;
    let show = std::io::stderr().is_terminal();
    let configs = cleanup_scanner::account_configs(aws, &config).await;
    let accounts = cleanup_scanner::accounts(&configs, stale_days, move |inner, role, region| {
        Box::new(Watched {
            inner,
            region: match role {
                Some(role) => format!("{} {region}", role.account),
                None => region.to_string(),
            },
            show,
        })
    });
    let kept = Kept::default();
    // A person waits at the terminal; the scan has no Lambda deadline, only this bound.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30 * 60);
    let report = cleanup_scanner::scan::run(
        accounts,
        &kept,
        &crate::cost::NotSent,
        &config,
        input,
        chrono::Utc::now().date_naive(),
        deadline,
    )
    .await;
    if show {
        eprintln!();
    }
    report.map_err(|e| {
        // A region that failed must not hide the others: the report is printed with the error.
        let text = kept.0.lock().map(|t| t.clone()).unwrap_or_default();
        OpsError::Cleanup(match text {
            Some(text) => format!("{e}\n\nThe report of what could be scanned:\n{text}"),
            None => e.to_string(),
        })
    })
}

/// Sends nothing; keeps the report's text, for a scan that ends in an error.
#[derive(Default)]
struct Kept(std::sync::Mutex<Option<String>>);

#[async_trait]
impl ops_shared::Notifier for Kept {
    async fn notify(&self, n: &ops_shared::Notification) -> Result<String, ops_shared::SharedError> {
        if let Ok(mut text) = self.0.lock() {
            *text = Some(n.message.clone());
        }
        Ok("not sent".into())
    }
}
