//! Wording and number formats that depend on the customer's language.
//!
//! Only what must be identical in the PDF and the XML (the payment-terms
//! sentence) or what needs exact decimal arithmetic (amounts, quantities)
//! lives here; every other printed word is in the templates, where an
//! operator can change it without a build.

use billing_domain::money::Money;
use billing_domain::party::Language;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Separators, date pattern and fixed sentences of one language.
#[derive(Debug)]
pub struct Labels {
    /// The language code the templates select their wording by.
    pub code: &'static str,
    decimal_separator: char,
    group_separator: char,
    date_format: &'static str,
    payment_terms: &'static str,
    credit_terms: &'static str,
    direct_debit_terms: &'static str,
    default_notice: &'static str,
}

const DE: Labels = Labels {
    code: "de",
    decimal_separator: ',',
    group_separator: '.',
    date_format: "%d.%m.%Y",
    payment_terms: "Zahlbar ohne Abzug bis zum {due}.",
    credit_terms: "Der Betrag wird mit offenen Rechnungen verrechnet oder Ihnen erstattet.",
    direct_debit_terms: "Den Rechnungsbetrag von {amount} ziehen wir am {date} per SEPA-Lastschrift \
                         von Ihrem Konto {account} ein (Gläubiger-Identifikationsnummer \
                         {creditor}, Mandatsreferenz {mandate}).",
    default_notice: "Wenn Sie nicht innerhalb von 30 Tagen nach Fälligkeit und Zugang dieser \
                     Rechnung zahlen, kommen Sie auch ohne Mahnung in Verzug (§ 286 Abs. 3 BGB).",
};

const EN: Labels = Labels {
    code: "en",
    decimal_separator: '.',
    group_separator: ',',
    date_format: "%-d %B %Y",
    payment_terms: "Payable without deduction by {due}.",
    credit_terms: "The amount is offset against open invoices or refunded to you.",
    direct_debit_terms: "We will collect the invoice amount of {amount} by SEPA direct debit from \
                         your account {account} on {date} (creditor identifier {creditor}, \
                         mandate reference {mandate}).",
    default_notice: "If you do not pay within 30 days of the due date and receipt of this \
                     invoice, you will be in default even without a reminder (section 286(3) \
                     German Civil Code, BGB).",
};

/// The formats for `language`.
pub fn labels(language: Language) -> &'static Labels {
    match language {
        Language::De => &DE,
        Language::En => &EN,
    }
}

/// The terms sentence (BT-20) of a document: on a credit note nothing is
/// payable, so it says what happens with the credit instead. An invoice
/// that carries the default notice (a consumer's, §286(3) sentence 1 BGB)
/// adds it here, so the PDF and the XML say it alike.
pub fn document_terms(labels: &Labels, invoice: &billing_domain::invoice::Invoice) -> String {
    let content = invoice.content();
    if content.document_type == billing_domain::numbering::DocumentType::CreditNote {
        return labels.credit_terms.to_owned();
    }
    let terms = match &content.direct_debit {
        Some(notice) => direct_debit_terms(labels, invoice.amount_due(), notice),
        None => payment_terms(labels, content.due_date),
    };
    if content.default_notice {
        format!("{terms} {}", labels.default_notice)
    } else {
        terms
    }
}

/// The pre-notification of a direct-debit invoice (SDD Core Rulebook
/// PT-03.05: amount, collection date, creditor identifier, mandate
/// reference), with the debited account masked to its last four
/// characters; printed and embedded as BT-20 alike.
pub fn direct_debit_terms(
    labels: &Labels,
    amount: Money,
    notice: &billing_domain::invoice::DirectDebitNotice,
) -> String {
    labels
        .direct_debit_terms
        .replace("{amount}", &money(labels, amount))
        .replace("{date}", &date(labels, notice.collection_date))
        .replace(
            "{account}",
            &billing_domain::privacy::masked_account(notice.debited_account.as_str()),
        )
        .replace("{creditor}", notice.creditor_identifier.as_str())
        .replace("{mandate}", notice.mandate_reference.as_str())
}

/// The payment-terms sentence (BT-20), printed and embedded alike.
pub fn payment_terms(labels: &Labels, due: NaiveDate) -> String {
    labels.payment_terms.replace("{due}", &date(labels, due))
}

/// A date as the customer reads it (`31.01.2026`, `31 January 2026`).
pub fn date(labels: &Labels, date: NaiveDate) -> String {
    date.format(labels.date_format).to_string()
}

/// An amount with currency at its minor unit (`1.234,50 EUR`).
pub fn money(labels: &Labels, money: Money) -> String {
    format!(
        "{} {}",
        grouped(labels, money.round().amount()),
        money.currency()
    )
}

/// A unit price: as precise as agreed, at least to the minor unit.
pub fn unit_price(labels: &Labels, money: Money) -> String {
    grouped(labels, price_decimals(money))
}

