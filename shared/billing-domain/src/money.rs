//! Amounts of money in one ISO 4217 currency.
//!
//! An amount is never a bare number: every `Money` carries its currency, and
//! every operation that combines two amounts refuses (with an error, not a
//! panic) to mix currencies. Rounding is commercial rounding (half away from
//! zero) to the currency's minor unit, as German invoices expect.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;

/// An ISO 4217 currency that has a defined minor unit.
///
/// Wraps `iso_currency`'s table so the minor unit (2 for EUR, 0 for JPY, 3 for
/// KWD) comes from the standard rather than from our memory. Currencies
/// without a minor unit (gold, SDR, test codes) are refused because nothing
/// can be invoiced or rounded in them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Euro, the first market's currency.
    pub const EUR: Self = Self(iso_currency::Currency::EUR);
    /// US dollar.
    pub const USD: Self = Self(iso_currency::Currency::USD);
    /// Pound sterling.
    pub const GBP: Self = Self(iso_currency::Currency::GBP);
    /// Swiss franc.
    pub const CHF: Self = Self(iso_currency::Currency::CHF);
    /// Japanese yen: the common currency without a minor unit.
    pub const JPY: Self = Self(iso_currency::Currency::JPY);

    /// Reads a three-letter code from CRM data or configuration; unknown codes
    /// and codes without a minor unit are refused so they never reach an
    /// invoice.
    pub fn from_code(code: &str) -> Result<Self, DomainError> {
        let inner = iso_currency::Currency::from_code(code).ok_or_else(|| {
            DomainError::invalid("currency", format!("`{code}` is not an ISO 4217 code"))
        })?;
        if inner.exponent().is_none() {
            return Err(DomainError::invalid(
                "currency",
                format!("`{code}` has no minor unit and cannot be invoiced"),
            ));
        }
        Ok(Self(inner))
    }

    /// The code printed on invoices and stored in data (`EUR`).
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Decimal places of the minor unit: amounts are rounded to this.
    pub fn minor_units(self) -> u32 {
        // `from_code` admits only currencies with an exponent.
        self.0.exponent().map_or(0, u32::from)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount in one currency.
///
/// The amount may carry more decimals than the minor unit (unit prices such
/// as 0.0125 EUR per call are legitimate); anything shown as a total is
/// passed through [`Money::round`] first. Deliberately not `PartialOrd`:
/// comparing amounts of different currencies must be an error, so use
/// [`Money::compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// Whether `text` is a decimal as people write it in a request: digits
/// with an optional decimal point and decimals; no sign, exponent, spaces
/// or thousands separators (`"1e3"` is refused, not read as 1000).
pub fn is_plain_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// The largest amount a person may state for one booking (a manual
/// payment, a credit application or refund, a credit note's net):
/// 100,000,000 in the currency's major unit. Far above any single invoice
/// this business issues, so a typo or a pasted number is refused instead
/// of booked as customer credit, and far below where sums could overflow.
pub const MAX_STATED_AMOUNT: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 0);

impl Money {
    /// An amount as a person writes it in a request: digits with an
    /// optional decimal point (`"1250.50"`; no sign, exponent, spaces or
    /// thousands separators), at most the currency's decimal places, at most
    /// [`MAX_STATED_AMOUNT`]. `field` names it in the error.
    pub fn from_stated(text: &str, currency: Currency, field: &str) -> Result<Self, DomainError> {
        if !is_plain_decimal(text) {
            return Err(DomainError::invalid(
                field,
                "must be a decimal number like 1250.50 (digits and one decimal point, no sign or exponent)",
            ));
        }
        let places = currency.minor_units();
        let fraction = text.split_once('.').map_or("", |(_, f)| f);
        if fraction.len() > places as usize {
            return Err(DomainError::invalid(
                field,
                format!("{currency} has {places} decimal places; more were given"),
            ));
        }
        let amount = Decimal::from_str(text)
            .ok()
            .filter(|a| *a <= MAX_STATED_AMOUNT)
            .ok_or_else(|| {
                DomainError::invalid(field, format!("must be at most {MAX_STATED_AMOUNT}"))
            })?;
        Ok(Self::new(amount, currency))
    }

