//! `contracts import`: subscription contracts from JSON or CSV, created or
//! amended idempotently per contract id.
//!
//! Three phases, so a refused file writes nothing: parse and validate every
//! record (domain rules included); read what is stored and check each
//! contract against it (the account exists and bills in the contract's
//! currency; an amendment keeps every billed period as invoiced); only then
//! write, one conditional put per contract (see `billing_store::import` for
//! what a failure half-way means: re-running the file is safe).

mod amend;
pub mod csv;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use billing_domain::DomainError;
use billing_domain::direct_debit::{CreditorIdentifier, first_usable_mandate};
use billing_domain::ids::AccountId;
use billing_domain::subscription::{PaymentMethod, Subscription};
use billing_store::{BillingStore, ImportWrite, SubscriptionChange, VersionedAccount};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP, Problem};
use crate::json::{JsonFile, Seg, parse_path};

use self::csv::CsvOrigin;

/// `billing-admin contracts ...`
#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// Create or amend contracts from a JSON or CSV file.
    ///
    /// JSON: an array of the domain's Subscription. CSV: one row per contract
    /// item with a header (columns below); rows with the same contract_id
    /// form one contract. Every record is checked before anything is written
    /// (fields, domain rules, the account exists and has the contract's
    /// currency); if any is refused, nothing is written (exit code 1).
    /// Per contract id: a new contract is created, an identical one left
    /// alone, a changed one amended; billing progress is kept, and an
    /// amendment that would change the start, price or quantity of a period
    /// already billed is refused.
    #[command(after_help = import_help())]
    Import {
        /// The file; `.csv` is read as CSV, anything else as JSON.
        file: PathBuf,
        /// Override the format the extension implies.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

fn import_help() -> String {
    let columns: String = csv::COLUMNS
        .iter()
        .map(|(name, required, what)| {
            let required = if *required { "*" } else { " " };
            format!("  {required}{name:<17} {what}\n")
        })
        .collect();
    format!(
        "CSV columns (* = a value is required):\n{columns}\n{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin contracts import tests/fixtures/contracts/contracts.csv\n  billing-admin --json contracts import contracts.json\n  billing-admin --stack billing-prod contracts import export.txt --format csv"
    )
}

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A JSON array of contracts (the domain's Subscription).
    Json,
    /// One row per contract item.
    Csv,
}

impl Format {
    fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Json,
        }
    }
}

/// Where a contract was read from, to locate problems found later.
enum Origin {
    Json(usize),
    Csv(CsvOrigin),
}

/// The parsed file, kept to locate problems.
enum Source {
    Json(JsonFile),
    Csv(String),
}

impl Source {
    fn name(&self) -> &str {
        match self {
            Source::Json(file) => &file.name,
            Source::Csv(name) => name,
        }
    }

    /// A problem at a domain-style field of one contract.
    fn problem(
        &self,
        contract: &Subscription,
        origin: &Origin,
        field: &str,
        message: String,
    ) -> Problem {
        let problem = match (self, origin) {
            (Source::Json(file), Origin::Json(index)) => {
                let mut path = vec![Seg::Index(*index)];
                path.extend(parse_path(field));
                file.problem(&path, message)
            }
            (_, Origin::Csv(origin)) => origin.problem(field, message),
            (Source::Csv(_), Origin::Json(_)) => Problem::new(message).field(field),
        };
        problem.record(format!("contract {}", contract.id))
    }

    fn refused(&self, problems: Vec<Problem>) -> AdminError {
        AdminError::Refused {
            file: self.name().to_owned(),
            problems,
        }
    }
}

/// What happened to each contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Created,
    Amended,
    Unchanged,
}

#[derive(Debug, Serialize)]
struct ContractOutcome {
    contract_id: String,
    account_id: String,
    outcome: Outcome,
}

#[derive(Debug, Default, Serialize)]
struct ImportReport {
    created: usize,
    amended: usize,
    unchanged: usize,
    contracts: Vec<ContractOutcome>,
}

