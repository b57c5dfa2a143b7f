//! The invoice run for one customer, and calendar-aligned periods, worked
//! out by hand.

mod common;
mod invoice_fixtures;

use billing_domain::ids::{AccountId, InvoiceId, PendingChargeId};
use billing_domain::item::LineSource;
use billing_domain::item::{Item, PendingCharge};
use billing_domain::money::{Currency, Money};
use billing_domain::period::{AnchorMonth, BillingInterval, PeriodGrid, ServicePeriod};
use billing_domain::run::{
    CustomerRunInput, PendingBatch, bill_customer, check_issue_date, run_date,
};
use billing_domain::schedule::due_for_run;
use billing_domain::subscription::{BillingTiming, Subscription};
use chrono::{TimeZone, Utc};
use common::{d, eur, recurring_item, subscription};
use rust_decimal_macros::dec;

fn period(start: chrono::NaiveDate, end: chrono::NaiveDate) -> ServicePeriod {
    ServicePeriod::new(start, end).unwrap()
}

#[test]
fn quarterly_aligned_to_calendar_quarters_prorates_the_first_quarter() {
    // GIVEN a quarterly fee in advance, aligned to January, starting 15 February
    let mut item = recurring_item(
        "q",
        BillingInterval::quarterly(),
        BillingTiming::InAdvance,
        dec!(1),
        eur(dec!(300)),
    );
    item.anchor_month = Some(AnchorMonth::calendar());
    let contract = subscription("s", d(2026, 2, 15), vec![item]);
    // WHEN runs happen on 15 February and 1 April
    let first = due_for_run(&contract, d(2026, 2, 15)).unwrap();
    // THEN the first period is 15 Feb – 31 Mar of the quarter Jan–Mar (45/90 days)
    assert_eq!(first.periods.len(), 1);
    assert_eq!(
        first.periods[0].period,
        period(d(2026, 2, 15), d(2026, 3, 31))
    );
    assert_eq!(
        first.periods[0].full_period,
        period(d(2026, 1, 1), d(2026, 3, 31))
    );
    assert_eq!(first.periods[0].net, eur(dec!(150.00)));
    assert_eq!(first.next_due, Some(d(2026, 4, 1)));
    let mut contract = contract;
    contract.record_progress(&first.progress).unwrap();
    let second = due_for_run(&contract, d(2026, 4, 1)).unwrap();
    assert_eq!(
        second.periods[0].period,
        period(d(2026, 4, 1), d(2026, 6, 30))
    );
    assert_eq!(second.periods[0].net, eur(dec!(300.00)));
    assert_eq!(second.next_due, Some(d(2026, 7, 1)));
}

#[test]
fn yearly_per_calendar_year_first_year_prorated_in_arrears() {
    // GIVEN a yearly support fee per calendar year, in arrears, from 1 March 2028 (leap year)
    let mut item = recurring_item(
        "y",
        BillingInterval::yearly(),
        BillingTiming::InArrears,
        dec!(1),
        eur(dec!(366)),
    );
    item.anchor_month = Some(AnchorMonth::calendar());
    let contract = subscription("s", d(2028, 3, 1), vec![item]);
    // WHEN the run of 1 January 2029 bills it
    let due = due_for_run(&contract, d(2029, 1, 1)).unwrap();
    // THEN it bills 1 March – 31 December: 306 of 366 days
    assert_eq!(due.periods.len(), 1);
    assert_eq!(
        due.periods[0].period,
        period(d(2028, 3, 1), d(2028, 12, 31))
    );
    assert_eq!(due.periods[0].net, eur(dec!(306.00)));
    assert_eq!(due.next_due, Some(d(2030, 1, 1)));
    // and nothing is due before the year is over
    assert!(due_for_run(&contract, d(2028, 12, 31)).unwrap().is_empty());
}

