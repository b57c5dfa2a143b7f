//! Start-up time of the `opportunity-webhook` release binary next to a
//! hello-world `lambda_runtime` binary (`hello-world` of
//! `shared/lambda-runtime-fake`), measured in the
//! same run (issue 4; budget: under 2× the hello world).
//!
//! A fake Lambda Runtime API on 127.0.0.1 (`shared/lambda-runtime-fake`)
//! stands in for Lambda: each binary is spawned with the environment Lambda
//! sets and handed one event. Two times per spawn:
//!
//! - **first poll**: spawn → first `GET …/invocation/next`, the end of
//!   Lambda's init phase (what Lambda reports as `Init Duration`).
//! - **first answer**: spawn → the answer to that first event, i.e. what a
//!   request that causes a cold start waits for. The webhook's event is a
//!   request with a wrong signature, answered (401) as soon as the state is
//!   loaded, with no AWS call of its own.
//!
//! Both are reported because they can be traded: a function that defers its
//! loading past the first poll has a short init phase and a slow first
//! answer. `WEBHOOK_BASELINE_BIN` puts a second build (the previous release,
//! or a variant) into the same run to compare.
//!
//! The webhook reads its seller from DynamoDB, so this runs under the local
//! emulator and seeds the billing entity first. `startup::load` is then
//! timed in this process too, next to one GetItem on a warm connection (the
//! emulator's own service time) and the schema compile.
//!
//! The binaries are passed in, already built with the release profile (the
//! deployed one: LTO, one codegen unit). `cargo bench` would rebuild the
//! function with the bench profile into the same path, so copy them first:
//!
//! ```text
//! cargo build --release -p opportunity-webhook --bin opportunity-webhook
//! cargo build --release -p lambda-runtime-fake --bin hello-world
//! # copy target/release/opportunity-webhook and target/release/hello-world
//! .venv/bin/python tools/local_aws.py run -- env WEBHOOK_BIN=… HELLO_BIN=… \
//!     cargo bench -p opportunity-webhook --bench startup
//! ```
//!
//! `make bench-webhook` does all of it. `STARTUP_RUNS` sets the samples per
//! binary (default 30). `WEBHOOK_BASELINE_BIN`, if set, is a second webhook
//! build (say, the previous release) measured in the same run.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use billing_domain::seller::BillingEntity;
use billing_lambda::aws::load_sdk_config;
use billing_store::BillingStore;
use lambda_runtime_fake::measure::{Percentiles, load_average, runs_from_env};
use lambda_runtime_fake::{self as runtime_api, FakeRuntimeApi, Seen};
use opportunity_webhook::contract::SCHEMA;
use opportunity_webhook::signature::{SIGNATURE_HEADER, WebhookSecrets};
use opportunity_webhook::startup::{self, SecretsSetting, WebhookConfig};

const WARM_UP_RUNS: usize = 3;
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One spawn's two times.
struct Sample {
    first_poll: Duration,
    first_answer: Duration,
}

