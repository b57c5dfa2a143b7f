//! VAT: which rate and EN 16931 category each line gets, and why.
//!
//! Two steps. First the customer decides the [`TaxTreatment`] of the whole
//! invoice (domestic, reverse charge, not taxable here). Then each item's
//! [`TaxCategory`] (standard, reduced, zero, exempt) is mapped under that
//! treatment to an [`AppliedTax`]: EN 16931 category code, rate, and the
//! exemption reason the XML needs. Rates and legal wording are configuration
//! on the billing entity ([`TaxRules`]), with German defaults.
//!
//! Known limitation (OSS): consumers in other EU countries are charged German
//! VAT. Sellers above the EU-wide €10,000 threshold for electronically
//! supplied services must instead charge the customer's country's rate and
//! declare it through the One-Stop-Shop; that needs per-country rate tables
//! and is not modelled yet. Consumers outside the EU are likewise charged
//! German VAT, which is right for many but not all services (§3a UStG).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::money::Money;
use crate::party::{BillingEntity, CountryCode, CustomerAccount, CustomerKind, require_text};

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
    /// EU business customer abroad: the customer owes the VAT.
    ReverseCharge,
    /// Business customer outside the EU: not taxable in the home country.
    NotTaxable,
}

/// The tax outcome for one line: everything EN 16931 needs (BT-151/152 on
/// the line, BT-118..121 on the breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AppliedTax {
    /// EN 16931 category.
    pub category: VatCategoryCode,
    /// Rate in percent (19 means 19 %).
    pub rate: Decimal,
    /// Why no VAT is charged, for E, AE and O.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<Exemption>,
}

/// EN 16931 exemption code for reverse charge.
pub const VATEX_REVERSE_CHARGE: &str = "VATEX-EU-AE";
/// EN 16931 exemption code for "not subject to VAT".
pub const VATEX_NOT_SUBJECT: &str = "VATEX-EU-O";

/// An entity's VAT configuration: rates in percent and the legal wording
/// printed for reverse charge and non-taxable supplies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRules {
    /// The country whose VAT the entity charges.
    pub home_country: CountryCode,
    /// Standard rate in percent.
    pub standard_rate: Decimal,
    /// Reduced rate in percent.
    pub reduced_rate: Decimal,
    /// Note printed on reverse-charge invoices (§14a UStG).
    pub reverse_charge_note: String,
    /// Note printed when the supply is not taxable in the home country.
    pub not_taxable_note: String,
}

impl TaxRules {
    /// German VAT as of 2026: 19 % standard, 7 % reduced, with the §14a UStG
    /// reverse-charge wording in German and English.
    pub fn germany() -> Self {
        Self {
            home_country: CountryCode::DE,
            standard_rate: Decimal::from(19),
            reduced_rate: Decimal::from(7),
            reverse_charge_note: "Steuerschuldnerschaft des Leistungsempfängers / Reverse charge"
                .to_owned(),
            not_taxable_note:
                "Nicht im Inland steuerbare Leistung / Not taxable in Germany (place of supply abroad)"
                    .to_owned(),
        }
    }

