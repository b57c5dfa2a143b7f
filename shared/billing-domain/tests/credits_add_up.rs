//! Credits that add up: line-by-line credits, amount credits and a final
//! cancellation credit an original exactly to the cent, per VAT group
//! (§17(1) UStG corrects the tax by what was actually reduced; EN 16931
//! BR-CO-14/15 sums per document, BR-CO-17 rounding per group).

mod invoice_fixtures;

use billing_domain::correction::{
    CreditSelection, Credited, CreditedGroup, LineCredit, cancellation, partial_credit,
};
use billing_domain::ids::InvoiceId;
use billing_domain::invoice::{Invoice, InvoiceDraft};
use billing_domain::item::UnitCode;
use billing_domain::numbering::InvoiceNumber;
use billing_domain::tax::{TaxCategory, VatCategoryCode};
use invoice_fixtures::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// `count` lines of one month at `price`, 19 %.
fn original(prices: &[(Decimal, TaxCategory)]) -> Invoice {
    let lines = prices
        .iter()
        .enumerate()
        .map(|(i, (price, category))| {
            line(
                &format!("Seat {}", i + 1),
                dec!(1),
                UnitCode::month(),
                eur(*price),
                category.clone(),
            )
        })
        .collect();
    InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines))
        .unwrap()
        .finalize(InvoiceNumber::new("RE-2026-000042"))
}

fn three(price: Decimal) -> Invoice {
    original(&[
        (price, TaxCategory::Standard),
        (price, TaxCategory::Standard),
        (price, TaxCategory::Standard),
    ])
}

fn line_credit(position: usize) -> CreditSelection {
    CreditSelection::Lines {
        lines: vec![LineCredit {
            position,
            quantity: None,
        }],
    }
}

fn on() -> chrono::NaiveDate {
    date(2026, 2, 10)
}

/// `net + tax = gross` of a credit note.
fn sums(draft: &InvoiceDraft) -> String {
    let t = &draft.totals;
    format!(
        "{} + {} = {}",
        t.net_total.amount(),
        t.tax_total.amount(),
        t.gross_total.amount()
    )
}

#[test]
fn three_lines_of_10_50_credited_one_by_one_add_up_to_37_49() {
    let original = three(dec!(10.50));
    // 3 × 10.50 = 31.50 net; 31.50 × 19 % = 5.985 → 5.99; gross 37.49.
    assert_eq!(sums(original.content()), "31.50 + 5.99 = 37.49");
    let mut credited = Credited::default();
    let mut notes = Vec::new();
    for position in 1..=3 {
        let c = partial_credit(
            &original,
            &credited,
            &line_credit(position),
            InvoiceId::new(format!("rk{position}")),
            on(),
        )
        .unwrap();
        notes.push(sums(&c.draft));
        credited = c.credited_after;
    }
    // 10.50 × 19 % = 1.995 → 2.00 twice (12.50 each); the third completes
    // the group and takes the 5.99 − 4.00 = 1.99 still outstanding:
    // 12.50 + 12.50 + 12.49 = 37.49, the original's gross. (Before, the
    // third was refused: 12.50 against 12.49 left.)
    assert_eq!(
        notes,
        [
            "10.50 + 2.00 = 12.50",
            "10.50 + 2.00 = 12.50",
            "10.50 + 1.99 = 12.49"
        ]
    );
    assert!(credited.remaining(&original).unwrap().is_zero());
    assert_eq!(
        credited.groups,
        [CreditedGroup {
            category: VatCategoryCode::S,
            rate: dec!(19),
            net: eur(dec!(31.50)),
            tax: eur(dec!(5.99)),
        }]
    );
}

