//! Reads the sample events in `events/alarm-forwarder/`, which double as test input.

use serde_json::Value;

pub fn event(file: &str) -> Value {
    let path = ops_shared::sample_event_path("alarm-forwarder", file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The SNS `Message` of the event's first record.
pub fn message_of(file: &str) -> String {
    event(file)["Records"][0]["Sns"]["Message"]
        .as_str()
        .expect("the first record has a Message")
        .to_string()
}
