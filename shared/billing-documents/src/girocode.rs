//! The GiroCode (EPC QR code, EPC069-12 version 002) printed beside the
//! payment terms, so a customer pays by scanning the invoice with a banking
//! app instead of typing IBAN, amount and reference.
//!
//! Only for what a SEPA credit transfer can pay: an invoice (not a credit
//! note, where money flows the other way) with an amount due in euros, paid
//! by transfer. The payload is built from the same finalized invoice as the
//! PDF and the XML, so the code can never disagree with the printed text.

use billing_domain::invoice::Invoice;
use billing_domain::money::Currency;
use billing_domain::numbering::DocumentType;
use billing_domain::reference::CreditorReference;
use qrcode::{Color, EcLevel, QrCode};
use rust_decimal::Decimal;

use crate::cii::{PaymentMeans, payment_means};

/// The most EPC069-12 allows in the amount field (EUR 999,999,999.99).
fn max_amount() -> Decimal {
    Decimal::new(99_999_999_999, 2)
}

/// Longest beneficiary name (element 6).
const MAX_NAME_CHARS: usize = 70;

/// Longest unstructured remittance text (element 11).
const MAX_REMITTANCE_CHARS: usize = 140;

/// What the EPC QR code of an invoice says, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpcTransfer {
    /// The payee's BIC (optional in version 002 within the EEA).
    pub bic: Option<String>,
    /// The payee: the account holder, or the seller's legal name.
    pub name: String,
    /// The payee's IBAN.
    pub iban: String,
    /// The amount due, `EUR123.45`.
    pub amount: String,
    /// The payment reference, as an ISO 11649 creditor reference (`RF…`)
    /// when it is one, else as unstructured remittance text.
    pub remittance: Remittance,
}

/// Element 10 or 11 of the EPC payload: never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remittance {
    /// A valid ISO 11649 creditor reference (`RF` + check digits).
    Structured(String),
    /// Free text, at most 140 characters.
    Unstructured(String),
}

impl EpcTransfer {
    /// The transfer a customer would make for `invoice`, or `None` when a
    /// QR code would be wrong: a credit note, nothing due, not euros, not
    /// paid by transfer, or an amount beyond what the code can carry.
    pub fn for_invoice(invoice: &Invoice) -> Option<Self> {
        let content = invoice.content();
        let due = invoice.amount_due();
        let payable = content.document_type == DocumentType::Invoice
            && payment_means(invoice) == PaymentMeans::SepaCreditTransfer
            && due.currency() == Currency::EUR
            && due.amount() > Decimal::ZERO
            && due.round().amount() <= max_amount();
        if !payable {
            return None;
        }
        let seller = &content.seller;
        let bank = &seller.bank_account;
        let name = bank.account_holder.as_deref().unwrap_or(&seller.legal_name);
        let reference = content
            .references
            .payment_reference
            .clone()
            .unwrap_or_else(|| invoice.number().as_str().to_owned());
        let remittance = match CreditorReference::recognise(&reference) {
            Some(structured) => Remittance::Structured(structured.as_str().to_owned()),
            None => Remittance::Unstructured(one_line(&reference, MAX_REMITTANCE_CHARS)),
        };
        Some(Self {
            bic: bank.bic.as_ref().map(|b| b.as_str().to_owned()),
            name: one_line(name, MAX_NAME_CHARS),
            iban: bank.iban.as_str().to_owned(),
            amount: format!("EUR{}", due.round().amount()),
            remittance,
        })
    }

