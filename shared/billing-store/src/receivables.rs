//! Receivables as of a past date: each invoice with what was recorded on it
//! (payments and returns with their value dates, credit notes and
//! cancellations with their issue dates, dunning letters with the day they
//! were sent), for [`billing_domain::receivables::ReceivableHistory::as_of`].
//!
//! Reads: the invoices and credit notes issued on or before the day (one
//! Query series on `ByEntity` or `ByAccount`); for every invoice that ever
//! had a payment, correction or letter (`payment_version` or
//! `dunning_level` set) one Query on its partition, which holds its item
//! (the letters, `dunning_sent`) and its `PAYMENT#` items; for every credit
//! note whose index copy does not name its original
//! (`preceding_invoice_id` is not projected into `ByEntity`) one GetItem.
//! The reads are sequential: a past date is a report, not the morning view
//! (today's aging reads only the open invoices).
//!
//! Every `PAYMENT#` item carries its `value_date` (every booking path writes
//! it, applied customer credit with the day it was applied), so no payment
//! lacks its day. Letters sent before the invoice kept their list
//! (`dunning_level` above the letters listed) count from the due date.

use aws_sdk_dynamodb::types::AttributeValue;
use billing_domain::dunning::SentDunningLevel;
use billing_domain::ids::{AccountId, BillingEntityId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_domain::receivables::{ReceivableChange, ReceivableEvent, ReceivableHistory};
use chrono::NaiveDate;
use std::collections::HashMap;

use crate::attributes::{Item, read_optional_s};
use crate::page::{Page, query_page};
use crate::payment::booked_payment;
use crate::staff_reads::InvoiceFilter;
use crate::{BillingStore, InvoiceOverview, StoreError, keys};

/// A credit note as it bears on its original: its day, its gross amount,
/// and whether it is the original's cancellation.
struct CreditNoteFact {
    on: NaiveDate,
    amount: Money,
    cancellation: bool,
}

impl BillingStore {
    /// The seller's invoices in `currency` issued on or before `day`, each
    /// with its recorded events (see the module documentation).
    pub async fn entity_receivable_histories(
        &self,
        entity: &BillingEntityId,
        currency: Currency,
        day: NaiveDate,
    ) -> Result<Vec<ReceivableHistory>, StoreError> {
        let partition = keys::entity_invoices(entity);
        let items = self
            .issued_through("ByEntity", "entity_key", "entity_sort", &partition, day)
            .await?;
        let items: Vec<Item> = items
            .into_iter()
            .filter(|item| read_optional_s(item, "currency") == Some(currency.code()))
            .collect();
        self.histories(&items).await
    }

    /// An account's invoices (every currency) issued on or before `day`,
    /// each with its recorded events.
    pub async fn account_receivable_histories(
        &self,
        account: &AccountId,
        day: NaiveDate,
    ) -> Result<Vec<ReceivableHistory>, StoreError> {
        let partition = keys::account_partition(account);
        let items = self
            .issued_through("ByAccount", "account_key", "account_sort", &partition, day)
            .await?;
        self.histories(&items).await
    }

    async fn issued_through(
        &self,
        index: &str,
        hash: &str,
        range: &str,
        partition: &str,
        day: NaiveDate,
    ) -> Result<Vec<Item>, StoreError> {
        let filter = InvoiceFilter {
            issued_to: Some(day),
            ..InvoiceFilter::default()
        };
        let mut all = Vec::new();
        let mut page = Page::first(crate::MAX_PAGE_LIMIT);
        loop {
            let query = self.invoice_query(index, hash, range, partition, &filter);
            let (items, next) = query_page(query, (hash, partition), &page).await?;
            all.extend(items.into_iter().filter(|item| {
                read_optional_s(item, "status") != Some("unnumbered")
                    && read_optional_s(item, "invoice_id").is_some()
            }));
            match next {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    async fn histories(&self, items: &[Item]) -> Result<Vec<ReceivableHistory>, StoreError> {
        let overviews = items
            .iter()
            .map(|item| InvoiceOverview::read(item, "invoice"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut credit_notes: HashMap<InvoiceId, Vec<CreditNoteFact>> = HashMap::new();
        for (item, note) in items.iter().zip(&overviews) {
            if note.document_type != "381" {
                continue;
            }
            let preceding = match read_optional_s(item, "preceding_invoice_id") {
                Some(id) => Some(id.to_owned()),
                None => self
                    .get(keys::invoice(&note.invoice_id))
                    .await?
                    .and_then(|full| {
                        read_optional_s(&full, "preceding_invoice_id").map(str::to_owned)
                    }),
            };
            // A credit note of the run (a negative total) credits no invoice.
            let Some(original) = preceding.map(InvoiceId::new) else {
                continue;
            };
            let cancellation = note.invoice_id.as_str()
                == keys::derived_id("inv", &[original.as_str(), "cancellation"]);
            credit_notes
                .entry(original)
                .or_default()
                .push(CreditNoteFact {
                    on: note.issue_date,
                    amount: note.total,
                    cancellation,
                });
        }
        let mut histories = Vec::with_capacity(overviews.len());
        for (item, overview) in items.iter().zip(&overviews) {
            let what = format!("invoice {}", overview.invoice_id);
            let mut events = Vec::new();
            for note in credit_notes
                .remove(&overview.invoice_id)
                .unwrap_or_default()
            {
                events.push(ReceivableEvent {
                    on: note.on,
                    change: ReceivableChange::CreditNote(note.amount),
                });
                if note.cancellation {
                    events.push(ReceivableEvent {
                        on: note.on,
                        change: ReceivableChange::Cancellation,
                    });
                }
            }
            let touched = matches!(item.get("payment_version"), Some(AttributeValue::N(v)) if v != "0")
                || overview.dunning_level > 0;
            if overview.document_type != "381" && touched {
                let partition = self
                    .query_partition(keys::invoice(&overview.invoice_id).0)
                    .await?;
                let mut letters = 0u32;
                for part in &partition {
                    match read_optional_s(part, "sk") {
                        Some(sk) if sk.starts_with("PAYMENT#") => {
                            let booked = booked_payment(part, &what)?;
                            events.push(ReceivableEvent {
                                on: booked.value_date,
                                change: ReceivableChange::Payment(booked.amount),
                            });
                        }
                        Some("INVOICE") => {
                            let sent: Vec<SentDunningLevel> =
                                match read_optional_s(part, "dunning_sent") {
                                    Some(text) => serde_json::from_str(text).map_err(|e| {
                                        StoreError::corrupt(&what, format!("dunning_sent: {e}"))
                                    })?,
                                    None => Vec::new(),
                                };
                            for letter in sent {
                                letters += 1;
                                events.push(ReceivableEvent {
                                    on: letter.sent_on,
                                    change: ReceivableChange::DunningLetter,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                for _ in letters..overview.dunning_level {
                    events.push(ReceivableEvent {
                        on: overview.due_date,
                        change: ReceivableChange::DunningLetter,
                    });
                }
            }
            histories.push(ReceivableHistory {
                issue_date: overview.issue_date,
                due_date: overview.due_date,
                total: overview.total,
                receivable: overview.document_type == "380",
                events,
            });
        }
        Ok(histories)
    }
}
