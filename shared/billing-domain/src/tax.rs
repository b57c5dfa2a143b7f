//! The VAT vocabulary every document shares: what a product says about its
//! VAT ([`TaxCategory`], [`SupplyKind`]), the EN 16931 category codes and
//! exemption reasons, the tax a line carries ([`AppliedTax`]), how a whole
//! invoice is taxed ([`TaxTreatment`]) and the one rounding of VAT
//! ([`tax_amount`]). Which of them applies to a sale is decided by
//! [`crate::taxation`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::money::Money;

/// Why a line carries no VAT although it is taxable in principle, e.g.
/// "Steuerfrei nach §4 Nr. 21 UStG" (EN 16931 BT-120/BT-121).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Exemption {
    /// The reason as printed on the invoice.
    pub reason: String,
    /// The VATEX code for the XML, e.g. `VATEX-EU-132-1I`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
}

/// Whether an item is a service or goods: the place of supply and the
/// cross-border rules differ (§3a vs §3 (6), §6a UStG). SaaS is services,
/// the default, so items stored before the distinction keep their meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyKind {
    /// A service, e.g. a subscription (electronically supplied, §3a(5) UStG).
    #[default]
    Services,
    /// Goods that are delivered (shipped), e.g. hardware or printed books.
    Goods,
}

impl SupplyKind {
    /// Services are the default and are not written to stored items.
    pub fn is_services(&self) -> bool {
        *self == Self::Services
    }
}

/// What the product says about its VAT, independent of the customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaxCategory {
    /// The entity's standard rate (19 % in Germany).
    Standard,
    /// The entity's reduced rate (7 % in Germany).
    Reduced,
    /// Taxable at 0 % (e.g. §12 (3) UStG).
    Zero,
    /// Exempt from VAT, with the reason the invoice must state.
    Exempt(Exemption),
}

/// EN 16931 VAT category codes (UNTDID 5305 subset) the XML needs per line
/// and per breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VatCategoryCode {
    /// Standard or reduced rate.
    #[serde(rename = "S")]
    S,
    /// Zero rated.
    #[serde(rename = "Z")]
    Z,
    /// Exempt from VAT.
    #[serde(rename = "E")]
    E,
    /// Reverse charge (VAT reverse charge, "AE").
    #[serde(rename = "AE")]
    Ae,
    /// Intra-community supply of goods (VAT exempt for EEA intra-community
    /// supply of goods and services, "K").
    #[serde(rename = "K")]
    K,
    /// Not subject to VAT (outside the scope of German VAT).
    #[serde(rename = "O")]
    O,
}

impl VatCategoryCode {
    /// The code as written into the XML.
    pub fn code(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::Z => "Z",
            Self::E => "E",
            Self::Ae => "AE",
            Self::K => "K",
            Self::O => "O",
        }
    }
}

/// How the whole invoice is taxed, decided by seller and customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxTreatment {
    /// Home-country VAT at the entity's rates.
    Domestic,
    /// EU business customer abroad: it accounts for the VAT in its country,
    /// on services by reverse charge (AE), on goods as an intra-EU
    /// acquisition (our side: K).
    ReverseCharge,
    /// Place of supply outside the EU: a business there (§3a(2) UStG) or a
    /// consumer buying electronically supplied services (§3a(5) UStG).
    NotTaxable,
    /// EU consumer in another member state while the seller uses the
    /// One-Stop-Shop (§18j UStG): that country's standard rate.
    Oss,
    /// The seller is a small business under §19 UStG: no VAT (category E).
    SmallBusiness,
}

/// The tax outcome for one line: everything EN 16931 needs (BT-151/152 on
/// the line, BT-118..121 on the breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AppliedTax {
    /// EN 16931 category.
    pub category: VatCategoryCode,
    /// Rate in percent (19 means 19 %).
    pub rate: Decimal,
    /// Why no VAT is charged, for E, AE, K and O.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
}

/// EN 16931 exemption code for reverse charge.
pub const VATEX_REVERSE_CHARGE: &str = "VATEX-EU-AE";
/// EN 16931 exemption code for "not subject to VAT".
pub const VATEX_NOT_SUBJECT: &str = "VATEX-EU-O";
/// EN 16931 exemption code for an intra-community supply of goods
/// (Art. 138 VAT Directive, §4 Nr. 1 Buchst. b UStG).
pub const VATEX_INTRA_EU_SUPPLY: &str = "VATEX-EU-IC";

/// VAT on a taxable amount: `basis × rate / 100`, rounded once, half away
/// from zero, to the minor unit. Called per rate on the sum of that rate's
/// line nets, never per line.
pub fn tax_amount(basis: Money, rate_percent: Decimal) -> Result<Money, DomainError> {
    let scaled = basis.times(rate_percent)?;
    let amount = scaled
        .amount()
        .checked_div(Decimal::ONE_HUNDRED)
        .ok_or_else(|| DomainError::invalid("tax", "tax amount is outside the supported range"))?;
    Ok(Money::new(amount, basis.currency()).round())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use rust_decimal_macros::dec;

    #[test]
    fn tax_is_rounded_half_away_from_zero() {
        let basis = Money::new(dec!(10.50), Currency::EUR);
        assert_eq!(tax_amount(basis, dec!(19)).unwrap().amount(), dec!(2.00)); // 1.995
        let basis = Money::new(dec!(-10.50), Currency::EUR);
        assert_eq!(tax_amount(basis, dec!(19)).unwrap().amount(), dec!(-2.00));
        let basis = Money::new(dec!(1234), Currency::JPY);
        assert_eq!(tax_amount(basis, dec!(10)).unwrap().amount(), dec!(123)); // 123.4
    }
}
