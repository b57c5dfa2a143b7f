//! The booking journal: double-entry bookings derived from what the product
//! recorded (invoices, credit notes, payments, returns, fees, interest,
//! customer credit, write-offs), never typed in, for the tax advisor's DATEV
//! import or another ERP's CSV import.
//!
//! Every booking names its document (number and date), the open item it
//! concerns (the invoice number: DATEV's OPOS key, Belegfeld 1), the
//! customer's debtor account, its booking period and text, and lines that
//! sum to zero (debits = credits). Each kind of event books as follows
//! (accounts from [`AccountMapping`], `D` = the customer's debtor account):
//!
//! | Event | Debit | Credit | Rule |
//! |---|---|---|---|
//! | invoice | D gross | revenue per tax category (net), output VAT per rate | §13(1) Nr. 1a UStG: VAT arises with the supply; reverse charge §13b UStG and intra-EU supply §4 Nr. 1b UStG on their own accounts, without VAT |
//! | credit note / cancellation | revenue, output VAT | D gross | §17(1) UStG: the consideration and its VAT are corrected |
//! | payment | bank | D per §367 BGB head; surplus to customer credit | §362 BGB, §367 BGB |
//! | direct-debit return | D per head reopened | bank | the payment is undone |
//! | bank fee | bank fees | bank | §4 Nr. 8 UStG: no input VAT |
//! | dunning fee claimed | D (costs) | dunning fees | damages (§280(2), §286 BGB), no VAT (Abschn. 1.3 Abs. 6 UStAE) |
//! | default interest claimed | D (interest) | interest income | §288 BGB; damages, no VAT |
//! | customer credit created | bank | customer credit | money kept for the customer |
//! | credit note beyond what was open (paid surplus) | D | customer credit | the paid surplus is owed back (§812 BGB) |
//! | customer credit applied | customer credit | D per §367 BGB head | set-off, §387, §396(1) BGB with §367 |
//! | customer credit refunded | customer credit | bank | |
//! | write-off | bad debt (net) + output VAT per rate, bad debt without VAT for the rest | D open total | §17(2) Nr. 1 UStG: VAT on an uncollectible consideration is corrected |
//!
//! The explicit VAT lines make the journal balance line by line for any
//! ERP. DATEV instead books the gross amount on an automatic revenue
//! account (or with a tax key) and derives the VAT itself:
//! [`Booking::postings`] folds each VAT line into the line it belongs to
//! (`vat_of`) and pairs the lines into DATEV's one-debit-one-credit rows.
//!
//! **Booking periods** are calendar months of the seller ([`BookingPeriod`]).
//! An event books into the month of its document date unless that month was
//! already exported (locked) when the event was recorded; then it books
//! into the next open month (GoBD: nothing changes after handover,
//! [`period_for`]). So the journal of a locked month, computed again later,
//! is the same.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;
use crate::accounting::{AccountNumber, AccountingSettings, TaxKey, TaxedAccount};
use crate::invoice::TaxBreakdown;
use crate::money::{Currency, Money};
use crate::payment::{ClaimHead, Claims, PaymentPurpose, allocate_payment, allocate_return};
use crate::revenue::Month;
use crate::tax::VatCategoryCode;

/// A booking period: one calendar month of the seller, in the seller's
/// time zone (`YYYY-MM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BookingPeriod(Month);

impl BookingPeriod {
    /// The period of a calendar day of the seller.
    pub fn containing(day: NaiveDate) -> Self {
        Self(Month::of(day))
    }

    /// The period of an instant, reckoned in the seller's time zone `zone`
    /// (a payment recorded at 23:30 UTC on 31 January is in February in
    /// Berlin).
    pub fn of_instant(at: DateTime<Utc>, zone: chrono_tz::Tz) -> Self {
        Self::containing(crate::run::run_date(at, zone))
    }

    /// The month.
    pub fn month(self) -> Month {
        self.0
    }

    /// First day (DATEV "Datum vom").
    pub fn first_day(self) -> NaiveDate {
        self.0.first_day()
    }

    /// Last day (DATEV "Datum bis").
    pub fn last_day(self) -> NaiveDate {
        self.0.last_day()
    }

    /// The month after.
    pub fn next(self) -> Self {
        Self(self.0.next())
    }