#[test]
fn three_lines_of_10_01_leave_no_cent_open() {
    let original = three(dec!(10.01));
    // 3 × 10.01 = 30.03 net; × 19 % = 5.7057 → 5.71; gross 35.74.
    assert_eq!(sums(original.content()), "30.03 + 5.71 = 35.74");
    let mut credited = Credited::default();
    let mut notes = Vec::new();
    for position in 1..=3 {
        let c = partial_credit(
            &original,
            &credited,
            &line_credit(position),
            InvoiceId::new(format!("rk{position}")),
            on(),
        )
        .unwrap();
        notes.push(sums(&c.draft));
        credited = c.credited_after;
    }
    // 10.01 × 19 % = 1.9019 → 1.90 twice (11.91 each); the third takes
    // 5.71 − 3.80 = 1.91: 11.91 + 11.91 + 11.92 = 35.74 (before: 35.73,
    // leaving 0.01 open to be dunned).
    assert_eq!(
        notes,
        [
            "10.01 + 1.90 = 11.91",
            "10.01 + 1.90 = 11.91",
            "10.01 + 1.91 = 11.92"
        ]
    );
    assert!(credited.remaining(&original).unwrap().is_zero());
}

#[test]
fn a_cancellation_after_a_line_credit_covers_exactly_the_rest() {
    let original = three(dec!(10.50));
    let first = partial_credit(
        &original,
        &Credited::default(),
        &line_credit(2),
        InvoiceId::new("rk1"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&first.draft), "10.50 + 2.00 = 12.50");
    // Before, refused ("partly credited already"). Now: lines 1 and 3
    // (21.00 net) and the 5.99 − 2.00 = 3.99 VAT still outstanding:
    // 24.99 = 37.49 − 12.50.
    let rest = cancellation(
        &original,
        &first.credited_after,
        InvoiceId::new("storno"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&rest.draft), "21.00 + 3.99 = 24.99");
    let positions: Vec<&str> = rest
        .draft
        .lines
        .iter()
        .map(|l| l.item.description.as_str())
        .collect();
    assert_eq!(positions, ["Seat 1", "Seat 3"]);
    let after = &rest.credited_after;
    assert_eq!(after.gross, Some(eur(dec!(37.49))));
    assert_eq!(after.lines.get(&2), Some(&dec!(1)));
    assert!(after.remaining(&original).unwrap().is_zero());
}

#[test]
fn a_cancellation_after_an_amount_credit_subtracts_it_by_a_line() {
    let original = three(dec!(10.50));
    let amount = CreditSelection::Amount {
        net: eur(dec!(5.00)),
        category: VatCategoryCode::S,
        rate: dec!(19),
        description: None,
    };
    let first = partial_credit(
        &original,
        &Credited::default(),
        &amount,
        InvoiceId::new("rk1"),
        on(),
    )
    .unwrap();
    // 5.00 × 19 % = 0.95.
    assert_eq!(sums(&first.draft), "5.00 + 0.95 = 5.95");
    let rest = cancellation(
        &original,
        &first.credited_after,
        InvoiceId::new("storno"),
        on(),
    )
    .unwrap();
    // The three lines (31.50) less the 5.00 already credited = 26.50 net;
    // VAT 5.99 − 0.95 = 5.04; 31.54 = 37.49 − 5.95.
    assert_eq!(sums(&rest.draft), "26.50 + 5.04 = 31.54");
    let last = rest.draft.lines.last().unwrap();
    assert_eq!(
        last.item.description,
        "Abzüglich bereits korrigierter Beträge"
    );
    assert_eq!(last.net_amount.amount(), dec!(-5.00));
}

