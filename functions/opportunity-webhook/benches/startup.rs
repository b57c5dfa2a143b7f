//! Start-up time of the `opportunity-webhook` release binary next to a
//! hello-world `lambda_runtime` binary (`examples/hello.rs`), measured in the
//! same run (issue 4; budget: under 2× the hello world).
//!
//! A fake Lambda Runtime API on 127.0.0.1 stands in for Lambda: each binary
//! is spawned with the environment Lambda sets, and the time from spawn to
//! its first `GET /2018-06-01/runtime/invocation/next` is one sample. The
//! request is never answered; the process is killed and the next one started.
//! Runs alternate between the two binaries so that machine load hits both.
//!
//! The webhook reads its seller from DynamoDB at start-up, so this runs under
//! the local emulator and seeds the billing entity first. To separate that
//! one GetItem from the rest, the same start-up steps are then repeated in
//! this process (SDK configuration and clients, the first GetItem on a new
//! client, a second GetItem on the warm connection, the schema compile).
//!
//! The binaries are passed in, already built with the release profile (the
//! deployed one: LTO, one codegen unit). `cargo bench` would rebuild the
//! function with the bench profile into the same path, so copy them first:
//!
//! ```text
//! cargo build --release -p opportunity-webhook --bin opportunity-webhook
//! cargo build --release -p opportunity-webhook --example hello
//! # copy target/release/opportunity-webhook and target/release/examples/hello
//! .venv/bin/python tools/local_aws.py run -- env WEBHOOK_BIN=… HELLO_BIN=… \
//!     cargo bench -p opportunity-webhook --bench startup
//! ```
//!
//! `make bench-webhook` does all of it. `STARTUP_RUNS` sets the samples per
//! binary (default 30).

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use billing_domain::party::BillingEntity;
use billing_lambda::aws::{AwsClients, load_sdk_config};
use billing_store::BillingStore;
use opportunity_webhook::contract::SCHEMA;

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
const WARM_UP_RUNS: usize = 3;
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What the fake Runtime API saw.
enum Seen {
    /// The first poll for an event: start-up is over.
    Next(Instant),
    /// Anything else, e.g. `/runtime/init/error`: start-up failed.
    Other { path: String, body: String },
}

/// A minimal Runtime API: records requests, answers none of the polls.
struct FakeRuntimeApi {
    address: String,
    seen: Receiver<Seen>,
}

impl FakeRuntimeApi {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (sender, seen) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                thread::spawn(move || serve(stream, &sender));
            }
        });
        Self { address, seen }
    }
}

