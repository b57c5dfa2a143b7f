//! DATEV's EXTF format: the Buchungsstapel (category 21, format version
//! 13) and the Debitoren/Kreditoren master data (category 16, format
//! version 5), as `docs/research/datev-extf.md` describes them.
//!
//! A file is Windows-1252 without byte-order mark, lines end with CR LF
//! (the last one too), fields are separated by `;`. Line 1 is the
//! [`ExtfHeader`], line 2 the column headings exactly as DATEV's sample
//! files spell them, then one line per row with every column of the format
//! (125 or 254): text in double quotes with inner quotes doubled (empty text
//! as `""`), numbers and dates bare, amounts with a decimal comma, exactly
//! two decimals and no thousands separator.

mod bookings;
mod columns;
mod debtors;
mod field;
mod header;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod validator;

use chrono::{DateTime, NaiveDate, Utc};

use billing_domain::accounting::{AccountMapping, AccountingSettings};
use billing_domain::money::Currency;

use crate::{AccountingError, cp1252};
use columns::Column;
use header::{Category, HeaderFields};

pub use bookings::buchungsstapel;
pub use debtors::{DebtorMasterData, DebtorName, debitoren};
pub use header::MAX_DESCRIPTION;

/// What one export says about itself beyond the seller's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<'a> {
    /// First day the batch covers (`Datum vom`).
    pub date_from: NaiveDate,
    /// Last day the batch covers (`Datum bis`); same fiscal and calendar
    /// year as `date_from`.
    pub date_to: NaiveDate,
    /// When the export was made (`Erzeugt am`, written in UTC). An input,
    /// not the clock: exporting a period again with the stored timestamp
    /// gives the same bytes.
    pub created_at: DateTime<Utc>,
    /// The batch's name in DATEV (`Bezeichnung`): at most
    /// [`MAX_DESCRIPTION`] characters of `A-Z a-z 0-9 _ . - /` and space.
    pub description: &'a str,
    /// Whether DATEV locks the imported bookings (`Festschreibung`): set
    /// for a closed period the advisor must not change any more.
    pub locked: bool,
    /// The batch's currency (`WKZ`): the seller's booking currency. A
    /// booking in another currency is refused, since DATEV would need an
    /// exchange rate and the amount in this one.
    pub currency: Currency,
}

/// Line 1 of a DATEV file: who the data belongs to (consultant and client
/// number), how the books are kept (fiscal-year start, account length,
/// chart), which period it covers, and whether DATEV locks it.
///
/// Built from the seller's [`AccountingSettings`] and a [`Batch`]; it also
/// keeps the seller's [`AccountMapping`], which tells the Buchungsstapel
/// writer which accounts hold output VAT and which revenue account each
/// rate books to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtfHeader {
    fields: HeaderFields,
    accounts: AccountMapping,
}

impl ExtfHeader {
    /// Checks the settings and the batch against DATEV's rules, naming the
    /// field that breaks one: the settings must carry a consultant and a
    /// client number, the period must lie in one fiscal and one calendar
    /// year, the description must fit.
    pub fn new(settings: &AccountingSettings, batch: &Batch<'_>) -> Result<Self, AccountingError> {
        settings.validate("accounting")?;
        let missing = |field: &str, what: &str| {
            AccountingError::field(
                format!("accounting.{field}"),
                format!("the DATEV export needs the {what}"),
            )
        };
        let consultant_number = settings.consultant_number.ok_or_else(|| {
            missing(
                "consultant_number",
                "tax advisor's consultant number (Beraternummer)",
            )
        })?;
        let client_number = settings.client_number.ok_or_else(|| {
            missing(
                "client_number",
                "seller's client number at the advisor (Mandantennummer)",
            )
        })?;
        let fiscal_year_start =
            header::fiscal_year_start(batch.date_from, settings.fiscal_year_start)
                .ok_or_else(|| missing("fiscal_year_start", "month the fiscal year starts in"))?;
        let fields = HeaderFields {
            consultant_number,
            client_number,
            fiscal_year_start,
            account_length: settings.account_length,
            chart_code: settings.chart.datev_code(),
            date_from: batch.date_from,
            date_to: batch.date_to,
            created_at: batch.created_at,
            description: batch.description.to_owned(),
            locked: batch.locked,
            currency: batch.currency,
        };
        fields.check()?;
        Ok(Self {
            fields,
            accounts: settings.accounts.clone(),
        })
    }
}

/// One data row under construction: every column empty until set.
struct Row {
    columns: &'static [Column],
    values: Vec<Option<String>>,
}

impl Row {
    fn new(columns: &'static [Column]) -> Self {
        Self {
            columns,
            values: vec![None; columns.len()],
        }
    }

    /// Sets the column DATEV calls `heading` to an already encoded value.
    fn set(&mut self, heading: &str, value: String) {
        let at = columns::position(self.columns, heading);
        self.values[at - 1] = Some(value);
    }

    /// The row as one line: unset text columns as `""`, others empty.
    fn line(&self) -> String {
        self.columns
            .iter()
            .zip(&self.values)
            .map(|(column, value)| match value {
                Some(value) => value.clone(),
                None if column.kind.quoted() => field::quote(""),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// A whole file: header, headings, rows, each line ended by CR LF, in
/// Windows-1252.
fn write_file(
    header: &ExtfHeader,
    category: Category,
    columns: &[Column],
    rows: &[Row],
) -> Vec<u8> {
    let mut text = header.fields.line(category);
    text.push_str("\r\n");
    let headings: Vec<&str> = columns.iter().map(|c| c.heading).collect();
    text.push_str(&headings.join(";"));
    text.push_str("\r\n");
    for row in rows {
        text.push_str(&row.line());
        text.push_str("\r\n");
    }
    cp1252::encode(&text)
}
#[cfg(test)]
mod writer_tests;