/// A price without trailing zeros beyond the currency's minor unit
/// (`0.0125`, `12.50`): unit prices may be finer than cents.
pub fn price_decimals(money: Money) -> Decimal {
    let minor = money.currency().minor_units();
    let mut value = money.amount().normalize();
    if value.scale() < minor {
        value.rescale(minor);
    }
    value
}

/// A quantity or rate without trailing zeros (`1,5`, `19`).
pub fn number(labels: &Labels, value: Decimal) -> String {
    grouped(labels, value.normalize())
}

/// Digits grouped by thousands with the language's separators; the decimal
/// text comes from `Decimal` itself, so nothing passes through a float.
fn grouped(labels: &Labels, value: Decimal) -> String {
    let raw = value.abs().to_string();
    let (whole, fraction) = raw.split_once('.').unwrap_or((&raw, ""));
    let mut out = String::with_capacity(raw.len() + raw.len() / 3 + 1);
    if value.is_sign_negative() && !value.is_zero() {
        out.push('-');
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(labels.group_separator);
        }
        out.push(digit);
    }
    if !fraction.is_empty() {
        out.push(labels.decimal_separator);
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_domain::money::Currency;
    use rust_decimal_macros::dec;

    #[test]
    fn german_and_english_number_formats() {
        let amount = Money::new(dec!(1234567.5), Currency::EUR);
        assert_eq!(money(&DE, amount), "1.234.567,50 EUR");
        assert_eq!(money(&EN, amount), "1,234,567.50 EUR");
        assert_eq!(
            money(&DE, Money::new(dec!(-0.5), Currency::EUR)),
            "-0,50 EUR"
        );
        assert_eq!(number(&DE, dec!(1.50)), "1,5");
        assert_eq!(number(&EN, dec!(19.00)), "19");
        assert_eq!(
            unit_price(&DE, Money::new(dec!(0.0125), Currency::EUR)),
            "0,0125"
        );
    }

    #[test]
    fn a_direct_debit_invoice_is_its_own_pre_notification_in_its_language() {
        // SDD Core Rulebook PT-03.05: amount, date, creditor identifier and
        // mandate reference; the account masked to its last four characters.
        let invoice = crate::samples::direct_debit_consumer().unwrap();
        let notice = invoice.content().direct_debit.clone().unwrap();
        assert_eq!(
            direct_debit_terms(&DE, invoice.amount_due(), &notice),
            "Den Rechnungsbetrag von 35,58 EUR ziehen wir am 16.02.2026 per SEPA-Lastschrift \
             von Ihrem Konto ****6199 ein (Gläubiger-Identifikationsnummer DE98ZZZ09999999999, \
             Mandatsreferenz NL-2026-0007)."
        );
        assert_eq!(
            direct_debit_terms(&EN, invoice.amount_due(), &notice),
            "We will collect the invoice amount of 35.58 EUR by SEPA direct debit from your \
             account ****6199 on 16 February 2026 (creditor identifier DE98ZZZ09999999999, \
             mandate reference NL-2026-0007)."
        );
        assert!(document_terms(&DE, &invoice).starts_with("Den Rechnungsbetrag von 35,58 EUR"));
    }

    #[test]
    fn consumer_invoices_carry_the_default_notice_in_their_language() {
        // §286(3) sentence 1 BGB: a consumer defaults 30 days after due
        // date and receipt only if the invoice said so.
        let german = crate::samples::german_consumer().unwrap();
        assert!(german.content().default_notice);
        assert_eq!(
            document_terms(&DE, &german),
            "Zahlbar ohne Abzug bis zum 14.02.2026. Wenn Sie nicht innerhalb von 30 Tagen \
             nach Fälligkeit und Zugang dieser Rechnung zahlen, kommen Sie auch ohne \
             Mahnung in Verzug (§ 286 Abs. 3 BGB)."
        );
        let english = crate::samples::english_consumer().unwrap();
        assert_eq!(
            document_terms(labels(english.content().buyer.language), &english),
            "Payable without deduction by 14 February 2026. If you do not pay within 30 \
             days of the due date and receipt of this invoice, you will be in default even \
             without a reminder (section 286(3) German Civil Code, BGB)."
        );
        // A business defaults after 30 days by statute, without the notice;
        // nothing falls due on a credit note.
        let business = crate::samples::reverse_charge_austria().unwrap();
        assert!(!business.content().default_notice);
        assert!(!document_terms(&EN, &business).contains("286"));
        let cancellation = crate::samples::cancellation().unwrap();
        assert!(!cancellation.content().default_notice);
        assert!(!document_terms(&DE, &cancellation).contains("286"));
    }

    #[test]
    fn dates_and_payment_terms() {
        let due = NaiveDate::from_ymd_opt(2026, 2, 14).unwrap_or_default();
        assert_eq!(date(&DE, due), "14.02.2026");
        assert_eq!(
            payment_terms(&EN, due),
            "Payable without deduction by 14 February 2026."
        );
    }
}
