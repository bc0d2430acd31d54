//! `expect_status`: a list of HTTP status codes and ranges such as `[200, "500-599"]`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(Vec<(u16, u16)>);

impl Default for StatusSet {
    /// `200-399`: success, and redirects when they are not followed.
    fn default() -> Self {
        Self(vec![(200, 399)])
    }
}

impl StatusSet {
    pub fn parse(value: &Value) -> Result<Self, String> {
        let items = match value {
            Value::Array(items) => items.clone(),
            single => vec![single.clone()],
        };
        let mut ranges = Vec::new();
        for item in &items {
            let range = match item {
                Value::Number(n) => n.as_u64().and_then(|c| u16::try_from(c).ok()).map(|c| (c, c)),
                Value::String(s) => match s.split_once('-') {
                    Some((lo, hi)) => lo.trim().parse().ok().zip(hi.trim().parse().ok()),
                    None => s.trim().parse().ok().map(|c| (c, c)),
                },
                _ => None,
            };
            match range {
                Some((lo, hi)) if (100..=599).contains(&lo) && (lo..=599).contains(&hi) => {
                    ranges.push((lo, hi))
                }
                _ => {
                    return Err(format!(
                        "has {item}, which is not a status code (100-599) or a range such as \"200-399\""
                    ))
                }
            }
        }
        if ranges.is_empty() {
            return Err("is empty".into());
        }
        Ok(Self(ranges))
    }

    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn codes_and_ranges_mix() {
        let s = StatusSet::parse(&json!([204, "300-302", "418"])).unwrap();
        assert!(s.contains(204) && s.contains(301) && s.contains(418));
        assert!(!s.contains(200) && !s.contains(303));
        assert!(StatusSet::parse(&json!(200)).unwrap().contains(200));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            json!([]),
            json!(["2xx"]),
            json!([99]),
            json!(["400-300"]),
            json!([true]),
        ] {
            assert!(StatusSet::parse(&bad).is_err(), "{bad}");
        }
    }
}
