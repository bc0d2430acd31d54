//! The `Inventory` port: reading one account's resources in one region, tagging them, and acting
//! on them.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;

use crate::error::CleanupError;
use crate::model::{Candidate, Kind, Resource};

/// Everything one scan saw.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub resources: Vec<Resource>,
    /// Every SNS topic that exists, for alarm-orphaned-action.
    pub topics: HashSet<String>,
    /// Parts of the account that could not be read; the report lists them.
    pub warnings: Vec<String>,
    /// Kinds whose tags (or whose users) could not be read: their candidates are reported only.
    pub tags_unread: HashSet<Kind>,
}

#[async_trait]
pub trait Inventory: Send + Sync {
    async fn account(&self) -> Result<String, CleanupError>;
    async fn scan(&self) -> Result<Scan, CleanupError>;
    /// The resource's tags as its own service holds them now. The scan's may come from the
    /// Tagging API, which can lag behind a protect tag just set; every mark and action re-reads.
    async fn reread_tags(&self, resource: &Resource) -> Result<HashMap<String, String>, String>;
    /// Whether a candidate the scan saw as unused still is, by what only a read of that one resource
    /// can tell (another account's subscriptions to a topic); `Some(why)` when it is in use.
    async fn in_use(&self, candidate: &Candidate) -> Result<Option<String>, String>;
    async fn set_tag(&self, resource: &Resource, key: &str, value: &str) -> Result<(), String>;
    async fn remove_tag(&self, resource: &Resource, key: &str) -> Result<(), String>;
    /// What it takes to recreate the resource, read just before it is removed: its configuration
    /// as JSON (never a secret's value, nor a task definition's environment values).
    async fn snapshot(&self, candidate: &Candidate) -> Result<serde_json::Value, String>;
    async fn act(&self, candidate: &Candidate) -> Result<(), String>;
    /// AWS requests made so far.
    fn requests(&self) -> usize;
}
