//! `accounts import`: the customers that imported contracts bill.

use std::collections::BTreeMap;
use std::path::PathBuf;

use billing_domain::accounting::{AccountNumber, AccountingSettings};
use billing_domain::direct_debit::{CreditorIdentifier, NewMandate};
use billing_domain::ids::BillingEntityId;
use billing_domain::party::CustomerAccount;
use billing_store::{AccountWrite, BillingStore, ImportWrite, StoreError, StoredMandate};
use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

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
    /// previous system (DATEV personal account), one of the seller's debtor
    /// accounts (accounting.debtor_accounts), recorded once and kept;
    /// without it the first export assigns the next free number of the
    /// seller's range. A different number for a customer that has one, or
    /// a number another customer holds, is refused. A new account is created
    /// (version 1), a changed one updated (only if nobody changed it since it
    /// was read), an identical one skipped, so re-running a file is safe.
    /// Every record is checked first (fields, validation, the billing entity
    /// exists, the currency of a stored account is unchanged); if any is
    /// refused, nothing is written.
    ///
    /// A record may carry `mandates`: SEPA mandates as the staff API's
    /// `POST /v1/accounts/{id}/mandates` takes them (reference, signed_on,
    /// scheme, usage, debtor_name, debtor_iban, optional debtor_bic,
    /// creditor_identifier (default: the seller's), last_collected_on,
    /// agreed_pre_notification_days). A mandate already stored with the
    /// same details is skipped; one stored with other details, or a
    /// reference another account holds, is refused (amend it through the
    /// staff API, which records the amendment).
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin accounts import tests/fixtures/contracts/accounts.json\n  billing-admin --stack billing-prod --json accounts import customers.json"))]
    Import {
        /// The JSON file: `[{"id": ..., "crm_id": ..., ...}, ...]`.
        file: PathBuf,
    },
}

/// Counts of what an account import did.
#[derive(Debug, Default, Serialize)]
struct AccountReport {
    created: usize,
    updated: usize,
    unchanged: usize,
    mandates_created: usize,
    mandates_unchanged: usize,
}

/// What an import writes: accounts first, then the new mandates (which
/// need their account stored).
#[derive(Debug, Default)]
struct Plan {
    accounts: Vec<AccountWrite>,
    mandates: Vec<StoredMandate>,
    mandates_unchanged: usize,
}

/// Runs an `accounts` command.
pub async fn run(command: AccountsCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        AccountsCommand::Import { file } => import(&JsonFile::read(&file)?, context).await,
    }
}

