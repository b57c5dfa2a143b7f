//! The seller's accounting settings: which chart of accounts its tax
//! advisor keeps (DATEV SKR03 or SKR04), which general-ledger account each
//! kind of booking goes to, the debtor (customer) account range, and the
//! numbers DATEV needs to import a batch (consultant, client, fiscal-year
//! start, account length).
//!
//! Account numbers and the DATEV tax keys (BU-Schlüssel) come from
//! `docs/research/datev-extf.md` §5 (sources named there). The revenue
//! accounts of the defaults are DATEV *automatic* accounts ("AM"): DATEV
//! derives the VAT from the account itself, so they carry no tax key, and
//! a key on them would count the VAT twice (§5.1 of the research note).
//! A seller whose advisor uses other accounts overrides them; a
//! non-automatic revenue account then needs its tax key (2 = 7 % output
//! VAT, 3 = 19 % output VAT, §5.1).
//!
//! Every setting is optional in a stored seller configuration: without any,
//! a seller books to SKR03's standard accounts, so configurations written
//! before accounting existed keep working.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;
use crate::tax::VatCategoryCode;

/// The DATEV standard chart of accounts ("Standardkontenrahmen") the
/// seller's books follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chart {
    /// SKR03 (process-oriented; the most common chart for small firms).
    #[default]
    Skr03,
    /// SKR04 (balance-sheet-oriented).
    Skr04,
}

impl Chart {
    /// The two-digit code DATEV's header writes for the chart
    /// (field 27 "Sachkontenrahmen": `03` / `04`, research note §1).
    pub fn datev_code(self) -> &'static str {
        match self {
            Self::Skr03 => "03",
            Self::Skr04 => "04",
        }
    }
}

/// A DATEV account number: 1 to 9 decimal digits, not all zero (the DATEV
/// field regex `^(?!0{1,9}$)(\d{1,9})$`, research note §2). Kept as text
/// so leading zeros (SKR04's fixed-asset accounts start with 0) survive.
/// Whether it has the right length for the seller's books is checked by
/// [`AccountingSettings::validate`], which knows the account length.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Reads an account number; `field` names it in the error.
    pub fn parse(text: &str, field: &str) -> Result<Self, DomainError> {
        let digits =
            !text.is_empty() && text.len() <= 9 && text.bytes().all(|b| b.is_ascii_digit());
        if !digits {
            return Err(DomainError::invalid(
                field,
                format!("`{text}` is not an account number (1 to 9 digits)"),
            ));
        }
        if text.bytes().all(|b| b == b'0') {
            return Err(DomainError::invalid(
                field,
                "an account number cannot be all zeros",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The digits as written into a journal or export.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of digits.
    pub fn digits(&self) -> usize {
        self.0.len()
    }

    /// The account as a number (it has at most 9 digits, so it fits).
    pub fn value(&self) -> u32 {
        self.0.parse().unwrap_or(0)
    }

    /// Refuses an account whose length is not `length` digits: DATEV reads
    /// general-ledger accounts with exactly the batch's account length
    /// ("Sachkontenlänge") and personal (debtor) accounts with one digit
    /// more (research note §1, field 14).
    pub fn ensure_length(&self, length: usize, field: &str) -> Result<(), DomainError> {
        if self.digits() == length {
            Ok(())
        } else {
            Err(DomainError::invalid(
                field,
                format!(
                    "account {} has {} digits; the books use {length}",
                    self.0,
                    self.digits()
                ),
            ))
        }
    }

    fn fixed(digits: &str) -> Self {
        Self(digits.to_owned())
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountNumber {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text, "account")
    }
}

impl Serialize for AccountNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Configuration files write accounts as `"8400"` or `8400`.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Number(u64),
        }
        let text = match Wire::deserialize(deserializer)? {
            Wire::Text(text) => text,
            Wire::Number(number) => number.to_string(),
        };
        Self::parse(&text, "account").map_err(serde::de::Error::custom)
    }
}

/// A DATEV tax key ("BU-Schlüssel", column 9 of the Buchungsstapel): 1 to
/// 4 digits (research note §5.1: 2 = output VAT 7 %, 3 = output VAT 19 %,
/// 40 = cancel the automatic VAT). Only non-automatic accounts take one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct TaxKey(u16);

