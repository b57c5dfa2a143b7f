//! The quarterly One-Stop-Shop summary (§18j UStG): per member state of
//! consumption and rate, the taxable amount and the VAT of the OSS invoices
//! and credit notes issued in a quarter, the figures the seller declares to
//! the Bundeszentralamt für Steuern by the end of the following month.
//!
//! A credit note reduces the quarter of the supply it corrects: within the
//! same quarter it simply nets; for an earlier quarter it is a correction
//! of that quarter's return, which since July 2021 is made in a later
//! return naming the member state, the corrected period and the amount
//! (Art. 61 of Implementing Regulation (EU) No 282/2011). Each row
//! therefore carries the quarter it belongs to.
//!
//! Amounts stay in the invoice currency; the return is in euros, and
//! amounts in other currencies are converted at the ECB rate of the
//! quarter's last day (Art. 366 VAT Directive), which is left to whoever
//! files the return.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;
use crate::invoice::Invoice;
use crate::money::{Currency, Money};
use crate::numbering::DocumentType;
use crate::party::CountryCode;
use crate::tax::{TaxTreatment, VatCategoryCode};

/// A calendar quarter, the OSS tax period, written `2026-Q1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quarter {
    year: i32,
    quarter: u8,
}

impl Quarter {
    /// Quarter `quarter` (1 to 4) of `year`; anything else names `quarter`.
    pub fn new(year: i32, quarter: u8) -> Result<Self, DomainError> {
        if !(1..=4).contains(&quarter) || !(2000..=9999).contains(&year) {
            return Err(DomainError::invalid(
                "quarter",
                format!("{year}-Q{quarter} is no quarter (year 2000 to 9999, Q1 to Q4)"),
            ));
        }
        Ok(Self { year, quarter })
    }

    /// The quarter `date` lies in.
    pub fn of(date: NaiveDate) -> Self {
        let quarter = u8::try_from(date.month0() / 3 + 1).unwrap_or(4);
        Self {
            year: date.year(),
            quarter,
        }
    }

    /// Its first day.
    pub fn first_day(&self) -> NaiveDate {
        let month = u32::from(self.quarter) * 3 - 2;
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or_default()
    }

    /// Its last day.
    pub fn last_day(&self) -> NaiveDate {
        let next = if self.quarter == 4 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, u32::from(self.quarter) * 3 + 1, 1)
        };
        next.and_then(|d| d.pred_opt()).unwrap_or_default()
    }

    /// Whether `date` lies in it.
    pub fn contains(&self, date: NaiveDate) -> bool {
        Self::of(date) == *self
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

impl FromStr for Quarter {
    type Err = DomainError;

    /// `2026-Q1` (or `2026-q1`).
    fn from_str(text: &str) -> Result<Self, DomainError> {
        let refuse =
            || DomainError::invalid("quarter", format!("`{text}` is not a quarter like 2026-Q1"));
        let (year, quarter) = text.trim().split_once(['-']).ok_or_else(refuse)?;
        let quarter = quarter
            .strip_prefix(['Q', 'q'])
            .and_then(|q| q.parse::<u8>().ok())
            .ok_or_else(refuse)?;
        let year = year.parse::<i32>().map_err(|_| refuse())?;
        Self::new(year, quarter)
    }
}

impl Serialize for Quarter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One line of the OSS return: a member state, a rate, and what was
/// supplied there at that rate in `period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OssRow {
    /// The quarter of the supplies: the summary's quarter, or an earlier
    /// one that credit notes of this quarter correct.
    pub period: Quarter,
    /// Member state of consumption (the customer's country).
    pub country: CountryCode,
    /// Its standard rate applied, in percent.
    pub rate: Decimal,
    /// Sum of taxable amounts: invoices add, credit notes subtract.
    pub taxable_amount: Money,
    /// Sum of the VAT, signed the same way.
    pub tax_amount: Money,
    /// How many invoices and credit notes went into the row.
    pub documents: usize,
}

/// What the seller declares for a quarter through the One-Stop-Shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OssSummary {
    /// The quarter declared.
    pub quarter: Quarter,
    /// Rows by period (the quarter itself first, then corrections of
    /// earlier quarters, newest first), country, rate and currency.
    pub rows: Vec<OssRow>,
}

/// Sums the OSS invoices and credit notes among `documents` issued in
/// `quarter` per (period, country, rate, currency). Documents of other
/// quarters or other treatments are skipped, so a caller may pass more
/// than the quarter; a document's country is its customer's (the place of
/// supply of an OSS invoice, §3a(5) UStG).
pub fn oss_summary<'a>(
    quarter: Quarter,
    documents: impl IntoIterator<Item = &'a Invoice>,
) -> Result<OssSummary, DomainError> {
    type Key = (std::cmp::Reverse<Quarter>, CountryCode, Decimal, Currency);
    let mut rows: BTreeMap<Key, OssRow> = BTreeMap::new();
    for document in documents {
        let content = document.content();
        if content.tax_treatment != TaxTreatment::Oss || !quarter.contains(content.issue_date) {
            continue;
        }
        let (period, sign) = match content.document_type {
            DocumentType::Invoice => (quarter, Decimal::ONE),
            DocumentType::CreditNote => (
                content
                    .references
                    .preceding_invoice_date
                    .map_or(quarter, Quarter::of),
                Decimal::NEGATIVE_ONE,
            ),
        };
        let country = content.buyer.address.country;
        for group in &content.tax_breakdown {
            if group.category != VatCategoryCode::S {
                continue;
            }
            let currency = content.currency;
            let key = (
                std::cmp::Reverse(period),
                country,
                group.rate.normalize(),
                currency,
            );
            let row = rows.entry(key).or_insert_with(|| OssRow {
                period,
                country,
                rate: group.rate.normalize(),
                taxable_amount: Money::zero(currency),
                tax_amount: Money::zero(currency),
                documents: 0,
            });
            row.taxable_amount = row
                .taxable_amount
                .checked_add(group.taxable_amount.times(sign)?)?;
            row.tax_amount = row.tax_amount.checked_add(group.tax_amount.times(sign)?)?;
            row.documents += 1;
        }
    }
    Ok(OssSummary {
        quarter,
        rows: rows.into_values().collect(),
    })
}
