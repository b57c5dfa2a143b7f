//! Dunning policy: when an overdue invoice gets which letter, with which fee,
//! default interest (§288 BGB) and new payment deadline.
//!
//! Interest and fees are owed only in default (§286 BGB), which starts on
//! an agreed payment date, with receipt of the first formal notice, or 30
//! days after due date and receipt of the invoice
//! ([`DunningPolicy::default_start`]); a letter sent before that claims
//! the open amount only. Below the policy's minimum amount no letter goes
//! out at all ([`DunningAction::BelowMinimum`]).
//!
//! [`DunningPolicy::next_action`] is a pure function of an invoice's dunning
//! facts and today's date. It never acts on a paid, cancelled, blocked or
//! disputed invoice, escalates one level at a time and never repeats a level,
//! so the daily sweep can run, crash and rerun without sending twice (the
//! storage layer records the sent level with a conditional write).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::money::{Currency, Money};
use crate::party::CustomerKind;
use crate::payment::{ClaimHead, Claims, PaymentPurpose, allocate_payment, allocate_return};
use crate::period::{ServicePeriod, add_days};

/// The kind of letter a dunning level sends, in escalation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DunningStage {
    /// A friendly reminder ("Zahlungserinnerung").
    PaymentReminder,
    /// First formal notice ("1. Mahnung").
    FirstNotice,
    /// Second formal notice ("2. Mahnung").
    SecondNotice,
    /// Last notice before collection or court ("letzte Mahnung").
    FinalNotice,
}

impl DunningStage {
    /// Whether the letter is a formal notice (Mahnung, §286(1) BGB) whose
    /// receipt puts the customer in default. The friendly reminder is
    /// worded as a courtesy and is not relied on as a Mahnung.
    pub fn is_formal_notice(self) -> bool {
        self >= DunningStage::FirstNotice
    }
}

/// One configured escalation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningLevel {
    /// Which letter this level sends.
    pub stage: DunningStage,
    /// Earliest day to send it, counted from the invoice's due date.
    pub days_after_due: u32,
    /// Fee charged with this letter (may be zero).
    pub fee: Money,
    /// Days the customer gets to pay, counted from the sending day.
    pub payment_term_days: u32,
}

/// The statutory base rate (Basiszinssatz, §247 BGB) from a date on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRate {
    /// First day the rate applies (1 January or 1 July).
    pub effective_from: NaiveDate,
    /// Rate in percent per year; may be negative (it was until 2022).
    pub rate_percent: Decimal,
}

/// The base rates over time: configuration, because the Bundesbank publishes
/// a new rate each half year and the code must not need a release for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<BaseRate>", into = "Vec<BaseRate>")]
pub struct BaseRateTable(Vec<BaseRate>);

impl BaseRateTable {
    /// Sorts the rates and refuses an empty table or two rates on one date.
    pub fn new(mut rates: Vec<BaseRate>) -> Result<Self, DomainError> {
        if rates.is_empty() {
            return Err(DomainError::invalid(
                "base_rates",
                "at least one base rate is needed",
            ));
        }
        rates.sort_by_key(|rate| rate.effective_from);
        if let Some(pair) = rates
            .windows(2)
            .find(|pair| pair[0].effective_from == pair[1].effective_from)
        {
            return Err(DomainError::invalid(
                "base_rates",
                format!("two rates from {}", pair[0].effective_from),
            ));
        }
        Ok(Self(rates))
    }

    /// The rates published by the Deutsche Bundesbank (§247 BGB) from
    /// 1 July 2016 to 1 January 2026 (1.27 %, unchanged since 1 July 2025).
    /// Extend the configured table with every
    /// new publication (1 January, 1 July); past its last entry the last
    /// rate is assumed to continue.
    pub fn bundesbank() -> Self {
        let rate = |year, month, basis_points: i64| BaseRate {
            effective_from: NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default(),
            rate_percent: Decimal::new(basis_points, 2),
        };
        Self(vec![
            rate(2016, 7, -88),
            rate(2023, 1, 162),
            rate(2023, 7, 312),
            rate(2024, 1, 362),
            rate(2024, 7, 337),
            rate(2025, 1, 227),
            rate(2025, 7, 127),
            rate(2026, 1, 127),
        ])
    }

    /// The start of the half-year `today` lies in (1 January or 1 July),
    /// when the table has no rate published for it: interest is then
    /// computed with the last known rate, and staff must be told to extend
    /// the table rather than have it assumed silently.
    pub fn missing_half_year(&self, today: NaiveDate) -> Option<NaiveDate> {
        use chrono::Datelike;
        let month = if today.month() >= 7 { 7 } else { 1 };
        let start = NaiveDate::from_ymd_opt(today.year(), month, 1)?;
        let last = self.0.last()?.effective_from;
        (last < start).then_some(start)
    }

    /// The rates in date order.
    pub fn rates(&self) -> &[BaseRate] {
        &self.0
    }

    /// The rate in effect on `date`; a date before the table is an error, not
    /// a guess.
    pub fn rate_on(&self, date: NaiveDate) -> Result<BaseRate, DomainError> {
        self.0
            .iter()
            .rev()
            .find(|rate| rate.effective_from <= date)
            .copied()
            .ok_or_else(|| {
                DomainError::invalid("base_rates", format!("no base rate known for {date}"))
            })
    }
}

impl TryFrom<Vec<BaseRate>> for BaseRateTable {
    type Error = DomainError;

    fn try_from(rates: Vec<BaseRate>) -> Result<Self, Self::Error> {
        Self::new(rates)
    }
}

impl From<BaseRateTable> for Vec<BaseRate> {
    fn from(table: BaseRateTable) -> Self {
        table.0
    }
}

/// The flat fee a business debtor owes on default (§288 Abs. 5 BGB, EUR 40),
/// charged once per invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatFee {
    /// The fee (EUR 40 by statute).
    pub amount: Money,
    /// The first level whose letter claims it, so a friendly reminder can
    /// stay friendly.
    pub from_stage: DunningStage,
}

/// A seller's dunning configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningPolicy {
    /// Escalation steps in order; each is sent at most once per invoice.
    pub levels: Vec<DunningLevel>,
    /// Base rates for default interest.
    pub base_rates: BaseRateTable,
    /// Percentage points above the base rate for businesses (9, §288 Abs. 2).
    pub business_margin_points: Decimal,
    /// Percentage points above the base rate for consumers (5, §288 Abs. 1).
    pub consumer_margin_points: Decimal,
    /// Whether letters claim default interest at all.
    pub charge_interest: bool,
    /// The business flat fee; `None` waives it.
    pub business_flat_fee: Option<FlatFee>,
    /// The flat fee is credited against the costs of collection (§288 Abs. 5
    /// Satz 3 BGB), which include the fees of dunning letters: a business
    /// that owes the flat fee is never also charged level fees. Must be true
    /// while a flat fee and level fees are configured ([`Self::validate`]
    /// refuses the contrary); kept so stored policies decode.
    pub flat_fee_replaces_level_fees: bool,
    /// Days from sending a formal notice to its receipt (Zugang, §130(1)
    /// BGB), which puts the customer in default (§286(1) BGB). Letters go
    /// out by e-mail; an e-mail that arrives after business hours is only
    /// received the next day (BGH, 6 Oct 2022, VII ZR 895/21), so the
    /// default assumes the day after sending. Interest runs from the day
    /// after receipt (§187(1) BGB).
    #[serde(default = "default_notice_receipt_days")]
    pub notice_receipt_days: u32,
    /// Below this open amount no letter goes out and no fee is claimed: a
    /// letter costs more to send and answer than it recovers, and a EUR 40
    /// flat fee on a few cents left by rounding is disproportionate (it
    /// invites a dispute, §242 BGB). The invoice goes to review instead.
    /// EUR 5.00 when a stored policy has none.
    #[serde(default = "default_minimum_dunning_amount")]
    pub minimum_dunning_amount: Money,
    /// After the last level's deadline passed unpaid, hand the invoice over
    /// to collection (it leaves dunning and goes on the needs-attention
    /// list); when false, it simply stays at the last level.
    #[serde(default = "default_hand_over")]
    pub hand_over_to_collection: bool,
}

fn default_hand_over() -> bool {
    true
}

fn default_notice_receipt_days() -> u32 {
    1
}

fn default_minimum_dunning_amount() -> Money {
    Money::from_minor(500, Currency::EUR)
}

/// Where an invoice stands for payment purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Finalized and (partly) unpaid.
    Open,
    /// Settled in full.
    Paid,
    /// Cancelled by a cancellation document.
    Cancelled,
}

