//! One delivery: claim the invoice, write the e-mail, send it, record it.
//!
//! # At least once, honestly
//!
//! The delivery queue delivers a request at least once, and the documents
//! function may send a second request for the same invoice after a crash.
//! What keeps a customer from getting the invoice twice:
//!
//! 1. **A settled invoice is never sent again.** Once the invoice records
//!    `sent` (or any later outcome, or `failed`), a request for it is
//!    acknowledged and nothing is sent.
//! 2. **One sender at a time.** Before sending, a worker claims the invoice
//!    with a conditional write (`delivery_status` absent → `sending`, with a
//!    token and a lease of [`CLAIM_LEASE`]). A second worker finds the claim
//!    and retries later; only the claim's holder can record `sent`.
//!
//! The remaining window: a worker that crashes (timeout, out of memory)
//! *after* SES accepted its message but *before* it wrote `sent` leaves the
//! claim `sending`. Two things bound what follows:
//!
//! - SES publishes a `Send` event for every accepted message, tagged with
//!   the invoice id; the delivery-events function records `sent` with that
//!   message id from it, typically within seconds;
//! - the claim is only taken over after its lease lapsed, by which time the
//!   `Send` event has normally settled the invoice.
//!
//! So a second e-mail goes out only if a worker dies in the milliseconds
//! between SES's answer and the status write *and* SES's event is delayed
//! beyond the lease; each such takeover is logged as a warning. No
//! duplicate is possible once `sent` is written. Nothing can close the
//! window entirely, because SES offers no idempotency key.

use billing_documents::mail::{MailAttachment, MailRecipients, MailTemplates, compose};
use billing_domain::ids::InvoiceId;
use billing_domain::party::EmailAddress;
use billing_lambda::Failure;
use billing_store::{
    BillingStore, DeliveryClaim, DeliveryRequest, DeliveryStatus, OutcomeRecorded, StoredInvoice,
    TroubleReport,
};
use chrono::{DateTime, Utc};

use crate::attachments::ArchivedFiles;
use crate::error::DeliveryError;
use crate::mailer::Mailer;

/// How long a claim holds. Longer than the function's timeout (30 s), so a
/// live worker never loses it, and long enough for SES's `Send` event to
/// settle the invoice if the worker died after sending.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// What a delivery request ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// SES accepted the e-mail and the invoice records it.
    Sent {
        /// SES's message id.
        message_id: String,
        /// How many addresses it went to.
        recipients: usize,
        /// Whether a lapsed claim was taken over (a possible duplicate).
        taken_over: bool,
    },
    /// SES accepted the e-mail, but the claim had lapsed and someone else
    /// recorded an outcome first.
    SentAfterClaimLapsed {
        /// SES's message id.
        message_id: String,
    },
    /// The invoice already had an outcome: nothing was sent.
    AlreadySettled(DeliveryStatus),
    /// It cannot be sent; the invoice records `failed` with the reason and
    /// is on the needs-attention list.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Everything a delivery needs, built once per cold start.
#[derive(Debug)]
pub struct DeliveryService {
    store: BillingStore,
    files: ArchivedFiles,
    mailer: Mailer,
    templates: MailTemplates,
}

impl DeliveryService {
    /// Wires the service from its parts.
    pub fn new(
        store: BillingStore,
        files: ArchivedFiles,
        mailer: Mailer,
        templates: MailTemplates,
    ) -> Self {
        Self {
            store,
            files,
            mailer,
            templates,
        }
    }

