//! `HEALTH_CHECKS_URL`: the configured list from an S3 object, for lists too long for a variable.
//!
//! Read at cold start, then once a run with `If-None-Match` on the ETag last read, so an unchanged
//! file costs one small request and a changed one is picked up by the next run. A file that cannot
//! be read or parsed fails the run naming the object and what is wrong; the run then checks nothing
//! and touches no alarm (a half-read list must never delete the alarms of the checks it lost).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::HealthError;

/// How long a read may take before the run gives up on it (the SDK sets no limit of its own).
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Files larger than this are refused: parsed, a list takes several times its size, and the function
/// has 128 MB. 10,000 checks take about 1 MiB.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// `s3://bucket/key`, with the format its extension names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksUrl {
    pub bucket: String,
    pub key: String,
    pub yaml: bool,
}

impl ChecksUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix("s3://").ok_or("does not start with s3://")?;
        let (bucket, key) = rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .ok_or("names no bucket and key")?;
        let lower = key.to_ascii_lowercase();
        let yaml = if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            true
        } else if lower.ends_with(".json") {
            false
        } else {
            return Err("names a file that is neither .json, .yaml nor .yml".into());
        };
        Ok(Self {
            bucket: bucket.into(),
            key: key.into(),
            yaml,
        })
    }
}

impl std::fmt::Display for ChecksUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// What a conditional read found.
#[derive(Debug)]
pub enum Read {
    /// The object still has the ETag given.
    Unchanged,
    Changed {
        body: Vec<u8>,
        etag: String,
    },
}

/// The port to the object store. Errors are `(message, retryable)`.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn read(&self, bucket: &str, key: &str, etag: Option<&str>) -> Result<Read, (String, bool)>;
}

/// Which version of the file a run used, for its result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListRead {
    pub object: String,
    pub etag: String,
    /// Read in full this run (first read, or the ETag changed); false when S3 said "not modified".
    pub read: bool,
}

/// The list as last read, and the object's ETag then.
struct Cached {
    etag: String,
    checks: Arc<Vec<Value>>,
}

