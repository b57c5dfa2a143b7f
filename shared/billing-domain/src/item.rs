//! What is sold: items with quantity, unit, price and tax category, one-off
//! charges parked for the next invoice, and the line to bill that a
//! contract's period or a parked charge becomes ([`BillableLine`]).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{
    AccountId, OpportunityId, PendingChargeId, ProductCode, SubscriptionId, SubscriptionItemId,
    checked_string,
};
use crate::money::{Currency, Money};
use crate::period::ServicePeriod;
use crate::tax::{SupplyKind, TaxCategory};

fn check_unit_code(value: &str) -> Result<String, DomainError> {
    let ok = (1..=3).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(DomainError::invalid(
            "unit",
            format!(
                "`{value}` is not a UN/ECE Recommendation 20 code (1-3 upper-case letters or digits)"
            ),
        ))
    }
}

checked_string!(
    /// A UN/ECE Recommendation 20 unit code, as EN 16931 requires for
    /// quantities (BT-130). Only the shape is checked; the code list has
    /// some 2,000 entries and the common ones have constructors here.
    UnitCode,
    check_unit_code
);

impl UnitCode {
    fn known(code: &str) -> Self {
        Self(code.to_owned())
    }

    /// `C62`, one piece (also "unit", the usual default).
    pub fn piece() -> Self {
        Self::known("C62")
    }

    /// `HUR`, an hour of work.
    pub fn hour() -> Self {
        Self::known("HUR")
    }

    /// `DAY`, a day.
    pub fn day() -> Self {
        Self::known("DAY")
    }

    /// `WEE`, a week.
    pub fn week() -> Self {
        Self::known("WEE")
    }

    /// `MON`, a month: monthly subscription fees.
    pub fn month() -> Self {
        Self::known("MON")
    }

    /// `QAN`, a quarter of a year.
    pub fn quarter() -> Self {
        Self::known("QAN")
    }

    /// `ANN`, a year: annual subscription fees.
    pub fn year() -> Self {
        Self::known("ANN")
    }

    /// `LS`, a lump sum: fixed-price services.
    pub fn lump_sum() -> Self {
        Self::known("LS")
    }

    /// `KWH`, a kilowatt hour: metered usage.
    pub fn kilowatt_hour() -> Self {
        Self::known("KWH")
    }
}

/// One thing sold: the common shape of subscription items, one-off charges
/// and invoice lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// What the customer sees on the invoice (BT-153).
    pub description: String,
    /// How many units; may be fractional (hours) or negative (a refund).
    pub quantity: Decimal,
    /// Unit of the quantity.
    pub unit: UnitCode,
    /// Price per unit; may carry more decimals than the currency.
    pub unit_price: Money,
    /// Which VAT rate the item falls under.
    pub tax_category: TaxCategory,
    /// Services (the default) or goods: decides reverse charge vs. an
    /// intra-EU supply for EU businesses (§3a(2) vs §6a UStG).
    #[serde(default, skip_serializing_if = "SupplyKind::is_services")]
    pub kind: SupplyKind,
    /// The seller's article number, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<ProductCode>,
}

impl Item {
    /// An item in the most common shape: so many pieces at a price, standard
    /// rate.
    pub fn new(description: impl Into<String>, quantity: Decimal, unit_price: Money) -> Self {
        Self {
            description: description.into(),
            quantity,
            unit: UnitCode::piece(),
            unit_price,
            tax_category: TaxCategory::Standard,
            kind: SupplyKind::Services,
            product_code: None,
        }
    }

    /// Checks what an invoice line needs from the item: a description, the
    /// invoice currency and, if exempt, a reason; errors name fields below
    /// `field` (e.g. `items[3].item`).
    pub fn validate(&self, field: &str, currency: Currency) -> Result<(), DomainError> {
        self.validate_at(currency, || field.to_owned())
    }

    /// [`Item::validate`] with the field name built only when something is
    /// wrong, so validating a clean 500-line run allocates nothing.
    pub fn validate_at(
        &self,
        currency: Currency,
        field: impl Fn() -> String,
    ) -> Result<(), DomainError> {
        let at = |name: &str| format!("{}.{name}", field());
        if self.description.trim().is_empty() {
            return Err(DomainError::invalid(at("description"), "must not be blank"));
        }
        if self.unit_price.currency() != currency {
            return self
                .unit_price
                .ensure_currency(currency, &at("unit_price.currency"));
        }
        match &self.tax_category {
            TaxCategory::Exempt(exemption) if exemption.reason.trim().is_empty() => Err(
                DomainError::invalid(at("tax_category.reason"), "must not be blank"),
            ),
            _ => Ok(()),
        }
    }

    /// The line's net amount: quantity × unit price, rounded once to the
    /// minor unit (half away from zero).
    pub fn net_amount(&self) -> Result<Money, DomainError> {
        Ok(self.unit_price.times(self.quantity)?.round())
    }
}

/// A one-off charge waiting to ride on the account's next invoice (e.g. an
/// opportunity won with "bill with next invoice").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCharge {
    /// Our id, marked as billed when the invoice is finalized.
    pub id: PendingChargeId,
    /// The account whose next invoice carries it.
    pub account_id: AccountId,
    /// The opportunity it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opportunity_id: Option<OpportunityId>,
    /// What is charged.
    pub item: Item,
    /// When the service was rendered (a single day is a one-day period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_period: Option<ServicePeriod>,
}

impl PendingCharge {
    /// The invoice line this charge becomes, traceable back to the charge.
    pub fn to_billable_line(&self) -> BillableLine {
        BillableLine {
            item: self.item.clone(),
            service_period: self.service_period,
            source: Some(LineSource::PendingCharge {
                pending_charge_id: self.id.clone(),
            }),
        }
    }
}

/// Where a line came from, so the run can mark exactly that period or charge
/// as billed in the same transaction that stores the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineSource {
    /// A recurring item of a subscription (the period is on the line).
    Subscription {
        /// The subscription billed.
        subscription_id: SubscriptionId,
        /// The item within it, when the subscription has several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_id: Option<SubscriptionItemId>,
    },
    /// A parked one-off charge.
    PendingCharge {
        /// The charge billed.
        pending_charge_id: PendingChargeId,
    },
    /// An opportunity invoiced directly.
    Opportunity {
        /// The opportunity billed.
        opportunity_id: OpportunityId,
    },
}

/// One line to bill, as the schedule and pending charges produce it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillableLine {
    /// What is sold, at which price and tax category.
    pub item: Item,
    /// The period or day the line pays for (§14 UStG service date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_period: Option<ServicePeriod>,
    /// Where the line came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LineSource>,
}

impl BillableLine {
    /// A line without period or source; add them with the `with_` methods.
    pub fn new(item: Item) -> Self {
        Self {
            item,
            service_period: None,
            source: None,
        }
    }

    /// The line pays for `period`.
    pub fn with_period(mut self, period: ServicePeriod) -> Self {
        self.service_period = Some(period);
        self
    }

    /// The line came from `source`.
    pub fn with_source(mut self, source: LineSource) -> Self {
        self.source = Some(source);
        self
    }
}