    /// Whether `day` lies in the period.
    pub fn contains(self, day: NaiveDate) -> bool {
        Self::containing(day) == self
    }
}

impl fmt::Display for BookingPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for BookingPeriod {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<Month>()
            .map(Self)
            .map_err(|_| DomainError::invalid("period", "must be a month YYYY-MM"))
    }
}

impl Serialize for BookingPeriod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BookingPeriod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The period an event dated `event_date` books into when `locked` are the
/// periods already exported (locked) at the time it was recorded: its own
/// month, or, if that is locked, the first month after it that is not
/// (GoBD Rz. 58 ff.: booked data may not change after handover, so a late
/// event books forward, never into a closed month).
pub fn period_for(event_date: NaiveDate, locked: &[BookingPeriod]) -> BookingPeriod {
    let mut period = BookingPeriod::containing(event_date);
    while locked.contains(&period) {
        period = period.next();
    }
    period
}

/// An exported period and when it was locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodLock {
    /// The period.
    pub period: BookingPeriod,
    /// When its export locked it.
    pub locked_at: DateTime<Utc>,
}

/// The period `event` books into, given every lock so far: only locks in
/// force when the event was recorded move it (an event recorded before a
/// period was exported was exported with it).
pub fn booking_period(event: &JournalEvent, locks: &[PeriodLock]) -> BookingPeriod {
    let locked: Vec<BookingPeriod> = locks
        .iter()
        .filter(|lock| lock.locked_at <= event.recorded_at)
        .map(|lock| lock.period)
        .collect();
    period_for(event.document.date, &locked)
}

/// A document as the books cite it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    /// Its number (invoice or credit note number; for a payment, return or
    /// fee the number of the invoice it concerns).
    pub number: String,
    /// Its date: issue date of an invoice or credit note, value date of a
    /// payment or return, the day a fee, interest, credit movement or
    /// write-off was recorded (all in the seller's time zone).
    pub date: NaiveDate,
}

/// One group of an invoice's or credit note's VAT breakdown: what the
/// journal needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// EN 16931 category (S with a rate; AE reverse charge; K intra-EU
    /// supply; O not taxable; E exempt; Z zero-rated).
    pub category: VatCategoryCode,
    /// Rate in percent (0 outside category S).
    pub rate: Decimal,
    /// Net amount (positive).
    pub net: Money,
    /// VAT (zero outside category S).
    pub tax: Money,
}

impl From<&TaxBreakdown> for TaxLine {
    fn from(group: &TaxBreakdown) -> Self {
        Self {
            category: group.category,
            rate: group.rate,
            net: group.taxable_amount,
            tax: group.tax_amount,
        }
    }
}

/// Something recorded that the books must show, with its document and the
/// customer's debtor account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEvent {
    /// The document the booking cites.
    pub document: DocumentRef,
    /// The invoice whose open item it opens, settles or corrects (DATEV
    /// OPOS key): the invoice's own number for an invoice, the corrected
    /// invoice for a credit note; for customer credit kept or refunded
    /// without an invoice, the document that created it.
    pub invoice_number: String,
    /// The customer's debtor account.
    pub debtor_account: AccountNumber,
    /// When the product recorded it (decides the period with the locks).
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub kind: JournalEventKind,
}

