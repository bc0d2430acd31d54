//! Request bodies kept for a test to read back: proof on the wire that a value was sent (the
//! rotation token reaching PutSecretValue), which nothing in moto's answers shows.

use serde::{Deserialize, Serialize};

use crate::faults::{selecting, Selector};
use crate::request::AwsRequest;

/// Bodies kept at most: a capture left on by mistake does not grow without bound.
const KEEP: usize = 1000;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
}

selecting!(CaptureSpec);

impl CaptureSpec {
    pub fn validate(&self) -> Result<(), String> {
        self.selector().validate()
    }
}

/// One kept request.
#[derive(Debug, Clone, Serialize)]
pub struct Captured {
    pub operation: String,
    pub region: Option<String>,
    pub access_key: Option<String>,
    pub body: String,
}

#[derive(Debug, Default)]
pub struct Captures {
    rules: Vec<CaptureSpec>,
    kept: Vec<Captured>,
}

impl Captures {
    pub fn add(&mut self, spec: CaptureSpec) {
        self.rules.push(spec);
    }

    pub fn wants(&self, request: &AwsRequest) -> bool {
        self.rules.iter().any(|r| r.selector().matches(request))
    }

    pub fn keep(&mut self, request: &AwsRequest, body: String) {
        if self.kept.len() < KEEP {
            self.kept.push(Captured {
                operation: request.name(),
                region: request.region.clone(),
                access_key: request.access_key.clone(),
                body,
            });
        }
    }

    /// What was kept, narrowed to one access key.
    pub fn kept(&self, access_key: Option<&str>) -> Vec<&Captured> {
        self.kept
            .iter()
            .filter(|c| access_key.is_none_or(|k| c.access_key.as_deref() == Some(k)))
            .collect()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_matching_requests_are_kept() {
        let mut captures = Captures::default();
        captures.add(CaptureSpec {
            operation: "secretsmanager:PutSecretValue".into(),
            region: None,
            access_key: Some("mine".into()),
        });
        let request =
            |op: &str, key: &str| AwsRequest::signed_json(&format!("secretsmanager:{op}"), "us-east-1", key);
        assert!(captures.wants(&request("PutSecretValue", "mine")));
        assert!(!captures.wants(&request("PutSecretValue", "other")));
        assert!(!captures.wants(&request("GetSecretValue", "mine")));
        captures.keep(&request("PutSecretValue", "mine"), "{}".into());
        assert_eq!(captures.kept(Some("mine")).len(), 1);
        assert!(captures.kept(Some("other")).is_empty());
    }
}