async fn import(file: &JsonFile, context: &Context) -> Result<(), AdminError> {
    let (without_debtors, debtor_values) = file.split_field("debtor_account")?;
    let (account_part, mandate_part) = without_debtors.split_field("mandates")?;
    let debtors = decode_debtor_accounts(file, &debtor_values);
    let decoded = account_part.decode_records(
        "account",
        "account.",
        |a: &CustomerAccount| a.id.clone(),
        CustomerAccount::validate,
    );
    let mandates = decode_mandates(file, &mandate_part);
    let (accounts, mandates, debtors) = match (decoded, mandates, debtors) {
        (Ok(accounts), Ok(mandates), Ok(debtors)) => (accounts, mandates, debtors),
        (Err(e @ AdminError::Refused { .. }), mandates, debtors) => {
            let AdminError::Refused { mut problems, .. } = e else {
                return Err(e);
            };
            problems.extend(mandates.err().unwrap_or_default());
            problems.extend(debtors.err().unwrap_or_default());
            return Err(file.refused(problems));
        }
        (Err(e), _, _) => return Err(e),
        (Ok(_), mandates, debtors) => {
            let mut problems = mandates.err().unwrap_or_default();
            problems.extend(debtors.err().unwrap_or_default());
            return Err(file.refused(problems));
        }
    };
    let store = context.store().await?;
    let plan = plan(file, &store, &accounts, &mandates, &debtors, context).await?;
    let writes = plan.accounts;
    let mut report = AccountReport {
        unchanged: accounts.len() - writes.len(),
        mandates_unchanged: plan.mandates_unchanged,
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
    for (account, number) in accounts.iter().zip(&debtors) {
        if let Some(number) = number {
            store
                .set_debtor_account(&account.billing_entity_id, &account.id, *number)
                .await?;
        }
    }
    let bar = context
        .output
        .progress(plan.mandates.len(), "writing mandates");
    for mandate in &plan.mandates {
        match store.create_mandate(mandate, None).await {
            Ok(()) => report.mandates_created += 1,
            // Given to someone since the check: re-running reads it again.
            Err(StoreError::Refused { what, .. }) => return Err(AdminError::Stale { what }),
            Err(e) => return Err(e.into()),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    context.output.result(&report, || {
        format!(
            "accounts: {} created, {} updated, {} unchanged; mandates: {} created, {} unchanged",
            report.created,
            report.updated,
            report.unchanged,
            report.mandates_created,
            report.mandates_unchanged
        )
    });
    Ok(())
}

/// Each record's `debtor_account` (none when absent): a positive whole
/// number; problems name record, field, line and column.
fn decode_debtor_accounts(
    file: &JsonFile,
    values: &[Option<Value>],
) -> Result<Vec<Option<u32>>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut decoded = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let number = value.as_ref().map(|value| {
            value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
        });
        if number == Some(None) {
            problems.push(
                file.problem(
                    &[Seg::Index(index), Seg::Key("debtor_account".into())],
                    "must be a debtor account number (a positive whole number)",
                )
                .record(format!("record {index}")),
            );
        }
        decoded.push(number.flatten());
    }
    if problems.is_empty() {
        Ok(decoded)
    } else {
        Err(problems)
    }
}

/// Each record's `mandates` (none when absent), decoded strictly; problems
/// name record, field, line and column.
fn decode_mandates(
    file: &JsonFile,
    values: &[Option<Value>],
) -> Result<Vec<Vec<NewMandate>>, Vec<crate::error::Problem>> {
    let mut problems = Vec::new();
    let mut decoded = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let Some(value) = value else {
            decoded.push(Vec::new());
            continue;
        };
        let base = [Seg::Index(index), Seg::Key("mandates".into())];
        match file.decode::<Vec<NewMandate>>(value, &base) {
            Ok(mandates) => decoded.push(mandates),
            Err(found) => {
                let name = format!("record {index}");
                problems.extend(found.into_iter().map(|p| p.record(name.clone())));
                decoded.push(Vec::new());
            }
        }
    }
    if problems.is_empty() {
        Ok(decoded)
    } else {
        Err(problems)
    }
}

