//! `mandates list`: an account's SEPA mandates as stored, for an operator
//! checking an import or a customer's question.

use billing_domain::direct_debit::MandateStatus;
use billing_domain::ids::AccountId;
use billing_domain::privacy::mask_personal_data;
use clap::Subcommand;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};

/// `billing-admin mandates ...`
#[derive(Debug, Subcommand)]
pub enum MandatesCommand {
    /// List an account's SEPA mandates.
    ///
    /// One line per mandate: reference, creditor identifier, scheme, use,
    /// status, date of signature, last collection, the day it lapses
    /// unless collected on before, and the debited IBAN masked to its last
    /// four characters. `--json` prints the stored mandates whole (with
    /// the IBAN, for scripts that hand them on). Mandates are recorded by
    /// `accounts import` and changed through the staff API.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin mandates list --account acc_1\n  billing-admin --stack billing-prod --json mandates list --account acc_1"))]
    List {
        /// The account id.
        #[arg(long, value_name = "ID")]
        account: String,
    },
}

/// Runs a `mandates` command.
pub async fn run(command: MandatesCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        MandatesCommand::List { account } => {
            let id = AccountId::new(account);
            let store = context.store().await?;
            if store.account(&id).await?.is_none() {
                return Err(AdminError::NotFound {
                    what: format!("account {id}"),
                });
            }
            let mandates = store.mandates(&id).await?;
            context.output.result(&mandates, || {
                if mandates.is_empty() {
                    return format!("account {id}: no mandates");
                }
                mandates
                    .iter()
                    .map(|stored| {
                        let m = &stored.mandate;
                        let status = match &m.status {
                            MandateStatus::Active => "active".to_owned(),
                            MandateStatus::Blocked { since, .. } => format!("blocked since {since}"),
                            MandateStatus::Revoked { since } => format!("revoked since {since}"),
                        };
                        format!(
                            "{}  {}  {}  {:?}  {status}  signed {}  last collected {}  lapses {}  {}",
                            m.reference,
                            m.creditor_identifier,
                            m.scheme.code(),
                            m.usage,
                            m.signed_on,
                            m.last_collected_on
                                .map_or_else(|| "never".to_owned(), |d| d.to_string()),
                            m.lapses_on(),
                            mask_personal_data(m.debtor_iban.as_str()),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
    }
}
