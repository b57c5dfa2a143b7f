//! `billing-admin`, the operator CLI of the billing system.
//!
//! One module per subcommand group (`entity`, `accounts`, `contracts`), each
//! with a clap `Subcommand` enum and an async `run(command, &Context)`.
//! Adding a group (e.g. `run start` / `run status`) is: a module with both,
//! one variant in [`Command`] and one arm in [`dispatch`]. Everything a
//! group needs from outside comes through [`Context`]: the output mode, the
//! SDK configuration and the deployment's [`resources::Resources`]. Failures
//! are [`error::AdminError`], whose variants map to the documented exit codes.
#![warn(missing_docs)]

pub mod accounts;
pub mod contracts;
pub mod doctor;
pub mod entity;
pub mod error;
pub mod invoices;
pub mod json;
pub mod mandates;
pub mod oss;
pub mod output;
pub mod periods;
pub mod queues;
pub mod resources;
pub mod run;
pub mod stack;

use std::process::ExitCode;

use aws_config::{BehaviorVersion, SdkConfig};
use billing_store::BillingStore;
use clap::{Parser, Subcommand};

use crate::error::{AdminError, EXIT_CODES_HELP};
use crate::output::Output;
use crate::resources::{ResourceArgs, Resources};

const RESOURCES_HELP: &str = "\
Resources:
  --stack NAME     a deployed stack: its table, run queue and documents bucket
                   are looked up in CloudFormation (DescribeStackResources)
  --table NAME     the billing table (wins over --stack and BILLING_TABLE)
  otherwise        BILLING_TABLE, INVOICE_RUN_QUEUE_URL, DOCUMENTS_BUCKET;
                   `queues` and `doctor` walk the whole stack: --stack, or
                   locally the list tools/local_aws.py writes (LOCAL_AWS_STACK)
  Region, credentials and endpoint come from the standard AWS configuration
  (AWS_PROFILE, AWS_REGION, ...; AWS_ENDPOINT_URL for the local emulator).";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "billing-admin",
    version,
    about = "Operator CLI of the billing system: seller configuration, account and contract imports, invoice runs, dead-letter queues, stack checks",
    after_help = format!("{RESOURCES_HELP}\n\n{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod entity put docs/examples/billing-entity.json\n  billing-admin contracts import tests/fixtures/contracts/contracts.csv\n  billing-admin --json accounts import accounts.json\n  billing-admin run start --preview\n  billing-admin --stack billing-prod queues list\n  billing-admin --stack billing-prod doctor")
)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text (no progress bar).
    #[arg(long, global = true)]
    pub json: bool,
    /// The deployed CloudFormation stack to work on.
    #[arg(long, global = true, value_name = "NAME")]
    pub stack: Option<String>,
    /// The billing table (overrides --stack and BILLING_TABLE).
    #[arg(long, global = true, value_name = "NAME")]
    pub table: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommand groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The seller (billing entity) configuration.
    #[command(subcommand)]
    Entity(entity::EntityCommand),
    /// Customer accounts.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Subscription contracts.
    #[command(subcommand)]
    Contracts(contracts::ContractsCommand),
    /// SEPA mandates of an account.
    #[command(subcommand)]
    Mandates(mandates::MandatesCommand),
    /// Invoice runs: start one (or a preview), follow it, read its outcome.
    #[command(subcommand)]
    Run(run::RunCommand),
    /// Clerk actions on one invoice: write off an uncollectible one.
    #[command(subcommand)]
    Invoices(invoices::InvoicesCommand),
    /// Booking periods: show, close (lock) and export a month as DATEV
    /// files and a CSV journal.
    #[command(subcommand)]
    Periods(periods::PeriodsCommand),
    /// The quarterly One-Stop-Shop summary (§18j UStG).
    #[command(subcommand)]
    Oss(oss::OssCommand),
    /// The stack's queues and dead-letter queues: depths, a dead-lettered
    /// message's reason, redrive back to the source queue.
    #[command(subcommand)]
    Queues(queues::QueuesCommand),
    /// Check a deployed stack: seller, SES, schedules, the statements
    /// bucket's notification, alarms with a subscriber.
    Doctor(doctor::DoctorArgs),
}

/// What every command gets: how to print, and how to reach the deployment.
#[derive(Debug)]
pub struct Context {
    /// How results and errors are printed.
    pub output: Output,
    sdk: SdkConfig,
    args: ResourceArgs,
}

impl Context {
    /// The shared SDK configuration (standard AWS environment).
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The deployment's resources, resolved on first need (a command that
    /// fails on its input never calls CloudFormation).
    pub async fn resources(&self) -> Result<Resources, AdminError> {
        Resources::resolve(&self.args, &self.sdk).await
    }

    /// Every resource of the stack (for commands that walk all queues,
    /// alarms or schedules).
    pub async fn stack_resources(&self) -> Result<stack::StackResources, AdminError> {
        stack::StackResources::load(&self.args, &self.sdk).await
    }

    /// The `--stack` name, if given.
    pub fn stack_name(&self) -> Option<&str> {
        self.args.stack.as_deref()
    }

    /// The billing table's store.
    pub async fn store(&self) -> Result<BillingStore, AdminError> {
        let resources = self.resources().await?;
        Ok(BillingStore::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            resources.table,
        ))
    }
}

/// The seller a command works on: `--entity`, else `BILLING_ENTITY_ID`,
/// else `default`.
pub(crate) fn entity_id(given: Option<String>) -> billing_domain::ids::BillingEntityId {
    billing_domain::ids::BillingEntityId::new(given.unwrap_or_else(|| {
        billing_lambda::config::optional("BILLING_ENTITY_ID").unwrap_or_else(|| "default".into())
    }))
}

/// Runs one parsed command.
pub async fn dispatch(command: Command, context: &Context) -> Result<(), AdminError> {
    match command {
        Command::Entity(command) => entity::run(command, context).await,
        Command::Accounts(command) => accounts::run(command, context).await,
        Command::Contracts(command) => contracts::run(command, context).await,
        Command::Mandates(command) => mandates::run(command, context).await,
        Command::Run(command) => run::run(command, context).await,
        Command::Invoices(command) => invoices::run(command, context).await,
        Command::Periods(command) => periods::run(command, context).await,
        Command::Oss(command) => oss::run(command, context).await,
        Command::Queues(command) => queues::run(command, context).await,
        Command::Doctor(args) => doctor::run(args, context).await,
    }
}

/// The binary: parse (clap exits 2 on usage errors, 0 on `--help`), run,
/// print, and exit with the documented code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output::new(cli.json);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output.error(&AdminError::Usage(format!("cannot start: {e}")));
            return ExitCode::from(error::exit::AWS);
        }
    };
    let result = runtime.block_on(async {
        let context = Context {
            output,
            sdk: aws_config::defaults(BehaviorVersion::latest()).load().await,
            args: ResourceArgs {
                table: cli.table,
                stack: cli.stack,
            },
        };
        dispatch(cli.command, &context).await
    });
    match result {
        Ok(()) => ExitCode::from(error::exit::SUCCESS),
        Err(error) => {
            output.error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
