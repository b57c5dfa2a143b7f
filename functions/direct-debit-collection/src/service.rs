//! One collection step for one day, in three phases a rerun can resume:
//!
//! 1. [`CollectionService::claim`]: reads the `CollectionDue` index up to
//!    the first collection date a file sent today can request (D-1 on
//!    TARGET days), reads each invoice and its mandate again, puts what
//!    cannot be collected (no usable mandate, nothing open, an IBAN or BIC
//!    the bank file refuses) on the needs-attention list with the reason,
//!    and claims the rest into one batch per scheme for that date;
//! 2. [`CollectionService::write_file`]: seals a batch with its file's
//!    digest and stores the `pain.008.001.08` file in S3 (written to a
//!    temporary file first, so a big file is never held in memory);
//! 3. [`CollectionService::mark`]: marks the batch's invoices collected
//!    and the mandates' last collection.
//!
//! [`CollectionService::collect`] runs all three, and first finishes any
//! batch an earlier run left sealed or half-claimed, so a crash between
//! writing a file and marking its invoices never debits them again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use billing_domain::direct_debit::{
    CollectionRefusal, DirectDebitScheme, MandateChange, earliest_collection_date,
};
use billing_domain::ids::{BillingEntityId, InvoiceId};
use billing_domain::invoice::DirectDebitNotice;
use billing_domain::seller::BillingEntity;
use billing_sepa::{
    CollectionFileError, Creditor, DueCollection, check_collection, files_for, write_pain008,
};
use billing_store::{
    BatchState, BillingStore, CollectionBatch, CollectionCandidate, CollectionFileRecord,
    CollectionMember, StoreError, StoredMandate, keys,
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::CollectionError;

/// Which day to collect for: a day of the seller, or the schedule's time.
pub use billing_lambda::schedule::RequestedDay as CollectionDay;

/// A file a step wrote or found written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// The batch.
    pub batch_id: String,
    /// Its scheme.
    pub scheme: DirectDebitScheme,
    /// Its collection date.
    pub collection_date: NaiveDate,
    /// Key, digest, message id and totals.
    pub file: CollectionFileRecord,
}

/// What a step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionReport {
    /// Invoices the index listed as due.
    pub due: usize,
    /// Batches claimed into or resumed (their files are written next).
    pub batches: BTreeSet<String>,
    /// Files written or found written.
    pub files: Vec<WrittenFile>,
    /// Invoices marked collected now.
    pub collected: usize,
    /// Invoices put on the needs-attention list, with the reason.
    pub attention: Vec<(InvoiceId, String)>,
    /// Invoices left for a later file (claimed by another batch, or their
    /// date's file was sealed already).
    pub waiting: usize,
    /// Invoices with nothing left to collect, taken out of the index.
    pub dropped: usize,
}

/// The collection step over one billing table, seller and bucket.
#[derive(Debug)]
pub struct CollectionService {
    store: BillingStore,
    s3: aws_sdk_s3::Client,
    bucket: String,
    entity_id: BillingEntityId,
}

/// The temporary files of concurrent steps in one process never meet.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Invoices (with their mandates) read at once.
const READS_IN_FLIGHT: usize = 32;

/// Attempts to seal a batch while claims keep coming in.
const SEAL_ATTEMPTS: u32 = 10;

impl CollectionService {
    /// A step for `entity_id` (the template's `BILLING_ENTITY_ID`) that
    /// stores files in `bucket` (the documents bucket).
    pub fn new(
        store: BillingStore,
        s3: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        entity_id: BillingEntityId,
    ) -> Self {
        Self {
            store,
            s3,
            bucket: bucket.into(),
            entity_id,
        }
    }

    /// The whole step for `day`: claim, then write and mark every batch
    /// claimed into or left unfinished by an earlier run.
    pub async fn collect(
        &self,
        day: CollectionDay,
        now: DateTime<Utc>,
    ) -> Result<CollectionReport, CollectionError> {
        let mut report = self.claim(day, now).await?;
        let batches = report.batches.clone();
        for batch_id in &batches {
            if let Some(file) = self.write_file(batch_id).await? {
                report.files.push(file);
            }
            report.collected += self.mark(batch_id).await?;
        }
        Ok(report)
    }

