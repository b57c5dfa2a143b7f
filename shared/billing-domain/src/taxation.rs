//! The VAT decision: which rate and EN 16931 category each line gets, and
//! why (the vocabulary it decides in is [`crate::tax`]'s).
//!
//! Three steps. First seller and customer decide the [`TaxTreatment`] of the
//! whole invoice ([`TaxRules::taxation`]): where the supply is taxed and by
//! whom. Then each item, by its [`TaxCategory`] (standard, reduced, zero,
//! exempt) and its [`SupplyKind`] (services or goods), is mapped under that
//! treatment to an [`AppliedTax`]: EN 16931 category code, rate, and the
//! exemption reason the XML needs ([`Taxation::apply`]). Last, the legal
//! notes and the VAT-ID requirements are read off the tax breakdown
//! ([`Taxation::notes`], [`Taxation::check`]): the reverse-charge note and
//! both VAT IDs only where a reverse-charge (AE) or intra-EU (K) group
//! exists, never for a whole customer regardless of its lines.
//!
//! The decision (German law; the seller's home country is configurable, the
//! paragraphs are German):
//!
//! | Customer | Services (SaaS, electronically supplied) | Goods |
//! |---|---|---|
//! | in Germany | German VAT (S/Z, or E for exempt items) | same |
//! | EU business | reverse charge, AE (§3a(2), §13b UStG) | intra-EU supply, K (§4 Nr. 1 Buchst. b, §6a UStG) |
//! | non-EU business | not taxable here, O (§3a(2) UStG) | refused (exports, §6 UStG) |
//! | EU consumer | seller's declaration: below the €10,000 threshold, German VAT (§3a(5) S.3 UStG); or OSS, the customer country's standard rate (§18j UStG); none: refused | refused (distance sales, §3c UStG) |
//! | non-EU consumer | not taxable here, O (§3a(5) UStG) | refused (exports) |
//!
//! A small business under §19 UStG ([`TaxRules::small_business`]) charges
//! no VAT at all: every line is category E with the §19 note, never reverse
//! charge or K (§19(1) UStG excludes §4 Nr. 1 Buchst. b), except that a
//! declared OSS still taxes EU consumers in their country (§19 only covers
//! turnover in Germany). The customer's country is its billing address.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::invoice::{InvoiceLine, TaxBreakdown};
use crate::item::Item;
use crate::party::{CountryCode, CustomerAccount, CustomerKind, SellerIdentity, require_text};
use crate::tax::{
    AppliedTax, Exemption, SupplyKind, TaxCategory, TaxTreatment, VATEX_INTRA_EU_SUPPLY,
    VATEX_NOT_SUBJECT, VATEX_REVERSE_CHARGE, VatCategoryCode,
};

/// One member state's standard VAT rate from a date on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EuVatRate {
    /// The member state (ISO 3166: Greece is `GR`).
    pub country: CountryCode,
    /// First day the rate applies.
    pub effective_from: NaiveDate,
    /// Standard rate in percent.
    pub standard_rate: Decimal,
}

/// The EU member states' standard VAT rates over time, for OSS invoices:
/// configuration, because member states change their rates and the code
/// must not need a release for it (like the base-rate table of dunning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<EuVatRate>", into = "Vec<EuVatRate>")]
pub struct EuStandardRates(Vec<EuVatRate>);

