//! SEPA direct debit (Lastschrift): the mandate a customer signs, the
//! creditor identifier it is granted to, when an invoice may be collected,
//! and which bank return means the mandate is gone.
//!
//! Rules and where they come from:
//! - A collection needs a mandate naming the creditor identifier, a mandate
//!   reference unique per creditor, the date of signature, the scheme (CORE
//!   for consumers and businesses, B2B for businesses only) and the debtor's
//!   account (EPC016 SDD Core Rulebook 4.7.2, DS-01).
//! - A mandate with no collection for 36 months lapses and must not be used
//!   again (SDD Core Rulebook 4.7.2 / PT-04.03; the same in the B2B
//!   rulebook). A mandate never used lapses 36 months after its signature,
//!   as the Deutsche Kreditwirtschaft reads the rule.
//! - The debtor is told amount and date at least 14 calendar days before the
//!   collection unless a shorter period was agreed (SDD Core Rulebook PT-03.05,
//!   "pre-notification"); the agreed period is recorded on the mandate.
//! - Collections settle on TARGET business days only (ECB: TARGET is closed on
//!   Saturdays, Sundays, 1 January, Good Friday, Easter Monday, 1 May, 25 and
//!   26 December). Since November 2016 a CORE or B2B collection reaches the
//!   debtor bank one TARGET day before the due date (D-1) for first and
//!   recurrent collections alike, so every collection is sent as `RCUR`.
//! - SEPA direct debits are in euro only (SEPA Regulation (EU) 260/2012,
//!   Art. 1); a zero amount is no collection.
//!
//! Field checks (creditor identifier check digits per EPC262-08, mandate
//! reference characters and slash rules per EPC230-15, SEPA country list) use
//! the `sepa` crate rather than tables of our own.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::checked_string;
use crate::money::{Currency, Money};
use crate::party::{Bic, Iban, Language};

/// Days between the pre-notification (the invoice) and the collection when
/// the mandate records no shorter agreement (SDD Core Rulebook PT-03.05).
pub const DEFAULT_PRE_NOTIFICATION_DAYS: u16 = 14;

/// Months without a collection after which a mandate lapses (SDD Core
/// Rulebook 4.7.2).
pub const MANDATE_LAPSE_MONTHS: u32 = 36;

fn check_creditor_identifier(value: &str) -> Result<String, DomainError> {
    const FIELD: &str = "creditor_identifier";
    let identifier = sepa::validate_creditor_id(value)
        .map_err(|error| DomainError::invalid(FIELD, error.to_string()))?;
    let identifier = identifier.as_str().to_owned();
    // The Bundesbank issues German identifiers as DE, two check digits, a
    // three-character business code and an 11-digit national part.
    if identifier.starts_with("DE")
        && (identifier.len() != 18 || !identifier[7..].bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(DomainError::invalid(
            FIELD,
            "a German creditor identifier is DE, two check digits, a three-character \
             business code and 11 digits (18 characters)",
        ));
    }
    Ok(identifier)
}

checked_string!(
    /// The creditor identifier (Gläubiger-Identifikationsnummer) the
    /// seller's mandates are granted to; printed on every pre-notification
    /// and carried in each collection file (BT-90 on the e-invoice).
    CreditorIdentifier,
    check_creditor_identifier
);

fn check_mandate_reference(value: &str) -> Result<String, DomainError> {
    sepa::validate::check_id("mandate_reference", value)
        .map_err(|error| DomainError::invalid("mandate_reference", error.to_string()))?;
    Ok(value.to_owned())
}

checked_string!(
    /// The mandate reference (Mandatsreferenz, BT-89): unique per creditor
    /// identifier, at most 35 characters of the SEPA set. Kept exactly as
    /// given: the bank echoes it back in returns, so it is never rewritten.
    MandateReference,
    check_mandate_reference
);

/// Which SEPA direct debit scheme a mandate was signed for; banks refuse a
/// file that mixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DirectDebitScheme {
    /// SEPA Core, for consumers and businesses; the debtor may ask for a
    /// refund within 8 weeks without giving a reason.
    Core,
    /// SEPA Business-to-Business: no refund right, and the debtor's bank
    /// must hold a copy of the mandate.
    B2b,
}

impl DirectDebitScheme {
    /// The code in `LclInstrm/Cd` of a collection file.
    pub fn code(self) -> &'static str {
        match self {
            Self::Core => "CORE",
            Self::B2b => "B2B",
        }
    }
}

/// Whether the mandate covers one collection or a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MandateUse {
    /// One collection only; spent once it was collected.
    OneOff,
    /// Recurring collections (subscriptions).
    Recurrent,
}

/// Where a mandate stands apart from its age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MandateStatus {
    /// May be collected on.
    Active,
    /// Blocked from a day on, e.g. after a return that says the account is
    /// closed or the mandate was never given; a clerk may unblock it once
    /// the customer gave new details.
    Blocked {
        /// The day it was blocked.
        since: NaiveDate,
        /// Why, in words for the attention list (a return reason code and
        /// its meaning, or a clerk's note).
        reason: String,
    },
    /// Revoked by the debtor (or replaced by a new mandate) from a day on.
    Revoked {
        /// The day it ended.
        since: NaiveDate,
    },
}

/// A change the scheme requires to be announced with the next collection
/// (`AmdmntInd` with `AmdmntInfDtls`, SDD Core Rulebook 4.7.2 AT-24).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum MandateChange {
    /// The mandate reference changed; the previous one is reported.
    Reference {
        /// The reference before the change.
        previous: MandateReference,
    },
    /// The debtor's account changed; the previous IBAN is reported.
    DebtorAccount {
        /// The IBAN before the change.
        previous: Iban,
    },
    /// The creditor identifier changed (e.g. after a merger).
    Creditor {
        /// The identifier before the change.
        previous: CreditorIdentifier,
    },
}