impl TaxKey {
    /// A key of 1 to 4 digits; `field` names it in the error.
    pub fn new(key: u16, field: &str) -> Result<Self, DomainError> {
        if (1..=9999).contains(&key) {
            Ok(Self(key))
        } else {
            Err(DomainError::invalid(
                field,
                format!("tax key {key} is not 1 to 4 digits"),
            ))
        }
    }

    /// The key as DATEV writes it (unpadded, research note §4 column 9).
    pub fn value(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for TaxKey {
    type Error = DomainError;

    fn try_from(key: u16) -> Result<Self, Self::Error> {
        Self::new(key, "tax_key")
    }
}

impl From<TaxKey> for u16 {
    fn from(key: TaxKey) -> Self {
        key.0
    }
}

/// An account that books revenue (or its write-off), with the DATEV tax key
/// it needs: none on an automatic account, the output-VAT key on a
/// non-automatic one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaxedAccount {
    /// The general-ledger account.
    pub account: AccountNumber,
    /// The DATEV tax key, if the account is not an automatic one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_key: Option<TaxKey>,
}

impl TaxedAccount {
    fn automatic(digits: &'static str) -> Self {
        Self {
            account: AccountNumber::fixed(digits),
            tax_key: None,
        }
    }
}

/// The accounts of one output-VAT rate: revenue at that rate, the output
/// VAT, and the bad-debt account that reverses the VAT on a write-off
/// (§17(2) Nr. 1 UStG).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateAccounts {
    /// The rate in percent (19 means 19 %).
    pub rate: Decimal,
    /// Revenue at this rate.
    pub revenue: TaxedAccount,
    /// Output VAT at this rate.
    pub output_vat: AccountNumber,
    /// Write-off of receivables at this rate (the VAT is corrected).
    pub bad_debt: TaxedAccount,
}

/// Which account each booking goes to. [`AccountMapping::defaults`] gives
/// the DATEV standard accounts of a chart (research note §5.2/§5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMapping {
    /// Revenue, output VAT and bad debt per domestic VAT rate (category S
    /// of EN 16931): SKR03 19 % 8400/1776/2406, 7 % 8300/1771/2401; SKR04
    /// 19 % 4400/3806/6936, 7 % 4300/3801/6931 (§5.2, §5.3).
    pub taxable: Vec<RateAccounts>,
    /// Services to an EU business, the recipient owes the VAT (reverse
    /// charge, §13b(1) with §3a(2) UStG; category AE): SKR03 8336 / SKR04
    /// 4336, automatic (§5.2).
    pub reverse_charge: TaxedAccount,
    /// Tax-free intra-community supply of goods (§4 Nr. 1b with §6a UStG;
    /// category K): SKR03 8125 / SKR04 4125, automatic (§5.2).
    pub intra_eu_supply: TaxedAccount,
    /// Supplies whose place is outside Germany (not taxable here, §3a(2)
    /// UStG to a business abroad; category O): SKR03 8338 / SKR04 4338,
    /// automatic (§5.2).
    pub not_taxable: TaxedAccount,
    /// Tax-free or zero-rated domestic revenue (categories E and Z, e.g.
    /// §4 Nr. 8 ff. or §19 UStG): SKR03 8100 / SKR04 4100 ("Steuerfreie
    /// Umsätze §4 Nr. 8 ff. UStG", DATEV standard charts; not among the
    /// research note's sources, so confirm with the tax advisor; a small
    /// business under §19 UStG overrides it with 8195 / 4185, §5.2).
    pub tax_free: TaxedAccount,
    /// The receivables collective account (SKR03 1400 / SKR04 1200, §5.3):
    /// bookings go to the customers' debtor accounts, which DATEV rolls up
    /// into this one; an ERP without personal accounts books here instead.
    pub receivables: AccountNumber,
    /// Bank (SKR03 1200 / SKR04 1800, §5.3).
    pub bank: AccountNumber,
    /// Dunning fees claimed: not consideration for a supply but damages
    /// (§280(2), §286 BGB), so not taxable (Abschn. 1.3 Abs. 6 UStAE):
    /// SKR03 2747 "Sonstige steuerfreie Betriebseinnahmen" / SKR04 4830
    /// "Sonstige betriebliche Erträge" (§5.3 marks the choice uncertain:
    /// ask the tax advisor).
    pub dunning_fees: AccountNumber,
    /// Default interest claimed (§288 BGB; damages, not taxable): SKR03
    /// 2650 / SKR04 7100 "Sonstige Zinsen und ähnliche Erträge" (§5.3).
    pub default_interest: AccountNumber,
    /// Write-off of what carries no VAT (dunning fees, interest, and
    /// revenue without VAT): SKR03 2400 / SKR04 6930 (§5.3).
    pub bad_debt_without_vat: AccountNumber,
    /// Customer credit (overpayments held for the customer): SKR03 1700 /
    /// SKR04 3500 "Sonstige Verbindlichkeiten" (§5.3, marked uncertain).
    pub customer_credit: AccountNumber,
    /// Bank fees (e.g. for a returned direct debit): SKR03 4970 / SKR04
    /// 6855 "Nebenkosten des Geldverkehrs" (§5.3).
    pub bank_fees: AccountNumber,
}

