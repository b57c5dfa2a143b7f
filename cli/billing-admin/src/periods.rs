//! `periods show|close|export`: a seller's booking periods (calendar
//! months in its time zone). The same use cases as the staff API's
//! `/v1/periods/...` routes ([`billing_periods::Periods`]): closing locks
//! the month (anything recorded later that concerns it books into the next
//! open period), exporting writes the month's journal as DATEV files and a
//! CSV journal into the archive bucket once, and a second export (or
//! `--out` again) returns the same bytes.

use std::path::PathBuf;

use billing_domain::ids::BillingEntityId;
use billing_domain::staff::StaffRole;
use billing_periods::{ExportFileKind, PeriodError, Periods, parse_month};
use billing_store::{Actor, BookingPeriodRecord};
use clap::Subcommand;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};

/// `billing-admin periods ...`
#[derive(Debug, Subcommand)]
pub enum PeriodsCommand {
    /// Show a booking period: open, closed (locked) or exported, with the
    /// exported files (key, SHA-256, size).
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin periods show 2026-05\n  billing-admin --json periods show 2026-05 --entity default"))]
    Show {
        /// The month, YYYY-MM.
        month: String,
        /// The seller (default: BILLING_ENTITY_ID, else `default`).
        #[arg(long, value_name = "ID")]
        entity: Option<String>,
    },
    /// Close (lock) a month that has ended in the seller's time zone:
    /// anything recorded afterwards that concerns it (a payment with a
    /// value date in it) books into the next open period. Refused when the
    /// month has not ended or is closed already.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin periods close 2026-05 --reason \"May complete\""))]
    Close {
        /// The month, YYYY-MM.
        month: String,
        /// The seller (default: BILLING_ENTITY_ID, else `default`).
        #[arg(long, value_name = "ID")]
        entity: Option<String>,
        /// Why, kept in the audit trail.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Export a month (closing it first if it is open): its journal as
    /// DATEV EXTF Buchungsstapel and Debitoren/Kreditoren and as a CSV
    /// journal, stored once in the archive bucket and recorded on the
    /// period. An exported month is not exported again: its stored files
    /// are returned. With --out, the files are also written to DIR.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod periods export 2026-05 --out handover/\n  billing-admin --json periods export 2026-05"))]
    Export {
        /// The month, YYYY-MM.
        month: String,
        /// The seller (default: BILLING_ENTITY_ID, else `default`).
        #[arg(long, value_name = "ID")]
        entity: Option<String>,
        /// Write the stored files (byte for byte) into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Runs a `periods` command.
pub async fn run(command: PeriodsCommand, context: &Context) -> Result<(), AdminError> {
    match command {
        PeriodsCommand::Show { month, entity } => {
            let month = parse_month(&month)?;
            let entity = crate::entity_id(entity);
            let period = periods(context).await?.show(&entity, month).await?;
            context.output.result(&period, || human(&period));
            Ok(())
        }
        PeriodsCommand::Close {
            month,
            entity,
            reason,
        } => {
            let month = parse_month(&month)?;
            let entity = crate::entity_id(entity);
            let period = periods(context)
                .await?
                .close(
                    &entity,
                    month,
                    &operator(),
                    reason.as_deref().map(str::trim).filter(|r| !r.is_empty()),
                    chrono::Utc::now(),
                )
                .await?;
            context.output.result(&period, || human(&period));
            Ok(())
        }
        PeriodsCommand::Export { month, entity, out } => {
            let month = parse_month(&month)?;
            let entity = crate::entity_id(entity);
            let periods = periods(context).await?;
            let period = periods
                .export(&entity, month, &operator(), chrono::Utc::now())
                .await?;
            if let Some(dir) = out {
                write_files(&periods, &entity, month, &dir, context).await?;
            }
            context.output.result(&period, || human(&period));
            Ok(())
        }
    }
}

/// The operator as the audit trail names them (billing role).
fn operator() -> Actor {
    Actor {
        user: crate::run::operator(),
        role: StaffRole::Billing,
    }
}

async fn periods(context: &Context) -> Result<Periods, AdminError> {
    let resources = context.resources().await?;
    let bucket = resources.documents_bucket.clone().ok_or_else(|| {
        AdminError::Usage("no archive bucket: pass --stack NAME or set DOCUMENTS_BUCKET".into())
    })?;
    Ok(Periods::new(
        context.store().await?,
        aws_sdk_s3::Client::new(context.sdk()),
        bucket,
    ))
}

/// Writes each stored file of the export into `dir`, as fetched (checked
/// against its recorded SHA-256).
async fn write_files(
    periods: &Periods,
    entity: &BillingEntityId,
    month: billing_domain::revenue::Month,
    dir: &std::path::Path,
    context: &Context,
) -> Result<(), AdminError> {
    std::fs::create_dir_all(dir).map_err(|e| AdminError::Unreadable {
        file: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let bar = context.output.progress(ExportFileKind::ALL.len(), "files");
    for kind in ExportFileKind::ALL {
        let (file, bytes) = periods.file(entity, month, kind).await?;
        let path = dir.join(&file.file_name);
        std::fs::write(&path, bytes).map_err(|e| AdminError::Unreadable {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

fn human(period: &BookingPeriodRecord) -> String {
    let status = match period.status {
        billing_store::PeriodStatus::Open => "open",
        billing_store::PeriodStatus::Closed => "closed",
        billing_store::PeriodStatus::Exported => "exported",
    };
    let mut text = format!(
        "period {} of {}: {status}",
        period.month, period.billing_entity_id
    );
    if let Some(at) = period.locked_at {
        text.push_str(&format!(", locked at {}", at.to_rfc3339()));
    }
    if let Some(export) = &period.export {
        text.push_str(&format!(
            "\n{} bookings, exported at {}",
            export.bookings,
            export.exported_at.to_rfc3339()
        ));
        for file in &export.files {
            text.push_str(&format!(
                "\n  {}  {} bytes  sha256 {}",
                file.key, file.bytes, file.sha256
            ));
        }
    }
    text
}

impl From<PeriodError> for AdminError {
    fn from(error: PeriodError) -> Self {
        match error {
            PeriodError::Store(store) => AdminError::Store(store),
            PeriodError::Invalid { field, message } => AdminError::Refused {
                file: "command line".to_owned(),
                problems: vec![crate::error::Problem::new(message).field(field)],
            },
            PeriodError::Refused { what, reason } => {
                AdminError::Store(billing_store::StoreError::Refused { what, reason })
            }
            PeriodError::Format { what, reason } => {
                AdminError::Store(billing_store::StoreError::Refused { what, reason })
            }
            other => AdminError::Aws {
                service: "S3",
                operation: "export",
                message: other.to_string(),
            },
        }
    }
}
