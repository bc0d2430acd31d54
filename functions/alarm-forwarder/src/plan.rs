//! What to do with one SNS message, decided before any network call: send a trigger or a resolve,
//! or skip it for a reason that is logged and counted.

use crate::alarm::{self, AlarmChange, State};
use crate::aws_events;
use crate::config::{Config, InsufficientData, NonAlarm};
use crate::event::{self, Action, PagerEvent};
use crate::sns::SnsMessage;

/// Why a message was not sent: the `Reason` dimension of the `Skipped` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// An SNS subscription handshake.
    Confirmation,
    /// Not a CloudWatch alarm notification (NON_ALARM_MESSAGES=skip).
    NotAlarm,
    /// INSUFFICIENT_DATA with INSUFFICIENT_DATA_ACTION=ignore.
    InsufficientData,
    /// Older than the alarm's last change, and saying something else.
    Stale,
    /// The routing secret still holds the stack's placeholder: counted as `Unconfigured`.
    Unconfigured,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::NotAlarm => "not_alarm",
            Self::InsufficientData => "insufficient_data",
            Self::Stale => "stale",
            Self::Unconfigured => "unconfigured",
        }
    }

    /// Skips that may hide a problem (a wrongly wired topic, a race) are warnings.
    pub fn is_warning(self) -> bool {
        matches!(self, Self::NotAlarm | Self::Stale)
    }
}

pub enum Plan {
    Send {
        event: Box<PagerEvent>,
        /// The alarm change it came from, for routing, runbooks and the staleness check.
        alarm: Option<Box<AlarmChange>>,
    },
    Skip {
        target: String,
        reason: String,
        code: SkipReason,
    },
    /// A record that is not an SNS message at all.
    Invalid { problem: String },
}

impl Plan {
    pub fn alarm(&self) -> Option<&AlarmChange> {
        match self {
            Self::Send { alarm, .. } => alarm.as_deref(),
            _ => None,
        }
    }
}

pub fn plan(message: &SnsMessage, config: &Config) -> Plan {
    if message.is_confirmation() {
        return Plan::Skip {
            target: message.label(),
            reason: "SNS subscription handshake".into(),
            code: SkipReason::Confirmation,
        };
    }
    let body = message.message.as_deref().unwrap_or_default();
    let Some(change) = alarm::parse(body) else {
        return non_alarm(message, body, config);
    };
    let action = match (change.state, config.insufficient_data) {
        (State::Alarm, _) | (State::InsufficientData, InsufficientData::Trigger) => Action::Trigger,
        (State::Ok, _) | (State::InsufficientData, InsufficientData::Resolve) => Action::Resolve,
        (State::InsufficientData, InsufficientData::Ignore) => {
            return Plan::Skip {
                target: format!("alarm {}", change.name),
                reason: "INSUFFICIENT_DATA (INSUFFICIENT_DATA_ACTION=ignore)".into(),
                code: SkipReason::InsufficientData,
            }
        }
    };
    let mut event = event::for_alarm(&change, action, config.default_severity, &config.region);
    name_account(&mut event, change.account.as_deref(), config);
    Plan::Send {
        event: Box::new(event),
        alarm: Some(Box::new(change)),
    }
}

fn non_alarm(message: &SnsMessage, body: &str, config: &Config) -> Plan {
    if config.non_alarm == NonAlarm::Skip {
        return Plan::Skip {
            target: message.label(),
            reason: "not a CloudWatch alarm notification (NON_ALARM_MESSAGES=skip)".into(),
            code: SkipReason::NotAlarm,
        };
    }
    let (mut event, account) = match aws_events::parse(body) {
        Some(known) => (event::for_aws_event(&known, message, body), known.account),
        None => {
            let (_, _, account) = alarm::arn_parts(message.topic_arn.as_deref());
            (event::for_message(message, config.default_severity), account)
        }
    };
    name_account(&mut event, account.as_deref(), config);
    Plan::Send {
        event: Box::new(event),
        alarm: None,
    }
}

fn name_account(event: &mut PagerEvent, account: Option<&str>, config: &Config) {
    if let Some(name) = account.and_then(|a| config.account_names.get(a)) {
        event::with_account_name(event, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ops_shared::Vars;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut pairs = vec![("PAGERDUTY_ROUTING_KEY_SECRET", "pd-routing")];
        pairs.extend_from_slice(extra);
        Config::from_vars(&Vars::from_pairs(pairs)).unwrap()
    }

    #[test]
    fn subscription_confirmations_are_skipped() {
        let msg = SnsMessage {
            kind: Some("SubscriptionConfirmation".into()),
            ..SnsMessage::default()
        };
        assert!(matches!(
            plan(&msg, &config(&[])),
            Plan::Skip {
                code: SkipReason::Confirmation,
                ..
            }
        ));
    }

    #[test]
    fn a_named_account_leads_the_summary() {
        let msg = SnsMessage {
            message: Some(crate::test_events::message_of("metric-alarm-ALARM.json")),
            ..SnsMessage::default()
        };
        let cfg = config(&[("ACCOUNT_NAMES", r#"{"123456789012": "prod"}"#)]);
        let Plan::Send { event, .. } = plan(&msg, &cfg) else {
            panic!("an alarm is sent");
        };
        let p = event.payload.unwrap();
        assert!(
            p.summary.starts_with("[prod] ALARM: api-5xx-rate"),
            "{}",
            p.summary
        );
        assert_eq!(p.custom_details["account_name"], "prod");
        let Plan::Send { event, .. } = plan(&msg, &config(&[])) else {
            panic!("an alarm is sent");
        };
        assert!(
            event.payload.unwrap().summary.starts_with("ALARM: "),
            "no name, no prefix"
        );
    }
}