    /// Phase 1: what is due, checked, refused to the attention list or
    /// claimed into batches; the batches to finish are in the report.
    pub async fn claim(
        &self,
        day: CollectionDay,
        now: DateTime<Utc>,
    ) -> Result<CollectionReport, CollectionError> {
        let entity = self.store.billing_entity(&self.entity_id).await?;
        let today = day.date_in(&entity.time_zone);
        let file_date = earliest_collection_date(today);
        let scan = self.store.collections_due(&entity.id, file_date).await?;
        let mut report = CollectionReport {
            due: scan.invoices.len(),
            ..CollectionReport::default()
        };
        if entity.direct_debit.is_none() {
            if !scan.invoices.is_empty() {
                self.store
                    .put_attention_note(
                        &entity.id,
                        "direct_debit_unconfigured",
                        "direct-debit invoices are due but the seller has no creditor identifier and collection account configured",
                        now,
                    )
                    .await?;
            }
            return Ok(report);
        }
        let mut by_scheme: BTreeMap<DirectDebitScheme, Vec<CollectionMember>> = BTreeMap::new();
        // The reads of the invoices and their mandates go out together (in
        // scan order); what they decide is written one by one.
        let mut reads = futures_util::stream::iter(scan.invoices)
            .map(|due| async move {
                let candidate = self.store.collection_candidate(&due.invoice_id).await?;
                let mandates = match &candidate {
                    Some(c) if c.claimed_by.is_none() => {
                        self.store.mandates(&c.payments.account_id).await?
                    }
                    _ => Vec::new(),
                };
                Ok::<_, StoreError>((due, candidate, mandates))
            })
            .buffered(READS_IN_FLIGHT);
        while let Some(read) = reads.next().await {
            let (due, candidate, mandates) = read?;
            let Some(candidate) = candidate else {
                continue;
            };
            if let Some(batch) = candidate.claimed_by {
                report.batches.insert(batch);
                continue;
            }
            let payments = &candidate.payments;
            // Cancelled or written off: no longer owed, nothing to tell.
            let settled = payments.cancelled || payments.written_off;
            let Some(notice) = candidate.invoice.content().direct_debit.clone() else {
                self.store.drop_from_collection(&due.invoice_id).await?;
                report.dropped += 1;
                continue;
            };
            if settled {
                self.store.drop_from_collection(&due.invoice_id).await?;
                report.dropped += 1;
                continue;
            }
            let stored = mandates.iter().find(|m| names(m, &notice));
            match member(&candidate, stored, file_date) {
                Ok(member) => by_scheme
                    .entry(member.mandate.scheme)
                    .or_default()
                    .push(member),
                Err(refusal) => {
                    self.refuse(&entity, &candidate, &refusal, now).await?;
                    report
                        .attention
                        .push((due.invoice_id.clone(), refusal.reason()));
                    if refusal.nothing_to_collect() {
                        self.store.drop_from_collection(&due.invoice_id).await?;
                        report.dropped += 1;
                    }
                }
            }
        }
        for (scheme, members) in by_scheme {
            let batch = self
                .store
                .open_collection_batch(&CollectionBatch::new(
                    &entity.id, scheme, file_date, today, now,
                ))
                .await?;
            if batch.state == BatchState::Open {
                let claimed = self
                    .store
                    .claim_for_collection(&batch.batch_id, &members)
                    .await?;
                report.waiting += members.len() - claimed.claimed.len();
                tracing::info!(
                    batch_id = %batch.batch_id,
                    scheme = scheme.code(),
                    claimed = claimed.claimed.len(),
                    taken = claimed.taken.len(),
                    sealed = claimed.sealed,
                    "invoices claimed for collection"
                );
            } else {
                report.waiting += members.len();
            }
            report.batches.insert(batch.batch_id);
        }
        Ok(report)
    }

    async fn refuse(
        &self,
        entity: &BillingEntity,
        candidate: &CollectionCandidate,
        refusal: &Refusal,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let invoice = &candidate.invoice;
        tracing::warn!(
            invoice_id = %invoice.content().id,
            reason = %refusal.reason(),
            "invoice left out of the collection file"
        );
        self.store
            .put_attention_note(
                &entity.id,
                &format!("direct_debit#{}", invoice.content().id),
                &format!(
                    "invoice {} is not collected by direct debit: {}",
                    invoice.number(),
                    refusal.reason()
                ),
                now,
            )
            .await
    }

