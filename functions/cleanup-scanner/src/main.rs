use cleanup_scanner::{handle, Config, Deps};
use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    ops_shared::logging::init();
    let config = Config::from_env()?;
    let deps = Deps::connect(&config).await;
    run(service_fn(|event| handle(&deps, &config, event))).await
}
