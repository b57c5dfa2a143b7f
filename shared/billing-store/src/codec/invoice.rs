//! The invoice item (`INVOICE#<id>` / `INVOICE`): the finalized invoice in
//! `body`, beside it the summary staff lists read, payment, dunning,
//! collection, document and delivery state, and the index keys. A run's
//! staged draft is the same key with `status = unnumbered`.

use billing_domain::invoice::Invoice;
use billing_domain::numbering::DocumentType;

use super::{ACCOUNT_KEY, ACCOUNT_SORT, Attr, BODY, ItemAttributes, RECORD_TYPE};
use crate::attributes::{Item, body, key_item, n, s};
use crate::{StoreError, keys};

/// The customer.
pub(crate) const ACCOUNT_ID: Attr = Attr::new("account_id");
/// The seller.
pub(crate) const BILLING_ENTITY_ID: Attr = Attr::new("billing_entity_id");
/// The invoice id.
pub(crate) const INVOICE_ID: Attr = Attr::new("invoice_id");
/// The legal number.
pub(crate) const INVOICE_NUMBER: Attr = Attr::new("invoice_number");
/// UNTDID 1001 code (380 invoice, 381 credit note; absent on old items: 380).
pub(crate) const DOCUMENT_TYPE: Attr = Attr::new("document_type");
/// Where it stands (`InvoiceStatus`; `unnumbered` while staged).
pub(crate) const STATUS: Attr = Attr::new("status");
/// Amount due (gross).
pub(crate) const TOTAL: Attr = Attr::new("total");
/// ISO 4217 code of every amount on it.
pub(crate) const CURRENCY: Attr = Attr::new("currency");
/// Issue date.
pub(crate) const ISSUE_DATE: Attr = Attr::new("issue_date");
/// Due date.
pub(crate) const DUE_DATE: Attr = Attr::new("due_date");
/// The run that staged or billed it.
pub(crate) const RUN_ID: Attr = Attr::new("run_id");
/// A staged draft (JSON) before numbering.
pub(crate) const DRAFT: Attr = Attr::new("draft");
/// When it was numbered.
pub(crate) const NUMBERED_AT: Attr = Attr::new("numbered_at");
/// When it was stored.
pub(crate) const CREATED_AT: Attr = Attr::new("created_at");
/// The invoice a credit note corrects.
pub(crate) const PRECEDING_INVOICE_ID: Attr = Attr::new("preceding_invoice_id");
/// What credit notes took of each line (JSON).
pub(crate) const CREDITED_LINES: Attr = Attr::new("credited_lines");
/// The credit note that cancelled it.
pub(crate) const CANCELLED_BY: Attr = Attr::new("cancelled_by");
/// When a correction was last recorded.
pub(crate) const CORRECTED_AT: Attr = Attr::new("corrected_at");
/// `ByPaymentReference` index key (the ISO 11649 reference).
pub(crate) const PAYMENT_REFERENCE: Attr = Attr::new("payment_reference");
/// `ByInvoiceNumber` index key (`<entity>#<number>`).
pub(crate) const INVOICE_NUMBER_KEY: Attr = Attr::new("invoice_number_key");
/// `ByEntity` index partition (`INVOICES#<entity>`).
pub(crate) const ENTITY_KEY: Attr = Attr::new("entity_key");
/// `ByEntity` index sort key (`INVOICE#<issue date>#<id>`).
pub(crate) const ENTITY_SORT: Attr = Attr::new("entity_sort");
/// `OpenInvoices` index partition, only while something is open.
pub(crate) const OPEN_KEY: Attr = Attr::new("open_key");
/// What is still open.
pub(crate) const OPEN_AMOUNT: Attr = Attr::new("open_amount");
/// Principal received.
pub(crate) const PAID_AMOUNT: Attr = Attr::new("paid_amount");
/// What credit notes took off.
pub(crate) const CREDITED_AMOUNT: Attr = Attr::new("credited_amount");
/// The write-off (JSON), once written off.
pub(crate) const WRITTEN_OFF: Attr = Attr::new("written_off");
/// What was written off.
pub(crate) const WRITTEN_OFF_AMOUNT: Attr = Attr::new("written_off_amount");
/// The day it was paid in full.
pub(crate) const PAID_IN_FULL_ON: Attr = Attr::new("paid_in_full_on");
/// Whether it was paid by its due date.
pub(crate) const PAID_ON_TIME: Attr = Attr::new("paid_on_time");
/// Value date of the last payment.
pub(crate) const LAST_PAYMENT_ON: Attr = Attr::new("last_payment_on");
/// Optimistic version of payment bookings.
pub(crate) const PAYMENT_VERSION: Attr = Attr::new("payment_version");
/// Dunning costs received (§367 BGB).
pub(crate) const COSTS_PAID: Attr = Attr::new("costs_paid");
/// Default interest received (§367 BGB).
pub(crate) const INTEREST_PAID: Attr = Attr::new("interest_paid");
/// Dunning fees charged by letters.
pub(crate) const FEES_CHARGED: Attr = Attr::new("fees_charged");
/// Default interest claimed by letters.
pub(crate) const INTEREST_CLAIMED: Attr = Attr::new("interest_claimed");
/// Whether the §288(5) BGB flat fee was charged.
pub(crate) const FLAT_FEE_CHARGED: Attr = Attr::new("flat_fee_charged");
/// Highest dunning level sent.
pub(crate) const DUNNING_LEVEL: Attr = Attr::new("dunning_level");
/// Letters sent (JSON).
pub(crate) const DUNNING_SENT: Attr = Attr::new("dunning_sent");
/// Day of the last letter.
pub(crate) const LAST_DUNNED_ON: Attr = Attr::new("last_dunned_on");
/// `DunningDue` index partition, only while it may be dunned.
pub(crate) const DUNNING_SHARD: Attr = Attr::new("dunning_shard");
/// `DunningDue` index sort key.
pub(crate) const DUNNING_AT: Attr = Attr::new("dunning_at");
/// A clerk's dunning block (JSON).
pub(crate) const DUNNING_BLOCK: Attr = Attr::new("dunning_block");
/// A flagged dispute (JSON).
pub(crate) const DISPUTE: Attr = Attr::new("dispute");
/// Handed over to collection on this day.
pub(crate) const COLLECTION_SINCE: Attr = Attr::new("collection_since");
/// `CollectionDue` index partition, until collected.
pub(crate) const COLLECTION_SHARD: Attr = Attr::new("collection_shard");
/// `CollectionDue` index sort key.
pub(crate) const COLLECTION_AT: Attr = Attr::new("collection_at");
/// The direct-debit batch that claimed it.
pub(crate) const COLLECTION_BATCH: Attr = Attr::new("collection_batch");
/// The collection date of that batch.
pub(crate) const COLLECTED_ON: Attr = Attr::new("collected_on");
/// Whether its documents are archived (`DocumentStatus`).
pub(crate) const DOCUMENT_STATUS: Attr = Attr::new("document_status");
/// The archived files (JSON).
pub(crate) const DOCUMENTS: Attr = Attr::new("documents");
/// Why producing the documents last failed.
pub(crate) const DOCUMENT_FAILURE: Attr = Attr::new("document_failure");
/// Code of that failure.
pub(crate) const DOCUMENT_FAILURE_CODE: Attr = Attr::new("document_failure_code");
/// When it failed.
pub(crate) const DOCUMENT_FAILED_AT: Attr = Attr::new("document_failed_at");
/// Failed attempts so far.
pub(crate) const DOCUMENT_ATTEMPTS: Attr = Attr::new("document_attempts");
/// The e-mail's state (`DeliveryStatus`).
pub(crate) const DELIVERY_STATUS: Attr = Attr::new("delivery_status");
/// Rank of that state, so a late event never lowers it.
pub(crate) const DELIVERY_RANK: Attr = Attr::new("delivery_rank");
/// SES message id.
pub(crate) const DELIVERY_MESSAGE_ID: Attr = Attr::new("delivery_message_id");
/// When SES accepted it.
pub(crate) const DELIVERY_SENT_AT: Attr = Attr::new("delivery_sent_at");
/// Why delivery failed.
pub(crate) const DELIVERY_REASON: Attr = Attr::new("delivery_reason");
/// When the last delivery event happened.
pub(crate) const DELIVERY_EVENT_AT: Attr = Attr::new("delivery_event_at");
/// Token of the sender holding the delivery claim.
pub(crate) const DELIVERY_CLAIM: Attr = Attr::new("delivery_claim");
/// When the claim expires (ms).
pub(crate) const DELIVERY_CLAIM_EXPIRES: Attr = Attr::new("delivery_claim_expires");
/// When the claim expires (RFC 3339).
pub(crate) const DELIVERY_CLAIM_EXPIRES_AT: Attr = Attr::new("delivery_claim_expires_at");

