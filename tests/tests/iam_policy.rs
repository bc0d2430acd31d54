//! Least privilege, checked: the AWS operations each function's code calls are derived from the code
//! itself and compared with the role `infra/template.yaml` gives that function once SAM has transformed it (tests/src/template.rs). A call without
//! a grant fails in production with AccessDenied; a grant without a call is privilege nobody needs.
//!
//! How the calls are found: an SDK client is a binding typed `aws_sdk_<service>::Client` (a field, a
//! parameter or a `let`); an operation is a method called on such a binding whose name is one of
//! that SDK crate's operations (read from the crate's own `src/operation/` at the locked version).
//! ops-shared's adapters count for a function when its code names the adapter's type.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ops_tests::repo_path;
use regex_lite::Regex;
use serde_json::Value as Json;
use serde_yaml_ng::Value;

/// IAM's service prefix for each SDK crate the functions use. A function that starts using another
/// service fails the test until its prefix is added here (and its grant to the template).
const IAM_PREFIX: &[(&str, &str)] = &[
    ("cloudwatch", "cloudwatch"),
    ("cloudwatchlogs", "logs"),
    ("costexplorer", "ce"),
    ("ecs", "ecs"),
    ("eventbridge", "events"),
    ("resourcegroupstagging", "tag"),
    ("s3", "s3"),
    ("scheduler", "scheduler"),
    ("secretsmanager", "secretsmanager"),
    ("sns", "sns"),
    ("sts", "sts"),
];

/// Every operation of one SDK crate: snake_case method name → the API's PascalCase name.
type Operations = HashMap<String, String>;

/// The host's target triple: the SDK crates are read for the platform the functions build on.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().expect("rustc -vV runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn sdk_operations() -> HashMap<String, Operations> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only the host's packages: the build downloaded those, while the full graph names every
    // platform's (android_system_properties, windows-sys, ...), which nothing here has fetched.
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host_triple(),
        ])
        .current_dir(repo_path(""))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Json = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let strukt = Regex::new(r"(?m)^pub struct (\w+);").unwrap();
    let mut by_crate = HashMap::new();
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let Some(service) = name.strip_prefix("aws-sdk-") else {
            continue;
        };
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let dir = manifest.parent().unwrap().join("src/operation");
        let mut ops = Operations::new();
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let snake = path.file_stem().unwrap().to_string_lossy().to_string();
                let text = fs::read_to_string(&path).unwrap();
                if let Some(c) = strukt.captures(&text) {
                    ops.insert(snake, c[1].to_string());
                }
            }
        }
        assert!(!ops.is_empty(), "no operations found under {}", dir.display());
        by_crate.insert(service.replace('-', ""), ops);
    }
    by_crate
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The IAM actions one source file calls, as `prefix:Operation`.
fn actions_in(text: &str, sdks: &HashMap<String, Operations>) -> BTreeSet<String> {
    let imported = Regex::new(r"use aws_sdk_(\w+)::Client;").unwrap();
    let imported = imported.captures(text).map(|c| c[1].to_string());
    // A field or a parameter, owned or borrowed (`client: &Client`).
    let typed = Regex::new(r"\b(\w+)\s*:\s*&?\s*(?:aws_sdk_(\w+)::)?Client\b").unwrap();
    let built = Regex::new(r"let\s+(\w+)\s*=\s*aws_sdk_(\w+)::Client::new").unwrap();
    // One name can hold clients of different services in one file (`client` in two adapters);
    // a call is then the operation of whichever of them has it, and a name both have is refused.
    let mut clients: HashMap<String, BTreeSet<String>> = HashMap::new();
    for c in typed.captures_iter(text) {
        let service = c
            .get(2)
            .map(|m| m.as_str().to_string())
            .or_else(|| imported.clone());
        if let Some(service) = service {
            clients.entry(c[1].to_string()).or_default().insert(service);
        }
    }
    for c in built.captures_iter(text) {
        clients
            .entry(c[1].to_string())
            .or_default()
            .insert(c[2].to_string());
    }
    let call = Regex::new(r"\b(\w+)\s*\.\s*([a-z][a-z0-9_]*)\s*\(").unwrap();
    let mut out = BTreeSet::new();
    for c in call.captures_iter(text) {
        let Some(services) = clients.get(&c[1]) else {
            continue;
        };
        let matches: Vec<String> = services
            .iter()
            .filter_map(|service| {
                let ops = sdks
                    .get(service)
                    .unwrap_or_else(|| panic!("aws_sdk_{service} is used but its crate was not found"));
                let op = ops.get(&c[2])?;
                let prefix = IAM_PREFIX
                    .iter()
                    .find(|(crate_name, _)| crate_name == service)
                    .unwrap_or_else(|| panic!("add aws_sdk_{service}'s IAM prefix to IAM_PREFIX"))
                    .1;
                Some(format!("{prefix}:{op}"))
            })
            .collect();
        assert!(
            matches.len() <= 1,
            "`{}.{}()` could be any of {matches:?}: give the clients different names",
            &c[1],
            &c[2]
        );
        out.extend(matches);
    }
    out
}

