//! Mid-period changes: what happens to the rest of a period when a contract's
//! quantity or unit price changes on a day inside it.
//!
//! Proration is business practice, not law: the seller decides (and the
//! contract may override) how a change inside a period is billed. The rules
//! here decide only *whether* a change is billed for the rest of its period;
//! the amount is prorated by the schedule's one proration rule (actual days
//! of the period, see [`crate::schedule`]).
//!
//! - Billed in advance, the period was charged when it began. An **upgrade**
//!   (the period amount quantity × unit price goes up) is charged for the rest
//!   of the period on the next invoice; a **downgrade** takes effect from the
//!   next period ([`Downgrades::NextPeriod`], the default) or credits the
//!   unused rest with a negative line ([`Downgrades::CreditUnused`]). A
//!   change dated on the period's first day is not inside it: recorded after
//!   the period was billed, it is credited or charged for the whole period.
//! - Billed in arrears, nothing was charged yet: every part of the period is
//!   billed at what was in effect on its days, whichever way the change went.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::money::Money;

/// Quantity and unit price per full period: the terms a stretch of days is
/// charged at, kept so an invoice line can say what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChargedTerms {
    /// Contract quantity.
    pub quantity: Decimal,
    /// Unit price per full period.
    pub unit_price: Money,
}

impl ChargedTerms {
    /// quantity × unit price: what a full period costs at these terms
    /// (unrounded; rounding happens once per line).
    pub fn period_amount(&self) -> Result<Money, DomainError> {
        self.unit_price.times(self.quantity)
    }
}

/// How a downgrade inside a period already billed in advance is billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downgrades {
    /// The customer keeps what was paid for until the period ends; the lower
    /// amount applies from the next period on (common SaaS practice).
    #[default]
    NextPeriod,
    /// The unused rest of the period is credited pro rata on the next invoice.
    CreditUnused,
}

/// The seller's (or a contract's) rule for changes inside a period; upgrades
/// are always charged pro rata from their day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MidPeriodPolicy {
    /// What a downgrade inside an in-advance period does.
    #[serde(default)]
    pub downgrades: Downgrades,
}

/// Which way a change moves a period's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeDirection {
    /// The period amount goes up: charged for the rest of the period.
    Upgrade,
    /// The period amount goes down: credited or deferred per the policy.
    Downgrade,
}

/// A change to bill for the rest of an in-advance period: the terms the days
/// were charged at and the terms from the change on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BilledChange {
    /// Up or down.
    pub direction: ChangeDirection,
    /// What the days were charged at before.
    pub before: ChargedTerms,
    /// What they are charged at from now on.
    pub after: ChargedTerms,
    /// `after` − `before` per full period (negative for a credit).
    pub difference: Money,
}

impl MidPeriodPolicy {
    /// Decides a change inside an in-advance period whose remaining days are
    /// charged at `charged`: `Some` when the rest of the period is billed
    /// again at `new`, `None` when nothing is billed (no change in amount, or
    /// a downgrade deferred to the next period). The terms the remaining days
    /// stand charged at afterwards are `new` when billed, else `charged`
    /// (unless only the split of an unchanged amount moved).
    pub fn decide(
        self,
        charged: ChargedTerms,
        new: ChargedTerms,
    ) -> Result<(Option<BilledChange>, ChargedTerms), DomainError> {
        let before = charged.period_amount()?;
        let after = new.period_amount()?;
        let difference = after.checked_sub(before)?;
        let direction = if difference.is_positive() {
            ChangeDirection::Upgrade
        } else if difference.is_negative() {
            ChangeDirection::Downgrade
        } else {
            return Ok((None, new));
        };
        if direction == ChangeDirection::Downgrade && self.downgrades == Downgrades::NextPeriod {
            return Ok((None, charged));
        }
        let billed = BilledChange {
            direction,
            before: charged,
            after: new,
            difference,
        };
        Ok((Some(billed), new))
    }
}