/// Runs a `contracts` command.
pub async fn run(command: ContractsCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        ContractsCommand::Import { file, format } => {
            let (source, contracts) = match format.unwrap_or_else(|| Format::of(&file)) {
                Format::Json => read_json(&file)?,
                Format::Csv => (
                    Source::Csv(file.display().to_string()),
                    csv::read(&file)?
                        .into_iter()
                        .map(|(contract, origin)| (contract, Origin::Csv(origin)))
                        .collect(),
                ),
            };
            import(&source, contracts, context).await
        }
    }
}

/// A JSON array of contracts, each decoded strictly and validated.
fn read_json(path: &Path) -> Result<(Source, Vec<(Subscription, Origin)>), AdminError> {
    let file = JsonFile::read(path)?;
    let contracts = file.decode_records(
        "contract",
        "",
        |c: &Subscription| c.id.clone(),
        Subscription::validate,
    )?;
    let contracts = contracts
        .into_iter()
        .enumerate()
        .map(|(index, contract)| (contract, Origin::Json(index)))
        .collect();
    Ok((Source::Json(file), contracts))
}

async fn import(
    source: &Source,
    contracts: Vec<(Subscription, Origin)>,
    context: &Context,
) -> Result<(), AdminError> {
    let store = context.store().await?;
    let planned = plan(source, &store, contracts, context).await?;
    let mut report = ImportReport::default();
    let writes = planned.iter().filter(|p| p.change.is_some()).count();
    let bar = context.output.progress(writes, "writing");
    let now = chrono::Utc::now();
    for planned in &planned {
        let outcome = match &planned.change {
            None => Outcome::Unchanged,
            Some(change) => {
                let written = store
                    .import_subscription(change, &planned.billing_entity_id, now)
                    .await?;
                if written == ImportWrite::Stale {
                    return Err(AdminError::Stale {
                        what: format!("contract {}", planned.contract_id),
                    });
                }
                bar.inc(1);
                match change {
                    SubscriptionChange::Create(_) => Outcome::Created,
                    SubscriptionChange::Update { .. } => Outcome::Amended,
                }
            }
        };
        match outcome {
            Outcome::Created => report.created += 1,
            Outcome::Amended => report.amended += 1,
            Outcome::Unchanged => report.unchanged += 1,
        }
        report.contracts.push(ContractOutcome {
            contract_id: planned.contract_id.clone(),
            account_id: planned.account_id.to_string(),
            outcome,
        });
    }
    bar.finish_and_clear();
    context.output.result(&report, || {
        format!(
            "contracts: {} created, {} amended, {} unchanged",
            report.created, report.amended, report.unchanged
        )
    });
    Ok(())
}

/// What the import needs of a seller, read once per seller.
#[derive(Debug, Clone)]
struct Seller {
    /// Today in the seller's time zone: amendments take effect on it.
    today: chrono::NaiveDate,
    /// The seller's SEPA creditor identifier, if it collects.
    creditor: Option<CreditorIdentifier>,
}

async fn seller(
    store: &BillingStore,
    cache: &mut HashMap<billing_domain::ids::BillingEntityId, Seller>,
    id: &billing_domain::ids::BillingEntityId,
) -> Result<Seller, AdminError> {
    if let Some(seller) = cache.get(id) {
        return Ok(seller.clone());
    }
    let entity = store.billing_entity(id).await?;
    let seller = Seller {
        today: chrono::Utc::now()
            .with_timezone(&entity.time_zone)
            .date_naive(),
        creditor: entity.direct_debit.map(|s| s.creditor_identifier),
    };
    cache.insert(id.clone(), seller.clone());
    Ok(seller)
}

