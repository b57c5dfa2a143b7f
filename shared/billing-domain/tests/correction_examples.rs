//! Cancellation and partial credit notes built from a finalized invoice,
//! with every amount written out.

mod common;
mod invoice_fixtures;

use billing_domain::correction::{
    CreditSelection, Credited, LineCredit, cancellation, partial_credit, release_periods,
};
use billing_domain::ids::{InvoiceId, SubscriptionId, SubscriptionItemId};
use billing_domain::invoice::CorrectionKind;
use billing_domain::invoice::{Invoice, InvoiceDraft};
use billing_domain::item::LineSource;
use billing_domain::item::UnitCode;
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::InvoiceNumber;
use billing_domain::tax::{TaxCategory, VatCategoryCode};
use invoice_fixtures::*;
use rust_decimal_macros::dec;

/// 2 × 49.00 at 19 % and 1 × 24.50 at 7 %: net 122.50, tax 18.62 + 1.72,
/// gross 142.84; the first line bills January of contract `sub_1`.
fn original() -> Invoice {
    let lines = vec![
        line(
            "Licence",
            dec!(2),
            UnitCode::month(),
            eur(dec!(49.00)),
            TaxCategory::Standard,
        )
        .with_period(january_2026())
        .with_source(LineSource::Subscription {
            subscription_id: SubscriptionId::new("sub_1"),
            item_id: Some(SubscriptionItemId::new("item_1")),
        }),
        line(
            "Handbook",
            dec!(1),
            UnitCode::piece(),
            eur(dec!(24.50)),
            TaxCategory::Reduced,
        ),
    ];
    InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines))
        .unwrap()
        .finalize(InvoiceNumber::new("RE-2026-000007"))
}

fn totals(draft: &InvoiceDraft) -> String {
    let t = &draft.totals;
    format!(
        "{} + {} = {}",
        t.net_total.amount(),
        t.tax_total.amount(),
        t.gross_total.amount()
    )
}

#[test]
fn a_cancellation_credits_every_line_and_refers_to_the_original() {
    let original = original();
    assert_eq!(totals(original.content()), "122.50 + 20.34 = 142.84");
    let issued = date(2026, 2, 10);
    let c = cancellation(
        &original,
        &Credited::default(),
        InvoiceId::new("inv_gs"),
        issued,
    )
    .unwrap();
    let d = &c.draft;
    assert_eq!(d.document_type, DocumentType::CreditNote);
    assert_eq!(d.document_type.code(), 381);
    // Positive amounts: the type code says "credit".
    assert_eq!(totals(d), "122.50 + 20.34 = 142.84");
    assert_eq!(d.lines.len(), 2);
    assert_eq!(d.due_date, issued);
    let r = &d.references;
    assert_eq!(
        r.preceding_invoice.as_ref().unwrap().as_str(),
        "RE-2026-000007"
    );
    assert_eq!(
        r.preceding_invoice_date,
        Some(original.content().issue_date)
    );
    assert_eq!(r.correction, Some(CorrectionKind::Cancellation));
    assert_eq!(c.credited_after.gross.unwrap().amount(), dec!(142.84));
    assert_eq!(c.credited_after.lines.get(&1), Some(&dec!(2)));
}

#[test]
fn a_credit_note_cannot_be_cancelled_nor_predate_its_original() {
    let original = original();
    let credit = cancellation(
        &original,
        &Credited::default(),
        InvoiceId::new("gs"),
        date(2026, 2, 1),
    )
    .unwrap()
    .draft
    .finalize(InvoiceNumber::new("RK-2026-000001"));
    assert!(
        cancellation(
            &credit,
            &Credited::default(),
            InvoiceId::new("x"),
            date(2026, 2, 1)
        )
        .is_err()
    );
    assert!(
        cancellation(
            &original,
            &Credited::default(),
            InvoiceId::new("x"),
            date(2026, 1, 1)
        )
        .is_err()
    );
}