/// The stored invoice with every index key it is found by.
pub(crate) fn item(invoice: &Invoice, now: &str) -> Result<Item, StoreError> {
    let content = invoice.content();
    let number = invoice.number().to_string();
    let mut item = key_item(keys::invoice(&content.id));
    item.put(RECORD_TYPE, s("invoice"));
    item.put(BODY, body(invoice, "invoice")?);
    item.put(INVOICE_ID, s(content.id.as_str()));
    item.put(INVOICE_NUMBER, s(&number));
    item.put(DOCUMENT_TYPE, n(content.document_type.code()));
    item.put(BILLING_ENTITY_ID, s(content.billing_entity_id.as_str()));
    item.put(ACCOUNT_ID, s(content.buyer.id.as_str()));
    item.put(STATUS, s("open"));
    item.put(DOCUMENT_STATUS, s("pending"));
    item.put(ISSUE_DATE, s(content.issue_date.to_string()));
    item.put(DUE_DATE, s(content.due_date.to_string()));
    item.put(TOTAL, s(invoice.amount_due().amount().to_string()));
    item.put(CURRENCY, s(content.currency.code()));
    item.put(CREATED_AT, s(now));
    item.put(ACCOUNT_KEY, s(keys::account_partition(&content.buyer.id)));
    item.put(
        ACCOUNT_SORT,
        s(keys::account_invoice_sort(content.issue_date, &content.id)),
    );
    item.put(
        INVOICE_NUMBER_KEY,
        s(keys::invoice_number(&content.billing_entity_id, &number)),
    );
    let reference = content
        .references
        .payment_reference
        .clone()
        .unwrap_or_else(|| number.clone());
    item.put(PAYMENT_REFERENCE, s(reference));
    item.put(
        ENTITY_KEY,
        s(keys::entity_invoices(&content.billing_entity_id)),
    );
    item.put(
        ENTITY_SORT,
        s(keys::account_invoice_sort(content.issue_date, &content.id)),
    );
    if content.document_type == DocumentType::Invoice {
        // Open until paid: in the seller's open invoices (today's aging).
        item.put(
            OPEN_KEY,
            s(keys::open_invoices(
                &content.billing_entity_id,
                content.currency.code(),
            )),
        );
        // Open invoices are looked at by the dunning sweep from their due date.
        let (shard, at) = keys::dunning_due(&content.id, content.due_date);
        item.put(DUNNING_SHARD, s(shard));
        item.put(DUNNING_AT, s(at));
        // A direct-debit invoice waits in the sparse `CollectionDue` index
        // until the collection step puts it into a file.
        if let Some(notice) = &content.direct_debit {
            let (shard, at) = keys::collection_due(&content.id, notice.collection_date);
            item.put(COLLECTION_SHARD, s(shard));
            item.put(COLLECTION_AT, s(at));
        }
    }
    Ok(item)
}