    /// Phase 2: seals the batch with its file (if an earlier run did not)
    /// and stores the file in S3 (if it is not there with the same bytes).
    /// `None` for a batch nobody claimed anything into.
    pub async fn write_file(&self, batch_id: &str) -> Result<Option<WrittenFile>, CollectionError> {
        let entity = self.store.billing_entity(&self.entity_id).await?;
        let creditor = creditor(&entity).ok_or_else(|| CollectionError::File {
            batch_id: batch_id.to_owned(),
            source: CollectionFileError::Invalid {
                field: "billing_entity.direct_debit".to_owned(),
                message: "the seller has no creditor settings".to_owned(),
            },
        })?;
        for attempt in 0..SEAL_ATTEMPTS {
            if attempt > 0 {
                // A claim of another run is between its count and our read.
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(5))).await;
            }
            let batch = self
                .store
                .collection_batch(batch_id)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("collection batch {batch_id}"),
                })?;
            let members = self.store.collection_members(batch_id).await?;
            match batch.state {
                BatchState::Open => {
                    if u64::try_from(members.len()).ok() != Some(batch.members) {
                        continue;
                    }
                    if members.is_empty() {
                        return Ok(None);
                    }
                    let rendered = self.render(&batch, &members, &creditor)?;
                    if !self
                        .store
                        .seal_collection_batch(batch_id, batch.members, &rendered.record)
                        .await?
                    {
                        rendered.discard();
                        continue;
                    }
                    return self.store_file(&batch, rendered).await.map(Some);
                }
                BatchState::Sealed | BatchState::Collected => {
                    let sealed = batch.file.clone().ok_or_else(|| StoreError::Corrupt {
                        what: format!("collection batch {batch_id}"),
                        reason: "sealed without a file".to_owned(),
                    })?;
                    let rendered = self.render(&batch, &members, &creditor)?;
                    if rendered.record != sealed {
                        rendered.discard();
                        return Err(CollectionError::FileDiffers {
                            batch_id: batch_id.to_owned(),
                            reason: "written again from its members, the file differs from the one sealed".to_owned(),
                        });
                    }
                    return self.store_file(&batch, rendered).await.map(Some);
                }
            }
        }
        Err(StoreError::Contended {
            what: format!("collection batch {batch_id}"),
            attempts: SEAL_ATTEMPTS,
        }
        .into())
    }

    /// Phase 3: marks a sealed batch's invoices collected; answers how many
    /// were marked now (0 for a batch that is open or done).
    pub async fn mark(&self, batch_id: &str) -> Result<usize, CollectionError> {
        let Some(batch) = self.store.collection_batch(batch_id).await? else {
            return Ok(0);
        };
        if batch.state != BatchState::Sealed {
            return Ok(0);
        }
        let members = self.store.collection_members(batch_id).await?;
        let marked = self.store.mark_collected(&batch, &members).await?;
        tracing::info!(batch_id, marked, "collection batch marked collected");
        Ok(marked)
    }

    /// The file of `batch` from `members`, written to a temporary file
    /// while its digest is taken.
    fn render(
        &self,
        batch: &CollectionBatch,
        members: &[CollectionMember],
        creditor: &Creditor,
    ) -> Result<Rendered, CollectionError> {
        let failed = |source| CollectionError::File {
            batch_id: batch.batch_id.clone(),
            source,
        };
        let collections = members
            .iter()
            .map(|member| DueCollection {
                invoice_number: member.invoice_number.clone(),
                amount: member.amount,
                collection_date: batch.collection_date,
                mandate: member.mandate.clone(),
                language: member.language,
            })
            .collect();
        let file = files_for(collections)
            .into_iter()
            .next()
            .ok_or_else(|| failed(CollectionFileError::Empty))?;
        let path = std::env::temp_dir().join(format!(
            "collection-{}-{}-{}.xml",
            batch.batch_id,
            std::process::id(),
            TEMPORARY.fetch_add(1, Ordering::Relaxed)
        ));
        let mut out = HashingWriter {
            inner: std::io::BufWriter::new(std::fs::File::create(&path)?),
            hasher: Sha256::new(),
        };
        let written = write_pain008(
            &file,
            creditor,
            batch.billing_entity_id.as_str(),
            batch.sent_on,
            batch.created_at,
            &mut out,
        );
        let summary = match written {
            Ok(summary) => summary,
            Err(error) => {
                let _ = std::fs::remove_file(&path);
                return Err(failed(error));
            }
        };
        out.inner.flush()?;
        let sha256 = out.hasher.finalize();
        let key = format!(
            "collections/{}/{}/{}.xml",
            keys::object_key_segment(batch.billing_entity_id.as_str()),
            batch.collection_date,
            keys::object_key_segment(&summary.message_id)
        );
        Ok(Rendered {
            path,
            sha256_base64: aws_smithy_types::base64::encode(sha256.as_slice()),
            record: CollectionFileRecord {
                key,
                sha256: hex::encode(sha256),
                message_id: summary.message_id,
                transactions: u64::try_from(summary.transactions).unwrap_or(u64::MAX),
                control_sum: summary.control_sum,
            },
        })
    }

    /// Puts the rendered file under its key unless it is there: the same
    /// bytes there are fine (a rerun), other bytes are an error.
    async fn store_file(
        &self,
        batch: &CollectionBatch,
        rendered: Rendered,
    ) -> Result<WrittenFile, CollectionError> {
        let result = self.put(&rendered).await;
        rendered.discard();
        result?;
        Ok(WrittenFile {
            batch_id: batch.batch_id.clone(),
            scheme: batch.scheme,
            collection_date: batch.collection_date,
            file: rendered.record,
        })
    }

    async fn put(&self, rendered: &Rendered) -> Result<(), CollectionError> {
        let key = &rendered.record.key;
        let s3_error = |operation, error: String| CollectionError::S3 {
            operation,
            key: key.clone(),
            message: error,
        };
        let body = ByteStream::from_path(&rendered.path)
            .await
            .map_err(|e| s3_error("PutObject", e.to_string()))?;
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .content_type("application/xml")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(&rendered.sha256_base64)
            .metadata("sha256", &rendered.record.sha256)
            .metadata("message-id", &rendered.record.message_id)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
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
                    .map_err(|e| {
                        s3_error(
                            "HeadObject",
                            aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                        )
                    })?;
                let stored = head.metadata().and_then(|m| m.get("sha256"));
                if stored == Some(&rendered.record.sha256) {
                    Ok(())
                } else {
                    Err(CollectionError::FileDiffers {
                        batch_id: key.clone(),
                        reason: "S3 already holds other bytes under the file's key".to_owned(),
                    })
                }
            }
            Err(error) => Err(s3_error(
                "PutObject",
                aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
            )),
        }
    }
}