#[test]
fn an_amount_credit_completing_a_group_takes_its_remaining_vat() {
    // 10.50 at 19 % and 24.50 at 7 %: S19 10.50 → 2.00 (1.995), S7 24.50 →
    // 1.72 (1.715); gross 12.50 + 26.22 = 38.72.
    let original = original(&[
        (dec!(10.50), TaxCategory::Standard),
        (dec!(24.50), TaxCategory::Reduced),
    ]);
    assert_eq!(sums(original.content()), "35.00 + 3.72 = 38.72");
    let amount = |net: Decimal| CreditSelection::Amount {
        net: eur(net),
        category: VatCategoryCode::S,
        rate: dec!(7),
        description: None,
    };
    // 12.25 at 7 % = 0.8575 → 0.86 (13.11).
    let first = partial_credit(
        &original,
        &Credited::default(),
        &amount(dec!(12.25)),
        InvoiceId::new("rk1"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&first.draft), "12.25 + 0.86 = 13.11");
    // The other 12.25 would round to 0.86 again (1.72 in all, fine here),
    // so take 12.24 and then the last cent: 12.24 × 7 % = 0.8568 → 0.86,
    // leaving 24.50 − 24.49 = 0.01 net and 1.72 − 1.72 = 0.00 VAT.
    let second = partial_credit(
        &original,
        &first.credited_after,
        &amount(dec!(12.24)),
        InvoiceId::new("rk2"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&second.draft), "12.24 + 0.86 = 13.10");
    // Completing the group: 0.01 net and exactly the 0.00 VAT outstanding
    // (0.01 × 7 % would round to 0.00 anyway); the 19 % group is untouched.
    let third = partial_credit(
        &original,
        &second.credited_after,
        &amount(dec!(0.01)),
        InvoiceId::new("rk3"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&third.draft), "0.01 + 0.00 = 0.01");
    // 13.11 + 13.10 + 0.01 = 26.22, the 7 % group's gross.
    assert_eq!(
        third.credited_after.remaining(&original).unwrap(),
        eur(dec!(12.50))
    );
    // More than the group's net is refused, naming the group.
    let err = partial_credit(
        &original,
        &third.credited_after,
        &amount(dec!(0.01)),
        InvoiceId::new("rk4"),
        on(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("exceeds the 0.00 EUR net still creditable in that VAT group"),
        "{err}"
    );
}

#[test]
fn an_amount_credit_of_the_group_net_left_takes_the_remaining_vat() {
    let original = three(dec!(10.50));
    let mut credited = Credited::default();
    for position in 1..=2 {
        credited = partial_credit(
            &original,
            &credited,
            &line_credit(position),
            InvoiceId::new(format!("rk{position}")),
            on(),
        )
        .unwrap()
        .credited_after;
    }
    // 31.50 − 21.00 = 10.50 net left. On its own 10.50 × 19 % = 1.995 →
    // 2.00 (12.50, refused before against 12.49 left); completing the
    // group it takes the 5.99 − 4.00 = 1.99 outstanding: 12.49.
    let rest = partial_credit(
        &original,
        &credited,
        &CreditSelection::Amount {
            net: eur(dec!(10.50)),
            category: VatCategoryCode::S,
            rate: dec!(19),
            description: None,
        },
        InvoiceId::new("rk3"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&rest.draft), "10.50 + 1.99 = 12.49");
    assert!(rest.credited_after.remaining(&original).unwrap().is_zero());
}

#[test]
fn parts_of_a_line_never_credit_more_than_the_line() {
    // 4 API calls at 0.005 = 0.02 net, and a 10.00 licence, both 19 %.
    let lines = vec![
        line(
            "API calls",
            dec!(4),
            UnitCode::piece(),
            eur(dec!(0.005)),
            TaxCategory::Standard,
        ),
        line(
            "Licence",
            dec!(1),
            UnitCode::month(),
            eur(dec!(10.00)),
            TaxCategory::Standard,
        ),
    ];
    let original = InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines))
        .unwrap()
        .finalize(InvoiceNumber::new("RE-2026-000043"));
    let one_call = LineCredit {
        position: 1,
        quantity: Some(dec!(1)),
    };
    let mut credited = Credited::default();
    for n in 1..=2 {
        // Each call alone: 0.005 → 0.01; two of them take the line's 0.02.
        credited = partial_credit(
            &original,
            &credited,
            &CreditSelection::Lines {
                lines: vec![
                    one_call.clone(),
                    LineCredit {
                        position: 2,
                        quantity: Some(dec!(0.1)),
                    },
                ],
            },
            InvoiceId::new(format!("rk{n}")),
            on(),
        )
        .unwrap()
        .credited_after;
    }
    assert_eq!(credited.line_nets.get(&1), Some(&eur(dec!(0.02))));
    // A third call would round to 0.01 again, beyond the line: it takes the
    // 0.00 still open on it, and the licence's rest completes the group.
    let third = partial_credit(
        &original,
        &credited,
        &CreditSelection::Lines {
            lines: vec![
                one_call,
                LineCredit {
                    position: 2,
                    quantity: None,
                },
            ],
        },
        InvoiceId::new("rk3"),
        on(),
    )
    .unwrap();
    assert_eq!(third.draft.lines[0].net_amount, eur(dec!(0.00)));
    // Original: 10.02 net, 10.02 × 19 % = 1.9038 → 1.90 VAT, 11.92 gross.
    // Each earlier note: 0.01 + 1.00 = 1.01 net, × 19 % = 0.1919 → 0.19,
    // 1.20 gross. Left: 10.02 − 2.02 = 8.00 net, 1.90 − 0.38 = 1.52 VAT;
    // 1.20 + 1.20 + 9.52 = 11.92. (Without the cap the call would take
    // 0.01 and 8.01 net would exceed the 8.00 left: refused.)
    assert_eq!(sums(&third.draft), "8.00 + 1.52 = 9.52");
    assert_eq!(
        third.credited_after.line_nets.get(&1),
        Some(&eur(dec!(0.02)))
    );
    assert!(third.credited_after.remaining(&original).unwrap().is_zero());
}