/// Reads what is stored and decides each write; refuses what cannot change.
async fn plan(
    file: &JsonFile,
    store: &BillingStore,
    accounts: &[CustomerAccount],
    mandates: &[Vec<NewMandate>],
    debtors: &[Option<u32>],
    context: &Context,
) -> Result<Plan, AdminError> {
    let mut problems = Vec::new();
    // Per seller: `None` when not stored, else its creditor identifier.
    let mut entities: BTreeMap<BillingEntityId, Option<Option<CreditorIdentifier>>> =
        BTreeMap::new();
    // Per stored seller: its accounting settings (its debtor accounts).
    let mut accounting: BTreeMap<BillingEntityId, AccountingSettings> = BTreeMap::new();
    let mut writes = Vec::new();
    let mut plan = Plan::default();
    let mut references = std::collections::HashSet::new();
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let bar = context.output.progress(accounts.len(), "checking");
    for (index, account) in accounts.iter().enumerate() {
        let at = |field: &str| {
            file.problem(&[Seg::Index(index), Seg::Key(field.into())], "")
                .record(format!("record {index} (account {})", account.id))
        };
        if !entities.contains_key(&account.billing_entity_id) {
            let stored = match store.billing_entity(&account.billing_entity_id).await {
                Ok(entity) => {
                    accounting.insert(account.billing_entity_id.clone(), entity.accounting);
                    Some(entity.direct_debit.map(|d| d.creditor_identifier))
                }
                Err(StoreError::Corrupt { .. }) => Some(None),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            entities.insert(account.billing_entity_id.clone(), stored);
        }
        let creditor = entities.get(&account.billing_entity_id).cloned().flatten();
        if creditor.is_none() {
            problems.push(Problem {
                message: format!(
                    "no billing entity {} is stored; store it first with `billing-admin entity put`",
                    account.billing_entity_id
                ),
                ..at("billing_entity_id")
            });
        }
        // One of the seller's debtor accounts (length and range), the check
        // the CRM webhook and the booking journal apply too.
        if let Some(Some(number)) = debtors.get(index)
            && let Some(settings) = accounting.get(&account.billing_entity_id)
            && let Err(billing_domain::DomainError::Invalid { message, .. }) =
                AccountNumber::parse(&number.to_string(), "debtor_account")
                    .and_then(|debtor| settings.ensure_debtor(&debtor, "debtor_account"))
        {
            problems.push(Problem {
                message,
                ..at("debtor_account")
            });
        }
        if let Some(Some(number)) = debtors.get(index)
            && let Some(stored) = store.debtor_account(&account.id).await?
            && stored != *number
        {
            problems.push(Problem {
                message: format!(
                    "the customer has debtor account {stored}; a debtor account is assigned \
                     once and kept"
                ),
                ..at("debtor_account")
            });
        }
        let stored_account = store.account(&account.id).await?;
        let stored_mandates = match (&stored_account, mandates.get(index)) {
            (Some(_), Some(new)) if !new.is_empty() => store.mandates(&account.id).await?,
            _ => Vec::new(),
        };
        for (position, new) in mandates.get(index).into_iter().flatten().enumerate() {
            let base = [
                Seg::Index(index),
                Seg::Key("mandates".into()),
                Seg::Index(position),
            ];
            let name = format!("record {index} (account {}) mandate {position}", account.id);
            let seller = creditor.as_ref().and_then(Option::as_ref);
            let mandate = match new.clone().into_mandate(seller, today) {
                Ok(mandate) => mandate,
                Err(e) => {
                    problems.push(file.domain_problem(&base, "", &e).record(name));
                    continue;
                }
            };
            let mut reference_at = base.to_vec();
            reference_at.push(Seg::Key("reference".into()));
            let problem =
                |message: String| file.problem(&reference_at, message).record(name.clone());
            let creditor_id = mandate.creditor_identifier.as_str().to_owned();
            let reference = mandate.reference.as_str().to_owned();
            if !references.insert((creditor_id.clone(), reference.clone())) {
                problems.push(problem("appears twice in the file".to_owned()));
                continue;
            }
            let stored = stored_mandates.iter().find(|m| {
                m.mandate.creditor_identifier == mandate.creditor_identifier
                    && m.mandate.reference == mandate.reference
            });
            match stored {
                Some(stored) if stored.mandate.same_details(&mandate) => {
                    plan.mandates_unchanged += 1;
                }
                Some(_) => problems.push(problem(format!(
                    "is stored with other details; amend it through the staff API \
                     (PATCH /v1/accounts/{}/mandates/{reference}), which records the amendment",
                    account.id
                ))),
                None => match store
                    .mandate_reference_holder(&creditor_id, &reference)
                    .await?
                {
                    Some(holder) => problems.push(problem(format!(
                        "is already given to a mandate of account {holder} for creditor \
                         identifier {creditor_id}"
                    ))),
                    None => {
                        plan.mandates
                            .push(StoredMandate::new(account.id.clone(), mandate, now))
                    }
                },
            }
        }
        match stored_account {
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
        plan.accounts = writes;
        Ok(plan)
    } else {
        Err(file.refused(problems))
    }
}
