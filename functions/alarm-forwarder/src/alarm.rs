//! CloudWatch alarm state changes in the three shapes they reach SNS in: the classic alarm
//! notification (metric, metric-math, anomaly-detection or composite alarm) and EventBridge's
//! "CloudWatch Alarm State Change" event. Parsed from `serde_json::Value` on purpose: real
//! notifications carry nulls, numbers where strings are documented, and fields that come and go,
//! and none of that may cost a page.

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

impl State {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "OK" => Some(Self::Ok),
            "ALARM" => Some(Self::Alarm),
            "INSUFFICIENT_DATA" => Some(Self::InsufficientData),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Alarm => "ALARM",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    Metric,
    MetricMath,
    AnomalyDetection,
    Composite,
}

/// One alarm's change of state, whatever shape it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub name: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    pub account: Option<String>,
    /// Region code (`us-east-1`), taken from the ARN: the notification's `Region` is a display name.
    pub region: Option<String>,
    /// `aws`, `aws-us-gov` or `aws-cn`, from the ARN.
    pub partition: String,
    pub state: State,
    pub previous: Option<State>,
    pub reason: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    pub kind: AlarmKind,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    /// The whole notification, for PagerDuty's custom details.
    pub notification: Value,
}

/// Reads an SNS message body as an alarm state change; `None` when it is something else.
pub fn parse(message: &str) -> Option<AlarmChange> {
    let value: Value = serde_json::from_str(message).ok()?;
    if value.get("detail-type").and_then(Value::as_str) == Some("CloudWatch Alarm State Change") {
        from_eventbridge(value)
    } else if value.get("AlarmName").is_some() && value.get("NewStateValue").is_some() {
        from_notification(value)
    } else {
        None
    }
}

fn from_notification(v: Value) -> Option<AlarmChange> {
    let name = text(&v["AlarmName"])?;
    let state = State::parse(&text(&v["NewStateValue"])?)?;
    let arn = text(&v["AlarmArn"]);
    let (kind, namespace, metric_name) = match &v["Trigger"] {
        Value::Object(_) => notification_metric(&v["Trigger"]),
        _ if v.get("AlarmRule").is_some() => (AlarmKind::Composite, None, None),
        _ => (AlarmKind::Metric, None, None),
    };
    let (partition, region, arn_account) = arn_parts(arn.as_deref());
    Some(AlarmChange {
        account: text(&v["AWSAccountId"]).or(arn_account),
        description: text(&v["AlarmDescription"]),
        previous: text(&v["OldStateValue"]).as_deref().and_then(State::parse),
        reason: text(&v["NewStateReason"]),
        changed_at: text(&v["StateChangeTime"]).as_deref().and_then(timestamp),
        name,
        arn,
        region,
        partition,
        state,
        kind,
        namespace,
        metric_name,
        notification: v,
    })
}

/// Kind and metric of a classic notification's `Trigger`.
fn notification_metric(trigger: &Value) -> (AlarmKind, Option<String>, Option<String>) {
    if let Some(name) = text(&trigger["MetricName"]) {
        return (AlarmKind::Metric, text(&trigger["Namespace"]), Some(name));
    }
    let metrics = trigger["Metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let anomaly = text(&trigger["ThresholdMetricId"]).is_some() || has_band(metrics, "Expression");
    let stat = metrics.iter().find_map(|m| {
        let metric = &m["MetricStat"]["Metric"];
        text(&metric["MetricName"]).map(|name| (text(&metric["Namespace"]), name))
    });
    let kind = if anomaly {
        AlarmKind::AnomalyDetection
    } else {
        AlarmKind::MetricMath
    };
    match stat {
        Some((namespace, name)) => (kind, namespace, Some(name)),
        None => (kind, None, None),
    }
}

fn from_eventbridge(v: Value) -> Option<AlarmChange> {
    let detail = &v["detail"];
    let name = text(&detail["alarmName"])?;
    let state = State::parse(&text(&detail["state"]["value"])?)?;
    let arn = v["resources"].as_array().and_then(|r| r.first()).and_then(text);
    let config = &detail["configuration"];
    let metrics = config["metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let stat = metrics.iter().find_map(|m| {
        let metric = &m["metricStat"]["metric"];
        text(&metric["name"]).map(|name| (text(&metric["namespace"]), name))
    });
    let kind = if config.get("alarmRule").is_some() {
        AlarmKind::Composite
    } else if has_band(metrics, "expression") {
        AlarmKind::AnomalyDetection
    } else if metrics.iter().any(|m| m.get("expression").is_some()) {
        AlarmKind::MetricMath
    } else {
        AlarmKind::Metric
    };
    let (partition, arn_region, arn_account) = arn_parts(arn.as_deref());
    let changed = text(&detail["state"]["timestamp"]).or_else(|| text(&v["time"]));
    Some(AlarmChange {
        account: text(&v["account"]).or(arn_account),
        region: arn_region.or_else(|| text(&v["region"])),
        description: text(&config["description"]),
        previous: text(&detail["previousState"]["value"])
            .as_deref()
            .and_then(State::parse),
        reason: text(&detail["state"]["reason"]),
        changed_at: changed.as_deref().and_then(timestamp),
        namespace: stat.as_ref().and_then(|(ns, _)| ns.clone()),
        metric_name: stat.map(|(_, name)| name),
        name,
        arn,
        partition,
        state,
        kind,
        notification: v,
    })
}