/// What each function's code calls, by package directory name.
fn derived() -> BTreeMap<String, BTreeSet<String>> {
    let sdks = sdk_operations();
    // An adapter is a struct holding an SDK client.
    let adapter = Regex::new(r"pub struct (\w+)\s*\{[^}]*aws_sdk_\w+::Client").unwrap();
    let shared: Vec<(Vec<String>, BTreeSet<String>)> = rust_files(&repo_path("shared/src"))
        .iter()
        .map(|f| {
            let text = fs::read_to_string(f).unwrap();
            let types = adapter.captures_iter(&text).map(|c| c[1].to_string()).collect();
            (types, actions_in(&text, &sdks))
        })
        .filter(|(_, actions)| !actions.is_empty())
        .collect();
    assert!(
        !shared.is_empty(),
        "ops-shared's SNS and CloudWatch adapters were not recognised"
    );
    let mut out = BTreeMap::new();
    for dir in fs::read_dir(repo_path("functions")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.join("Cargo.toml").exists() {
            continue;
        }
        let mut actions = BTreeSet::new();
        let mut code = String::new();
        for f in rust_files(&dir.join("src")) {
            let text = fs::read_to_string(&f).unwrap();
            actions.extend(actions_in(&text, &sdks));
            code.push_str(&text);
        }
        // aws-config's AssumeRoleProvider calls STS for the code (the cleanup-scanner's other
        // accounts).
        if code.contains("AssumeRoleProvider") {
            actions.insert("sts:AssumeRole".to_string());
        }
        for (types, shared_actions) in &shared {
            if types
                .iter()
                .any(|t| Regex::new(&format!(r"\b{t}\b")).unwrap().is_match(&code))
            {
                actions.extend(shared_actions.iter().cloned());
            }
        }
        out.insert(dir.file_name().unwrap().to_string_lossy().to_string(), actions);
    }
    out
}

fn template() -> Value {
    let text = fs::read_to_string(repo_path("infra/template.yaml")).expect("infra/template.yaml exists");
    serde_yaml_ng::from_str(&text).expect("infra/template.yaml is YAML")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The actions each function's role allows after the SAM transform (SAM's own on-failure policy
/// aside), by the package directory its CodeUri names. Inline policies and explicit roles both count.
fn granted(template: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let transformed = ops_tests::template::transformed();
    let mut out = BTreeMap::new();
    let resources = template["Resources"]
        .as_mapping()
        .expect("the template has Resources");
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        let code_uri = resource["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no CodeUri"));
        let package = Path::new(code_uri)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let actions = ops_tests::template::role_statements(&transformed, name)
            .iter()
            .filter(|s| s["Effect"].as_str() == Some("Allow"))
            .flat_map(|s| ops_tests::template::strings(&s["Action"]))
            .collect();
        out.insert(package, actions);
    }
    out
}

