//! Property tests: totals are sums of what is shown, tax is computed once per
//! (category, rate), currencies never mix, number formats parse back.

mod invoice_fixtures;

use billing_domain::invoice::InvoiceDraft;
use billing_domain::item::BillableLine;
use billing_domain::item::UnitCode;
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::numbering::{NumberParts, NumberPattern};
use billing_domain::party::{CountryCode, CustomerAccount, VatId};
use billing_domain::tax::{Exemption, TaxCategory};
use chrono::{Datelike, NaiveDate};
use invoice_fixtures::*;
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::EUR),
        Just(Currency::USD),
        Just(Currency::JPY),
        Just(Currency::from_code("KWD").unwrap()),
    ]
}

fn category() -> impl Strategy<Value = TaxCategory> {
    prop_oneof![
        Just(TaxCategory::Standard),
        Just(TaxCategory::Reduced),
        Just(TaxCategory::Zero),
        Just(TaxCategory::Exempt(Exemption {
            reason: "Steuerfrei nach §4 Nr. 21 UStG".into(),
            reason_code: Some("VATEX-EU-132-1I".into()),
        })),
    ]
}

/// Quantities and prices with varied scales and signs, as real data has.
fn line(currency: Currency) -> impl Strategy<Value = BillableLine> {
    (
        -2_000i64..20_000,
        0u32..=3,
        -50_000i64..500_000,
        0u32..=4,
        category(),
    )
        .prop_map(move |(q, qs, p, ps, cat)| {
            let price = Money::new(Decimal::new(p, ps), currency);
            line_of(Decimal::new(q, qs), price, cat)
        })
}

fn line_of(quantity: Decimal, price: Money, category: TaxCategory) -> BillableLine {
    invoice_fixtures::line("Item", quantity, UnitCode::piece(), price, category)
}

/// A German consumer, an Austrian business (reverse charge) or a Swiss
/// business (not taxable), each paying in `currency`.
fn account(currency: Currency, kind: u8) -> CustomerAccount {
    let mut account = match kind {
        0 => german_consumer(),
        1 => austrian_business(),
        _ => {
            let mut swiss = austrian_business();
            swiss.address.country = CountryCode::parse("CH").unwrap();
            swiss.vat_id = Some(VatId::parse("CHE123456789").unwrap());
            swiss
        }
    };
    account.currency = currency;
    account
}

fn round(amount: Decimal, currency: Currency) -> Decimal {
    amount.round_dp_with_strategy(
        currency.minor_units(),
        RoundingStrategy::MidpointAwayFromZero,
    )
}

