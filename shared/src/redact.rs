//! The registry of secret values that must never reach a log line or an error message.
//!
//! A function registers every secret it handles (a routing key, a password, a rotation token) the
//! moment it reads it. The log writer installed by [`crate::logging`] and [`crate::diagnostic`] pass
//! everything through [`redact`], so even a careless `debug!("{value:?}")` prints the mask instead.
//! Values shorter than [`MIN_LEN`] are not registered: masking every "a" would make logs unreadable,
//! and no credential we handle is that short.

use std::borrow::Cow;
use std::sync::RwLock;

use secrecy::{ExposeSecret, SecretString};

/// What a registered secret is replaced with.
pub const MASK: &str = "[REDACTED]";
/// The shortest value that is registered.
pub const MIN_LEN: usize = 6;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a value so it is masked wherever it would be logged. Idempotent.
pub fn register(value: &str) {
    if value.len() < MIN_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Registers the value held by a `SecretString` and returns it, for reading secrets in one step.
pub fn register_secret(value: SecretString) -> SecretString {
    register(value.expose_secret());
    value
}

/// Wraps a value in a `SecretString` (whose `Debug` prints nothing of it) and registers it.
pub fn secret(value: impl Into<String>) -> SecretString {
    register_secret(SecretString::from(value.into()))
}

/// `text` with every registered secret replaced by [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_everywhere_they_appear() {
        register("hunter2-hunter2");
        let out = redact("password=hunter2-hunter2; again hunter2-hunter2");
        assert_eq!(out, format!("password={MASK}; again {MASK}"));
    }

    #[test]
    fn text_without_secrets_is_returned_unchanged_without_copying() {
        register("some-other-secret-1");
        assert!(matches!(redact("nothing to hide here"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        register("abcdef");
        register("xxabcdefyy");
        assert_eq!(redact("k=xxabcdefyy"), format!("k={MASK}"));
    }

    #[test]
    fn very_short_values_are_not_registered() {
        register("abc");
        assert_eq!(redact("abc"), "abc");
    }

    #[test]
    fn secret_strings_do_not_debug_print_their_value() {
        let s = secret("R0UTINGKEY0000000000000000000001");
        assert!(!format!("{s:?}").contains("R0UTINGKEY"));
        assert_eq!(redact("R0UTINGKEY0000000000000000000001"), MASK);
    }
}