pub struct ChecksFile {
    url: ChecksUrl,
    store: Box<dyn ObjectStore>,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl ChecksFile {
    pub fn new(url: ChecksUrl, store: Box<dyn ObjectStore>) -> Self {
        Self {
            url,
            store,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The list now: the cached one while the ETag holds, else the object read and parsed again.
    pub async fn checks(&self) -> Result<(Arc<Vec<Value>>, ListRead), HealthError> {
        let mut cached = self.cached.lock().await;
        // An object without an ETag (never on S3, but cheap to guard) is read in full every time.
        let etag = cached.as_ref().map(|c| c.etag.as_str()).filter(|e| !e.is_empty());
        let fail = |problem: String, retryable: bool| HealthError::ChecksFile {
            object: self.url.to_string(),
            problem,
            retryable,
        };
        let read = tokio::time::timeout(
            READ_TIMEOUT,
            self.store.read(&self.url.bucket, &self.url.key, etag),
        )
        .await
        .unwrap_or_else(|_| {
            Err((
                format!("S3 did not answer within {} s", READ_TIMEOUT.as_secs()),
                true,
            ))
        });
        match read {
            Ok(Read::Unchanged) => match cached.as_ref() {
                Some(c) => Ok(self.cached_list(c)),
                None => Err(fail("was answered 304 Not Modified to a first read".into(), true)),
            },
            Ok(Read::Changed { body, etag }) => {
                let checks = Arc::new(parse(&body, self.url.yaml).map_err(|p| fail(p, false))?);
                tracing::info!(object = %self.url, %etag, checks = checks.len(), "check list read");
                let (checks, mut read) = self.cached_list(cached.insert(Cached { etag, checks }));
                read.read = true;
                Ok((checks, read))
            }
            Err((reason, retryable)) => Err(fail(format!("could not be read: {reason}"), retryable)),
        }
    }

    /// The list last read, when a new read failed: its checks keep running (and their alarms keep
    /// their data) while the file is fixed; the run changes no alarm and still fails.
    pub async fn last_good(&self) -> Option<(Arc<Vec<Value>>, ListRead)> {
        self.cached.lock().await.as_ref().map(|c| self.cached_list(c))
    }

    /// The cached list, and which version it is (not read this run).
    fn cached_list(&self, c: &Cached) -> (Arc<Vec<Value>>, ListRead) {
        (
            c.checks.clone(),
            ListRead {
                object: self.url.to_string(),
                etag: c.etag.clone(),
                read: false,
            },
        )
    }
}

/// The same two forms as `HEALTH_CHECKS`: `{"checks": [...]}` or a bare list.
pub fn parse(body: &[u8], yaml: bool) -> Result<Vec<Value>, String> {
    if body.len() > MAX_FILE_BYTES {
        return Err(format!(
            "is {} bytes, over the {MAX_FILE_BYTES} this function reads; split the list across deployments",
            body.len()
        ));
    }
    let doc: Value = if yaml {
        serde_yaml_ng::from_slice(body).map_err(|e| format!("is not valid YAML: {e}"))?
    } else {
        serde_json::from_slice(body).map_err(|e| format!("is not valid JSON: {e}"))?
    };
    match doc {
        Value::Array(list) => Ok(list),
        Value::Object(mut obj) => match obj.remove("checks") {
            Some(Value::Array(list)) => Ok(list),
            Some(_) => Err("has a field checks that is not a list".into()),
            None => Err("has no field checks: write {\"checks\": [...]} or a list of checks".into()),
        },
        _ => Err("is neither a list of checks nor {\"checks\": [...]}".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn urls_name_a_bucket_a_key_and_a_format() {
        let u = ChecksUrl::parse("s3://ops/health/checks.YAML").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.key.as_str(), u.yaml),
            ("ops", "health/checks.YAML", true)
        );
        assert!(!ChecksUrl::parse("s3://ops/c.json").unwrap().yaml);
        for bad in ["https://ops/c.json", "s3://ops", "s3:///c.json", "s3://ops/c.txt"] {
            assert!(ChecksUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_and_yaml_take_the_same_forms_and_errors_say_where() {
        let yaml = b"checks:\n  - name: api\n    kind: http\n    url: https://example.com\n";
        assert_eq!(parse(yaml, true).unwrap()[0]["name"], "api");
        assert_eq!(parse(br#"[{"name": "a"}]"#, false).unwrap().len(), 1);
        let err = parse(b"checks:\n  - name: [unclosed\n", true).unwrap_err();
        assert!(err.contains("line"), "{err}");
        assert!(parse(br#"{"checks": 3}"#, false)
            .unwrap_err()
            .contains("field checks"));
        assert!(parse(br#"{"check": []}"#, false)
            .unwrap_err()
            .contains("no field checks"));
    }

    /// Serves `body` under ETag "v<version>"; counts full reads.
    struct Fake {
        version: AtomicUsize,
        body: Mutex<Vec<u8>>,
        full_reads: AtomicUsize,
    }

    #[async_trait]
    impl ObjectStore for Arc<Fake> {
        async fn read(&self, _: &str, _: &str, etag: Option<&str>) -> Result<Read, (String, bool)> {
            let now = format!("v{}", self.version.load(Ordering::SeqCst));
            if etag == Some(now.as_str()) {
                return Ok(Read::Unchanged);
            }
            self.full_reads.fetch_add(1, Ordering::SeqCst);
            Ok(Read::Changed {
                body: self.body.lock().unwrap().clone(),
                etag: now,
            })
        }
    }

    #[tokio::test]
    async fn the_file_is_read_again_only_when_its_etag_changes_and_a_bad_one_fails_every_run() {
        let fake = Arc::new(Fake {
            version: 1.into(),
            body: Mutex::new(br#"[{"name": "a"}]"#.to_vec()),
            full_reads: 0.into(),
        });
        let file = ChecksFile::new(
            ChecksUrl::parse("s3://b/checks.json").unwrap(),
            Box::new(fake.clone()),
        );
        let (first, read) = file.checks().await.unwrap();
        assert_eq!((first.len(), read.read, read.etag.as_str()), (1, true, "v1"));
        let (again, read) = file.checks().await.unwrap();
        assert_eq!((again.len(), read.read), (1, false));
        assert_eq!(fake.full_reads.load(Ordering::SeqCst), 1);
        *fake.body.lock().unwrap() = br#"[{"name": "a"}, {"name": "b"}]"#.to_vec();
        fake.version.store(2, Ordering::SeqCst);
        assert_eq!(file.checks().await.unwrap().0.len(), 2);
        *fake.body.lock().unwrap() = b"[{".to_vec();
        fake.version.store(3, Ordering::SeqCst);
        for _ in 0..2 {
            let err = file.checks().await.unwrap_err().to_string();
            assert!(
                err.starts_with("the check list s3://b/checks.json is not valid JSON"),
                "{err}"
            );
        }
        let (kept, _) = file.last_good().await.unwrap();
        assert_eq!(
            kept.len(),
            2,
            "the list last read is kept for the checks to go on"
        );
    }
}