/// One recorded amendment with its day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateAmendment {
    /// The day the change took effect.
    pub on: NaiveDate,
    /// What changed.
    pub change: MandateChange,
}

/// A SEPA mandate a customer signed for the seller's creditor identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    /// Mandate reference, unique per creditor identifier.
    pub reference: MandateReference,
    /// The creditor identifier the mandate is granted to.
    pub creditor_identifier: CreditorIdentifier,
    /// Date of signature.
    pub signed_on: NaiveDate,
    /// CORE or B2B.
    pub scheme: DirectDebitScheme,
    /// One-off or recurrent.
    pub usage: MandateUse,
    /// Account holder as on the mandate (at most 70 characters in a file).
    pub debtor_name: String,
    /// The debited account.
    pub debtor_iban: Iban,
    /// The debtor bank's BIC, optional within SEPA since 2016.
    pub debtor_bic: Option<Bic>,
    /// Active, blocked or revoked.
    pub status: MandateStatus,
    /// The day of the last collection, if any.
    pub last_collected_on: Option<NaiveDate>,
    /// A pre-notification period shorter than 14 days agreed with the
    /// debtor, in calendar days.
    pub agreed_pre_notification_days: Option<u16>,
    /// Amendments in the order they were made.
    pub amendments: Vec<MandateAmendment>,
}

/// Why a mandate cannot carry a collection on a given day: the reason an
/// invoice lands on the needs-attention list instead of in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MandateRefusal {
    /// Signed after the collection day.
    #[error("the mandate is signed only on {signed_on}")]
    NotYetSigned {
        /// Date of signature.
        signed_on: NaiveDate,
    },
    /// Blocked (e.g. by a return).
    #[error("the mandate is blocked since {since}: {reason}")]
    Blocked {
        /// Since when.
        since: NaiveDate,
        /// Why.
        reason: String,
    },
    /// Revoked.
    #[error("the mandate was revoked on {since}")]
    Revoked {
        /// Since when.
        since: NaiveDate,
    },
    /// Unused for 36 months.
    #[error("the mandate lapsed on {lapsed_on}: no collection for 36 months")]
    Lapsed {
        /// The first day it may no longer be used.
        lapsed_on: NaiveDate,
    },
    /// A one-off mandate that was already collected on.
    #[error("the one-off mandate was already used on {used_on}")]
    OneOffUsed {
        /// The day of its collection.
        used_on: NaiveDate,
    },
    /// The debited account is outside the SEPA area.
    #[error("the debtor's IBAN is from {country}, which is not in the SEPA area")]
    OutsideSepa {
        /// The IBAN's country code.
        country: String,
    },
}

impl Mandate {
    /// Checks what a CRM, import or clerk hands over: a debtor name that
    /// fits a collection file, a signature not in the future, and an
    /// agreed pre-notification period shorter than the default. `today` is
    /// the seller's date.
    pub fn validate(&self, today: NaiveDate) -> Result<(), DomainError> {
        let name = self.debtor_name.trim();
        if name.is_empty() {
            return Err(DomainError::invalid("debtor_name", "must not be blank"));
        }
        if name.chars().count() > 70 {
            return Err(DomainError::invalid(
                "debtor_name",
                "must be at most 70 characters (the SEPA limit for names)",
            ));
        }
        if self.signed_on > today {
            return Err(DomainError::invalid(
                "signed_on",
                "must not be after today: a mandate is recorded once signed",
            ));
        }
        if let Some(days) = self.agreed_pre_notification_days
            && !(1..DEFAULT_PRE_NOTIFICATION_DAYS).contains(&days)
        {
            return Err(DomainError::invalid(
                "agreed_pre_notification_days",
                "an agreed period is 1 to 13 days; leave it out for the default 14",
            ));
        }
        Ok(())
    }

