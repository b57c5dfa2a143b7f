//! The plain CSV journal, for ERPs that do not read DATEV: one row per
//! booking line, so every booking balances within the file.
//!
//! RFC 4180: UTF-8 without byte-order mark, comma-separated, CR LF after
//! every line, a field in double quotes (inner quotes doubled) when it
//! holds a comma, quote or line break. Amounts with a dot and the
//! currency's decimals, dates ISO 8601, like the revenue reports' CSV.
//! Values are written as booked: an importing ERP must see the document
//! numbers and texts unchanged, so nothing is prefixed to keep a
//! spreadsheet from reading a formula.

use billing_domain::journal::{Booking, Side};

/// The header line: the columns in order.
pub const CSV_JOURNAL_COLUMNS: &str = "period,booking_date,document_date,document_number,invoice_number,debtor_account,account,debit,credit,currency,tax_key,text";

fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The CSV journal of `bookings`, in the order given (the journal orders
/// them by booking date and document number). A pure function of its
/// input: the same bookings give the same bytes.
pub fn csv_journal(bookings: &[Booking]) -> Vec<u8> {
    let mut out = String::from(CSV_JOURNAL_COLUMNS);
    out.push_str("\r\n");
    for booking in bookings {
        for line in &booking.lines {
            let amount = line.amount.round();
            let (debit, credit) = match line.side {
                Side::Debit => (amount.amount().to_string(), String::new()),
                Side::Credit => (String::new(), amount.amount().to_string()),
            };
            let row = [
                booking.period.to_string(),
                booking.booking_date.to_string(),
                booking.document_date.to_string(),
                field(&booking.document_number),
                field(&booking.invoice_number),
                booking.debtor_account.to_string(),
                line.account.to_string(),
                debit,
                credit,
                amount.currency().code().to_owned(),
                line.tax_key
                    .map(|k| k.value().to_string())
                    .unwrap_or_default(),
                field(&booking.text),
            ];
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    use billing_domain::journal::JournalEventKind as K;
    use billing_domain::payment::PaymentPurpose;

    use super::*;
    use crate::fixtures::*;

    #[test]
    fn one_row_per_booking_line_with_dot_decimals_and_crlf() {
        let events = [
            event(
                "RE-2026-001",
                "RE-2026-001",
                day(2026, 3, 2),
                "10000",
                K::InvoiceIssued {
                    lines: vec![taxed(dec!(1000), dec!(19), dec!(190))],
                },
            ),
            event(
                "RE-2026-001",
                "RE-2026-001",
                day(2026, 3, 31),
                "10000",
                K::PaymentReceived {
                    amount: eur(dec!(1190)),
                    open_before: claims(dec!(0), dec!(0), dec!(1190)),
                    purpose: PaymentPurpose::Statutory,
                },
            ),
        ];
        let csv = csv_journal(&bookings(&events, march()));
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "period,booking_date,document_date,document_number,invoice_number,debtor_account,account,debit,credit,currency,tax_key,text\r\n\
             2026-03,2026-03-02,2026-03-02,RE-2026-001,RE-2026-001,10000,10000,1190.00,,EUR,,Rechnung RE-2026-001\r\n\
             2026-03,2026-03-02,2026-03-02,RE-2026-001,RE-2026-001,10000,8400,,1000.00,EUR,,Rechnung RE-2026-001\r\n\
             2026-03,2026-03-02,2026-03-02,RE-2026-001,RE-2026-001,10000,1776,,190.00,EUR,,Rechnung RE-2026-001\r\n\
             2026-03,2026-03-31,2026-03-31,RE-2026-001,RE-2026-001,10000,1200,1190.00,,EUR,,Zahlung RE-2026-001\r\n\
             2026-03,2026-03-31,2026-03-31,RE-2026-001,RE-2026-001,10000,10000,,1190.00,EUR,,Zahlung RE-2026-001\r\n"
        );
    }

    #[test]
    fn text_with_separators_is_quoted_and_kept_in_utf8() {
        let mut bookings = bookings(&march_events()[..1], march());
        bookings[0].text = "Müller, \"Łódź\"\nNord".to_owned();
        let csv = String::from_utf8(csv_journal(&bookings)).unwrap();
        let first = csv.split("\r\n").nth(1).unwrap();
        assert!(
            first.ends_with(",\"Müller, \"\"Łódź\"\"\nNord\""),
            "{first}"
        );
    }

    /// A minimal RFC 4180 reader for the checks below.
    fn records(csv: &str) -> Vec<Vec<String>> {
        let mut records = vec![vec![String::new()]];
        let mut quoted = false;
        let mut chars = csv.chars().peekable();
        while let Some(c) = chars.next() {
            let record = records.last_mut().unwrap();
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    record.last_mut().unwrap().push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => record.push(String::new()),
                ('\r', false) => {
                    assert_eq!(chars.next(), Some('\n'), "CR LF line ends");
                    records.push(vec![String::new()]);
                }
                (c, _) => record.last_mut().unwrap().push(c),
            }
        }
        assert_eq!(
            records.pop(),
            Some(vec![String::new()]),
            "the file ends with CR LF"
        );
        records
    }

    #[test]
    fn every_booking_balances_within_the_file_and_the_same_input_gives_the_same_bytes() {
        let bookings = bookings(&march_events(), march());
        let csv = csv_journal(&bookings);
        assert_eq!(csv, csv_journal(&bookings));
        let records = records(&String::from_utf8(csv).unwrap());
        assert_eq!(records[0].join(","), CSV_JOURNAL_COLUMNS);
        let lines: usize = bookings.iter().map(|b| b.lines.len()).sum();
        assert_eq!(records.len() - 1, lines);
        let mut per_document = std::collections::BTreeMap::<(String, String), Decimal>::new();
        for record in &records[1..] {
            assert_eq!(record.len(), 12, "{record:?}");
            let amount = |text: &str| text.parse::<Decimal>().unwrap_or_default();
            let key = (record[1].clone(), record[3].clone());
            *per_document.entry(key).or_default() += amount(&record[7]) - amount(&record[8]);
        }
        assert!(
            per_document.values().all(Decimal::is_zero),
            "{per_document:?}"
        );
    }
}
