//! PagerDuty severity, and the `severity:<level>` token an alarm can carry in its description or
//! name to choose its own.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "critical" => Ok(Self::Critical),
            "error" => Ok(Self::Error),
            "warning" => Ok(Self::Warning),
            "info" => Ok(Self::Info),
            other => Err(format!("'{other}' is not a PagerDuty severity")),
        }
    }
}

const TOKEN: &str = "severity:";

/// The first valid `severity:<level>` token in `text` (case-insensitive).
pub fn from_text(text: &str) -> Option<Severity> {
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find(TOKEN) {
        let after = &rest[at + TOKEN.len()..];
        let word: String = after.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if let Ok(severity) = word.parse() {
            return Some(severity);
        }
        rest = after;
    }
    None
}

/// The description's token wins, then the name's, then the configured default.
pub fn choose(description: Option<&str>, name: &str, default: Severity) -> Severity {
    description
        .and_then(from_text)
        .or_else(|| from_text(name))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_description_wins() {
        let s = choose(
            Some("Page now. severity:critical"),
            "db-cpu severity:info",
            Severity::Error,
        );
        assert_eq!(s, Severity::Critical);
    }

    #[test]
    fn the_name_is_used_when_the_description_has_no_token() {
        assert_eq!(
            choose(None, "api-latency-severity:warning", Severity::Error),
            Severity::Warning
        );
        assert_eq!(
            choose(Some("nothing here"), "x SEVERITY:Info", Severity::Error),
            Severity::Info
        );
    }

    #[test]
    fn unknown_levels_are_skipped_and_the_default_applies() {
        assert_eq!(
            choose(Some("severity:sev1 severity:"), "db", Severity::Error),
            Severity::Error
        );
        assert_eq!(
            from_text("severity:bogus then severity:warning"),
            Some(Severity::Warning)
        );
    }
}