    /// The first day the mandate may no longer be used: 36 months after
    /// the last collection, or after the signature if it was never used.
    pub fn lapses_on(&self) -> NaiveDate {
        let from = self.last_collected_on.unwrap_or(self.signed_on);
        from.checked_add_months(Months::new(MANDATE_LAPSE_MONTHS))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Whether a collection on `day` may use this mandate, and if not why.
    pub fn usable_on(&self, day: NaiveDate) -> Result<(), MandateRefusal> {
        if self.signed_on > day {
            return Err(MandateRefusal::NotYetSigned {
                signed_on: self.signed_on,
            });
        }
        match &self.status {
            MandateStatus::Active => {}
            MandateStatus::Blocked { since, reason } if *since <= day => {
                return Err(MandateRefusal::Blocked {
                    since: *since,
                    reason: reason.clone(),
                });
            }
            MandateStatus::Revoked { since } if *since <= day => {
                return Err(MandateRefusal::Revoked { since: *since });
            }
            MandateStatus::Blocked { .. } | MandateStatus::Revoked { .. } => {}
        }
        if let (MandateUse::OneOff, Some(used_on)) = (self.usage, self.last_collected_on) {
            return Err(MandateRefusal::OneOffUsed { used_on });
        }
        let lapsed_on = self.lapses_on();
        if day >= lapsed_on {
            return Err(MandateRefusal::Lapsed { lapsed_on });
        }
        let country = &self.debtor_iban.as_str()[..2];
        if !sepa::iban::is_sepa_country(country) {
            return Err(MandateRefusal::OutsideSepa {
                country: country.to_owned(),
            });
        }
        Ok(())
    }

    /// Whether `stated` (a mandate as an import or a CRM states it again)
    /// has this stored mandate's signed details: date, scheme, use, debtor
    /// and agreed pre-notification. Its later collections, status and
    /// amendments are the store's own and not compared; a stored mandate
    /// stated with other details is not silently overwritten (changes go
    /// through the staff API, which records them as amendments).
    pub fn same_details(&self, stated: &Mandate) -> bool {
        self.signed_on == stated.signed_on
            && self.scheme == stated.scheme
            && self.usage == stated.usage
            && self.debtor_name == stated.debtor_name
            && self.debtor_iban == stated.debtor_iban
            && self.debtor_bic == stated.debtor_bic
            && self.agreed_pre_notification_days == stated.agreed_pre_notification_days
    }

    /// Calendar days between the pre-notification and the collection.
    pub fn pre_notification_days(&self) -> u16 {
        self.agreed_pre_notification_days
            .unwrap_or(DEFAULT_PRE_NOTIFICATION_DAYS)
    }

    /// Applies a change and records it, so the next collection announces
    /// it. Changing to the same value records nothing.
    pub fn amend(&mut self, on: NaiveDate, amendment: MandateUpdate) {
        match amendment {
            MandateUpdate::Reference(reference) if reference != self.reference => {
                let previous = std::mem::replace(&mut self.reference, reference);
                self.amendments.push(MandateAmendment {
                    on,
                    change: MandateChange::Reference { previous },
                });
            }
            MandateUpdate::DebtorAccount(iban) if iban != self.debtor_iban => {
                let previous = std::mem::replace(&mut self.debtor_iban, iban);
                self.amendments.push(MandateAmendment {
                    on,
                    change: MandateChange::DebtorAccount { previous },
                });
            }
            MandateUpdate::Creditor(identifier) if identifier != self.creditor_identifier => {
                let previous = std::mem::replace(&mut self.creditor_identifier, identifier);
                self.amendments.push(MandateAmendment {
                    on,
                    change: MandateChange::Creditor { previous },
                });
            }
            MandateUpdate::Reference(_)
            | MandateUpdate::DebtorAccount(_)
            | MandateUpdate::Creditor(_) => {}
        }
    }

    /// The amendments the next collection must announce: those made since
    /// the last collection (all of them if there was none).
    pub fn unannounced_amendments(&self) -> impl Iterator<Item = &MandateAmendment> {
        let last = self.last_collected_on;
        self.amendments
            .iter()
            .filter(move |amendment| last.is_none_or(|collected| amendment.on > collected))
    }
}

/// A change to a mandate's reference, account or creditor, as a CRM, the
/// import or a clerk sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MandateUpdate {
    /// A new mandate reference.
    Reference(MandateReference),
    /// A new debited account.
    DebtorAccount(Iban),
    /// A new creditor identifier.
    Creditor(CreditorIdentifier),
}

/// The seller's SEPA creditor settings (`billing_entity.direct_debit`): to
/// whom mandates are granted, where collections are credited, and how long
/// before a collection the debtor is told. A seller without them cannot
/// collect; everything else works as before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditorSettings {
    /// The creditor identifier the Bundesbank granted the seller.
    pub creditor_identifier: CreditorIdentifier,
    /// The account collections are credited to (`CdtrAcct` of a file).
    pub collection_account: CollectionAccount,
    /// Calendar days between the pre-notification and the collection when
    /// a mandate records no shorter agreement; 14 unless configured longer.
    #[serde(default = "default_pre_notification_days")]
    pub pre_notification_days: u16,
}

/// The seller's account that collections are credited to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionAccount {
    /// Its IBAN (must be in the SEPA area).
    pub iban: Iban,
    /// Its bank's BIC, optional within SEPA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<Bic>,
}

fn default_pre_notification_days() -> u16 {
    DEFAULT_PRE_NOTIFICATION_DAYS
}

/// The longest pre-notification period a seller may configure: a longer
/// one would push collections far past the due date.
pub const MAX_PRE_NOTIFICATION_DAYS: u16 = 60;

impl CreditorSettings {
    /// Checks what the identifier's own parsing cannot: a SEPA collection
    /// account, and a period not shorter than the rulebook's 14 days (a
    /// shorter one is agreed per mandate, never for everyone). Errors name
    /// the field below `field`.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        let country = &self.collection_account.iban.as_str()[..2];
        if !sepa::iban::is_sepa_country(country) {
            return Err(DomainError::invalid(
                format!("{field}.collection_account.iban"),
                format!("{country} is not in the SEPA area"),
            ));
        }
        if !(DEFAULT_PRE_NOTIFICATION_DAYS..=MAX_PRE_NOTIFICATION_DAYS)
            .contains(&self.pre_notification_days)
        {
            return Err(DomainError::invalid(
                format!("{field}.pre_notification_days"),
                format!(
                    "must be {DEFAULT_PRE_NOTIFICATION_DAYS} to {MAX_PRE_NOTIFICATION_DAYS} days; \
                     a shorter period is agreed on the mandate"
                ),
            ));
        }
        Ok(())
    }
}

/// A mandate as a clerk or an import records it: the signed paper's
/// details. The creditor identifier defaults to the seller's; a mandate
/// starts active and without amendments (a migrated mandate may bring the
/// day it was last collected on, which its lapse counts from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMandate {
    /// Mandate reference, unique per creditor identifier.
    pub reference: MandateReference,
    /// The creditor identifier, if not the seller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creditor_identifier: Option<CreditorIdentifier>,
    /// Date of signature.
    pub signed_on: NaiveDate,
    /// CORE or B2B.
    pub scheme: DirectDebitScheme,
    /// One-off or recurrent.
    pub usage: MandateUse,
    /// Account holder as on the mandate.
    pub debtor_name: String,
    /// The debited account.
    pub debtor_iban: Iban,
    /// The debtor bank's BIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor_bic: Option<Bic>,
    /// The last collection under it in an earlier system, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_collected_on: Option<NaiveDate>,
    /// A shorter pre-notification period agreed with the debtor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreed_pre_notification_days: Option<u16>,
}