/// What happened, with the amounts the booking needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JournalEventKind {
    /// An invoice was issued, with its VAT breakdown.
    InvoiceIssued {
        /// The breakdown groups.
        lines: Vec<TaxLine>,
    },
    /// A credit note (partial) or cancellation (the whole invoice) was
    /// issued, with its VAT breakdown (amounts positive).
    CreditNoteIssued {
        /// The breakdown groups.
        lines: Vec<TaxLine>,
        /// A cancellation ("Storno") rather than a partial credit.
        cancellation: bool,
    },
    /// Money arrived for the invoice.
    PaymentReceived {
        /// What arrived (positive).
        amount: Money,
        /// What was open on the invoice just before, per head.
        open_before: Claims,
        /// What the customer said it is for.
        #[serde(default)]
        purpose: PaymentPurpose,
    },
    /// A direct debit (or card payment) came back.
    DirectDebitReturned {
        /// What went back (positive).
        amount: Money,
        /// What had been paid on the invoice per head just before.
        paid_before: Claims,
    },
    /// The bank charged a fee (e.g. for the return).
    BankFee {
        /// The fee (positive).
        amount: Money,
    },
    /// A dunning fee (or the business flat fee of §288(5) BGB) was claimed.
    DunningFeeClaimed {
        /// The fee (positive).
        amount: Money,
    },
    /// Default interest was claimed (§288 BGB).
    DefaultInterestClaimed {
        /// The interest (positive).
        amount: Money,
    },
    /// Money was kept as customer credit (received without an invoice to
    /// settle).
    CustomerCreditCreated {
        /// The amount (positive).
        amount: Money,
    },
    /// A credit note lowered the invoice below what was already paid: the
    /// paid surplus moves from the customer's debtor account to customer
    /// credit (what the receivables count as surplus, not as open).
    CustomerCreditFromCorrection {
        /// The surplus (positive).
        amount: Money,
    },
    /// Customer credit settled (part of) the invoice.
    CustomerCreditApplied {
        /// The amount (positive).
        amount: Money,
        /// What was open on the invoice just before, per head.
        open_before: Claims,
    },
    /// Customer credit was paid back.
    CustomerCreditRefunded {
        /// The amount (positive).
        amount: Money,
    },
    /// The invoice was written off as uncollectible.
    WrittenOff {
        /// What was open per head.
        open: Claims,
        /// The invoice's VAT breakdown as it stands (after credit notes):
        /// the open principal is split over it in proportion to gross.
        lines: Vec<TaxLine>,
    },
}

/// Debit or credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Soll.
    Debit,
    /// Haben.
    Credit,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Self {
        match self {
            Self::Debit => Self::Credit,
            Self::Credit => Self::Debit,
        }
    }
}

/// One line of a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingLine {
    /// The account.
    pub account: AccountNumber,
    /// Debit or credit.
    pub side: Side,
    /// The amount (positive, rounded to the minor unit).
    pub amount: Money,
    /// The DATEV tax key, where the account needs one (see
    /// [`crate::accounting`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_key: Option<TaxKey>,
    /// On a debtor line: the §367 BGB head it claims or settles (DATEV
    /// column "Sachverhalt": 31 interest, 40 dunning fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimHead>,
    /// On an output-VAT line: the index of the line (revenue or bad debt)
    /// whose VAT it is; DATEV books the two as one gross amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_of: Option<usize>,
}

impl BookingLine {
    /// The amount as it moves the account's balance: debit positive,
    /// credit negative.
    pub fn signed(&self) -> Money {
        match self.side {
            Side::Debit => self.amount,
            Side::Credit => -self.amount,
        }
    }
}

/// One double-entry booking (Buchungssatz with its lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// The document's number (Belegfeld 2 in DATEV when it differs from
    /// the invoice number).
    pub document_number: String,
    /// The document's date.
    pub document_date: NaiveDate,
    /// The invoice (open item) it concerns (DATEV Belegfeld 1).
    pub invoice_number: String,
    /// The customer's debtor account.
    pub debtor_account: AccountNumber,
    /// The period it books into.
    pub period: BookingPeriod,
    /// The day it books on: the document date, or the period's first day
    /// when the document date lies in an earlier, locked period (DATEV
    /// refuses a Belegdatum outside the batch's period).
    pub booking_date: NaiveDate,
    /// Booking text (German, as the advisor reads it).
    pub text: String,
    /// The lines; debits equal credits.
    pub lines: Vec<BookingLine>,
}

/// A DATEV-style posting: one gross amount from one account to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The amount, VAT included where the account derives it.
    pub amount: Money,
    /// The account debited.
    pub debit: AccountNumber,
    /// The account credited.
    pub credit: AccountNumber,
    /// The tax key of the revenue (or bad-debt) account, if any.
    pub tax_key: Option<TaxKey>,
    /// The §367 head of the debtor side, if any.
    pub claim: Option<ClaimHead>,
}

impl Booking {
    /// The booking's currency (all lines share it).
    pub fn currency(&self) -> Option<Currency> {
        self.lines.first().map(|line| line.amount.currency())
    }

    /// Sum of debits minus sum of credits: zero for every booking the
    /// journal makes.
    pub fn balance(&self) -> Result<Money, DomainError> {
        let currency = self.currency().unwrap_or(Currency::EUR);
        let mut balance = Money::zero(currency);
        for (i, line) in self.lines.iter().enumerate() {
            line.amount
                .ensure_currency(currency, &format!("lines[{i}].amount.currency"))?;
            balance = balance.checked_add(line.signed())?;
        }
        Ok(balance)
    }

