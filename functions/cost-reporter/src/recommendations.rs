//! "What to do about it": the top actions by estimated monthly saving from Cost Explorer's
//! Savings Plans, reservation and rightsizing recommendations and the cleanup-scanner's last run.
//! A source that fails is one line saying why; the report still goes out.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::source::{CleanupReader, CostSource, Recommendation, RecommendationKind, RESERVED_SERVICES};

/// Actions listed.
pub const TOP: usize = 5;
/// The name Cost Explorer used for OpenSearch before the rename.
const ELASTICSEARCH: &str = "Amazon Elasticsearch Service";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unavailable {
    pub source: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendations {
    /// At least one source answered.
    pub available: bool,
    /// The top actions, biggest saving first.
    pub items: Vec<Recommendation>,
    pub unavailable: Vec<Unavailable>,
    /// Cost Explorer requests made for them.
    pub requests: usize,
}

/// Which reservation recommendations to ask for: the services that had spend, or all of them
/// when the report's grouping does not show services.
pub fn reserved_services(spent: Option<&BTreeSet<String>>) -> Vec<&'static str> {
    RESERVED_SERVICES
        .iter()
        .copied()
        .filter(|service| {
            spent.is_none_or(|s| {
                s.contains(*service) || (*service == "Amazon OpenSearch Service" && s.contains(ELASTICSEARCH))
            })
        })
        .collect()
}

pub async fn gather(
    source: &dyn CostSource,
    cleanup: &dyn CleanupReader,
    spent: Option<&BTreeSet<String>>,
    currency: &str,
) -> Recommendations {
    let mut items = Vec::new();
    let mut unavailable = Vec::new();
    let mut answered = 0;
    let mut requests = 0;
    let mut take = |source: String, result: Result<Vec<Recommendation>, String>| match result {
        Ok(found) => {
            answered += 1;
            items.extend(found);
        }
        Err(why) => {
            tracing::warn!(%source, %why, "a recommendation source is unavailable");
            unavailable.push(Unavailable { source, why });
        }
    };
    let said = |e: crate::error::CostError| e.to_string();
    requests += 1;
    take("Savings Plans".into(), source.savings_plans().await.map_err(said));
    for service in reserved_services(spent) {
        requests += 1;
        take(
            format!("reservations ({service})"),
            source.reservations(service).await.map_err(said),
        );
    }
    requests += 1;
    take("EC2 rightsizing".into(), source.rightsizing().await.map_err(said));
    let from_cleanup = match cleanup.latest().await {
        Ok(Some(figures)) => Ok((figures.monthly_saving >= 0.005)
            .then(|| Recommendation {
                kind: RecommendationKind::Cleanup,
                action: format!(
                    "Remove the {} unused resource(s) the cleanup-scanner reported (its report lists each)",
                    figures.candidates.round() as u64
                ),
                monthly_saving: figures.monthly_saving,
                // The scanner prices at USD list prices.
                currency: "USD".into(),
            })
            .into_iter()
            .collect()),
        Ok(None) => Err("the cleanup-scanner has not reported a whole scan in the last 8 days".to_string()),
        Err(e) => Err(said(e)),
    };
    take("cleanup-scanner".into(), from_cleanup);
    items.retain(|r| r.monthly_saving >= 0.005 && r.monthly_saving.is_finite());
    items.sort_by(|a, b| {
        b.monthly_saving
            .total_cmp(&a.monthly_saving)
            .then(a.action.cmp(&b.action))
    });
    items.truncate(TOP);
    for item in &mut items {
        if item.currency.is_empty() {
            item.currency = currency.to_string();
        }
    }
    Recommendations {
        available: answered > 0,
        items,
        unavailable,
        requests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_asked_only_for_services_with_spend() {
        let spent: BTreeSet<String> = ["Amazon Relational Database Service", ELASTICSEARCH, "AWS Lambda"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            reserved_services(Some(&spent)),
            vec!["Amazon Relational Database Service", "Amazon OpenSearch Service"]
        );
        assert_eq!(
            reserved_services(None).len(),
            4,
            "unknown services: ask for every one"
        );
        assert!(reserved_services(Some(&BTreeSet::new())).is_empty());
    }
}