#[test]
fn every_function_is_granted_exactly_the_operations_its_code_calls() {
    let derived = derived();
    let granted = granted(&template());
    assert_eq!(
        derived.keys().collect::<Vec<_>>(),
        granted.keys().collect::<Vec<_>>(),
        "every function under functions/ needs one AWS::Serverless::Function in the template"
    );
    let mut problems = Vec::new();
    for (function, calls) in &derived {
        let grants = &granted[function];
        for missing in calls.difference(grants) {
            problems.push(format!(
                "{function}: calls {missing}, which its policy does not allow"
            ));
        }
        for extra in grants.difference(calls) {
            problems.push(format!(
                "{function}: its policy allows {extra}, which its code never calls"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "infra/template.yaml:\n  {}",
        problems.join("\n  ")
    );
}

/// The member-account role of `infra/member-role.yaml` grants exactly what the cleanup-scanner
/// calls in another account: everything its code calls, but what it does with its own account's
/// credentials (assuming the role, publishing the report and the metrics).
#[test]
fn the_member_account_role_grants_exactly_what_the_scanner_calls_there() {
    let text =
        fs::read_to_string(repo_path("infra/member-role.yaml")).expect("infra/member-role.yaml exists");
    let member: Value = serde_yaml_ng::from_str(&text).expect("infra/member-role.yaml is YAML");
    // The role's own policy (reading) and, where AllowChanges is true, the policy of its changes.
    let statements: Vec<Value> = [
        &member["Resources"]["CleanupMemberRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"],
        &member["Resources"]["CleanupMemberChanges"]["Properties"]["PolicyDocument"]["Statement"],
    ]
    .iter()
    .flat_map(|s| s.as_sequence().expect("both policies have statements").clone())
    .collect();
    let allowed: BTreeSet<String> = statements
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    let home_only = [
        "sts:AssumeRole",
        "sts:GetCallerIdentity",
        "sns:Publish",
        "cloudwatch:PutMetricData",
    ];
    let needed: BTreeSet<String> = derived()["cleanup-scanner"]
        .iter()
        .filter(|a| !home_only.contains(&a.as_str()))
        .cloned()
        .collect();
    assert_eq!(allowed, needed, "infra/member-role.yaml's Allow statements");
    // The same guards as the ops account's role: only the mark may be tagged, protected is denied.
    let sids: Vec<String> = statements
        .iter()
        .filter_map(|s| s["Sid"].as_str().map(str::to_string))
        .collect();
    for sid in ["MarkOnly", "NeverTouchProtected", "NeverTouchStackResources"] {
        assert!(sids.contains(&sid.to_string()), "{sid} is missing: {sids:?}");
    }
    assert_eq!(
        member["Resources"]["CleanupMemberChanges"]["Condition"].as_str(),
        Some("ChangesAllowed"),
        "changes only where AllowChanges is true"
    );
}

#[test]
fn the_derivation_finds_the_calls_it_must() {
    // Guards the regexes: if they stopped matching, the test above would compare two empty sets.
    let derived = derived();
    let expect = [
        ("alarm-forwarder", "secretsmanager:GetSecretValue"),
        ("cost-reporter", "ce:GetCostAndUsage"),
        ("cost-reporter", "sns:Publish"),
        ("health-checker", "cloudwatch:PutMetricAlarm"),
        ("health-checker", "cloudwatch:PutMetricData"),
        ("secret-rotator", "secretsmanager:UpdateSecretVersionStage"),
        ("cleanup-scanner", "ecs:DescribeServices"),
        ("cleanup-scanner", "logs:DescribeLogGroups"),
        ("cleanup-scanner", "tag:GetResources"),
        ("cleanup-scanner", "events:ListTargetsByRule"),
        ("cleanup-scanner", "sts:AssumeRole"),
    ];
    for (function, action) in expect {
        assert!(
            derived[function].contains(action),
            "{function} should call {action}; derived: {:?}",
            derived[function]
        );
    }
}

#[test]
fn no_statement_anywhere_allows_a_wildcard_action() {
    fn walk(v: &Value, path: &str, found: &mut Vec<String>) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let key = k.as_str().unwrap_or("?");
                    if key == "Action" || key == "NotAction" {
                        for a in strings(v) {
                            if a.contains('*') || key == "NotAction" {
                                found.push(format!("{path}.{key}: {a}"));
                            }
                        }
                    }
                    walk(v, &format!("{path}.{key}"), found);
                }
            }
            Value::Sequence(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), found);
                }
            }
            Value::Tagged(t) => walk(&t.value, path, found),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&template(), "", &mut found);
    assert!(
        found.is_empty(),
        "wildcard actions in infra/template.yaml: {found:?}"
    );
}

/// The rotator changes only secrets tagged for rotation; the master secrets of alternating-users
/// rotations carry a tag of their own that lets it read them and nothing more.
#[test]
fn the_rotator_writes_only_rotate_tagged_secrets_and_only_reads_master_secrets() {
    const ROTATE: &str = "ops-lambdas:rotate";
    const MASTER: &str = "ops-lambdas:rotation-master";
    let transformed = ops_tests::template::transformed();
    let statements: Vec<Json> = ops_tests::template::role_statements(&transformed, "SecretRotatorFunction")
        .into_iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .collect();
    let tag_of = |s: &Json| -> Option<String> {
        let equals = s["Condition"]["StringEquals"].as_object()?;
        let mut tags = equals.iter().filter_map(|(k, v)| {
            let tag = k.strip_prefix("secretsmanager:ResourceTag/")?;
            (v.as_str() == Some("true")).then(|| tag.to_string())
        });
        let tag = tags.next()?;
        tags.next().is_none().then_some(tag)
    };
    let mut seen = BTreeSet::new();
    for s in &statements {
        let actions = ops_tests::template::strings(&s["Action"]);
        if actions == ["secretsmanager:GetRandomPassword"] {
            continue;
        }
        let tag = tag_of(s).unwrap_or_else(|| panic!("{s:?} must be conditioned on one tag"));
        assert!(
            tag == ROTATE || tag == MASTER,
            "the rotator's statements name {tag}, not {ROTATE} or {MASTER}"
        );
        assert!(seen.insert(tag), "one statement per tag");
    }
    assert_eq!(
        seen,
        BTreeSet::from([ROTATE.to_string(), MASTER.to_string()]),
        "one statement for the rotated secrets and one for their masters"
    );
    // Reading a master secret's current value is all a rotation does with it.
    let master = statements
        .iter()
        .find(|s| tag_of(s).as_deref() == Some(MASTER))
        .unwrap();
    assert_eq!(
        ops_tests::template::strings(&master["Action"]),
        ["secretsmanager:GetSecretValue"]
    );
}
