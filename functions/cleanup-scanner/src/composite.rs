//! Which alarms a composite alarm's rule depends on, and which alarms are quiet by design: both
//! are in use, however long they sit in INSUFFICIENT_DATA.

/// Every alarm a composite rule names: the operands of `ALARM(...)`, `OK(...)` and
/// `INSUFFICIENT_DATA(...)`, quoted or not, by name or by ARN (both returned as the alarm's name).
pub fn children(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let upper = rule.to_ascii_uppercase();
    for function in ["ALARM(", "OK(", "INSUFFICIENT_DATA("] {
        let mut from = 0;
        while let Some(at) = upper[from..].find(function) {
            let start = from + at + function.len();
            // `OK(` also ends `...LOCK(`-like words; a function name starts the rule, or follows a
            // space, an operator or a bracket.
            let before = upper[..from + at].chars().last();
            from = start;
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let Some(len) = rule[start..].find(')') else {
                break;
            };
            let operand = rule[start..start + len]
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            // An ARN ends in `:alarm:NAME`.
            let name = match operand.rfind(":alarm:") {
                Some(i) if operand.starts_with("arn:") => &operand[i + ":alarm:".len()..],
                _ => operand,
            };
            if !name.is_empty() {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Alarms that are quiet when all is well and must not be called stale: Application Auto Scaling
/// and EC2 Auto Scaling alarms (their actions are scaling policies; target tracking makes them
/// named `TargetTracking-...`), which AWS says never to delete.
pub fn quiet_by_design(name: &str, actions: &[String]) -> bool {
    name.starts_with("TargetTracking-") || actions.iter().any(|a| a.contains(":autoscaling:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_by_name_quoted_or_not_and_by_arn() {
        let rule = r#"ALARM("db-cpu") AND (OK(api-latency) OR INSUFFICIENT_DATA('queue-depth')) AND NOT ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:disk-full")"#;
        assert_eq!(
            children(rule),
            vec!["db-cpu", "disk-full", "api-latency", "queue-depth"]
        );
    }

    #[test]
    fn words_that_end_in_a_function_name_are_not_operands() {
        assert!(children("TRUE").is_empty());
        assert_eq!(children("ALARM(x) AND NOT MYALARM(y)"), vec!["x"]);
    }

    #[test]
    fn scaling_alarms_are_quiet_by_design() {
        assert!(quiet_by_design(
            "TargetTracking-table/orders-ProvisionedCapacityLow-abc",
            &[]
        ));
        let policy = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1a2b:resource/ecs/service/prod/api:policyName/scale-out".to_string();
        assert!(quiet_by_design("api-scale-out", &[policy]));
        assert!(!quiet_by_design(
            "db-cpu",
            &["arn:aws:sns:us-east-1:123456789012:alarms".into()]
        ));
    }
}
