//! `oss summary`: what the seller declares for a quarter through the
//! One-Stop-Shop (§18j UStG), summed from the quarter's finalized invoices
//! and credit notes by the domain's [`billing_domain::oss::oss_summary`].

use billing_domain::ids::BillingEntityId;
use billing_domain::invoice::Invoice;
use billing_domain::oss::{OssSummary, Quarter, oss_summary};
use billing_store::{InvoiceFilter, MAX_PAGE_LIMIT, Page};
use clap::Subcommand;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};

/// `billing-admin oss ...`
#[derive(Debug, Subcommand)]
pub enum OssCommand {
    /// Sum a quarter's OSS invoices and credit notes per member state and
    /// rate: the figures of the quarterly OSS return (due by the end of the
    /// following month).
    ///
    /// Reads the seller's invoices issued in the quarter (the staff list by
    /// issue date, then each invoice), keeps those taxed under OSS, and sums
    /// taxable amount and VAT per country and rate; credit notes subtract,
    /// and one that corrects an earlier quarter's invoice is shown under
    /// that quarter (a correction reported in this return). Amounts are in
    /// the invoice currency; the return is in euros.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod oss summary 2026-Q1\n  billing-admin --json oss summary 2026-Q2 --entity default"))]
    Summary {
        /// The quarter, e.g. 2026-Q1.
        quarter: Quarter,
        /// The seller (default: BILLING_ENTITY_ID, else `default`).
        #[arg(long, value_name = "ID")]
        entity: Option<String>,
    },
}

/// Runs an `oss` command.
pub async fn run(command: OssCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        OssCommand::Summary { quarter, entity } => {
            let entity = BillingEntityId::new(entity.unwrap_or_else(|| {
                billing_lambda::config::optional("BILLING_ENTITY_ID")
                    .unwrap_or_else(|| "default".into())
            }));
            let invoices = issued_in(context, &entity, quarter).await?;
            let summary = oss_summary(quarter, &invoices)
                .map_err(|e| AdminError::Usage(format!("cannot sum {quarter}: {e}")))?;
            context.output.result(&summary, || human(&entity, &summary));
            Ok(())
        }
    }
}

/// Every invoice and credit note of `entity` issued in `quarter`: the
/// staff list by issue date (pages of 200), then each document itself,
/// since the list does not carry the tax treatment.
async fn issued_in(
    context: &Context,
    entity: &BillingEntityId,
    quarter: Quarter,
) -> Result<Vec<Invoice>, AdminError> {
    let store = context.store().await?;
    let filter = InvoiceFilter {
        status: None,
        issued_from: Some(quarter.first_day()),
        issued_to: Some(quarter.last_day()),
    };
    let mut page = Page::first(MAX_PAGE_LIMIT);
    let mut invoices = Vec::new();
    loop {
        let listed = store.entity_invoices(entity, &filter, &page).await?;
        for overview in &listed.items {
            if let Some(stored) = store.invoice(&overview.invoice_id).await? {
                invoices.push(stored.invoice);
            }
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(invoices),
        }
    }
}

fn human(entity: &BillingEntityId, summary: &OssSummary) -> String {
    if summary.rows.is_empty() {
        return format!("OSS {} of {entity}: no OSS invoices", summary.quarter);
    }
    let mut text = format!(
        "OSS {} of {entity}\nperiod   country  rate   taxable amount  VAT",
        summary.quarter
    );
    for row in &summary.rows {
        text.push_str(&format!(
            "\n{}  {:<7}  {:>4}%  {:>14}  {} ({} document{})",
            row.period,
            row.country,
            row.rate,
            row.taxable_amount.amount(),
            row.tax_amount,
            row.documents,
            if row.documents == 1 { "" } else { "s" }
        ));
    }
    text
}
