//! Booking periods per seller: a calendar month in the seller's time zone
//! is closed, exported and then locked (GoBD: nothing changes after the
//! handover). The staff API (`billing` role) and `billing-admin periods`
//! share this one implementation.
//!
//! - **Close** ([`Periods::close`]): only a month that has ended in the
//!   seller's time zone. The period item records `locked_at`; from then
//!   on, anything recorded that concerns the month (a payment with a value
//!   date in it, a return) books into the next open period
//!   (`billing_domain::journal`'s `period_for`), so the month's journal
//!   never changes again.
//! - **Export** ([`Periods::export`]): closes the month if it is still open,
//!   builds its journal from the store (what was recorded before
//!   `locked_at`), writes it as DATEV EXTF Buchungsstapel and
//!   Debitoren/Kreditoren (`billing_accounting::datev`) and as a CSV
//!   journal, stores the three files in the archive bucket under
//!   `accounting/<seller>/<YYYY-MM>/` (`If-None-Match: *`, SHA-256
//!   checked), each locked until ten years after the end of the month's
//!   year (books and records, §147(1) Nr. 1, (3), (4) AO; in the bucket's
//!   lock mode), and records them on the period item. The files are a pure
//!   function of the stored state (their creation time is `locked_at`), so
//!   two concurrent exports write the same bytes and the first record wins.
//! - **Fetch** ([`Periods::file`]): the stored bytes, checked against the
//!   recorded SHA-256, never regenerated.
#![warn(missing_docs)]

pub mod error;
mod events;
mod export;

use std::fmt;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockMode, ObjectLockRetentionMode};
use billing_domain::ids::{AccountId, BillingEntityId};
use billing_domain::retention::{LockMode, Retention};
use billing_domain::revenue::Month;
use billing_domain::seller::BillingEntity;
use billing_store::{Actor, AuditEntry, BillingStore, BookingPeriodRecord, ExportedFile};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

pub use crate::error::PeriodError;

/// A `YYYY-MM` month as the caller wrote it, or an error naming `month`.
pub fn parse_month(text: &str) -> Result<Month, PeriodError> {
    text.parse().map_err(|_| PeriodError::Invalid {
        field: "month",
        message: "must be a calendar month YYYY-MM".to_owned(),
    })
}

/// The files of an export, in the order they are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFileKind {
    /// DATEV EXTF Buchungsstapel (category 21): the bookings.
    Buchungsstapel,
    /// DATEV EXTF Debitoren/Kreditoren (category 16): the customers the
    /// period touches, with their debtor accounts.
    Debitoren,
    /// The plain CSV journal (UTF-8, one row per booking line) for other
    /// ERPs.
    Journal,
}

impl ExportFileKind {
    /// Every file of an export.
    pub const ALL: [ExportFileKind; 3] = [
        ExportFileKind::Buchungsstapel,
        ExportFileKind::Debitoren,
        ExportFileKind::Journal,
    ];

    /// The name used in routes and on the period item.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFileKind::Buchungsstapel => "buchungsstapel",
            ExportFileKind::Debitoren => "debitoren",
            ExportFileKind::Journal => "journal",
        }
    }

    /// A kind by its name, or an error naming `file`.
    pub fn parse(name: &str) -> Result<Self, PeriodError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| PeriodError::Invalid {
                field: "file",
                message: "must be buchungsstapel, debitoren or journal".to_owned(),
            })
    }

    /// Media type with the encoding: DATEV reads Windows-1252.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFileKind::Buchungsstapel | ExportFileKind::Debitoren => {
                "text/csv; charset=windows-1252"
            }
            ExportFileKind::Journal => "text/csv; charset=utf-8",
        }
    }

    /// The file name: DATEV wants `EXTF_` in front of its files.
    pub fn file_name(self, entity: &BillingEntityId, month: Month) -> String {
        let entity = billing_store::keys::object_key_segment(entity.as_str());
        match self {
            ExportFileKind::Buchungsstapel => format!("EXTF_Buchungsstapel_{entity}_{month}.csv"),
            ExportFileKind::Debitoren => format!("EXTF_Debitoren_{entity}_{month}.csv"),
            ExportFileKind::Journal => format!("Journal_{entity}_{month}.csv"),
        }
    }
}

impl fmt::Display for ExportFileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The archive key of an export file: per seller and period.
pub fn export_key(entity: &BillingEntityId, month: Month, kind: ExportFileKind) -> String {
    format!(
        "accounting/{}/{month}/{}",
        billing_store::keys::object_key_segment(entity.as_str()),
        kind.file_name(entity, month)
    )
}

/// Changes that concern the seller rather than a customer are audited
/// under this pseudo-account (as the staff API's configuration warnings).
pub fn entity_account(entity: &BillingEntityId) -> AccountId {
    AccountId::new(format!("entity-{entity}"))
}

/// Booking periods of the sellers in one billing table, with the archive
/// bucket their exports are stored in.
#[derive(Debug, Clone)]
pub struct Periods {
    store: BillingStore,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl Periods {
    /// Periods on `store`, exports in `bucket` (the template's
    /// `DOCUMENTS_BUCKET`, the Object Lock archive).
    pub fn new(store: BillingStore, s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            store,
            s3,
            bucket: bucket.into(),
        }
    }

