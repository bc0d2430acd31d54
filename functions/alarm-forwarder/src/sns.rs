//! The SNS envelope: a Lambda SNS event (`Records[].Sns`), or one SNS message as SNS delivers it to
//! an HTTP subscription (`Type: Notification`), which is how the local demo wires the topic to the
//! Runtime API. Own, tolerant types: every field SNS may leave out is optional.

use serde::Deserialize;
use serde_json::Value;

use crate::error::ForwardError;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct SnsMessage {
    #[serde(default, rename = "Type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub topic_arn: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl SnsMessage {
    /// SNS handshakes (subscribe/unsubscribe confirmations) carry nothing to page about.
    pub fn is_confirmation(&self) -> bool {
        matches!(
            self.kind.as_deref(),
            Some("SubscriptionConfirmation" | "UnsubscribeConfirmation")
        )
    }

    /// A short name for this message in logs and errors.
    pub fn label(&self) -> String {
        format!(
            "SNS message {}",
            self.message_id.as_deref().unwrap_or("(no MessageId)")
        )
    }
}

/// One record of the invocation: a message, or why it is not one.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Message(SnsMessage),
    Invalid { index: usize, problem: String },
}

/// Splits an invocation's payload into its records.
pub fn records(event: &Value) -> Result<Vec<Record>, ForwardError> {
    if let Some(list) = event.get("Records").and_then(Value::as_array) {
        return Ok(list
            .iter()
            .enumerate()
            .map(|(index, r)| record(index, r))
            .collect());
    }
    if event.get("Type").and_then(Value::as_str).is_some() {
        return Ok(vec![record_from_message(0, event)]);
    }
    let keys = event
        .as_object()
        .map(|o| o.keys().take(10).cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "not a JSON object".to_string());
    Err(ForwardError::UnrecognisedEvent { keys })
}

fn record(index: usize, record: &Value) -> Record {
    match record.get("Sns") {
        Some(sns) => record_from_message(index, sns),
        None => Record::Invalid {
            index,
            problem: "the record has no Sns field".to_string(),
        },
    }
}

fn record_from_message(index: usize, value: &Value) -> Record {
    match SnsMessage::deserialize(value) {
        Ok(message) if message.message.is_some() || message.is_confirmation() => Record::Message(message),
        Ok(_) => Record::Invalid {
            index,
            problem: "the SNS message has no Message".to_string(),
        },
        Err(e) => Record::Invalid {
            index,
            problem: format!("the SNS message is malformed: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lambda_sns_events_give_one_record_per_entry() {
        let event = json!({"Records": [
            {"EventSource": "aws:sns", "Sns": {"Type": "Notification", "MessageId": "m1", "Subject": null, "Message": "{}"}},
            {"EventSource": "aws:sns"}
        ]});
        let recs = records(&event).unwrap();
        assert_eq!(recs.len(), 2);
        let Record::Message(m) = &recs[0] else {
            panic!("{recs:?}")
        };
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.subject, None);
        assert!(matches!(&recs[1], Record::Invalid { index: 1, .. }));
    }

    #[test]
    fn an_http_delivered_sns_message_is_one_record() {
        let event = json!({"Type": "Notification", "MessageId": "m2", "TopicArn": "arn:aws:sns:us-east-1:1:alarms", "Message": "hello"});
        assert_eq!(records(&event).unwrap().len(), 1);
        let confirm =
            json!({"Type": "SubscriptionConfirmation", "MessageId": "m3", "SubscribeURL": "http://x"});
        let Record::Message(m) = &records(&confirm).unwrap()[0] else {
            panic!()
        };
        assert!(m.is_confirmation());
    }

    #[test]
    fn anything_else_is_refused_naming_its_keys_not_its_values() {
        let err = records(&json!({"detail-type": "Scheduled Event", "secret": "s3cr3t-value"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("detail-type, secret"), "{err}");
        assert!(!err.contains("s3cr3t-value"), "{err}");
        assert!(records(&json!([1, 2]))
            .unwrap_err()
            .to_string()
            .contains("not a JSON object"));
    }
}
