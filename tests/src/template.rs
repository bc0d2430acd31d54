//! infra/template.yaml as CloudFormation sees it after the SAM transform, for the tests that check
//! what would be deployed (roles SAM generates, subscriptions, schedules), not what the YAML says.

use std::process::Command;

use serde_json::Value;

use crate::repo_path;

/// Runs `infra/tools/sam-transform.py` with the SAM CLI's own Python (`.venv-sam`, which
/// `make setup` installs), offline.
pub fn transformed() -> Value {
    let python = repo_path(".venv-sam/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make setup`, which installs the SAM CLI whose translator these tests use",
        python.display()
    );
    let out = Command::new(&python)
        .arg(repo_path("infra/tools/sam-transform.py"))
        .arg(repo_path("infra/template.yaml"))
        .env_remove("AWS_PROFILE")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("the SAM translator runs");
    assert!(
        out.status.success(),
        "the SAM transform of infra/template.yaml failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the transform prints JSON")
}

/// Every string a policy field holds (`"a"` or `["a", "b"]`).
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The Allow and Deny statements of the inline policies of a function's role, without the grants
/// Lambda itself uses for an on-failure destination (SAM's generated policy, or a statement with
/// Sid `OnFailureDestination` in an explicit role): those are sent by Lambda, not by the code.
pub fn role_statements(template: &Value, function: &str) -> Vec<Value> {
    let resources = &template["Resources"];
    let role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{function} has no role of the template's own"));
    resources[role]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            !p["PolicyName"]
                .as_str()
                .unwrap_or("")
                .ends_with("EventInvokeConfigOnFailureSQSPolicy")
        })
        .flat_map(|p| match &p["PolicyDocument"]["Statement"] {
            Value::Array(list) => list.clone(),
            single => vec![single.clone()],
        })
        // A statement granted only under a condition (`Fn::If`, such as the health-checker's read of
        // its check list) counts: it is there whenever the code that needs it runs.
        .flat_map(|s| match s["Fn::If"].as_array() {
            Some(branches) => branches
                .iter()
                .skip(1)
                .filter(|b| b.get("Effect").is_some())
                .cloned()
                .collect(),
            None => vec![s],
        })
        .filter(|s| s["Sid"] != "OnFailureDestination")
        .collect()
}
