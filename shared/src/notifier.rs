//! The `Notifier` port (a message for people) and its SNS adapter.
//!
//! SNS refuses a subject over 100 characters, with a line break or with non-ASCII text, and a
//! message over 256 KB. A report that fails to send because it was too long is worse than a
//! shortened one, so both are fitted here, with a visible marker, and never refused.

use async_trait::async_trait;

use crate::error::{sdk_message, sdk_retryable, SharedError};

/// Longest subject we send. SNS documents "less than 100 characters".
pub const MAX_SUBJECT_CHARS: usize = 99;
/// Largest message SNS accepts, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A message for people: an email subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub message: String,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends the notification (fitted to the transport's limits); returns the message id.
    async fn notify(&self, notification: &Notification) -> Result<String, SharedError>;
}

/// Publishes notifications to one SNS topic.
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn notify(&self, notification: &Notification) -> Result<String, SharedError> {
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(fit_subject(&notification.subject))
            .message(fit_message(&notification.message))
            .send()
            .await
            .map_err(|e| SharedError::Publish {
                topic: self.topic_arn.clone(),
                reason: sdk_message(&e),
                retryable: sdk_retryable(&e),
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}

/// A subject SNS accepts: printable ASCII on one line, at most [`MAX_SUBJECT_CHARS`], ending in
/// `...` when it was cut.
pub fn fit_subject(subject: &str) -> String {
    let mut ascii = String::with_capacity(subject.len());
    for c in subject.chars() {
        match c {
            ' '..='~' => ascii.push(c),
            '\u{2013}' | '\u{2014}' => ascii.push('-'),
            '\u{2018}' | '\u{2019}' => ascii.push('\''),
            '\u{201c}' | '\u{201d}' => ascii.push('"'),
            '\u{2026}' => ascii.push_str("..."),
            c if c.is_whitespace() || c.is_control() => ascii.push(' '),
            _ => ascii.push('?'),
        }
    }
    let collapsed = ascii.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(no subject)".to_string();
    }
    if collapsed.len() <= MAX_SUBJECT_CHARS {
        return collapsed;
    }
    let cut = collapsed[..MAX_SUBJECT_CHARS - 3].trim_end();
    format!("{cut}...")
}

/// A message SNS accepts: at most [`MAX_MESSAGE_BYTES`], cut on a character boundary with a
/// marker that says how much was left out.
pub fn fit_message(message: &str) -> String {
    if message.is_empty() {
        return "(empty message)".to_string();
    }
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.to_string();
    }
    // The marker's length depends on the number in it; reserve room for the longest number.
    let reserve = marker(message.len()).len();
    let mut end = MAX_MESSAGE_BYTES - reserve;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &message[..end], marker(message.len() - end))
}

fn marker(omitted: usize) -> String {
    format!("\n\n[truncated: {omitted} bytes omitted to fit the 256 KB SNS limit]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ascii_subjects_pass_unchanged() {
        assert_eq!(
            fit_subject("AWS cost 2026-11-21: $123.45 (+12% vs previous day)"),
            "AWS cost 2026-11-21: $123.45 (+12% vs previous day)"
        );
    }

    #[test]
    fn long_subjects_are_cut_with_a_visible_marker() {
        let s = fit_subject(&"x".repeat(300));
        assert_eq!(s.len(), MAX_SUBJECT_CHARS);
        assert!(s.ends_with("..."));
    }

    #[test]
    fn subjects_lose_line_breaks_and_non_ascii() {
        assert_eq!(
            fit_subject("ALARM:\n\"db\u{2014}cpu\" in Z\u{fc}rich \u{1f525}"),
            "ALARM: \"db-cpu\" in Z?rich ?"
        );
        assert_eq!(fit_subject(" \n\t "), "(no subject)");
    }

    #[test]
    fn messages_within_the_limit_pass_unchanged() {
        let m = "é".repeat(MAX_MESSAGE_BYTES / 2);
        assert_eq!(fit_message(&m), m);
        assert_eq!(fit_message(""), "(empty message)");
    }

    #[test]
    fn oversized_messages_are_cut_on_a_char_boundary_with_a_marker() {
        let m = format!("a{}", "€".repeat(200_000));
        let out = fit_message(&m);
        assert!(out.len() <= MAX_MESSAGE_BYTES, "{}", out.len());
        assert!(out.contains("[truncated: "));
        let omitted: usize = out
            .rsplit("[truncated: ")
            .next()
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let kept = out.find("\n\n[truncated").unwrap();
        assert_eq!(kept + omitted, m.len());
    }
}
