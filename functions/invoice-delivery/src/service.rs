//! One delivery: claim the invoice (or dunning letter), write the e-mail,
//! send it, record it.
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

use billing_documents::mail::{MailAttachment, MailRecipients, MailTemplates, MailText, compose};
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::party::EmailAddress;
use billing_domain::seller::InvoiceMailSender;
use billing_lambda::Failure;
use billing_store::{
    BillingStore, DeliveryClaim, DeliveryRequest, DeliveryState, DeliveryStatus, Dispatch,
    LetterDeliveryRequest, OutcomeRecorded, StoredInvoice, StoredLetter, TroubleReport,
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

/// Who an e-mail goes from and to.
struct Addressing {
    sender: InvoiceMailSender,
    recipients: MailRecipients,
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
        let send = self.send(&stored, request, now);
        self.claim_send_record(
            &Dispatch::Invoice(id),
            stored.delivery.as_ref(),
            token,
            now,
            send,
        )
        .await
    }

    /// Delivers a dunning letter to the customer's invoice addresses, at
    /// most once, by the same claim protocol as an invoice.
    pub async fn deliver_letter(
        &self,
        request: &LetterDeliveryRequest,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Delivered, DeliveryError> {
        let stored = self
            .store
            .dunning_letter(&request.letter_id)
            .await?
            .ok_or_else(|| DeliveryError::UnknownLetter {
                letter_id: request.letter_id.clone(),
            })?;
        let dispatch = Dispatch::DunningLetter(request.letter_id.clone());
        let send = self.send_letter(&stored, request, now);
        self.claim_send_record(&dispatch, stored.delivery.as_ref(), token, now, send)
            .await
    }

    /// The protocol around one send: nothing if settled, claim, send,
    /// record the outcome (a final failure on the item and the
    /// needs-attention list; a passing one gives the claim back).
    async fn claim_send_record(
        &self,
        dispatch: &Dispatch,
        recorded: Option<&DeliveryState>,
        token: &str,
        now: DateTime<Utc>,
        send: impl std::future::Future<Output = Result<(String, usize), DeliveryError>>,
    ) -> Result<Delivered, DeliveryError> {
        if let Some(state) = recorded.filter(|s| s.status.is_settled()) {
            return Ok(Delivered::AlreadySettled(state.status));
        }
        let taken_over = match self
            .store
            .claim_delivery(dispatch, token, now, CLAIM_LEASE)
            .await?
        {
            DeliveryClaim::Claimed { taken_over } => taken_over,
            DeliveryClaim::Settled(state) => return Ok(Delivered::AlreadySettled(state.status)),
            DeliveryClaim::Busy { until } => {
                return Err(DeliveryError::InProgress {
                    dispatch: dispatch.to_string(),
                    until: until.to_rfc3339(),
                });
            }
        };
        if taken_over {
            tracing::warn!(
                dispatch = %dispatch,
                "a lapsed delivery claim was taken over; if its worker died after SES accepted the mail, the customer gets it twice"
            );
        }
        match send.await {
            Ok((message_id, recipients)) => {
                match self
                    .store
                    .record_sent(dispatch, token, &message_id, now)
                    .await?
                {
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
                    dispatch: dispatch.clone(),
                    status: DeliveryStatus::Failed,
                    reason: reason.clone(),
                    at: now,
                    suppress: Vec::new(),
                };
                self.store
                    .record_delivery_trouble(&report, Some(token))
                    .await?;
                tracing::warn!(dispatch = %dispatch, code = error.code(), "delivery failed for good");
                Ok(Delivered::Failed { reason })
            }
            Err(error) => {
                // A passing fault: give the claim back so the retry need not
                // wait for the lease. If that fails too, the lease runs out.
                if let Err(release) = self.store.release_delivery(dispatch, token).await {
                    tracing::warn!(dispatch = %dispatch, error = %release, "could not release the delivery claim");
                }
                Err(error)
            }
        }
    }

    /// The letter's e-mail: the figures as recorded, the archived PDF,
    /// the invoice addresses that are not suppressed.
    async fn send_letter(
        &self,
        stored: &StoredLetter,
        request: &LetterDeliveryRequest,
        now: DateTime<Utc>,
    ) -> Result<(String, usize), DeliveryError> {
        let letter = &stored.letter;
        let addressing = self
            .addressing(&letter.billing_entity_id, &letter.account_id)
            .await?;
        // Seller and payment reference as on the PDF: the oldest invoice's.
        let oldest = letter
            .lines
            .first()
            .ok_or_else(|| DeliveryError::Unsendable {
                reason: format!("dunning letter {} lists no invoice", letter.letter_id),
            })?;
        let invoice = self
            .store
            .invoice(&oldest.invoice_id)
            .await?
            .ok_or_else(|| DeliveryError::UnknownInvoice {
                invoice_id: oldest.invoice_id.to_string(),
            })?
            .invoice;
        let content = invoice.content();
        let reference = letter.payment_reference(content.references.payment_reference.as_deref());
        if request.document.content_type != "application/pdf" {
            return Err(DeliveryError::Document {
                key: request.document.key.clone(),
                reason: "a dunning letter is sent as its archived PDF".to_owned(),
            });
        }
        let attachment = self.files.attachment(&request.document).await?;
        let text = self
            .templates
            .render_letter(letter, &content.seller, &reference)?;
        let dispatch = Dispatch::DunningLetter(letter.letter_id.clone());
        self.post(&dispatch, addressing, &text, vec![attachment], now)
            .await
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
        let addressing = self
            .addressing(&content.billing_entity_id, &stored.account_id)
            .await?;
        let attachments = self
            .attachments(request, content.buyer.leitweg_id.is_some())
            .await?;
        let xrechnung = attachments.len() > 1;
        let text = self
            .templates
            .render(invoice, content.buyer.language, xrechnung)?;
        let dispatch = Dispatch::Invoice(content.id.clone());
        self.post(&dispatch, addressing, &text, attachments, now)
            .await
    }

    /// From the seller's sender to the account's invoice addresses that
    /// are not suppressed (as they are now, not as on the invoice).
    async fn addressing(
        &self,
        entity: &BillingEntityId,
        account: &AccountId,
    ) -> Result<Addressing, DeliveryError> {
        let sender = self.store.billing_entity(entity).await?.mail;
        let stored = self
            .store
            .account(account)
            .await?
            .ok_or_else(|| DeliveryError::Unsendable {
                reason: format!("account {account} does not exist"),
            })?
            .account;
        let addresses = self.recipients(account, &stored.invoice_emails).await?;
        Ok(Addressing {
            sender,
            recipients: MailRecipients {
                name: stored.name,
                addresses,
            },
        })
    }

    /// Writes the e-mail and hands it to SES. Returns SES's message id and
    /// the number of recipients.
    async fn post(
        &self,
        dispatch: &Dispatch,
        addressing: Addressing,
        text: &MailText,
        attachments: Vec<MailAttachment>,
        now: DateTime<Utc>,
    ) -> Result<(String, usize), DeliveryError> {
        let count = addressing.recipients.addresses.len();
        let raw = compose(
            &addressing.sender,
            &addressing.recipients,
            text,
            attachments,
            now,
        )?;
        let message_id = self
            .mailer
            .send(dispatch, &addressing.sender.address, raw)
            .await?;
        Ok((message_id, count))
    }

    /// The account's invoice addresses that are not suppressed, in order.
    async fn recipients(
        &self,
        account: &AccountId,
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