impl AccountMapping {
    /// The standard accounts of `chart` (see each field for its source).
    pub fn defaults(chart: Chart) -> Self {
        let rate = |rate: u32, revenue, vat, bad_debt| RateAccounts {
            rate: Decimal::from(rate),
            revenue: TaxedAccount::automatic(revenue),
            output_vat: AccountNumber::fixed(vat),
            bad_debt: TaxedAccount::automatic(bad_debt),
        };
        let n = AccountNumber::fixed;
        match chart {
            Chart::Skr03 => Self {
                taxable: vec![
                    rate(19, "8400", "1776", "2406"),
                    rate(7, "8300", "1771", "2401"),
                ],
                reverse_charge: TaxedAccount::automatic("8336"),
                intra_eu_supply: TaxedAccount::automatic("8125"),
                not_taxable: TaxedAccount::automatic("8338"),
                tax_free: TaxedAccount::automatic("8100"),
                receivables: n("1400"),
                bank: n("1200"),
                dunning_fees: n("2747"),
                default_interest: n("2650"),
                bad_debt_without_vat: n("2400"),
                customer_credit: n("1700"),
                bank_fees: n("4970"),
            },
            Chart::Skr04 => Self {
                taxable: vec![
                    rate(19, "4400", "3806", "6936"),
                    rate(7, "4300", "3801", "6931"),
                ],
                reverse_charge: TaxedAccount::automatic("4336"),
                intra_eu_supply: TaxedAccount::automatic("4125"),
                not_taxable: TaxedAccount::automatic("4338"),
                tax_free: TaxedAccount::automatic("4100"),
                receivables: n("1200"),
                bank: n("1800"),
                dunning_fees: n("4830"),
                default_interest: n("7100"),
                bad_debt_without_vat: n("6930"),
                customer_credit: n("3500"),
                bank_fees: n("6855"),
            },
        }
    }

    /// The accounts of output-VAT rate `rate` (category S); an invoice at a
    /// rate the books have no account for is refused, naming the rate.
    pub fn for_rate(&self, rate: Decimal) -> Result<&RateAccounts, DomainError> {
        self.taxable
            .iter()
            .find(|accounts| accounts.rate == rate)
            .ok_or_else(|| {
                DomainError::invalid(
                    "accounting.accounts.taxable",
                    format!("no revenue account for the VAT rate {rate} %"),
                )
            })
    }

    /// The revenue account of a tax category without VAT (AE, K, O, E, Z).
    /// Category S has one per rate: [`Self::for_rate`].
    pub fn untaxed_revenue(&self, category: VatCategoryCode) -> Result<&TaxedAccount, DomainError> {
        match category {
            VatCategoryCode::Ae => Ok(&self.reverse_charge),
            VatCategoryCode::K => Ok(&self.intra_eu_supply),
            VatCategoryCode::O => Ok(&self.not_taxable),
            VatCategoryCode::E | VatCategoryCode::Z => Ok(&self.tax_free),
            VatCategoryCode::S => Err(DomainError::invalid(
                "category",
                "category S books per VAT rate",
            )),
        }
    }
}