    /// Rates must be percentages and the notes present, because they end up
    /// verbatim on legal documents.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        for (name, rate) in [
            ("standard_rate", self.standard_rate),
            ("reduced_rate", self.reduced_rate),
        ] {
            if rate.is_sign_negative() || rate >= Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    format!("{field}.{name}"),
                    "must be a percentage from 0 to below 100",
                ));
            }
        }
        require_text(
            &self.reverse_charge_note,
            &format!("{field}.reverse_charge_note"),
        )?;
        require_text(&self.not_taxable_note, &format!("{field}.not_taxable_note"))
    }

    /// Decides how an invoice from `seller` to `buyer` is taxed.
    ///
    /// Home-country customers and all consumers: domestic VAT (see the
    /// module's OSS note). Business customers in another EU country: reverse
    /// charge, which requires both VAT IDs; a missing one is an error naming
    /// it. Business customers outside the EU: not taxable here.
    pub fn treatment(
        &self,
        seller: &BillingEntity,
        buyer: &CustomerAccount,
    ) -> Result<TaxTreatment, DomainError> {
        let country = buyer.address.country;
        if country == self.home_country || buyer.kind == CustomerKind::Consumer {
            return Ok(TaxTreatment::Domestic);
        }
        if !country.is_eu_member() {
            return Ok(TaxTreatment::NotTaxable);
        }
        if seller.identity.vat_id.is_none() {
            return Err(DomainError::invalid(
                "billing_entity.identity.vat_id",
                "reverse charge to an EU business needs the seller's VAT ID",
            ));
        }
        if buyer.vat_id.is_none() {
            return Err(DomainError::invalid(
                "account.vat_id",
                format!("reverse charge to a business in {country} needs the customer's VAT ID"),
            ));
        }
        Ok(TaxTreatment::ReverseCharge)
    }

    /// The legal note an invoice under `treatment` must carry.
    pub fn note(&self, treatment: TaxTreatment) -> Option<&str> {
        match treatment {
            TaxTreatment::Domestic => None,
            TaxTreatment::ReverseCharge => Some(&self.reverse_charge_note),
            TaxTreatment::NotTaxable => Some(&self.not_taxable_note),
        }
    }

    /// Maps an item's category under the invoice's treatment to category
    /// code, rate and exemption reason. Exempt items stay exempt under reverse
    /// charge; outside the scope of VAT everything is category O, since
    /// EN 16931 forbids mixing O with other categories.
    pub fn apply(&self, treatment: TaxTreatment, category: &TaxCategory) -> AppliedTax {
        let exempt = |code: VatCategoryCode, reason: &str, vatex: &str| AppliedTax {
            category: code,
            rate: Decimal::ZERO,
            exemption: Some(Exemption {
                reason: reason.to_owned(),
                reason_code: Some(vatex.to_owned()),
            }),
        };
        match (treatment, category) {
            (TaxTreatment::NotTaxable, _) => exempt(
                VatCategoryCode::O,
                &self.not_taxable_note,
                VATEX_NOT_SUBJECT,
            ),
            (_, TaxCategory::Exempt(exemption)) => AppliedTax {
                category: VatCategoryCode::E,
                rate: Decimal::ZERO,
                exemption: Some(exemption.clone()),
            },
            (TaxTreatment::ReverseCharge, _) => exempt(
                VatCategoryCode::Ae,
                &self.reverse_charge_note,
                VATEX_REVERSE_CHARGE,
            ),
            (TaxTreatment::Domestic, TaxCategory::Standard) => taxed(self.standard_rate),
            (TaxTreatment::Domestic, TaxCategory::Reduced) => taxed(self.reduced_rate),
            (TaxTreatment::Domestic, TaxCategory::Zero) => AppliedTax {
                category: VatCategoryCode::Z,
                rate: Decimal::ZERO,
                exemption: None,
            },
        }
    }
}

fn taxed(rate: Decimal) -> AppliedTax {
    AppliedTax {
        category: VatCategoryCode::S,
        rate,
        exemption: None,
    }
}

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

    #[test]
    fn category_mapping() {
        let rules = TaxRules::germany();
        let exempt = TaxCategory::Exempt(Exemption {
            reason: "Steuerfrei nach §4 Nr. 21 UStG".into(),
            reason_code: None,
        });
        let d = TaxTreatment::Domestic;
        assert_eq!(rules.apply(d, &TaxCategory::Standard), taxed(dec!(19)));
        assert_eq!(rules.apply(d, &TaxCategory::Reduced), taxed(dec!(7)));
        assert_eq!(
            rules.apply(d, &TaxCategory::Zero).category,
            VatCategoryCode::Z
        );
        assert_eq!(rules.apply(d, &exempt).category, VatCategoryCode::E);
        let rc = TaxTreatment::ReverseCharge;
        assert_eq!(
            rules.apply(rc, &TaxCategory::Standard).category,
            VatCategoryCode::Ae
        );
        assert_eq!(rules.apply(rc, &exempt).category, VatCategoryCode::E);
        let o = rules.apply(TaxTreatment::NotTaxable, &exempt);
        assert_eq!(o.category, VatCategoryCode::O);
        assert_eq!(o.rate, Decimal::ZERO);
        assert_eq!(
            o.exemption.unwrap().reason_code.as_deref(),
            Some(VATEX_NOT_SUBJECT)
        );
    }

    #[test]
    fn rules_validate_rates() {
        let mut rules = TaxRules::germany();
        assert!(rules.validate("tax_rules").is_ok());
        rules.reduced_rate = dec!(-1);
        let err = rules.validate("tax_rules").unwrap_err();
        assert!(err.to_string().starts_with("tax_rules.reduced_rate:"));
    }

    #[test]
    fn serde_names() {
        let json = serde_json::to_string(&TaxCategory::Standard).unwrap();
        assert_eq!(json, r#"{"kind":"standard"}"#);
        let exempt = TaxCategory::Exempt(Exemption {
            reason: "r".into(),
            reason_code: None,
        });
        let json = serde_json::to_string(&exempt).unwrap();
        assert_eq!(json, r#"{"kind":"exempt","reason":"r"}"#);
        assert_eq!(serde_json::from_str::<TaxCategory>(&json).unwrap(), exempt);
        assert_eq!(
            serde_json::to_string(&VatCategoryCode::Ae).unwrap(),
            "\"AE\""
        );
    }
}