    /// The seller, or [`billing_store::StoreError::NotFound`] naming it.
    async fn seller(&self, entity: &BillingEntityId) -> Result<BillingEntity, PeriodError> {
        Ok(self.store.billing_entity(entity).await?)
    }

    /// A period as stored (open when nothing is).
    pub async fn show(
        &self,
        entity: &BillingEntityId,
        month: Month,
    ) -> Result<BookingPeriodRecord, PeriodError> {
        self.seller(entity).await?;
        Ok(self
            .store
            .booking_period(entity, &month.to_string())
            .await?)
    }

    /// Closes the month (see the crate documentation); refused before it
    /// has ended in the seller's time zone, or when it is closed already.
    pub async fn close(
        &self,
        entity: &BillingEntityId,
        month: Month,
        actor: &Actor,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<BookingPeriodRecord, PeriodError> {
        let seller = self.seller(entity).await?;
        ensure_ended(&seller, month, now)?;
        self.lock(entity, month, actor, reason, now, false).await
    }

    async fn lock(
        &self,
        entity: &BillingEntityId,
        month: Month,
        actor: &Actor,
        reason: Option<&str>,
        now: DateTime<Utc>,
        already_closed_ok: bool,
    ) -> Result<BookingPeriodRecord, PeriodError> {
        let audit = AuditEntry {
            actor: actor.clone(),
            at: now,
            action: "period.close".to_owned(),
            invoice_id: None,
            account_id: entity_account(entity),
            reason: reason.map(str::to_owned),
            change: serde_json::json!({"period": month, "before": {"status": "open"},
                                       "after": {"status": "closed"}}),
        };
        Ok(self
            .store
            .close_booking_period(entity, &month.to_string(), &audit, already_closed_ok)
            .await?)
    }

    /// Exports the month (closing it first if it is open): the stored
    /// period with its files. An exported month is answered as stored.
    pub async fn export(
        &self,
        entity: &BillingEntityId,
        month: Month,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<BookingPeriodRecord, PeriodError> {
        let seller = self.seller(entity).await?;
        ensure_ended(&seller, month, now)?;
        let settings = export::settings(&seller)?;
        let period = self.lock(entity, month, actor, None, now, true).await?;
        if period.export.is_some() {
            return Ok(period);
        }
        let locked_at = period.locked_at.ok_or_else(|| PeriodError::Refused {
            what: format!("booking period {month}"),
            reason: "it is not closed".to_owned(),
        })?;
        let built = export::build(&self.store, &seller, settings, month, locked_at).await?;
        // Books and records: locked ten years after the end of the year
        // of the month's last entry (§147(1) Nr. 1, (3), (4) AO).
        let books = Retention::for_books(self.lock_mode().await?);
        let locked_until = books.locked_until(month.last_day());
        let mut files = Vec::with_capacity(built.files.len());
        for (kind, bytes) in built.files {
            let key = export_key(entity, month, kind);
            let sha256 = self
                .put_once(
                    &key,
                    kind.content_type(),
                    &bytes,
                    books.mode(),
                    locked_until,
                )
                .await?;
            files.push(ExportedFile {
                kind: kind.as_str().to_owned(),
                file_name: kind.file_name(entity, month),
                key,
                sha256,
                content_type: kind.content_type().to_owned(),
                bytes: bytes.len() as u64,
            });
        }
        let export = billing_store::PeriodExport {
            exported_at: now,
            by: actor.clone(),
            bookings: built.bookings,
            files,
        };
        let audit = AuditEntry {
            actor: actor.clone(),
            at: now,
            action: "period.export".to_owned(),
            invoice_id: None,
            account_id: entity_account(entity),
            reason: None,
            change: serde_json::json!({"period": month, "before": {"status": "closed"},
                                       "after": {"status": "exported",
                                                 "bookings": export.bookings,
                                                 "files": export.files.iter()
                                                     .map(|f| (&f.key, &f.sha256))
                                                     .collect::<Vec<_>>()}}),
        };
        Ok(self
            .store
            .record_period_export(entity, &month.to_string(), &export, &audit)
            .await?)
    }

    /// One exported file, as stored: its record and its bytes (checked
    /// against the recorded SHA-256). Refused while the month is not
    /// exported.
    pub async fn file(
        &self,
        entity: &BillingEntityId,
        month: Month,
        kind: ExportFileKind,
    ) -> Result<(ExportedFile, Vec<u8>), PeriodError> {
        let period = self.show(entity, month).await?;
        let Some(file) = period
            .export
            .as_ref()
            .and_then(|export| export.files.iter().find(|f| f.kind == kind.as_str()))
            .cloned()
        else {
            return Err(PeriodError::Refused {
                what: format!("booking period {month}"),
                reason: "it is not exported yet".to_owned(),
            });
        };
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&file.key)
            .send()
            .await
            .map_err(|e| PeriodError::archive("GetObject", &file.key, &e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| PeriodError::Archive {
                operation: "GetObject",
                key: file.key.clone(),
                message: e.to_string(),
                retryable: true,
            })?
            .into_bytes()
            .to_vec();
        if hex::encode(Sha256::digest(&bytes)) != file.sha256 {
            return Err(PeriodError::DifferentFileArchived { key: file.key });
        }
        Ok((file, bytes))
    }

    /// The archive bucket's Object Lock mode (its default retention's), in
    /// which the books are locked: the template chooses it per stack
    /// (`DocumentRetentionMode`), so one setting governs every document.
    async fn lock_mode(&self) -> Result<LockMode, PeriodError> {
        let config = self
            .s3
            .get_object_lock_configuration()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| PeriodError::archive("GetObjectLockConfiguration", &self.bucket, &e))?;
        match config
            .object_lock_configuration()
            .and_then(|c| c.rule())
            .and_then(|r| r.default_retention())
            .and_then(|d| d.mode())
        {
            Some(ObjectLockRetentionMode::Compliance) => Ok(LockMode::Compliance),
            Some(ObjectLockRetentionMode::Governance) => Ok(LockMode::Governance),
            _ => Err(PeriodError::Archive {
                operation: "GetObjectLockConfiguration",
                key: self.bucket.clone(),
                message: "the archive bucket has no default Object Lock retention; \
                          the books cannot be locked"
                    .to_owned(),
                retryable: false,
            }),
        }
    }

    /// Stores `bytes` under `key` unless the same bytes are there; returns
    /// their hex SHA-256. Other bytes under the key are never replaced.
    /// Encryption is the bucket's default; the object is locked until
    /// `locked_until` (in the bucket's lock mode), not the bucket's default
    /// years from the upload, which are the eight of invoices.
    async fn put_once(
        &self,
        key: &str,
        content_type: &str,
        bytes: &[u8],
        mode: LockMode,
        locked_until: DateTime<Utc>,
    ) -> Result<String, PeriodError> {
        let lock_mode = match mode {
            LockMode::Governance => ObjectLockMode::Governance,
            LockMode::Compliance => ObjectLockMode::Compliance,
        };
        let digest = Sha256::digest(bytes);
        let sha256_hex = hex::encode(digest);
        let checksum = aws_smithy_types::base64::encode(digest.as_slice());
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .content_type(content_type)
            .object_lock_mode(lock_mode)
            .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                locked_until.timestamp(),
            ))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(&checksum)
            .metadata("sha256", &sha256_hex)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(sha256_hex),
            Err(err)
                if err
                    .as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                    == Some("PreconditionFailed") =>
            {
                let head = self
                    .s3
                    .head_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
                    .await
                    .map_err(|e| PeriodError::archive("HeadObject", key, &e))?;
                let same = match (
                    head.metadata().and_then(|m| m.get("sha256")),
                    head.checksum_sha256(),
                ) {
                    (Some(stored), _) => *stored == sha256_hex,
                    (None, Some(stored)) => stored == checksum,
                    (None, None) => false,
                };
                if same {
                    Ok(sha256_hex)
                } else {
                    Err(PeriodError::DifferentFileArchived {
                        key: key.to_owned(),
                    })
                }
            }
            Err(err) => Err(PeriodError::archive("PutObject", key, &err)),
        }
    }
}