impl EuStandardRates {
    /// Sorts the rates and refuses an empty table, a country outside the
    /// EU, a rate that is no percentage, or two rates of one country on one
    /// date.
    pub fn new(mut rates: Vec<EuVatRate>) -> Result<Self, DomainError> {
        const FIELD: &str = "standard_rates";
        if rates.is_empty() {
            return Err(DomainError::invalid(FIELD, "at least one rate is needed"));
        }
        for rate in &rates {
            if !rate.country.is_eu_member() {
                return Err(DomainError::invalid(
                    FIELD,
                    format!("{} is not an EU member state", rate.country),
                ));
            }
            if rate.standard_rate.is_sign_negative() || rate.standard_rate >= Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    FIELD,
                    format!(
                        "{} from {}: must be a percentage from 0 to below 100",
                        rate.country, rate.effective_from
                    ),
                ));
            }
        }
        rates.sort_by_key(|rate| (rate.country, rate.effective_from));
        if let Some(pair) = rates.windows(2).find(|pair| {
            pair[0].country == pair[1].country && pair[0].effective_from == pair[1].effective_from
        }) {
            return Err(DomainError::invalid(
                FIELD,
                format!(
                    "two rates for {} from {}",
                    pair[0].country, pair[0].effective_from
                ),
            ));
        }
        Ok(Self(rates))
    }

    /// The 27 member states' standard rates from the start of the
    /// One-Stop-Shop (1 July 2021) with every change since, as published
    /// by the European Commission ("VAT rates applied in the Member States
    /// of the European Union", DG TAXUD, and its Taxes in Europe database):
    /// Luxembourg 16 % in 2023, Estonia 22 % from 2024 and 24 % from
    /// 1 July 2025, Finland 25.5 % from 1 September 2024, Slovakia 23 %
    /// from 2025, Romania 21 % from 1 August 2025. Today (from 1 August
    /// 2025): AT 20, BE 21, BG 20, CY 19, CZ 21, DE 19, DK 25, EE 24,
    /// GR 24, ES 21, FI 25.5, FR 20, HR 25, HU 27, IE 23, IT 22, LT 21,
    /// LU 17, LV 21, MT 18, NL 21, PL 23, PT 23, RO 21, SE 25, SI 22,
    /// SK 23. Extend the configured table with every change a member state
    /// announces; past a country's last entry its last rate continues.
    pub fn european_commission() -> Self {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        let oss_start = day(2021, 7, 1);
        let mut rates: Vec<EuVatRate> = [
            ("AT", 200),
            ("BE", 210),
            ("BG", 200),
            ("CY", 190),
            ("CZ", 210),
            ("DE", 190),
            ("DK", 250),
            ("EE", 200),
            ("GR", 240),
            ("ES", 210),
            ("FI", 240),
            ("FR", 200),
            ("HR", 250),
            ("HU", 270),
            ("IE", 230),
            ("IT", 220),
            ("LT", 210),
            ("LU", 170),
            ("LV", 210),
            ("MT", 180),
            ("NL", 210),
            ("PL", 230),
            ("PT", 230),
            ("RO", 190),
            ("SE", 250),
            ("SI", 220),
            ("SK", 200),
        ]
        .into_iter()
        .map(|(country, tenths)| (country, oss_start, tenths))
        .chain([
            ("LU", day(2023, 1, 1), 160),
            ("LU", day(2024, 1, 1), 170),
            ("EE", day(2024, 1, 1), 220),
            ("FI", day(2024, 9, 1), 255),
            ("SK", day(2025, 1, 1), 230),
            ("EE", day(2025, 7, 1), 240),
            ("RO", day(2025, 8, 1), 210),
        ])
        .filter_map(|(country, effective_from, tenths)| {
            Some(EuVatRate {
                country: CountryCode::parse(country).ok()?,
                effective_from,
                standard_rate: Decimal::new(tenths, 1).normalize(),
            })
        })
        .collect();
        rates.sort_by_key(|rate| (rate.country, rate.effective_from));
        Self(rates)
    }

    /// The rates, by country and date.
    pub fn rates(&self) -> &[EuVatRate] {
        &self.0
    }

    /// `country`'s standard rate on `date`; a country or date the table
    /// does not cover is an error, not a guess.
    pub fn rate_on(&self, country: CountryCode, date: NaiveDate) -> Result<Decimal, DomainError> {
        self.0
            .iter()
            .rev()
            .find(|rate| rate.country == country && rate.effective_from <= date)
            .map(|rate| rate.standard_rate)
            .ok_or_else(|| {
                DomainError::invalid(
                    "standard_rates",
                    format!("no standard rate of {country} known for {date}"),
                )
            })
    }
}

impl Default for EuStandardRates {
    fn default() -> Self {
        Self::european_commission()
    }
}

impl TryFrom<Vec<EuVatRate>> for EuStandardRates {
    type Error = DomainError;

    fn try_from(rates: Vec<EuVatRate>) -> Result<Self, Self::Error> {
        Self::new(rates)
    }
}

impl From<EuStandardRates> for Vec<EuVatRate> {
    fn from(table: EuStandardRates) -> Self {
        table.0
    }
}