    /// The EPC069-12 payload: version 002, UTF-8 (character set 1), SEPA
    /// credit transfer, one element per line, trailing empty ones omitted.
    pub fn payload(&self) -> String {
        let (structured, unstructured) = match &self.remittance {
            Remittance::Structured(reference) => (reference.as_str(), ""),
            Remittance::Unstructured(text) => ("", text.as_str()),
        };
        let elements = [
            "BCD",
            "002",
            "1",
            "SCT",
            self.bic.as_deref().unwrap_or(""),
            &self.name,
            &self.iban,
            &self.amount,
            "", // purpose code
            structured,
            unstructured,
        ];
        let used = elements
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |i| i + 1);
        elements[..used].join("\n")
    }

    /// The QR code as SVG (error correction M, as EPC069-12 asks), black
    /// on white with its 4-module quiet zone, one unit per module, for the
    /// template to scale. Each row's runs of dark modules are one rectangle
    /// of a single path (the `qrcode` crate's own SVG draws every module),
    /// so Typst has fewer shapes to convert on every render.
    pub fn svg(&self) -> Option<String> {
        let code =
            QrCode::with_error_correction_level(self.payload().as_bytes(), EcLevel::M).ok()?;
        let width = code.width();
        let colors = code.to_colors();
        let size = width + 2 * QUIET_ZONE;
        let mut path = String::with_capacity(width * width * 2);
        for (y, row) in colors.chunks(width).enumerate() {
            let mut x = 0;
            while x < width {
                if row[x] == Color::Dark {
                    let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
                    path.push_str(&format!(
                        "M{} {}h{run}v1h-{run}z",
                        x + QUIET_ZONE,
                        y + QUIET_ZONE
                    ));
                    x += run;
                } else {
                    x += 1;
                }
            }
        }
        Some(format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
             shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" \
             fill=\"#ffffff\"/><path fill=\"#000000\" d=\"{path}\"/></svg>"
        ))
    }
}

/// Light modules around the code, as ISO/IEC 18004 requires for reading.
const QUIET_ZONE: usize = 4;

/// One line (line breaks would shift every later element) of at most
/// `max` characters.
fn one_line(text: &str, max: usize) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn an_invoice_gets_the_epc_payload_of_its_transfer() {
        let invoice = samples::german_consumer().unwrap();
        let transfer = EpcTransfer::for_invoice(&invoice).unwrap();
        let gross = invoice.amount_due().amount();
        assert_eq!(
            transfer.payload(),
            format!(
                "BCD\n002\n1\nSCT\nCOBADEFFXXX\nBeispiel Software GmbH\nDE89370400440532013000\n\
                 EUR{gross}\n\nRF29RE2026000042"
            )
        );
        assert!(transfer.svg().unwrap().contains("<svg"));
    }

    #[test]
    fn a_creditor_reference_is_structured_remittance() {
        let invoice = samples::reverse_charge_austria().unwrap();
        assert_eq!(
            EpcTransfer::for_invoice(&invoice).unwrap().remittance,
            Remittance::Structured("RF18539007547034".to_owned())
        );
        let transfer = EpcTransfer {
            bic: None,
            name: "Beispiel Software GmbH".to_owned(),
            iban: "DE89370400440532013000".to_owned(),
            amount: "EUR1.00".to_owned(),
            remittance: Remittance::Structured("RF18539007547034".to_owned()),
        };
        assert_eq!(
            transfer.payload(),
            "BCD\n002\n1\nSCT\n\nBeispiel Software GmbH\nDE89370400440532013000\nEUR1.00\n\n\
             RF18539007547034"
        );
    }

    #[test]
    fn nothing_to_pay_by_transfer_means_no_code() {
        let mut invoice = serde_json::to_value(samples::german_consumer().unwrap()).unwrap();
        invoice["content"]["document_type"] = serde_json::json!("credit_note");
        let credit_note: Invoice = serde_json::from_value(invoice.clone()).unwrap();
        assert_eq!(EpcTransfer::for_invoice(&credit_note), None);

        invoice["content"]["document_type"] = serde_json::json!("invoice");
        let zero = serde_json::json!({"amount": "0.00", "currency": "EUR"});
        invoice["content"]["totals"]["gross_total"] = zero;
        let nothing_due: Invoice = serde_json::from_value(invoice).unwrap();
        assert_eq!(EpcTransfer::for_invoice(&nothing_due), None);
    }

    #[test]
    fn long_names_and_references_are_cut_to_one_line() {
        assert_eq!(one_line("a\nb  c", 10), "a b c");
        assert_eq!(one_line(&"x".repeat(200), 70).len(), 70);
    }
}