fn serve(stream: TcpStream, seen: &Sender<Seen>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let arrived = Instant::now();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if path == NEXT_PATH {
            let _ = seen.send(Seen::Next(arrived));
            // Never answered: hold the connection until the process is killed.
            let _ = reader.read_to_end(&mut Vec::new());
            return;
        }
        let mut body = vec![0; content_length];
        let _ = reader.read_exact(&mut body);
        let _ = seen.send(Seen::Other {
            path,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let answer = r#"{"status":"OK"}"#;
        let _ = write!(
            writer,
            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
    }
}

/// A binary under test and the environment only it gets.
struct Function {
    label: &'static str,
    name: &'static str,
    path: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Function {
    /// Spawn, wait for the first poll, kill: the time from spawn to poll.
    fn start_once(&self, api: &FakeRuntimeApi, log: &Path) -> Duration {
        while api.seen.try_recv().is_ok() {}
        let log_file = File::create(log).unwrap();
        let mut command = Command::new(&self.path);
        command
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", self.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/03/10/[$LATEST]0123456789abcdef",
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("_HANDLER", "bootstrap")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start {}: {e}", self.path.display());
        });
        let outcome = loop {
            match api.seen.recv_timeout(Duration::from_millis(10)) {
                Ok(Seen::Next(at)) => break Ok(at.saturating_duration_since(started)),
                Ok(Seen::Other { path, body }) => break Err(format!("called {path}: {body}")),
                Err(RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        break Err(format!("exited with {status} before polling"));
                    }
                    if started.elapsed() > START_TIMEOUT {
                        break Err(format!("no poll within {START_TIMEOUT:?}"));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break Err("runtime API stopped".into()),
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
struct Summary {
    median: f64,
    p90: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Self {
            median: rank(0.5),
            p90: rank(0.9),
            min: ms[0],
            max: ms[ms.len() - 1],
        }
    }

    fn row(&self, label: &str) -> String {
        format!(
            "| {label} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            self.median, self.p90, self.min, self.max
        )
    }
}

fn required_path(name: &str) -> PathBuf {
    let Some(path) = std::env::var_os(name).map(PathBuf::from) else {
        eprintln!(
            "{name} is not set: pass the release binaries (see the top of benches/startup.rs \
             or run `make bench-webhook`)"
        );
        std::process::exit(2);
    };
    assert!(path.is_file(), "{name}={} is not a file", path.display());
    path
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn size_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

/// The start-up steps of the webhook's `main` that touch AWS, repeated in
/// this process: (SDK config + clients, first GetItem on new clients,
/// GetItem on the warm connection).
async fn aws_start_up_steps(table: &str, entity: &BillingEntity) -> (Duration, Duration, Duration) {
    let started = Instant::now();
    let sdk = load_sdk_config().await;
    let clients = AwsClients::new(&sdk);
    let store = BillingStore::new(clients.dynamodb, table);
    let configured = Instant::now();
    let loaded = store.billing_entity(&entity.id).await.unwrap();
    let first = Instant::now();
    let again = store.billing_entity(&entity.id).await.unwrap();
    let second = Instant::now();
    assert_eq!(loaded, again);
    (configured - started, first - configured, second - first)
}

fn main() {
    let runs: usize = std::env::var("STARTUP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .max(1);
    let webhook_bin = required_path("WEBHOOK_BIN");
    let hello_bin = required_path("HELLO_BIN");
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
        let store = BillingStore::new(AwsClients::new(&sdk).dynamodb, table.as_str());
        store.put_billing_entity(&entity).await.unwrap();
    });

    let api = FakeRuntimeApi::start();
    let logs = std::env::temp_dir().join(format!("startup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let hello = Function {
        label: "hello world (lambda_runtime)",
        name: "hello",
        path: hello_bin,
        env: Vec::new(),
    };
    let webhook = Function {
        label: "opportunity-webhook",
        name: "billing-local-OpportunityWebhookFunction",
        path: webhook_bin,
        env: vec![
            ("BILLING_ENTITY_ID", entity.id.to_string()),
            ("WEBHOOK_SECRETS", common::SECRET.to_owned()),
        ],
    };
    let functions = [&hello, &webhook];
    for function in functions {
        for _ in 0..WARM_UP_RUNS {
            function.start_once(&api, &logs.join(function.name));
        }
    }
    let mut samples = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (function, samples) in functions.iter().zip(samples.iter_mut()) {
            samples.push(function.start_once(&api, &logs.join(function.name)));
        }
    }
    let [hello_samples, webhook_samples] = samples;

    // The same AWS steps in-process, on fresh configurations and clients.
    let mut config_times = Vec::new();
    let mut first_get_times = Vec::new();
    let mut warm_get_times = Vec::new();
    for _ in 0..runs {
        let (config, first, warm) = runtime.block_on(aws_start_up_steps(&table, &entity));
        config_times.push(config);
        first_get_times.push(first);
        warm_get_times.push(warm);
    }
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

    let hello_summary = Summary::of(&hello_samples);
    let webhook_summary = Summary::of(&webhook_samples);
    let first_get = Summary::of(&first_get_times);
    let without_get = webhook_summary.median - first_get.median;
    println!();
    println!("start-up: spawn → first GET {NEXT_PATH}");
    println!(
        "{runs} runs per binary (after {WARM_UP_RUNS} warm-up runs), alternating; \
         {cores} cores; load average {load_before} before, {load_after} after"
    );
    println!("billing entity: {entity_source}");
    println!(
        "binaries: webhook {:.1} MiB, hello {:.1} MiB",
        size_mib(&webhook.path),
        size_mib(&hello.path)
    );
    println!();
    println!("| measure | median | p90 | min | max |");
    println!("| --- | --- | --- | --- | --- |");
    println!("{}", hello_summary.row("hello world (`lambda_runtime`)"));
    println!(
        "{}",
        webhook_summary.row("`opportunity-webhook`, incl. GetItem of the entity")
    );
    println!(
        "{}",
        Summary::of(&config_times).row("in-process: SDK config + clients")
    );
    println!(
        "{}",
        first_get.row("in-process: first GetItem on new clients")
    );
    println!(
        "{}",
        Summary::of(&warm_get_times).row("in-process: GetItem, warm connection")
    );
    println!(
        "{}",
        Summary::of(&schema_times).row("in-process: schema compile")
    );
    println!();
    println!(
        "ratio of medians, webhook / hello: {:.2} (incl. GetItem), {:.2} (without: \
         webhook median − first-GetItem median = {:.2} ms)",
        webhook_summary.median / hello_summary.median,
        without_get / hello_summary.median,
        without_get
    );
    let first_samples = |times: &[Duration]| times.first().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    println!(
        "first in-process sample (coldest): SDK config + clients {:.2} ms, first GetItem {:.2} ms, \
         schema compile {:.2} ms",
        first_samples(&config_times),
        first_samples(&first_get_times),
        first_samples(&schema_times)
    );
    let _ = std::fs::remove_dir_all(&logs);
}
