//! PagerDuty Events API v2 events built from alarm changes and other SNS messages.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::alarm::{AlarmChange, AlarmKind};
use crate::aws_events::AwsEvent;
use crate::severity::{self, Severity};
use crate::sns::SnsMessage;

pub const MAX_DEDUP_KEY_CHARS: usize = 255;
pub const MAX_SUMMARY_CHARS: usize = 1024;
/// PagerDuty refuses events over 512 KB; keep a margin for the routing key and encoding.
pub const MAX_EVENT_BYTES: usize = 512 * 1024 - 2048;
const CLIENT: &str = "ops-lambdas alarm-forwarder";
const CUT_MARKER: &str = " …[truncated]";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Trigger,
    Resolve,
}

/// An event without its routing key, which the [`crate::pagerduty::Pager`] adds when sending.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PagerEvent {
    pub event_action: Action,
    pub dedup_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub client: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    /// What the event is about, for logs and errors (never sent).
    #[serde(skip)]
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub custom_details: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// Builds the event for an alarm change. `fallback_region` is the function's own region, used
/// when the notification has no ARN to read the region from.
pub fn for_alarm(
    alarm: &AlarmChange,
    action: Action,
    default_severity: Severity,
    fallback_region: &str,
) -> PagerEvent {
    let region = alarm.region.as_deref().unwrap_or(fallback_region);
    let identity = alarm.arn.clone().unwrap_or_else(|| {
        format!(
            "alarm:{}:{region}:{}",
            alarm.account.as_deref().unwrap_or("unknown-account"),
            alarm.name
        )
    });
    let console = console_url(&alarm.partition, region, &alarm.name);
    let payload = (action == Action::Trigger).then(|| {
        let mut summary = format!("{}: {}", alarm.state.as_str(), alarm.name);
        if let Some(reason) = &alarm.reason {
            summary.push_str(" — ");
            summary.push_str(reason);
        }
        let mut payload = Payload {
            summary: cut(&summary, MAX_SUMMARY_CHARS),
            source: match &alarm.account {
                Some(account) => format!("{region}:{account}"),
                None => region.to_string(),
            },
            severity: severity::choose(alarm.description.as_deref(), &alarm.name, default_severity),
            timestamp: alarm.changed_at.map(|t| t.to_rfc3339()),
            component: match (&alarm.namespace, &alarm.metric_name) {
                (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
                (None, Some(name)) => Some(name.clone()),
                _ => None,
            },
            group: Some(group(&alarm.name)),
            class: alarm.metric_name.clone().or_else(|| match alarm.kind {
                AlarmKind::Composite => Some("composite alarm".to_string()),
                _ => None,
            }),
            custom_details: alarm.notification.clone(),
        };
        fit_details(&mut payload, &identity);
        payload
    });
    PagerEvent {
        event_action: action,
        dedup_key: dedup_key(&identity),
        payload,
        links: vec![Link {
            href: console.clone(),
            text: format!("{} in the CloudWatch console", alarm.name),
        }],
        client: CLIENT,
        client_url: Some(console),
        target: format!("alarm {}", alarm.name),
    }
}

/// Builds a trigger for an SNS message that is not an alarm (`NON_ALARM_MESSAGES=trigger`).
pub fn for_message(message: &SnsMessage, default_severity: Severity) -> PagerEvent {
    let body = message.message.as_deref().unwrap_or_default();
    let title = message
        .subject
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| body.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("SNS message without subject or text");
    let (_, region, account) = crate::alarm::arn_parts(message.topic_arn.as_deref());
    let source = match (region, account) {
        (Some(r), Some(a)) => format!("{r}:{a}"),
        _ => "sns".to_string(),
    };
    let identity = message
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sns-message:{}", hex_sha256(body)));
    let mut payload = Payload {
        summary: cut(title.trim(), MAX_SUMMARY_CHARS),
        source,
        severity: default_severity,
        timestamp: message.timestamp.clone(),
        component: None,
        group: None,
        class: Some("sns message".to_string()),
        custom_details: json!({"topic_arn": message.topic_arn, "subject": message.subject, "message": body}),
    };
    fit_details(&mut payload, &identity);
    PagerEvent {
        event_action: Action::Trigger,
        dedup_key: dedup_key(&identity),
        payload: Some(payload),
        links: Vec::new(),
        client: CLIENT,
        client_url: None,
        target: message.label(),
    }
}

/// A Health event or rotation failure, with the summary and dedup key the event gives.
pub fn for_aws_event(e: &AwsEvent, message: &SnsMessage, body: &str) -> PagerEvent {
    let payload = (e.action == Action::Trigger).then(|| {
        let details: Value = serde_json::from_str(body).unwrap_or_else(|_| json!({"message": body}));
        let mut payload = Payload {
            summary: cut(&e.summary, MAX_SUMMARY_CHARS),
            source: e.source.clone(),
            severity: e.severity,
            timestamp: e.timestamp.clone(),
            component: None,
            group: None,
            class: Some(e.class.to_string()),
            custom_details: details,
        };
        fit_details(&mut payload, &e.dedup_key);
        payload
    });
    PagerEvent {
        event_action: e.action,
        dedup_key: dedup_key(&e.dedup_key),
        payload,
        links: Vec::new(),
        client: CLIENT,
        client_url: None,
        target: format!("{} ({})", e.class, message.label()),
    }
}

/// Puts the runbook first among the links and in the custom details.
pub fn with_runbook(event: &mut PagerEvent, url: &str) {
    event.links.insert(
        0,
        Link {
            href: url.to_string(),
            text: "Runbook".to_string(),
        },
    );
    if let Some(details) = event
        .payload
        .as_mut()
        .and_then(|p| p.custom_details.as_object_mut())
    {
        details.insert("runbook".into(), Value::String(url.to_string()));
    }
}

/// Says which account is on fire: `[prod] ` before the summary, `account_name` in the details.
pub fn with_account_name(event: &mut PagerEvent, name: &str) {
    if let Some(payload) = event.payload.as_mut() {
        payload.summary = cut(&format!("[{name}] {}", payload.summary), MAX_SUMMARY_CHARS);
        if let Some(details) = payload.custom_details.as_object_mut() {
            details.insert("account_name".into(), Value::String(name.to_string()));
        }
    }
}

/// The alarm ARN, so a stateless function resolves exactly what it opened; hashed when PagerDuty's
/// 255-character limit would cut it.
pub fn dedup_key(identity: &str) -> String {
    if identity.chars().count() <= MAX_DEDUP_KEY_CHARS {
        identity.to_string()
    } else {
        format!("sha256:{}", hex_sha256(identity))
    }
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The alarm name up to its first `-` or `/`.
pub fn group(name: &str) -> String {
    name.split(['-', '/'])
        .next()
        .filter(|g| !g.is_empty())
        .unwrap_or(name)
        .to_string()
}

/// `text` cut to at most `max` characters (on a character boundary), ending in a visible marker.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep = max - CUT_MARKER.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(CUT_MARKER);
    out
}

/// Replaces custom details with a note when the whole event would pass PagerDuty's size limit.
fn fit_details(payload: &mut Payload, identity: &str) {
    let size = serde_json::to_vec(payload).map(|v| v.len()).unwrap_or(usize::MAX);
    if size <= MAX_EVENT_BYTES {
        return;
    }
    payload.custom_details = json!({
        "note": format!("the notification ({size} bytes) was left out: PagerDuty accepts events up to 512 KB; see the alarm in the console"),
        "alarm": identity,
    });
}

const NAME_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// The alarm in the CloudWatch console of its partition.
pub fn console_url(partition: &str, region: &str, alarm: &str) -> String {
    let host = match partition {
        "aws-us-gov" => format!("{region}.console.amazonaws-us-gov.com"),
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        _ => format!("{region}.console.aws.amazon.com"),
    };
    let name = utf8_percent_encode(alarm, NAME_ESCAPES);
    format!("https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::parse;
    use crate::test_events::message_of;

    fn alarm(file: &str) -> AlarmChange {
        parse(&message_of(file)).unwrap()
    }

    #[test]
    fn an_alarm_trigger_carries_everything_an_on_call_engineer_needs() {
        let e = for_alarm(
            &alarm("metric-alarm-ALARM.json"),
            Action::Trigger,
            Severity::Error,
            "eu-west-1",
        );
        assert_eq!(
            e.dedup_key,
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx-rate"
        );
        let p = e.payload.as_ref().unwrap();
        assert!(
            p.summary.starts_with("ALARM: api-5xx-rate — Threshold Crossed"),
            "{}",
            p.summary
        );
        assert_eq!(p.source, "us-east-1:123456789012");
        assert_eq!(
            p.severity,
            Severity::Critical,
            "the description says severity:critical"
        );
        assert_eq!(
            p.component.as_deref(),
            Some("AWS/ApplicationELB/HTTPCode_Target_5XX_Count")
        );
        assert_eq!(p.group.as_deref(), Some("api"));
        assert_eq!(p.class.as_deref(), Some("HTTPCode_Target_5XX_Count"));
        assert_eq!(p.timestamp.as_deref(), Some("2026-11-21T08:42:58.315+00:00"));
        assert_eq!(p.custom_details["AlarmName"], "api-5xx-rate");
        assert_eq!(
            e.links[0].href,
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/api-5xx-rate"
        );
    }

    #[test]
    fn a_resolve_has_the_same_dedup_key_and_no_payload() {
        let open = for_alarm(
            &alarm("metric-alarm-ALARM.json"),
            Action::Trigger,
            Severity::Error,
            "us-east-1",
        );
        let close = for_alarm(
            &alarm("metric-alarm-OK.json"),
            Action::Resolve,
            Severity::Error,
            "us-east-1",
        );
        assert_eq!(open.dedup_key, close.dedup_key);
        assert!(close.payload.is_none());
        let json = serde_json::to_value(&close).unwrap();
        assert_eq!(json["event_action"], "resolve");
        assert!(json.get("target").is_none());
    }

    #[test]
    fn composite_alarms_get_a_class_and_the_eu_console() {
        let e = for_alarm(
            &alarm("composite-alarm-ALARM.json"),
            Action::Trigger,
            Severity::Warning,
            "us-east-1",
        );
        let p = e.payload.unwrap();
        assert_eq!(p.class.as_deref(), Some("composite alarm"));
        assert_eq!(p.severity, Severity::Warning, "no token: the default applies");
        assert!(e.links[0]
            .href
            .starts_with("https://eu-west-1.console.aws.amazon.com/"));
        assert_eq!(p.group.as_deref(), Some("checkout"));
    }

    #[test]
    fn console_links_follow_the_partition_and_escape_the_name() {
        assert_eq!(
            console_url("aws-us-gov", "us-gov-west-1", "db cpu/high"),
            "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#alarmsV2:alarm/db%20cpu%2Fhigh"
        );
        assert!(
            console_url("aws-cn", "cn-north-1", "x").starts_with("https://cn-north-1.console.amazonaws.cn/")
        );
    }

    #[test]
    fn long_arns_are_hashed_into_a_dedup_key_pagerduty_accepts() {
        let arn = format!(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
            "n".repeat(300)
        );
        let key = dedup_key(&arn);
        assert!(key.starts_with("sha256:"));
        assert_eq!(key.len(), 7 + 64);
        assert_eq!(key, dedup_key(&arn), "stable, so the resolve finds the trigger");
        assert_eq!(dedup_key("short"), "short");
    }

    #[test]
    fn summaries_are_cut_on_a_character_boundary_with_a_marker() {
        let mut a = alarm("metric-alarm-ALARM.json");
        a.reason = Some("é".repeat(10 * 1024));
        a.notification["NewStateReason"] = Value::String("é".repeat(10 * 1024));
        let p = for_alarm(&a, Action::Trigger, Severity::Error, "us-east-1")
            .payload
            .unwrap();
        assert_eq!(p.summary.chars().count(), MAX_SUMMARY_CHARS);
        assert!(p.summary.ends_with("…[truncated]"));
        assert_eq!(
            p.custom_details["NewStateReason"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            10 * 1024
        );
    }

    #[test]
    fn a_notification_too_big_for_pagerduty_is_replaced_by_a_note() {
        let mut a = alarm("metric-alarm-ALARM.json");
        a.notification["NewStateReason"] = Value::String("x".repeat(600 * 1024));
        let e = for_alarm(&a, Action::Trigger, Severity::Error, "us-east-1");
        let size = serde_json::to_vec(&e).unwrap().len();
        assert!(size < MAX_EVENT_BYTES, "{size}");
        let note = e.payload.unwrap().custom_details["note"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(note.contains("512 KB"), "{note}");
    }

    #[test]
    fn a_runbook_is_the_first_link_and_in_the_details_and_the_account_leads_the_summary() {
        let mut e = for_alarm(
            &alarm("metric-alarm-ALARM.json"),
            Action::Trigger,
            Severity::Error,
            "us-east-1",
        );
        with_runbook(&mut e, "https://wiki.example.com/rb");
        with_account_name(&mut e, "prod");
        assert_eq!(e.links[0].text, "Runbook");
        assert_eq!(e.links[0].href, "https://wiki.example.com/rb");
        assert_eq!(e.links.len(), 2, "the console link stays");
        let p = e.payload.unwrap();
        assert_eq!(p.custom_details["runbook"], "https://wiki.example.com/rb");
        assert_eq!(p.custom_details["account_name"], "prod");
        assert!(
            p.summary.starts_with("[prod] ALARM: api-5xx-rate"),
            "{}",
            p.summary
        );
    }

    #[test]
    fn groups_are_the_name_prefix() {
        assert_eq!(group("checkout/duration-anomaly"), "checkout");
        assert_eq!(group("standalone"), "standalone");
        assert_eq!(group("-leading"), "-leading");
    }

    #[test]
    fn non_alarm_messages_page_with_their_subject_or_first_line() {
        let msg = SnsMessage {
            message_id: Some("m-1".into()),
            topic_arn: Some("arn:aws:sns:us-east-1:123456789012:alarms".into()),
            subject: None,
            message: Some("\n  Disk almost full on build-01\nmore".into()),
            ..SnsMessage::default()
        };
        let e = for_message(&msg, Severity::Warning);
        assert_eq!(e.dedup_key, "m-1");
        let p = e.payload.unwrap();
        assert_eq!(p.summary, "Disk almost full on build-01");
        assert_eq!(p.source, "us-east-1:123456789012");
        assert_eq!(p.severity, Severity::Warning);
    }
}
