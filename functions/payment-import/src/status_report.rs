//! pain.002 status reports: the bank's answer to a collection file before
//! settlement. A collection it rejects (`TxSts` `RJCT`, or a rejected
//! payment block without transaction details) moved no money, so nothing
//! is booked; the invoice, found by the original end-to-end id (our
//! collections carry the invoice number there), gets the rejection on its
//! audit trail, goes back into dunning, and a reason that means the
//! mandate is gone blocks the mandate, as a return after settlement does
//! (`ImportService::after_return`).
//!
//! The report is read by the `sepa` crate's reader (the crate the
//! collection files are written with), which accepts `pain.002.001.10`
//! (the version the EPC's 2023 guidelines and the Deutsche Kreditwirtschaft
//! send back for `pain.008.001.08`), `pain.001.001.03` and the German
//! `pain.002.002.03` / `pain.002.003.03`, and names a missing mandatory
//! element. A report that cannot be read is refused whole and changes
//! nothing but a needs-attention note; a rejection whose end-to-end id
//! names no invoice of ours goes on the review list with the reason, and
//! the rest of the report is applied. Identity: entity + `MsgId` (a report
//! imported twice changes nothing), per transaction its end-to-end id.

use billing_domain::matching::InvoiceNumberFinder;
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::InvoiceNumber;
use billing_domain::payment::PaymentStatus as InvoiceStatus;
use billing_domain::seller::BillingEntity;
use billing_store::{DirectDebitRejection, DirectDebitReturn, ReviewEntry, StatementRecord};
use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;
use sepa::pain002::{Pain002Document, PaymentStatus, TransactionStatus};

use crate::error::ImportError;
use crate::service::{EntryOutcome, EntryReport, ImportReport, ImportService, import_actor};

/// Whether `xml` is a status report (`Document/CstmrPmtStsRpt`) rather
/// than a statement: decided by the message element, whatever the
/// namespace or version.
pub fn is_status_report(xml: &[u8]) -> bool {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut inside_root = false;
    loop {
        let (element, is_start) = match reader.read_event_into(&mut buf) {
            Ok(Event::Start(start)) => (start, true),
            Ok(Event::Empty(empty)) => (empty, false),
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {
                buf.clear();
                continue;
            }
        };
        if inside_root {
            return element.name().local_name().into_inner() == "CstmrPmtStsRpt";
        }
        if !is_start {
            return false;
        }
        inside_root = true;
        buf.clear();
    }
}

/// Reads a status report, or says why not (naming the element).
pub fn parse(xml: &[u8]) -> Result<Pain002Document, String> {
    let text = std::str::from_utf8(xml).map_err(|e| format!("not UTF-8 text: {e}"))?;
    sepa::parse_pain002(text).map_err(|e| e.to_string())
}

/// One collection the report rejects, with the reason it gives (the
/// transaction's, else its payment block's, else the group's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Position in the report, from 1 (for transactions without an id).
    pub position: usize,
    /// `OrgnlEndToEndId`: our invoice number.
    pub end_to_end_id: Option<String>,
    /// The reason code.
    pub reason_code: Option<String>,
    /// The collected amount, if the report repeats it.
    pub amount: Option<Money>,
}