#[test]
fn any_anchor_month_aligns_half_years() {
    let grid = PeriodGrid::aligned(
        d(2026, 5, 10),
        BillingInterval::half_yearly(),
        None,
        Some(AnchorMonth::new(4).unwrap()),
    )
    .unwrap();
    assert_eq!(grid.origin, d(2026, 10, 1));
    assert_eq!(
        grid.period_containing(d(2026, 5, 10)).unwrap(),
        period(d(2026, 4, 1), d(2026, 9, 30))
    );
    // A start exactly on an aligned boundary is a full first period.
    let grid = PeriodGrid::aligned(
        d(2026, 7, 1),
        BillingInterval::quarterly(),
        None,
        Some(AnchorMonth::calendar()),
    )
    .unwrap();
    assert_eq!(grid.origin, d(2026, 7, 1));
    assert!(AnchorMonth::new(0).is_err());
    assert!(AnchorMonth::new(13).is_err());
    assert!(serde_json::from_str::<AnchorMonth>("13").is_err());
}

#[test]
fn the_run_date_is_the_sellers_calendar_day() {
    // 23:30 UTC on 31 December is already 1 January in Berlin.
    let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
    assert_eq!(run_date(at, chrono_tz::Europe::Berlin), d(2027, 1, 1));
    assert_eq!(run_date(at, chrono_tz::UTC), d(2026, 12, 31));
}

fn customer_contract(
    id: &str,
    account: &AccountId,
    items: Vec<billing_domain::subscription::SubscriptionItem>,
) -> Subscription {
    let mut contract = subscription(id, d(2026, 1, 1), items);
    contract.account_id = account.clone();
    contract
}

fn pending(account: &AccountId, batch: &str, amount: rust_decimal::Decimal) -> PendingBatch {
    PendingBatch {
        batch_id: batch.to_owned(),
        charges: vec![PendingCharge {
            id: PendingChargeId::new(format!("{batch}-1")),
            account_id: account.clone(),
            opportunity_id: None,
            item: Item::new("Onboarding workshop", dec!(1), eur(amount)),
            service_period: None,
        }],
    }
}

