//! How long an archived document must be kept, and until when it is locked.
//!
//! The retention period of invoices (and of the other documents of the
//! books) starts with the end of the calendar year in which the document
//! was issued (§147(4) AO; for invoices §14b(1) sentence 3 UStG), not on
//! the day it was archived. An invoice of 2 January 2026 with a retention
//! of 8 years (§14b(1) UStG, §147(3) AO since 2025) must be kept until the
//! end of 2034, so its archive lock runs until 1 January 2035. The bucket's
//! default lock (years from the upload) would end too early for every
//! document archived in the year it was issued.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use crate::DomainError;

/// The archive's lock mode, as S3 Object Lock names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Privileged users may shorten or lift the lock (test stacks).
    Governance,
    /// Nobody can delete before the date, not even the account's root.
    Compliance,
}

impl LockMode {
    /// The name S3 and the template use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }
}

/// The seller's archive retention: a lock mode and a number of years after
/// the end of the issuing year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    mode: LockMode,
    years: u16,
}

impl Retention {
    /// The retention the template configures (`DocumentRetentionMode`,
    /// `DocumentRetentionYears`); refuses what S3 would refuse.
    pub fn parse(mode: &str, years: &str) -> Result<Self, DomainError> {
        let mode = match mode {
            "GOVERNANCE" => LockMode::Governance,
            "COMPLIANCE" => LockMode::Compliance,
            other => {
                return Err(DomainError::invalid(
                    "DOCUMENT_RETENTION_MODE",
                    format!("{other:?} is not GOVERNANCE or COMPLIANCE"),
                ));
            }
        };
        let years = years
            .parse::<u16>()
            .ok()
            .filter(|y| (1..=100).contains(y))
            .ok_or_else(|| {
                DomainError::invalid(
                    "DOCUMENT_RETENTION_YEARS",
                    format!("{years:?} is not a whole number of years from 1 to 100"),
                )
            })?;
        Ok(Self { mode, years })
    }

    /// The retention of a sent business letter (a dunning letter): six
    /// years after the end of the year it was sent (§147(1) no. 3, (3) AO,
    /// §257(1) no. 3, (4) HGB), in the same lock mode.
    pub fn for_business_letters(self) -> Self {
        Self {
            mode: self.mode,
            years: 6,
        }
    }

    /// The retention of the books and records themselves: the booking
    /// journal and its DATEV export, ten years after the end of the year
    /// of their last entry (§147(1) Nr. 1, (3) sentence 1, (4) AO; the
    /// eight years of invoices and other vouchers do not apply to them),
    /// in `mode` (the archive bucket's).
    pub fn for_books(mode: LockMode) -> Self {
        Self { mode, years: 10 }
    }

    /// The lock mode.
    pub fn mode(self) -> LockMode {
        self.mode
    }

    /// The first moment a document issued on `issued` may be deleted:
    /// 1 January (UTC) after the last year of its retention period, which
    /// begins at the end of the issuing year (§147(4) AO).
    pub fn locked_until(self, issued: NaiveDate) -> DateTime<Utc> {
        let year = issued.year() + 1 + i32::from(self.years);
        // 1 January of a year within chrono's range always exists.
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_period_starts_at_the_end_of_the_issuing_year() {
        // §147(4) AO: an invoice of 2 January 2026 and one of 31 December
        // 2026 are both kept through 2034 (8 years after the end of 2026).
        let retention = Retention::parse("COMPLIANCE", "8").unwrap();
        let end = Utc.with_ymd_and_hms(2035, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(retention.locked_until(date(2026, 1, 2)), end);
        assert_eq!(retention.locked_until(date(2026, 12, 31)), end);
        assert_eq!(
            retention.locked_until(date(2027, 1, 1)),
            Utc.with_ymd_and_hms(2036, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(retention.mode(), LockMode::Compliance);
    }

    #[test]
    fn letters_are_kept_six_years_after_the_year_they_were_sent() {
        // §147(3) AO: a dunning letter of 15 March 2026 is kept through 2032.
        let letters = Retention::parse("GOVERNANCE", "8")
            .unwrap()
            .for_business_letters();
        assert_eq!(
            letters.locked_until(date(2026, 3, 15)),
            Utc.with_ymd_and_hms(2033, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(letters.mode(), LockMode::Governance);
    }

    #[test]
    fn the_books_are_kept_ten_years_after_the_year_of_their_last_entry() {
        // §147(1) Nr. 1, (3) AO: the journal of December 2026 is kept
        // through 2036, two years longer than the invoices it books.
        let books = Retention::for_books(LockMode::Compliance);
        assert_eq!(
            books.locked_until(date(2026, 12, 31)),
            Utc.with_ymd_and_hms(2037, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(books.mode(), LockMode::Compliance);
    }

    #[test]
    fn a_lock_counted_from_the_upload_would_end_too_early() {
        // The bucket's default (8 years from archiving) for an invoice
        // issued and archived on 2 January 2026 ends on 2 January 2034, a
        // year before the law allows deletion.
        let retention = Retention::parse("GOVERNANCE", "8").unwrap();
        let from_upload = Utc.with_ymd_and_hms(2034, 1, 2, 0, 0, 0).unwrap();
        assert!(retention.locked_until(date(2026, 1, 2)) > from_upload);
    }

    #[test]
    fn what_s3_would_refuse_is_refused_by_name() {
        let err = Retention::parse("LEGAL_HOLD", "8").unwrap_err();
        assert!(err.to_string().starts_with("DOCUMENT_RETENTION_MODE:"));
        for years in ["0", "eight", "-1", "101", ""] {
            let err = Retention::parse("GOVERNANCE", years).unwrap_err();
            assert!(
                err.to_string().starts_with("DOCUMENT_RETENTION_YEARS:"),
                "{years}"
            );
        }
    }
}