/// Where an invoice stands for dunning apart from its dates and amounts: the
/// one rule for "may this invoice be dunned" that the sweep
/// ([`DunningPolicy::next_action`]) and the staff API's blocks and disputes
/// (which decide whether lifting one returns the invoice to the sweep) share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DunningStanding {
    /// Open, paid or cancelled.
    pub state: InvoiceState,
    /// Handed over to collection: dunning is over for good.
    pub handed_over: bool,
    /// Dunning stopped by billing staff.
    pub blocked: bool,
    /// Last day the block holds; none: until lifted.
    pub block_until: Option<NaiveDate>,
    /// The customer disputes the invoice.
    pub disputed: bool,
}

impl DunningStanding {
    /// Why the invoice may not be dunned on `today`, and the day a block
    /// with an end date lets it go; `None` when it may be dunned (whether a
    /// letter is due is then a matter of dates and amounts).
    pub fn hold(&self, today: NaiveDate) -> Option<(NoDunningReason, Option<NaiveDate>)> {
        match self.state {
            InvoiceState::Paid => return Some((NoDunningReason::Paid, None)),
            InvoiceState::Cancelled => return Some((NoDunningReason::Cancelled, None)),
            InvoiceState::Open => {}
        }
        if self.handed_over {
            return Some((NoDunningReason::HandedOver, None));
        }
        if self.blocked && self.block_until.is_none_or(|until| today <= until) {
            let ends = self.block_until.and_then(|until| until.succ_opt());
            return Some((NoDunningReason::Blocked, ends));
        }
        if self.disputed {
            return Some((NoDunningReason::Disputed, None));
        }
        None
    }

    /// Whether the invoice may be dunned on `today`.
    pub fn may_be_dunned(&self, today: NaiveDate) -> bool {
        self.hold(today).is_none()
    }
}

/// A dunning letter already sent for an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentDunningLevel {
    /// Which letter.
    pub stage: DunningStage,
    /// When it was sent.
    pub sent_on: NaiveDate,
    /// The payment deadline it gave; the next level waits until it passed.
    pub payment_deadline: NaiveDate,
}

/// An amount booked on an invoice with its value date: a payment
/// (positive) or a returned payment (negative). Default interest runs on
/// what was open on each day, so each one moves the interest's basis from
/// its value date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedPayment {
    /// The day the money arrived (or went back).
    pub value_date: NaiveDate,
    /// Positive: paid; negative: returned.
    pub amount: Money,
}

/// Costs or interest claimed on an invoice (by a dunning letter) with the
/// day it was claimed: from then on a payment settles it before the
/// principal (§367(1) BGB), so it moves the interest's basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedCharge {
    /// The day it was claimed.
    pub claimed_on: NaiveDate,
    /// Costs or interest (a principal is not claimed this way).
    pub head: ClaimHead,
    /// The amount (positive).
    pub amount: Money,
}

/// Everything dunning needs to know about one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningFacts {
    /// The payment due date of the invoice.
    pub due_date: NaiveDate,
    /// What is still unpaid of the invoice total (fees and interest
    /// excluded): the principal after the §367 BGB allocation of every
    /// payment ([`crate::receivables::ReceivableState::open`]).
    pub open_amount: Money,
    /// Decides interest margin and flat fee.
    pub customer_kind: CustomerKind,
    /// Open, paid or cancelled.
    pub state: InvoiceState,
    /// Dunning stopped by billing staff (e.g. agreed instalments).
    #[serde(default)]
    pub blocked: bool,
    /// Last day a block holds (a promise to pay); none: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_until: Option<NaiveDate>,
    /// Handed over to collection: dunning is over for good.
    #[serde(default)]
    pub handed_over: bool,
    /// The customer disputes the invoice.
    #[serde(default)]
    pub disputed: bool,
    /// Letters already sent, in any order.
    #[serde(default)]
    pub sent: Vec<SentDunningLevel>,
    /// Whether the business flat fee was already claimed for this invoice.
    #[serde(default)]
    pub flat_fee_charged: bool,
    /// Payments and returns booked on the invoice (any order): the
    /// interest's basis on each day is what was open that day.
    #[serde(default)]
    pub payments: Vec<BookedPayment>,
    /// Costs and interest claimed on the invoice (any order): payments
    /// settle them first (§367(1) BGB), so only the rest of a payment
    /// lowers the principal that interest runs on.
    #[serde(default)]
    pub charges: Vec<BookedCharge>,
    /// The contract fixed the payment date (payment terms agreed with the
    /// customer, not merely printed on the invoice): the due date is then
    /// determined by the calendar (§286(2) no. 1 and 2 BGB).
    #[serde(default)]
    pub payment_date_agreed: bool,
    /// The day the invoice was received (Zugang), if recorded: the start of
    /// the 30 days of §286(3) BGB. Unknown: that rule does not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_received_on: Option<NaiveDate>,
    /// The invoice printed the notice that the customer defaults 30 days
    /// after due date and receipt; a consumer defaults by §286(3) BGB only
    /// then.
    #[serde(default)]
    pub default_notice_printed: bool,
}

/// Why the customer is in default (§286 BGB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultGround {
    /// An agreed payment date passed (§286(2) no. 1 and 2 BGB).
    AgreedDate,
    /// A formal notice was received (§286(1) BGB).
    FormalNotice,
    /// 30 days after due date and receipt of the invoice (§286(3) BGB).
    ThirtyDaysAfterInvoice,
}

/// When default began and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultStart {
    /// The rule that put the customer in default first.
    pub ground: DefaultGround,
    /// The first day of default: the first day that bears interest.
    pub first_day: NaiveDate,
}

/// Interest at one rate on one basis over days of default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestPeriod {
    /// The days of default covered (inclusive).
    pub period: ServicePeriod,
    /// What was open on these days: the basis.
    pub principal: Money,
    /// Number of days in `period`.
    pub days: i64,
    /// The base rate in effect, in percent.
    pub base_rate_percent: Decimal,
    /// The annual interest rate applied (base rate + margin), in percent.
    pub rate_percent: Decimal,
    /// Interest for the period, rounded to the minor unit.
    pub amount: Money,
}

/// Default interest on what was open each day, split wherever the base
/// rate or the open amount changed, so the letter can show each basis and
/// rate and the sum of what is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultInterest {
    /// What is open now (the basis of the last period).
    pub principal: Money,
    /// One entry per base rate in effect.
    pub periods: Vec<InterestPeriod>,
    /// Sum of the period amounts.
    pub total: Money,
}

/// A letter to send now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningNotice {
    /// Position of the level in the policy, from 1.
    pub level: u32,
    /// Which letter.
    pub stage: DunningStage,
    /// The level's fee (zero when waived).
    pub fee: Money,
    /// The business flat fee claimed with this letter (zero if none).
    pub flat_fee: Money,
    /// Default interest up to and including today.
    pub interest: DefaultInterest,
    /// Open amount + fee + flat fee + interest.
    pub total_claim: Money,
    /// The new deadline given to the customer.
    pub payment_deadline: NaiveDate,
    /// When the next level may follow, if any: the sweep's next look.
    pub next_check: Option<NaiveDate>,
}

/// Why no letter goes out today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDunningReason {
    /// Settled: nothing to claim.
    Paid,
    /// Cancelled: nothing to claim.
    Cancelled,
    /// Dunning block set by billing staff.
    Blocked,
    /// Disputed by the customer.
    Disputed,
    /// The open amount is zero or a credit.
    NothingOpen,
    /// The next level's day has not come (or the last deadline not passed).
    NotYetDue,
    /// Every level was sent; what follows (collection) is a person's call.
    AllLevelsSent,
    /// Handed over to collection: no more letters.
    HandedOver,
}

/// The outcome for one invoice on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DunningAction {
    /// Nothing to send today.
    None {
        /// Why not.
        reason: NoDunningReason,
        /// When to look again (`None`: not before something changes).
        next_check: Option<NaiveDate>,
    },
    /// Send this letter.
    Send(DunningNotice),
    /// A letter would be due, but the open amount is below the policy's
    /// minimum: no letter and no fee; staff review the invoice (adjust,
    /// write off or collect) instead.
    BelowMinimum {
        /// What is open.
        open_amount: Money,
        /// The policy's minimum.
        minimum: Money,
    },
    /// The last level's deadline passed unpaid: hand the invoice over to
    /// collection (no letter; staff are told).
    HandOver {
        /// The final letter's deadline that passed.
        final_deadline: NaiveDate,
    },
}

impl DunningFacts {
    /// The invoice's standing for the one "may it be dunned" rule.
    pub fn standing(&self) -> DunningStanding {
        DunningStanding {
            state: self.state,
            handed_over: self.handed_over,
            blocked: self.blocked,
            block_until: self.block_until,
            disputed: self.disputed,
        }
    }