    /// Delivers the invoice a request names, at most once (see the module
    /// docs). `token` identifies this attempt's claim.
    pub async fn deliver(
        &self,
        request: &DeliveryRequest,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Delivered, DeliveryError> {
        let id = InvoiceId::parse(&request.invoice_id).map_err(|e| DeliveryError::BadRequest {
            reason: e.to_string(),
        })?;
        let stored =
            self.store
                .invoice(&id)
                .await?
                .ok_or_else(|| DeliveryError::UnknownInvoice {
                    invoice_id: id.to_string(),
                })?;
        if let Some(state) = stored.delivery.as_ref().filter(|s| s.status.is_settled()) {
            return Ok(Delivered::AlreadySettled(state.status));
        }
        let taken_over = match self
            .store
            .claim_delivery(&id, token, now, CLAIM_LEASE)
            .await?
        {
            DeliveryClaim::Claimed { taken_over } => taken_over,
            DeliveryClaim::Settled(state) => return Ok(Delivered::AlreadySettled(state.status)),
            DeliveryClaim::Busy { until } => {
                return Err(DeliveryError::InProgress {
                    invoice_id: id.to_string(),
                    until: until.to_rfc3339(),
                });
            }
        };
        if taken_over {
            tracing::warn!(
                invoice_id = %id,
                "a lapsed delivery claim was taken over; if its worker died after SES accepted the mail, the customer gets it twice"
            );
        }
        match self.send(&stored, request, now).await {
            Ok((message_id, recipients)) => {
                match self.store.record_sent(&id, token, &message_id, now).await? {
                    OutcomeRecorded::Recorded => Ok(Delivered::Sent {
                        message_id,
                        recipients,
                        taken_over,
                    }),
                    OutcomeRecorded::Superseded(_) => {
                        Ok(Delivered::SentAfterClaimLapsed { message_id })
                    }
                }
            }
            Err(error) if error.is_invoice_outcome() => {
                let reason = error.to_string();
                let report = TroubleReport {
                    invoice_id: id.clone(),
                    status: DeliveryStatus::Failed,
                    reason: reason.clone(),
                    at: now,
                    suppress: Vec::new(),
                };
                self.store
                    .record_delivery_trouble(&report, Some(token))
                    .await?;
                tracing::warn!(invoice_id = %id, code = error.code(), "invoice delivery failed for good");
                Ok(Delivered::Failed { reason })
            }
            Err(error) => {
                // A passing fault: give the claim back so the retry need not
                // wait for the lease. If that fails too, the lease runs out.
                if let Err(release) = self.store.release_delivery(&id, token).await {
                    tracing::warn!(invoice_id = %id, error = %release, "could not release the delivery claim");
                }
                Err(error)
            }
        }
    }

    /// Reads the addresses and files, writes the e-mail and sends it.
    /// Returns SES's message id and the number of recipients.
    async fn send(
        &self,
        stored: &StoredInvoice,
        request: &DeliveryRequest,
        now: DateTime<Utc>,
    ) -> Result<(String, usize), DeliveryError> {
        let invoice = &stored.invoice;
        let content = invoice.content();
        let entity = self
            .store
            .billing_entity(&content.billing_entity_id)
            .await?;
        let account = self
            .store
            .account(&stored.account_id)
            .await?
            .ok_or_else(|| DeliveryError::Unsendable {
                reason: format!("account {} does not exist", stored.account_id),
            })?
            .account;
        let recipients = self
            .recipients(&stored.account_id, &account.invoice_emails)
            .await?;
        let count = recipients.len();
        let attachments = self
            .attachments(request, content.buyer.leitweg_id.is_some())
            .await?;
        let xrechnung = attachments.len() > 1;
        let text = self
            .templates
            .render(invoice, content.buyer.language, xrechnung)?;
        let raw = compose(
            &entity.mail,
            &MailRecipients {
                name: account.name.clone(),
                addresses: recipients,
            },
            &text,
            attachments,
            now,
        )?;
        let message_id = self
            .mailer
            .send(&content.id, &entity.mail.address, raw)
            .await?;
        Ok((message_id, count))
    }

    /// The account's invoice addresses that are not suppressed, in order.
    async fn recipients(
        &self,
        account: &billing_domain::ids::AccountId,
        addresses: &[EmailAddress],
    ) -> Result<Vec<EmailAddress>, DeliveryError> {
        if addresses.is_empty() {
            return Err(DeliveryError::Unsendable {
                reason: format!("account {account} has no invoice e-mail address"),
            });
        }
        let suppressed = self.store.suppressed_addresses(account).await?;
        let open: Vec<EmailAddress> = addresses
            .iter()
            .filter(|address| {
                let lower = address.as_str().to_lowercase();
                !suppressed.iter().any(|s| s.address == lower)
            })
            .cloned()
            .collect();
        if open.is_empty() {
            return Err(DeliveryError::Unsendable {
                reason: format!(
                    "all {} invoice e-mail addresses of account {account} are suppressed after bounces or complaints",
                    addresses.len()
                ),
            });
        }
        Ok(open)
    }

    /// The PDF, and the XRechnung XML for customers who receive one, as
    /// archived.
    async fn attachments(
        &self,
        request: &DeliveryRequest,
        xrechnung: bool,
    ) -> Result<Vec<MailAttachment>, DeliveryError> {
        let pdf = request
            .documents
            .iter()
            .find(|d| d.content_type == "application/pdf")
            .ok_or_else(|| DeliveryError::Unsendable {
                reason: "the delivery request names no archived PDF".to_owned(),
            })?;
        let mut attachments = vec![self.files.attachment(pdf).await?];
        if xrechnung {
            let xml = request
                .documents
                .iter()
                .find(|d| d.key.ends_with(".xrechnung.xml"))
                .ok_or_else(|| DeliveryError::Document {
                    key: pdf.key.clone(),
                    reason: "the customer receives XRechnung, but none was archived".to_owned(),
                })?;
            attachments.push(self.files.attachment(xml).await?);
        }
        Ok(attachments)
    }
}
