//! Matching a bank credit to open invoices: which invoice numbers a
//! remittance text names, whether an amount is close enough to an open
//! amount, and how one transfer is split over several invoices.
//!
//! The rules are tried in a fixed order (creditor reference, invoice number
//! in the text, open amount of the payer's invoices); the store looks the
//! candidates up, this module decides. Every booking carries the rule that
//! matched and why, so staff can check the machine's reasoning.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::InvoiceId;
use crate::money::{Currency, Money};
use crate::numbering::{InvoiceNumber, NumberSeries};

/// Which matching rule booked a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The ISO 11649 reference in `Strd/CdtrRefInf`.
    CreditorReference,
    /// An invoice number in the unstructured remittance text.
    InvoiceNumber,
    /// The amount equals (within tolerance) one open invoice of the payer.
    OpenAmount,
    /// A return or reversal of a payment booked before.
    Return,
    /// Recorded by a billing clerk (a cheque, cash, a transfer the rules
    /// could not match).
    Manual,
    /// Customer credit applied to an invoice by a billing clerk.
    Credit,
}

impl MatchRule {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreditorReference => "creditor_reference",
            Self::InvoiceNumber => "invoice_number",
            Self::OpenAmount => "open_amount",
            Self::Return => "return",
            Self::Manual => "manual",
            Self::Credit => "credit",
        }
    }
}

/// How far a transfer may differ from an open amount and still be taken for
/// it (rule 3): the larger of an absolute amount and a percentage of the open
/// amount. Configured on the billing entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountTolerance {
    /// Absolute difference allowed, in the entity's currency units.
    #[serde(default)]
    pub absolute: Decimal,
    /// Difference allowed in percent of the open amount.
    #[serde(default)]
    pub percent: Decimal,
}

impl Default for AmountTolerance {
    /// Exact amounts only: a person decides about anything else.
    fn default() -> Self {
        Self {
            absolute: Decimal::ZERO,
            percent: Decimal::ZERO,
        }
    }
}

impl AmountTolerance {
    /// Refuses negative tolerances by name.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        if self.absolute.is_sign_negative() && !self.absolute.is_zero() {
            return Err(DomainError::invalid(
                format!("{field}.absolute"),
                "must not be negative",
            ));
        }
        if self.percent.is_sign_negative() && !self.percent.is_zero() {
            return Err(DomainError::invalid(
                format!("{field}.percent"),
                "must not be negative",
            ));
        }
        Ok(())
    }

    /// Whether `received` is close enough to `open`; different currencies
    /// never are.
    pub fn accepts(&self, open: Money, received: Money) -> bool {
        if open.currency() != received.currency() {
            return false;
        }
        let difference = (open.amount() - received.amount()).abs();
        let relative = open.amount().abs() * self.percent / Decimal::from(100);
        difference <= self.absolute.max(relative)
    }
}

/// An open invoice as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenInvoice {
    /// Which invoice.
    pub invoice_id: InvoiceId,
    /// Its number, for the booking's explanation.
    pub number: InvoiceNumber,
    /// Issue date: a split pays the oldest first.
    pub issue_date: NaiveDate,
    /// What is still open.
    pub open: Money,
}

/// One part of a transfer applied to one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// Which invoice.
    pub invoice_id: InvoiceId,
    /// How much of the transfer it gets.
    pub amount: Money,
}

/// A transfer spread over invoices, oldest first, and what is left over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Parts, in the order the invoices were paid.
    pub allocations: Vec<Allocation>,
    /// The surplus that no invoice needed: customer credit.
    pub credit: Money,
}

/// Spreads `amount` over `invoices` oldest first (by issue date, then
/// number): each gets at most its open amount; what remains after the last
/// is customer credit. A transfer too small for all pays the oldest in full
/// and the next partially. The single-invoice case is the same rule.
pub fn split_oldest_first(amount: Money, invoices: &[OpenInvoice]) -> Result<Split, DomainError> {
    let currency = amount.currency();
    if !amount.is_positive() {
        return Err(DomainError::invalid("amount", "a split needs a credit"));
    }
    let mut ordered: Vec<&OpenInvoice> = invoices.iter().collect();
    ordered.sort_by(|a, b| {
        a.issue_date
            .cmp(&b.issue_date)
            .then_with(|| a.number.as_str().cmp(b.number.as_str()))
    });
    let mut remaining = amount;
    let mut allocations = Vec::with_capacity(ordered.len());
    for (index, invoice) in ordered.iter().enumerate() {
        invoice
            .open
            .ensure_currency(currency, &format!("invoices[{index}].open.currency"))?;
        if !remaining.is_positive() {
            break;
        }
        if !invoice.open.is_positive() {
            continue;
        }
        let part = if remaining.compare(&invoice.open)?.is_le() {
            remaining
        } else {
            invoice.open
        };
        remaining = remaining.checked_sub(part)?;
        allocations.push(Allocation {
            invoice_id: invoice.invoice_id.clone(),
            amount: part,
        });
    }
    if allocations.is_empty() {
        // Nothing open: the whole transfer is credit on the first invoice's
        // account; keep it attributed to the oldest for the audit trail.
        if let Some(first) = ordered.first() {
            return Ok(Split {
                allocations: vec![Allocation {
                    invoice_id: first.invoice_id.clone(),
                    amount: Money::zero(currency),
                }],
                credit: remaining,
            });
        }
        return Err(DomainError::invalid("invoices", "nothing to split over"));
    }
    Ok(Split {
        allocations,
        credit: remaining,
    })
}