    /// The principal part of each booked payment and return: payments and
    /// charges replayed in date order (charges first on a shared day), each
    /// payment allocated by [`crate::payment::allocate_payment`] (costs,
    /// interest, then principal, §367(1) BGB) and each return by
    /// [`crate::payment::allocate_return`]. Default interest runs on the
    /// principal only (§289 Satz 1 BGB: no interest on interest), so this is
    /// what moves its basis.
    pub fn principal_payments(&self) -> Result<Vec<BookedPayment>, DomainError> {
        let currency = self.open_amount.currency();
        for (index, charge) in self.charges.iter().enumerate() {
            charge
                .amount
                .ensure_currency(currency, &format!("charges[{index}].amount"))?;
            if charge.head == ClaimHead::Principal || charge.amount.is_negative() {
                return Err(DomainError::invalid(
                    format!("charges[{index}]"),
                    "a charge is a positive amount of costs or interest",
                ));
            }
        }
        if self.charges.is_empty() {
            return Ok(self.payments.clone());
        }
        enum Step<'a> {
            Charge(&'a BookedCharge),
            Payment(&'a BookedPayment),
        }
        let mut steps: Vec<(NaiveDate, u8, Step<'_>)> = self
            .charges
            .iter()
            .map(|charge| (charge.claimed_on, 0, Step::Charge(charge)))
            .chain(
                self.payments
                    .iter()
                    .map(|payment| (payment.value_date, 1, Step::Payment(payment))),
            )
            .collect();
        steps.sort_by_key(|(day, order, _)| (*day, *order));
        let mut open = Claims::zero(currency);
        let mut paid = Claims::zero(currency);
        let mut principal_payments = Vec::with_capacity(self.payments.len());
        for (_, _, step) in steps {
            match step {
                Step::Charge(charge) => match charge.head {
                    ClaimHead::Costs => open.costs = open.costs.checked_add(charge.amount)?,
                    _ => open.interest = open.interest.checked_add(charge.amount)?,
                },
                Step::Payment(payment) => {
                    payment
                        .amount
                        .ensure_currency(currency, "payments.amount")?;
                    // The principal is not bounded here: what is left after
                    // costs and interest is principal.
                    let owed = Claims {
                        principal: payment.amount.abs(),
                        ..open
                    };
                    let principal = if payment.amount.is_negative() {
                        let reopens = allocate_return(&paid, payment.amount.abs())?;
                        paid = paid.checked_sub(&reopens)?;
                        open.costs = open.costs.checked_add(reopens.costs)?;
                        open.interest = open.interest.checked_add(reopens.interest)?;
                        -reopens.principal
                    } else {
                        let settles =
                            allocate_payment(&owed, payment.amount, PaymentPurpose::Statutory)?
                                .settles;
                        open.costs = open.costs.checked_sub(settles.costs)?;
                        open.interest = open.interest.checked_sub(settles.interest)?;
                        paid = paid.checked_add(&settles)?;
                        settles.principal
                    };
                    principal_payments.push(BookedPayment {
                        value_date: payment.value_date,
                        amount: principal,
                    });
                }
            }
        }
        Ok(principal_payments)
    }
}

impl DunningPolicy {
    /// A documented starting point for German sellers in EUR: reminder after
    /// 7 days free of charge, notices after 21, 35 and 49 days with EUR 2.50,
    /// 5.00 and 5.00 (consumers; businesses pay the flat fee instead), 10 days
    /// to pay each, §288 margins (+9 / +5 points), Bundesbank base rates and
    /// the EUR 40 flat fee from the first notice, all only once the customer
    /// is in default (§286 BGB); nothing below EUR 5.00 open. Fees are a
    /// business decision: configure your own.
    pub fn german_default() -> Self {
        let eur = |cents| Money::from_minor(cents, Currency::EUR);
        let level = |stage, days_after_due, cents| DunningLevel {
            stage,
            days_after_due,
            fee: eur(cents),
            payment_term_days: 10,
        };
        Self {
            levels: vec![
                level(DunningStage::PaymentReminder, 7, 0),
                level(DunningStage::FirstNotice, 21, 250),
                level(DunningStage::SecondNotice, 35, 500),
                level(DunningStage::FinalNotice, 49, 500),
            ],
            base_rates: BaseRateTable::bundesbank(),
            business_margin_points: Decimal::from(9),
            consumer_margin_points: Decimal::from(5),
            charge_interest: true,
            business_flat_fee: Some(FlatFee {
                amount: eur(4000),
                from_stage: DunningStage::FirstNotice,
            }),
            flat_fee_replaces_level_fees: true,
            notice_receipt_days: default_notice_receipt_days(),
            minimum_dunning_amount: default_minimum_dunning_amount(),
            hand_over_to_collection: true,
        }
    }

    /// Checks a configuration before it is stored or used: at least one
    /// level, stages and days strictly increasing, no negative fees.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.levels.is_empty() {
            return Err(DomainError::invalid(
                "levels",
                "at least one dunning level is needed",
            ));
        }
        for (index, pair) in self.levels.windows(2).enumerate() {
            if pair[1].stage <= pair[0].stage || pair[1].days_after_due <= pair[0].days_after_due {
                return Err(DomainError::invalid(
                    format!("levels[{}]", index + 1),
                    "stages and days_after_due must increase from level to level",
                ));
            }
        }
        for (index, level) in self.levels.iter().enumerate() {
            if level.fee.is_negative() {
                return Err(DomainError::invalid(
                    format!("levels[{index}].fee"),
                    "must not be negative",
                ));
            }
        }
        if let Some(flat_fee) = &self.business_flat_fee
            && flat_fee.amount.is_negative()
        {
            return Err(DomainError::invalid(
                "business_flat_fee.amount",
                "must not be negative",
            ));
        }
        if self.minimum_dunning_amount.is_negative() {
            return Err(DomainError::invalid(
                "minimum_dunning_amount",
                "must not be negative",
            ));
        }
        let flat_fee = self
            .business_flat_fee
            .is_some_and(|flat_fee| flat_fee.amount.is_positive());
        let level_fees = self.levels.iter().any(|level| level.fee.is_positive());
        if flat_fee && level_fees && !self.flat_fee_replaces_level_fees {
            return Err(DomainError::invalid(
                "flat_fee_replaces_level_fees",
                "must be true while a business flat fee and level fees are configured: \
                 §288(5) sentence 3 BGB credits the flat fee against the costs of \
                 collection, so a business is never charged both",
            ));
        }
        Ok(())
    }

    /// Decides what to do about one invoice today.
    ///
    /// Sends the level after the highest one already sent, once its day has
    /// come and the previous letter's deadline has passed; never skips ahead
    /// two levels at once, so a customer always gets each letter in turn.
    pub fn next_action(
        &self,
        facts: &DunningFacts,
        today: NaiveDate,
    ) -> Result<DunningAction, DomainError> {
        self.validate()?;
        let stop = |reason| {
            Ok(DunningAction::None {
                reason,
                next_check: None,
            })
        };
        if let Some((reason, next_check)) = facts.standing().hold(today) {
            return Ok(DunningAction::None { reason, next_check });
        }
        if !facts.open_amount.is_positive() {
            return stop(NoDunningReason::NothingOpen);
        }
        let last_sent = facts.sent.iter().max_by_key(|sent| sent.stage);
        let Some(index) = self
            .levels
            .iter()
            .position(|level| last_sent.is_none_or(|sent| level.stage > sent.stage))
        else {
            let final_deadline = last_sent.map(|sent| sent.payment_deadline);
            return match final_deadline {
                Some(final_deadline) if self.hand_over_to_collection => {
                    if today > final_deadline {
                        Ok(DunningAction::HandOver { final_deadline })
                    } else {
                        Ok(DunningAction::None {
                            reason: NoDunningReason::NotYetDue,
                            next_check: Some(add_days(final_deadline, 1)?),
                        })
                    }
                }
                _ => stop(NoDunningReason::AllLevelsSent),
            };
        };
        let level = self.levels[index];
        let earliest = self.earliest_send_date(facts.due_date, &level, last_sent)?;
        if today < earliest {
            return Ok(DunningAction::None {
                reason: NoDunningReason::NotYetDue,
                next_check: Some(earliest),
            });
        }
        self.minimum_dunning_amount
            .ensure_currency(facts.open_amount.currency(), "minimum_dunning_amount")?;
        if facts.open_amount.amount() < self.minimum_dunning_amount.amount() {
            return Ok(DunningAction::BelowMinimum {
                open_amount: facts.open_amount,
                minimum: self.minimum_dunning_amount,
            });
        }
        self.notice(facts, index, today).map(DunningAction::Send)
    }

