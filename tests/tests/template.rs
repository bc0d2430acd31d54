//! infra/template.yaml as it would deploy, after the SAM transform: no alarm about the stack can
//! page through the stack, every schedule EventBridge would accept for every parameter value, and
//! every generated or explicit role holds only the managed policies it needs.

use std::collections::BTreeSet;

use ops_tests::template::{strings, transformed};
use serde_json::Value;

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("the template has Resources")
}

/// The logical id a `Ref` or `Fn::GetAtt` points at.
fn target(v: &Value) -> Option<String> {
    v["Ref"]
        .as_str()
        .or_else(|| v["Fn::GetAtt"][0].as_str())
        .map(str::to_string)
}

#[test]
fn no_alarm_notifies_a_topic_the_alarm_forwarder_consumes() {
    let t = transformed();
    let res = resources(&t);
    let forwarder_topics: BTreeSet<String> = res
        .values()
        .filter(|r| r["Type"] == "AWS::SNS::Subscription" && r["Properties"]["Protocol"] == "lambda")
        .filter(|r| target(&r["Properties"]["Endpoint"]).as_deref() == Some("AlarmForwarderFunction"))
        .filter_map(|r| target(&r["Properties"]["TopicArn"]))
        .collect();
    assert_eq!(
        forwarder_topics,
        BTreeSet::from(["AlarmsTopic".to_string()]),
        "the forwarder consumes the alarms topic (found through SAM's generated subscription)"
    );
    let mut alarms = 0;
    for (name, r) in res.iter().filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm") {
        alarms += 1;
        let props = &r["Properties"];
        let actions: Vec<&Value> = ["AlarmActions", "OKActions", "InsufficientDataActions"]
            .iter()
            .flat_map(|k| props[*k].as_array().into_iter().flatten())
            .collect();
        assert!(!actions.is_empty(), "{name} tells nobody");
        for action in actions {
            let topic =
                target(action).unwrap_or_else(|| panic!("{name}: {action} is not a topic of this stack"));
            assert!(
                !forwarder_topics.contains(&topic),
                "{name} notifies {topic}, which alarm-forwarder consumes: a failing forwarder would page itself in a loop"
            );
            // The budget alarm is about spend, not the stack: its readers are the reports'.
            let expected = if name == "CostForecastOverBudgetAlarm" {
                "ReportsTopic"
            } else {
                "OpsTopic"
            };
            assert_eq!(
                topic, expected,
                "{name}: alarms about the stack go to the ops topic, the budget to the reports"
            );
        }
    }
    assert!(alarms >= 12, "the stack's own alarms were found ({alarms})");
}

/// EventBridge's schedule grammar: `rate(1 minute|hour|day)`, `rate(N minutes|hours|days)` for
/// N > 1, or `cron(...)` with six fields.
fn valid_schedule(expr: &str) -> Result<(), String> {
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
        let (n, unit) = inner.split_once(' ').ok_or("rate needs a value and a unit")?;
        let n: u32 = n.parse().map_err(|_| format!("{n} is not a whole number"))?;
        let ok = match n {
            0 => false,
            1 => matches!(unit, "minute" | "hour" | "day"),
            _ => matches!(unit, "minutes" | "hours" | "days"),
        };
        return if ok {
            Ok(())
        } else {
            Err(format!("rate({n} {unit}) has the wrong unit"))
        };
    }
    if let Some(inner) = expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')')) {
        let fields: Vec<&str> = inner.split_whitespace().collect();
        if fields.len() != 6 {
            return Err(format!("cron needs 6 fields, has {}", fields.len()));
        }
        // Day-of-month and day-of-week: exactly one of them is `?`.
        if (fields[2] == "?") == (fields[4] == "?") {
            return Err("cron needs `?` in exactly one of day-of-month and day-of-week".into());
        }
        return Ok(());
    }
    Err("neither rate(...) nor cron(...)".into())
}

#[test]
fn the_schedule_grammar_check_refuses_what_eventbridge_refuses() {
    for bad in [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "cron(0 7 * * *)",
        "cron(0 7 * * * *)",
    ] {
        assert!(valid_schedule(bad).is_err(), "{bad}");
    }
    for good in [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "cron(0 7 * * ? *)",
    ] {
        assert!(valid_schedule(good).is_ok(), "{good}");
    }
}

