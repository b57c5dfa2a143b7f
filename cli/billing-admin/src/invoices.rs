//! `invoices write-off`: the clerk action for an uncollectible invoice,
//! the same store change as the staff API's
//! `POST /v1/invoices/{id}/write-off` (one transaction with its audit
//! entry, conditioned on the revision read).

use billing_domain::ids::InvoiceId;
use billing_domain::staff::StaffRole;
use billing_store::{Actor, InvoiceChange, InvoiceStatus, WriteOff};
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};

/// `billing-admin invoices ...`
#[derive(Debug, Subcommand)]
pub enum InvoicesCommand {
    /// Write off what is open of an uncollectible invoice: it leaves
    /// dunning and the aging, and the journal books the bad debt with the
    /// VAT correction of §17 UStG in the period of today. Only an open or
    /// partly paid invoice; refused (exit 1) for a paid, cancelled or
    /// written-off one, and when it changed since --revision.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin invoices write-off inv_123 --reason \"insolvency proceedings closed without assets\"\n  billing-admin --json invoices write-off inv_123 --reason \"...\" --revision 3"))]
    WriteOff {
        /// The invoice id.
        invoice_id: String,
        /// Why it is uncollectible (kept on the invoice and in the audit
        /// trail; at most 500 characters).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The revision you saw (the staff API's ETag `r<N>`); default:
        /// the revision read now.
        #[arg(long, value_name = "N")]
        revision: Option<u64>,
    },
}

/// Runs an `invoices` command.
pub async fn run(command: InvoicesCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        InvoicesCommand::WriteOff {
            invoice_id,
            reason,
            revision,
        } => {
            let reason = reason.trim().to_owned();
            if reason.is_empty() || reason.chars().count() > 500 {
                return Err(AdminError::Usage(
                    "--reason: must be 1 to 500 characters".into(),
                ));
            }
            let store = context.store().await?;
            let id = InvoiceId::new(&invoice_id);
            let read =
                store
                    .invoice_for_change(&id)
                    .await?
                    .ok_or_else(|| AdminError::NotFound {
                        what: format!("invoice {id}"),
                    })?;
            let invoice = &read.overview;
            let today = Utc::now()
                .with_timezone(
                    &store
                        .billing_entity(&invoice.billing_entity_id)
                        .await?
                        .time_zone,
                )
                .date_naive();
            let write_off = WriteOff {
                on: today,
                amount: invoice.open_amount,
                reason,
                by: crate::run::operator(),
                recorded_at: Utc::now(),
            };
            let entry = write_off.audit_entry(
                invoice,
                Actor {
                    user: crate::run::operator(),
                    role: StaffRole::Billing,
                },
            );
            let expected = revision.unwrap_or(invoice.revision);
            let revision = store
                .change_invoice(
                    &read,
                    expected,
                    &InvoiceChange::WriteOff(write_off.clone()),
                    &entry,
                )
                .await?;
            let result = json!({
                "invoice_id": id,
                "status": InvoiceStatus::WrittenOff,
                "written_off": write_off.amount,
                "on": write_off.on,
                "revision": revision,
            });
            context.output.result(&result, || {
                format!(
                    "invoice {id} written off: {} on {} (revision {revision})",
                    write_off.amount, write_off.on
                )
            });
            Ok(())
        }
    }
}