/// Changes to a chart's standard accounts, as a seller configuration
/// writes them: every field optional; what is given replaces the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountOverrides {
    /// Replaces all per-rate accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxable: Option<Vec<RateAccounts>>,
    /// See [`AccountMapping::reverse_charge`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_charge: Option<TaxedAccount>,
    /// See [`AccountMapping::intra_eu_supply`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intra_eu_supply: Option<TaxedAccount>,
    /// See [`AccountMapping::not_taxable`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_taxable: Option<TaxedAccount>,
    /// See [`AccountMapping::tax_free`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free: Option<TaxedAccount>,
    /// See [`AccountMapping::receivables`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receivables: Option<AccountNumber>,
    /// See [`AccountMapping::bank`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<AccountNumber>,
    /// See [`AccountMapping::dunning_fees`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dunning_fees: Option<AccountNumber>,
    /// See [`AccountMapping::default_interest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_interest: Option<AccountNumber>,
    /// See [`AccountMapping::bad_debt_without_vat`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad_debt_without_vat: Option<AccountNumber>,
    /// See [`AccountMapping::customer_credit`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_credit: Option<AccountNumber>,
    /// See [`AccountMapping::bank_fees`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_fees: Option<AccountNumber>,
}

impl AccountMapping {
    /// The standard accounts of `chart` with `overrides` applied.
    pub fn with_overrides(chart: Chart, overrides: &AccountOverrides) -> Self {
        let mut mapping = Self::defaults(chart);
        let o = overrides.clone();
        if let Some(taxable) = o.taxable {
            mapping.taxable = taxable;
        }
        macro_rules! apply {
            ($($field:ident),*) => {
                $(if let Some(value) = o.$field { mapping.$field = value; })*
            };
        }
        apply!(
            reverse_charge,
            intra_eu_supply,
            not_taxable,
            tax_free,
            receivables,
            bank,
            dunning_fees,
            default_interest,
            bad_debt_without_vat,
            customer_credit,
            bank_fees
        );
        mapping
    }
}

impl From<AccountMapping> for AccountOverrides {
    /// Every account given: the complete mapping as overrides.
    fn from(m: AccountMapping) -> Self {
        Self {
            taxable: Some(m.taxable),
            reverse_charge: Some(m.reverse_charge),
            intra_eu_supply: Some(m.intra_eu_supply),
            not_taxable: Some(m.not_taxable),
            tax_free: Some(m.tax_free),
            receivables: Some(m.receivables),
            bank: Some(m.bank),
            dunning_fees: Some(m.dunning_fees),
            default_interest: Some(m.default_interest),
            bad_debt_without_vat: Some(m.bad_debt_without_vat),
            customer_credit: Some(m.customer_credit),
            bank_fees: Some(m.bank_fees),
        }
    }
}

/// The customers' (debtor) account numbers a seller assigns from: DATEV
/// personal accounts have one digit more than the general-ledger accounts,
/// and debtors are 10000..=69999 at account length 4 (creditors start at
/// 70000; research note §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtorAccountRange {
    /// First account number of the range.
    pub first: AccountNumber,
    /// Last account number of the range (inclusive).
    pub last: AccountNumber,
}

impl DebtorAccountRange {
    /// The DATEV debtor range for `account_length` (4: 10000..=69999, 5:
    /// 100000..=699999, ...).
    pub fn datev(account_length: u8) -> Self {
        let zeros = "0".repeat(usize::from(account_length));
        let nines = "9".repeat(usize::from(account_length));
        Self {
            first: AccountNumber(format!("1{zeros}")),
            last: AccountNumber(format!("6{nines}")),
        }
    }

    /// Whether `account` lies in the range (same length, between first and
    /// last).
    pub fn contains(&self, account: &AccountNumber) -> bool {
        account.digits() == self.first.digits()
            && account.value() >= self.first.value()
            && account.value() <= self.last.value()
    }