/// The seller's declaration for electronically supplied services to
/// consumers in other EU member states: without one such an invoice is
/// refused, because the place of supply depends on it (§3a(5) UStG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EuConsumerServices {
    /// The seller's EU-wide sales of such services to consumers stayed
    /// below €10,000 last year and stay below this year (§3a(5) S.3 UStG):
    /// the place of supply is Germany, German VAT.
    BelowThreshold,
    /// The seller is registered for the One-Stop-Shop (§18j UStG): the
    /// customer country's standard rate, declared quarterly.
    Oss {
        /// Member states' standard rates over time.
        #[serde(default)]
        standard_rates: EuStandardRates,
    },
}

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
    /// Note printed on reverse-charge invoices (§14a(1), §14a(5) UStG).
    pub reverse_charge_note: String,
    /// Note printed when the supply is not taxable in the home country.
    pub not_taxable_note: String,
    /// Note printed on intra-EU supplies of goods (§14a(3) UStG).
    #[serde(default = "default_intra_eu_supply_note")]
    pub intra_eu_supply_note: String,
    /// Whether the seller is a small business under §19 UStG and charges
    /// no VAT (category E with [`Self::small_business_note`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub small_business: bool,
    /// Note printed by a §19 UStG small business.
    #[serde(default = "default_small_business_note")]
    pub small_business_note: String,
    /// Below the EU threshold or OSS, for consumers in other member states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eu_consumer_services: Option<EuConsumerServices>,
}

fn default_intra_eu_supply_note() -> String {
    "Steuerfreie innergemeinschaftliche Lieferung (§4 Nr. 1 Buchst. b, §6a UStG) / \
     Tax-exempt intra-Community supply of goods"
        .to_owned()
}

fn default_small_business_note() -> String {
    "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet. / \
     No VAT is charged (small business exemption, § 19 UStG)."
        .to_owned()
}

impl TaxRules {
    /// German VAT as of 2026: 19 % standard, 7 % reduced, with the §14a UStG
    /// reverse-charge wording in German and English; not a small business,
    /// no declaration for EU consumers.
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
            intra_eu_supply_note: default_intra_eu_supply_note(),
            small_business: false,
            small_business_note: default_small_business_note(),
            eu_consumer_services: None,
        }
    }

    /// Rates must be percentages and the notes present, because they end up
    /// verbatim on legal documents. A 0 % standard rate is refused unless
    /// the seller is a §19 UStG small business: it would put category S at
    /// 0 % on every invoice, which EN 16931 refuses (BR-S-05) and which is
    /// not how §19 is stated (category E with the §19 note).
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
        if self.standard_rate.is_zero() && !self.small_business {
            return Err(DomainError::invalid(
                format!("{field}.standard_rate"),
                format!(
                    "0 % is no standard rate; a small business under § 19 UStG sets \
                     {field}.small_business to true instead (category E with the § 19 note)"
                ),
            ));
        }
        for (name, note) in [
            ("reverse_charge_note", &self.reverse_charge_note),
            ("not_taxable_note", &self.not_taxable_note),
            ("intra_eu_supply_note", &self.intra_eu_supply_note),
            ("small_business_note", &self.small_business_note),
        ] {
            require_text(note, &format!("{field}.{name}"))?;
        }
        Ok(())
    }

    /// Decides how an invoice to `buyer` issued on `issue_date` is taxed
    /// (see the module's table). A consumer in another EU member state
    /// needs the seller's [`EuConsumerServices`] declaration; without one
    /// the invoice is refused, naming `billing_entity.tax_rules.eu_consumer_services`.
    pub fn taxation(
        &self,
        buyer: &CustomerAccount,
        issue_date: NaiveDate,
    ) -> Result<Taxation<'_>, DomainError> {
        let country = buyer.address.country;
        let place = if country == self.home_country {
            BuyerPlace::Home
        } else {
            match (buyer.kind, country.is_eu_member()) {
                (CustomerKind::Business, true) => BuyerPlace::EuBusiness,
                (CustomerKind::Business, false) => BuyerPlace::NonEuBusiness,
                (CustomerKind::Consumer, true) => BuyerPlace::EuConsumer,
                (CustomerKind::Consumer, false) => BuyerPlace::NonEuConsumer,
            }
        };
        let mut oss_rate = None;
        let treatment = match place {
            BuyerPlace::EuConsumer => match &self.eu_consumer_services {
                None => {
                    return Err(DomainError::invalid(
                        "billing_entity.tax_rules.eu_consumer_services",
                        format!(
                            "an invoice to a consumer in {country} needs the seller's declaration \
                             for electronically supplied services to EU consumers: below_threshold \
                             (under €10,000 a year EU-wide, German VAT, §3a(5) S.3 UStG) or oss \
                             (the customer country's VAT via the One-Stop-Shop, §18j UStG)"
                        ),
                    ));
                }
                Some(EuConsumerServices::Oss { standard_rates }) => {
                    oss_rate = Some(standard_rates.rate_on(country, issue_date).map_err(|e| {
                        let DomainError::Invalid { message, .. } = e;
                        DomainError::invalid(
                            "billing_entity.tax_rules.eu_consumer_services.standard_rates",
                            message,
                        )
                    })?);
                    TaxTreatment::Oss
                }
                Some(EuConsumerServices::BelowThreshold) if self.small_business => {
                    TaxTreatment::SmallBusiness
                }
                Some(EuConsumerServices::BelowThreshold) => TaxTreatment::Domestic,
            },
            _ if self.small_business => TaxTreatment::SmallBusiness,
            BuyerPlace::Home => TaxTreatment::Domestic,
            BuyerPlace::EuBusiness => TaxTreatment::ReverseCharge,
            BuyerPlace::NonEuBusiness | BuyerPlace::NonEuConsumer => TaxTreatment::NotTaxable,
        };
        Ok(Taxation {
            rules: self,
            treatment,
            place,
            country,
            oss_rate,
        })
    }
}