fn has_band(metrics: &[Value], field: &str) -> bool {
    metrics
        .iter()
        .filter_map(|m| m[field].as_str())
        .any(|e| e.to_ascii_uppercase().contains("ANOMALY_DETECTION_BAND"))
}

/// A field as text: strings as they are, numbers and booleans printed, null/absent/empty as `None`.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// CloudWatch writes `2026-11-21T08:42:58.315+0000` (no colon in the offset); EventBridge writes RFC 3339.
pub fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Partition, region and account of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
pub fn arn_parts(arn: Option<&str>) -> (String, Option<String>, Option<String>) {
    let parts: Vec<&str> = arn.map(|a| a.splitn(6, ':').collect()).unwrap_or_default();
    let field = |i: usize| parts.get(i).filter(|s| !s.is_empty()).map(|s| s.to_string());
    let partition = if parts.first() == Some(&"arn") {
        field(1)
    } else {
        None
    };
    (partition.unwrap_or_else(|| "aws".to_string()), field(3), field(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_events::message_of;

    #[test]
    fn a_metric_alarm_notification_is_read_whole() {
        let a = parse(&message_of("metric-alarm-ALARM.json")).unwrap();
        assert_eq!(a.name, "api-5xx-rate");
        assert_eq!(a.state, State::Alarm);
        assert_eq!(a.previous, Some(State::Ok));
        assert_eq!(a.kind, AlarmKind::Metric);
        assert_eq!(a.region.as_deref(), Some("us-east-1"));
        assert_eq!(a.account.as_deref(), Some("123456789012"));
        assert_eq!(a.namespace.as_deref(), Some("AWS/ApplicationELB"));
        assert_eq!(a.metric_name.as_deref(), Some("HTTPCode_Target_5XX_Count"));
        assert_eq!(
            a.changed_at.unwrap().to_rfc3339(),
            "2026-11-21T08:42:58.315+00:00"
        );
    }

    #[test]
    fn metric_math_and_anomaly_alarms_name_their_underlying_metric() {
        let math = parse(&message_of("metric-math-ALARM.json")).unwrap();
        assert_eq!(math.kind, AlarmKind::MetricMath);
        assert_eq!(math.metric_name.as_deref(), Some("Errors"));
        let band = parse(&message_of("anomaly-detection-ALARM.json")).unwrap();
        assert_eq!(band.kind, AlarmKind::AnomalyDetection);
        assert_eq!(band.namespace.as_deref(), Some("AWS/Lambda"));
    }

    #[test]
    fn composite_alarms_with_null_description_parse() {
        let a = parse(&message_of("composite-alarm-ALARM.json")).unwrap();
        assert_eq!(a.kind, AlarmKind::Composite);
        assert_eq!(a.description, None);
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        assert_eq!(a.metric_name, None);
    }

    #[test]
    fn eventbridge_state_changes_parse() {
        let a = parse(&message_of("eventbridge-state-change-ALARM.json")).unwrap();
        assert_eq!(a.name, "orders-queue-depth");
        assert_eq!(a.state, State::Alarm);
        assert_eq!(a.kind, AlarmKind::Metric);
        assert_eq!(
            a.metric_name.as_deref(),
            Some("ApproximateNumberOfMessagesVisible")
        );
        assert_eq!(
            a.description.as_deref(),
            Some("Orders are piling up. severity:warning")
        );
        assert!(a.changed_at.is_some());
    }

    #[test]
    fn govcloud_and_china_partitions_come_from_the_arn() {
        assert_eq!(
            arn_parts(Some("arn:aws-us-gov:cloudwatch:us-gov-west-1:1:alarm:x")).0,
            "aws-us-gov"
        );
        assert_eq!(
            arn_parts(Some("arn:aws-cn:cloudwatch:cn-north-1:1:alarm:x"))
                .1
                .as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(arn_parts(None), ("aws".to_string(), None, None));
        assert_eq!(arn_parts(Some("garbage")), ("aws".to_string(), None, None));
    }

    #[test]
    fn missing_optional_fields_and_odd_types_are_tolerated() {
        let minimal = r#"{"AlarmName": "x", "NewStateValue": "OK", "AWSAccountId": 123456789012, "Trigger": null, "StateChangeTime": "not a time"}"#;
        let a = parse(minimal).unwrap();
        assert_eq!(a.state, State::Ok);
        assert_eq!(a.account.as_deref(), Some("123456789012"));
        assert_eq!(a.changed_at, None);
        assert_eq!(a.arn, None);
    }

    #[test]
    fn unicode_names_and_a_huge_reason_parse() {
        let reason = "é".repeat(10 * 1024);
        let msg = serde_json::json!({"AlarmName": "数据库-cpu 🔥", "NewStateValue": "ALARM", "NewStateReason": reason}).to_string();
        let a = parse(&msg).unwrap();
        assert_eq!(a.name, "数据库-cpu 🔥");
        assert_eq!(a.reason.unwrap().chars().count(), 10 * 1024);
    }

    #[test]
    fn other_messages_are_not_alarms() {
        assert!(parse("Deployment finished").is_none());
        assert!(parse(r#"{"AlarmName": "x"}"#).is_none());
        assert!(parse(r#"{"AlarmName": "x", "NewStateValue": "PANIC"}"#).is_none());
        assert!(parse(r#"{"detail-type": "EC2 Instance State-change Notification"}"#).is_none());
    }
}