/// A binary under test, the environment only it gets, its one event and
/// what its answer must contain.
struct Function {
    label: String,
    name: &'static str,
    path: PathBuf,
    env: Vec<(&'static str, String)>,
    event: String,
    expected_answer: &'static str,
}

impl Function {
    /// Spawn, hand it the event, wait for its answer, kill.
    fn start_once(&self, api: &FakeRuntimeApi, log: &Path) -> Sample {
        api.reset();
        api.queue(self.event.clone());
        let log_file = File::create(log).unwrap();
        let mut command = Command::new(&self.path);
        command
            .envs(api.lambda_environment(self.name))
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start {}: {e}", self.path.display());
        });
        let mut first_poll = None;
        let outcome = loop {
            match api.next_seen(Duration::from_millis(10)) {
                // A poll from before this spawn is the previous process's
                // last one, reported late: not this process's.
                Some(Seen::Next(at)) if at >= started => {
                    first_poll.get_or_insert(at - started);
                }
                Some(Seen::Next(_)) => {}
                Some(Seen::Answer { at, .. }) if at < started => {}
                Some(Seen::Answer { at, body, .. }) => {
                    break match first_poll {
                        Some(_) if !body.contains(self.expected_answer) => Err(format!(
                            "answered {body}, expected it to contain {}",
                            self.expected_answer
                        )),
                        Some(first_poll) => Ok(Sample {
                            first_poll,
                            first_answer: at - started,
                        }),
                        None => Err("answered before polling".into()),
                    };
                }
                Some(Seen::Other { path, body }) => break Err(format!("called {path}: {body}")),
                None => {
                    if let Ok(Some(status)) = child.try_wait() {
                        break Err(format!("exited with {status} before answering"));
                    }
                    if started.elapsed() > START_TIMEOUT {
                        break Err(format!("no answer within {START_TIMEOUT:?}"));
                    }
                }
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        outcome.unwrap_or_else(|error| {
            let output = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{}: {error}\n--- its output ---\n{output}", self.label);
        })
    }
}

/// Nearest-rank percentiles and extremes of a sample, in milliseconds.
/// The percentiles of a bench's samples (every measure has a run).
fn summary(samples: impl IntoIterator<Item = Duration>) -> Percentiles {
    Percentiles::of(samples).expect("at least one run")
}

/// A row of the table: median, p90, min and max.
fn row(p: &Percentiles, label: &str) -> String {
    format!(
        "| {label} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
        p.median, p.p90, p.min, p.max
    )
}

fn required_path(name: &str) -> PathBuf {
    let Some(path) = optional_path(name) else {
        eprintln!(
            "{name} is not set: pass the release binaries (see the top of benches/startup.rs \
             or run `make bench-webhook`)"
        );
        std::process::exit(2);
    };
    path
}

fn optional_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os(name).map(PathBuf::from)?;
    assert!(path.is_file(), "{name}={} is not a file", path.display());
    Some(path)
}

fn size_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

/// The webhook's `startup::load` on a fresh SDK configuration, then one more
/// GetItem of the seller on the now warm connection.
async fn load_in_process(config: WebhookConfig, entity: &BillingEntity) -> (Duration, Duration) {
    let started = Instant::now();
    startup::load(config.clone()).await.unwrap();
    let loaded = Instant::now();
    let sdk = load_sdk_config().await;
    let store = BillingStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table);
    store.billing_entity(&entity.id).await.unwrap();
    let warm = Instant::now();
    store.billing_entity(&entity.id).await.unwrap();
    (loaded - started, warm.elapsed())
}