/// A contract on direct debit needs a mandate its runs can collect under,
/// chosen by the rule the run applies (`first_usable_mandate`, usable
/// today); otherwise why not, as the CRM webhook refuses such a deal.
async fn usable_mandate(
    store: &BillingStore,
    contract: &Subscription,
    seller: &Seller,
) -> Result<Result<(), String>, AdminError> {
    let Some(creditor) = &seller.creditor else {
        return Ok(Err(
            "the seller has no SEPA creditor settings (billing_entity.direct_debit)".to_owned(),
        ));
    };
    let stored = store.mandates(&contract.account_id).await?;
    let mandates = stored.iter().map(|m| &m.mandate);
    Ok(first_usable_mandate(creditor, mandates, |_| seller.today)
        .map(|_| ())
        .map_err(|DomainError::Invalid { message, .. }| {
            format!("{message}; import it first with `billing-admin accounts import`")
        }))
}

/// One contract's write, decided against what is stored.
struct Planned {
    contract_id: String,
    account_id: AccountId,
    billing_entity_id: billing_domain::ids::BillingEntityId,
    change: Option<SubscriptionChange>,
}

/// Phase two: every contract checked against the stored account and
/// contract; all problems, or the writes to make.
async fn plan(
    source: &Source,
    store: &BillingStore,
    contracts: Vec<(Subscription, Origin)>,
    context: &Context,
) -> Result<Vec<Planned>, AdminError> {
    let mut accounts: HashMap<AccountId, Option<VersionedAccount>> = HashMap::new();
    // Each seller's today (in its time zone): amendments take effect on it.
    let mut entities: HashMap<billing_domain::ids::BillingEntityId, Seller> = HashMap::new();
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    let bar = context.output.progress(contracts.len(), "checking");
    for (mut contract, origin) in contracts {
        bar.inc(1);
        if !accounts.contains_key(&contract.account_id) {
            let stored = store.account(&contract.account_id).await?;
            accounts.insert(contract.account_id.clone(), stored);
        }
        let mut refuse = |field: &str, message: String| {
            problems.push(source.problem(&contract, &origin, field, message));
        };
        let Some(Some(account)) = accounts.get(&contract.account_id) else {
            refuse(
                "account_id",
                format!(
                    "no account {} is stored; import it first with `billing-admin accounts import`",
                    contract.account_id
                ),
            );
            continue;
        };
        if account.account.currency != contract.currency {
            refuse(
                "currency",
                format!(
                    "the account bills in {}; a contract must be in its account's currency",
                    account.account.currency
                ),
            );
            continue;
        }
        let billing_entity_id = account.account.billing_entity_id.clone();
        if contract.payment_method == PaymentMethod::DirectDebit {
            let seller = seller(store, &mut entities, &billing_entity_id).await?;
            if let Err(message) = usable_mandate(store, &contract, &seller).await? {
                refuse("payment_method", message);
                continue;
            }
        }
        let stored = store
            .subscription(&contract.account_id, &contract.id)
            .await?;
        let change = match stored {
            None => Some(SubscriptionChange::Create(contract.clone())),
            Some(stored) => {
                let today = seller(store, &mut entities, &billing_entity_id)
                    .await?
                    .today;
                let refusals = amend::carry_progress(&stored.subscription, &mut contract, today);
                if !refusals.is_empty() {
                    for refusal in refusals {
                        problems.push(source.problem(
                            &contract,
                            &origin,
                            &refusal.field,
                            refusal.message,
                        ));
                    }
                    continue;
                }
                if let Err(DomainError::Invalid { field, message }) = contract.validate() {
                    problems.push(source.problem(&contract, &origin, &field, message));
                    continue;
                }
                (contract != stored.subscription).then(|| SubscriptionChange::Update {
                    subscription: contract.clone(),
                    expected_version: stored.version,
                })
            }
        };
        planned.push(Planned {
            contract_id: contract.id.to_string(),
            account_id: contract.account_id.clone(),
            billing_entity_id,
            change,
        });
    }
    bar.finish_and_clear();
    if problems.is_empty() {
        Ok(planned)
    } else {
        Err(source.refused(problems))
    }
}