/// Where the customer is, as far as VAT cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuyerPlace {
    Home,
    EuBusiness,
    NonEuBusiness,
    EuConsumer,
    NonEuConsumer,
}

/// The tax decision for one invoice: its treatment and what the lines need
/// to be taxed under it (the OSS rate of the customer's country).
#[derive(Debug, Clone)]
pub struct Taxation<'a> {
    rules: &'a TaxRules,
    treatment: TaxTreatment,
    place: BuyerPlace,
    country: CountryCode,
    oss_rate: Option<Decimal>,
}

impl Taxation<'_> {
    /// How the invoice is taxed.
    pub fn treatment(&self) -> TaxTreatment {
        self.treatment
    }

    /// Maps line `index`'s item to category code, rate and exemption
    /// reason. Exempt items stay exempt (except under §19 and outside the
    /// scope, where everything is E resp. O, since EN 16931 allows one
    /// reason per category and forbids mixing O with other categories).
    /// Goods go to Germany or, as intra-EU supplies (K), to EU businesses;
    /// goods to consumers abroad (distance sales, §3c UStG) and exports
    /// (§6 UStG) are refused by name rather than mis-taxed, as are reduced
    /// or zero-rated items under OSS (only standard rates are configured).
    pub fn apply(&self, index: usize, item: &Item) -> Result<AppliedTax, DomainError> {
        let rules = self.rules;
        let exempt = |code: VatCategoryCode, reason: &str, vatex: Option<&str>| AppliedTax {
            category: code,
            rate: Decimal::ZERO,
            exemption: Some(Exemption {
                reason: reason.to_owned(),
                reason_code: vatex.map(str::to_owned),
            }),
        };
        if item.kind == SupplyKind::Goods {
            let refused = match self.place {
                BuyerPlace::EuConsumer | BuyerPlace::NonEuConsumer => Some(
                    "goods to consumers in other countries (distance sales, §3c UStG; exports, \
                     §6 UStG) are not supported; only services can be billed to them",
                ),
                BuyerPlace::NonEuBusiness if !rules.small_business => Some(
                    "goods to businesses outside the EU (exports, §4 Nr. 1 Buchst. a, §6 UStG) \
                     are not supported",
                ),
                _ => None,
            };
            if let Some(why) = refused {
                return Err(DomainError::invalid(
                    format!("lines[{index}].item.kind"),
                    format!("{why} (customer in {})", self.country),
                ));
            }
        }
        Ok(match (self.treatment, &item.tax_category) {
            (TaxTreatment::SmallBusiness, _) => {
                exempt(VatCategoryCode::E, &rules.small_business_note, None)
            }
            (TaxTreatment::NotTaxable, _) => exempt(
                VatCategoryCode::O,
                &rules.not_taxable_note,
                Some(VATEX_NOT_SUBJECT),
            ),
            (_, TaxCategory::Exempt(exemption)) => AppliedTax {
                category: VatCategoryCode::E,
                rate: Decimal::ZERO,
                exemption: Some(exemption.clone()),
            },
            (TaxTreatment::ReverseCharge, _) if item.kind == SupplyKind::Goods => exempt(
                VatCategoryCode::K,
                &rules.intra_eu_supply_note,
                Some(VATEX_INTRA_EU_SUPPLY),
            ),
            (TaxTreatment::ReverseCharge, _) => exempt(
                VatCategoryCode::Ae,
                &rules.reverse_charge_note,
                Some(VATEX_REVERSE_CHARGE),
            ),
            (TaxTreatment::Oss, TaxCategory::Standard) => match self.oss_rate {
                Some(rate) => taxed(rate),
                None => {
                    return Err(DomainError::invalid(
                        "billing_entity.tax_rules.eu_consumer_services",
                        "OSS without a rate",
                    ));
                }
            },
            (TaxTreatment::Oss, _) => {
                return Err(DomainError::invalid(
                    format!("lines[{index}].item.tax_category"),
                    format!(
                        "under OSS only the standard rate of {} is configured; reduced or \
                         zero-rated items to consumers there are not supported",
                        self.country
                    ),
                ));
            }
            (TaxTreatment::Domestic, TaxCategory::Standard) => taxed(rules.standard_rate),
            (TaxTreatment::Domestic, TaxCategory::Reduced) => taxed(rules.reduced_rate),
            (TaxTreatment::Domestic, TaxCategory::Zero) => AppliedTax {
                category: VatCategoryCode::Z,
                rate: Decimal::ZERO,
                exemption: None,
            },
        })
    }

    /// The legal notes the invoice must carry, read off its tax breakdown:
    /// the reverse-charge note where an AE group exists (§14a(5) UStG), the
    /// intra-EU supply note where a K group exists (§14a(3) UStG), the
    /// "not taxable" note where an O group exists, the §19 note where a §19
    /// E group exists. An invoice to an EU business whose lines are all
    /// exempt carries no reverse-charge note.
    pub fn notes(&self, breakdown: &[TaxBreakdown]) -> Vec<String> {
        let mut notes: Vec<String> = Vec::with_capacity(2);
        for group in breakdown {
            let legal = match group.category {
                VatCategoryCode::Ae | VatCategoryCode::K | VatCategoryCode::O => true,
                VatCategoryCode::E => self.treatment == TaxTreatment::SmallBusiness,
                VatCategoryCode::S | VatCategoryCode::Z => false,
            };
            if let Some(exemption) = group.exemption.as_ref().filter(|_| legal)
                && !notes.contains(&exemption.reason)
            {
                notes.push(exemption.reason.clone());
            }
        }
        notes
    }

    /// What the built lines require of the parties: where an AE or K group
    /// exists, both VAT IDs (§14a(1) and (3) UStG; BR-AE-02, BR-IC-02), and
    /// every K line a delivery date (its service period: §14(4) Nr. 6 UStG,
    /// BR-IC-11); where an O group exists, the seller's tax number, the only
    /// seller identifier its e-invoice may carry (BR-O-02, BR-CO-26).
    /// Errors name the missing field.
    pub fn check(
        &self,
        seller: &SellerIdentity,
        buyer: &CustomerAccount,
        lines: &[InvoiceLine],
    ) -> Result<(), DomainError> {
        let outside_scope = lines.iter().any(|l| l.tax.category == VatCategoryCode::O);
        if outside_scope && seller.tax_number.is_none() {
            return Err(DomainError::invalid(
                "billing_entity.identity.tax_number",
                "an invoice not subject to German VAT must not carry VAT IDs in its e-invoice \
                 (EN 16931 BR-O-02); the seller is then identified by its tax number (BR-CO-26)",
            ));
        }
        let reverse_charge = lines.iter().any(|l| l.tax.category == VatCategoryCode::Ae);
        let intra_eu = lines.iter().any(|l| l.tax.category == VatCategoryCode::K);
        if !(reverse_charge || intra_eu) {
            return Ok(());
        }
        let what = if intra_eu {
            "an intra-EU supply of goods (§14a(3) UStG)"
        } else {
            "reverse charge to an EU business (§14a(1) UStG)"
        };
        if seller.vat_id.is_none() {
            return Err(DomainError::invalid(
                "billing_entity.identity.vat_id",
                format!("{what} needs the seller's VAT ID"),
            ));
        }
        if buyer.vat_id.is_none() {
            return Err(DomainError::invalid(
                "account.vat_id",
                format!("{what} needs the customer's VAT ID ({})", self.country),
            ));
        }
        if let Some(line) = lines
            .iter()
            .find(|l| l.tax.category == VatCategoryCode::K && l.service_period.is_none())
        {
            return Err(DomainError::invalid(
                format!("lines[{}].service_period", line.position - 1),
                "an intra-EU supply of goods needs its delivery date (§14(4) Nr. 6 UStG, \
                 EN 16931 BR-IC-11)",
            ));
        }
        Ok(())
    }
}

