//! EventBridge events that reach the alarms topic and are worth a page of their own
//! (`NON_ALARM_MESSAGES=trigger`): AWS Health events and Secrets Manager rotation failures. Each
//! gets a summary an on-call engineer can read and a dedup key from the event, so a repeat updates
//! the same incident and a closed Health event resolves it.

use serde_json::Value;

use crate::event::Action;
use crate::severity::Severity;

/// What a recognised AWS event says.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsEvent {
    pub action: Action,
    pub summary: String,
    pub dedup_key: String,
    pub severity: Severity,
    pub source: String,
    pub class: &'static str,
    pub account: Option<String>,
    pub timestamp: Option<String>,
}

/// Reads an SNS message body as a Health event or a rotation failure; `None` for anything else.
pub fn parse(body: &str) -> Option<AwsEvent> {
    let v: Value = serde_json::from_str(body).ok()?;
    let text = |x: &Value| x.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let region = text(&v["region"]).unwrap_or_else(|| "unknown-region".into());
    let account = text(&v["account"]);
    let source = match &account {
        Some(a) => format!("{region}:{a}"),
        None => region.clone(),
    };
    let detail = &v["detail"];
    match (v["source"].as_str(), v["detail-type"].as_str()) {
        (Some("aws.health"), _) => {
            let arn = text(&detail["eventArn"])?;
            let service = text(&detail["service"]).unwrap_or_else(|| "AWS".into());
            let code = text(&detail["eventTypeCode"]).unwrap_or_else(|| "event".into());
            let category = text(&detail["eventTypeCategory"]).unwrap_or_else(|| "issue".into());
            let description = detail["eventDescription"]
                .as_array()
                .and_then(|d| d.iter().find_map(|e| text(&e["latestDescription"])))
                .and_then(|d| {
                    d.lines()
                        .find(|l| !l.trim().is_empty())
                        .map(|l| l.trim().to_string())
                });
            let mut summary = format!("AWS Health: {service} {code} ({category}) in {region}");
            if let Some(d) = description {
                summary.push_str(" — ");
                summary.push_str(&d);
            }
            Some(AwsEvent {
                action: match detail["statusCode"].as_str() {
                    Some("closed") => Action::Resolve,
                    _ => Action::Trigger,
                },
                summary,
                // One incident per event and account: an organisation's view sends one per account.
                dedup_key: match &account {
                    Some(a) => format!("{arn}#{a}"),
                    None => arn,
                },
                severity: match category.as_str() {
                    "issue" => Severity::Error,
                    "scheduledChange" => Severity::Warning,
                    _ => Severity::Info,
                },
                source,
                class: "AWS Health event",
                account,
                timestamp: text(&v["time"]),
            })
        }
        (Some("aws.secretsmanager"), _) if detail["eventName"].as_str() == Some("RotationFailed") => {
            let data = &detail["additionalEventData"];
            // The ARN when the event has one: a name is not unique across accounts.
            let secret = v["resources"]
                .as_array()
                .and_then(|r| r.iter().find_map(text))
                .or_else(|| text(&data["SecretId"]))
                .or_else(|| text(&data["secretId"]))?;
            Some(AwsEvent {
                action: Action::Trigger,
                summary: format!("Secrets Manager rotation failed: {secret} in {region}"),
                dedup_key: format!("rotation-failed:{secret}"),
                severity: Severity::Error,
                source,
                class: "secret rotation",
                account,
                timestamp: text(&v["time"]),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_events::message_of;

    #[test]
    fn a_health_issue_pages_with_its_service_code_and_description() {
        let e = parse(&message_of("aws-health-event.json")).unwrap();
        assert_eq!(e.action, Action::Trigger);
        assert!(
            e.summary
                .starts_with("AWS Health: EC2 AWS_EC2_OPERATIONAL_ISSUE (issue) in us-east-1 — "),
            "{}",
            e.summary
        );
        assert!(
            e.dedup_key.starts_with("arn:aws:health:us-east-1::event/EC2/"),
            "{}",
            e.dedup_key
        );
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.account.as_deref(), Some("123456789012"));
    }

    #[test]
    fn a_closed_health_event_resolves_the_same_incident() {
        let open = message_of("aws-health-event.json");
        let closed = open.replace("\"statusCode\": \"open\"", "\"statusCode\": \"closed\"");
        let (a, b) = (parse(&open).unwrap(), parse(&closed).unwrap());
        assert_eq!(b.action, Action::Resolve);
        assert_eq!(a.dedup_key, b.dedup_key);
    }

    #[test]
    fn a_rotation_failure_names_the_secret() {
        let e = parse(&message_of("secrets-manager-rotation-failed.json")).unwrap();
        assert!(
            e.summary
                .starts_with("Secrets Manager rotation failed: arn:aws:secretsmanager:"),
            "{}",
            e.summary
        );
        assert!(e.dedup_key.starts_with("rotation-failed:arn:aws:secretsmanager:"));
    }

    #[test]
    fn other_events_are_not_recognised() {
        assert_eq!(parse(r#"{"source": "aws.ec2", "detail": {}}"#), None);
        assert_eq!(parse("plain text"), None);
        assert_eq!(
            parse(r#"{"source": "aws.health", "detail": {}}"#),
            None,
            "no event ARN"
        );
    }
}