#[test]
fn every_schedule_is_valid_for_every_value_its_parameter_allows() {
    let t = transformed();
    let mut checked = 0;
    for (name, r) in resources(&t)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
    {
        let expr = &r["Properties"]["ScheduleExpression"];
        let values: Vec<String> = match expr {
            Value::String(s) => vec![s.clone()],
            // FindInMap [Map, Ref Param, Key]: every key of the map, and the map covers every value
            // the parameter allows.
            other if other.get("Fn::FindInMap").is_some() => {
                let args = &other["Fn::FindInMap"];
                let (map, key) = (args[0].as_str().unwrap(), args[2].as_str().unwrap());
                let param = args[1]["Ref"].as_str().expect("the map is chosen by a parameter");
                let mapping = t["Mappings"][map].as_object().unwrap();
                let allowed: BTreeSet<String> = strings(&t["Parameters"][param]["AllowedValues"])
                    .into_iter()
                    .collect();
                let keys: BTreeSet<String> = mapping.keys().cloned().collect();
                assert_eq!(allowed, keys, "{name}: {map} covers every value of {param}");
                mapping
                    .values()
                    .map(|v| v[key].as_str().unwrap().to_string())
                    .collect()
            }
            other => panic!("{name}: a schedule this test cannot evaluate: {other}"),
        };
        for v in values {
            valid_schedule(&v).unwrap_or_else(|e| panic!("{name}: {v}: {e}"));
            checked += 1;
        }
    }
    assert!(checked >= 13, "the schedules were found ({checked})");
}

/// A managed policy ARN as written: a string, or `Fn::Sub` of one with the partition in it.
fn policy_arn(v: &Value) -> Option<String> {
    v.as_str()
        .or_else(|| v["Fn::Sub"].as_str())
        .map(|s| s.replace("${AWS::Partition}", "aws"))
}

#[test]
fn every_role_holds_only_the_managed_policies_it_needs() {
    let t = transformed();
    let always = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ];
    let vpc = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";
    let mut roles = 0;
    for (name, r) in resources(&t)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
    {
        roles += 1;
        for arn in r["Properties"]["ManagedPolicyArns"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(arn) = policy_arn(arn) {
                assert!(always.contains(&arn.as_str()), "{name} always holds {arn}");
                continue;
            }
            // `Fn::If [Condition, arn, NoValue]`: X-Ray with tracing on, the VPC policy only for a
            // function in a VPC.
            let branches = &arn["Fn::If"];
            let condition = branches[0].as_str().unwrap_or_else(|| panic!("{name}: {arn}"));
            let held = policy_arn(&branches[1]).unwrap_or_else(|| panic!("{name}: {arn}"));
            assert_eq!(branches[2]["Ref"], "AWS::NoValue", "{name}: {arn}");
            let in_vpc = ["RotatorInVpc", "HealthCheckerInVpc"];
            let allowed = (held == always[1] && condition == "TracingOn")
                || (held == vpc && in_vpc.contains(&condition));
            assert!(allowed, "{name} holds {held} when {condition}");
        }
        for p in r["Properties"]["Policies"].as_array().into_iter().flatten() {
            for s in p["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
                let actions = strings(&s["Action"]);
                assert!(
                    !actions.iter().any(|a| a == "*" || a.ends_with(":*")),
                    "{name}: {actions:?}"
                );
            }
        }
    }
    assert_eq!(roles, 5, "one role per function");
}

/// `make deploy ARCH=x86_64` sets the saved Architecture and keeps every other saved parameter.
#[test]
fn set_architecture_changes_only_the_architecture_of_the_saved_parameters() {
    let dir = std::env::temp_dir().join(ops_tests::unique("samconfig"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("samconfig.toml");
    let saved = r#"version = 0.1
[default.deploy.parameters]
capabilities = "CAPABILITY_IAM"
parameter_overrides = "Architecture=\"arm64\" OpsEmail=\"ops@example.com\" HealthChecks=\"{\\\"checks\\\": []}\""
"#;
    let run = |arch: &str| {
        std::process::Command::new("python3")
            .arg(ops_tests::repo_path("infra/tools/set-architecture.py"))
            .arg(arch)
            .arg(&path)
            .output()
            .expect("python3 runs")
    };
    std::fs::write(&path, saved).unwrap();
    assert!(run("x86_64").status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#"Architecture=\"x86_64\""#), "{text}");
    assert!(text.contains(r#"OpsEmail=\"ops@example.com\""#), "{text}");
    assert!(
        text.contains(r#"HealthChecks=\"{\\\"checks\\\": []}\""#),
        "{text}"
    );
    assert!(text.contains(r#"capabilities = "CAPABILITY_IAM""#));

    let refused = run("sparc");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("arm64 or x86_64"));
    std::fs::write(&path, "version = 0.1\n").unwrap();
    let first = run("arm64");
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("GUIDED=1"),
        "a first deploy is guided"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