    /// The booking as DATEV-style postings: each VAT line folded into the
    /// line it belongs to (gross amount, that line's tax key), each other
    /// line paired with the single line on the opposite side. Refuses a
    /// booking that has several lines on both sides or does not balance.
    pub fn postings(&self) -> Result<Vec<Posting>, DomainError> {
        if !self.balance()?.is_zero() {
            return Err(DomainError::invalid("lines", "debits and credits differ"));
        }
        let mut gross: Vec<Money> = self.lines.iter().map(|line| line.amount).collect();
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(of) = line.vat_of {
                let target = self
                    .lines
                    .get(of)
                    .filter(|t| t.side == line.side && t.vat_of.is_none());
                if target.is_none() {
                    return Err(DomainError::invalid(
                        format!("lines[{i}].vat_of"),
                        "must name a line on the same side that is not VAT",
                    ));
                }
                gross[of] = gross[of].checked_add(line.amount)?;
            }
        }
        let main: Vec<usize> = (0..self.lines.len())
            .filter(|i| self.lines[*i].vat_of.is_none())
            .collect();
        let on = |side: Side| -> Vec<usize> {
            main.iter()
                .copied()
                .filter(|i| self.lines[*i].side == side)
                .collect()
        };
        let (debits, credits) = (on(Side::Debit), on(Side::Credit));
        let (single, others) = match (debits.as_slice(), credits.as_slice()) {
            ([single], _) => (*single, credits),
            (_, [single]) => (*single, debits),
            _ => {
                return Err(DomainError::invalid(
                    "lines",
                    "a posting needs a single line on one side",
                ));
            }
        };
        let one = &self.lines[single];
        Ok(others
            .into_iter()
            .map(|i| {
                let other = &self.lines[i];
                let (debit, credit) = match one.side {
                    Side::Debit => (one.account.clone(), other.account.clone()),
                    Side::Credit => (other.account.clone(), one.account.clone()),
                };
                Posting {
                    amount: gross[i],
                    debit,
                    credit,
                    tax_key: other.tax_key.or(one.tax_key),
                    claim: other.claim.or(one.claim),
                }
            })
            .collect())
    }
}