    /// The letter for level `index`, sent today.
    fn notice(
        &self,
        facts: &DunningFacts,
        index: usize,
        today: NaiveDate,
    ) -> Result<DunningNotice, DomainError> {
        let level = self.levels[index];
        let currency = facts.open_amount.currency();
        let zero = Money::zero(currency);
        // Only a letter sent on a day of default claims anything: the one
        // that creates the default (a formal notice, received after it
        // left) claims neither interest nor fees, since there was no
        // default before it (§286(1), §288 BGB).
        let default_start = self
            .default_start(facts)?
            .filter(|start| start.first_day <= today);
        let in_default = default_start.is_some();
        let business = facts.customer_kind == CustomerKind::Business;
        let flat_fee = match &self.business_flat_fee {
            Some(flat_fee)
                if in_default
                    && business
                    && !facts.flat_fee_charged
                    && level.stage >= flat_fee.from_stage =>
            {
                flat_fee
                    .amount
                    .ensure_currency(currency, "business_flat_fee.amount")?;
                flat_fee.amount
            }
            _ => zero,
        };
        // §288(5) sentence 3 BGB: a business owing the flat fee is never
        // also charged the fees of letters, whether the flat fee is
        // claimed now, was claimed before or follows with a later letter.
        let flat_fee_covers_fees = business
            && self
                .business_flat_fee
                .is_some_and(|flat_fee| flat_fee.amount.is_positive());
        let fee = if !in_default || flat_fee_covers_fees {
            zero
        } else {
            level
                .fee
                .ensure_currency(currency, &format!("levels[{index}].fee"))?;
            level.fee
        };
        let interest = match default_start {
            Some(start) if self.charge_interest => self.default_interest(
                facts.open_amount,
                &facts.principal_payments()?,
                facts.customer_kind,
                add_days(start.first_day, -1)?,
                today,
            )?,
            _ => DefaultInterest {
                principal: facts.open_amount,
                periods: Vec::new(),
                total: zero,
            },
        };
        let total_claim = Money::sum(currency, [facts.open_amount, fee, flat_fee, interest.total])?;
        let payment_deadline = add_days(today, i64::from(level.payment_term_days))?;
        let sent = SentDunningLevel {
            stage: level.stage,
            sent_on: today,
            payment_deadline,
        };
        let next_check = match self.levels.get(index + 1) {
            Some(next) => Some(self.earliest_send_date(facts.due_date, next, Some(&sent))?),
            None if self.hand_over_to_collection => Some(add_days(payment_deadline, 1)?),
            None => None,
        };
        Ok(DunningNotice {
            level: u32::try_from(index + 1).unwrap_or(u32::MAX),
            stage: level.stage,
            fee,
            flat_fee,
            interest,
            total_claim,
            payment_deadline,
            next_check,
        })
    }

    /// When the customer's default began (§286 BGB), if it has: the
    /// earliest of
    /// - the day after the due date, if the payment date was agreed
    ///   (§286(2) no. 1 and 2 BGB; a date only printed on the invoice is
    ///   not agreed and does not count);
    /// - the day after receipt of the first formal notice (§286(1) BGB;
    ///   receipt assumed `notice_receipt_days` after sending);
    /// - the 31st day after the later of due date and receipt of the
    ///   invoice (§286(3) sentence 1 BGB), for a consumer only if the
    ///   invoice printed that notice, and only when receipt is known.
    ///
    /// The first day of default is the first day that bears interest
    /// (§187(1) BGB: the day of the event does not count).
    pub fn default_start(&self, facts: &DunningFacts) -> Result<Option<DefaultStart>, DomainError> {
        let mut starts = Vec::with_capacity(3);
        if facts.payment_date_agreed {
            starts.push(DefaultStart {
                ground: DefaultGround::AgreedDate,
                first_day: add_days(facts.due_date, 1)?,
            });
        }
        if let Some(sent_on) = facts
            .sent
            .iter()
            .filter(|sent| sent.stage.is_formal_notice())
            .map(|sent| sent.sent_on)
            .min()
        {
            let receipt = add_days(sent_on, i64::from(self.notice_receipt_days))?;
            starts.push(DefaultStart {
                ground: DefaultGround::FormalNotice,
                first_day: add_days(receipt, 1)?,
            });
        }
        let thirty_days_apply = match facts.customer_kind {
            CustomerKind::Business => true,
            CustomerKind::Consumer => facts.default_notice_printed,
        };
        if let Some(received) = facts.invoice_received_on.filter(|_| thirty_days_apply) {
            starts.push(DefaultStart {
                ground: DefaultGround::ThirtyDaysAfterInvoice,
                first_day: add_days(received.max(facts.due_date), 31)?,
            });
        }
        Ok(starts.into_iter().min_by_key(|start| start.first_day))
    }

    /// The first day `level` may go out: its day after the due date, and
    /// after the previous letter's payment deadline.
    fn earliest_send_date(
        &self,
        due_date: NaiveDate,
        level: &DunningLevel,
        previous: Option<&SentDunningLevel>,
    ) -> Result<NaiveDate, DomainError> {
        let by_schedule = add_days(due_date, i64::from(level.days_after_due))?;
        match previous {
            Some(sent) => Ok(by_schedule.max(add_days(sent.payment_deadline, 1)?)),
            None => Ok(by_schedule),
        }
    }

    /// Default interest (§288 BGB) for the days after `due_date` (the last
    /// day before default, see [`Self::default_start`]) up to and
    /// including `until`: base rate + margin, actual days / 365, on what was
    /// open each day. `open` is the amount open now; each booked payment
    /// counts as open on the days before its value date (the day the money
    /// arrives bears no interest on it), a returned payment the other way
    /// round. One period per stretch of equal rate and basis, each rounded
    /// to the minor unit, summed as shown; days with nothing open bear none.
    pub fn default_interest(
        &self,
        open: Money,
        payments: &[BookedPayment],
        customer_kind: CustomerKind,
        due_date: NaiveDate,
        until: NaiveDate,
    ) -> Result<DefaultInterest, DomainError> {
        let currency = open.currency();
        for (index, payment) in payments.iter().enumerate() {
            payment
                .amount
                .ensure_currency(currency, &format!("payments[{index}].amount"))?;
        }
        let margin = match customer_kind {
            CustomerKind::Business => self.business_margin_points,
            CustomerKind::Consumer => self.consumer_margin_points,
        };
        // What was open on `day`: now, plus whatever arrived after it.
        let open_on = |day: NaiveDate| -> Result<Money, DomainError> {
            Money::sum(
                currency,
                std::iter::once(open).chain(
                    payments
                        .iter()
                        .filter(|payment| payment.value_date > day)
                        .map(|payment| payment.amount),
                ),
            )
        };
        let mut periods = Vec::new();
        let mut start = add_days(due_date, 1)?;
        while start <= until {
            let base = self.base_rates.rate_on(start)?;
            let next_rate = self
                .base_rates
                .rates()
                .iter()
                .map(|rate| rate.effective_from)
                .find(|from| *from > start && *from <= until);
            let next_payment = payments
                .iter()
                .map(|payment| payment.value_date)
                .filter(|day| *day > start && *day <= until)
                .min();
            let end = match next_rate.into_iter().chain(next_payment).min() {
                Some(from) => add_days(from, -1)?,
                None => until,
            };
            let principal = open_on(start)?;
            if principal.is_positive() {
                let period = ServicePeriod::new(start, end)?;
                let days = period.days();
                let rate_percent = base.rate_percent + margin;
                periods.push(InterestPeriod {
                    period,
                    principal,
                    days,
                    base_rate_percent: base.rate_percent,
                    rate_percent,
                    amount: interest_amount(principal, rate_percent, days)?,
                });
            }
            start = add_days(end, 1)?;
        }
        let total = Money::sum(currency, periods.iter().map(|period| period.amount))?;
        Ok(DefaultInterest {
            principal: open,
            periods,
            total,
        })
    }
}