    /// An amount as given; no rounding, because prices may be finer than cents.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// The neutral starting point for sums in one currency.
    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency).round()
    }

    /// Builds an amount from minor units (cents), the way bank files and
    /// payment providers report money.
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self::new(
            Decimal::from_i128_with_scale(i128::from(minor), currency.minor_units()),
            currency,
        )
    }

    /// The decimal amount, e.g. for rendering.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency, so callers can check it before combining.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Commercial rounding (half away from zero) to the minor unit, with the
    /// scale fixed to it so `12.3` is shown and stored as `12.30`.
    pub fn round(self) -> Self {
        let minor = self.currency.minor_units();
        let mut amount = self
            .amount
            .round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(minor);
        Self::new(amount, self.currency)
    }

    /// Whether the amount already fits the minor unit; payments and totals
    /// that do not are refused rather than silently rounded.
    pub fn is_rounded(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    /// Adds two amounts of the same currency; mixing currencies or leaving
    /// the decimal range is an error.
    pub fn checked_add(self, other: Self) -> Result<Self, DomainError> {
        self.same_currency(&other)?;
        let amount = self.amount.checked_add(other.amount).ok_or_else(overflow)?;
        Ok(Self::new(amount, self.currency))
    }

    /// Subtracts an amount of the same currency; mixing currencies is an error.
    pub fn checked_sub(self, other: Self) -> Result<Self, DomainError> {
        self.checked_add(-other)
    }

    /// Multiplies by a plain number (a quantity or a factor); the result is
    /// not rounded, so the caller decides where rounding happens.
    pub fn times(self, factor: Decimal) -> Result<Self, DomainError> {
        let amount = self.amount.checked_mul(factor).ok_or_else(overflow)?;
        Ok(Self::new(amount, self.currency))
    }

    /// Compares two amounts; comparing across currencies is an error because
    /// it would need an exchange rate the domain does not have.
    pub fn compare(&self, other: &Self) -> Result<Ordering, DomainError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Sums amounts that must all be in `currency`, e.g. line nets of one
    /// invoice; an empty list sums to zero.
    pub fn sum<I>(currency: Currency, amounts: I) -> Result<Self, DomainError>
    where
        I: IntoIterator<Item = Self>,
    {
        amounts
            .into_iter()
            .try_fold(Self::zero(currency), Self::checked_add)
    }

    /// The same amount without sign, as credit notes show their amounts.
    pub fn abs(self) -> Self {
        Self::new(self.amount.abs(), self.currency)
    }

    /// True for exactly nothing, whatever the scale.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// True below zero: a negative invoice total turns into a credit note.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// True above zero.
    pub fn is_positive(&self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
    }

    /// Refuses an amount in any other currency than `expected`, naming the
    /// field the amount came from.
    pub fn ensure_currency(&self, expected: Currency, field: &str) -> Result<(), DomainError> {
        if self.currency == expected {
            Ok(())
        } else {
            Err(DomainError::invalid(
                field,
                format!("currency {} does not match {expected}", self.currency),
            ))
        }
    }

    fn same_currency(&self, other: &Self) -> Result<(), DomainError> {
        other.ensure_currency(self.currency, "currency")
    }
}

impl std::ops::Neg for Money {
    type Output = Self;

    /// Zero stays zero: a credit note must never show `-0.00`.
    fn neg(self) -> Self {
        if self.amount.is_zero() {
            return self;
        }
        Self::new(-self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

fn overflow() -> DomainError {
    DomainError::invalid("amount", "amount is outside the supported range")
}

#[cfg(test)]
mod tests {
    #[test]
    fn stated_amounts_are_plain_decimals_within_the_limit() {
        let eur = |t: &str| Money::from_stated(t, Currency::EUR, "amount");
        assert_eq!(eur("1250.50").unwrap().amount(), Decimal::new(125_050, 2));
        assert_eq!(eur("7").unwrap().amount(), Decimal::new(7, 0));
        assert!(eur("100000000.00").is_ok());
        for bad in [
            "1e3", "1E3", "-5.00", "+5", " 5", "5.", ".5", "1,00", "0x10", "", "1.2.3",
        ] {
            assert!(eur(bad).is_err(), "{bad}");
        }
        assert!(eur("100000000.01").is_err());
        assert!(eur("79228162514264337593543950335").is_err());
        assert!(eur("10.001").is_err());
        assert!(Money::from_stated("10.5", Currency::JPY, "amount").is_err());
        assert!(
            Money::from_stated("10.125", Currency::from_code("KWD").unwrap(), "amount").is_ok()
        );
    }

    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn minor_units_come_from_iso_4217() {
        assert_eq!(Currency::EUR.minor_units(), 2);
        assert_eq!(Currency::USD.minor_units(), 2);
        assert_eq!(Currency::GBP.minor_units(), 2);
        assert_eq!(Currency::CHF.minor_units(), 2);
        assert_eq!(Currency::JPY.minor_units(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().minor_units(), 3);
    }

    #[test]
    fn unknown_and_unit_less_codes_are_refused() {
        assert!(Currency::from_code("EURO").is_err());
        assert!(Currency::from_code("XAU").is_err());
        assert!(serde_json::from_str::<Currency>("\"ABC\"").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero_to_minor_unit() {
        let r = |a, c| Money::new(a, c).round().amount().to_string();
        assert_eq!(r(dec!(2.345), Currency::EUR), "2.35");
        assert_eq!(r(dec!(-2.345), Currency::EUR), "-2.35");
        assert_eq!(r(dec!(2.344), Currency::EUR), "2.34");
        assert_eq!(r(dec!(12.3), Currency::EUR), "12.30");
        assert_eq!(r(dec!(1234.5), Currency::JPY), "1235");
        assert_eq!(
            r(dec!(0.0005), Currency::from_code("KWD").unwrap()),
            "0.001"
        );
    }

    #[test]
    fn serializes_amount_as_string() {
        let m = Money::new(dec!(12.34), Currency::EUR);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"12.34","currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    #[test]
    fn minor_units_constructor() {
        assert_eq!(Money::from_minor(1234, Currency::EUR).amount(), dec!(12.34));
        assert_eq!(Money::from_minor(1234, Currency::JPY).amount(), dec!(1234));
    }

    #[test]
    fn mixing_currencies_errs() {
        let eur = Money::new(dec!(1), Currency::EUR);
        let usd = Money::new(dec!(1), Currency::USD);
        assert!(eur.checked_add(usd).is_err());
        assert!(eur.checked_sub(usd).is_err());
        assert!(eur.compare(&usd).is_err());
        assert!(Money::sum(Currency::EUR, [eur, usd]).is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let big = Money::new(Decimal::MAX, Currency::EUR);
        assert!(big.checked_add(big).is_err());
        assert!(big.times(dec!(2)).is_err());
    }
}