/// The booking of one event in `period`, with the seller's `settings`.
/// Refuses (naming the field) a debtor account that is not the seller's,
/// amounts in mixed currencies, non-positive amounts, VAT outside category
/// S, and a VAT rate the books have no accounts for.
pub fn booking(
    event: &JournalEvent,
    settings: &AccountingSettings,
    period: BookingPeriod,
) -> Result<Booking, DomainError> {
    settings.ensure_debtor(&event.debtor_account, "debtor_account")?;
    for (text, field) in [
        (&event.document.number, "document.number"),
        (&event.invoice_number, "invoice_number"),
    ] {
        if text.trim().is_empty() || text.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                field,
                "must be a document number on one line",
            ));
        }
    }
    let accounts = &settings.accounts;
    let debtor = &event.debtor_account;
    let number = &event.document.number;
    let mut lines = Lines::default();
    let text = match &event.kind {
        JournalEventKind::InvoiceIssued { lines: tax } => {
            let gross = tax_gross(tax)?;
            lines.push(debtor, Side::Debit, gross, None, Some(ClaimHead::Principal));
            revenue_lines(&mut lines, settings, tax, Side::Credit)?;
            format!("Rechnung {number}")
        }
        JournalEventKind::CreditNoteIssued {
            lines: tax,
            cancellation,
        } => {
            let gross = tax_gross(tax)?;
            revenue_lines(&mut lines, settings, tax, Side::Debit)?;
            lines.push(
                debtor,
                Side::Credit,
                gross,
                None,
                Some(ClaimHead::Principal),
            );
            // A seller's correction is a "Rechnungskorrektur", never a
            // "Gutschrift" (the recipient's self-billing, §14(2) Satz 2
            // UStG); a full cancellation is a "Stornorechnung".
            let what = if *cancellation {
                "Stornorechnung"
            } else {
                "Rechnungskorrektur"
            };
            format!("{what} {number} zu {}", event.invoice_number)
        }
        JournalEventKind::PaymentReceived {
            amount,
            open_before,
            purpose,
        } => {
            positive(*amount, "kind.amount")?;
            let allocation = allocate_payment(open_before, *amount, *purpose)?;
            lines.push(&accounts.bank, Side::Debit, *amount, None, None);
            lines.claims(debtor, Side::Credit, &allocation.settles);
            lines.push(
                &accounts.customer_credit,
                Side::Credit,
                allocation.surplus,
                None,
                None,
            );
            format!("Zahlung {}", event.invoice_number)
        }
        JournalEventKind::DirectDebitReturned {
            amount,
            paid_before,
        } => {
            positive(*amount, "kind.amount")?;
            let reopens = allocate_return(paid_before, *amount)?;
            lines.claims(debtor, Side::Debit, &reopens);
            lines.push(&accounts.bank, Side::Credit, *amount, None, None);
            format!("Rücklastschrift {}", event.invoice_number)
        }
        JournalEventKind::BankFee { amount } => {
            lines.transfer(*amount, (&accounts.bank_fees, None), (&accounts.bank, None))?;
            format!("Bankgebühr {}", event.invoice_number)
        }
        JournalEventKind::DunningFeeClaimed { amount } => {
            let claim = Some(ClaimHead::Costs);
            lines.transfer(*amount, (debtor, claim), (&accounts.dunning_fees, None))?;
            format!("Mahngebühr {}", event.invoice_number)
        }
        JournalEventKind::DefaultInterestClaimed { amount } => {
            let claim = Some(ClaimHead::Interest);
            lines.transfer(*amount, (debtor, claim), (&accounts.default_interest, None))?;
            format!("Verzugszinsen {}", event.invoice_number)
        }
        JournalEventKind::CustomerCreditCreated { amount } => {
            lines.transfer(
                *amount,
                (&accounts.bank, None),
                (&accounts.customer_credit, None),
            )?;
            format!("Guthaben {}", event.invoice_number)
        }
        JournalEventKind::CustomerCreditFromCorrection { amount } => {
            let claim = Some(ClaimHead::Principal);
            lines.transfer(*amount, (debtor, claim), (&accounts.customer_credit, None))?;
            format!("Guthaben aus Korrektur {}", event.invoice_number)
        }
        JournalEventKind::CustomerCreditApplied {
            amount,
            open_before,
        } => {
            positive(*amount, "kind.amount")?;
            let allocation = allocate_payment(open_before, *amount, PaymentPurpose::Statutory)?;
            if allocation.surplus.is_positive() {
                return Err(DomainError::invalid(
                    "kind.amount",
                    format!(
                        "applies {amount} of credit but only {} is open",
                        open_before.total()?
                    ),
                ));
            }
            lines.push(&accounts.customer_credit, Side::Debit, *amount, None, None);
            lines.claims(debtor, Side::Credit, &allocation.settles);
            format!("Guthaben verrechnet {}", event.invoice_number)
        }
        JournalEventKind::CustomerCreditRefunded { amount } => {
            lines.transfer(
                *amount,
                (&accounts.customer_credit, None),
                (&accounts.bank, None),
            )?;
            format!("Guthaben erstattet {}", event.invoice_number)
        }
        JournalEventKind::WrittenOff { open, lines: tax } => {
            let total = open.total()?;
            positive(total, "kind.open")?;
            write_off_lines(&mut lines, settings, open, tax)?;
            lines.push(debtor, Side::Credit, total, None, None);
            format!("Forderungsausfall {}", event.invoice_number)
        }
    };
    let lines = lines.0;
    let booking = Booking {
        document_number: number.clone(),
        document_date: event.document.date,
        invoice_number: event.invoice_number.clone(),
        debtor_account: debtor.clone(),
        period,
        booking_date: if period.contains(event.document.date) {
            event.document.date
        } else {
            period.first_day()
        },
        text,
        lines,
    };
    let currency = booking
        .currency()
        .ok_or_else(|| DomainError::invalid("kind", "nothing to book"))?;
    for (i, line) in booking.lines.iter().enumerate() {
        line.amount
            .ensure_currency(currency, &format!("lines[{i}].amount.currency"))?;
        if !line.amount.is_rounded() {
            return Err(DomainError::invalid(
                format!("lines[{i}].amount"),
                format!("more decimals than {currency} has"),
            ));
        }
    }
    if !booking.balance()?.is_zero() {
        return Err(DomainError::invalid(
            "kind",
            "debits and credits differ (the breakdown's amounts do not add up)",
        ));
    }
    Ok(booking)
}

