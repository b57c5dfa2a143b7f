//! The packaged functions (`make package`), started the way Lambda starts
//! them: the first-poll check of `make test` and the cold-start bench share
//! this, so both start exactly the same binaries with exactly the same
//! environment.
//!
//! Which functions exist, their binaries and event sources come from the
//! manifest `tools/package.py build` writes from `infra/template.yaml`
//! (`<target>/lambda/manifest.json`); each function's environment comes
//! from the template as `tools/local_aws.py` resolved it against the local
//! AWS (`LOCAL_AWS_STACK`). Nothing here lists a function or a variable.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use billing_store::BillingStore;
use lambda_runtime_fake::FakeRuntimeApi;
use serde::Deserialize;

use crate::webhook::{example_entity, repo_path};

/// The name the template gives a function's entity id variable.
const ENTITY_VARIABLE: &str = "BILLING_ENTITY_ID";

/// How a function is invoked (one of its template `Events`).
#[derive(Clone, Debug, Deserialize)]
pub struct EventSource {
    /// The SAM event type: `SQS`, `HttpApi`, `S3`, `ScheduleV2`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// HTTP method of an `HttpApi` route (`ANY` for any).
    pub method: Option<String>,
    /// Path of an `HttpApi` route, possibly with `{proxy+}`.
    pub path: Option<String>,
}

/// One packaged function of the template.
#[derive(Clone, Debug, Deserialize)]
pub struct PackagedFunction {
    /// The template's logical id, e.g. `InvoicePdfFunction`.
    pub logical_id: String,
    /// The cargo binary, e.g. `invoice-pdf`.
    pub binary: String,
    /// How it is invoked.
    pub events: Vec<EventSource>,
    /// The built `bootstrap` (the zip holds exactly this file).
    pub bootstrap: PathBuf,
    /// Size of the zip `sam deploy` uploads.
    pub zipped_bytes: u64,
    /// Size of the unzipped bootstrap.
    pub unzipped_bytes: u64,
}

#[derive(Deserialize)]
struct Manifest {
    functions: Vec<PackagedFunction>,
}

#[derive(Deserialize)]
struct LocalStack {
    functions: BTreeMap<String, BTreeMap<String, String>>,
}

/// Cargo's target directory, as `make package` used it.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_path("target"), PathBuf::from)
}

/// Every function `make package` built, in template order.
///
/// # Panics
/// When there is no manifest: run `make package` first.
pub fn packaged_functions() -> Vec<PackagedFunction> {
    let path = target_dir().join("lambda/manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `make package` first (make test does)",
            path.display()
        )
    });
    let manifest: Manifest = serde_json::from_str(&text).expect("the package manifest parses");
    manifest.functions
}

/// Each function's template environment, resolved against the local AWS.
///
/// # Panics
/// Outside `tools/local_aws.py run` (no `LOCAL_AWS_STACK`).
pub fn template_environments() -> BTreeMap<String, BTreeMap<String, String>> {
    let path = std::env::var("LOCAL_AWS_STACK")
        .expect("LOCAL_AWS_STACK is not set: run under tools/local_aws.py run");
    let text = std::fs::read_to_string(&path).expect("the local stack description");
    let stack: LocalStack = serde_json::from_str(&text).expect("the local stack parses");
    stack.functions
}

/// What a function reads at cold start and the local AWS does not hold by
/// itself: the seller record of every `BILLING_ENTITY_ID` the template
/// gives a function (the documented example seller under that id). The
/// template's secrets are provisioned by `tools/local_aws.py` already.
///
/// # Panics
/// When the billing table cannot be written.
pub async fn seed_cold_start_reads(environments: &BTreeMap<String, BTreeMap<String, String>>) {
    let entities: BTreeSet<&String> = environments
        .values()
        .filter_map(|env| env.get(ENTITY_VARIABLE))
        .collect();
    let store = crate::webhook::local_store().await;
    for id in entities {
        seed_entity(&store, id).await;
    }
}

async fn seed_entity(store: &BillingStore, id: &str) {
    store
        .put_billing_entity(&example_entity(id))
        .await
        .expect("the seller is stored");
}

/// The process environment of a function as Lambda sets it: nothing of this
/// process's own but the local AWS endpoint, region and credentials (on
/// Lambda: the execution role's), Lambda's own variables and the
/// function's template environment. A variable the template forgot is
/// missing here as it would be on Lambda.
pub fn lambda_process_environment(
    api: &FakeRuntimeApi,
    function: &PackagedFunction,
    template_env: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ]
    .iter()
    .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)))
    .collect();
    let task_root = function
        .bootstrap
        .parent()
        .map_or_else(String::new, |p| p.display().to_string());
    env.extend(
        [
            ("AWS_SESSION_TOKEN", "local"),
            ("LAMBDA_TASK_ROOT", task_root.as_str()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
            ("LANG", "en_US.UTF-8"),
            ("TZ", ":UTC"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    // Named as CloudFormation names a function: stack, logical id.
    let name = format!("billing-local-{}", function.logical_id);
    env.extend(
        api.lambda_environment(&name)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    env.extend(template_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Start `function`'s bootstrap with `env` only, its output into `log`.
///
/// # Panics
/// When the binary cannot be started.
pub fn start(function: &PackagedFunction, env: &[(String, String)], log: &Path) -> Child {
    let log_file = File::create(log).expect("a log file");
    Command::new(&function.bootstrap)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(function.bootstrap.parent().unwrap_or(Path::new("/")))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("the log file"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", function.bootstrap.display()))
}

/// An event the function answers from its loaded state, without work on
/// AWS, where its event source has one: an empty batch for queues and
/// bucket notifications, a request without credentials or signature for
/// HTTP routes. `None` for a schedule: its event starts real work.
pub fn simple_event(function: &PackagedFunction) -> Option<String> {
    let source = function.events.first()?;
    match source.kind.as_str() {
        "SQS" | "S3" | "SNS" => Some(r#"{"Records":[]}"#.to_owned()),
        "HttpApi" | "Api" => {
            let method = match source.method.as_deref() {
                None | Some("ANY" | "any") => "GET".to_owned(),
                Some(method) => method.to_uppercase(),
            };
            let path = source
                .path
                .as_deref()
                .unwrap_or("/")
                .replace("{proxy+}", "cold-start");
            Some(lambda_runtime_fake::http_event(
                &method,
                &path,
                &[("content-type", "application/json")],
                "{}",
            ))
        }
        _ => None,
    }
}