/// What a report rejects: the transactions with `RJCT` (or without a
/// status inside a rejected payment block or group), and whether whole
/// blocks (or the whole file) were rejected without naming transactions.
pub fn rejections(report: &Pain002Document) -> (Vec<Rejection>, Vec<String>) {
    let group_rejected = report.group_status.as_ref().is_some_and(is_rejected);
    let group_reason = report.group_reason_codes.first().map(|c| c.as_code());
    let mut found = Vec::new();
    let mut whole = Vec::new();
    let mut position = 0;
    for block in &report.payment_info_statuses {
        let block_rejected = block.status.as_ref().map_or(group_rejected, is_rejected);
        let block_reason = block
            .reason_codes
            .first()
            .map(|c| c.as_code())
            .or(group_reason);
        if block.transactions.is_empty() && block_rejected {
            whole.push(format!(
                "payment block {} rejected whole ({})",
                block.original_payment_info_id.as_deref().unwrap_or("?"),
                block_reason.unwrap_or("no reason code")
            ));
        }
        for tx in &block.transactions {
            position += 1;
            let rejected = tx.status.as_ref().map_or(block_rejected, is_rejected);
            if !rejected {
                continue;
            }
            found.push(Rejection {
                position,
                end_to_end_id: tx
                    .original_end_to_end_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|id| !id.is_empty() && *id != "NOTPROVIDED")
                    .map(str::to_owned),
                reason_code: tx
                    .reason_codes
                    .first()
                    .map(|c| c.as_code())
                    .or(block_reason)
                    .map(str::to_owned),
                amount: amount_of(tx),
            });
        }
    }
    if report.payment_info_statuses.is_empty() && group_rejected {
        whole.push(format!(
            "collection file {} rejected whole ({})",
            report.original_msg_id,
            group_reason.unwrap_or("no reason code")
        ));
    }
    (found, whole)
}

fn is_rejected(status: &PaymentStatus) -> bool {
    matches!(status, PaymentStatus::Rjct)
}

fn amount_of(tx: &TransactionStatus) -> Option<Money> {
    let currency = Currency::from_code(tx.original_currency.as_deref()?).ok()?;
    Some(Money::from_minor(tx.original_amount_ct?, currency))
}

/// The report's day: `GrpHdr/CreDtTm`'s date, else today.
fn report_day(report: &Pain002Document, now: DateTime<Utc>) -> NaiveDate {
    report
        .created_at_raw
        .trim()
        .get(..10)
        .and_then(|day| day.parse().ok())
        .unwrap_or_else(|| now.date_naive())
}