    /// The debtor account to assign to the next new customer: the first of
    /// the range, or the one after `last_assigned` (accounts are assigned
    /// once, in order, and kept). Refuses when the range is used up.
    pub fn next_after(
        &self,
        last_assigned: Option<&AccountNumber>,
    ) -> Result<AccountNumber, DomainError> {
        let next = match last_assigned {
            None => return Ok(self.first.clone()),
            Some(last) => last.value().saturating_add(1),
        };
        if next < self.first.value() || next > self.last.value() {
            return Err(DomainError::invalid(
                "accounting.debtor_accounts",
                format!(
                    "no debtor account left after {} in {}..={}",
                    last_assigned.map(AccountNumber::as_str).unwrap_or_default(),
                    self.first,
                    self.last
                ),
            ));
        }
        Ok(Self::with_digits(next, self.first.digits()))
    }

    fn with_digits(value: u32, digits: usize) -> AccountNumber {
        AccountNumber(format!("{value:0digits$}"))
    }

    /// Refuses an account outside the range, naming `field`.
    pub fn ensure_contains(&self, account: &AccountNumber, field: &str) -> Result<(), DomainError> {
        if self.contains(account) {
            Ok(())
        } else {
            Err(DomainError::invalid(
                field,
                format!(
                    "debtor account {account} is outside the seller's range {}..={}",
                    self.first, self.last
                ),
            ))
        }
    }
}

/// The smallest and largest DATEV consultant number ("Beraternummer",
/// header field 11, research note §1).
pub const CONSULTANT_NUMBERS: std::ops::RangeInclusive<u32> = 1001..=9_999_999;
/// The DATEV client numbers ("Mandantennummer", header field 12).
pub const CLIENT_NUMBERS: std::ops::RangeInclusive<u32> = 1..=99_999;
/// DATEV's general-ledger account lengths ("Sachkontenlänge", field 14).
pub const ACCOUNT_LENGTHS: std::ops::RangeInclusive<u8> = 4..=8;

/// Everything accounting needs from the seller configuration.
///
/// In a stored configuration every field is optional (see
/// [`AccountingSettingsConfig`]); `accounts` there overrides the chart's
/// standard accounts, and what is read is the complete mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "AccountingSettingsConfig", into = "AccountingSettingsConfig")]
pub struct AccountingSettings {
    /// SKR03 or SKR04.
    pub chart: Chart,
    /// The tax advisor's DATEV consultant number (1001..=9999999); the
    /// DATEV export needs it, the journal does not.
    pub consultant_number: Option<u32>,
    /// The seller's DATEV client number at that advisor (1..=99999).
    pub client_number: Option<u32>,
    /// The month (1..=12) the fiscal year starts in (DATEV "WJ-Beginn").
    pub fiscal_year_start: u32,
    /// Digits of a general-ledger account (4..=8, DATEV "Sachkontenlänge");
    /// debtor accounts have one more.
    pub account_length: u8,
    /// Where customers' debtor account numbers are assigned from.
    pub debtor_accounts: DebtorAccountRange,
    /// The accounts bookings go to: the chart's standard accounts with the
    /// configuration's overrides applied. Written back complete, so a
    /// stored configuration keeps its accounts even if the chart changes.
    pub accounts: AccountMapping,
}

impl Default for AccountingSettings {
    /// SKR03 with its standard accounts, fiscal year = calendar year,
    /// account length 4, debtors 10000..=69999, no DATEV numbers yet.
    fn default() -> Self {
        AccountingSettingsConfig::default().into()
    }
}

/// The stored (and imported) form of [`AccountingSettings`]: every field
/// optional, accounts as overrides of the chart's standard accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountingSettingsConfig {
    /// Default SKR03.
    #[serde(default)]
    pub chart: Chart,
    /// Default none (the DATEV export then refuses, naming the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultant_number: Option<u32>,
    /// Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_number: Option<u32>,
    /// Default 1 (January).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_year_start: Option<u32>,
    /// Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_length: Option<u8>,
    /// Default the DATEV range for the account length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor_accounts: Option<DebtorAccountRange>,
    /// Default none: the chart's standard accounts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub accounts: AccountOverrides,
}

fn is_default(overrides: &AccountOverrides) -> bool {
    *overrides == AccountOverrides::default()
}