/// `principal × rate % × days / 365`, rounded to the minor unit. Multiplies
/// before dividing so the only inexact step is the final division.
fn interest_amount(
    principal: Money,
    rate_percent: Decimal,
    days: i64,
) -> Result<Money, DomainError> {
    let amount = principal
        .amount()
        .checked_mul(rate_percent)
        .and_then(|value| value.checked_mul(Decimal::from(days)))
        .and_then(|value| value.checked_div(Decimal::from(36_500)))
        .ok_or_else(|| {
            DomainError::invalid("open_amount", "interest is outside the supported range")
        })?;
    Ok(Money::new(amount, principal.currency()).round())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn eur(amount: Decimal) -> Money {
        Money::new(amount, Currency::EUR)
    }

    /// Default interest under the German default policy.
    fn interest(
        principal: Money,
        kind: CustomerKind,
        due_date: NaiveDate,
        until: NaiveDate,
    ) -> Result<DefaultInterest, DomainError> {
        DunningPolicy::german_default().default_interest(principal, &[], kind, due_date, until)
    }

    /// Turns an open invoice into one dunning must leave alone.
    type FactsChange = fn(&mut DunningFacts);

    fn facts(kind: CustomerKind) -> DunningFacts {
        DunningFacts {
            due_date: d(2025, 5, 31),
            open_amount: eur(dec!(10000.00)),
            customer_kind: kind,
            state: InvoiceState::Open,
            blocked: false,
            block_until: None,
            handed_over: false,
            disputed: false,
            sent: Vec::new(),
            flat_fee_charged: false,
            payments: Vec::new(),
            charges: Vec::new(),
            payment_date_agreed: false,
            invoice_received_on: None,
            default_notice_printed: false,
        }
    }

    fn sent(
        stage: DunningStage,
        sent_on: NaiveDate,
        payment_deadline: NaiveDate,
    ) -> SentDunningLevel {
        SentDunningLevel {
            stage,
            sent_on,
            payment_deadline,
        }
    }

    /// Worked example: EUR 10,000.00 open, business, due 31 May 2025, today
    /// 15 July 2025 = 45 days of default (1 June – 15 July).
    ///   1 June – 30 June: 30 days × (2.27 % + 9) = 11.27 %:
    ///     10,000.00 × 11.27 % × 30 / 365 = 92.6301… → 92.63
    ///   1 July – 15 July: 15 days × (1.27 % + 9) = 10.27 %:
    ///     10,000.00 × 10.27 % × 15 / 365 = 42.2054… → 42.21
    ///   interest = 92.63 + 42.21 = 134.84
    /// Worked example: EUR 10,000.00 invoiced, business, due 31 May 2025;
    /// 4,000.00 arrive on 11 June, 1,000.00 of them are returned on 21
    /// June; 7,000.00 open on 30 June (the letter's day). 1 June – 30 June
    /// at 2.27 % + 9 = 11.27 %:
    ///   1–10 June:  10 days on 10,000.00: × 11.27 % × 10 / 365 = 30.8767… → 30.88
    ///   11–20 June: 10 days on  6,000.00: × 11.27 % × 10 / 365 = 18.5260… → 18.53
    ///   21–30 June: 10 days on  7,000.00: × 11.27 % × 10 / 365 = 21.6136… → 21.61
    ///   interest 71.02
    /// §367(1) BGB in the interest basis: EUR 10,000.00 invoiced, business,
    /// due 31 May 2025; on 5 June 40.00 costs (flat fee) and 50.00 interest
    /// are claimed; 1,090.00 arrive on 11 June and settle costs, interest
    /// and 1,000.00 principal; 500.00 of them are returned on 21 June and
    /// reopen principal. 9,500.00 principal open on 30 June, at 11.27 %:
    ///   1–10 June:  10,000.00 × 11.27 % × 10 / 365 = 30.8767… → 30.88
    ///   11–20 June:  9,000.00 × 11.27 % × 10 / 365 = 27.7890… → 27.79
    ///   21–30 June:  9,500.00 × 11.27 % × 10 / 365 = 29.3329… → 29.33
    ///   interest 88.00 (crediting the whole 1,090.00 to the principal
    ///   would give 8,910.00 on 11–20 June).
    #[test]
    fn payments_settle_costs_and_interest_before_the_interest_basis() {
        let mut facts = facts(CustomerKind::Business);
        facts.open_amount = eur(dec!(9500.00));
        facts.payments = vec![
            BookedPayment {
                value_date: d(2025, 6, 21),
                amount: eur(dec!(-500.00)),
            },
            BookedPayment {
                value_date: d(2025, 6, 11),
                amount: eur(dec!(1090.00)),
            },
        ];
        facts.charges = vec![
            BookedCharge {
                claimed_on: d(2025, 6, 5),
                head: ClaimHead::Costs,
                amount: eur(dec!(40.00)),
            },
            BookedCharge {
                claimed_on: d(2025, 6, 5),
                head: ClaimHead::Interest,
                amount: eur(dec!(50.00)),
            },
        ];
        let principal = facts.principal_payments().unwrap();
        assert_eq!(
            principal,
            [
                BookedPayment {
                    value_date: d(2025, 6, 11),
                    amount: eur(dec!(1000.00)),
                },
                BookedPayment {
                    value_date: d(2025, 6, 21),
                    amount: eur(dec!(-500.00)),
                },
            ]
        );
        let interest = DunningPolicy::german_default()
            .default_interest(
                facts.open_amount,
                &principal,
                CustomerKind::Business,
                d(2025, 5, 31),
                d(2025, 6, 30),
            )
            .unwrap();
        let amounts: Vec<_> = interest
            .periods
            .iter()
            .map(|p| (p.principal, p.amount))
            .collect();
        assert_eq!(
            amounts,
            [
                (eur(dec!(10000.00)), eur(dec!(30.88))),
                (eur(dec!(9000.00)), eur(dec!(27.79))),
                (eur(dec!(9500.00)), eur(dec!(29.33))),
            ]
        );
        assert_eq!(interest.total, eur(dec!(88.00)));
        // A charge must be costs or interest, positive.
        facts.charges[0].head = ClaimHead::Principal;
        let err = facts.principal_payments().unwrap_err();
        assert!(err.to_string().starts_with("charges[0]:"), "{err}");
    }

    #[test]
    fn interest_runs_on_what_was_open_each_day() {
        let policy = DunningPolicy::german_default();
        let booked = |y, m, day, amount| BookedPayment {
            value_date: d(y, m, day),
            amount: eur(amount),
        };
        let payments = [
            booked(2025, 6, 21, dec!(-1000.00)),
            booked(2025, 6, 11, dec!(4000.00)),
        ];
        let interest = policy
            .default_interest(
                eur(dec!(7000.00)),
                &payments,
                CustomerKind::Business,
                d(2025, 5, 31),
                d(2025, 6, 30),
            )
            .unwrap();
        let periods: Vec<_> = interest
            .periods
            .iter()
            .map(|p| (p.period.start, p.days, p.principal, p.amount))
            .collect();
        assert_eq!(
            periods,
            [
                (d(2025, 6, 1), 10, eur(dec!(10000.00)), eur(dec!(30.88))),
                (d(2025, 6, 11), 10, eur(dec!(6000.00)), eur(dec!(18.53))),
                (d(2025, 6, 21), 10, eur(dec!(7000.00)), eur(dec!(21.61))),
            ]
        );
        assert_eq!(interest.total, eur(dec!(71.02)));
        assert_eq!(interest.principal, eur(dec!(7000.00)));

        // A payment before the default started lowers every day's basis;
        // days on which nothing was open bear none.
        let paid_then_returned = policy
            .default_interest(
                eur(dec!(500.00)),
                &[
                    booked(2025, 5, 20, dec!(500.00)),
                    booked(2025, 6, 26, dec!(-500.00)),
                ],
                CustomerKind::Business,
                d(2025, 5, 31),
                d(2025, 6, 30),
            )
            .unwrap();
        let periods: Vec<_> = paid_then_returned
            .periods
            .iter()
            .map(|p| (p.period.start, p.period.end, p.principal))
            .collect();
        assert_eq!(
            periods,
            [(d(2025, 6, 26), d(2025, 6, 30), eur(dec!(500.00)))]
        );

        // Another currency among the payments is refused by name.
        let err = policy
            .default_interest(
                eur(dec!(1.00)),
                &[BookedPayment {
                    value_date: d(2025, 6, 2),
                    amount: Money::new(dec!(1.00), Currency::USD),
                }],
                CustomerKind::Business,
                d(2025, 5, 31),
                d(2025, 6, 30),
            )
            .unwrap_err();
        assert!(err.to_string().contains("payments[0].amount"), "{err}");
    }

    #[test]
    fn interest_over_45_days_across_the_july_base_rate_change() {
        let business = interest(
            eur(dec!(10000.00)),
            CustomerKind::Business,
            d(2025, 5, 31),
            d(2025, 7, 15),
        )
        .unwrap();
        assert_eq!(business.periods.len(), 2);
        let june = &business.periods[0];
        assert_eq!(
            june.period,
            ServicePeriod::new(d(2025, 6, 1), d(2025, 6, 30)).unwrap()
        );
        assert_eq!(
            (june.days, june.base_rate_percent, june.rate_percent),
            (30, dec!(2.27), dec!(11.27))
        );
        assert_eq!(june.amount, eur(dec!(92.63)));
        let july = &business.periods[1];
        assert_eq!(
            july.period,
            ServicePeriod::new(d(2025, 7, 1), d(2025, 7, 15)).unwrap()
        );
        assert_eq!(
            (july.days, july.base_rate_percent, july.rate_percent),
            (15, dec!(1.27), dec!(10.27))
        );
        assert_eq!(july.amount, eur(dec!(42.21)));
        assert_eq!(june.days + july.days, 45);
        assert_eq!(business.total, eur(dec!(134.84)));

        // A consumer pays base + 5: 7.27 % and 6.27 %.
        //   10,000.00 × 7.27 % × 30 / 365 = 59.7534… → 59.75
        //   10,000.00 × 6.27 % × 15 / 365 = 25.7671… → 25.77; sum 85.52
        let consumer = interest(
            eur(dec!(10000.00)),
            CustomerKind::Consumer,
            d(2025, 5, 31),
            d(2025, 7, 15),
        )
        .unwrap();
        let amounts: Vec<_> = consumer.periods.iter().map(|p| p.amount).collect();
        assert_eq!(amounts, [eur(dec!(59.75)), eur(dec!(25.77))]);
        assert_eq!(consumer.total, eur(dec!(85.52)));
    }

    #[test]
    fn no_interest_before_or_on_the_due_date() {
        let none = interest(
            eur(dec!(100)),
            CustomerKind::Business,
            d(2025, 5, 31),
            d(2025, 5, 31),
        )
        .unwrap();
        assert!(none.periods.is_empty());
        assert_eq!(none.total, eur(dec!(0)));
    }

    #[test]
    fn a_date_before_the_base_rate_table_is_an_error() {
        let err = interest(
            eur(dec!(100)),
            CustomerKind::Business,
            d(2010, 1, 1),
            d(2010, 2, 1),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("base_rates:"));
    }

    #[test]
    fn a_block_with_an_end_holds_through_its_last_day_and_names_the_next() {
        let standing = DunningStanding {
            state: InvoiceState::Open,
            handed_over: false,
            blocked: true,
            block_until: Some(d(2026, 3, 10)),
            disputed: false,
        };
        assert_eq!(
            standing.hold(d(2026, 3, 10)),
            Some((NoDunningReason::Blocked, Some(d(2026, 3, 11))))
        );
        assert!(standing.may_be_dunned(d(2026, 3, 11)));
        // A dispute outlasts the block; handing over outranks both.
        let disputed = DunningStanding {
            disputed: true,
            ..standing
        };
        assert_eq!(
            disputed.hold(d(2026, 3, 11)),
            Some((NoDunningReason::Disputed, None))
        );
        let handed_over = DunningStanding {
            handed_over: true,
            ..disputed
        };
        assert_eq!(
            handed_over.hold(d(2026, 3, 1)),
            Some((NoDunningReason::HandedOver, None))
        );
        let paid = DunningStanding {
            state: InvoiceState::Paid,
            ..handed_over
        };
        assert_eq!(
            paid.hold(d(2026, 3, 1)),
            Some((NoDunningReason::Paid, None))
        );
    }

    #[test]
    fn never_acts_on_paid_cancelled_blocked_or_disputed_invoices() {
        let policy = DunningPolicy::german_default();
        let today = d(2025, 12, 31);
        let cases: [(FactsChange, NoDunningReason); 5] = [
            (|f| f.state = InvoiceState::Paid, NoDunningReason::Paid),
            (
                |f| f.state = InvoiceState::Cancelled,
                NoDunningReason::Cancelled,
            ),
            (|f| f.blocked = true, NoDunningReason::Blocked),
            (|f| f.disputed = true, NoDunningReason::Disputed),
            (
                |f| f.open_amount = eur(dec!(0.00)),
                NoDunningReason::NothingOpen,
            ),
        ];
        for (change, reason) in cases {
            let mut invoice = facts(CustomerKind::Business);
            change(&mut invoice);
            assert_eq!(
                policy.next_action(&invoice, today).unwrap(),
                DunningAction::None {
                    reason,
                    next_check: None
                }
            );
        }
    }

    #[test]
    fn escalates_one_level_at_a_time_and_sends_each_once() {
        let policy = DunningPolicy::german_default();
        let mut invoice = facts(CustomerKind::Consumer);
        // Day 6 after due: nothing yet, look again on day 7.
        assert_eq!(
            policy.next_action(&invoice, d(2025, 6, 6)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::NotYetDue,
                next_check: Some(d(2025, 6, 7)),
            }
        );
        // The sweep missed weeks: still only the reminder first.
        let DunningAction::Send(reminder) = policy.next_action(&invoice, d(2025, 7, 1)).unwrap()
        else {
            panic!("reminder expected");
        };
        assert_eq!(
            (reminder.level, reminder.stage),
            (1, DunningStage::PaymentReminder)
        );
        assert_eq!(reminder.fee, eur(dec!(0.00)));
        assert_eq!(reminder.payment_deadline, d(2025, 7, 11));
        // Day 21 has passed, but the reminder's deadline has not.
        assert_eq!(reminder.next_check, Some(d(2025, 7, 12)));
        invoice.sent.push(sent(
            reminder.stage,
            d(2025, 7, 1),
            reminder.payment_deadline,
        ));

        // Rerunning the same day never sends the reminder again.
        assert_eq!(
            policy.next_action(&invoice, d(2025, 7, 1)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::NotYetDue,
                next_check: Some(d(2025, 7, 12)),
            }
        );
        let DunningAction::Send(first) = policy.next_action(&invoice, d(2025, 7, 12)).unwrap()
        else {
            panic!("first notice expected");
        };
        assert_eq!((first.level, first.stage), (2, DunningStage::FirstNotice));
        // No agreed date and no §286(3) notice: this notice creates the
        // default, so it claims neither its fee nor interest (§286(1) BGB).
        assert_eq!(first.fee, eur(dec!(0.00)));
        assert_eq!(first.flat_fee, eur(dec!(0.00)), "consumers owe no flat fee");
        assert_eq!(first.interest.total, eur(dec!(0.00)));
        assert_eq!(first.total_claim, eur(dec!(10000.00)));

        invoice.sent.push(sent(
            DunningStage::SecondNotice,
            d(2025, 7, 20),
            d(2025, 7, 30),
        ));
        invoice.sent.push(sent(
            DunningStage::FinalNotice,
            d(2025, 8, 1),
            d(2025, 8, 11),
        ));
        // Until the final deadline passed: wait; then hand over, once.
        assert_eq!(
            policy.next_action(&invoice, d(2025, 8, 11)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::NotYetDue,
                next_check: Some(d(2025, 8, 12)),
            }
        );
        assert_eq!(
            policy.next_action(&invoice, d(2025, 9, 1)).unwrap(),
            DunningAction::HandOver {
                final_deadline: d(2025, 8, 11)
            }
        );
        invoice.handed_over = true;
        assert_eq!(
            policy.next_action(&invoice, d(2025, 9, 2)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::HandedOver,
                next_check: None,
            }
        );
        invoice.handed_over = false;
        let mut keep = policy.clone();
        keep.hand_over_to_collection = false;
        assert_eq!(
            keep.next_action(&invoice, d(2025, 9, 1)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::AllLevelsSent,
                next_check: None,
            }
        );
    }

    #[test]
    fn a_block_with_an_end_date_holds_until_that_day_only() {
        let policy = DunningPolicy::german_default();
        let mut invoice = facts(CustomerKind::Business);
        invoice.blocked = true;
        invoice.block_until = Some(d(2025, 6, 30));
        assert_eq!(
            policy.next_action(&invoice, d(2025, 6, 30)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::Blocked,
                next_check: Some(d(2025, 7, 1)),
            }
        );
        // Expired yesterday: dunned today.
        let DunningAction::Send(reminder) = policy.next_action(&invoice, d(2025, 7, 1)).unwrap()
        else {
            panic!("the block expired; a reminder is due");
        };
        assert_eq!(reminder.stage, DunningStage::PaymentReminder);
    }

    #[test]
    fn the_table_knows_2026_and_says_when_a_half_year_is_missing() {
        let table = BaseRateTable::bundesbank();
        let rate = table.rate_on(d(2026, 3, 1)).unwrap();
        assert_eq!(
            (rate.effective_from, rate.rate_percent),
            (d(2026, 1, 1), dec!(1.27))
        );
        assert_eq!(table.missing_half_year(d(2026, 6, 30)), None);
        assert_eq!(table.missing_half_year(d(2026, 7, 1)), Some(d(2026, 7, 1)));
        assert_eq!(table.missing_half_year(d(2027, 2, 1)), Some(d(2027, 1, 1)));
        // Past the table, the last rate carries on.
        assert_eq!(
            table.rate_on(d(2026, 12, 1)).unwrap().rate_percent,
            dec!(1.27)
        );
    }

    #[test]
    fn business_owes_the_flat_fee_once_instead_of_level_fees() {
        let policy = DunningPolicy::german_default();
        let mut invoice = facts(CustomerKind::Business);
        // In default since 1 June (agreed payment date), so the first
        // notice on 21 June claims the flat fee.
        invoice.payment_date_agreed = true;
        invoice.sent.push(sent(
            DunningStage::PaymentReminder,
            d(2025, 6, 7),
            d(2025, 6, 17),
        ));
        let DunningAction::Send(first) = policy.next_action(&invoice, d(2025, 6, 21)).unwrap()
        else {
            panic!("first notice expected");
        };
        assert_eq!(first.flat_fee, eur(dec!(40.00)));
        assert_eq!(first.fee, eur(dec!(0.00)));

        invoice
            .sent
            .push(sent(first.stage, d(2025, 6, 21), first.payment_deadline));
        invoice.flat_fee_charged = true;
        let DunningAction::Send(second) = policy.next_action(&invoice, d(2025, 7, 5)).unwrap()
        else {
            panic!("second notice expected");
        };
        assert_eq!(second.stage, DunningStage::SecondNotice);
        assert_eq!(
            second.flat_fee,
            eur(dec!(0.00)),
            "flat fee only once per invoice"
        );
        assert_eq!(second.fee, eur(dec!(0.00)));
    }

    #[test]
    fn fees_in_another_currency_are_refused() {
        let mut policy = DunningPolicy::german_default();
        let mut invoice = facts(CustomerKind::Consumer);
        invoice.open_amount = Money::new(dec!(100), Currency::USD);
        invoice.payment_date_agreed = true;
        invoice.sent.push(sent(
            DunningStage::PaymentReminder,
            d(2025, 6, 7),
            d(2025, 6, 17),
        ));
        // The EUR minimum is compared with a USD amount: refused by name.
        let err = policy.next_action(&invoice, d(2025, 6, 21)).unwrap_err();
        assert!(
            err.to_string().starts_with("minimum_dunning_amount:"),
            "{err}"
        );
        policy.minimum_dunning_amount = Money::new(dec!(5), Currency::USD);
        let err = policy.next_action(&invoice, d(2025, 6, 21)).unwrap_err();
        assert!(err.to_string().starts_with("levels[1].fee:"), "{err}");
    }

    #[test]
    fn policy_validation_names_the_level() {
        let mut policy = DunningPolicy::german_default();
        policy.levels.swap(1, 2);
        let err = policy.validate().unwrap_err();
        assert!(err.to_string().starts_with("levels[2]:"), "{err}");
        assert!(BaseRateTable::new(Vec::new()).is_err());
    }

    #[test]
    fn json_round_trip_with_snake_case_and_string_amounts() {
        let policy = DunningPolicy::german_default();
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["levels"][1]["stage"], "first_notice");
        assert_eq!(json["levels"][1]["fee"]["amount"], "2.50");
        assert_eq!(json["base_rates"][6]["rate_percent"], "1.27");
        assert_eq!(json["base_rates"][7]["effective_from"], "2026-01-01");
        assert_eq!(json["business_margin_points"], "9");
        let back: DunningPolicy = serde_json::from_value(json).unwrap();
        assert_eq!(back, policy);

        let mut invoice = facts(CustomerKind::Business);
        invoice.payment_date_agreed = true;
        invoice.sent.push(sent(
            DunningStage::PaymentReminder,
            d(2025, 6, 7),
            d(2025, 6, 17),
        ));
        let json = serde_json::to_value(&invoice).unwrap();
        assert_eq!(json["customer_kind"], "business");
        assert_eq!(json["state"], "open");
        assert_eq!(
            serde_json::from_value::<DunningFacts>(json).unwrap(),
            invoice
        );

        let action = policy.next_action(&invoice, d(2025, 7, 15)).unwrap();
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(json["action"], "send");
        assert_eq!(json["stage"], "first_notice");
        assert_eq!(json["interest"]["total"]["amount"], "134.84");
        assert_eq!(json["interest"]["periods"][0]["days"], 30);
        assert_eq!(
            serde_json::from_value::<DunningAction>(json).unwrap(),
            action
        );

        let none = DunningAction::None {
            reason: NoDunningReason::NotYetDue,
            next_check: Some(d(2025, 6, 7)),
        };
        let json = serde_json::to_string(&none).unwrap();
        assert_eq!(
            json,
            r#"{"action":"none","reason":"not_yet_due","next_check":"2025-06-07"}"#
        );
        assert_eq!(serde_json::from_str::<DunningAction>(&json).unwrap(), none);
        assert!(serde_json::from_str::<BaseRateTable>("[]").is_err());
    }

    /// EUR 10,000.00 open, due Thursday 15 January 2026 (base rate 1.27 %
    /// since 1 January 2026: consumers 6.27 %, businesses 10.27 %).
    fn january(kind: CustomerKind) -> DunningFacts {
        DunningFacts {
            due_date: d(2026, 1, 15),
            ..facts(kind)
        }
    }

    fn send(policy: &DunningPolicy, facts: &DunningFacts, today: NaiveDate) -> DunningNotice {
        match policy.next_action(facts, today).unwrap() {
            DunningAction::Send(notice) => notice,
            other => panic!("a letter expected on {today}, got {other:?}"),
        }
    }

    #[test]
    fn a_printed_due_date_is_no_default_so_the_reminder_claims_nothing() {
        // The old rule charged 10,000.00 × 6.27 % × 7 / 365 = 12.0246… →
        // 12.02 for 16–22 January. A due date only printed on the invoice
        // is not agreed (§286(2) no. 1 BGB); the §286(3) default starts on
        // 15 February at the earliest (invoice received 5 January).
        let policy = DunningPolicy::german_default();
        let mut invoice = january(CustomerKind::Consumer);
        invoice.invoice_received_on = Some(d(2026, 1, 5));
        invoice.default_notice_printed = true;
        let reminder = send(&policy, &invoice, d(2026, 1, 22));
        assert_eq!(reminder.stage, DunningStage::PaymentReminder);
        assert!(reminder.interest.periods.is_empty());
        assert_eq!(reminder.interest.total, eur(dec!(0.00)));
        assert_eq!(reminder.fee, eur(dec!(0.00)));
        assert_eq!(reminder.total_claim, eur(dec!(10000.00)));
    }

    #[test]
    fn the_notice_that_creates_default_claims_nothing_the_next_one_interest_from_its_receipt() {
        let policy = DunningPolicy::german_default();
        for kind in [CustomerKind::Business, CustomerKind::Consumer] {
            let mut invoice = january(kind);
            invoice.sent.push(sent(
                DunningStage::PaymentReminder,
                d(2026, 1, 22),
                d(2026, 2, 1),
            ));
            // Day 21 after the due date: 5 February. No default before it
            // (no agreed date, receipt of the invoice unknown), so no
            // interest, no level fee, no flat fee.
            let first = send(&policy, &invoice, d(2026, 2, 5));
            assert_eq!(first.stage, DunningStage::FirstNotice);
            assert_eq!(first.interest.total, eur(dec!(0.00)), "{kind:?}");
            assert_eq!(first.fee, eur(dec!(0.00)), "{kind:?}");
            assert_eq!(first.flat_fee, eur(dec!(0.00)), "{kind:?}");
            assert_eq!(first.total_claim, eur(dec!(10000.00)), "{kind:?}");
            assert_eq!(first.payment_deadline, d(2026, 2, 15));
            invoice
                .sent
                .push(sent(first.stage, d(2026, 2, 5), first.payment_deadline));
            // Received the day after sending (notice_receipt_days = 1):
            // 6 February; in default from then, interest from 7 February.
            assert_eq!(
                policy.default_start(&invoice).unwrap(),
                Some(DefaultStart {
                    ground: DefaultGround::FormalNotice,
                    first_day: d(2026, 2, 7),
                })
            );
            // Second notice: day 35 = 19 February (deadline 15 February
            // passed). Interest 7–19 February = 13 days.
            let second = send(&policy, &invoice, d(2026, 2, 19));
            assert_eq!(second.stage, DunningStage::SecondNotice);
            assert_eq!(second.interest.periods.len(), 1);
            let period = &second.interest.periods[0];
            assert_eq!(
                (period.period.start, period.period.end, period.days),
                (d(2026, 2, 7), d(2026, 2, 19), 13)
            );
            match kind {
                CustomerKind::Business => {
                    // 10,000.00 × (1.27 + 9) % × 13 / 365 = 13,351 / 365
                    //   = 36.5780… → 36.58; flat fee 40.00 instead of the
                    //   5.00 level fee; 10,000 + 40 + 36.58 = 10,076.58
                    assert_eq!(period.rate_percent, dec!(10.27));
                    assert_eq!(second.interest.total, eur(dec!(36.58)));
                    assert_eq!(second.flat_fee, eur(dec!(40.00)));
                    assert_eq!(second.fee, eur(dec!(0.00)));
                    assert_eq!(second.total_claim, eur(dec!(10076.58)));
                }
                CustomerKind::Consumer => {
                    // 10,000.00 × (1.27 + 5) % × 13 / 365 = 8,151 / 365
                    //   = 22.3315… → 22.33; level fee 5.00;
                    //   10,000 + 5 + 22.33 = 10,027.33
                    assert_eq!(period.rate_percent, dec!(6.27));
                    assert_eq!(second.interest.total, eur(dec!(22.33)));
                    assert_eq!(second.flat_fee, eur(dec!(0.00)));
                    assert_eq!(second.fee, eur(dec!(5.00)));
                    assert_eq!(second.total_claim, eur(dec!(10027.33)));
                }
            }
        }
    }

    #[test]
    fn an_agreed_payment_date_puts_the_customer_in_default_the_day_after() {
        let policy = DunningPolicy::german_default();
        let mut consumer = january(CustomerKind::Consumer);
        consumer.payment_date_agreed = true;
        // In default from 16 January: 16–22 January = 7 days,
        //   10,000.00 × 6.27 % × 7 / 365 = 4,389 / 365 = 12.0246… → 12.02
        let reminder = send(&policy, &consumer, d(2026, 1, 22));
        assert_eq!(reminder.interest.periods[0].period.start, d(2026, 1, 16));
        assert_eq!(reminder.interest.total, eur(dec!(12.02)));
        assert_eq!(reminder.total_claim, eur(dec!(10012.02)));

        let mut business = january(CustomerKind::Business);
        business.payment_date_agreed = true;
        business.sent.push(sent(
            DunningStage::PaymentReminder,
            d(2026, 1, 22),
            d(2026, 2, 1),
        ));
        // 16 January – 5 February = 21 days,
        //   10,000.00 × 10.27 % × 21 / 365 = 21,567 / 365 = 59.0876… → 59.09
        //   + flat fee 40.00 (already in default): 10,099.09
        let first = send(&policy, &business, d(2026, 2, 5));
        assert_eq!(first.interest.periods[0].days, 21);
        assert_eq!(first.interest.total, eur(dec!(59.09)));
        assert_eq!(first.flat_fee, eur(dec!(40.00)));
        assert_eq!(first.fee, eur(dec!(0.00)));
        assert_eq!(first.total_claim, eur(dec!(10099.09)));
    }

    #[test]
    fn a_business_defaults_30_days_after_due_date_and_receipt_without_a_notice() {
        let policy = DunningPolicy::german_default();
        let mut invoice = january(CustomerKind::Business);
        invoice.invoice_received_on = Some(d(2026, 1, 5));
        // 30 days after the later of due date (15 Jan) and receipt (5 Jan):
        // 16 January – 14 February; in default from 15 February.
        assert_eq!(
            policy.default_start(&invoice).unwrap(),
            Some(DefaultStart {
                ground: DefaultGround::ThirtyDaysAfterInvoice,
                first_day: d(2026, 2, 15),
            })
        );
        // The reminder, held back until 20 February, is the first letter:
        // 15–20 February = 6 days, 10,000.00 × 10.27 % × 6 / 365
        //   = 6,162 / 365 = 16.8821… → 16.88; the flat fee waits for the
        //   first notice (from_stage), the reminder costs nothing.
        let reminder = send(&policy, &invoice, d(2026, 2, 20));
        assert_eq!(reminder.stage, DunningStage::PaymentReminder);
        assert_eq!(reminder.interest.periods[0].period.start, d(2026, 2, 15));
        assert_eq!(reminder.interest.total, eur(dec!(16.88)));
        assert_eq!(reminder.flat_fee, eur(dec!(0.00)));
        assert_eq!(reminder.total_claim, eur(dec!(10016.88)));

        // Received after the due date: the 30 days run from receipt,
        // 20 January + 30 days = 19 February; default from 20 February.
        invoice.invoice_received_on = Some(d(2026, 1, 20));
        assert_eq!(
            policy.default_start(&invoice).unwrap().map(|s| s.first_day),
            Some(d(2026, 2, 20))
        );
    }

    #[test]
    fn a_consumer_whose_invoice_lacked_the_notice_is_not_in_default_after_30_days() {
        let policy = DunningPolicy::german_default();
        let mut invoice = january(CustomerKind::Consumer);
        invoice.invoice_received_on = Some(d(2026, 1, 5));
        assert_eq!(policy.default_start(&invoice).unwrap(), None);
        let reminder = send(&policy, &invoice, d(2026, 2, 20));
        assert_eq!(reminder.interest.total, eur(dec!(0.00)));
        assert_eq!(reminder.total_claim, eur(dec!(10000.00)));

        // With the notice printed: in default from 15 February,
        //   15–20 February = 6 days × 6.27 %: 3,762 / 365 = 10.3068… → 10.31
        invoice.default_notice_printed = true;
        let reminder = send(&policy, &invoice, d(2026, 2, 20));
        assert_eq!(reminder.interest.total, eur(dec!(10.31)));
        assert_eq!(reminder.total_claim, eur(dec!(10010.31)));
    }

    #[test]
    fn below_the_minimum_no_letter_and_no_fee_but_review() {
        let policy = DunningPolicy::german_default();
        let mut invoice = january(CustomerKind::Business);
        invoice.open_amount = eur(dec!(0.01));
        invoice.payment_date_agreed = true;
        // Before the first level's day: nothing to decide yet.
        assert_eq!(
            policy.next_action(&invoice, d(2026, 1, 21)).unwrap(),
            DunningAction::None {
                reason: NoDunningReason::NotYetDue,
                next_check: Some(d(2026, 1, 22)),
            }
        );
        for today in [d(2026, 1, 22), d(2026, 2, 5)] {
            assert_eq!(
                policy.next_action(&invoice, today).unwrap(),
                DunningAction::BelowMinimum {
                    open_amount: eur(dec!(0.01)),
                    minimum: eur(dec!(5.00)),
                }
            );
        }
        // Exactly the minimum is dunned.
        invoice.open_amount = eur(dec!(5.00));
        assert!(matches!(
            policy.next_action(&invoice, d(2026, 1, 22)).unwrap(),
            DunningAction::Send(_)
        ));
        let mut negative = policy.clone();
        negative.minimum_dunning_amount = eur(dec!(-1));
        let err = negative.validate().unwrap_err();
        assert!(
            err.to_string().starts_with("minimum_dunning_amount:"),
            "{err}"
        );
    }

    #[test]
    fn the_flat_fee_switch_cannot_be_set_against_section_288_5() {
        let mut policy = DunningPolicy::german_default();
        policy.flat_fee_replaces_level_fees = false;
        let err = policy.validate().unwrap_err();
        assert!(
            err.to_string().starts_with("flat_fee_replaces_level_fees:"),
            "{err}"
        );
        let invoice = january(CustomerKind::Business);
        assert!(policy.next_action(&invoice, d(2026, 1, 22)).is_err());
        // Without a flat fee, or without level fees, nothing is charged
        // twice and the switch does not matter.
        let mut waived = policy.clone();
        waived.business_flat_fee = None;
        assert!(waived.validate().is_ok());
        let mut free = policy.clone();
        for level in &mut free.levels {
            level.fee = eur(dec!(0.00));
        }
        assert!(free.validate().is_ok());
    }

    #[test]
    fn a_business_never_pays_level_fees_on_top_of_the_flat_fee() {
        // The flat fee is claimed from the second notice only: the first
        // notice after default still charges no level fee (2.50 before),
        // since the flat fee owed from the default covers it.
        let mut policy = DunningPolicy::german_default();
        if let Some(flat_fee) = &mut policy.business_flat_fee {
            flat_fee.from_stage = DunningStage::SecondNotice;
        }
        let mut invoice = january(CustomerKind::Business);
        invoice.payment_date_agreed = true;
        invoice.sent.push(sent(
            DunningStage::PaymentReminder,
            d(2026, 1, 22),
            d(2026, 2, 1),
        ));
        let first = send(&policy, &invoice, d(2026, 2, 5));
        assert_eq!(
            (first.fee, first.flat_fee),
            (eur(dec!(0.00)), eur(dec!(0.00)))
        );
        invoice
            .sent
            .push(sent(first.stage, d(2026, 2, 5), first.payment_deadline));
        let second = send(&policy, &invoice, d(2026, 2, 19));
        assert_eq!(
            (second.fee, second.flat_fee),
            (eur(dec!(0.00)), eur(dec!(40.00)))
        );
    }

    #[test]
    fn a_stored_policy_with_default_after_days_still_decodes() {
        let mut json = serde_json::to_value(DunningPolicy::german_default()).unwrap();
        let object = json.as_object_mut().unwrap();
        object.remove("notice_receipt_days");
        object.remove("minimum_dunning_amount");
        object.insert("default_after_days".into(), serde_json::json!(0));
        let policy: DunningPolicy = serde_json::from_value(json).unwrap();
        assert_eq!(policy, DunningPolicy::german_default());
        assert_eq!(policy.minimum_dunning_amount, eur(dec!(5.00)));
        assert_eq!(policy.notice_receipt_days, 1);
    }
}
