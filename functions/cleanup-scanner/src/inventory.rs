//! The `Inventory` port: reading an account's resources, tagging them, and acting on them.

use std::collections::HashSet;

use async_trait::async_trait;

use crate::error::CleanupError;
use crate::model::{Candidate, Resource};

/// Everything one scan saw.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub resources: Vec<Resource>,
    /// Every SNS topic that exists, for alarm-orphaned-action.
    pub topics: HashSet<String>,
    /// Parts of the account that could not be read; the report lists them.
    pub warnings: Vec<String>,
}

#[async_trait]
pub trait Inventory: Send + Sync {
    async fn account(&self) -> Result<String, CleanupError>;
    async fn scan(&self) -> Result<Scan, CleanupError>;
    /// Reads the tags of a resource that the scan listed without them (task definitions).
    async fn load_tags(&self, resource: &mut Resource) -> Result<(), String>;
    async fn set_tag(&self, resource: &Resource, key: &str, value: &str) -> Result<(), String>;
    async fn remove_tag(&self, resource: &Resource, key: &str) -> Result<(), String>;
    async fn act(&self, candidate: &Candidate) -> Result<(), String>;
    /// AWS requests made so far.
    fn requests(&self) -> usize;
}
