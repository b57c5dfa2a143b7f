//! Cold start of every packaged function next to a hello-world
//! `lambda_runtime` binary, in the same run (issue 14; `make bench-cold-start`).
//!
//! Each function of the template is started from its packaged `bootstrap`
//! (what `sam deploy` uploads) the way Lambda starts it (see
//! `billing_tests::packaged`), against a fake Runtime API on loopback and
//! the local AWS. Per run and function, two starts:
//!
//! - **init**: start → first `GET …/invocation/next` (Lambda's `Init
//!   Duration`), then killed and reaped: its CPU time (user + system,
//!   `wait4`) is the init phase's, as a polling runtime sleeps;
//! - **answer**: start with a simple event queued (an empty batch, an
//!   unauthenticated request; none for a schedule) → its answer, what a
//!   request that causes a cold start waits for.
//!
//! Budget (issue 14): a function's init CPU time at most 3× the hello
//! world's, its cold-start reads served by the local AWS. Reported, never
//! asserted.
//!
//! ```text
//! make package
//! cargo lambda build --release --bin hello-world   # the baseline, built the same way
//! .venv/bin/python tools/local_aws.py run --quiet -- \
//!     env HELLO_BIN=target/lambda/hello-world/bootstrap target/debug/cold_start
//! ```
//!
//! `STARTUP_RUNS` sets the samples per function (default 20).
//! `COLD_START_ENV` (`NAME=VALUE`, `;`-separated) adds variables to every
//! start, to measure a variant without building one (e.g. `SSL_CERT_FILE`:
//! which trust store the HTTPS client reads).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use billing_tests::packaged::{
    EventSource, PackagedFunction, lambda_process_environment, packaged_functions,
    seed_cold_start_reads, simple_event, start, template_environments,
};
use lambda_runtime_fake::measure::{Percentiles, load_average, runs_from_env};
use lambda_runtime_fake::process::kill_and_reap;
use lambda_runtime_fake::{FakeRuntimeApi, Seen};

const WARM_UP_RUNS: usize = 2;
const WAIT: Duration = Duration::from_secs(30);

/// A binary under test: a packaged function, or the hello world.
struct Subject {
    function: PackagedFunction,
    env: BTreeMap<String, String>,
    event: Option<String>,
}

/// The samples of one subject.
#[derive(Default)]
struct Samples {
    first_poll: Vec<Duration>,
    init_cpu: Vec<Duration>,
    first_answer: Vec<Duration>,
}

fn log_path(subject: &Subject) -> PathBuf {
    std::env::temp_dir().join(format!(
        "cold-start-{}-{}",
        subject.function.binary,
        std::process::id()
    ))
}

fn fail(subject: &Subject, error: &str) -> ! {
    let output = std::fs::read_to_string(log_path(subject)).unwrap_or_default();
    panic!(
        "{}: {error}\n--- its output ---\n{output}",
        subject.function.binary
    );
}

/// Start `subject` (with `event` queued, if any) and wait until the fake
/// API sees what `until` picks: the time from the start to it, and the
/// CPU time the process used by then (it is killed and reaped).
fn start_until(
    api: &FakeRuntimeApi,
    subject: &Subject,
    event: Option<&str>,
    until: fn(&Seen) -> Option<Instant>,
) -> (Duration, Duration) {
    api.reset();
    if let Some(event) = event {
        api.queue(event.to_owned());
    }
    let env = lambda_process_environment(api, &subject.function, &subject.env);
    let started = Instant::now();
    let mut child = start(&subject.function, &env, &log_path(subject));
    let elapsed = loop {
        match api.next_seen(Duration::from_millis(5)) {
            Some(Seen::Other { path, body }) => fail(subject, &format!("called {path}: {body}")),
            Some(seen) => match until(&seen) {
                // A report from before this start is the previous process's.
                Some(at) if at >= started => break at - started,
                _ => {}
            },
            None => {
                if let Ok(Some(status)) = child.try_wait() {
                    fail(subject, &format!("exited with {status}"));
                }
                if started.elapsed() > WAIT {
                    fail(subject, &format!("nothing within {WAIT:?}"));
                }
            }
        }
    };
    let cpu = kill_and_reap(child).unwrap_or_else(|e| fail(subject, &e.to_string()));
    (elapsed, cpu.total())
}

fn first_poll(seen: &Seen) -> Option<Instant> {
    match seen {
        Seen::Next(at) => Some(*at),
        _ => None,
    }
}