impl NewMandate {
    /// The mandate to store, granted to the given creditor identifier or
    /// else to `seller` (the seller's configured one), checked as
    /// [`Mandate::validate`] does on `today`.
    pub fn into_mandate(
        self,
        seller: Option<&CreditorIdentifier>,
        today: NaiveDate,
    ) -> Result<Mandate, DomainError> {
        let creditor_identifier = match self.creditor_identifier.or_else(|| seller.cloned()) {
            Some(identifier) => identifier,
            None => {
                return Err(DomainError::invalid(
                    "creditor_identifier",
                    "is required: the seller has no creditor identifier configured",
                ));
            }
        };
        if let Some(last) = self.last_collected_on
            && (last < self.signed_on || last > today)
        {
            return Err(DomainError::invalid(
                "last_collected_on",
                "must lie between the date of signature and today",
            ));
        }
        let mandate = Mandate {
            reference: self.reference,
            creditor_identifier,
            signed_on: self.signed_on,
            scheme: self.scheme,
            usage: self.usage,
            debtor_name: self.debtor_name.trim().to_owned(),
            debtor_iban: self.debtor_iban,
            debtor_bic: self.debtor_bic,
            status: MandateStatus::Active,
            last_collected_on: self.last_collected_on,
            agreed_pre_notification_days: self.agreed_pre_notification_days,
            amendments: Vec::new(),
        };
        mandate.validate(today)?;
        Ok(mandate)
    }
}

/// Easter Sunday of `year` (Gregorian; the anonymous computus of Meeus,
/// *Astronomical Algorithms*, ch. 8). `None` outside chrono's range.
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// Whether TARGET settles on `day` (ECB closing days: weekends, 1 January,
/// Good Friday, Easter Monday, 1 May, 25 and 26 December).
pub fn is_target_business_day(day: NaiveDate) -> bool {
    if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        return false;
    }
    if matches!(
        (day.month(), day.day()),
        (1, 1) | (5, 1) | (12, 25) | (12, 26)
    ) {
        return false;
    }
    match easter_sunday(day.year()) {
        Some(easter) => {
            let good_friday = easter.checked_sub_days(Days::new(2));
            let easter_monday = easter.checked_add_days(Days::new(1));
            Some(day) != good_friday && Some(day) != easter_monday
        }
        None => true,
    }
}

/// `day` itself if TARGET settles on it, else the next day it does.
pub fn on_or_after_target_business_day(day: NaiveDate) -> NaiveDate {
    let mut candidate = day;
    while !is_target_business_day(candidate) {
        match candidate.succ_opt() {
            Some(next) => candidate = next,
            None => return candidate,
        }
    }
    candidate
}

/// The collection date a direct-debit invoice prints and is collected on:
/// not before its due date, not before the pre-notification period has run
/// from the invoice date, and a TARGET business day.
pub fn collection_date(
    issue_date: NaiveDate,
    due_date: NaiveDate,
    pre_notification_days: u16,
) -> NaiveDate {
    let notified = issue_date
        .checked_add_days(Days::new(u64::from(pre_notification_days)))
        .unwrap_or(NaiveDate::MAX);
    on_or_after_target_business_day(notified.max(due_date))
}

/// The first collection date a file sent on `sent_on` can still request:
/// one TARGET business day later (D-1 for CORE and B2B since November
/// 2016), so the debtor bank has it the day before.
pub fn earliest_collection_date(sent_on: NaiveDate) -> NaiveDate {
    let next = sent_on.succ_opt().unwrap_or(sent_on);
    on_or_after_target_business_day(next)
}

/// The customer's mandate for a collection: the first of `mandates` (in the
/// caller's order, stored ones first) granted to `creditor`, the seller's
/// creditor identifier, that is usable on the day `collected_on` gives for
/// it. The one rule for choosing it, shared by a deal's one-off invoice, a
/// contract's run invoice and the checks made when a contract names direct
/// debit; refused with the reason (the last mandate's refusal, or none on
/// file).
pub fn first_usable_mandate<'m>(
    creditor: &CreditorIdentifier,
    mandates: impl IntoIterator<Item = &'m Mandate>,
    collected_on: impl Fn(&Mandate) -> NaiveDate,
) -> Result<&'m Mandate, DomainError> {
    let mut why = "the customer has no SEPA mandate on file".to_owned();
    for mandate in mandates {
        if mandate.creditor_identifier != *creditor {
            continue;
        }
        match mandate.usable_on(collected_on(mandate)) {
            Ok(()) => return Ok(mandate),
            Err(refusal) => why = format!("mandate {}: {refusal}", mandate.reference),
        }
    }
    Err(DomainError::invalid(
        "mandate",
        format!("direct debit needs a usable mandate of the customer: {why}"),
    ))
}

/// Why an invoice due for collection is not put into a file; each becomes
/// a needs-attention entry with these words while the rest of the batch
/// goes out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectionRefusal {
    /// The customer has no mandate for the invoice.
    #[error("no SEPA mandate on file")]
    NoMandate,
    /// The mandate cannot be used.
    #[error(transparent)]
    Mandate(#[from] MandateRefusal),
    /// Nothing is open.
    #[error("nothing is open to collect")]
    NothingOpen,
    /// SEPA direct debit is euro only.
    #[error("the invoice is in {currency}; SEPA direct debits are in euro only")]
    NotEuro {
        /// The invoice currency.
        currency: &'static str,
    },
}