/// The seller as creditor, if it collects by direct debit.
fn creditor(entity: &BillingEntity) -> Option<Creditor> {
    let settings = entity.direct_debit.as_ref()?;
    Some(Creditor {
        name: entity.identity.legal_name.clone(),
        iban: settings.collection_account.iban.clone(),
        bic: settings.collection_account.bic.clone(),
        identifier: settings.creditor_identifier.clone(),
    })
}

/// Whether `stored` is the mandate the invoice's notice names (by its
/// reference and creditor identifier, now or before an amendment).
fn names(stored: &StoredMandate, notice: &DirectDebitNotice) -> bool {
    let mandate = &stored.mandate;
    let reference = mandate.reference == notice.mandate_reference
        || mandate.amendments.iter().any(|a| {
            matches!(&a.change, MandateChange::Reference { previous } if *previous == notice.mandate_reference)
        });
    let creditor = mandate.creditor_identifier == notice.creditor_identifier
        || mandate.amendments.iter().any(|a| {
            matches!(&a.change, MandateChange::Creditor { previous } if *previous == notice.creditor_identifier)
        });
    reference && creditor
}

/// Why an invoice stays out of the file.
#[derive(Debug)]
enum Refusal {
    /// A rule of the domain.
    Rule(CollectionRefusal),
    /// A value the bank file refuses (named by field, never shown).
    File(CollectionFileError),
}

impl Refusal {
    /// The words on the attention list (no bank values).
    fn reason(&self) -> String {
        match self {
            Self::Rule(rule) => rule.to_string(),
            Self::File(CollectionFileError::Refused { reason, .. }) => reason.to_string(),
            Self::File(CollectionFileError::Invalid { field, .. }) => {
                format!("{field} is not accepted in a SEPA file")
            }
            Self::File(other) => other.to_string(),
        }
    }

    /// Nothing open: the invoice leaves the index (a mandate problem can
    /// be fixed, and the invoice is collected the day after).
    fn nothing_to_collect(&self) -> bool {
        matches!(
            self,
            Self::Rule(CollectionRefusal::NothingOpen)
                | Self::File(CollectionFileError::Refused {
                    reason: CollectionRefusal::NothingOpen,
                    ..
                })
        )
    }
}

/// The file line of a candidate under its stored mandate, or why not.
fn member(
    candidate: &CollectionCandidate,
    stored: Option<&StoredMandate>,
    file_date: NaiveDate,
) -> Result<CollectionMember, Refusal> {
    let invoice = &candidate.invoice;
    let open = candidate.payments.summary.open;
    let Some(stored) = stored else {
        return Err(if open.is_positive() {
            Refusal::Rule(CollectionRefusal::NoMandate)
        } else {
            Refusal::Rule(CollectionRefusal::NothingOpen)
        });
    };
    let due = DueCollection {
        invoice_number: invoice.number().to_string(),
        amount: open,
        collection_date: file_date,
        mandate: stored.mandate.clone(),
        language: invoice.content().buyer.language,
    };
    check_collection(&due).map_err(Refusal::File)?;
    Ok(CollectionMember {
        invoice_id: invoice.content().id.clone(),
        invoice_number: due.invoice_number,
        account_id: candidate.payments.account_id.clone(),
        mandate_id: stored.mandate_id.clone(),
        amount: open,
        language: due.language,
        mandate: due.mandate,
    })
}

/// A rendered file waiting in a temporary file.
struct Rendered {
    path: PathBuf,
    sha256_base64: String,
    record: CollectionFileRecord,
}

impl Rendered {
    fn discard(&self) {
        remove(&self.path);
    }
}

fn remove(path: &Path) {
    if let Err(error) = std::fs::remove_file(path) {
        tracing::warn!(%error, "temporary collection file not removed");
    }
}

/// Writes through to `inner` and hashes what passes.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
