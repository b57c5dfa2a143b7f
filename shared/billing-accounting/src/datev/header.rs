//! Line 1 of every EXTF file: the 31 header fields (research note §1).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use billing_domain::money::Currency;

use super::field;
use crate::AccountingError;

/// The two EXTF categories this crate writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// Buchungsstapel: category 21, format version 13.
    Bookings,
    /// Debitoren/Kreditoren: category 16, format version 5.
    Debtors,
}

impl Category {
    pub(crate) fn number(self) -> u8 {
        match self {
            Self::Bookings => 21,
            Self::Debtors => 16,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bookings => "Buchungsstapel",
            Self::Debtors => "Debitoren/Kreditoren",
        }
    }

    pub(crate) fn version(self) -> u8 {
        match self {
            Self::Bookings => 13,
            Self::Debtors => 5,
        }
    }
}

/// Longest batch name (`Bezeichnung`, header field 17).
pub const MAX_DESCRIPTION: usize = 30;

/// What the header says besides the seller's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderFields {
    pub(crate) consultant_number: u32,
    pub(crate) client_number: u32,
    pub(crate) fiscal_year_start: NaiveDate,
    pub(crate) account_length: u8,
    pub(crate) chart_code: &'static str,
    pub(crate) date_from: NaiveDate,
    pub(crate) date_to: NaiveDate,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) description: String,
    pub(crate) locked: bool,
    pub(crate) currency: Currency,
}

/// The first day of the fiscal year that contains `date`, for a fiscal
/// year starting in `start_month`.
pub(crate) fn fiscal_year_start(date: NaiveDate, start_month: u32) -> Option<NaiveDate> {
    let year = if date.month() >= start_month {
        date.year()
    } else {
        date.year() - 1
    };
    NaiveDate::from_ymd_opt(year, start_month, 1)
}

impl HeaderFields {
    /// Refuses what DATEV would refuse, naming the header field: the
    /// period must run forwards inside one fiscal year and one calendar
    /// year (DATEV takes each Belegdatum's year from the header), the
    /// numbers must lie in DATEV's ranges, the created-at timestamp in the
    /// years its 17 digits allow, and the batch name must be short and plain.
    pub(crate) fn check(&self) -> Result<(), AccountingError> {
        let refuse = |field: &str, message: String| Err(AccountingError::field(field, message));
        if !(1001..=9_999_999).contains(&self.consultant_number) {
            return refuse(
                "header.Beraternummer",
                format!(
                    "{} is not a DATEV consultant number (1001..=9999999)",
                    self.consultant_number
                ),
            );
        }
        if !(1..=99_999).contains(&self.client_number) {
            return refuse(
                "header.Mandantennummer",
                format!(
                    "{} is not a DATEV client number (1..=99999)",
                    self.client_number
                ),
            );
        }
        if !(4..=8).contains(&self.account_length) {
            return refuse(
                "header.Sachkontenlänge",
                format!(
                    "{} is not a DATEV account length (4..=8)",
                    self.account_length
                ),
            );
        }
        if self.date_from > self.date_to {
            return refuse(
                "header.Datum vom",
                format!("{} is after Datum bis {}", self.date_from, self.date_to),
            );
        }
        if self.date_from.year() != self.date_to.year() {
            return refuse(
                "header.Datum bis",
                "a batch covers one calendar year: DATEV reads each Belegdatum's year from the header"
                    .to_owned(),
            );
        }
        let fiscal_end = self
            .fiscal_year_start
            .checked_add_months(Months::new(12))
            .unwrap_or(NaiveDate::MAX);
        if self.date_from < self.fiscal_year_start || self.date_to >= fiscal_end {
            return refuse(
                "header.Datum bis",
                format!(
                    "the period {}..={} leaves the fiscal year starting {}",
                    self.date_from, self.date_to, self.fiscal_year_start
                ),
            );
        }
        if !(2000..=2099).contains(&self.created_at.year()) {
            return refuse(
                "header.Erzeugt am",
                format!(
                    "{} is outside the years DATEV's timestamp allows",
                    self.created_at
                ),
            );
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ' ');
        if self.description.chars().count() > MAX_DESCRIPTION
            || !self.description.chars().all(plain)
        {
            return refuse(
                "header.Bezeichnung",
                format!(
                    "`{}` must be at most {MAX_DESCRIPTION} characters of A-Z, a-z, 0-9, _ . - / and space",
                    self.description
                ),
            );
        }
        Ok(())
    }

    /// The header line in DATEV's own quoting pattern (research note §1:
    /// fields 7, 23, 25, 26, 28, 29 bare and empty, 24 and 30 as `""`).
    /// The Debitoren/Kreditoren header leaves the period, Buchungstyp,
    /// Rechnungslegungszweck, Festschreibung and currency empty, as
    /// DATEV's example does.
    pub(crate) fn line(&self, category: Category) -> String {
        let bookings = category == Category::Bookings;
        let when = |value: String| if bookings { value } else { String::new() };
        let fields: [String; 31] = [
            field::quote("EXTF"),
            "700".to_owned(),
            category.number().to_string(),
            field::quote(category.name()),
            category.version().to_string(),
            self.created_at.format("%Y%m%d%H%M%S%3f").to_string(),
            String::new(),
            // Herkunft: DATEV's example value; DATEV overwrites it on import.
            field::quote("RE"),
            // Exportiert von: a person's name would be personal data in a
            // file that travels; left empty.
            field::quote(""),
            field::quote(""),
            self.consultant_number.to_string(),
            self.client_number.to_string(),
            field::header_date(self.fiscal_year_start),
            self.account_length.to_string(),
            when(field::header_date(self.date_from)),
            when(field::header_date(self.date_to)),
            field::quote(&self.description),
            // Diktatkürzel: initials of a person; left empty.
            field::quote(""),
            // Buchungstyp 1 = Finanzbuchführung.
            when("1".to_owned()),
            // Rechnungslegungszweck 0 = independent of purpose.
            when("0".to_owned()),
            when(field::flag(self.locked)),
            field::quote(if bookings { self.currency.code() } else { "" }),
            String::new(),
            field::quote(""),
            String::new(),
            String::new(),
            field::quote(self.chart_code),
            String::new(),
            String::new(),
            field::quote(""),
            field::quote(""),
        ];
        fields.join(";")
    }
}