impl ImportService {
    /// Imports a pain.002 status report (see the module documentation).
    pub(crate) async fn import_status_report(
        &self,
        source: &str,
        xml: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ImportReport, ImportError> {
        let entity = self.store.billing_entity(&self.entity_id).await?;
        let report = match parse(xml) {
            Ok(report) => report,
            Err(reason) => {
                self.store
                    .put_attention_note(
                        &entity.id,
                        &format!("status_report_refused#{source}"),
                        &format!("status report {source} was refused: {reason}"),
                        now,
                    )
                    .await?;
                return Err(ImportError::StatusReportRefused { reason });
            }
        };
        let report_id = billing_store::statement_key(&entity.id, &report.msg_id, "pain.002");
        let mut result = ImportReport::default();
        if self.store.statement(&report_id).await?.is_some() {
            result.already_imported = 1;
            return Ok(result);
        }
        let handled = self.store.handled_entries(&report_id).await?;
        let (found, whole) = rejections(&report);
        let day = report_day(&report, now);
        for (position, what) in whole.iter().enumerate() {
            // Which invoices a whole rejected file held is the collection
            // step's record; a clerk sends the file again once fixed.
            self.store
                .put_attention_note(
                    &entity.id,
                    &format!(
                        "collection_rejected#{}#{}",
                        report.original_msg_id,
                        position + 1
                    ),
                    &format!("status report {}: {what}", report.msg_id),
                    now,
                )
                .await?;
        }
        let finder = InvoiceNumberFinder::new(&entity.number_series);
        let mut record = StatementRecord {
            statement_id: report_id.clone(),
            source: source.to_owned(),
            booked: 0,
            for_review: 0,
            ignored: 0,
            imported_at: now,
        };
        for rejection in &found {
            let id = rejection
                .end_to_end_id
                .clone()
                .unwrap_or_else(|| format!("#{}", rejection.position));
            let outcome = if handled.contains(&id) {
                EntryOutcome::AlreadyHandled
            } else {
                self.apply_rejection(&entity, &finder, &report_id, &id, rejection, day, now)
                    .await?
            };
            match &outcome {
                EntryOutcome::Rejected { .. } => record.booked += 1,
                EntryOutcome::Review(_) => record.for_review += 1,
                _ => {}
            }
            tracing::info!(
                report = %report.msg_id,
                position = rejection.position,
                outcome = crate::service::outcome_kind(&outcome),
                "status report rejection handled"
            );
            result.entries.push(EntryReport {
                statement: report.msg_id.clone(),
                entry: id,
                amount: rejection
                    .amount
                    .unwrap_or_else(|| Money::zero(Currency::EUR)),
                outcome,
            });
        }
        self.store.record_statement(&record).await?;
        result.imported = 1;
        Ok(result)
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_rejection(
        &self,
        entity: &BillingEntity,
        finder: &InvoiceNumberFinder,
        report_id: &str,
        id: &str,
        rejection: &Rejection,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<EntryOutcome, ImportError> {
        let review = |reason: String, candidates: Vec<InvoiceNumber>| ReviewEntry {
            statement_id: report_id.to_owned(),
            entry_id: id.to_owned(),
            amount: rejection
                .amount
                .unwrap_or_else(|| Money::zero(Currency::EUR)),
            booking_date: day,
            value_date: None,
            creditor_reference: None,
            remittance: rejection
                .end_to_end_id
                .as_ref()
                .map(|e2e| format!("pain.002 rejection of {e2e}")),
            return_reason: rejection.reason_code.clone(),
            reason,
            candidates,
            since: now,
        };
        let put_for_review = |entry: ReviewEntry| async move {
            let reason = entry.reason.clone();
            Ok::<_, ImportError>(if self.store.put_for_review(&entity.id, &entry).await? {
                EntryOutcome::Review(reason)
            } else {
                EntryOutcome::AlreadyHandled
            })
        };
        let Some(end_to_end_id) = rejection.end_to_end_id.as_deref() else {
            return put_for_review(review(
                "a rejected collection without an end-to-end id: which invoice it was is unclear"
                    .to_owned(),
                Vec::new(),
            ))
            .await;
        };
        // Our end-to-end id is the invoice number; read it as the matcher
        // reads remittance text (case, separators).
        let mut invoices = Vec::new();
        for number in finder.find(end_to_end_id) {
            invoices.extend(
                self.store
                    .invoices_by_number(&entity.id, &number)
                    .await?
                    .into_iter()
                    .filter(|invoice| invoice.billing_entity_id == entity.id),
            );
        }
        let [invoice] = invoices.as_slice() else {
            let reason = if invoices.is_empty() {
                format!(
                    "the rejected collection's end-to-end id {end_to_end_id} names no invoice of ours"
                )
            } else {
                format!(
                    "the rejected collection's end-to-end id {end_to_end_id} names several invoices"
                )
            };
            let candidates = invoices.iter().map(|i| i.number.clone()).collect();
            return put_for_review(review(reason, candidates)).await;
        };
        let blocker = if invoice.cancelled {
            Some("is cancelled")
        } else if invoice.written_off {
            Some("is written off")
        } else if invoice.summary.status == InvoiceStatus::Paid {
            Some("is paid: a collection rejected before settlement cannot have paid it")
        } else {
            None
        };
        if let Some(blocker) = blocker {
            return put_for_review(review(
                format!(
                    "the bank rejected the collection of {} ({}), but the invoice {blocker}",
                    invoice.number,
                    rejection.reason_code.as_deref().unwrap_or("no reason code")
                ),
                vec![invoice.number.clone()],
            ))
            .await;
        }
        let returned = DirectDebitReturn {
            reason_code: rejection.reason_code.clone(),
            bank_fee: None,
            actor: import_actor(),
        };
        let recorded = self
            .store
            .record_rejection(&DirectDebitRejection {
                report_id: report_id.to_owned(),
                transaction_id: id.to_owned(),
                invoice_id: invoice.invoice_id.clone(),
                account_id: invoice.account_id.clone(),
                returned: returned.clone(),
                on: day,
                at: now,
            })
            .await?;
        if !recorded {
            return Ok(EntryOutcome::AlreadyHandled);
        }
        // Not collected: the invoice is dunned from its due date on, as any
        // unpaid invoice (a no-op while it is still in the dunning index).
        self.store
            .resume_dunning_after_return(&invoice.invoice_id, invoice.due_date)
            .await?;
        let mandate_blocked = self
            .after_return(entity, invoice, None, &returned, day, now)
            .await?;
        Ok(EntryOutcome::Rejected {
            invoice: invoice.number.clone(),
            reason_code: rejection.reason_code.clone(),
            mandate_blocked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
 <CstmrPmtStsRpt>
  <GrpHdr><MsgId>STATUS-1</MsgId><CreDtTm>2026-03-02T08:15:00</CreDtTm>
   <InitgPty><Id><OrgId><AnyBIC>COBADEFFXXX</AnyBIC></OrgId></Id></InitgPty></GrpHdr>
  <OrgnlGrpInfAndSts><OrgnlMsgId>DD-SELLER-CORE-20260305</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
  <OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-1</OrgnlPmtInfId><PmtInfSts>PART</PmtInfSts>
   <TxInfAndSts><OrgnlEndToEndId>RE-2026-000001</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>
   <TxInfAndSts><OrgnlEndToEndId>RE-2026-000002</OrgnlEndToEndId><TxSts>RJCT</TxSts>
    <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>
    <OrgnlTxRef><Amt><InstdAmt Ccy="EUR">238.00</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>
  </OrgnlPmtInfAndSts>
  <OrgnlPmtInfAndSts><OrgnlPmtInfId>PMT-2</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
   <StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>
  </OrgnlPmtInfAndSts>
 </CstmrPmtStsRpt>
</Document>"#;

    #[test]
    fn a_status_report_is_told_from_a_statement_by_its_message_element() {
        assert!(is_status_report(REPORT.as_bytes()));
        assert!(is_status_report(
            br#"<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><p:CstmrPmtStsRpt/></p:Document>"#
        ));
        assert!(!is_status_report(
            br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/></Document>"#
        ));
        assert!(!is_status_report(b"not xml at all <"));
        assert!(!is_status_report(b""));
    }

    #[test]
    fn rejections_carry_the_end_to_end_id_reason_and_amount_and_whole_blocks_are_named() {
        let report = parse(REPORT.as_bytes()).unwrap();
        let (found, whole) = rejections(&report);
        assert_eq!(
            found,
            [Rejection {
                position: 2,
                end_to_end_id: Some("RE-2026-000002".into()),
                reason_code: Some("AC04".into()),
                amount: Some(Money::from_minor(23_800, Currency::EUR)),
            }]
        );
        assert_eq!(whole, ["payment block PMT-2 rejected whole (FF01)"]);
        assert_eq!(
            report_day(&report, Utc::now()),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
        );
    }

    #[test]
    fn a_rejected_block_rejects_its_transactions_without_own_status_with_its_reason() {
        let xml = REPORT.replace("<TxSts>ACCP</TxSts>", "").replace(
            "<PmtInfSts>PART</PmtInfSts>",
            "<PmtInfSts>RJCT</PmtInfSts><StsRsnInf><Rsn><Cd>MD01</Cd></Rsn></StsRsnInf>",
        );
        let (found, _) = rejections(&parse(xml.as_bytes()).unwrap());
        let codes: Vec<_> = found
            .iter()
            .map(|r| (r.end_to_end_id.as_deref(), r.reason_code.as_deref()))
            .collect();
        assert_eq!(
            codes,
            [
                (Some("RE-2026-000001"), Some("MD01")),
                (Some("RE-2026-000002"), Some("AC04")),
            ]
        );
    }

    #[test]
    fn a_malformed_report_is_refused_naming_the_element() {
        let cases = [
            (REPORT.replace("<MsgId>STATUS-1</MsgId>", ""), "<MsgId>"),
            (
                REPORT.replace("<OrgnlMsgId>DD-SELLER-CORE-20260305</OrgnlMsgId>", ""),
                "<OrgnlMsgId>",
            ),
            (REPORT.replace("</CstmrPmtStsRpt>", ""), ""),
        ];
        for (xml, element) in cases {
            let reason = parse(xml.as_bytes()).unwrap_err();
            assert!(reason.contains(element), "{reason} should name {element}");
        }
        assert!(parse(&[0xff, 0xfe]).unwrap_err().contains("UTF-8"));
    }
}
