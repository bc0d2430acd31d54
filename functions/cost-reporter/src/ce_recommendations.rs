//! Cost Explorer's recommendation operations, each turned into actions with a monthly saving.
//! All ask for one year, no upfront, from the last 30 days, so the figures compare.

use aws_sdk_costexplorer::types::{
    InstanceDetails, LookbackPeriodInDays, PaymentOption, RightsizingRecommendation, RightsizingType,
    SupportedSavingsPlansType, TermInYears,
};
use aws_sdk_costexplorer::Client;

use crate::costexplorer::ce_error;
use crate::error::CostError;
use crate::source::{Recommendation, RecommendationKind};

fn amount(text: Option<&str>) -> f64 {
    text.and_then(|t| t.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn currency(code: Option<&str>) -> String {
    code.unwrap_or_default().to_string()
}

pub async fn savings_plans(client: &Client) -> Result<Vec<Recommendation>, CostError> {
    let out = client
        .get_savings_plans_purchase_recommendation()
        .savings_plans_type(SupportedSavingsPlansType::ComputeSp)
        .term_in_years(TermInYears::OneYear)
        .payment_option(PaymentOption::NoUpfront)
        .lookback_period_in_days(LookbackPeriodInDays::ThirtyDays)
        .send()
        .await
        .map_err(|e| ce_error("GetSavingsPlansPurchaseRecommendation", &e))?;
    let Some(summary) = out
        .savings_plans_purchase_recommendation()
        .and_then(|r| r.savings_plans_purchase_recommendation_summary())
    else {
        return Ok(Vec::new());
    };
    let hourly = amount(summary.hourly_commitment_to_purchase());
    Ok(vec![Recommendation {
        kind: RecommendationKind::SavingsPlans,
        action: format!(
            "Buy a Compute Savings Plan of {} an hour (1 year, no upfront)",
            crate::render::money(hourly, &currency(summary.currency_code()))
        ),
        monthly_saving: amount(summary.estimated_monthly_savings_amount()),
        currency: currency(summary.currency_code()),
    }])
}

/// `2 × db.r6g.large (PostgreSQL)`, in each service's own words.
fn what(details: Option<&InstanceDetails>) -> String {
    let Some(d) = details else {
        return "reserved capacity".into();
    };
    let pair = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => format!("{a} ({b})"),
        (Some(a), None) | (None, Some(a)) => a.to_string(),
        (None, None) => "instances".into(),
    };
    if let Some(r) = d.rds_instance_details() {
        pair(r.instance_type(), r.database_engine())
    } else if let Some(e) = d.elasti_cache_instance_details() {
        pair(e.node_type(), e.product_description())
    } else if let Some(o) = d.es_instance_details() {
        match (o.instance_class(), o.instance_size()) {
            (Some(c), Some(s)) => format!("{c}.{s}"),
            (c, s) => pair(c, s),
        }
    } else if let Some(r) = d.redshift_instance_details() {
        pair(r.node_type(), None)
    } else {
        "instances".into()
    }
}

pub async fn reservations(client: &Client, service: &str) -> Result<Vec<Recommendation>, CostError> {
    let out = client
        .get_reservation_purchase_recommendation()
        .service(service)
        .term_in_years(TermInYears::OneYear)
        .payment_option(PaymentOption::NoUpfront)
        .lookback_period_in_days(LookbackPeriodInDays::ThirtyDays)
        .send()
        .await
        .map_err(|e| ce_error("GetReservationPurchaseRecommendation", &e))?;
    let mut found = Vec::new();
    for recommendation in out.recommendations() {
        for detail in recommendation.recommendation_details() {
            let count = detail
                .recommended_number_of_instances_to_purchase()
                .unwrap_or("?");
            found.push(Recommendation {
                kind: RecommendationKind::Reservation,
                action: format!(
                    "Reserve {count} x {} of {service} (1 year, no upfront)",
                    what(detail.instance_details())
                ),
                monthly_saving: amount(detail.estimated_monthly_savings_amount()),
                currency: currency(detail.currency_code()),
            });
        }
    }
    Ok(found)
}

fn rightsized(r: &RightsizingRecommendation) -> Option<Recommendation> {
    let current = r.current_instance()?;
    let id = current.resource_id().unwrap_or("an instance");
    let named = match current.instance_name().filter(|n| !n.is_empty()) {
        Some(name) => format!("{id} ({name})"),
        None => id.to_string(),
    };
    let from = current
        .resource_details()
        .and_then(|d| d.ec2_resource_details())
        .and_then(|d| d.instance_type())
        .unwrap_or("its type");
    match r.rightsizing_type()? {
        RightsizingType::Terminate => {
            let detail = r.terminate_recommendation_detail()?;
            Some(Recommendation {
                kind: RecommendationKind::Rightsizing,
                action: format!("Stop the idle EC2 instance {named} ({from})"),
                monthly_saving: amount(detail.estimated_monthly_savings()),
                currency: currency(detail.currency_code()),
            })
        }
        RightsizingType::Modify => {
            let targets = r.modify_recommendation_detail()?.target_instances();
            let target = targets
                .iter()
                .find(|t| t.default_target_instance())
                .or_else(|| targets.first())?;
            let to = target
                .resource_details()
                .and_then(|d| d.ec2_resource_details())
                .and_then(|d| d.instance_type())
                .unwrap_or("a smaller type");
            Some(Recommendation {
                kind: RecommendationKind::Rightsizing,
                action: format!("Resize the EC2 instance {named} from {from} to {to}"),
                monthly_saving: amount(target.estimated_monthly_savings()),
                currency: currency(target.currency_code()),
            })
        }
        _ => None,
    }
}

pub async fn rightsizing(client: &Client) -> Result<Vec<Recommendation>, CostError> {
    // One page: only the top few actions are listed, and the request budget is fixed.
    let out = client
        .get_rightsizing_recommendation()
        .service("AmazonEC2")
        .page_size(100)
        .send()
        .await
        .map_err(|e| ce_error("GetRightsizingRecommendation", &e))?;
    Ok(out
        .rightsizing_recommendations()
        .iter()
        .filter_map(rightsized)
        .collect())
}