fn taxed(rate: Decimal) -> AppliedTax {
    AppliedTax {
        category: VatCategoryCode::S,
        rate,
        exemption: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use rust_decimal_macros::dec;

    fn customer(country: &str, kind: CustomerKind) -> CustomerAccount {
        let json = serde_json::json!({
            "id": "acc_1", "crm_id": "crm_1", "billing_entity_id": "ent_de",
            "name": "Kunde",
            "address": {"street": "Straße 1", "city": "Stadt", "country": country},
            "invoice_emails": ["kunde@example.org"],
            "language": "de", "currency": "EUR", "payment_terms_days": 14,
            "kind": kind,
        });
        serde_json::from_value(json).unwrap()
    }

    fn item(category: TaxCategory, kind: SupplyKind) -> Item {
        let mut item = Item::new(
            "x",
            dec!(1),
            Money::new(dec!(1), crate::money::Currency::EUR),
        );
        item.tax_category = category;
        item.kind = kind;
        item
    }

    #[test]
    fn category_mapping() {
        let rules = TaxRules::germany();
        let day = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let exempt = TaxCategory::Exempt(Exemption {
            reason: "Steuerfrei nach §4 Nr. 21 UStG".into(),
            reason_code: None,
        });
        let services = SupplyKind::Services;
        let goods = SupplyKind::Goods;
        let apply = |country, kind, category: &TaxCategory, supply| {
            rules
                .taxation(&customer(country, kind), day)
                .unwrap()
                .apply(0, &item(category.clone(), supply))
                .unwrap()
        };
        let b = CustomerKind::Business;
        assert_eq!(
            apply("DE", b, &TaxCategory::Standard, services),
            taxed(dec!(19))
        );
        assert_eq!(apply("DE", b, &TaxCategory::Reduced, goods), taxed(dec!(7)));
        assert_eq!(
            apply("DE", b, &TaxCategory::Zero, services).category,
            VatCategoryCode::Z
        );
        assert_eq!(
            apply("DE", b, &exempt, services).category,
            VatCategoryCode::E
        );
        assert_eq!(
            apply("AT", b, &TaxCategory::Standard, services).category,
            VatCategoryCode::Ae
        );
        let k = apply("AT", b, &TaxCategory::Standard, goods);
        assert_eq!(k.category, VatCategoryCode::K);
        assert_eq!(
            k.exemption.unwrap().reason_code.as_deref(),
            Some(VATEX_INTRA_EU_SUPPLY)
        );
        assert_eq!(
            apply("AT", b, &exempt, services).category,
            VatCategoryCode::E
        );
        let o = apply("CH", b, &exempt, services);
        assert_eq!(o.category, VatCategoryCode::O);
        assert_eq!(o.rate, Decimal::ZERO);
        assert_eq!(
            o.exemption.unwrap().reason_code.as_deref(),
            Some(VATEX_NOT_SUBJECT)
        );
        // A consumer outside the EU: electronically supplied services are
        // taxed where the consumer lives (§3a(5) UStG), not here.
        let c = CustomerKind::Consumer;
        assert_eq!(
            apply("US", c, &TaxCategory::Standard, services).category,
            VatCategoryCode::O
        );
        // Goods abroad other than to EU businesses are refused by name.
        for (country, kind) in [("US", c), ("CH", b)] {
            let err = rules
                .taxation(&customer(country, kind), day)
                .unwrap()
                .apply(3, &item(TaxCategory::Standard, goods))
                .unwrap_err();
            assert!(err.to_string().starts_with("lines[3].item.kind:"), "{err}");
        }
    }

    #[test]
    fn eu_standard_rates_by_country_and_date() {
        let table = EuStandardRates::european_commission();
        let on = |country: &str, y, m, d| {
            table
                .rate_on(
                    CountryCode::parse(country).unwrap(),
                    NaiveDate::from_ymd_opt(y, m, d).unwrap(),
                )
                .unwrap()
        };
        // All 27 member states, one entry from the OSS start each.
        let countries: std::collections::BTreeSet<_> =
            table.rates().iter().map(|r| r.country).collect();
        assert_eq!(countries.len(), 27);
        assert_eq!(on("AT", 2026, 1, 31), dec!(20));
        assert_eq!(on("FR", 2026, 1, 31), dec!(20));
        assert_eq!(on("HU", 2026, 1, 31), dec!(27));
        assert_eq!(on("FI", 2024, 8, 31), dec!(24));
        assert_eq!(on("FI", 2024, 9, 1), dec!(25.5));
        assert_eq!(on("EE", 2025, 6, 30), dec!(22));
        assert_eq!(on("EE", 2025, 7, 1), dec!(24));
        assert_eq!(on("RO", 2025, 8, 1), dec!(21));
        assert_eq!(on("SK", 2025, 1, 1), dec!(23));
        assert_eq!(on("LU", 2023, 6, 1), dec!(16));
        assert_eq!(on("LU", 2024, 6, 1), dec!(17));
        let before = NaiveDate::from_ymd_opt(2021, 6, 30).unwrap();
        assert!(table.rate_on(CountryCode::AT, before).is_err());
        // Configuration: checked on the way in, like the base-rate table.
        let json = serde_json::to_value(&table).unwrap();
        assert_eq!(
            serde_json::from_value::<EuStandardRates>(json).unwrap(),
            table
        );
        assert!(serde_json::from_str::<EuStandardRates>("[]").is_err());
        let ch = r#"[{"country":"CH","effective_from":"2024-01-01","standard_rate":"8.1"}]"#;
        assert!(serde_json::from_str::<EuStandardRates>(ch).is_err());
        let twice = r#"[{"country":"AT","effective_from":"2024-01-01","standard_rate":"20"},
                        {"country":"AT","effective_from":"2024-01-01","standard_rate":"21"}]"#;
        assert!(serde_json::from_str::<EuStandardRates>(twice).is_err());
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
    fn a_zero_standard_rate_is_refused_pointing_to_the_small_business_setting() {
        // Before, 0 % gave category S at 0 % on every invoice (BR-S-05).
        let mut rules = TaxRules::germany();
        rules.standard_rate = Decimal::ZERO;
        let err = rules.validate("billing_entity.tax_rules").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("billing_entity.tax_rules.standard_rate:"),
            "{text}"
        );
        assert!(
            text.contains("billing_entity.tax_rules.small_business"),
            "{text}"
        );
        rules.small_business = true;
        assert!(rules.validate("billing_entity.tax_rules").is_ok());
        // Stored rules without the new settings decode as before.
        let mut json = serde_json::to_value(TaxRules::germany()).unwrap();
        for field in ["intra_eu_supply_note", "small_business_note"] {
            json.as_object_mut().unwrap().remove(field);
        }
        assert_eq!(
            serde_json::from_value::<TaxRules>(json).unwrap(),
            TaxRules::germany()
        );
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
        assert_eq!(serde_json::to_string(&VatCategoryCode::K).unwrap(), "\"K\"");
        assert_eq!(
            serde_json::to_string(&TaxTreatment::Oss).unwrap(),
            "\"oss\""
        );
        let oss: EuConsumerServices = serde_json::from_str(r#"{"kind":"oss"}"#).unwrap();
        assert_eq!(
            oss,
            EuConsumerServices::Oss {
                standard_rates: EuStandardRates::european_commission()
            }
        );
        let below: EuConsumerServices =
            serde_json::from_str(r#"{"kind":"below_threshold"}"#).unwrap();
        assert_eq!(below, EuConsumerServices::BelowThreshold);
    }
}
