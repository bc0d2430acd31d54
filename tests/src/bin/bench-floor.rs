//! The floor of `make bench`: the least one of these functions can do at a cold start. It sets up
//! logging, loads the AWS configuration and builds the same SDK clients as the function its
//! argument names, then answers every invocation at once. Measured like the functions, never
//! shipped: a function's init over the floor's is what its own configuration and setup cost.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let function = std::env::args().nth(1).unwrap_or_default();
    ops_shared::logging::init();
    let aws = ops_shared::aws::load().await;
    // Held for the process's life, as the functions hold theirs.
    let clients: Vec<Box<dyn std::any::Any + Send + Sync>> = match function.as_str() {
        "alarm-forwarder" => vec![
            Box::new(aws_sdk_secretsmanager::Client::new(&aws)),
            Box::new(aws_sdk_cloudwatch::Client::new(&aws)),
        ],
        "secret-rotator" => vec![Box::new(aws_sdk_secretsmanager::Client::new(&aws))],
        "health-checker" => vec![
            Box::new(aws_sdk_ecs::Client::new(&aws)),
            Box::new(aws_sdk_cloudwatch::Client::new(&aws)),
            Box::new(aws_sdk_cloudwatch::Client::new(&aws)),
        ],
        "cost-reporter" => vec![
            Box::new(aws_sdk_cloudwatch::Client::new(&aws)),
            Box::new(aws_sdk_costexplorer::Client::new(&aws)),
            Box::new(aws_sdk_sns::Client::new(&aws)),
        ],
        "cleanup-scanner" => vec![
            Box::new(aws_sdk_sns::Client::new(&aws)),
            Box::new(aws_sdk_cloudwatch::Client::new(&aws)),
        ],
        other => {
            return Err(
                format!("bench-floor: no client set for '{other}': name one of the five functions").into(),
            )
        }
    };
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({}))
    }))
    .await?;
    drop(clients);
    Ok(())
}
