//! `accounts import`: the customers that imported contracts bill.

use std::collections::BTreeMap;
use std::path::PathBuf;

use billing_domain::ids::BillingEntityId;
use billing_domain::party::CustomerAccount;
use billing_store::{AccountWrite, BillingStore, ImportWrite, StoreError};
use clap::Subcommand;
use serde::Serialize;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP, Problem};
use crate::json::{JsonFile, Seg};

/// `billing-admin accounts ...`
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create or update customer accounts from a JSON array of accounts.
    ///
    /// Each record is the domain's CustomerAccount, optionally with
    /// `debtor_account`: the customer's debtor account number from the
    /// previous system (DATEV personal account), recorded once and kept;
    /// without it the first export assigns the next free number of the
    /// seller's range. A different number for a customer that has one, or
    /// a number another customer holds, is refused. A new account is created
    /// (version 1), a changed one updated (only if nobody changed it since it
    /// was read), an identical one skipped, so re-running a file is safe.
    /// Every record is checked first (fields, validation, the billing entity
    /// exists, the currency of a stored account is unchanged); if any is
    /// refused, nothing is written.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin accounts import tests/fixtures/contracts/accounts.json\n  billing-admin --stack billing-prod --json accounts import customers.json"))]
    Import {
        /// The JSON file: `[{"id": ..., "crm_id": ..., ...}, ...]`.
        file: PathBuf,
    },
}

/// One record of an account file: the account, and its debtor account
/// number when the previous system had one.
#[derive(Debug, Clone)]
struct ImportedAccount {
    account: CustomerAccount,
    debtor_account: Option<u32>,
}

/// Counts of what an account import did.
#[derive(Debug, Default, Serialize)]
struct AccountReport {
    created: usize,
    updated: usize,
    unchanged: usize,
}

/// Runs an `accounts` command.
pub async fn run(command: AccountsCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        AccountsCommand::Import { file } => import(JsonFile::read(&file)?, context).await,
    }
}

async fn import(mut file: JsonFile, context: &Context) -> Result<(), AdminError> {
    let file = &mut file;
    let debtors = file.take_record_field("debtor_account");
    let mut problems = Vec::new();
    let debtors: Vec<Option<u32>> = debtors
        .iter()
        .enumerate()
        .map(|(index, value)| match value {
            None => None,
            Some(value) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .or_else(|| {
                    problems.push(
                        file.problem(
                            &[Seg::Index(index), Seg::Key("debtor_account".into())],
                            "must be a debtor account number (a positive whole number)",
                        )
                        .record(format!("record {index}")),
                    );
                    None
                }),
        })
        .collect();
    let accounts = match file.decode_records(
        "account",
        "account.",
        |a: &CustomerAccount| a.id.clone(),
        CustomerAccount::validate,
    ) {
        Ok(accounts) => accounts,
        Err(AdminError::Refused {
            problems: found, ..
        }) => {
            problems.extend(found);
            return Err(file.refused(problems));
        }
        Err(other) => return Err(other),
    };
    if !problems.is_empty() {
        return Err(file.refused(problems));
    }
    let records: Vec<ImportedAccount> = accounts
        .iter()
        .zip(debtors.into_iter().chain(std::iter::repeat(None)))
        .map(|(account, debtor_account)| ImportedAccount {
            account: account.clone(),
            debtor_account,
        })
        .collect();
    let file = &*file;
    let store = context.store().await?;
    let writes = plan(file, &store, &records, context).await?;
    let mut report = AccountReport {
        unchanged: accounts.len() - writes.len(),
        ..AccountReport::default()
    };
    let bar = context.output.progress(writes.len(), "writing");
    let now = chrono::Utc::now();
    for write in &writes {
        match store.import_account(write, now).await? {
            ImportWrite::Written => {}
            ImportWrite::Stale => {
                let account = match write {
                    AccountWrite::Create(account) | AccountWrite::Update { account, .. } => account,
                };
                return Err(AdminError::Stale {
                    what: format!("account {}", account.id),
                });
            }
        }
        match write {
            AccountWrite::Create(_) => report.created += 1,
            AccountWrite::Update { .. } => report.updated += 1,
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    for record in &records {
        if let Some(number) = record.debtor_account {
            let account = &record.account;
            store
                .set_debtor_account(&account.billing_entity_id, &account.id, number)
                .await?;
        }
    }
    context.output.result(&report, || {
        format!(
            "accounts: {} created, {} updated, {} unchanged",
            report.created, report.updated, report.unchanged
        )
    });
    Ok(())
}

/// Reads what is stored and decides each write; refuses what cannot change.
async fn plan(
    file: &JsonFile,
    store: &BillingStore,
    records: &[ImportedAccount],
    context: &Context,
) -> Result<Vec<AccountWrite>, AdminError> {
    let mut problems = Vec::new();
    let mut entities: BTreeMap<BillingEntityId, bool> = BTreeMap::new();
    let mut writes = Vec::new();
    let bar = context.output.progress(records.len(), "checking");
    for (index, record) in records.iter().enumerate() {
        let account = &record.account;
        let at = |field: &str| {
            file.problem(&[Seg::Index(index), Seg::Key(field.into())], "")
                .record(format!("record {index} (account {})", account.id))
        };
        if !entities.contains_key(&account.billing_entity_id) {
            let exists = match store.billing_entity(&account.billing_entity_id).await {
                Ok(_) | Err(StoreError::Corrupt { .. }) => true,
                Err(StoreError::NotFound { .. }) => false,
                Err(e) => return Err(e.into()),
            };
            entities.insert(account.billing_entity_id.clone(), exists);
        }
        if entities.get(&account.billing_entity_id) == Some(&false) {
            problems.push(Problem {
                message: format!(
                    "no billing entity {} is stored; store it first with `billing-admin entity put`",
                    account.billing_entity_id
                ),
                ..at("billing_entity_id")
            });
        }
        if let Some(number) = record.debtor_account
            && let Some(stored) = store.debtor_account(&account.id).await?
            && stored != number
        {
            problems.push(Problem {
                message: format!(
                    "the customer has debtor account {stored}; a debtor account is assigned \
                     once and kept"
                ),
                ..at("debtor_account")
            });
        }
        match store.account(&account.id).await? {
            None => writes.push(AccountWrite::Create(account.clone())),
            Some(stored) if stored.account == *account => {}
            Some(stored) if stored.account.currency != account.currency => problems.push(Problem {
                message: format!(
                    "the stored account bills in {}; an account's currency cannot change",
                    stored.account.currency
                ),
                ..at("currency")
            }),
            Some(stored) => writes.push(AccountWrite::Update {
                account: account.clone(),
                expected_version: stored.version,
                expected_revision: stored.revision,
            }),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if problems.is_empty() {
        Ok(writes)
    } else {
        Err(file.refused(problems))
    }
}
