//! Test inputs: a seller's settings and the journal's own bookings of real
//! events (built by `billing_domain::journal`, not by hand), so the
//! writers are tested on what they will be given.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use billing_domain::accounting::{AccountNumber, AccountingSettings};
use billing_domain::journal::{
    Booking, BookingPeriod, DocumentRef, JournalEvent, JournalEventKind, TaxLine, journal,
};
use billing_domain::money::{Currency, Money};
use billing_domain::payment::{Claims, PaymentPurpose};
use billing_domain::tax::VatCategoryCode;

use crate::datev::{Batch, ExtfHeader};

/// SKR03 with its standard accounts, fiscal year = calendar year,
/// account length 4, the research note's sample consultant and client.
pub(crate) fn settings() -> AccountingSettings {
    AccountingSettings {
        consultant_number: Some(29098),
        client_number: Some(55003),
        ..AccountingSettings::default()
    }
}

pub(crate) fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::EUR).round()
}

pub(crate) fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real day")
}

pub(crate) fn account(digits: &str) -> AccountNumber {
    AccountNumber::parse(digits, "account").expect("an account number")
}

/// The research note's sample timestamp, 2024-01-30 14:04:40.439 UTC.
pub(crate) fn created_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 30, 14, 4, 40).unwrap() + chrono::Duration::milliseconds(439)
}

/// A batch of the month of `period` named after it.
pub(crate) fn batch(from: NaiveDate, to: NaiveDate, description: &str) -> Batch<'_> {
    Batch {
        date_from: from,
        date_to: to,
        created_at: created_at(),
        description,
        locked: false,
        currency: Currency::EUR,
    }
}

/// The header of a month's export.
pub(crate) fn month_header(period: BookingPeriod) -> ExtfHeader {
    ExtfHeader::new(
        &settings(),
        &batch(period.first_day(), period.last_day(), "Buchungen"),
    )
    .expect("a valid header")
}

pub(crate) fn taxed(net: Decimal, rate: Decimal, tax: Decimal) -> TaxLine {
    TaxLine {
        category: VatCategoryCode::S,
        rate,
        net: eur(net),
        tax: eur(tax),
    }
}

pub(crate) fn untaxed(category: VatCategoryCode, net: Decimal) -> TaxLine {
    TaxLine {
        category,
        rate: Decimal::ZERO,
        net: eur(net),
        tax: eur(Decimal::ZERO),
    }
}

pub(crate) fn claims(costs: Decimal, interest: Decimal, principal: Decimal) -> Claims {
    Claims {
        costs: eur(costs),
        interest: eur(interest),
        principal: eur(principal),
    }
}

/// An event of `document` for `invoice` on `debtor`'s account, recorded at
/// noon of its day.
pub(crate) fn event(
    document: &str,
    invoice: &str,
    date: NaiveDate,
    debtor: &str,
    kind: JournalEventKind,
) -> JournalEvent {
    JournalEvent {
        document: DocumentRef {
            number: document.to_owned(),
            date,
        },
        invoice_number: invoice.to_owned(),
        debtor_account: account(debtor),
        recorded_at: Utc.from_utc_datetime(&date.and_hms_opt(12, 0, 0).unwrap()),
        kind,
    }
}

/// The journal's bookings of `events` in `period`, nothing locked.
pub(crate) fn bookings(events: &[JournalEvent], period: BookingPeriod) -> Vec<Booking> {
    journal(events, &settings(), period, &[]).expect("the journal books every event")
}

/// March 2026 with every kind of event the journal knows.
pub(crate) fn march_events() -> Vec<JournalEvent> {
    use JournalEventKind as K;
    let d = |n| day(2026, 3, n);
    vec![
        event(
            "RE-2026-001",
            "RE-2026-001",
            d(2),
            "10000",
            K::InvoiceIssued {
                lines: vec![
                    taxed(dec!(1000), dec!(19), dec!(190)),
                    taxed(dec!(100), dec!(7), dec!(7)),
                ],
            },
        ),
        event(
            "RE-2026-002",
            "RE-2026-002",
            d(3),
            "10001",
            K::InvoiceIssued {
                lines: vec![untaxed(VatCategoryCode::Ae, dec!(500))],
            },
        ),
        event(
            "RE-2026-003",
            "RE-2026-003",
            d(4),
            "10002",
            K::InvoiceIssued {
                lines: vec![untaxed(VatCategoryCode::K, dec!(800))],
            },
        ),
        event(
            "RE-2026-004",
            "RE-2026-004",
            d(1),
            "10003",
            K::InvoiceIssued {
                lines: vec![taxed(dec!(100), dec!(19), dec!(19))],
            },
        ),
        event(
            "GS-2026-001",
            "RE-2026-001",
            d(5),
            "10000",
            K::CreditNoteIssued {
                lines: vec![taxed(dec!(100), dec!(19), dec!(19))],
                cancellation: false,
            },
        ),
        event(
            "RE-2026-004",
            "RE-2026-004",
            d(10),
            "10003",
            K::DunningFeeClaimed {
                amount: eur(dec!(5)),
            },
        ),
        event(
            "RE-2026-004",
            "RE-2026-004",
            d(10),
            "10003",
            K::DefaultInterestClaimed {
                amount: eur(dec!(1.23)),
            },
        ),
        event(
            "RE-2026-004",
            "RE-2026-004",
            d(15),
            "10003",
            K::PaymentReceived {
                amount: eur(dec!(100)),
                open_before: claims(dec!(5), dec!(1.23), dec!(119)),
                purpose: PaymentPurpose::Statutory,
            },
        ),
        event(
            "RE-2026-004",
            "RE-2026-004",
            d(20),
            "10003",
            K::DirectDebitReturned {
                amount: eur(dec!(100)),
                paid_before: claims(dec!(5), dec!(1.23), dec!(93.77)),
            },
        ),
        event(
            "RE-2026-004",
            "RE-2026-004",
            d(20),
            "10003",
            K::BankFee {
                amount: eur(dec!(3)),
            },
        ),
        event(
            "RE-2026-002",
            "RE-2026-002",
            d(21),
            "10001",
            K::CustomerCreditCreated {
                amount: eur(dec!(70)),
            },
        ),
        event(
            "RE-2026-002",
            "RE-2026-002",
            d(22),
            "10001",
            K::CustomerCreditApplied {
                amount: eur(dec!(50)),
                open_before: claims(dec!(0), dec!(0), dec!(500)),
            },
        ),
        event(
            "RE-2026-002",
            "RE-2026-002",
            d(23),
            "10001",
            K::CustomerCreditRefunded {
                amount: eur(dec!(20)),
            },
        ),
        event(
            "RE-2026-001",
            "RE-2026-001",
            d(31),
            "10000",
            K::WrittenOff {
                open: claims(dec!(0), dec!(0), dec!(1178)),
                lines: vec![
                    taxed(dec!(900), dec!(19), dec!(171)),
                    taxed(dec!(100), dec!(7), dec!(7)),
                ],
            },
        ),
    ]
}

pub(crate) fn march() -> BookingPeriod {
    BookingPeriod::containing(day(2026, 3, 1))
}
