//! The remittance-text corpus of issue 21: how payers and banks really
//! write invoice numbers, each text with the invoice numbers it means (none
//! for texts that must match nothing), read by the transfer matcher's
//! `InvoiceNumberFinder` with the seller's default series (`RE-{YYYY}-{SEQ:6}`
//! for invoices, `RK-…` for credit notes).
//!
//! A text is matched automatically when the finder names exactly the
//! invoices meant; it is wrong when the finder names any invoice not meant
//! (that would book money on the wrong invoice, so there must be none); the
//! rest go to the review list. The share matched is printed and recorded in
//! `docs/performance.md`; the test fails on any wrong match and if the
//! share falls below what was recorded.
//!
//! Run: `cargo test --workspace --locked --test matching_corpus -- --nocapture`.

use billing_domain::matching::InvoiceNumberFinder;
use billing_domain::numbering::{DocumentType, NumberSeries};

/// (remittance text as received, the invoice numbers it means).
const CORPUS: &[(&str, &[&str])] = &[
    // As printed, in the usual wrappings.
    ("RE-2026-000123", &["RE-2026-000123"]),
    ("Rechnung RE-2026-000123", &["RE-2026-000123"]),
    (
        "Rechnungsnr. RE-2026-000123 vom 02.03.2026",
        &["RE-2026-000123"],
    ),
    ("Invoice RE-2026-000123, thank you", &["RE-2026-000123"]),
    ("RE-2026-000123 Kd-Nr 4711", &["RE-2026-000123"]),
    ("SVWZ+RE-2026-000123 EREF+NOTPROVIDED", &["RE-2026-000123"]),
    ("(RE-2026-000123)", &["RE-2026-000123"]),
    ("Rg.RE-2026-000123", &["RE-2026-000123"]),
    // Case and separators as typed.
    ("re-2026-000123", &["RE-2026-000123"]),
    ("Re 2026 000123", &["RE-2026-000123"]),
    ("RE2026000123", &["RE-2026-000123"]),
    ("RE 2026-000123", &["RE-2026-000123"]),
    ("RE/2026/000123", &["RE-2026-000123"]),
    ("RE.2026.000123", &["RE-2026-000123"]),
    ("RE_2026_000123", &["RE-2026-000123"]),
    ("RE - 2026 - 000123", &["RE-2026-000123"]),
    ("RE-2026-000 123", &["RE-2026-000123"]),
    // Dashes that are not the hyphen-minus: word processors and banking
    // apps turn "-" into these.
    ("RE\u{2013}2026\u{2013}000123", &["RE-2026-000123"]),
    ("RE\u{2014}2026\u{2014}000123", &["RE-2026-000123"]),
    ("RE\u{2212}2026\u{2212}000123", &["RE-2026-000123"]),
    ("RE\u{2011}2026\u{2011}000123", &["RE-2026-000123"]),
    ("RE\u{2010}2026\u{2010}000123", &["RE-2026-000123"]),
    (
        "Rechnung RE\u{2013}2026\u{2013}000124 Danke",
        &["RE-2026-000124"],
    ),
    // Text broken across the 35-character lines of the payment order (the
    // statement reader joins the lines with a space).
    (
        "Zahlung zu Rechnung RE-2026-0001 23 vielen Dank",
        &["RE-2026-000123"],
    ),
    (
        "Zahlung Rechnungsnummer RE-20 26-000123",
        &["RE-2026-000123"],
    ),
    (
        "Beitrag Maerz Rechnung RE- 2026-000123",
        &["RE-2026-000123"],
    ),
    // Several invoices in one transfer.
    (
        "RE-2026-000123 RE-2026-000124",
        &["RE-2026-000123", "RE-2026-000124"],
    ),
    (
        "RE-2026-000123, RE-2026-000124 und RE-2026-000125",
        &["RE-2026-000123", "RE-2026-000124", "RE-2026-000125"],
    ),
    (
        "RE-2026-000123/RE-2026-000124",
        &["RE-2026-000123", "RE-2026-000124"],
    ),
    (
        "RE-2026-000123+RE-2026-000124",
        &["RE-2026-000123", "RE-2026-000124"],
    ),
    ("RE-2026-000123/124", &["RE-2026-000123", "RE-2026-000124"]),
    (
        "RE-2026-000123 u. 124",
        &["RE-2026-000123", "RE-2026-000124"],
    ),
    // The series prefix dropped (unambiguous: only invoices have this form).
    ("2026-000123", &["RE-2026-000123"]),
    ("Rechnung 2026-000123", &["RE-2026-000123"]),
    // Leading zeros of the sequence left out.
    ("RE-2026-123", &["RE-2026-000123"]),
    ("Rechnung RE 2026 123", &["RE-2026-000123"]),
    ("re-2026-0123", &["RE-2026-000123"]),
    // Credit notes are numbers of their own series.
    ("Gutschrift RK-2026-000007", &["RK-2026-000007"]),
    // Texts that must match nothing.
    ("Spende Sommerfest", &[]),
    ("Miete Maerz 2026", &[]),
    ("Kundennummer 2026000123", &[]),
    ("Tel. 0221 2026000123", &[]),
    ("IBAN DE89 3704 0044 0532 0130 00", &[]),
    ("Bestellung PO-2026-000123", &[]),
    ("ARE-2026-000123", &[]),
    ("RE-2026-0001234", &[]),
    ("RE-2026-000123X", &[]),
    ("RE-2026-00012", &[]),
    ("REF 2026 000123", &[]),
    ("Auftrag 12345 vom 02.03.2026", &[]),
    ("Lohn 03/2026", &[]),
    ("Erstattung Kaution", &[]),
    ("RF18 5390 0754 7034", &[]),
    ("RE-2026", &[]),
    // Numbers after an invoice number that are no second invoice.
    ("RE-2026-000123, 45 Stueck", &["RE-2026-000123"]),
    ("RE-2026-000123 u. 150,00 EUR", &["RE-2026-000123"]),
    ("Rechnung 2026 000123", &[]),
    ("RE-2026-00012 3", &["RE-2026-000123"]),
];

