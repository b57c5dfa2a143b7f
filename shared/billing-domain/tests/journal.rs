//! The booking journal (issue 24): a month with every kind of event, booked
//! line by line against bookings computed by hand; debits equal credits per
//! booking and per period; the journal's debtor balance equals the aging's
//! total at each month end and today; late events after a lock book into
//! the next open month; and the error paths.

use billing_domain::accounting::{AccountNumber, AccountingSettings, Chart};
use billing_domain::ids::AccountId;
use billing_domain::journal::{
    Booking, BookingLine, BookingPeriod, DocumentRef, JournalEvent, JournalEventKind, PeriodLock,
    Side, TaxLine, booking, booking_period, debtor_balance, journal, period_for,
};
use billing_domain::money::{Currency, Money};
use billing_domain::payment::{ClaimHead, Claims, PaymentPurpose};
use billing_domain::receivables::{
    ReceivableChange, ReceivableEvent, ReceivableHistory, aging, receivables_as_of,
};
use billing_domain::tax::VatCategoryCode;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

fn account(digits: &str) -> AccountNumber {
    AccountNumber::parse(digits, "test").unwrap()
}

fn period(text: &str) -> BookingPeriod {
    text.parse().unwrap()
}

fn s19(net: Decimal, tax: Decimal) -> TaxLine {
    TaxLine {
        category: VatCategoryCode::S,
        rate: dec!(19),
        net: eur(net),
        tax: eur(tax),
    }
}

fn untaxed(category: VatCategoryCode, net: Decimal) -> TaxLine {
    TaxLine {
        category,
        rate: dec!(0),
        net: eur(net),
        tax: eur(dec!(0)),
    }
}

fn claims(costs: Decimal, interest: Decimal, principal: Decimal) -> Claims {
    Claims {
        costs: eur(costs),
        interest: eur(interest),
        principal: eur(principal),
    }
}

/// An event recorded at noon UTC of its document date (before any lock).
fn event(
    number: &str,
    date: &str,
    invoice: &str,
    debtor: &str,
    kind: JournalEventKind,
) -> JournalEvent {
    JournalEvent {
        document: DocumentRef {
            number: number.to_owned(),
            date: day(date),
        },
        invoice_number: invoice.to_owned(),
        debtor_account: account(debtor),
        recorded_at: at(&format!("{date}T12:00:00Z")),
        kind,
    }
}

/// The same event for an invoice's own number.
fn on(invoice: &str, date: &str, debtor: &str, kind: JournalEventKind) -> JournalEvent {
    event(invoice, date, invoice, debtor, kind)
}

// The test's invoices (SKR03 standard accounts, debtors 10001..10003):
// A RE-2026-000001 10001, 10 Feb, 1,000.00 + 19 % = 1,190.00; March: fee
//   5.00 and interest 3.50 claimed (5 Mar), 600.00 paid (10 Mar: §367 costs
//   5.00, interest 3.50, principal 591.50), 200.00 with value date 31 Mar
//   recorded on 3 Apr after March was exported (books into April).
// B RE-2026-000002 10001, 2 Mar, 100.00 + 19 % and 50.00 + 7 % = 172.50;
//   paid by direct debit 20 Mar, returned 25 Mar with a 3.00 bank fee.
// C RE-2026-000003 10002, 3 Mar, reverse charge (§13b) 500.00; credit note
//   RK-2026-000001 of 100.00 on 15 Mar; 450.00 paid on 28 Mar (400.00
//   principal, 50.00 surplus to customer credit).
// D RE-2026-000004 10002, 4 Mar, intra-EU supply (§4 Nr. 1b) 800.00;
//   cancelled by RK-2026-000002 on 6 Mar.
// E RE-2026-000005 10003, 15 Jan, 200.00 + 19 % = 238.00; 100.00 paid
//   1 Feb; fee 5.00 claimed 20 Feb; written off 31 Mar (open 5.00 costs +
//   138.00 principal).
// F RE-2026-000006 10002, 29 Mar, 100.00 + 19 % = 119.00; 30.00 customer
//   credit applied 30 Mar; 20.00 credit refunded 31 Mar.
// 25.00 received on 12 Mar beyond A is kept as 10001's customer credit.
// G RE-2026-000007 10001, 2 Apr (after the last month end), 300.00 + 19 %.
const A: &str = "RE-2026-000001";
const B: &str = "RE-2026-000002";
const C: &str = "RE-2026-000003";
const D: &str = "RE-2026-000004";
const E: &str = "RE-2026-000005";
const F: &str = "RE-2026-000006";
const G: &str = "RE-2026-000007";