#[test]
fn one_invoice_carries_every_due_contract_and_the_parked_charges() {
    // GIVEN a customer with a monthly and a yearly contract and a parked charge
    let entity = invoice_fixtures::german_entity();
    let mut account = invoice_fixtures::german_consumer();
    account.billing_entity_id = entity.id.clone();
    let monthly = customer_contract(
        "sub-m",
        &account.id,
        vec![recurring_item(
            "m",
            BillingInterval::monthly(),
            BillingTiming::InAdvance,
            dec!(2),
            eur(dec!(10)),
        )],
    );
    let yearly = customer_contract(
        "sub-y",
        &account.id,
        vec![recurring_item(
            "y",
            BillingInterval::yearly(),
            BillingTiming::InAdvance,
            dec!(1),
            eur(dec!(120)),
        )],
    );
    let parked = [pending(&account.id, "batch-1", dec!(50))];
    let contracts = [monthly, yearly];
    let input = CustomerRunInput {
        entity: &entity,
        account: &account,
        subscriptions: &contracts,
        pending: &parked,
        run_date: d(2026, 1, 1),
    };
    // WHEN the run of 1 January bills the customer
    let bill = bill_customer(&input, |currency, index| {
        InvoiceId::new(format!("inv-{}-{index}", currency.code()))
    })
    .unwrap()
    .unwrap();
    // THEN one invoice has three lines: both contracts and the charge
    assert_eq!(bill.invoices.len(), 1);
    let invoice = &bill.invoices[0];
    assert_eq!(invoice.id.as_str(), "inv-EUR-0");
    assert_eq!(invoice.issue_date, d(2026, 1, 1));
    assert_eq!(invoice.lines.len(), 3);
    assert_eq!(invoice.totals.net_total, eur(dec!(190.00)));
    assert!(matches!(
        invoice.lines[2].source,
        Some(LineSource::PendingCharge { .. })
    ));
    // and both contracts advance, the batch is consumed
    assert_eq!(bill.advances.len(), 2);
    assert_eq!(bill.advances[0].next_due, Some(d(2026, 2, 1)));
    assert_eq!(bill.advances[1].next_due, Some(d(2027, 1, 1)));
    assert_eq!(bill.pending_billed, ["batch-1"]);

    // WHEN the progress is recorded and a later day in January is run
    let mut billed = contracts.clone();
    for (contract, advance) in billed.iter_mut().zip(&bill.advances) {
        assert_eq!(contract.id, advance.subscription_id);
        contract.record_progress(&advance.progress).unwrap();
    }
    let later = CustomerRunInput {
        subscriptions: &billed,
        run_date: d(2026, 1, 15),
        ..input
    };
    // THEN nothing is billed and the parked charge keeps waiting
    assert!(
        bill_customer(&later, |_, _| InvoiceId::new("x"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn currencies_and_the_line_limit_split_invoices_and_nothing_else() {
    let mut entity = invoice_fixtures::german_entity();
    entity.max_invoice_lines = 2;
    let mut account = invoice_fixtures::german_consumer();
    account.billing_entity_id = entity.id.clone();
    // Three euro contracts of one item each: a contract's own periods beyond
    // the limit wait for the next run, but separate contracts split.
    let euro = (0..3).map(|i| {
        customer_contract(
            &format!("sub-eur-{i}"),
            &account.id,
            vec![recurring_item(
                "m",
                BillingInterval::monthly(),
                BillingTiming::InAdvance,
                dec!(1),
                eur(dec!(10)),
            )],
        )
    });
    let mut dollars = customer_contract(
        "sub-usd",
        &account.id,
        vec![recurring_item(
            "u",
            BillingInterval::monthly(),
            BillingTiming::InAdvance,
            dec!(1),
            Money::new(dec!(5), Currency::USD),
        )],
    );
    dollars.currency = Currency::USD;
    let contracts: Vec<Subscription> = euro.chain([dollars]).collect();
    let input = CustomerRunInput {
        entity: &entity,
        account: &account,
        subscriptions: &contracts,
        pending: &[],
        run_date: d(2026, 1, 1),
    };
    let bill = bill_customer(&input, |currency, index| {
        InvoiceId::new(format!("inv-{}-{index}", currency.code()))
    })
    .unwrap()
    .unwrap();
    let shape: Vec<(String, &str, usize)> = bill
        .invoices
        .iter()
        .map(|i| (i.id.to_string(), i.currency.code(), i.lines.len()))
        .collect();
    assert_eq!(
        shape,
        [
            ("inv-EUR-0".to_owned(), "EUR", 2),
            ("inv-EUR-1".to_owned(), "EUR", 1),
            ("inv-USD-0".to_owned(), "USD", 1),
        ]
    );
}

#[test]
fn an_invalid_contract_is_refused_by_name() {
    let entity = invoice_fixtures::german_entity();
    let mut account = invoice_fixtures::german_consumer();
    account.billing_entity_id = entity.id.clone();
    let mut broken = customer_contract(
        "sub-broken",
        &account.id,
        vec![recurring_item(
            "m",
            BillingInterval::monthly(),
            BillingTiming::InAdvance,
            dec!(1),
            eur(dec!(10)),
        )],
    );
    broken.items[0].item.description = " ".to_owned();
    let contracts = [broken];
    let input = CustomerRunInput {
        entity: &entity,
        account: &account,
        subscriptions: &contracts,
        pending: &[],
        run_date: d(2026, 1, 1),
    };
    let err = bill_customer(&input, |_, _| InvoiceId::new("x")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("subscriptions/sub-broken/items[0].item.description"),
        "{err}"
    );
}

#[test]
fn a_finalizing_run_issues_its_invoices_today() {
    // GIVEN today is 6 December 2026 in the seller's time zone
    let today = d(2026, 12, 6);
    // THEN today and the neighbouring days (a run crossing midnight) pass
    for run_date in [d(2026, 12, 5), today, d(2026, 12, 7)] {
        assert!(check_issue_date("run_date", run_date, today).is_ok());
    }
    // AND an operator's old date is refused by name: §14(4) no. 3 UStG wants
    // the date of issue, not the date the operator had in mind
    let past = check_issue_date("run_date", d(2026, 12, 1), today).unwrap_err();
    assert!(
        past.to_string()
            .starts_with("run_date: 2026-12-01 is in the past"),
        "{past}"
    );
    assert!(past.to_string().contains("2026-12-06"), "{past}");
    // AND so is a stale preview's date, naming the preview field
    let stale = check_issue_date("from_preview", d(2026, 12, 4), today).unwrap_err();
    assert!(
        stale
            .to_string()
            .starts_with("from_preview: 2026-12-04 is in the past")
    );
    // AND a date two days ahead: an invoice is not issued in advance of its date
    let future = check_issue_date("run_date", d(2026, 12, 8), today).unwrap_err();
    assert!(future.to_string().contains("in the future"), "{future}");
}

#[test]
fn a_direct_debit_contract_gets_its_own_invoice_collected_under_the_mandate_or_none() {
    use billing_domain::direct_debit::CreditorIdentifier;
    use billing_domain::subscription::PaymentMethod;
    // GIVEN a customer with a contract paid by transfer, one on direct
    // debit, and a parked charge
    let entity = invoice_fixtures::german_entity();
    let mut account = invoice_fixtures::german_consumer();
    account.billing_entity_id = entity.id.clone();
    let monthly = |id: &str, price| {
        customer_contract(
            id,
            &account.id,
            vec![recurring_item(
                "m",
                BillingInterval::monthly(),
                BillingTiming::InAdvance,
                dec!(1),
                eur(price),
            )],
        )
    };
    let by_transfer = monthly("sub-transfer", dec!(10));
    let mut by_debit = monthly("sub-debit", dec!(20));
    by_debit.payment_method = PaymentMethod::DirectDebit;
    let parked = [pending(&account.id, "batch-1", dec!(50))];
    let contracts = [by_transfer, by_debit];
    let input = CustomerRunInput {
        entity: &entity,
        account: &account,
        subscriptions: &contracts,
        pending: &parked,
        run_date: d(2026, 1, 1),
    };
    // WHEN the run bills the customer
    let bill = || {
        bill_customer(&input, |currency, index| {
            InvoiceId::new(format!("inv-{}-{index}", currency.code()))
        })
        .unwrap()
        .unwrap()
    };
    // THEN the direct-debit contract is on an invoice of its own; the
    // parked charge joins the first invoice of its currency (here the
    // transfer contract's, which keeps the id it had without the other)
    let unpaid = bill();
    let shape: Vec<(&str, usize, Money)> = unpaid
        .invoices
        .iter()
        .map(|i| (i.id.as_str(), i.lines.len(), i.totals.net_total))
        .collect();
    assert_eq!(
        shape,
        [
            ("inv-EUR-0", 2, eur(dec!(60.00))),
            ("inv-EUR-1", 1, eur(dec!(20.00))),
        ]
    );
    assert_eq!(unpaid.direct_debit, [InvoiceId::new("inv-EUR-1")]);
    // AND it is collected under the customer's mandate granted to the
    // seller, due on the collection date; the transfer invoice is untouched
    let mandate = invoice_fixtures::mandate(d(2025, 12, 1));
    let seller = mandate.creditor_identifier.clone();
    let mut collected = bill();
    collected
        .collect_by_direct_debit(Some(&seller), [&mandate])
        .unwrap();
    assert_eq!(collected.invoices[0], unpaid.invoices[0]);
    let debited = &collected.invoices[1];
    let notice = debited.direct_debit.as_ref().expect("collected");
    assert_eq!(notice.mandate_reference, mandate.reference);
    assert_eq!(debited.due_date, notice.collection_date);
    assert!(notice.collection_date >= d(2026, 1, 15));
    // AND without a usable mandate, or a seller without creditor settings,
    // the bill is refused naming the invoice, never a transfer instead
    let mut other_seller = mandate.clone();
    other_seller.creditor_identifier = CreditorIdentifier::parse(&format!(
        "DE{}ZZZ01234567890",
        sepa::creditor_id_check_digits("01234567890", "DE")
    ))
    .unwrap();
    for (creditor, mandates, reason) in [
        (
            Some(&seller),
            vec![&other_seller],
            "no SEPA mandate on file",
        ),
        (Some(&seller), vec![], "no SEPA mandate on file"),
        (None, vec![&mandate], "no SEPA creditor settings"),
    ] {
        let mut refused = bill();
        let err = refused
            .collect_by_direct_debit(creditor, mandates)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invoices/inv-EUR-1/mandate"), "{err}");
        assert!(err.contains(reason), "{err}");
    }
}