impl From<AccountingSettingsConfig> for AccountingSettings {
    fn from(config: AccountingSettingsConfig) -> Self {
        let account_length = config.account_length.unwrap_or(4);
        Self {
            chart: config.chart,
            consultant_number: config.consultant_number,
            client_number: config.client_number,
            fiscal_year_start: config.fiscal_year_start.unwrap_or(1),
            account_length,
            debtor_accounts: config
                .debtor_accounts
                .unwrap_or_else(|| DebtorAccountRange::datev(account_length)),
            accounts: AccountMapping::with_overrides(config.chart, &config.accounts),
        }
    }
}

impl From<AccountingSettings> for AccountingSettingsConfig {
    fn from(settings: AccountingSettings) -> Self {
        Self {
            chart: settings.chart,
            consultant_number: settings.consultant_number,
            client_number: settings.client_number,
            fiscal_year_start: Some(settings.fiscal_year_start),
            account_length: Some(settings.account_length),
            debtor_accounts: Some(settings.debtor_accounts),
            accounts: settings.accounts.into(),
        }
    }
}

impl AccountingSettings {
    /// Checks the settings, naming the field (prefixed `field`, e.g.
    /// `billing_entity.accounting`): DATEV's ranges for consultant and
    /// client number, account length and fiscal-year month; every mapped
    /// account exactly `account_length` digits; the debtor range one digit
    /// longer, ordered, and apart from the general-ledger accounts.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        if let Some(number) = self.consultant_number
            && !CONSULTANT_NUMBERS.contains(&number)
        {
            return Err(DomainError::invalid(
                format!("{field}.consultant_number"),
                "must be a DATEV consultant number 1001..=9999999",
            ));
        }
        if let Some(number) = self.client_number
            && !CLIENT_NUMBERS.contains(&number)
        {
            return Err(DomainError::invalid(
                format!("{field}.client_number"),
                "must be a DATEV client number 1..=99999",
            ));
        }
        if !(1..=12).contains(&self.fiscal_year_start) {
            return Err(DomainError::invalid(
                format!("{field}.fiscal_year_start"),
                "must be a month 1..=12",
            ));
        }
        if !ACCOUNT_LENGTHS.contains(&self.account_length) {
            return Err(DomainError::invalid(
                format!("{field}.account_length"),
                "must be 4..=8 digits (DATEV Sachkontenlänge)",
            ));
        }
        let length = usize::from(self.account_length);
        let range = &self.debtor_accounts;
        range
            .first
            .ensure_length(length + 1, &format!("{field}.debtor_accounts.first"))?;
        range
            .last
            .ensure_length(length + 1, &format!("{field}.debtor_accounts.last"))?;
        if range.first > range.last {
            return Err(DomainError::invalid(
                format!("{field}.debtor_accounts"),
                "first must not come after last",
            ));
        }
        let a = &self.accounts;
        let check = |account: &AccountNumber, name: &str| {
            account.ensure_length(length, &format!("{field}.accounts.{name}"))
        };
        if a.taxable.is_empty() {
            return Err(DomainError::invalid(
                format!("{field}.accounts.taxable"),
                "needs the accounts of at least one VAT rate",
            ));
        }
        for (i, rate) in a.taxable.iter().enumerate() {
            let name = format!("taxable[{i}]");
            if rate.rate <= Decimal::ZERO || rate.rate >= Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    format!("{field}.accounts.{name}.rate"),
                    "must be a VAT rate above 0 and below 100 percent",
                ));
            }
            if a.taxable[..i].iter().any(|other| other.rate == rate.rate) {
                return Err(DomainError::invalid(
                    format!("{field}.accounts.{name}.rate"),
                    "only one set of accounts per rate",
                ));
            }
            check(&rate.revenue.account, &format!("{name}.revenue"))?;
            check(&rate.output_vat, &format!("{name}.output_vat"))?;
            check(&rate.bad_debt.account, &format!("{name}.bad_debt"))?;
        }
        for (account, name) in [
            (&a.reverse_charge.account, "reverse_charge"),
            (&a.intra_eu_supply.account, "intra_eu_supply"),
            (&a.not_taxable.account, "not_taxable"),
            (&a.tax_free.account, "tax_free"),
            (&a.receivables, "receivables"),
            (&a.bank, "bank"),
            (&a.dunning_fees, "dunning_fees"),
            (&a.default_interest, "default_interest"),
            (&a.bad_debt_without_vat, "bad_debt_without_vat"),
            (&a.customer_credit, "customer_credit"),
            (&a.bank_fees, "bank_fees"),
        ] {
            check(account, name)?;
        }
        Ok(())
    }

    /// Refuses a customer's debtor account that is not one of this seller's
    /// (wrong length or outside the range), naming `field`.
    pub fn ensure_debtor(&self, account: &AccountNumber, field: &str) -> Result<(), DomainError> {
        account.ensure_length(usize::from(self.account_length) + 1, field)?;
        self.debtor_accounts.ensure_contains(account, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(settings: &AccountingSettings) -> String {
        settings
            .validate("billing_entity.accounting")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_defaults_are_skr03_and_valid_for_both_charts() {
        let settings = AccountingSettings::default();
        assert_eq!(settings.chart, Chart::Skr03);
        assert_eq!(settings.accounts, AccountMapping::defaults(Chart::Skr03));
        assert_eq!(settings.debtor_accounts, DebtorAccountRange::datev(4));
        assert_eq!(settings.debtor_accounts.first.as_str(), "10000");
        assert_eq!(settings.debtor_accounts.last.as_str(), "69999");
        settings.validate("accounting").unwrap();
        let skr04 = AccountingSettings {
            chart: Chart::Skr04,
            accounts: AccountMapping::defaults(Chart::Skr04),
            ..AccountingSettings::default()
        };
        skr04.validate("accounting").unwrap();
        assert_eq!(skr04.accounts.bank.as_str(), "1800");
        assert_eq!(Chart::Skr04.datev_code(), "04");
    }

    #[test]
    fn account_numbers_are_digits_and_not_all_zero() {
        for bad in ["", "12a4", "0000", "1234567890", "-123", " 1200"] {
            let err = AccountNumber::parse(bad, "accounts.bank").unwrap_err();
            assert!(
                err.to_string().starts_with("accounts.bank:"),
                "{bad}: {err}"
            );
        }
        assert_eq!(AccountNumber::parse("0135", "a").unwrap().as_str(), "0135");
        assert!(TaxKey::new(0, "tax_key").is_err());
        assert!(TaxKey::new(10_000, "tax_key").is_err());
        assert_eq!(TaxKey::new(3, "tax_key").unwrap().value(), 3);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let ok = AccountingSettings::default();
        let cases: Vec<(AccountingSettings, &str)> = vec![
            (
                AccountingSettings {
                    consultant_number: Some(1000),
                    ..ok.clone()
                },
                "billing_entity.accounting.consultant_number:",
            ),
            (
                AccountingSettings {
                    client_number: Some(100_000),
                    ..ok.clone()
                },
                "billing_entity.accounting.client_number:",
            ),
            (
                AccountingSettings {
                    fiscal_year_start: 13,
                    ..ok.clone()
                },
                "billing_entity.accounting.fiscal_year_start:",
            ),
            (
                AccountingSettings {
                    account_length: 9,
                    ..ok.clone()
                },
                "billing_entity.accounting.account_length:",
            ),
            // Length 5 with the 4-digit standard accounts: the debtor range
            // is checked first, then every account.
            (
                AccountingSettings {
                    account_length: 5,
                    ..ok.clone()
                },
                "billing_entity.accounting.debtor_accounts.first:",
            ),
            (
                AccountingSettings {
                    account_length: 5,
                    debtor_accounts: DebtorAccountRange::datev(5),
                    ..ok.clone()
                },
                "billing_entity.accounting.accounts.taxable[0].revenue:",
            ),
            (
                AccountingSettings {
                    debtor_accounts: DebtorAccountRange {
                        first: AccountNumber::fixed("69999"),
                        last: AccountNumber::fixed("10000"),
                    },
                    ..ok.clone()
                },
                "billing_entity.accounting.debtor_accounts:",
            ),
        ];
        for (settings, field) in cases {
            let err = refused(&settings);
            assert!(err.starts_with(field), "{field}: {err}");
        }
        let mut accounts = AccountMapping::defaults(Chart::Skr03);
        accounts.bank = AccountNumber::fixed("12000");
        let err = refused(&AccountingSettings {
            accounts,
            ..ok.clone()
        });
        assert!(
            err.starts_with("billing_entity.accounting.accounts.bank:"),
            "{err}"
        );
        let mut accounts = AccountMapping::defaults(Chart::Skr03);
        accounts.taxable[1].rate = Decimal::from(19);
        let err = refused(&AccountingSettings {
            accounts,
            ..ok.clone()
        });
        assert!(
            err.starts_with("billing_entity.accounting.accounts.taxable[1].rate:"),
            "{err}"
        );
    }

    #[test]
    fn a_debtor_account_must_be_in_the_sellers_range() {
        let settings = AccountingSettings::default();
        settings
            .ensure_debtor(&AccountNumber::fixed("10000"), "debtor")
            .unwrap();
        settings
            .ensure_debtor(&AccountNumber::fixed("69999"), "debtor")
            .unwrap();
        for bad in ["70000", "9999", "100000"] {
            let err = settings
                .ensure_debtor(&AccountNumber::fixed(bad), "debtor")
                .unwrap_err();
            assert!(err.to_string().starts_with("debtor:"), "{bad}: {err}");
        }
    }

    #[test]
    fn debtor_accounts_are_assigned_in_order_until_the_range_is_used_up() {
        let range = DebtorAccountRange {
            first: AccountNumber::fixed("10000"),
            last: AccountNumber::fixed("10002"),
        };
        let first = range.next_after(None).unwrap();
        assert_eq!(first.as_str(), "10000");
        let second = range.next_after(Some(&first)).unwrap();
        assert_eq!(second.as_str(), "10001");
        let third = range.next_after(Some(&second)).unwrap();
        assert_eq!(third.as_str(), "10002");
        let err = range.next_after(Some(&third)).unwrap_err();
        assert!(
            err.to_string().starts_with("accounting.debtor_accounts:"),
            "{err}"
        );
        // An account from below the range (e.g. imported) is no start.
        assert!(
            range
                .next_after(Some(&AccountNumber::fixed("9000")))
                .is_err()
        );
    }

    #[test]
    fn stored_settings_are_optional_override_the_chart_and_read_back_as_written() {
        // Nothing configured: SKR03's standard accounts.
        let none: AccountingSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(none, AccountingSettings::default());
        // SKR04 with the bank and a non-automatic 19 % revenue account
        // overridden (it then needs tax key 3).
        let text = r#"{
            "chart": "skr04",
            "consultant_number": 29098,
            "client_number": 55003,
            "fiscal_year_start": 7,
            "accounts": {
                "bank": "1810",
                "taxable": [{
                    "rate": "19",
                    "revenue": {"account": 4000, "tax_key": 3},
                    "output_vat": "3806",
                    "bad_debt": {"account": "6936"}
                }]
            }
        }"#;
        let settings: AccountingSettings = serde_json::from_str(text).unwrap();
        settings.validate("accounting").unwrap();
        assert_eq!(settings.accounts.bank.as_str(), "1810");
        assert_eq!(settings.accounts.bank_fees.as_str(), "6855");
        let rate = settings.accounts.for_rate(Decimal::from(19)).unwrap();
        assert_eq!(rate.revenue.account.as_str(), "4000");
        assert_eq!(rate.revenue.tax_key.map(TaxKey::value), Some(3));
        assert!(settings.accounts.for_rate(Decimal::from(7)).is_err());
        assert_eq!(settings.fiscal_year_start, 7);
        // Written and read again: the same settings.
        let stored = serde_json::to_string(&settings).unwrap();
        let read: AccountingSettings = serde_json::from_str(&stored).unwrap();
        assert_eq!(read, settings);
        // Unknown fields and bad accounts are refused when reading.
        assert!(serde_json::from_str::<AccountingSettings>(r#"{"chard": "skr03"}"#).is_err());
        assert!(
            serde_json::from_str::<AccountingSettings>(r#"{"accounts": {"bank": "12a0"}}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<AccountingSettings>(r#"{"accounts": {"bnak": "1200"}}"#)
                .is_err()
        );
    }
}