/// The journal of `period`: the bookings of every event that books into
/// it (see [`booking_period`]), ordered by booking date, then document
/// number, then the order given. A pure function of its inputs, so a
/// locked period computed again gives the same bookings.
pub fn journal(
    events: &[JournalEvent],
    settings: &AccountingSettings,
    period: BookingPeriod,
    locks: &[PeriodLock],
) -> Result<Vec<Booking>, DomainError> {
    let mut bookings = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if booking_period(event, locks) != period {
            continue;
        }
        let booking = booking(event, settings, period).map_err(|e| match e {
            DomainError::Invalid { field, message } => {
                DomainError::invalid(format!("events[{i}].{field}"), message)
            }
        })?;
        bookings.push(booking);
    }
    bookings.sort_by(|a, b| {
        (a.booking_date, &a.document_number).cmp(&(b.booking_date, &b.document_number))
    });
    Ok(bookings)
}

/// What the customers owe according to `bookings` at the end of `as_of`:
/// debits minus credits on the seller's debtor accounts, in `currency`
/// (bookings in other currencies are left out), counting each booking on
/// its document date, as the aging counts each event on its day. So it
/// equals the aging's total ([`crate::receivables::aging`] of
/// [`crate::receivables::receivables_as_of`]) for that day when `bookings`
/// hold every booking of every period (a late event booked into a later
/// period still counts on its own day).
pub fn debtor_balance(
    bookings: &[Booking],
    settings: &AccountingSettings,
    currency: Currency,
    as_of: NaiveDate,
) -> Result<Money, DomainError> {
    let mut balance = Money::zero(currency);
    for line in bookings
        .iter()
        .filter(|booking| booking.document_date <= as_of)
        .flat_map(|booking| &booking.lines)
        .filter(|line| line.amount.currency() == currency)
        .filter(|line| settings.debtor_accounts.contains(&line.account))
    {
        balance = balance.checked_add(line.signed())?;
    }
    Ok(balance)
}

/// Lines under construction; zero amounts are left out.
#[derive(Default)]
struct Lines(Vec<BookingLine>);

impl Lines {
    fn push(
        &mut self,
        account: &AccountNumber,
        side: Side,
        amount: Money,
        tax_key: Option<TaxKey>,
        claim: Option<ClaimHead>,
    ) -> Option<usize> {
        if amount.is_zero() {
            return None;
        }
        self.0.push(BookingLine {
            account: account.clone(),
            side,
            amount,
            tax_key,
            claim,
            vat_of: None,
        });
        Some(self.0.len() - 1)
    }

    /// `amount` (positive) from `debit` to `credit`, each with the §367
    /// head its debtor line claims or settles.
    fn transfer(
        &mut self,
        amount: Money,
        (debit, debit_claim): (&AccountNumber, Option<ClaimHead>),
        (credit, credit_claim): (&AccountNumber, Option<ClaimHead>),
    ) -> Result<(), DomainError> {
        positive(amount, "kind.amount")?;
        self.push(debit, Side::Debit, amount, None, debit_claim);
        self.push(credit, Side::Credit, amount, None, credit_claim);
        Ok(())
    }

    fn taxed(&mut self, account: &TaxedAccount, side: Side, amount: Money) -> Option<usize> {
        self.push(&account.account, side, amount, account.tax_key, None)
    }

    fn vat(&mut self, account: &AccountNumber, side: Side, amount: Money, of: Option<usize>) {
        if let Some(index) = self.push(account, side, amount, None, None) {
            self.0[index].vat_of = of;
        }
    }

    /// One debtor line per head with something on it.
    fn claims(&mut self, debtor: &AccountNumber, side: Side, claims: &Claims) {
        for head in ClaimHead::STATUTORY_ORDER {
            self.push(debtor, side, claims.get(head), None, Some(head));
        }
    }
}

fn positive(amount: Money, field: &str) -> Result<(), DomainError> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(DomainError::invalid(field, "must be positive"))
    }
}

