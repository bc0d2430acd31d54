//! The Resource Groups Tagging API: every tag of a region's task definitions, alarms, log groups and
//! topics in a page per hundred resources, instead of a request per resource. It is eventually
//! consistent, so the run re-reads a resource's tags from its own service before changing it.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use aws_sdk_resourcegroupstagging::Client;

use crate::error::CleanupError;

/// `service[:resource-type]` as in the ARNs. Log groups and topics are asked for by service
/// (`logs:log-group` is spelled differently by emulators; topic ARNs have no resource type).
const TYPES: &[&str] = &["ecs:task-definition", "cloudwatch:alarm", "logs", "sns"];

/// Tags by ARN. A resource never tagged is not listed (it has no tags).
pub(super) async fn tags(
    tagging: &Client,
    n: &AtomicUsize,
) -> Result<HashMap<String, HashMap<String, String>>, CleanupError> {
    let mut out = HashMap::new();
    let mut pages = tagging
        .get_resources()
        .set_resource_type_filters(Some(TYPES.iter().map(|t| t.to_string()).collect()))
        .resources_per_page(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = counted!(n, "tag:GetResources", page)?;
        for m in page.resource_tag_mapping_list() {
            let Some(arn) = m.resource_arn() else { continue };
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            out.insert(arn.trim_end_matches(":*").to_string(), tags);
        }
    }
    Ok(out)
}