fn main() {
    let runs = runs_from_env(30);
    let webhook_bin = required_path("WEBHOOK_BIN");
    let hello_bin = required_path("HELLO_BIN");
    let baseline_bin = optional_path("WEBHOOK_BASELINE_BIN");
    let table = std::env::var("BILLING_TABLE").unwrap_or_default();
    if table.is_empty() || std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        eprintln!(
            "BILLING_TABLE and AWS_ENDPOINT_URL are not set: run under \
             `.venv/bin/python tools/local_aws.py run -- …`"
        );
        std::process::exit(2);
    }
    let load_before = load_average();
    let cores = thread::available_parallelism().map_or(0, |n| n.get());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (entity, entity_source) = common::german_entity();
    runtime.block_on(async {
        let sdk = load_sdk_config().await;
        let store = BillingStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.as_str());
        store.put_billing_entity(&entity).await.unwrap();
    });

    let api = FakeRuntimeApi::start();
    let logs = std::env::temp_dir().join(format!("startup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let unsigned = runtime_api::http_post_event(
        "/webhooks/opportunity-closed",
        &[
            ("content-type", "application/json"),
            (SIGNATURE_HEADER, "t=1773133200,v1=00"),
        ],
        "{}",
    );
    let webhook_env = vec![
        ("BILLING_ENTITY_ID", entity.id.to_string()),
        ("WEBHOOK_SECRETS", common::SECRET.to_owned()),
    ];
    let webhook = |label: &str, path: PathBuf| Function {
        label: label.to_owned(),
        name: "billing-local-OpportunityWebhookFunction",
        path,
        env: webhook_env.clone(),
        event: unsigned.clone(),
        expected_answer: "\"statusCode\":401",
    };
    let mut functions = vec![
        Function {
            label: "hello world (`lambda_runtime`)".into(),
            name: "hello",
            path: hello_bin,
            env: Vec::new(),
            event: r#"{"greeting":"hi"}"#.into(),
            expected_answer: "\"message\":\"hello\"",
        },
        webhook("`opportunity-webhook`", webhook_bin),
    ];
    if let Some(path) = baseline_bin {
        functions.push(webhook("`opportunity-webhook`, baseline build", path));
    }
    for function in &functions {
        for _ in 0..WARM_UP_RUNS {
            function.start_once(&api, &logs.join(function.name));
        }
    }
    let mut samples: Vec<Vec<Sample>> = functions.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (function, samples) in functions.iter().zip(samples.iter_mut()) {
            samples.push(function.start_once(&api, &logs.join(function.name)));
        }
    }

    // The load in this process, on fresh SDK configurations.
    let config = WebhookConfig {
        table: table.clone(),
        entity_id: entity.id.clone(),
        secrets: SecretsSetting::Fixed(WebhookSecrets::from_list(common::SECRET).unwrap()),
    };
    let (load_times, warm_get_times): (Vec<_>, Vec<_>) = (0..runs)
        .map(|_| runtime.block_on(load_in_process(config.clone(), &entity)))
        .unzip();
    let schema_times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap();
            std::hint::black_box(validator);
            started.elapsed()
        })
        .collect();
    let load_after = load_average();

    println!();
    println!("start-up: spawn → first GET {}", runtime_api::NEXT_PATH);
    println!(
        "{runs} runs per binary (after {WARM_UP_RUNS} warm-up runs), alternating; \
         {cores} cores; load average {load_before} before, {load_after} after"
    );
    println!("billing entity: {entity_source}");
    let sizes: Vec<String> = functions
        .iter()
        .map(|f| format!("{} {:.1} MiB", f.label, size_mib(&f.path)))
        .collect();
    println!("binaries: {}", sizes.join(", "));
    println!();
    println!("| measure | median | p90 | min | max |");
    println!("| --- | --- | --- | --- | --- |");
    let mut medians = Vec::new();
    for (function, samples) in functions.iter().zip(&samples) {
        let poll = summary(samples.iter().map(|s| s.first_poll));
        let answer = summary(samples.iter().map(|s| s.first_answer));
        println!("{}", row(&poll, &format!("{}: first poll", function.label)));
        println!(
            "{}",
            row(&answer, &format!("{}: first answer", function.label))
        );
        medians.push((poll.median, answer.median));
    }
    println!(
        "{}",
        row(
            &summary(load_times),
            "in-process: `startup::load`, new SDK configuration"
        )
    );
    println!(
        "{}",
        row(
            &summary(warm_get_times),
            "in-process: GetItem of the seller, warm connection"
        )
    );
    println!(
        "{}",
        row(
            &summary(schema_times.iter().copied()),
            "in-process: schema compile"
        )
    );
    println!();
    let (hello_poll, hello_answer) = medians[0];
    for (function, (poll, answer)) in functions.iter().zip(&medians).skip(1) {
        println!(
            "ratio of medians, {} / hello: first poll {:.2}, first answer {:.2}",
            function.label,
            poll / hello_poll,
            answer / hello_answer
        );
    }
    println!(
        "first schema compile in this process (coldest): {:.2} ms",
        schema_times.first().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    let _ = std::fs::remove_dir_all(&logs);
}