/// Finds invoice numbers of the seller's series in free text, the way
/// payers write them: any case, with or without the series' dashes, with
/// spaces, dashes, dots or slashes in between (`re 2026 000123`,
/// `RE2026-000123`).
#[derive(Debug, Clone)]
pub struct InvoiceNumberFinder {
    series: Vec<(NumberSeries, Vec<Token>)>,
}

/// One element of a number pattern, as the finder reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal letter or digit (upper case).
    Char(char),
    /// `n` digits.
    Digits(usize),
}

impl InvoiceNumberFinder {
    /// A finder for the numbers of `series`.
    pub fn new(series: &[NumberSeries]) -> Self {
        Self {
            series: series
                .iter()
                .map(|s| (s.clone(), tokens(&String::from(s.pattern.clone()))))
                .filter(|(_, tokens)| !tokens.is_empty())
                .collect(),
        }
    }

    /// Every distinct invoice number the text names, in order of appearance.
    pub fn find(&self, text: &str) -> Vec<InvoiceNumber> {
        let chars: Vec<char> = text.chars().map(|c| c.to_ascii_uppercase()).collect();
        let mut found: Vec<InvoiceNumber> = Vec::new();
        for start in 0..chars.len() {
            if start > 0 && chars[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            for (series, tokens) in &self.series {
                let Some(candidate) = match_at(&chars, start, tokens) else {
                    continue;
                };
                let Some(number) = canonical(series, &candidate) else {
                    continue;
                };
                if !found.contains(&number) {
                    found.push(number);
                }
            }
        }
        found
    }
}

/// The pattern's letters and digits as tokens; its separators (`-`, `/`,
/// spaces) are left out because payers leave them out too.
fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            let Some(end) = rest.find('}') else {
                return Vec::new();
            };
            let width = match &rest[1..end] {
                "YYYY" => 4,
                "YY" | "MM" => 2,
                other => match other.strip_prefix("SEQ:").map(str::parse::<usize>) {
                    Some(Ok(n)) => n,
                    _ => return Vec::new(),
                },
            };
            match out.last_mut() {
                Some(Token::Digits(n)) => *n += width,
                _ => out.push(Token::Digits(width)),
            }
            rest = &rest[end + 1..];
        } else {
            if c.is_ascii_alphanumeric() {
                out.push(Token::Char(c.to_ascii_uppercase()));
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// What payers put between the parts of a number: spaces (also the
/// no-break space), dots, slashes, underscores and every dash a keyboard,
/// word processor or banking app produces (hyphen-minus, hyphen, no-break
/// hyphen, figure dash, en and em dash, minus sign, the small and
/// full-width hyphen-minus).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '/' | '_' | '\u{a0}' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{fe63}' | '\u{ff0d}'
    )
}

/// The letters and digits of a match starting at `start`, if the tokens
/// match there and the match ends at a word boundary.
fn match_at(chars: &[char], start: usize, tokens: &[Token]) -> Option<String> {
    let mut position = start;
    let mut matched = String::new();
    let mut first = true;
    let next = |position: &mut usize, first: &mut bool| -> Option<char> {
        if !*first {
            while *position < chars.len() && is_separator(chars[*position]) {
                *position += 1;
            }
        }
        *first = false;
        let c = *chars.get(*position)?;
        *position += 1;
        Some(c)
    };
    for token in tokens {
        match token {
            Token::Char(expected) => {
                if next(&mut position, &mut first)? != *expected {
                    return None;
                }
                matched.push(*expected);
            }
            Token::Digits(width) => {
                for _ in 0..*width {
                    let c = next(&mut position, &mut first)?;
                    if !c.is_ascii_digit() {
                        return None;
                    }
                    matched.push(c);
                }
            }
        }
    }
    match chars.get(position) {
        Some(c) if c.is_ascii_alphanumeric() => None,
        _ => Some(matched),
    }
}

