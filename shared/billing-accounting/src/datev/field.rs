//! How one value becomes one DATEV field (research note §2.4 and §4).
//!
//! Descriptive text (booking texts, names, streets) is made representable
//! in Windows-1252 and cut at the column's length: DATEV has no room for
//! more, and the full text stays on our own documents. Identifiers
//! (document numbers, accounts, VAT IDs) are never cut or replaced: one
//! that does not fit is an error naming the field, because a changed
//! document number would no longer clear its invoice in DATEV's open items.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::AccountingError;
use crate::cp1252;

/// The characters DATEV accepts in `Belegfeld 1`/`Belegfeld 2` in every
/// source the research note compared (`A–Z a–z 0–9 $ % & * + - /`).
pub(crate) fn is_document_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '$' | '%' | '&' | '*' | '+' | '-' | '/')
}

/// A text field: representable in Windows-1252, at most `max` characters,
/// quotes doubled, in double quotes.
pub(crate) fn text(value: &str, max: usize) -> String {
    let cut: String = cp1252::representable(value).chars().take(max).collect();
    quote(&cut)
}

/// `value` in double quotes with inner quotes doubled.
pub(crate) fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A document reference (`Belegfeld 1`): 1 to `max` characters of the safe
/// set, quoted; otherwise an error naming `field`.
pub(crate) fn document(value: &str, max: usize, field: &str) -> Result<String, AccountingError> {
    if value.is_empty() {
        return Err(AccountingError::field(field, "must not be empty"));
    }
    if let Some(bad) = value.chars().find(|c| !is_document_char(*c)) {
        return Err(AccountingError::field(
            field,
            format!(
                "`{value}` contains {bad:?}; DATEV accepts only A-Z, a-z, 0-9 and $ % & * + - / here"
            ),
        ));
    }
    if value.chars().count() > max {
        return Err(AccountingError::field(
            field,
            format!("`{value}` is longer than DATEV's {max} characters"),
        ));
    }
    Ok(quote(value))
}

/// An amount as DATEV writes it: without sign, comma, exactly 2 decimals,
/// at most 10 digits before the comma, no thousands separator; zero and
/// amounts finer than a cent are refused, naming `field`.
pub(crate) fn amount(value: Decimal, field: &str) -> Result<String, AccountingError> {
    let value = value.abs();
    if value.is_zero() {
        return Err(AccountingError::field(
            field,
            "DATEV refuses an amount of 0,00",
        ));
    }
    if value.round_dp(2) != value {
        return Err(AccountingError::field(
            field,
            format!("{value} has more than 2 decimal places"),
        ));
    }
    let cents = (value * Decimal::ONE_HUNDRED).trunc();
    let cents = i128::try_from(cents)
        .ok()
        .filter(|c| *c < 1_000_000_000_000)
        .ok_or_else(|| {
            AccountingError::field(
                field,
                format!("{value} has more than 10 digits before the comma"),
            )
        })?;
    Ok(format!("{},{:02}", cents / 100, cents % 100))
}

/// An account number as the books write it (SKR04's fixed-asset accounts
/// keep their leading zero): digits only, not all zeros, at most
/// `max_digits`; otherwise an error naming `field`.
pub(crate) fn account(
    value: &str,
    max_digits: usize,
    field: &str,
) -> Result<String, AccountingError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    if !digits || value.bytes().all(|b| b == b'0') {
        return Err(AccountingError::field(
            field,
            format!("`{value}` is not an account number (digits, not all zeros)"),
        ));
    }
    if value.len() > max_digits {
        return Err(AccountingError::field(
            field,
            format!("`{value}` has more than the {max_digits} digits this file allows"),
        ));
    }
    Ok(value.to_owned())
}

/// A number of at most `max_digits` digits, bare; otherwise an error
/// naming `field`.
pub(crate) fn number(
    value: u64,
    max_digits: usize,
    field: &str,
) -> Result<String, AccountingError> {
    let text = value.to_string();
    if text.len() > max_digits {
        return Err(AccountingError::field(
            field,
            format!("{value} has more than DATEV's {max_digits} digits"),
        ));
    }
    Ok(text)
}

/// `DDMM`, the Belegdatum (the year comes from the header).
pub(crate) fn day_month(date: NaiveDate) -> String {
    format!("{:02}{:02}", date.day(), date.month())
}

/// `YYYYMMDD`, the header's dates.
pub(crate) fn header_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// `0` or `1`.
pub(crate) fn flag(value: bool) -> String {
    if value { "1" } else { "0" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_have_a_comma_two_decimals_no_sign_and_no_thousands_separator() {
        assert_eq!(amount(dec!(1190), "f").unwrap(), "1190,00");
        assert_eq!(amount(dec!(-1234567.5), "f").unwrap(), "1234567,50");
        assert_eq!(amount(dec!(0.01), "f").unwrap(), "0,01");
        assert_eq!(amount(dec!(9999999999.99), "f").unwrap(), "9999999999,99");
    }

    #[test]
    fn amounts_that_do_not_fit_are_errors_naming_the_field() {
        for bad in [dec!(0), dec!(0.001), dec!(10000000000)] {
            let err = amount(bad, "bookings[0].Umsatz (ohne Soll/Haben-Kz)").unwrap_err();
            assert!(err.to_string().starts_with("bookings[0].Umsatz"), "{err}");
        }
    }

    #[test]
    fn text_is_cut_at_the_column_length_and_quotes_are_doubled() {
        assert_eq!(text("Say \"hi\"", 60), "\"Say \"\"hi\"\"\"");
        assert_eq!(text(&"x".repeat(70), 60), format!("\"{}\"", "x".repeat(60)));
        assert_eq!(text("a\r\nb", 60), "\"a  b\"");
    }

    #[test]
    fn document_numbers_are_never_changed_only_refused() {
        assert_eq!(
            document("RE-2026/0001", 36, "f").unwrap(),
            "\"RE-2026/0001\""
        );
        for bad in ["RE 1", "RE_1", "RÉ-1", "", &"1".repeat(37)] {
            let err = document(bad, 36, "bookings[2].Belegfeld 1").unwrap_err();
            assert!(
                err.to_string().starts_with("bookings[2].Belegfeld 1: "),
                "{err}"
            );
        }
    }

    #[test]
    fn accounts_are_digits_not_all_zeros_within_their_length() {
        assert_eq!(account("10000", 5, "f").unwrap(), "10000");
        assert_eq!(account("0135", 5, "f").unwrap(), "0135");
        for bad in ["", "0000", "12a4", "100000"] {
            assert!(account(bad, 5, "Konto").is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_have_leading_zeros() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 5).unwrap();
        assert_eq!(day_month(d), "0502");
        assert_eq!(header_date(d), "20260205");
    }
}
