//! Whether the Python baseline did the work the function did: the AWS requests of each language's
//! first event, counted on the wire by the stack's proxy. A baseline that skips a request the
//! function makes (or makes one it does not) flatters one side, so the table says so.

use std::collections::BTreeMap;

/// "same N requests", or what differs, operation by operation.
pub fn compare(rust: &BTreeMap<String, usize>, python: &BTreeMap<String, usize>) -> String {
    let total = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    let mut differences = Vec::new();
    let ops: std::collections::BTreeSet<&String> = rust.keys().chain(python.keys()).collect();
    for op in ops {
        let (r, p) = (
            rust.get(op).copied().unwrap_or(0),
            python.get(op).copied().unwrap_or(0),
        );
        if r != p {
            differences.push(format!("{op} {r}/{p}"));
        }
    }
    if differences.is_empty() {
        format!("same {} requests", total(rust))
    } else {
        format!("**differ** (Rust/Python): {}", differences.join(", "))
    }
}

/// `op n, op n` for a table cell.
pub fn list(ops: &BTreeMap<String, usize>) -> String {
    if ops.is_empty() {
        return "none".into();
    }
    ops.iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn the_same_requests_are_counted_once() {
        let a = ops(&[
            ("secretsmanager:GetSecretValue", 1),
            ("monitoring:DescribeAlarms", 1),
        ]);
        assert_eq!(compare(&a, &a.clone()), "same 2 requests");
    }

    #[test]
    fn a_request_one_side_skips_is_named_with_both_counts() {
        let rust = ops(&[
            ("secretsmanager:GetSecretValue", 1),
            ("monitoring:DescribeAlarms", 1),
        ]);
        let python = ops(&[("secretsmanager:GetSecretValue", 1), ("sns:Publish", 2)]);
        assert_eq!(
            compare(&rust, &python),
            "**differ** (Rust/Python): monitoring:DescribeAlarms 1/0, sns:Publish 0/2"
        );
    }

    #[test]
    fn no_requests_reads_none() {
        assert_eq!(list(&BTreeMap::new()), "none");
        assert_eq!(
            list(&ops(&[("sts:GetCallerIdentity", 1)])),
            "sts:GetCallerIdentity 1"
        );
    }
}