fn events() -> Vec<JournalEvent> {
    use JournalEventKind::*;
    let mut late_payment = on(
        A,
        "2026-03-31",
        "10001",
        PaymentReceived {
            amount: eur(dec!(200.00)),
            open_before: claims(dec!(0), dec!(0), dec!(598.50)),
            purpose: PaymentPurpose::Statutory,
        },
    );
    late_payment.recorded_at = at("2026-04-03T09:00:00Z");
    vec![
        // January and February.
        on(
            E,
            "2026-01-15",
            "10003",
            InvoiceIssued {
                lines: vec![s19(dec!(200.00), dec!(38.00))],
            },
        ),
        on(
            E,
            "2026-02-01",
            "10003",
            PaymentReceived {
                amount: eur(dec!(100.00)),
                open_before: claims(dec!(0), dec!(0), dec!(238.00)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
        on(
            A,
            "2026-02-10",
            "10001",
            InvoiceIssued {
                lines: vec![s19(dec!(1000.00), dec!(190.00))],
            },
        ),
        on(
            E,
            "2026-02-20",
            "10003",
            DunningFeeClaimed {
                amount: eur(dec!(5.00)),
            },
        ),
        // March, in the order the product recorded it.
        on(
            B,
            "2026-03-02",
            "10001",
            InvoiceIssued {
                lines: vec![
                    s19(dec!(100.00), dec!(19.00)),
                    TaxLine {
                        category: VatCategoryCode::S,
                        rate: dec!(7),
                        net: eur(dec!(50.00)),
                        tax: eur(dec!(3.50)),
                    },
                ],
            },
        ),
        on(
            C,
            "2026-03-03",
            "10002",
            InvoiceIssued {
                lines: vec![untaxed(VatCategoryCode::Ae, dec!(500.00))],
            },
        ),
        on(
            D,
            "2026-03-04",
            "10002",
            InvoiceIssued {
                lines: vec![untaxed(VatCategoryCode::K, dec!(800.00))],
            },
        ),
        on(
            A,
            "2026-03-05",
            "10001",
            DunningFeeClaimed {
                amount: eur(dec!(5.00)),
            },
        ),
        on(
            A,
            "2026-03-05",
            "10001",
            DefaultInterestClaimed {
                amount: eur(dec!(3.50)),
            },
        ),
        event(
            "RK-2026-000002",
            "2026-03-06",
            D,
            "10002",
            CreditNoteIssued {
                lines: vec![untaxed(VatCategoryCode::K, dec!(800.00))],
                cancellation: true,
            },
        ),
        on(
            A,
            "2026-03-10",
            "10001",
            PaymentReceived {
                amount: eur(dec!(600.00)),
                open_before: claims(dec!(5.00), dec!(3.50), dec!(1190.00)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
        on(
            A,
            "2026-03-12",
            "10001",
            CustomerCreditCreated {
                amount: eur(dec!(25.00)),
            },
        ),
        event(
            "RK-2026-000001",
            "2026-03-15",
            C,
            "10002",
            CreditNoteIssued {
                lines: vec![untaxed(VatCategoryCode::Ae, dec!(100.00))],
                cancellation: false,
            },
        ),
        on(
            B,
            "2026-03-20",
            "10001",
            PaymentReceived {
                amount: eur(dec!(172.50)),
                open_before: claims(dec!(0), dec!(0), dec!(172.50)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
        on(
            B,
            "2026-03-25",
            "10001",
            DirectDebitReturned {
                amount: eur(dec!(172.50)),
                paid_before: claims(dec!(0), dec!(0), dec!(172.50)),
            },
        ),
        on(
            B,
            "2026-03-25",
            "10001",
            BankFee {
                amount: eur(dec!(3.00)),
            },
        ),
        on(
            C,
            "2026-03-28",
            "10002",
            PaymentReceived {
                amount: eur(dec!(450.00)),
                open_before: claims(dec!(0), dec!(0), dec!(400.00)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
        on(
            F,
            "2026-03-29",
            "10002",
            InvoiceIssued {
                lines: vec![s19(dec!(100.00), dec!(19.00))],
            },
        ),
        on(
            F,
            "2026-03-30",
            "10002",
            CustomerCreditApplied {
                amount: eur(dec!(30.00)),
                open_before: claims(dec!(0), dec!(0), dec!(119.00)),
            },
        ),
        on(
            F,
            "2026-03-31",
            "10002",
            CustomerCreditRefunded {
                amount: eur(dec!(20.00)),
            },
        ),
        on(
            E,
            "2026-03-31",
            "10003",
            WrittenOff {
                open: claims(dec!(5.00), dec!(0), dec!(138.00)),
                lines: vec![s19(dec!(200.00), dec!(38.00))],
            },
        ),
        // Recorded after March was exported.
        late_payment,
        // April.
        on(
            G,
            "2026-04-02",
            "10001",
            InvoiceIssued {
                lines: vec![s19(dec!(300.00), dec!(57.00))],
            },
        ),
    ]
}

/// March was exported (locked) on 2 April, 10:00 UTC; January and February
/// before.
fn locks() -> Vec<PeriodLock> {
    vec![
        PeriodLock {
            period: period("2026-01"),
            locked_at: at("2026-02-03T10:00:00Z"),
        },
        PeriodLock {
            period: period("2026-02"),
            locked_at: at("2026-03-03T10:00:00Z"),
        },
        PeriodLock {
            period: period("2026-03"),
            locked_at: at("2026-04-02T10:00:00Z"),
        },
    ]
}

/// A hand-written line: account, side, amount, §367 head, VAT of line.
fn line(
    account_digits: &str,
    side: Side,
    amount: Decimal,
    claim: Option<ClaimHead>,
    vat_of: Option<usize>,
) -> BookingLine {
    BookingLine {
        account: account(account_digits),
        side,
        amount: eur(amount),
        tax_key: None,
        claim,
        vat_of,
    }
}

fn dr(account: &str, amount: Decimal) -> BookingLine {
    line(account, Side::Debit, amount, None, None)
}

fn cr(account: &str, amount: Decimal) -> BookingLine {
    line(account, Side::Credit, amount, None, None)
}

fn debtor(account: &str, side: Side, amount: Decimal, head: ClaimHead) -> BookingLine {
    line(account, side, amount, Some(head), None)
}

/// A hand-written March booking (document date = booking date).
fn expected(
    number: &str,
    date: &str,
    invoice: &str,
    debtor_account: &str,
    text: &str,
    lines: Vec<BookingLine>,
) -> Booking {
    Booking {
        document_number: number.to_owned(),
        document_date: day(date),
        invoice_number: invoice.to_owned(),
        debtor_account: account(debtor_account),
        period: BookingPeriod::containing(day(date)),
        booking_date: day(date),
        text: text.to_owned(),
        lines,
    }
}

#[test]
fn march_books_every_kind_of_event_line_by_line() {
    // GIVEN the seller on SKR03's standard accounts and the month above
    let settings = AccountingSettings::default();
    use ClaimHead::*;
    use Side::*;
    // WHEN March's journal is made after March was exported
    let march = journal(&events(), &settings, period("2026-03"), &locks()).unwrap();
    // THEN it holds exactly these bookings, computed by hand:
    let want = vec![
        // Invoice B: 10001 debit gross 172.50; revenue 19 % 8400 and 7 %
        // 8300 net, output VAT 1776 (19.00) and 1771 (3.50), each naming
        // its revenue line.
        expected(
            B,
            "2026-03-02",
            B,
            "10001",
            "Rechnung RE-2026-000002",
            vec![
                debtor("10001", Debit, dec!(172.50), Principal),
                cr("8400", dec!(100.00)),
                line("1776", Credit, dec!(19.00), None, Some(1)),
                cr("8300", dec!(50.00)),
                line("1771", Credit, dec!(3.50), None, Some(3)),
            ],
        ),
        // Invoice C, reverse charge §13b UStG: 8336, no VAT.
        expected(
            C,
            "2026-03-03",
            C,
            "10002",
            "Rechnung RE-2026-000003",
            vec![
                debtor("10002", Debit, dec!(500.00), Principal),
                cr("8336", dec!(500.00)),
            ],
        ),
        // Invoice D, intra-EU supply §4 Nr. 1b UStG: 8125, no VAT.
        expected(
            D,
            "2026-03-04",
            D,
            "10002",
            "Rechnung RE-2026-000004",
            vec![
                debtor("10002", Debit, dec!(800.00), Principal),
                cr("8125", dec!(800.00)),
            ],
        ),
        // A's dunning fee and interest: debtor against 2747 and 2650, no VAT.
        expected(
            A,
            "2026-03-05",
            A,
            "10001",
            "Mahngebühr RE-2026-000001",
            vec![
                debtor("10001", Debit, dec!(5.00), Costs),
                cr("2747", dec!(5.00)),
            ],
        ),
        expected(
            A,
            "2026-03-05",
            A,
            "10001",
            "Verzugszinsen RE-2026-000001",
            vec![
                debtor("10001", Debit, dec!(3.50), Interest),
                cr("2650", dec!(3.50)),
            ],
        ),
        // D cancelled: the reverse of its invoice.
        expected(
            "RK-2026-000002",
            "2026-03-06",
            D,
            "10002",
            "Stornorechnung RK-2026-000002 zu RE-2026-000004",
            vec![
                dr("8125", dec!(800.00)),
                debtor("10002", Credit, dec!(800.00), Principal),
            ],
        ),
        // A's 600.00 (§367 BGB): costs 5.00, interest 3.50, principal 591.50.
        expected(
            A,
            "2026-03-10",
            A,
            "10001",
            "Zahlung RE-2026-000001",
            vec![
                dr("1200", dec!(600.00)),
                debtor("10001", Credit, dec!(5.00), Costs),
                debtor("10001", Credit, dec!(3.50), Interest),
                debtor("10001", Credit, dec!(591.50), Principal),
            ],
        ),
        expected(
            A,
            "2026-03-12",
            A,
            "10001",
            "Guthaben RE-2026-000001",
            vec![dr("1200", dec!(25.00)), cr("1700", dec!(25.00))],
        ),
        expected(
            "RK-2026-000001",
            "2026-03-15",
            C,
            "10002",
            "Rechnungskorrektur RK-2026-000001 zu RE-2026-000003",
            vec![
                dr("8336", dec!(100.00)),
                debtor("10002", Credit, dec!(100.00), Principal),
            ],
        ),
        expected(
            B,
            "2026-03-20",
            B,
            "10001",
            "Zahlung RE-2026-000002",
            vec![
                dr("1200", dec!(172.50)),
                debtor("10001", Credit, dec!(172.50), Principal),
            ],
        ),
        expected(
            B,
            "2026-03-25",
            B,
            "10001",
            "Rücklastschrift RE-2026-000002",
            vec![
                debtor("10001", Debit, dec!(172.50), Principal),
                cr("1200", dec!(172.50)),
            ],
        ),
        expected(
            B,
            "2026-03-25",
            B,
            "10001",
            "Bankgebühr RE-2026-000002",
            vec![dr("4970", dec!(3.00)), cr("1200", dec!(3.00))],
        ),
        // C's 450.00 on 400.00 open: 50.00 surplus to customer credit 1700.
        expected(
            C,
            "2026-03-28",
            C,
            "10002",
            "Zahlung RE-2026-000003",
            vec![
                dr("1200", dec!(450.00)),
                debtor("10002", Credit, dec!(400.00), Principal),
                cr("1700", dec!(50.00)),
            ],
        ),
        expected(
            F,
            "2026-03-29",
            F,
            "10002",
            "Rechnung RE-2026-000006",
            vec![
                debtor("10002", Debit, dec!(119.00), Principal),
                cr("8400", dec!(100.00)),
                line("1776", Credit, dec!(19.00), None, Some(1)),
            ],
        ),
        expected(
            F,
            "2026-03-30",
            F,
            "10002",
            "Guthaben verrechnet RE-2026-000006",
            vec![
                dr("1700", dec!(30.00)),
                debtor("10002", Credit, dec!(30.00), Principal),
            ],
        ),
        // E written off: 138.00 open principal at 19 % holds
        // 138.00 × 38 / 238 = 22.0336… → 22.03 VAT, reversed (§17(2) Nr. 1
        // UStG) against 1776; net 115.97 to 2406; the 5.00 fee to 2400.
        expected(
            E,
            "2026-03-31",
            E,
            "10003",
            "Forderungsausfall RE-2026-000005",
            vec![
                dr("2406", dec!(115.97)),
                line("1776", Debit, dec!(22.03), None, Some(0)),
                dr("2400", dec!(5.00)),
                cr("10003", dec!(143.00)),
            ],
        ),
        expected(
            F,
            "2026-03-31",
            F,
            "10002",
            "Guthaben erstattet RE-2026-000006",
            vec![dr("1700", dec!(20.00)), cr("1200", dec!(20.00))],
        ),
    ];
    assert_eq!(march.len(), want.len());
    for (got, want) in march.iter().zip(&want) {
        assert_eq!(got, want, "booking {} on {}", want.text, want.document_date);
    }
}

#[test]
fn debits_equal_credits_per_booking_and_per_period() {
    let settings = AccountingSettings::default();
    for month in ["2026-01", "2026-02", "2026-03", "2026-04"] {
        let bookings = journal(&events(), &settings, period(month), &locks()).unwrap();
        assert!(!bookings.is_empty(), "{month}");
        let mut period_balance = eur(dec!(0));
        for booking in &bookings {
            // Per document (booking): debits = credits.
            assert!(booking.balance().unwrap().is_zero(), "{}", booking.text);
            // And its postings add up to its debits.
            let debits = Money::sum(
                Currency::EUR,
                booking
                    .lines
                    .iter()
                    .filter(|l| l.side == Side::Debit)
                    .map(|l| l.amount),
            )
            .unwrap();
            let posted = Money::sum(
                Currency::EUR,
                booking.postings().unwrap().iter().map(|p| p.amount),
            )
            .unwrap();
            assert_eq!(posted, debits, "{}", booking.text);
            period_balance = period_balance
                .checked_add(booking.balance().unwrap())
                .unwrap();
        }
        assert!(period_balance.is_zero(), "{month}");
    }
}

#[test]
fn a_payment_recorded_after_the_export_books_into_the_next_open_month() {
    let settings = AccountingSettings::default();
    // GIVEN March was exported on 2 April and A's 200.00 (value date
    // 31 March) was recorded on 3 April
    // WHEN April's journal is made
    let april = journal(&events(), &settings, period("2026-04"), &locks()).unwrap();
    // THEN it books the late payment first, dated on April's first day but
    // citing its own document date, then G's invoice
    assert_eq!(april.len(), 2);
    let late = &april[0];
    assert_eq!(late.period, period("2026-04"));
    assert_eq!(late.document_date, day("2026-03-31"));
    assert_eq!(late.booking_date, day("2026-04-01"));
    assert_eq!(
        late.lines,
        vec![
            dr("1200", dec!(200.00)),
            debtor("10001", Side::Credit, dec!(200.00), ClaimHead::Principal)
        ]
    );
    assert_eq!(april[1].document_number, G);
    // AND March computed without the late payment is the same: the export
    // stays as it was handed over
    let without: Vec<JournalEvent> = events()
        .into_iter()
        .filter(|e| e.recorded_at < at("2026-04-02T10:00:00Z"))
        .collect();
    assert_eq!(
        journal(&without, &settings, period("2026-03"), &locks()).unwrap(),
        journal(&events(), &settings, period("2026-03"), &locks()).unwrap()
    );
    // AND before the lock the same payment would have booked into March
    assert_eq!(
        booking_period(&events()[21], &locks()[..2]),
        period("2026-03")
    );
}

/// The receivables the aging reads, for the same facts.
fn histories() -> Vec<ReceivableHistory> {
    use ReceivableChange::*;
    let h = |issued: &str, due: &str, total: Decimal, events: Vec<(&str, ReceivableChange)>| {
        ReceivableHistory {
            account_id: AccountId::new("acc_1"),
            issue_date: day(issued),
            due_date: day(due),
            total: eur(total),
            receivable: true,
            events: events
                .into_iter()
                .map(|(on, change)| ReceivableEvent {
                    on: day(on),
                    change,
                })
                .collect(),
        }
    };
    vec![
        h(
            "2026-02-10",
            "2026-02-24",
            dec!(1190.00),
            vec![
                ("2026-03-05", CostsClaimed(eur(dec!(5.00)))),
                ("2026-03-05", InterestClaimed(eur(dec!(3.50)))),
                ("2026-03-10", Payment(eur(dec!(600.00)))),
                ("2026-03-31", Payment(eur(dec!(200.00)))),
            ],
        ),
        h(
            "2026-03-02",
            "2026-03-16",
            dec!(172.50),
            vec![
                ("2026-03-20", Payment(eur(dec!(172.50)))),
                ("2026-03-25", Payment(eur(dec!(-172.50)))),
            ],
        ),
        h(
            "2026-03-03",
            "2026-03-17",
            dec!(500.00),
            vec![
                ("2026-03-15", CreditNote(eur(dec!(100.00)))),
                ("2026-03-28", Payment(eur(dec!(450.00)))),
            ],
        ),
        h(
            "2026-03-04",
            "2026-03-18",
            dec!(800.00),
            vec![
                ("2026-03-06", CreditNote(eur(dec!(800.00)))),
                ("2026-03-06", Cancellation),
            ],
        ),
        h(
            "2026-01-15",
            "2026-01-29",
            dec!(238.00),
            vec![
                ("2026-02-01", Payment(eur(dec!(100.00)))),
                ("2026-02-20", CostsClaimed(eur(dec!(5.00)))),
                ("2026-03-31", WriteOff),
            ],
        ),
        h(
            "2026-03-29",
            "2026-04-12",
            dec!(119.00),
            vec![("2026-03-30", Payment(eur(dec!(30.00))))],
        ),
        h("2026-04-02", "2026-04-16", dec!(357.00), vec![]),
    ]
}

#[test]
fn the_journals_debtor_balance_is_the_agings_total_at_each_month_end_and_today() {
    let settings = AccountingSettings::default();
    let every_booking: Vec<Booking> = ["2026-01", "2026-02", "2026-03", "2026-04"]
        .into_iter()
        .flat_map(|month| journal(&events(), &settings, period(month), &locks()).unwrap())
        .collect();
    // Hand-computed totals: 31 Jan E 238.00; 28 Feb A 1,190.00 + E (238.00
    // − 100.00 + 5.00) = 1,333.00; 31 Mar A 398.50 (1,190.00 + 8.50 −
    // 600.00 − 200.00) + B 172.50 (returned) + F 89.00, C paid, D
    // cancelled, E written off = 660.00; today (15 Apr) + G 357.00.
    for (as_of, total) in [
        ("2026-01-31", dec!(238.00)),
        ("2026-02-28", dec!(1333.00)),
        ("2026-03-31", dec!(660.00)),
        ("2026-04-15", dec!(1017.00)),
    ] {
        let invoices = receivables_as_of(&histories(), day(as_of)).unwrap();
        let aged = aging(&invoices, Currency::EUR, day(as_of)).unwrap();
        let booked = debtor_balance(&every_booking, &settings, Currency::EUR, day(as_of)).unwrap();
        assert_eq!(aged.total, eur(total), "aging {as_of}");
        assert_eq!(booked, eur(total), "journal {as_of}");
    }
}

#[test]
fn a_written_off_invoice_is_closed_from_its_write_off_day() {
    let e = &histories()[4];
    let before = e.as_of(day("2026-03-30")).unwrap().unwrap();
    assert_eq!(before.open, eur(dec!(143.00)));
    assert!(before.receivable);
    let after = e.as_of(day("2026-03-31")).unwrap().unwrap();
    assert_eq!(after.open, eur(dec!(0.00)));
    assert!(!after.receivable, "no receivable after the write-off");
    assert_eq!(after.paid_in_full_on, None, "written off is not paid");
}

#[test]
fn a_write_off_over_two_rates_corrects_each_rates_vat() {
    // GIVEN B (100.00 + 19 % and 50.00 + 7 %, gross 172.50) with 72.50 paid
    // and 100.00 of principal open, no costs
    let settings = AccountingSettings::default();
    let written_off = on(
        B,
        "2026-05-31",
        "10001",
        JournalEventKind::WrittenOff {
            open: claims(dec!(0), dec!(0), dec!(100.00)),
            lines: vec![
                s19(dec!(100.00), dec!(19.00)),
                TaxLine {
                    category: VatCategoryCode::S,
                    rate: dec!(7),
                    net: eur(dec!(50.00)),
                    tax: eur(dec!(3.50)),
                },
            ],
        },
    );
    // WHEN it is written off
    let booked = booking(&written_off, &settings, period("2026-05")).unwrap();
    // THEN 100.00 splits by gross: 19 % part 100.00 × 119.00 / 172.50 =
    // 68.9855… → 68.99 (VAT 68.99 × 19 / 119 = 11.0152… → 11.02, net 57.97);
    // 7 % part the rest 31.01 (VAT 31.01 × 3.50 / 53.50 = 2.0286… → 2.03,
    // net 28.98)
    assert_eq!(
        booked.lines,
        vec![
            dr("2406", dec!(57.97)),
            line("1776", Side::Debit, dec!(11.02), None, Some(0)),
            dr("2401", dec!(28.98)),
            line("1771", Side::Debit, dec!(2.03), None, Some(2)),
            cr("10001", dec!(100.00)),
        ]
    );
    // AND DATEV's postings book the gross per rate on the automatic
    // bad-debt accounts
    let postings: Vec<(String, String, Money)> = booked
        .postings()
        .unwrap()
        .into_iter()
        .map(|p| (p.debit.to_string(), p.credit.to_string(), p.amount))
        .collect();
    assert_eq!(
        postings,
        vec![
            ("2406".to_owned(), "10001".to_owned(), eur(dec!(68.99))),
            ("2401".to_owned(), "10001".to_owned(), eur(dec!(31.01))),
        ]
    );
}

#[test]
fn skr04_books_to_its_own_standard_accounts() {
    let settings: AccountingSettings = serde_json::from_str(r#"{"chart": "skr04"}"#).unwrap();
    assert_eq!(settings.chart, Chart::Skr04);
    let invoice = on(
        F,
        "2026-03-29",
        "10002",
        JournalEventKind::InvoiceIssued {
            lines: vec![s19(dec!(100.00), dec!(19.00))],
        },
    );
    let booked = booking(&invoice, &settings, period("2026-03")).unwrap();
    let accounts: Vec<&str> = booked.lines.iter().map(|l| l.account.as_str()).collect();
    assert_eq!(accounts, ["10002", "4400", "3806"]);
}

#[test]
fn booking_periods_skip_locked_months() {
    let jan = period("2026-01");
    let feb = period("2026-02");
    let mar = period("2026-03");
    // An open month is the event's own.
    assert_eq!(period_for(day("2026-03-31"), &[jan, feb]), mar);
    // A locked month sends the event to the next open one, past several.
    assert_eq!(period_for(day("2026-01-20"), &[jan, feb]), mar);
    assert_eq!(period_for(day("2026-01-20"), &[jan]), feb);
    // Only earlier locks count: a lock of a later month is no reason.
    assert_eq!(period_for(day("2026-01-20"), &[feb]), jan);
    // Across the year end.
    let dec_2025 = period("2025-12");
    assert_eq!(period_for(day("2025-12-31"), &[dec_2025]), jan);
    // The seller's time zone decides the month: 23:30 UTC on 31 January is
    // 00:30 on 1 February in Berlin.
    assert_eq!(
        BookingPeriod::of_instant(at("2026-01-31T23:30:00Z"), chrono_tz::Europe::Berlin),
        feb
    );
    assert_eq!(
        BookingPeriod::of_instant(at("2026-01-31T22:30:00Z"), chrono_tz::Europe::Berlin),
        jan
    );
    assert_eq!(
        (feb.first_day(), feb.last_day()),
        (day("2026-02-01"), day("2026-02-28"))
    );
    assert!("2026-13".parse::<BookingPeriod>().is_err());
}

#[test]
fn a_debtor_account_outside_the_sellers_range_is_refused_by_name() {
    let settings = AccountingSettings::default();
    let mut bad = events();
    bad[2].debtor_account = account("70001");
    let err = journal(&bad, &settings, period("2026-02"), &locks()).unwrap_err();
    assert!(
        err.to_string().starts_with("events[2].debtor_account:"),
        "{err}"
    );
    bad[2].debtor_account = account("1000");
    let err = journal(&bad, &settings, period("2026-02"), &locks()).unwrap_err();
    assert!(err.to_string().contains("has 4 digits"), "{err}");
}

#[test]
fn bad_amounts_and_currencies_are_refused_by_name() {
    let settings = AccountingSettings::default();
    let with = |kind| {
        booking(
            &on(A, "2026-03-10", "10001", kind),
            &settings,
            period("2026-03"),
        )
    };
    // A rate the books have no accounts for.
    let err = with(JournalEventKind::InvoiceIssued {
        lines: vec![TaxLine {
            rate: dec!(16),
            ..s19(dec!(100.00), dec!(16.00))
        }],
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("kind.lines[0].rate:"), "{err}");
    // VAT on a reverse-charge group.
    let err = with(JournalEventKind::InvoiceIssued {
        lines: vec![TaxLine {
            tax: eur(dec!(1.00)),
            ..untaxed(VatCategoryCode::Ae, dec!(100.00))
        }],
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("kind.lines[0].tax:"), "{err}");
    // Groups in two currencies.
    let err = with(JournalEventKind::InvoiceIssued {
        lines: vec![
            s19(dec!(100.00), dec!(19.00)),
            TaxLine {
                net: Money::new(dec!(10.00), Currency::USD),
                ..untaxed(VatCategoryCode::O, dec!(0))
            },
        ],
    })
    .unwrap_err();
    assert!(
        err.to_string().starts_with("kind.lines[1].net.currency:"),
        "{err}"
    );
    // A payment in another currency than the invoice's claims.
    let err = with(JournalEventKind::PaymentReceived {
        amount: Money::new(dec!(10.00), Currency::USD),
        open_before: claims(dec!(0), dec!(0), dec!(100.00)),
        purpose: PaymentPurpose::Statutory,
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("amount.currency:"), "{err}");
    // Nothing or less than nothing.
    let err = with(JournalEventKind::BankFee {
        amount: eur(dec!(0.00)),
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("kind.amount:"), "{err}");
    // Finer than cents.
    let err = with(JournalEventKind::DunningFeeClaimed {
        amount: eur(dec!(2.505)),
    })
    .unwrap_err();
    assert!(err.to_string().contains("more decimals"), "{err}");
    // No document number.
    let mut nameless = on(
        A,
        "2026-03-10",
        "10001",
        JournalEventKind::BankFee {
            amount: eur(dec!(1.00)),
        },
    );
    nameless.document.number = " ".to_owned();
    let err = booking(&nameless, &settings, period("2026-03")).unwrap_err();
    assert!(err.to_string().starts_with("document.number:"), "{err}");
    // More credit applied than is open.
    let err = with(JournalEventKind::CustomerCreditApplied {
        amount: eur(dec!(50.00)),
        open_before: claims(dec!(0), dec!(0), dec!(40.00)),
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("kind.amount:"), "{err}");
    // A return above what was paid.
    let err = with(JournalEventKind::DirectDebitReturned {
        amount: eur(dec!(50.00)),
        paid_before: claims(dec!(0), dec!(0), dec!(40.00)),
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("amount:"), "{err}");
}

#[test]
fn a_designated_payment_settles_the_named_head_first() {
    // GIVEN A with 5.00 costs, 3.50 interest and 1,190.00 open, and the
    // customer's 600.00 "for the invoice amount" (§367(2) BGB)
    let settings = AccountingSettings::default();
    let payment = on(
        A,
        "2026-03-10",
        "10001",
        JournalEventKind::PaymentReceived {
            amount: eur(dec!(600.00)),
            open_before: claims(dec!(5.00), dec!(3.50), dec!(1190.00)),
            purpose: PaymentPurpose::Designated(ClaimHead::Principal),
        },
    );
    // THEN all of it settles the principal
    let booked = booking(&payment, &settings, period("2026-03")).unwrap();
    assert_eq!(
        booked.lines,
        vec![
            dr("1200", dec!(600.00)),
            debtor("10001", Side::Credit, dec!(600.00), ClaimHead::Principal)
        ]
    );
    // AND in the receivables costs and interest stay open
    let history = ReceivableHistory {
        account_id: AccountId::new("acc_1"),
        issue_date: day("2026-02-10"),
        due_date: day("2026-02-24"),
        total: eur(dec!(1190.00)),
        receivable: true,
        events: vec![
            ReceivableEvent {
                on: day("2026-03-05"),
                change: ReceivableChange::CostsClaimed(eur(dec!(5.00))),
            },
            ReceivableEvent {
                on: day("2026-03-05"),
                change: ReceivableChange::InterestClaimed(eur(dec!(3.50))),
            },
            ReceivableEvent {
                on: day("2026-03-10"),
                change: ReceivableChange::DesignatedPayment(
                    eur(dec!(600.00)),
                    PaymentPurpose::Designated(ClaimHead::Principal),
                ),
            },
        ],
    };
    let state = history.state_as_of(day("2026-03-10")).unwrap().unwrap();
    assert_eq!(state.open, claims(dec!(5.00), dec!(3.50), dec!(590.00)));
}

#[test]
fn a_credit_note_after_payment_moves_the_paid_surplus_to_customer_credit() {
    // GIVEN F (119.00) paid in full on 30 March, then credited 10.00 + 19 %
    // on 31 March: 11.90 paid too much
    let settings = AccountingSettings::default();
    let events = vec![
        on(
            F,
            "2026-03-29",
            "10002",
            JournalEventKind::InvoiceIssued {
                lines: vec![s19(dec!(100.00), dec!(19.00))],
            },
        ),
        on(
            F,
            "2026-03-30",
            "10002",
            JournalEventKind::PaymentReceived {
                amount: eur(dec!(119.00)),
                open_before: claims(dec!(0), dec!(0), dec!(119.00)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
        event(
            "RK-2026-000009",
            "2026-03-31",
            F,
            "10002",
            JournalEventKind::CreditNoteIssued {
                lines: vec![s19(dec!(10.00), dec!(1.90))],
                cancellation: false,
            },
        ),
        event(
            "RK-2026-000009",
            "2026-03-31",
            F,
            "10002",
            JournalEventKind::CustomerCreditFromCorrection {
                amount: eur(dec!(11.90)),
            },
        ),
    ];
    let march = journal(&events, &settings, period("2026-03"), &[]).unwrap();
    // THEN the surplus moves from the debtor to customer credit 1700
    assert_eq!(
        march[3].lines,
        vec![
            debtor("10002", Side::Debit, dec!(11.90), ClaimHead::Principal),
            cr("1700", dec!(11.90))
        ]
    );
    // AND the debtor balance is the aging's: nothing open
    let history = ReceivableHistory {
        account_id: AccountId::new("acc_1"),
        issue_date: day("2026-03-29"),
        due_date: day("2026-04-12"),
        total: eur(dec!(119.00)),
        receivable: true,
        events: vec![
            ReceivableEvent {
                on: day("2026-03-30"),
                change: ReceivableChange::Payment(eur(dec!(119.00))),
            },
            ReceivableEvent {
                on: day("2026-03-31"),
                change: ReceivableChange::CreditNote(eur(dec!(11.90))),
            },
        ],
    };
    let state = history.state_as_of(day("2026-03-31")).unwrap().unwrap();
    assert_eq!(state.surplus, eur(dec!(11.90)));
    let invoices = receivables_as_of(&[history], day("2026-03-31")).unwrap();
    let aged = aging(&invoices, Currency::EUR, day("2026-03-31")).unwrap();
    assert_eq!(aged.total, eur(dec!(0.00)));
    assert_eq!(
        debtor_balance(&march, &settings, Currency::EUR, day("2026-03-31")).unwrap(),
        eur(dec!(0.00))
    );
}

#[test]
fn a_non_automatic_revenue_account_carries_its_tax_key_into_the_posting() {
    // GIVEN the advisor books 19 % revenue on a non-automatic account with
    // DATEV tax key 3 (output VAT 19 %, research note §5.1)
    let settings: AccountingSettings = serde_json::from_str(
        r#"{"accounts": {"taxable": [{"rate": "19",
            "revenue": {"account": "8000", "tax_key": 3},
            "output_vat": "1776", "bad_debt": {"account": "2406"}}]}}"#,
    )
    .unwrap();
    let invoice = on(
        F,
        "2026-03-29",
        "10002",
        JournalEventKind::InvoiceIssued {
            lines: vec![s19(dec!(100.00), dec!(19.00))],
        },
    );
    let booked = booking(&invoice, &settings, period("2026-03")).unwrap();
    assert_eq!(booked.lines[1].account.as_str(), "8000");
    assert_eq!(booked.lines[1].tax_key.map(|k| k.value()), Some(3));
    assert_eq!(booked.lines[2].tax_key, None, "the VAT line carries none");
    // THEN DATEV's posting is 119.00 from the debtor to 8000 with key 3
    let postings = booked.postings().unwrap();
    assert_eq!(postings.len(), 1);
    assert_eq!(postings[0].amount, eur(dec!(119.00)));
    assert_eq!(
        (postings[0].debit.as_str(), postings[0].credit.as_str()),
        ("10002", "8000")
    );
    assert_eq!(postings[0].tax_key.map(|k| k.value()), Some(3));
}

#[test]
fn the_receivables_replay_gives_each_payment_what_was_open_before_it() {
    // GIVEN A's history: its payment events are built from the state
    // before each one, so the journal and the receivables allocate alike
    let a = &histories()[0];
    let steps = a.steps().unwrap();
    let before: Vec<(NaiveDate, Claims)> = steps
        .iter()
        .map(|(event, state)| (event.on, state.open))
        .collect();
    assert_eq!(
        before,
        vec![
            (day("2026-03-05"), claims(dec!(0), dec!(0), dec!(1190.00))),
            (
                day("2026-03-05"),
                claims(dec!(5.00), dec!(0), dec!(1190.00))
            ),
            (
                day("2026-03-10"),
                claims(dec!(5.00), dec!(3.50), dec!(1190.00))
            ),
            (day("2026-03-31"), claims(dec!(0), dec!(0), dec!(598.50))),
        ]
    );
    // AND these are exactly the open_before the test's events carry
    let (_, after_payment) = &steps[3];
    assert_eq!(
        after_payment.paid,
        claims(dec!(5.00), dec!(3.50), dec!(591.50))
    );
}
