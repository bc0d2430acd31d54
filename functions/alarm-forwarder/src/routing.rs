//! Which PagerDuty integration an alarm goes to.
//!
//! The routing secret (named by `PAGERDUTY_ROUTING_KEY_SECRET`) holds either a bare 32-character
//! integration key, or `{"default": KEY, "routes": [{"match": GLOB, "routing_key": KEY}]}` where the
//! first route whose glob matches the alarm name wins. It may also hold
//! `"runbooks": [{"match": GLOB, "url": "https://…/{alarm}"}]`, the runbook of the alarms whose name
//! matches. It is read once per container and kept for `ROUTING_CACHE_TTL`; every key is registered
//! with the redactor the moment it is read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wildmatch::WildMatch;

use crate::error::ForwardError;

/// PagerDuty integration keys are 32 characters.
pub const ROUTING_KEY_LEN: usize = 32;

/// The port through which the routing secret is read.
#[async_trait]
pub trait SecretReader: Send + Sync {
    async fn read(&self, secret_id: &str) -> Result<SecretString, ForwardError>;
}

pub struct Route {
    pattern: String,
    glob: WildMatch,
    key: SecretString,
}

pub struct RoutingTable {
    default: Option<SecretString>,
    routes: Vec<Route>,
    runbooks: Vec<(WildMatch, String)>,
    /// The value the stack creates the secret with (`{}` or `{"placeholder": ...}`): nobody has
    /// put a routing key in yet.
    pub placeholder: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableJson {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    routes: Vec<RouteJson>,
    /// Read loosely: a mistake in a runbook entry costs that entry, never the table.
    #[serde(default)]
    runbooks: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteJson {
    #[serde(rename = "match")]
    pattern: String,
    routing_key: String,
}

impl RoutingTable {
    /// Reads a routing secret's value. Errors name the secret and the part at fault, never a key.
    pub fn parse(secret: &str, value: &SecretString) -> Result<Self, ForwardError> {
        let invalid = |problem: String| ForwardError::RoutingSecretInvalid {
            secret: secret.to_string(),
            problem,
        };
        let text = value.expose_secret().trim();
        if text.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if !text.starts_with('{') && !text.starts_with('"') {
            return Ok(Self::bare(key(text, "the value").map_err(invalid)?));
        }
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(text) {
            if fields.keys().all(|k| k == "placeholder") {
                return Ok(Self {
                    default: None,
                    routes: Vec::new(),
                    runbooks: Vec::new(),
                    placeholder: true,
                });
            }
        }
        if text.starts_with('"') {
            let bare: String =
                serde_json::from_str(text).map_err(|_| invalid("it is a malformed JSON string".into()))?;
            return Ok(Self::bare(key(bare.trim(), "the value").map_err(invalid)?));
        }
        let table: TableJson = serde_json::from_str(text).map_err(|e| invalid(json_problem(&e)))?;
        let default = table
            .default
            .as_deref()
            .map(|k| key(k, "\"default\""))
            .transpose()
            .map_err(invalid)?;
        let routes = table
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if r.pattern.is_empty() {
                    return Err(invalid(format!("routes[{i}].match is empty")));
                }
                let key = key(&r.routing_key, &format!("routes[{i}].routing_key")).map_err(invalid)?;
                Ok(Route {
                    pattern: r.pattern.clone(),
                    glob: WildMatch::new(&r.pattern),
                    key,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if default.is_none() && routes.is_empty() {
            return Err(invalid("it has neither a \"default\" key nor any routes".into()));
        }
        let runbooks = runbooks(secret, &table.runbooks);
        Ok(Self {
            default,
            routes,
            runbooks,
            placeholder: false,
        })
    }

    fn bare(key: SecretString) -> Self {
        Self {
            default: Some(key),
            routes: Vec::new(),
            runbooks: Vec::new(),
            placeholder: false,
        }
    }

    /// The key for an alarm name: the first matching route, else the default.
    pub fn route(&self, alarm_name: &str) -> Option<(&SecretString, &str)> {
        self.routes
            .iter()
            .find(|r| r.glob.matches(alarm_name))
            .map(|r| (&r.key, r.pattern.as_str()))
            .or_else(|| self.default.as_ref().map(|k| (k, "default")))
    }

    /// Every distinct key of the table, `first` (when given) before the default and the routes: a
    /// resolve goes to each, so it reaches the incident whatever route opened it (PagerDuty drops a
    /// resolve for an unknown dedup key).
    pub fn keys<'a>(&'a self, first: Option<&'a SecretString>) -> Vec<&'a SecretString> {
        let mut keys: Vec<&SecretString> = Vec::new();
        let all = first
            .into_iter()
            .chain(&self.default)
            .chain(self.routes.iter().map(|r| &r.key));
        for key in all {
            if !keys.iter().any(|k| k.expose_secret() == key.expose_secret()) {
                keys.push(key);
            }
        }
        keys
    }

    /// The URL template of the first runbook entry whose glob matches the alarm name.
    pub fn runbook(&self, alarm_name: &str) -> Option<&str> {
        self.runbooks
            .iter()
            .find(|(glob, _)| glob.matches(alarm_name))
            .map(|(_, url)| url.as_str())
    }

    /// The default key, for messages that are not alarms.
    pub fn default_key(&self) -> Option<&SecretString> {
        self.default.as_ref()
    }
}

/// serde's wording for unknown and missing fields names only fields; for type errors it quotes the
/// value, which could be a key, so those get a position instead.
/// The usable `runbooks` entries; the others are warned about and left out. A URL is checked when
/// it is used: a bad one costs its link, never a page.
fn runbooks(secret: &str, value: &serde_json::Value) -> Vec<(WildMatch, String)> {
    let entries = match value {
        serde_json::Value::Null => return Vec::new(),
        serde_json::Value::Array(entries) => entries,
        _ => {
            tracing::warn!(%secret, "\"runbooks\" in the routing secret is not a list of {{\"match\", \"url\"}}; no runbook links");
            return Vec::new();
        }
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            match (entry["match"].as_str(), entry["url"].as_str()) {
                (Some(pattern), Some(url)) if !pattern.is_empty() => Some((WildMatch::new(pattern), url.to_string())),
                _ => {
                    tracing::warn!(%secret, entry = i, "runbooks[{i}] in the routing secret needs a \"match\" glob and a \"url\"; left out");
                    None
                }
            }
        })
        .collect()
}

fn json_problem(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with("unknown field") || msg.starts_with("missing field") {
        format!("its JSON is not a routing table ({msg})")
    } else {
        format!(
            "its JSON is not a routing table (malformed, or a field of the wrong type, at line {} column {})",
            e.line(),
            e.column()
        )
    }
}

fn key(text: &str, what: &str) -> Result<SecretString, String> {
    ops_shared::redact::register(text);
    if text.chars().count() != ROUTING_KEY_LEN || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{what} is not a 32-character PagerDuty integration key"));
    }
    Ok(ops_shared::redact::secret(text))
}

/// The routing table, read through a [`SecretReader`] and kept for a time-to-live.
pub struct RoutingCache {
    reader: Box<dyn SecretReader>,
    secret_id: String,
    ttl: Duration,
    cached: tokio::sync::Mutex<Option<(Instant, Arc<RoutingTable>)>>,
}

impl RoutingCache {
    pub fn new(reader: Box<dyn SecretReader>, secret_id: impl Into<String>, ttl: Duration) -> Self {
        Self {
            reader,
            secret_id: secret_id.into(),
            ttl,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The current table. When a refresh fails but an older table exists, the older one is used
    /// (with a warning): paging with last hour's key beats not paging at all.
    pub async fn table(&self) -> Result<Arc<RoutingTable>, ForwardError> {
        let mut cached = self.cached.lock().await;
        if let Some((read_at, table)) = cached.as_ref() {
            if read_at.elapsed() < self.ttl {
                return Ok(table.clone());
            }
        }
        let fresh = self
            .reader
            .read(&self.secret_id)
            .await
            .and_then(|value| RoutingTable::parse(&self.secret_id, &value));
        match (fresh, cached.as_ref()) {
            (Ok(table), _) => {
                let table = Arc::new(table);
                *cached = Some((Instant::now(), table.clone()));
                Ok(table)
            }
            (Err(e), Some((_, stale))) => {
                tracing::warn!(error = %e, "could not refresh the routing table; using the one read earlier");
                Ok(stale.clone())
            }
            (Err(e), None) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    const A: &str = "a0000000000000000000000000000001";
    const B: &str = "b0000000000000000000000000000002";
    const D: &str = "d0000000000000000000000000000003";

    fn table(text: &str) -> Result<RoutingTable, ForwardError> {
        RoutingTable::parse("pd-routing", &SecretString::from(text.to_string()))
    }

    fn routed(t: &RoutingTable, name: &str) -> Option<String> {
        t.route(name).map(|(k, _)| k.expose_secret().to_string())
    }

    #[test]
    fn a_bare_key_routes_everything() {
        let t = table(&format!("  {A}\n")).unwrap();
        assert_eq!(routed(&t, "anything").as_deref(), Some(A));
        let quoted = table(&format!("\"{A}\"")).unwrap();
        assert_eq!(routed(&quoted, "x").as_deref(), Some(A));
    }

    #[test]
    fn the_first_matching_route_wins_then_the_default() {
        let t = table(&format!(
            r#"{{"default": "{D}", "routes": [{{"match": "db-*", "routing_key": "{A}"}}, {{"match": "*", "routing_key": "{B}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(routed(&t, "db-cpu").as_deref(), Some(A));
        assert_eq!(routed(&t, "api-5xx").as_deref(), Some(B));
        let only_routes = table(&format!(
            r#"{{"routes": [{{"match": "db-?pu", "routing_key": "{A}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(routed(&only_routes, "db-cpu").as_deref(), Some(A));
        assert_eq!(routed(&only_routes, "api"), None);
        let default_only = table(&format!(r#"{{"default": "{D}"}}"#)).unwrap();
        assert_eq!(routed(&default_only, "api").as_deref(), Some(D));
    }

    #[test]
    fn every_distinct_key_is_listed_once_default_first() {
        let (a, b) = ("a".repeat(32), "b".repeat(32));
        let t = table(&format!(
            r#"{{"default": "{a}", "routes": [{{"match": "db-*", "routing_key": "{b}"}}, {{"match": "x-*", "routing_key": "{a}"}}]}}"#
        ))
        .unwrap();
        let keys: Vec<&str> = t.keys(None).iter().map(|k| k.expose_secret()).collect();
        assert_eq!(keys, vec![a.as_str(), b.as_str()]);
    }

    #[test]
    fn the_stacks_placeholder_and_an_empty_object_are_unconfigured_not_invalid() {
        for value in ["{}", r#"{"placeholder": "put the key here"}"#] {
            let t = table(value).unwrap();
            assert!(t.placeholder, "{value}");
            assert!(t.keys(None).is_empty());
        }
        assert!(!table(&"a".repeat(32)).unwrap().placeholder);
        assert!(
            table(r#"{"placeholder": "x", "routes": []}"#).is_err(),
            "half-edited is a mistake"
        );
    }

    #[test]
    fn a_bad_runbook_entry_costs_that_entry_never_the_table() {
        let a = "a".repeat(32);
        for runbooks in [
            r#"[{"match": "db-*", "URL": "https://w"}, {"match": "*", "url": "https://w/all"}]"#,
            r#"[{"match": "db-*"}, {"match": "*", "url": "https://w/all"}]"#,
        ] {
            let t = table(&format!(r#"{{"default": "{a}", "runbooks": {runbooks}}}"#)).unwrap();
            assert_eq!(t.runbook("db-cpu"), Some("https://w/all"), "{runbooks}");
        }
        let t = table(&format!(
            r#"{{"default": "{a}", "runbooks": {{"db-*": "https://w"}}}}"#
        ))
        .unwrap();
        assert_eq!(t.runbook("db-cpu"), None);
        assert!(t.route("db-cpu").is_some(), "the table still pages");
    }

    #[test]
    fn runbooks_match_by_glob_first_entry_wins() {
        let a = "a".repeat(32);
        let t = table(&format!(
            r#"{{"default": "{a}", "runbooks": [{{"match": "db-*", "url": "https://w/db/{{alarm}}"}}, {{"match": "*", "url": "https://w/all"}}]}}"#
        ))
        .unwrap();
        assert_eq!(t.runbook("db-cpu"), Some("https://w/db/{alarm}"));
        assert_eq!(t.runbook("api"), Some("https://w/all"));
        assert_eq!(table(&a).unwrap().runbook("api"), None);
    }

    #[test]
    fn bad_tables_say_what_is_wrong_without_showing_a_key() {
        let cases = [
            ("", "empty"),
            ("short-key-value", "not a 32-character"),
            (r#"{"routes": []}"#, "neither"),
            (
                r#"{"default": "toolongtoolongtoolongtoolongtoolong"}"#,
                "\"default\" is not",
            ),
            (
                r#"{"routes": [{"match": "", "routing_key": "x"}]}"#,
                "routes[0].match is empty",
            ),
            (r#"{"defualt": "x"}"#, "unknown field `defualt`"),
            (r#"{"routes": "short-key-value"}"#, "line 1 column"),
        ];
        for (text, expected) in cases {
            let err = table(text)
                .err()
                .unwrap_or_else(|| panic!("{text} was accepted"))
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.contains("pd-routing"), "{err}");
            assert!(
                !err.contains("toolongtoolong") && !err.contains("short-key-value"),
                "{err}"
            );
        }
    }

    struct Reader {
        reads: AtomicUsize,
        value: Mutex<Result<String, ()>>,
    }

    #[async_trait]
    impl SecretReader for Arc<Reader> {
        async fn read(&self, secret_id: &str) -> Result<SecretString, ForwardError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            match self.value.lock().unwrap().clone() {
                Ok(v) => Ok(SecretString::from(v)),
                Err(()) => Err(ForwardError::RoutingSecretUnreadable {
                    secret: secret_id.into(),
                    reason: "throttled".into(),
                    retryable: true,
                }),
            }
        }
    }

    #[tokio::test]
    async fn the_table_is_read_once_per_ttl_and_a_failed_refresh_keeps_the_old_one() {
        let reader = Arc::new(Reader {
            reads: AtomicUsize::new(0),
            value: Mutex::new(Ok(A.to_string())),
        });
        let cache = RoutingCache::new(Box::new(reader.clone()), "pd-routing", Duration::from_millis(50));
        cache.table().await.unwrap();
        cache.table().await.unwrap();
        assert_eq!(reader.reads.load(Ordering::SeqCst), 1);

        tokio::time::sleep(Duration::from_millis(60)).await;
        *reader.value.lock().unwrap() = Err(());
        let stale = cache.table().await.unwrap();
        assert_eq!(routed(&stale, "x").as_deref(), Some(A));
        assert_eq!(reader.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn with_nothing_cached_a_read_failure_is_an_error() {
        let reader = Arc::new(Reader {
            reads: AtomicUsize::new(0),
            value: Mutex::new(Err(())),
        });
        let cache = RoutingCache::new(Box::new(reader), "pd-routing", Duration::from_secs(300));
        assert!(matches!(
            cache.table().await,
            Err(ForwardError::RoutingSecretUnreadable { .. })
        ));
    }
}
