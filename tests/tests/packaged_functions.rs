//! Every packaged function (`make package`: the bootstraps the zips that
//! `sam deploy` uploads hold) started the way Lambda starts it: a Runtime
//! API on loopback, nothing in its environment but Lambda's variables, the
//! local AWS's endpoint and credentials and the function's environment
//! from the template. It must reach its first poll for an event without
//! logging an error, and answer a simple event where its event source has
//! one.
//!
//! Ignored by plain `cargo test` (it needs the packages); `make test` runs
//! it after `make package` under the local AWS (`make test-package`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use billing_tests::packaged::{
    PackagedFunction, lambda_process_environment, packaged_functions, seed_cold_start_reads,
    simple_event, start, template_environments,
};
use billing_tests::unique_id;
use lambda_runtime_fake::{FakeRuntimeApi, Seen};

const WAIT: Duration = Duration::from_secs(30);

/// Start `function` once: `Ok` when it polled (and answered), else why not.
fn start_and_poll(
    api: &FakeRuntimeApi,
    function: &PackagedFunction,
    environments: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<(), String> {
    let template_env = environments
        .get(&function.binary)
        .ok_or_else(|| format!("the local stack has no environment for {}", function.binary))?;
    api.reset();
    let env = lambda_process_environment(api, function, template_env);
    let log = std::env::temp_dir().join(unique_id(&function.binary));
    let mut child = start(function, &env, &log);
    let output = || std::fs::read_to_string(&log).unwrap_or_default();
    let started = Instant::now();
    let mut polled = false;
    let mut event = simple_event(function);
    let outcome = loop {
        match api.next_seen(Duration::from_millis(20)) {
            Some(Seen::Next(_)) if !polled => {
                polled = true;
                if let Some(line) = output().lines().find(|l| l.contains("\"level\":\"ERROR\"")) {
                    break Err(format!("logged an error before its first poll: {line}"));
                }
                match event.take() {
                    Some(event) => api.queue(event),
                    None => break Ok(()),
                }
            }
            Some(Seen::Next(_)) => {}
            Some(Seen::Answer { .. }) => break Ok(()),
            Some(Seen::Other { path, body }) => break Err(format!("called {path}: {body}")),
            None => {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!("exited with {status}"));
                }
                if started.elapsed() > WAIT {
                    let what = if polled { "answer" } else { "first poll" };
                    break Err(format!("no {what} within {WAIT:?}"));
                }
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let result = outcome.map_err(|error| format!("{error}\n--- its output ---\n{}", output()));
    let _ = std::fs::remove_file(&log);
    result
}

#[test]
#[ignore = "needs `make package`; `make test` runs it (make test-package)"]
fn every_packaged_function_reaches_its_first_poll_on_the_template_environment() {
    // GIVEN every function the template defines, packaged, and what they
    // read at cold start stored in the local AWS
    let functions = packaged_functions();
    assert!(!functions.is_empty(), "the template defines no function");
    let environments = template_environments();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(seed_cold_start_reads(&environments));
    let api = FakeRuntimeApi::start();
    // WHEN each is started as Lambda starts it
    let failures: Vec<String> = functions
        .iter()
        .filter_map(|function| {
            start_and_poll(&api, function, &environments)
                .err()
                .map(|error| format!("{} ({}): {error}", function.binary, function.logical_id))
        })
        .collect();
    // THEN each polled for its first event (and answered a simple one)
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