/// Whether `open` may be collected with `mandate` on `day`.
pub fn check_collectable(
    mandate: Option<&Mandate>,
    open: Money,
    day: NaiveDate,
) -> Result<(), CollectionRefusal> {
    if open.currency() != Currency::EUR {
        return Err(CollectionRefusal::NotEuro {
            currency: open.currency().code(),
        });
    }
    if !open.is_positive() {
        return Err(CollectionRefusal::NothingOpen);
    }
    let mandate = mandate.ok_or(CollectionRefusal::NoMandate)?;
    mandate.usable_on(day)?;
    Ok(())
}

/// The remittance text of a collection (`RmtInf/Ustrd`, at most 140
/// characters): it names the invoice so the debtor's statement says what
/// was collected, in the invoice's language.
pub fn remittance_text(invoice_number: &str, language: Language) -> String {
    match language {
        Language::De => format!("Rechnung {invoice_number}"),
        Language::En => format!("Invoice {invoice_number}"),
    }
}

/// What a bank's return or reject reason code (ISO 20022 external code
/// set, as used by the EPC for R-transactions) means for the mandate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnConsequence {
    /// The mandate stays usable (e.g. insufficient funds, a refund the
    /// debtor asked for): the invoice is open again and dunned.
    MandateKept,
    /// The mandate or the account is gone: block the mandate so the next
    /// collection does not repeat the failure.
    MandateBlocked,
}

/// Reason codes that mean the debtor's account or the mandate no longer
/// exists or was never valid, so collecting again under the same mandate
/// fails the same way. The codes are those of the R-transactions (reject
/// before settlement, return and refund after it: SDD Core and B2B
/// Rulebooks, attribute AT-R3 "reason code for non-acceptance"), read as
/// the EPC's "Guidance on reason codes for SDD R-transactions" (EPC173-14)
/// explains them:
/// - AC01 account identifier incorrect (the IBAN is not a valid account),
/// - AC04 account closed,
/// - AC06 account blocked (for direct debits, or by the debtor),
/// - AC13 debtor account is a consumer account (a B2B mandate cannot be
///   collected from it),
/// - AG01 transaction forbidden on this kind of account,
/// - MD01 no valid mandate (none, or revoked: for a refund, an
///   unauthorised transaction),
/// - MD07 debtor deceased,
/// - BE05 the creditor identifier is unknown to the debtor bank.
///
/// Kept: AM04 insufficient funds, AM05 duplicate, MD02 mandate data
/// missing or incorrect (a correction, not a lost mandate), MD06 refund
/// within eight weeks (the debtor's right under a Core mandate, which
/// stays valid), MS02 refused by the debtor and MS03 no reason (the debtor
/// may pay next time; EPC173-14 leaves them to the creditor), RR01..RR04
/// regulatory reasons, SL01 a service of the debtor bank, FF01 file format.
const MANDATE_GONE_CODES: [&str; 8] = [
    "AC01", "AC04", "AC06", "AC13", "AG01", "MD01", "MD07", "BE05",
];

/// What a return with `reason_code` means for the mandate. Unknown codes
/// keep the mandate (a clerk sees the code on the attention list).
pub fn return_consequence(reason_code: &str) -> ReturnConsequence {
    if MANDATE_GONE_CODES.contains(&reason_code.trim().to_ascii_uppercase().as_str()) {
        ReturnConsequence::MandateBlocked
    } else {
        ReturnConsequence::MandateKept
    }
}

/// The meaning of a return reason code in words, for the audit trail and
/// the attention list; `None` for a code not in the EPC's list.
pub fn return_reason_text(reason_code: &str) -> Option<&'static str> {
    Some(match reason_code.trim().to_ascii_uppercase().as_str() {
        "AC01" => "account identifier incorrect",
        "AC04" => "account closed",
        "AC06" => "account blocked",
        "AC13" => "debtor account is a consumer account (B2B)",
        "AG01" => "transaction forbidden on this account",
        "AG02" => "invalid bank operation code",
        "AM04" => "insufficient funds",
        "AM05" => "duplicate collection",
        "BE05" => "creditor identifier unknown to the debtor bank",
        "CNOR" => "creditor bank is not registered",
        "DNOR" => "debtor bank is not registered",
        "FF01" => "invalid file format",
        "MD01" => "no valid mandate",
        "MD02" => "mandate data missing or incorrect",
        "MD06" => "refund requested by the debtor",
        "MD07" => "debtor deceased",
        "MS02" => "refused by the debtor",
        "MS03" => "reason not specified",
        "RC01" => "BIC incorrect",
        "RR01" | "RR02" | "RR03" | "RR04" => "regulatory reason",
        "SL01" => "specific service of the debtor bank",
        _ => return None,
    })
}

