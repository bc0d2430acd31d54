//! The runbook of an alarm: a `runbook:<url>` token in its description, else the routing table's
//! first `runbooks` entry whose glob matches the alarm name (`{alarm}` in its URL replaced by the
//! URL-encoded name). A malformed URL is left out with a warning: it never costs a page.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const TOKEN: &str = "runbook:";
/// RFC 3986's unreserved characters stay as they are; everything else in a name is encoded.
const NAME_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The first `runbook:` token of a description (case-insensitive, spaces after the colon
/// allowed): `Ok(url)`, `Err(what was there)` when it is not an http(s) URL, `None` without one.
pub fn from_description(description: &str) -> Option<Result<String, String>> {
    let at = description.to_ascii_lowercase().find(TOKEN)?;
    let rest = description[at + TOKEN.len()..].trim_start();
    let candidate: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    // A sentence's closing punctuation is not part of the URL.
    let candidate = candidate.trim_end_matches(['.', ',', ';', ')']).to_string();
    Some(checked(&candidate).ok_or(candidate))
}

/// A table entry's URL for `alarm`, checked.
pub fn from_template(template: &str, alarm: &str) -> Result<String, String> {
    let url = template.replace("{alarm}", &utf8_percent_encode(alarm, NAME_ESCAPES).to_string());
    checked(&url).ok_or(url)
}

fn checked(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some()).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_token_is_found_in_any_case_and_spacing() {
        for text in [
            "runbook:https://wiki.example.com/rb/db",
            "Database down. Runbook: https://wiki.example.com/rb/db severity:critical",
            "see RUNBOOK:https://wiki.example.com/rb/db.",
        ] {
            assert_eq!(
                from_description(text),
                Some(Ok("https://wiki.example.com/rb/db".into())),
                "{text}"
            );
        }
        assert_eq!(from_description("no token here"), None);
    }

    #[test]
    fn a_malformed_token_is_reported_not_used() {
        assert_eq!(
            from_description("runbook:not-a-url"),
            Some(Err("not-a-url".into()))
        );
        assert_eq!(
            from_description("runbook: javascript:alert(1)"),
            Some(Err("javascript:alert(1".into()))
        );
        assert_eq!(from_description("runbook:"), Some(Err(String::new())));
    }

    #[test]
    fn templates_get_the_encoded_alarm_name() {
        assert_eq!(
            from_template("https://wiki.example.com/runbooks/{alarm}", "db cpu/high"),
            Ok("https://wiki.example.com/runbooks/db%20cpu%2Fhigh".into())
        );
        assert!(from_template("wiki/{alarm}", "x").is_err());
    }
}