/// Today in the seller's time zone.
pub fn seller_today(seller: &BillingEntity, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&seller.time_zone).date_naive()
}

/// A month can be closed or exported once its last day is over in the
/// seller's time zone.
fn ensure_ended(
    seller: &BillingEntity,
    month: Month,
    now: DateTime<Utc>,
) -> Result<(), PeriodError> {
    if month.last_day() < seller_today(seller, now) {
        Ok(())
    } else {
        Err(PeriodError::Refused {
            what: format!("booking period {month}"),
            reason: format!(
                "it has not ended yet in the seller's time zone ({}); only past months are \
                 closed or exported",
                seller.time_zone
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_files_are_named_or_refused_by_field() {
        assert_eq!(parse_month("2026-05").unwrap().to_string(), "2026-05");
        for bad in ["2026-13", "2026-5", "May", "", "2026-05-01"] {
            assert!(
                matches!(
                    parse_month(bad),
                    Err(PeriodError::Invalid { field: "month", .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            ExportFileKind::parse("debitoren").unwrap(),
            ExportFileKind::Debitoren
        );
        assert!(matches!(
            ExportFileKind::parse("../x"),
            Err(PeriodError::Invalid { field: "file", .. })
        ));
    }

    #[test]
    fn keys_are_per_seller_and_period_and_cannot_leave_their_folder() {
        let month = parse_month("2026-05").unwrap();
        assert_eq!(
            export_key(
                &BillingEntityId::new("de-gmbh"),
                month,
                ExportFileKind::Buchungsstapel
            ),
            "accounting/de-gmbh/2026-05/EXTF_Buchungsstapel_de-gmbh_2026-05.csv"
        );
        assert!(
            !export_key(
                &BillingEntityId::new("../x"),
                month,
                ExportFileKind::Journal
            )
            .contains("/../")
        );
    }
}
