//! ISO 11649 structured creditor references ("RF references").
//!
//! An invoice carries an RF reference as its payment reference so that a
//! bank transfer names it unambiguously in `Strd/CdtrRefInf/Ref`; banks check
//! the two check digits (ISO 7064 mod 97-10, as for IBANs), so a mistyped
//! reference is refused at the payer's bank instead of reaching us.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::numbering::InvoiceNumber;

/// Longest creditor-chosen part of an RF reference (25 characters in all).
pub const MAX_REFERENCE_BODY: usize = 21;

/// A valid ISO 11649 creditor reference in electronic form: `RF`, two check
/// digits and 1–21 upper-case letters or digits, without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditorReference(String);

impl CreditorReference {
    /// The reference for `body` (letters and digits only, at most 21), with
    /// its check digits computed.
    pub fn from_body(body: &str) -> Result<Self, DomainError> {
        let body = body.to_ascii_uppercase();
        check_body(&body)?;
        let check = sepa::RfReference::check_digits_for(&body);
        Ok(Self(format!("RF{check}{body}")))
    }

    /// The reference an invoice is paid by, derived from its number alone
    /// (same number, same reference): the number's letters and digits,
    /// upper-cased. A number with more than 21 of them has no RF reference.
    pub fn for_invoice_number(number: &InvoiceNumber) -> Result<Self, DomainError> {
        let body: String = number
            .as_str()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        Self::from_body(&body).map_err(|e| match e {
            DomainError::Invalid { message, .. } => DomainError::invalid("number", message),
        })
    }

    /// Reads a reference as a payer or bank wrote it: spaces are ignored and
    /// case does not matter; the check digits must be right.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let refuse = |why: &str| Err(DomainError::invalid("creditor_reference", why));
        let Some(rest) = compact.strip_prefix("RF") else {
            return refuse("must start with RF");
        };
        if rest.len() < 3 || !rest.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
            return refuse("RF must be followed by two check digits and the reference");
        }
        let (check, body) = rest.split_at(2);
        check_body(body).map_err(|e| match e {
            DomainError::Invalid { message, .. } => {
                DomainError::invalid("creditor_reference", message)
            }
        })?;
        if sepa::RfReference::check_digits_for(body) != check {
            return refuse("check digits do not match");
        }
        Ok(Self(compact))
    }

    /// `text` as a creditor reference if it is one, however a payer or a
    /// CRM separated it (spaces, dots, hyphens); `None` for any other
    /// payment reference. Banks carry an RF reference as structured
    /// remittance, so matching stays exact.
    pub fn recognise(text: &str) -> Option<Self> {
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        Self::parse(&compact).ok()
    }

    /// Electronic form, e.g. `RF712026000123`: what goes into XML and the
    /// payment-reference index.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Print form in groups of four, e.g. `RF71 2026 0001 23`, for paper.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 6);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

fn check_body(body: &str) -> Result<(), DomainError> {
    if body.is_empty() || body.len() > MAX_REFERENCE_BODY {
        return Err(DomainError::invalid(
            "reference",
            format!("needs 1 to {MAX_REFERENCE_BODY} letters or digits"),
        ));
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Err(DomainError::invalid(
            "reference",
            "only letters A–Z and digits are allowed",
        ));
    }
    Ok(())
}

impl fmt::Display for CreditorReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CreditorReference {
    type Error = DomainError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CreditorReference> for String {
    fn from(reference: CreditorReference) -> Self {
        reference.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_standards_example_checks_out() {
        // ISO 11649's worked example: reference 539007547034 → RF18.
        let reference = CreditorReference::from_body("539007547034").unwrap();
        assert_eq!(reference.as_str(), "RF18539007547034");
        assert_eq!(reference.grouped(), "RF18 5390 0754 7034");
        assert_eq!(
            CreditorReference::parse("rf18 5390 0754 7034").unwrap(),
            reference
        );
        // Published examples with letters.
        assert!(CreditorReference::parse("RF45G72UUR").is_ok());
        assert!(CreditorReference::parse("RF6518K5").is_ok());
    }

    #[test]
    fn invoice_numbers_give_stable_references() {
        let number = InvoiceNumber::new("RE-2026-000123");
        let reference = CreditorReference::for_invoice_number(&number).unwrap();
        assert_eq!(reference.as_str(), "RF73RE2026000123");
        assert_eq!(
            CreditorReference::for_invoice_number(&number).unwrap(),
            reference
        );
        let long = InvoiceNumber::new("INVOICE-2026-0000000000000123");
        let err = CreditorReference::for_invoice_number(&long).unwrap_err();
        assert!(err.to_string().starts_with("number:"), "{err}");
    }

    #[test]
    fn references_are_recognised_however_they_were_separated() {
        let canonical = Some("RF18539007547034");
        let seen = |text: &str| CreditorReference::recognise(text);
        assert_eq!(
            seen("RF18539007547034")
                .as_ref()
                .map(CreditorReference::as_str),
            canonical
        );
        assert_eq!(
            seen("rf18 5390 0754 7034")
                .as_ref()
                .map(CreditorReference::as_str),
            canonical
        );
        assert_eq!(
            seen("RF18-5390.0754-7034")
                .as_ref()
                .map(CreditorReference::as_str),
            canonical
        );
        assert_eq!(seen("RF19539007547034"), None);
        assert_eq!(seen("RE-2026-000042"), None);
        assert_eq!(seen("RF18"), None);
        assert_eq!(seen("RFxx539007547034"), None);
    }

    #[test]
    fn wrong_check_digits_and_shapes_are_refused() {
        for bad in [
            "RF19539007547034",
            "RF1853900754703",
            "XX18539007547034",
            "RF",
            "RF18",
            "RFAB1234",
            "RF18-5390",
            "RF181234567890123456789012",
        ] {
            assert!(CreditorReference::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<CreditorReference>(r#""RF19539007547034""#).is_err());
        let ok: CreditorReference = serde_json::from_str(r#""RF18539007547034""#).unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#""RF18539007547034""#);
    }

    proptest! {
        #[test]
        fn every_generated_reference_validates_and_one_changed_digit_does_not(
            body in "[A-Z0-9]{1,21}",
            position in 0usize..21,
            delta in 1u32..10,
        ) {
            let reference = CreditorReference::from_body(&body).unwrap();
            prop_assert_eq!(CreditorReference::parse(reference.as_str()).unwrap(), reference.clone());
            prop_assert_eq!(reference.as_str().len(), body.len() + 4);
            // Mod 97 catches every single substituted digit.
            let mut chars: Vec<char> = reference.as_str().chars().collect();
            let index = 4 + position % body.len();
            if let Some(digit) = chars[index].to_digit(10) {
                chars[index] = char::from_digit((digit + delta) % 10, 10).unwrap();
                let changed: String = chars.into_iter().collect();
                prop_assert!(CreditorReference::parse(&changed).is_err());
            }
        }
    }
}