/// The share matched when this was recorded (matched / texts meaning an
/// invoice), as a floor: the matcher may get better, never worse.
const RECORDED_MATCHED: usize = 38;

#[test]
fn the_matcher_reads_the_corpus_without_a_wrong_match() {
    let finder = InvoiceNumberFinder::new(&[
        NumberSeries::german_default(DocumentType::Invoice),
        NumberSeries::german_default(DocumentType::CreditNote),
    ]);
    assert!(CORPUS.len() >= 50, "the issue asks for at least 50 texts");
    let mut matched = 0;
    let mut meant = 0;
    let mut wrong = Vec::new();
    let mut for_review = Vec::new();
    for (text, expected) in CORPUS {
        let found: Vec<String> = finder
            .find(text)
            .into_iter()
            .map(|number| number.as_str().to_owned())
            .collect();
        if found
            .iter()
            .any(|number| !expected.contains(&number.as_str()))
        {
            wrong.push(format!("{text:?} → {found:?}, meant {expected:?}"));
            continue;
        }
        if expected.is_empty() {
            continue;
        }
        meant += 1;
        if found.len() == expected.len() {
            matched += 1;
        } else {
            for_review.push(format!("{text:?} → {found:?}, meant {expected:?}"));
        }
    }
    let must_not = CORPUS.len() - meant - wrong.len();
    println!(
        "matching corpus: {} texts; {matched} of {meant} naming invoices matched automatically \
         ({:.0} %), {} wrong; {must_not} texts meaning none matched nothing",
        CORPUS.len(),
        100.0 * matched as f64 / meant as f64,
        wrong.len()
    );
    for text in &for_review {
        println!("  to review: {text}");
    }
    assert!(wrong.is_empty(), "wrong matches: {wrong:#?}");
    assert!(
        matched >= RECORDED_MATCHED,
        "{matched} matched, fewer than the {RECORDED_MATCHED} recorded"
    );
}