/// The printed number of `series` whose letters and digits are `compact`.
fn canonical(series: &NumberSeries, compact: &str) -> Option<InvoiceNumber> {
    let pattern = String::from(series.pattern.clone());
    let mut out = String::new();
    let mut digits = compact.chars();
    let mut rest = pattern.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            let end = rest.find('}')?;
            let width = match &rest[1..end] {
                "YYYY" => 4,
                "YY" | "MM" => 2,
                other => other.strip_prefix("SEQ:")?.parse::<usize>().ok()?,
            };
            for _ in 0..width {
                out.push(digits.next()?);
            }
            rest = &rest[end + 1..];
        } else {
            if c.is_ascii_alphanumeric() {
                digits.next()?;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    series.parse(&out).ok()?;
    Some(InvoiceNumber::new(out))
}

/// Whether an amount in `currency` is a plain, rounded, positive transfer.
pub fn check_transfer_amount(amount: Money, currency: Currency) -> Result<(), DomainError> {
    amount.ensure_currency(currency, "amount.currency")?;
    if !amount.is_rounded() {
        return Err(DomainError::invalid(
            "amount",
            format!("more decimals than {currency} has"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbering::DocumentType;
    use crate::numbering::{NumberPattern, SequenceReset};
    use rust_decimal_macros::dec;

    fn eur(amount: Decimal) -> Money {
        Money::new(amount, Currency::EUR)
    }

    fn series(pattern: &str) -> NumberSeries {
        NumberSeries {
            document_type: DocumentType::Invoice,
            pattern: NumberPattern::parse(pattern).unwrap(),
            reset: SequenceReset::Yearly,
        }
    }

    fn open(id: &str, number: &str, day: u32, amount: Decimal) -> OpenInvoice {
        OpenInvoice {
            invoice_id: InvoiceId::new(id),
            number: InvoiceNumber::new(number),
            issue_date: NaiveDate::from_ymd_opt(2026, 1, day).unwrap(),
            open: eur(amount),
        }
    }

    #[test]
    fn finds_numbers_as_payers_write_them() {
        let finder = InvoiceNumberFinder::new(&[series("RE-{YYYY}-{SEQ:6}")]);
        let numbers = |text: &str| -> Vec<String> {
            finder
                .find(text)
                .into_iter()
                .map(|n| n.as_str().to_owned())
                .collect()
        };
        assert_eq!(numbers("re 2026 000123"), ["RE-2026-000123"]);
        assert_eq!(numbers("Rechnung RE2026-000124 danke"), ["RE-2026-000124"]);
        assert_eq!(
            numbers("RE-2026-000001, re-2026-000002 und RE-2026-000001"),
            ["RE-2026-000001", "RE-2026-000002"]
        );
        assert_eq!(numbers("RE 2026 0001 25"), ["RE-2026-000125"]);
        // Not a number of ours: too short, glued to other letters or digits.
        assert!(numbers("RE-2026-00012").is_empty());
        assert!(numbers("PRE-2026-000123").is_empty());
        assert!(numbers("RE-2026-0001234").is_empty());
        assert!(numbers("Miete Januar").is_empty());
    }

    #[test]
    fn numbers_of_several_series_and_patterns_with_months() {
        let finder =
            InvoiceNumberFinder::new(&[series("RE-{YYYY}-{SEQ:6}"), series("{YY}{MM}/{SEQ:4}")]);
        let found = finder.find("payment 2603/0042 and RE 2026 000007");
        let found: Vec<&str> = found.iter().map(|n| n.as_str()).collect();
        assert_eq!(found, ["2603/0042", "RE-2026-000007"]);
    }

    #[test]
    fn tolerance_is_the_larger_of_absolute_and_percent() {
        let tolerance = AmountTolerance {
            absolute: dec!(0.50),
            percent: dec!(1),
        };
        assert!(tolerance.accepts(eur(dec!(100.00)), eur(dec!(99.00))));
        assert!(!tolerance.accepts(eur(dec!(100.00)), eur(dec!(98.99))));
        assert!(tolerance.accepts(eur(dec!(10.00)), eur(dec!(10.50))));
        assert!(!tolerance.accepts(eur(dec!(10.00)), eur(dec!(10.51))));
        assert!(!tolerance.accepts(eur(dec!(10.00)), Money::new(dec!(10.00), Currency::USD)));
        assert!(AmountTolerance::default().accepts(eur(dec!(5)), eur(dec!(5.00))));
        let negative = AmountTolerance {
            absolute: dec!(-1),
            percent: dec!(0),
        };
        assert!(
            negative
                .validate("payment_tolerance")
                .unwrap_err()
                .to_string()
                .starts_with("payment_tolerance.absolute:")
        );
    }

    #[test]
    fn one_transfer_for_two_invoices_pays_the_oldest_first() {
        let invoices = [
            open("inv_new", "RE-2026-000002", 20, dec!(50.00)),
            open("inv_old", "RE-2026-000001", 10, dec!(100.00)),
        ];
        let split = split_oldest_first(eur(dec!(120.00)), &invoices).unwrap();
        assert_eq!(
            split.allocations,
            [
                Allocation {
                    invoice_id: InvoiceId::new("inv_old"),
                    amount: eur(dec!(100.00))
                },
                Allocation {
                    invoice_id: InvoiceId::new("inv_new"),
                    amount: eur(dec!(20.00))
                },
            ]
        );
        assert!(split.credit.is_zero());

        let over = split_oldest_first(eur(dec!(160.00)), &invoices).unwrap();
        assert_eq!(over.allocations.len(), 2);
        assert_eq!(over.credit, eur(dec!(10.00)));

        let err =
            split_oldest_first(Money::new(dec!(1), Currency::USD), &invoices[..1]).unwrap_err();
        assert!(err.to_string().starts_with("invoices[0].open.currency:"));
        assert!(split_oldest_first(eur(dec!(0)), &invoices).is_err());
    }
}