/// Net + VAT of a breakdown, after checking each group: positive net,
/// one currency, VAT only in category S.
fn tax_gross(tax: &[TaxLine]) -> Result<Money, DomainError> {
    let first = tax
        .first()
        .ok_or_else(|| DomainError::invalid("kind.lines", "needs at least one tax group"))?;
    let currency = first.net.currency();
    let mut gross = Money::zero(currency);
    for (i, line) in tax.iter().enumerate() {
        let field = format!("kind.lines[{i}]");
        line.net
            .ensure_currency(currency, &format!("{field}.net.currency"))?;
        line.tax
            .ensure_currency(currency, &format!("{field}.tax.currency"))?;
        positive(line.net, &format!("{field}.net"))?;
        if line.tax.is_negative() {
            return Err(DomainError::invalid(
                format!("{field}.tax"),
                "cannot be negative",
            ));
        }
        if line.category != VatCategoryCode::S && !line.tax.is_zero() {
            return Err(DomainError::invalid(
                format!("{field}.tax"),
                format!("category {} carries no VAT", line.category.code()),
            ));
        }
        gross = gross.checked_add(line.net)?.checked_add(line.tax)?;
    }
    Ok(gross)
}

/// Revenue per tax group and output VAT per rate on `side`.
fn revenue_lines(
    lines: &mut Lines,
    settings: &AccountingSettings,
    tax: &[TaxLine],
    side: Side,
) -> Result<(), DomainError> {
    for (i, line) in tax.iter().enumerate() {
        if line.category == VatCategoryCode::S {
            let accounts = settings
                .accounts
                .for_rate(line.rate)
                .map_err(|e| named(e, &format!("kind.lines[{i}].rate")))?;
            let revenue = lines.taxed(&accounts.revenue, side, line.net);
            lines.vat(&accounts.output_vat, side, line.tax, revenue);
        } else {
            let account = settings.accounts.untaxed_revenue(line.category)?;
            lines.taxed(account, side, line.net);
        }
    }
    Ok(())
}

/// The debit side of a write-off (§17(2) Nr. 1 with §17(1) UStG): the open
/// principal is split over the breakdown groups in proportion to their
/// gross (the last group takes the rounding rest); in category S each part
/// books its net share to the rate's bad-debt account and its VAT share
/// back from output VAT; parts without VAT, costs and interest go to the
/// bad-debt account without VAT.
fn write_off_lines(
    lines: &mut Lines,
    settings: &AccountingSettings,
    open: &Claims,
    tax: &[TaxLine],
) -> Result<(), DomainError> {
    let currency = open.currency();
    let accounts = &settings.accounts;
    let mut without_vat = open.costs.checked_add(open.interest)?;
    if open.principal.is_positive() {
        let gross = tax_gross(tax)?;
        gross.ensure_currency(currency, "kind.lines.currency")?;
        let mut rest = open.principal;
        for (i, line) in tax.iter().enumerate() {
            let line_gross = line.net.checked_add(line.tax)?;
            let share = if i + 1 == tax.len() {
                rest
            } else {
                proportion(open.principal, line_gross, gross)?
            };
            rest = rest.checked_sub(share)?;
            if line.category == VatCategoryCode::S && line.tax.is_positive() {
                let rate = accounts
                    .for_rate(line.rate)
                    .map_err(|e| named(e, &format!("kind.lines[{i}].rate")))?;
                let vat = proportion(share, line.tax, line_gross)?;
                let net = share.checked_sub(vat)?;
                let bad_debt = lines.taxed(&rate.bad_debt, Side::Debit, net);
                lines.vat(&rate.output_vat, Side::Debit, vat, bad_debt);
            } else {
                without_vat = without_vat.checked_add(share)?;
            }
        }
    }
    lines.push(
        &accounts.bad_debt_without_vat,
        Side::Debit,
        without_vat,
        None,
        None,
    );
    Ok(())
}

/// `amount × part / whole`, rounded to the minor unit.
fn proportion(amount: Money, part: Money, whole: Money) -> Result<Money, DomainError> {
    let value = amount
        .amount()
        .checked_mul(part.amount())
        .and_then(|v| v.checked_div(whole.amount()))
        .ok_or_else(|| DomainError::invalid("kind.lines", "amounts out of range"))?;
    Ok(Money::new(value, amount.currency()).round())
}

fn named(error: DomainError, field: &str) -> DomainError {
    match error {
        DomainError::Invalid { message, .. } => DomainError::invalid(field, message),
    }
}