fn invoice_case() -> impl Strategy<Value = (Currency, u8, Vec<BillableLine>)> {
    (currency(), 0u8..3)
        .prop_flat_map(|(c, kind)| (Just(c), Just(kind), prop::collection::vec(line(c), 1..40)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn totals_are_sums_of_what_is_shown((currency, kind, lines) in invoice_case()) {
        let account = account(currency, kind);
        let inputs: Vec<Decimal> = lines
            .iter()
            .map(|l| round(l.item.quantity * l.item.unit_price.amount(), currency))
            .collect();
        let result = InvoiceDraft::build(&german_entity(), &account, request(lines));
        if inputs.iter().all(Decimal::is_zero) {
            prop_assert!(result.is_err());
            return Ok(());
        }
        let draft = result.unwrap();
        let minor = currency.minor_units();
        let shown = |m: Money| {
            assert_eq!(m.currency(), currency);
            assert_eq!(m.amount().scale(), minor, "{m} not at minor unit");
            m.amount()
        };

        // Each line: net = round(shown quantity × shown unit price).
        for l in &draft.lines {
            prop_assert_eq!(shown(l.net_amount), round(l.item.quantity * l.item.unit_price.amount(), currency));
        }
        // Totals are sums of what is shown.
        let line_sum: Decimal = draft.lines.iter().map(|l| l.net_amount.amount()).sum();
        let basis_sum: Decimal = draft.tax_breakdown.iter().map(|g| shown(g.taxable_amount)).sum();
        let tax_sum: Decimal = draft.tax_breakdown.iter().map(|g| shown(g.tax_amount)).sum();
        prop_assert_eq!(shown(draft.totals.net_total), line_sum);
        prop_assert_eq!(basis_sum, line_sum);
        prop_assert_eq!(shown(draft.totals.tax_total), tax_sum);
        prop_assert_eq!(shown(draft.totals.gross_total), line_sum + tax_sum);
        prop_assert!(!draft.totals.gross_total.is_negative());

        // Each (category, rate): tax = round(rate × that group's net sum), once.
        for (i, group) in draft.tax_breakdown.iter().enumerate() {
            let nets: Decimal = draft
                .lines
                .iter()
                .filter(|l| l.tax.category == group.category && l.tax.rate == group.rate)
                .map(|l| l.net_amount.amount())
                .sum();
            prop_assert_eq!(group.taxable_amount.amount(), nets);
            prop_assert_eq!(group.tax_amount.amount(), round(nets * group.rate / Decimal::ONE_HUNDRED, currency));
            let duplicates = draft.tax_breakdown[..i]
                .iter()
                .filter(|g| g.category == group.category && g.rate == group.rate)
                .count();
            prop_assert_eq!(duplicates, 0);
        }

        // A credit note is exactly the negated invoice.
        let mut original_tax = Decimal::ZERO;
        for group in &draft.tax_breakdown {
            let nets: Decimal = draft
                .lines
                .iter()
                .zip(&inputs)
                .filter(|(l, _)| l.tax.category == group.category && l.tax.rate == group.rate)
                .map(|(_, net)| *net)
                .sum();
            original_tax += round(nets * group.rate / Decimal::ONE_HUNDRED, currency);
        }
        let original_gross = inputs.iter().sum::<Decimal>() + original_tax;
        let is_credit = draft.document_type == DocumentType::CreditNote;
        prop_assert_eq!(is_credit, original_gross.is_sign_negative() && !original_gross.is_zero());
        prop_assert_eq!(draft.totals.gross_total.amount(), original_gross.abs());
    }

    #[test]
    fn different_currencies_never_mix(
        a in -1_000_000i64..1_000_000,
        b in -1_000_000i64..1_000_000,
        (x, y) in (currency(), currency()).prop_filter("distinct", |(x, y)| x != y),
    ) {
        let left = Money::from_minor(a, x);
        let right = Money::from_minor(b, y);
        prop_assert!(left.checked_add(right).is_err());
        prop_assert!(left.checked_sub(right).is_err());
        prop_assert!(left.compare(&right).is_err());
        prop_assert!(right.compare(&left).is_err());
        prop_assert!(Money::sum(x, [left, right]).is_err());
        prop_assert!(Money::sum(x, [right]).is_err());
        prop_assert!(left.ensure_currency(y, "amount").is_err());
        let mixed = line_of(Decimal::ONE, right, TaxCategory::Standard);
        prop_assert!(InvoiceDraft::build(&german_entity(), &account(x, 0), request(vec![mixed])).is_err());
        // Same currency always works.
        prop_assert!(left.checked_add(Money::from_minor(b, x)).is_ok());
    }

    #[test]
    fn number_formatting_and_parsing_are_inverse(
        pieces in prop::collection::vec(
            prop_oneof![
                "[A-Z/_-]{1,3}",
                Just("{YYYY}".to_owned()),
                Just("{YY}".to_owned()),
                Just("{MM}".to_owned()),
            ],
            0..5,
        ),
        split in 0usize..5,
        (width, sequence) in (1u32..=9).prop_flat_map(|w| (Just(w), 1..10u64.pow(w))),
        days in 0u64..36_500,
    ) {
        let seq_token = format!("{{SEQ:{width}}}");
        let mut tokens = pieces;
        tokens.insert(split.min(tokens.len()), seq_token);
        let pattern = NumberPattern::parse(&tokens.concat()).unwrap();
        let date = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(days);
        let max = 10u64.pow(width) - 1;

        let number = pattern.format(date, sequence).unwrap();
        let parts = pattern.parse_number(number.as_str()).unwrap();
        let has = |t: &str| tokens.iter().any(|p| p == t);
        prop_assert_eq!(parts, NumberParts {
            year: (has("{YYYY}") || has("{YY}")).then_some(date.year()),
            month: has("{MM}").then_some(date.month()),
            sequence,
        });
        // And back: the parts re-format to the same text.
        let back = NaiveDate::from_ymd_opt(parts.year.unwrap_or(2000), parts.month.unwrap_or(1), 1).unwrap();
        prop_assert_eq!(pattern.format(back, parts.sequence).unwrap(), number);
        prop_assert!(pattern.format(date, max + 1).is_err());
    }
}