/// A return or reject reason as people read it on the audit trail and the
/// attention list: the code with its meaning ("AC04 account closed"), an
/// unknown code as the bank sent it.
pub fn describe_return_reason(reason_code: &str) -> String {
    let code = reason_code.trim().to_ascii_uppercase();
    match return_reason_text(&code) {
        Some(text) => format!("{code} {text}"),
        None => format!("{code} (a code not in the EPC list)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn mandate() -> Mandate {
        Mandate {
            reference: MandateReference::parse("MNDT-2026-0001").unwrap(),
            creditor_identifier: CreditorIdentifier::parse("DE98ZZZ09999999999").unwrap(),
            signed_on: day("2026-01-15"),
            scheme: DirectDebitScheme::Core,
            usage: MandateUse::Recurrent,
            debtor_name: "Muster GmbH".to_owned(),
            debtor_iban: Iban::parse("DE89 3704 0044 0532 0130 00").unwrap(),
            debtor_bic: None,
            status: MandateStatus::Active,
            last_collected_on: None,
            agreed_pre_notification_days: None,
            amendments: Vec::new(),
        }
    }

    #[test]
    fn creditor_identifier_checks_digits_and_the_german_format() {
        let ci = CreditorIdentifier::parse("de98 zzz0 9999 9999 99").unwrap();
        assert_eq!(ci.as_str(), "DE98ZZZ09999999999");
        let wrong_digits = CreditorIdentifier::parse("DE97ZZZ09999999999").unwrap_err();
        assert!(wrong_digits.to_string().starts_with("creditor_identifier:"));
        // Valid EPC check digits, but a German national part must be 11 digits.
        let digits = sepa::creditor_id_check_digits("0999999999A", "DE");
        let err = CreditorIdentifier::parse(&format!("DE{digits}ZZZ0999999999A")).unwrap_err();
        assert!(err.to_string().contains("11 digits"), "{err}");
        // Other countries keep their own national formats.
        let french = format!(
            "FR{}ZZZ123456",
            sepa::creditor_id_check_digits("123456", "FR")
        );
        assert!(CreditorIdentifier::parse(&french).is_ok());
        let from_json = serde_json::from_str::<CreditorIdentifier>("\"DE00ZZZ09999999999\"");
        assert!(
            from_json
                .unwrap_err()
                .to_string()
                .contains("creditor_identifier")
        );
    }

    #[test]
    fn mandate_reference_keeps_the_sepa_set_and_slash_rules() {
        assert!(MandateReference::parse("A-1/2024 (neu)").is_ok());
        for bad in [
            "",
            "/MNDT1",
            "MNDT//1",
            "MNDT1/",
            "Straße-1",
            &"X".repeat(36),
        ] {
            let err = MandateReference::parse(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("mandate_reference:"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn given_a_valid_mandate_when_validated_then_bad_fields_are_named() {
        let today = day("2026-03-01");
        assert_eq!(mandate().validate(today), Ok(()));
        let mut long_name = mandate();
        long_name.debtor_name = "N".repeat(71);
        assert!(
            long_name
                .validate(today)
                .unwrap_err()
                .to_string()
                .starts_with("debtor_name:")
        );
        let mut future = mandate();
        future.signed_on = day("2026-03-02");
        assert!(
            future
                .validate(today)
                .unwrap_err()
                .to_string()
                .starts_with("signed_on:")
        );
        let mut agreed = mandate();
        agreed.agreed_pre_notification_days = Some(14);
        assert!(agreed.validate(today).is_err());
        agreed.agreed_pre_notification_days = Some(0);
        assert!(agreed.validate(today).is_err());
        agreed.agreed_pre_notification_days = Some(5);
        assert_eq!(agreed.validate(today), Ok(()));
        assert_eq!(agreed.pre_notification_days(), 5);
        assert_eq!(mandate().pre_notification_days(), 14);
    }

    #[test]
    fn an_unused_mandate_lapses_36_months_after_signature_a_used_one_after_its_last_collection() {
        let mut m = mandate();
        assert_eq!(m.lapses_on(), day("2029-01-15"));
        assert_eq!(m.usable_on(day("2029-01-14")), Ok(()));
        assert_eq!(
            m.usable_on(day("2029-01-15")),
            Err(MandateRefusal::Lapsed {
                lapsed_on: day("2029-01-15")
            })
        );
        m.last_collected_on = Some(day("2027-05-31"));
        assert_eq!(m.lapses_on(), day("2030-05-31"));
        assert_eq!(m.usable_on(day("2029-01-15")), Ok(()));
    }

    #[test]
    fn the_first_mandate_granted_to_the_seller_and_usable_is_chosen_else_why_not() {
        let seller = mandate().creditor_identifier;
        let collection = day("2026-06-01");
        let on_collection = |_: &Mandate| collection;
        // None on file: the reason says so.
        let none = first_usable_mandate(&seller, [], on_collection).unwrap_err();
        assert!(none.to_string().starts_with("mandate:"), "{none}");
        assert!(
            none.to_string().contains("no SEPA mandate on file"),
            "{none}"
        );
        // Another creditor's mandate is passed over, a blocked one refused,
        // and the first usable one after them is chosen.
        let mut other_creditor = mandate();
        other_creditor.creditor_identifier = CreditorIdentifier::parse(&format!(
            "DE{}ZZZ01234567890",
            sepa::creditor_id_check_digits("01234567890", "DE")
        ))
        .unwrap();
        let mut blocked = mandate();
        blocked.reference = MandateReference::parse("MNDT-BLOCKED").unwrap();
        blocked.status = MandateStatus::Blocked {
            since: day("2026-05-20"),
            reason: "AC04 account closed".to_owned(),
        };
        let mut usable = mandate();
        usable.reference = MandateReference::parse("MNDT-USABLE").unwrap();
        let mut later = mandate();
        later.reference = MandateReference::parse("MNDT-LATER").unwrap();
        let all = [
            other_creditor.clone(),
            blocked.clone(),
            usable.clone(),
            later,
        ];
        let chosen = first_usable_mandate(&seller, &all, on_collection).unwrap();
        assert_eq!(chosen.reference, usable.reference);
        // Only refused ones: the last refusal is the reason; another
        // creditor's mandate is not one of the customer's for this seller.
        let refused = first_usable_mandate(&seller, [&blocked, &other_creditor], on_collection)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("mandate MNDT-BLOCKED:"), "{refused}");
        assert!(refused.contains("AC04"), "{refused}");
        let foreign_only = first_usable_mandate(&seller, [&other_creditor], on_collection)
            .unwrap_err()
            .to_string();
        assert!(
            foreign_only.contains("no SEPA mandate on file"),
            "{foreign_only}"
        );
        // Usable is judged on the day the caller gives for each mandate:
        // the block reaches a collection after it, not one before.
        let before_block = first_usable_mandate(&seller, [&blocked], |_| day("2026-05-19"));
        assert_eq!(
            before_block.map(|m| m.reference.clone()),
            Ok(blocked.reference.clone())
        );
    }

    #[test]
    fn blocked_revoked_spent_and_foreign_mandates_are_refused_with_their_reason() {
        let collection = day("2026-06-01");
        let mut blocked = mandate();
        blocked.status = MandateStatus::Blocked {
            since: day("2026-05-20"),
            reason: "AC04 account closed".to_owned(),
        };
        assert!(matches!(
            blocked.usable_on(collection),
            Err(MandateRefusal::Blocked { .. })
        ));
        // A block from a later day does not reach back.
        assert_eq!(blocked.usable_on(day("2026-05-19")), Ok(()));

        let mut revoked = mandate();
        revoked.status = MandateStatus::Revoked {
            since: day("2026-05-01"),
        };
        assert_eq!(
            revoked.usable_on(collection),
            Err(MandateRefusal::Revoked {
                since: day("2026-05-01")
            })
        );

        let mut one_off = mandate();
        one_off.usage = MandateUse::OneOff;
        assert_eq!(one_off.usable_on(collection), Ok(()));
        one_off.last_collected_on = Some(day("2026-04-01"));
        assert_eq!(
            one_off.usable_on(collection),
            Err(MandateRefusal::OneOffUsed {
                used_on: day("2026-04-01")
            })
        );

        let mut early = mandate();
        early.signed_on = day("2026-06-02");
        assert!(matches!(
            early.usable_on(collection),
            Err(MandateRefusal::NotYetSigned { .. })
        ));

        let mut foreign = mandate();
        // A valid IBAN from a country outside SEPA (Brazil).
        foreign.debtor_iban = Iban::parse("BR1500000000000010932840814P2").unwrap();
        assert_eq!(
            foreign.usable_on(collection),
            Err(MandateRefusal::OutsideSepa {
                country: "BR".to_owned()
            })
        );
    }

    #[test]
    fn amendments_are_recorded_once_and_announced_until_the_next_collection() {
        let mut m = mandate();
        let new_iban = Iban::parse("DE02120300000000202051").unwrap();
        m.amend(
            day("2026-02-01"),
            MandateUpdate::DebtorAccount(new_iban.clone()),
        );
        m.amend(
            day("2026-02-02"),
            MandateUpdate::DebtorAccount(new_iban.clone()),
        );
        assert_eq!(m.debtor_iban, new_iban);
        assert_eq!(
            m.amendments.len(),
            1,
            "the same value again is no amendment"
        );
        assert_eq!(
            m.amendments[0].change,
            MandateChange::DebtorAccount {
                previous: Iban::parse("DE89370400440532013000").unwrap()
            }
        );
        m.amend(
            day("2026-02-03"),
            MandateUpdate::Reference(MandateReference::parse("MNDT-NEW").unwrap()),
        );
        assert_eq!(m.unannounced_amendments().count(), 2);
        m.last_collected_on = Some(day("2026-02-03"));
        assert_eq!(m.unannounced_amendments().count(), 0);
        m.amend(
            day("2026-03-01"),
            MandateUpdate::Creditor(
                CreditorIdentifier::parse(&format!(
                    "DE{}ZZZ01234567890",
                    sepa::creditor_id_check_digits("01234567890", "DE")
                ))
                .unwrap(),
            ),
        );
        let pending: Vec<_> = m.unannounced_amendments().collect();
        assert_eq!(pending.len(), 1);
        assert!(matches!(pending[0].change, MandateChange::Creditor { .. }));
    }

    #[test]
    fn easter_dates_match_the_published_calendar() {
        for (year, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), Some(day(easter)), "{year}");
        }
    }

    #[test]
    fn target_is_closed_on_weekends_and_its_six_holidays_only() {
        for closed in [
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-01",
            "2026-12-25",
            "2026-12-26",
            "2026-12-05",
            "2026-12-06",
        ] {
            assert!(!is_target_business_day(day(closed)), "{closed}");
        }
        // German public holidays that are TARGET days: 3 October, Ascension,
        // Whit Monday, 24 and 31 December.
        for open in [
            "2026-10-05",
            "2026-05-14",
            "2026-05-25",
            "2026-12-24",
            "2026-12-31",
        ] {
            assert!(is_target_business_day(day(open)), "{open}");
        }
        assert_eq!(
            on_or_after_target_business_day(day("2026-12-24")),
            day("2026-12-24")
        );
        assert_eq!(
            on_or_after_target_business_day(day("2026-12-25")),
            day("2026-12-28")
        );
        assert_eq!(
            on_or_after_target_business_day(day("2026-04-03")),
            day("2026-04-07")
        );
    }

    #[test]
    fn the_collection_date_waits_for_the_pre_notification_and_a_target_day() {
        // Issued 1 December, due in 7 days: 14 days' notice wins, and
        // 15 December 2026 is a Tuesday.
        assert_eq!(
            collection_date(day("2026-12-01"), day("2026-12-08"), 14),
            day("2026-12-15")
        );
        // Due later than the notice: the due date, rolled past Christmas.
        assert_eq!(
            collection_date(day("2026-12-01"), day("2026-12-25"), 14),
            day("2026-12-28")
        );
        // A shorter agreed notice.
        assert_eq!(
            collection_date(day("2026-12-01"), day("2026-12-01"), 3),
            day("2026-12-04")
        );
        // A file sent on Thursday 24 December can ask for Monday 28th at
        // the earliest; one sent on Friday for Monday too.
        assert_eq!(
            earliest_collection_date(day("2026-12-24")),
            day("2026-12-28")
        );
        assert_eq!(
            earliest_collection_date(day("2026-12-04")),
            day("2026-12-07")
        );
    }

    #[test]
    fn collectable_needs_euro_an_open_amount_and_a_usable_mandate() {
        let on = day("2026-06-01");
        let m = mandate();
        let open = Money::new(dec!(119.00), Currency::EUR);
        assert_eq!(check_collectable(Some(&m), open, on), Ok(()));
        assert_eq!(
            check_collectable(None, open, on),
            Err(CollectionRefusal::NoMandate)
        );
        assert_eq!(
            check_collectable(Some(&m), Money::zero(Currency::EUR), on),
            Err(CollectionRefusal::NothingOpen)
        );
        assert_eq!(
            check_collectable(Some(&m), Money::new(dec!(5), Currency::CHF), on),
            Err(CollectionRefusal::NotEuro { currency: "CHF" })
        );
        let lapsed = check_collectable(Some(&m), open, day("2029-02-01")).unwrap_err();
        assert_eq!(
            lapsed.to_string(),
            "the mandate lapsed on 2029-01-15: no collection for 36 months"
        );
    }

    #[test]
    fn return_codes_that_mean_the_mandate_is_gone_block_it() {
        for gone in [
            "AC04", "ac01", "MD01", "MD07", "AC06", "AC13", "AG01", "BE05", " md07 ",
        ] {
            assert_eq!(
                return_consequence(gone),
                ReturnConsequence::MandateBlocked,
                "{gone}"
            );
        }
        for kept in [
            "AM04", "MD06", "MS02", "MS03", "AM05", "MD02", "RR04", "SL01", "XX99", "",
        ] {
            assert_eq!(
                return_consequence(kept),
                ReturnConsequence::MandateKept,
                "{kept}"
            );
        }
        assert_eq!(return_reason_text("AM04"), Some("insufficient funds"));
        assert_eq!(return_reason_text("XX99"), None);
        assert_eq!(describe_return_reason(" ac04"), "AC04 account closed");
        assert_eq!(
            describe_return_reason("XX99"),
            "XX99 (a code not in the EPC list)"
        );
    }

    #[test]
    fn the_remittance_text_names_the_invoice_in_its_language() {
        assert_eq!(
            remittance_text("RE-2026-00042", Language::De),
            "Rechnung RE-2026-00042"
        );
        assert_eq!(
            remittance_text("RE-2026-00042", Language::En),
            "Invoice RE-2026-00042"
        );
    }

    #[test]
    fn scheme_codes_and_stored_forms_are_stable() {
        assert_eq!(DirectDebitScheme::Core.code(), "CORE");
        assert_eq!(DirectDebitScheme::B2b.code(), "B2B");
        assert_eq!(
            serde_json::to_string(&DirectDebitScheme::B2b).unwrap(),
            "\"B2B\""
        );
        let status = MandateStatus::Blocked {
            since: day("2026-05-20"),
            reason: "AC04".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!({"state": "blocked", "since": "2026-05-20", "reason": "AC04"})
        );
    }

    #[test]
    fn creditor_settings_name_the_field_they_refuse() {
        let settings: CreditorSettings = serde_json::from_value(serde_json::json!({
            "creditor_identifier": "DE98ZZZ09999999999",
            "collection_account": {"iban": "DE89370400440532013000"}
        }))
        .unwrap();
        assert_eq!(settings.pre_notification_days, 14);
        assert!(settings.validate("billing_entity.direct_debit").is_ok());
        let short = CreditorSettings {
            pre_notification_days: 5,
            ..settings.clone()
        };
        let err = short.validate("billing_entity.direct_debit").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("billing_entity.direct_debit.pre_notification_days:"),
            "{err}"
        );
        let outside = CreditorSettings {
            collection_account: CollectionAccount {
                iban: Iban::parse("BR1500000000000010932840814P2").unwrap(),
                bic: None,
            },
            ..settings
        };
        let err = outside.validate("billing_entity.direct_debit").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("billing_entity.direct_debit.collection_account.iban:"),
            "{err}"
        );
        let bad_ci = serde_json::from_value::<CreditorSettings>(serde_json::json!({
            "creditor_identifier": "DE97ZZZ09999999999",
            "collection_account": {"iban": "DE89370400440532013000"}
        }));
        assert!(
            bad_ci
                .unwrap_err()
                .to_string()
                .contains("creditor_identifier")
        );
    }

    #[test]
    fn a_new_mandate_takes_the_sellers_creditor_and_is_checked() {
        let seller = CreditorIdentifier::parse("DE98ZZZ09999999999").unwrap();
        let new = NewMandate {
            reference: MandateReference::parse("MNDT-2026-0001").unwrap(),
            creditor_identifier: None,
            signed_on: day("2026-01-15"),
            scheme: DirectDebitScheme::Core,
            usage: MandateUse::Recurrent,
            debtor_name: " Muster GmbH ".to_owned(),
            debtor_iban: Iban::parse("DE89 3704 0044 0532 0130 00").unwrap(),
            debtor_bic: None,
            last_collected_on: None,
            agreed_pre_notification_days: None,
        };
        let today = day("2026-03-01");
        assert_eq!(
            new.clone().into_mandate(Some(&seller), today).unwrap(),
            mandate()
        );
        let err = new.clone().into_mandate(None, today).unwrap_err();
        assert!(err.to_string().starts_with("creditor_identifier:"), "{err}");
        let early = NewMandate {
            last_collected_on: Some(day("2026-01-01")),
            ..new.clone()
        };
        let err = early.into_mandate(Some(&seller), today).unwrap_err();
        assert!(err.to_string().starts_with("last_collected_on:"), "{err}");
        let future = NewMandate {
            signed_on: day("2026-04-01"),
            ..new
        };
        let err = future.into_mandate(Some(&seller), today).unwrap_err();
        assert!(err.to_string().starts_with("signed_on:"), "{err}");
    }
}