fn first_answer(seen: &Seen) -> Option<Instant> {
    match seen {
        Seen::Answer { at, .. } => Some(*at),
        _ => None,
    }
}

fn sample(api: &FakeRuntimeApi, subject: &Subject, samples: &mut Samples) {
    // Killed right after its first poll: a polling runtime sleeps, so the
    // CPU time is the init phase's.
    let (poll, cpu) = start_until(api, subject, None, first_poll);
    samples.first_poll.push(poll);
    samples.init_cpu.push(cpu);
    if let Some(event) = &subject.event {
        let (answer, _) = start_until(api, subject, Some(event), first_answer);
        samples.first_answer.push(answer);
    }
}

/// Median and 90th percentile, in milliseconds.
fn median_p90(samples: &[Duration]) -> Option<(f64, f64)> {
    Percentiles::of(samples.iter().copied()).map(|p| (p.median, p.p90))
}

fn cell(samples: &[Duration]) -> String {
    median_p90(samples).map_or_else(
        || "— (scheduled: its event starts real work)".to_owned(),
        |(median, p90)| format!("{median:.2} ms (p90 {p90:.2})"),
    )
}

fn hello_world(path: PathBuf) -> Subject {
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    Subject {
        function: PackagedFunction {
            logical_id: "HelloWorld".into(),
            binary: "hello-world".into(),
            events: vec![EventSource {
                kind: "Direct".into(),
                method: None,
                path: None,
            }],
            bootstrap: path,
            zipped_bytes: 0,
            unzipped_bytes: size,
        },
        env: BTreeMap::new(),
        event: Some(r#"{"greeting":"hi"}"#.into()),
    }
}

fn main() {
    let runs = runs_from_env(20);
    let Some(hello) = std::env::var_os("HELLO_BIN").map(PathBuf::from) else {
        eprintln!(
            "HELLO_BIN is not set: see the top of tests/src/bin/cold_start.rs or run `make bench-cold-start`"
        );
        std::process::exit(2);
    };
    let extra: Vec<(String, String)> = std::env::var("COLD_START_ENV")
        .unwrap_or_default()
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let environments = template_environments();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(seed_cold_start_reads(&environments));
    let mut subjects = vec![hello_world(hello)];
    for function in packaged_functions() {
        let mut env = environments
            .get(&function.binary)
            .cloned()
            .unwrap_or_default();
        env.extend(extra.iter().cloned());
        let event = simple_event(&function);
        subjects.push(Subject {
            function,
            env,
            event,
        });
    }
    let load_before = load_average();
    let api = FakeRuntimeApi::start();
    let mut scratch = Samples::default();
    for _ in 0..WARM_UP_RUNS {
        for subject in &subjects {
            sample(&api, subject, &mut scratch);
        }
    }
    let mut samples: Vec<Samples> = subjects.iter().map(|_| Samples::default()).collect();
    for _ in 0..runs {
        for (subject, samples) in subjects.iter().zip(samples.iter_mut()) {
            sample(&api, subject, samples);
        }
    }
    let hello_cpu = median_p90(&samples[0].init_cpu).map_or(f64::NAN, |(m, _)| m);
    println!();
    println!(
        "{runs} runs per binary after {WARM_UP_RUNS} warm-up runs, alternating; {} cores; \
         load average {load_before} before, {} after",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    if !extra.is_empty() {
        println!("variant: {extra:?}");
    }
    println!();
    println!("| function | zipped | unzipped | first poll | init CPU (× hello) | first answer |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (subject, samples) in subjects.iter().zip(&samples) {
        let f = &subject.function;
        let zipped = if f.zipped_bytes == 0 {
            "—".to_owned()
        } else {
            format!("{:.1} MB", f.zipped_bytes as f64 / 1e6)
        };
        let cpu = median_p90(&samples.init_cpu).map_or_else(String::new, |(median, p90)| {
            format!("{median:.2} ms (p90 {p90:.2}; {:.1}×)", median / hello_cpu)
        });
        println!(
            "| {} | {zipped} | {:.1} MB | {} | {cpu} | {} |",
            f.binary,
            f.unzipped_bytes as f64 / 1e6,
            cell(&samples.first_poll),
            cell(&samples.first_answer),
        );
    }
    for subject in &subjects {
        let _ = std::fs::remove_file(log_path(subject));
    }
}
