//! The baseline of the cold-start bench (and the webhook's start-up bench): the
//! smallest useful `lambda_runtime` function, a hello world that echoes its
//! event. Built in release like the real function, so the difference in
//! start-up time is what a function itself adds.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "message": "hello", "echo": event.payload }))
}