#[test]
fn old_items_without_groups_are_derived_from_their_lines() {
    let original = three(dec!(10.50));
    // As stored before per-group sums were kept: two lines credited,
    // 2 × 12.50 = 25.00 gross.
    let old: Credited = serde_json::from_str(
        r#"{"gross":{"amount":"25.00","currency":"EUR"},"lines":{"1":"1","2":"1"}}"#,
    )
    .unwrap();
    let derived = old.completed_for(&original).unwrap();
    // Net 21.00 from the lines, VAT 25.00 − 21.00 = 4.00.
    assert_eq!(derived.groups[0].net, eur(dec!(21.00)));
    assert_eq!(derived.groups[0].tax, eur(dec!(4.00)));
    let last = partial_credit(
        &original,
        &old,
        &line_credit(3),
        InvoiceId::new("rk3"),
        on(),
    )
    .unwrap();
    assert_eq!(sums(&last.draft), "10.50 + 1.99 = 12.49");
    // With an amount credit in the history the split is unknown: refused.
    let amounts: Credited =
        serde_json::from_str(r#"{"gross":{"amount":"5.95","currency":"EUR"}}"#).unwrap();
    let err = partial_credit(
        &original,
        &amounts,
        &line_credit(3),
        InvoiceId::new("x"),
        on(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("credited:"), "{err}");
}

/// One step of a correction history.
#[derive(Debug, Clone)]
enum Step {
    /// Credit `quantity` (in tenths, capped to what is open) of a line.
    Line(usize, u32),
    /// Credit a net amount (cents, capped to the group's net left).
    Amount(bool, u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..4, 1u32..=30).prop_map(|(l, q)| Step::Line(l, q)),
        (any::<bool>(), 1u32..3000).prop_map(|(g, c)| Step::Amount(g, c)),
    ]
}

proptest! {
    /// Any history of line and amount credits, ended either by crediting
    /// every line still open or by a cancellation, credits each VAT group's
    /// net and VAT and the gross exactly, never more at any step.
    #[test]
    fn credits_sum_to_the_original_per_group(
        prices in proptest::collection::vec((1u32..5000, any::<bool>()), 4),
        quantities in proptest::collection::vec(1u32..=3, 4),
        steps in proptest::collection::vec(step(), 0..8),
        end_with_cancellation in any::<bool>(),
    ) {
        let lines = prices
            .iter()
            .zip(&quantities)
            .enumerate()
            .map(|(i, ((cents, reduced), qty))| {
                line(
                    &format!("Line {i}"),
                    Decimal::from(*qty),
                    UnitCode::month(),
                    eur(Decimal::new(i64::from(*cents), 2)),
                    if *reduced { TaxCategory::Reduced } else { TaxCategory::Standard },
                )
            })
            .collect();
        let original = InvoiceDraft::build(&german_entity(), &german_consumer(), request(lines))
            .unwrap()
            .finalize(InvoiceNumber::new("RE-2026-000001"));
        let content = original.content();
        let mut credited = Credited::default();
        let mut issued: Vec<InvoiceDraft> = Vec::new();
        let credit = |selection: &CreditSelection, credited: &mut Credited, issued: &mut Vec<InvoiceDraft>| {
            if let Ok(c) = partial_credit(&original, credited, selection, InvoiceId::new("rk"), on()) {
                *credited = c.credited_after;
                issued.push(c.draft);
            }
        };
        for step in &steps {
            match step {
                Step::Line(index, tenths) => {
                    let l = &content.lines[*index];
                    let open = l.item.quantity - credited.lines.get(&l.position).copied().unwrap_or_default();
                    let quantity = (Decimal::from(*tenths) / dec!(10)).min(open);
                    credit(&CreditSelection::Lines { lines: vec![LineCredit { position: l.position, quantity: Some(quantity) }] }, &mut credited, &mut issued);
                }
                // Amounts only in histories a cancellation closes: lines
                // alone cannot close a group an amount has lowered.
                Step::Amount(..) if !end_with_cancellation => {}
                Step::Amount(second, cents) => {
                    let group = &content.tax_breakdown[usize::from(*second) % content.tax_breakdown.len()];
                    let (done, _) = credited.group(group.category, group.rate, content.currency);
                    let left = group.taxable_amount.checked_sub(done).unwrap();
                    let net = eur(Decimal::new(i64::from(*cents), 2).min(left.amount()));
                    credit(&CreditSelection::Amount { net, category: group.category, rate: group.rate, description: None }, &mut credited, &mut issued);
                }
            }
            // Never more than the original, per group and in total.
            prop_assert!(!credited.remaining(&original).unwrap().is_negative());
            for g in &content.tax_breakdown {
                let (net, tax) = credited.group(g.category, g.rate, content.currency);
                prop_assert!(
                    net.amount() <= g.taxable_amount.amount() && tax.amount() <= g.tax_amount.amount(),
                    "{:?}: {} {}", g, net, tax
                );
            }
        }
        if end_with_cancellation {
            if let Ok(c) = cancellation(&original, &credited, InvoiceId::new("storno"), on()) {
                credited = c.credited_after;
                issued.push(c.draft);
            }
        } else {
            for l in &content.lines {
                if credited.lines.get(&l.position).copied().unwrap_or_default() < l.item.quantity {
                    credit(&line_credit(l.position), &mut credited, &mut issued);
                }
            }
        }
        // Summed over the credit notes issued, per group: net and VAT.
        for g in &content.tax_breakdown {
            let of = |f: fn(&billing_domain::invoice::TaxBreakdown) -> Decimal| -> Decimal {
                issued.iter().flat_map(|d| &d.tax_breakdown)
                    .filter(|b| b.category == g.category && b.rate == g.rate)
                    .map(f).sum()
            };
            let net = of(|b| b.taxable_amount.amount());
            let tax = of(|b| b.tax_amount.amount());
            prop_assert_eq!(net, g.taxable_amount.amount(), "net of {:?}", g);
            prop_assert_eq!(tax, g.tax_amount.amount(), "VAT of {:?}", g);
        }
        let gross: Decimal = issued.iter().map(|d| d.totals.gross_total.amount()).sum();
        prop_assert_eq!(gross, original.amount_due().amount());
        prop_assert!(credited.remaining(&original).unwrap().is_zero());
    }
}
