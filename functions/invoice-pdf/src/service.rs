//! One documents request: load the finalized invoice, render it, archive
//! the files, hand the invoice to delivery, record what was archived.
//!
//! Order matters for "every finalized invoice is eventually delivered"
//! (rule 6) with retries at any point:
//!
//! 1. archive (idempotent: identical bytes are a no-op);
//! 2. send the delivery request;
//! 3. record the documents, which flips `document_status` to `archived`.
//!
//! A crash between 2 and 3 means the retry sends a second delivery request
//! (the delivery queue is at-least-once anyway, so the delivery function
//! must ignore an invoice it already sent). Recording before sending would
//! instead lose the delivery for good: the retry would find the invoice
//! archived and stop. Once recorded, a repeated trigger changes nothing.

use billing_documents::InvoiceRenderer;
use billing_documents::letter::LetterRenderer;
use billing_domain::ids::InvoiceId;
use billing_domain::invoice::Invoice;
use billing_store::{
    ArchivedDocument, BillingStore, DeliveryRequest, DocumentStatus, DocumentsRecorded,
};

use crate::archive::{self, Archived, Document, DocumentArchive};
use crate::error::InvoicePdfError;

/// What a documents request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Produced {
    /// Documents archived, delivery requested, documents recorded.
    Archived {
        /// What was recorded on the invoice.
        documents: Vec<ArchivedDocument>,
        /// How many files were written now (0 when a retry found them all).
        written: usize,
    },
    /// The invoice's documents were already recorded: nothing done.
    AlreadyArchived,
}

/// Everything a documents request needs, built once per cold start.
#[derive(Debug)]
pub struct DocumentService {
    store: BillingStore,
    renderer: InvoiceRenderer,
    letters: LetterRenderer,
    archive: DocumentArchive,
    sqs: aws_sdk_sqs::Client,
    delivery_queue_url: String,
}

impl DocumentService {
    /// Wires the service from its parts.
    pub fn new(
        store: BillingStore,
        renderer: InvoiceRenderer,
        letters: LetterRenderer,
        archive: DocumentArchive,
        sqs: aws_sdk_sqs::Client,
        delivery_queue_url: impl Into<String>,
    ) -> Self {
        Self {
            store,
            renderer,
            letters,
            archive,
            sqs,
            delivery_queue_url: delivery_queue_url.into(),
        }
    }

    /// Produces and archives the documents of invoice `id` (see the module
    /// docs for the order of steps and why). A failure is also recorded on
    /// the invoice: the message that ends in the dead-letter queue names the
    /// invoice, and the invoice says why.
    pub async fn produce(&self, id: &InvoiceId) -> Result<Produced, InvoicePdfError> {
        let result = self.archive_and_request_delivery(id).await;
        if let Err(error) = &result {
            self.record_failure(id, error).await;
        }
        result
    }

    async fn archive_and_request_delivery(
        &self,
        id: &InvoiceId,
    ) -> Result<Produced, InvoicePdfError> {
        let stored =
            self.store
                .invoice(id)
                .await?
                .ok_or_else(|| InvoicePdfError::UnknownInvoice {
                    invoice_id: id.to_string(),
                })?;
        if stored.document_status == DocumentStatus::Archived {
            return Ok(Produced::AlreadyArchived);
        }
        let invoice = &stored.invoice;
        // CPU work of a few tens of milliseconds; a Lambda instance serves
        // one batch at a time, so blocking the runtime thread is harmless.
        let documents = documents(invoice, self.renderer.render(invoice)?);
        let mut written = 0;
        for document in &documents {
            if self.archive.put_once(invoice, document).await? == Archived::Stored {
                written += 1;
            }
        }
        let records: Vec<ArchivedDocument> = documents.iter().map(Document::record).collect();
        self.request_delivery(invoice, &records).await?;
        match self.store.record_documents(id, &records).await? {
            DocumentsRecorded::Recorded | DocumentsRecorded::AlreadyRecorded => {
                Ok(Produced::Archived {
                    documents: records,
                    written,
                })
            }
            DocumentsRecorded::Different(_) => Err(InvoicePdfError::DifferentDocumentsRecorded {
                invoice_id: id.to_string(),
            }),
        }
    }

    /// Records on the invoice why this attempt failed. Best effort: if the
    /// store cannot take it either, the logged error is what remains.
    async fn record_failure(&self, id: &InvoiceId, error: &InvoicePdfError) {
        if matches!(error, InvoicePdfError::UnknownInvoice { .. }) {
            return;
        }
        let recorded = self
            .store
            .record_document_failure(
                id,
                billing_lambda::Failure::code(error),
                &error.to_string(),
                chrono::Utc::now(),
            )
            .await;
        if let Err(store_error) = recorded {
            tracing::warn!(invoice_id = %id, error = %store_error, "could not record the documents failure on the invoice");
        }
    }

    /// What is recorded as archived for invoice `id` (empty while pending).
    pub async fn archived_documents(
        &self,
        id: &InvoiceId,
    ) -> Result<Vec<ArchivedDocument>, InvoicePdfError> {
        Ok(self
            .store
            .invoice(id)
            .await?
            .map(|stored| stored.documents)
            .unwrap_or_default())
    }

    pub(crate) fn store(&self) -> &BillingStore {
        &self.store
    }

    pub(crate) fn letters(&self) -> &LetterRenderer {
        &self.letters
    }

    pub(crate) fn archive(&self) -> &DocumentArchive {
        &self.archive
    }

    async fn request_delivery(
        &self,
        invoice: &Invoice,
        documents: &[ArchivedDocument],
    ) -> Result<(), InvoicePdfError> {
        self.send_to_delivery(&DeliveryRequest {
            invoice_id: invoice.content().id.to_string(),
            invoice_number: invoice.number().to_string(),
            documents: documents.to_vec(),
        })
        .await
    }

    /// One message on the delivery queue (an invoice's or a letter's).
    pub(crate) async fn send_to_delivery<T: serde::Serialize>(
        &self,
        request: &T,
    ) -> Result<(), InvoicePdfError> {
        // A struct of strings always encodes; were it ever to fail, the
        // send step failed for good (our fault, not the queue message's).
        let body = serde_json::to_string(request).map_err(|e| InvoicePdfError::Aws {
            operation: "SendMessage",
            target: "delivery queue".to_owned(),
            disposition: billing_lambda::Disposition::Permanent,
            message: format!("cannot encode the delivery request: {e}"),
        })?;
        self.sqs
            .send_message()
            .queue_url(&self.delivery_queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|err| InvoicePdfError::archive("SendMessage", "delivery queue", &err))?;
        Ok(())
    }
}

/// The files of one invoice at their deterministic keys.
fn documents(invoice: &Invoice, rendered: billing_documents::InvoiceDocuments) -> Vec<Document> {
    let stem = archive::key_stem(invoice);
    let mut documents = vec![
        Document::new(format!("{stem}.pdf"), archive::PDF, rendered.pdf),
        Document::new(format!("{stem}.xml"), archive::XML, rendered.xml),
    ];
    if let Some(xrechnung) = rendered.xrechnung {
        documents.push(Document::new(
            format!("{stem}.xrechnung.xml"),
            archive::XML,
            xrechnung,
        ));
    }
    documents
}
