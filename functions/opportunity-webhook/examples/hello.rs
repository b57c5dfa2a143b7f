//! The baseline for the start-up benchmark (`benches/startup.rs`): the
//! smallest useful `lambda_runtime` function, a hello world that echoes its
//! event. Built in release like the real function, so the difference in
//! start-up time is what the webhook itself adds.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "message": "hello", "echo": event.payload }))
}