#[test]
fn partial_credits_never_exceed_a_line_or_the_total() {
    let original = original();
    let on = date(2026, 2, 10);
    // One of the two licences: 49.00 + 9.31 = 58.31.
    let one = CreditSelection::Lines {
        lines: vec![LineCredit {
            position: 1,
            quantity: Some(dec!(1)),
        }],
    };
    let first = partial_credit(
        &original,
        &Credited::default(),
        &one,
        InvoiceId::new("gs1"),
        on,
    )
    .unwrap();
    assert_eq!(totals(&first.draft), "49.00 + 9.31 = 58.31");
    assert_eq!(
        first.draft.references.correction,
        Some(CorrectionKind::PartialCredit)
    );
    assert_eq!(first.credited_after.lines.get(&1), Some(&dec!(1)));
    // The second licence is still creditable, a third is not.
    let second = partial_credit(
        &original,
        &first.credited_after,
        &one,
        InvoiceId::new("gs2"),
        on,
    )
    .unwrap();
    let err = partial_credit(
        &original,
        &second.credited_after,
        &one,
        InvoiceId::new("gs3"),
        on,
    )
    .unwrap_err();
    assert!(err.to_string().contains("lines/0/quantity"), "{err}");
    // An unknown line is named.
    let unknown = CreditSelection::Lines {
        lines: vec![LineCredit {
            position: 9,
            quantity: None,
        }],
    };
    assert!(
        partial_credit(
            &original,
            &Credited::default(),
            &unknown,
            InvoiceId::new("x"),
            on
        )
        .unwrap_err()
        .to_string()
        .contains("no line 9")
    );
    // What is left is 142.84 − 116.62 = 26.22 gross: the handbook (24.50 +
    // 1.72 = 26.22) fits exactly, one cent more by amount does not.
    let rest = second.credited_after.remaining(&original).unwrap();
    assert_eq!(rest.amount(), dec!(26.22));
    let too_much = CreditSelection::Amount {
        net: eur(dec!(24.51)),
        category: VatCategoryCode::S,
        rate: dec!(7),
        description: None,
    };
    let err = partial_credit(
        &original,
        &second.credited_after,
        &too_much,
        InvoiceId::new("x"),
        on,
    )
    .unwrap_err();
    assert!(err.to_string().contains("exceeds the 26.22"), "{err}");
    let exact = CreditSelection::Amount {
        net: eur(dec!(24.50)),
        category: VatCategoryCode::S,
        rate: dec!(7),
        description: None,
    };
    let last = partial_credit(
        &original,
        &second.credited_after,
        &exact,
        InvoiceId::new("gs4"),
        on,
    )
    .unwrap();
    assert_eq!(totals(&last.draft), "24.50 + 1.72 = 26.22");
    assert_eq!(
        last.draft.lines[0].item.description,
        "Entgeltminderung zu Rechnung RE-2026-000007"
    );
    assert!(last.credited_after.remaining(&original).unwrap().is_zero());
    // Credited in full: nothing is left to cancel, and it says so.
    let err = cancellation(&original, &last.credited_after, InvoiceId::new("x"), on).unwrap_err();
    assert!(
        err.to_string().contains("credited in full already"),
        "{err}"
    );
}

#[test]
fn an_amount_must_use_a_vat_group_of_the_original() {
    let original = original();
    let wrong = CreditSelection::Amount {
        net: eur(dec!(10.00)),
        category: VatCategoryCode::S,
        rate: dec!(16),
        description: None,
    };
    let err = partial_credit(
        &original,
        &Credited::default(),
        &wrong,
        InvoiceId::new("x"),
        date(2026, 2, 1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no VAT group S at 16"), "{err}");
}

#[test]
fn released_periods_go_back_to_the_day_before_the_invoice_period() {
    let original = original();
    let mut item = common::monthly_licence(eur(dec!(49)));
    item.id = SubscriptionItemId::new("item_1");
    item.billed_through = Some(date(2026, 1, 31));
    let mut contract = common::subscription("sub_1", date(2025, 12, 1), vec![item]);
    let released = release_periods(&contract, &original).unwrap();
    assert_eq!(released.items[0].billed_through, Some(date(2025, 12, 31)));
    // Billed further since: refused, naming the contract.
    contract.items[0].billed_through = Some(date(2026, 2, 28));
    let err = release_periods(&contract, &original).unwrap_err();
    assert!(
        err.to_string()
            .contains("contract sub_1 is billed through 2026-02-28"),
        "{err}"
    );
}
