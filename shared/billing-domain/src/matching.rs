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
use crate::numbering::{DocumentType, InvoiceNumber, NumberSeries};

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
    /// Every rule.
    pub const ALL: [Self; 6] = [
        Self::CreditorReference,
        Self::InvoiceNumber,
        Self::OpenAmount,
        Self::Return,
        Self::Manual,
        Self::Credit,
    ];

    /// The rule stored as `stored`, if it is one.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.as_str() == stored)
    }

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
/// payers and banks write them: any case, with or without the series'
/// dashes, with spaces, dots, slashes or any dash character in between
/// (`re 2026 000123`, `RE2026–000123`), broken across the 35-character
/// lines of a payment order (`RE-2026-0001 23`), without the leading zeros
/// of the sequence (`RE-2026-123`), without the series' letters where only
/// one invoice series has that shape (`2026-000123`), and two invoices
/// written as one (`RE-2026-000123/124`, `… u. 124`).
///
/// Every reading that is not the number as printed is guarded against the
/// numbers a remittance text also holds (customer, order and phone
/// numbers, amounts): a wrong invoice is worse than none, because none goes
/// to the review list and a wrong one books money on someone else's debt.
#[derive(Debug, Clone)]
pub struct InvoiceNumberFinder {
    series: Vec<SeriesShape>,
}

/// A series as the finder reads it.
#[derive(Debug, Clone)]
struct SeriesShape {
    series: NumberSeries,
    tokens: Vec<Token>,
    /// How many leading tokens are the series' letters and the separator
    /// after them (`R`, `E`, `-`).
    prefix: usize,
    /// Whether a number written without those letters names this series
    /// alone: an invoice series (payers pay invoices, not credit notes)
    /// whose remaining shape no other invoice series shares.
    prefix_droppable: bool,
}

/// One element of a number pattern, as the finder reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal letter or digit (upper case).
    Char(char),
    /// A date field of `n` digits (`YYYY`, `YY`, `MM`).
    Digits(usize),
    /// The running number, `n` digits wide with leading zeros.
    Sequence(usize),
    /// A separator the pattern prints (`-`, `/`, a space).
    Break,
}

/// How a number is written in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// With the series' letters.
    AsPrinted,
    /// Without them (`2026-000123`).
    WithoutPrefix,
}

/// A number read at some position: its letters and digits, and where the
/// text after it starts.
struct Read {
    compact: String,
    end: usize,
}

/// The fewest digits a shortened sequence leaves out: one digit missing is
/// more often a typo (`RE-2026-00012`) than leading zeros left out, so it
/// matches nothing.
const SHORTENED_BY_AT_LEAST: usize = 2;

impl InvoiceNumberFinder {
    /// A finder for the numbers of `series`.
    pub fn new(series: &[NumberSeries]) -> Self {
        let shapes: Vec<(NumberSeries, Vec<Token>, usize)> = series
            .iter()
            .map(|s| {
                let tokens = tokens(&String::from(s.pattern.clone()));
                let letters = tokens
                    .iter()
                    .take_while(|t| matches!(t, Token::Char(c) if c.is_ascii_alphabetic()))
                    .count();
                // The letters and the separator after them (`RE-`).
                let prefix = letters + usize::from(tokens.get(letters) == Some(&Token::Break));
                (s.clone(), tokens, prefix)
            })
            .filter(|(_, tokens, _)| !tokens.is_empty())
            .collect();
        let invoice_remainders: Vec<&[Token]> = shapes
            .iter()
            .filter(|(s, _, _)| s.document_type == DocumentType::Invoice)
            .map(|(_, tokens, prefix)| &tokens[*prefix..])
            .collect();
        let series = shapes
            .iter()
            .map(|(series, tokens, prefix)| {
                let remainder = &tokens[*prefix..];
                let sharing = invoice_remainders
                    .iter()
                    .filter(|other| **other == remainder)
                    .count();
                SeriesShape {
                    series: series.clone(),
                    tokens: tokens.clone(),
                    prefix: *prefix,
                    prefix_droppable: series.document_type == DocumentType::Invoice
                        && tokens.first().is_some_and(
                            |t| matches!(t, Token::Char(c) if c.is_ascii_alphabetic()),
                        )
                        && sharing == 1
                        && remainder.contains(&Token::Break),
                }
            })
            .collect();
        Self { series }
    }

    /// Every distinct invoice number the text names, in order of appearance.
    pub fn find(&self, text: &str) -> Vec<InvoiceNumber> {
        let chars: Vec<char> = text.chars().map(|c| c.to_ascii_uppercase()).collect();
        let mut found: Vec<InvoiceNumber> = Vec::new();
        let mut keep = |number: InvoiceNumber| {
            if !found.contains(&number) {
                found.push(number);
            }
        };
        for start in 0..chars.len() {
            if start > 0 && chars[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            for shape in &self.series {
                let read = shape.read(&chars, start, Reading::AsPrinted).or_else(|| {
                    (shape.prefix_droppable && stands_alone(&chars, start))
                        .then(|| shape.read(&chars, start, Reading::WithoutPrefix))
                        .flatten()
                });
                let Some(read) = read else {
                    continue;
                };
                let Some(number) = canonical(&shape.series, &read.compact) else {
                    continue;
                };
                keep(number);
                for compact in shape.range_after(&chars, &read) {
                    if let Some(number) = canonical(&shape.series, &compact) {
                        keep(number);
                    }
                }
            }
        }
        found
    }
}

impl SeriesShape {
    /// The number of this series written at `start`, if one is.
    fn read(&self, chars: &[char], start: usize, reading: Reading) -> Option<Read> {
        let (mut compact, tokens): (String, &[Token]) = match reading {
            Reading::AsPrinted => (String::new(), &self.tokens),
            Reading::WithoutPrefix => (
                self.tokens[..self.prefix]
                    .iter()
                    .filter_map(|t| match t {
                        Token::Char(c) => Some(*c),
                        _ => None,
                    })
                    .collect(),
                &self.tokens[self.prefix..],
            ),
        };
        let mut position = start;
        let mut first = true;
        for (index, token) in tokens.iter().enumerate() {
            match token {
                Token::Break => {
                    // Without its letters a number must keep the dash it is
                    // printed with, or every "2026 000123" would be one.
                    if reading == Reading::WithoutPrefix {
                        let from = position;
                        skip_separators(chars, &mut position);
                        if !chars[from..position].iter().copied().any(is_dash) {
                            return None;
                        }
                    }
                }
                Token::Char(expected) => {
                    if next(chars, &mut position, &mut first)? != *expected {
                        return None;
                    }
                    compact.push(*expected);
                }
                Token::Digits(width) => {
                    for _ in 0..*width {
                        compact.push(next_digit(chars, &mut position, &mut first)?);
                    }
                }
                Token::Sequence(width) => {
                    let before = (position, first);
                    let full: Option<String> = (0..*width)
                        .map(|_| next_digit(chars, &mut position, &mut first))
                        .collect();
                    match full {
                        Some(digits) => compact.push_str(&digits),
                        None => {
                            // Leading zeros left out: only for the series'
                            // last field, written with its letters.
                            let last = index + 1 == tokens.len();
                            if !(last && reading == Reading::AsPrinted && self.prefix > 0) {
                                return None;
                            }
                            (position, first) = before;
                            compact.push_str(&shortened(chars, &mut position, first, *width)?);
                        }
                    }
                }
            }
        }
        match chars.get(position) {
            Some(c) if c.is_ascii_alphanumeric() => None,
            _ => Some(Read {
                compact,
                end: position,
            }),
        }
    }

    /// The further invoices of a range written after a number
    /// (`RE-2026-000123/124`, `… u. 124`, `…, 125`): the sequence's
    /// significant digits replaced, counting upwards, as long as the text
    /// goes on.
    fn range_after(&self, chars: &[char], read: &Read) -> Vec<String> {
        let Some(Token::Sequence(width)) = self.tokens.last() else {
            return Vec::new();
        };
        let mut compacts = Vec::new();
        let mut previous = read.compact.clone();
        let mut position = read.end;
        while let Some((digits, end)) = range_continuation(chars, position, *width) {
            // The new digits count upwards and replace exactly the
            // significant digits of the sequence (`…000123, 45 Stück` and
            // `…000123/1240` are no ranges).
            let sequence = &previous[previous.len().saturating_sub(*width)..];
            let significant = sequence.trim_start_matches('0').len();
            let keep = previous.len() - digits.len();
            if digits.len() != significant || digits.as_str() <= &previous[keep..] {
                break;
            }
            let compact = format!("{}{digits}", &previous[..keep]);
            compacts.push(compact.clone());
            previous = compact;
            position = end;
        }
        compacts
    }
}

/// Whether a number without its series' letters may start here: at the
/// start of the text or after a space or an opening mark, not glued to a
/// word by a dash or dot (`PO-2026-000123` is an order, `02.03.2026` a
/// date).
fn stands_alone(chars: &[char], start: usize) -> bool {
    start == 0
        || matches!(
            chars[start - 1],
            ' ' | '\u{a0}' | '(' | ':' | ',' | ';' | '+' | '#'
        )
}

/// The pattern's letters, digits and separators as tokens.
fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            let Some(end) = rest.find('}') else {
                return Vec::new();
            };
            out.push(match &rest[1..end] {
                "YYYY" => Token::Digits(4),
                "YY" | "MM" => Token::Digits(2),
                other => match other.strip_prefix("SEQ:").map(str::parse::<usize>) {
                    Some(Ok(n)) => Token::Sequence(n),
                    _ => return Vec::new(),
                },
            });
            rest = &rest[end + 1..];
        } else {
            if c.is_ascii_alphanumeric() {
                out.push(Token::Char(c.to_ascii_uppercase()));
            } else if out.last().is_some_and(|t| *t != Token::Break) {
                out.push(Token::Break);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    if out.last() == Some(&Token::Break) {
        out.pop();
    }
    out
}

/// What payers put between the parts of a number: spaces (also the
/// no-break space), dots, slashes, underscores and every dash.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '/' | '_' | '\u{a0}') || is_dash(c)
}

/// Every dash a keyboard, word processor or banking app produces
/// (hyphen-minus, hyphen, no-break hyphen, figure dash, en and em dash,
/// horizontal bar, minus sign, the small and full-width hyphen-minus).
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe63}' | '\u{ff0d}'
    )
}

fn skip_separators(chars: &[char], position: &mut usize) {
    while *position < chars.len() && is_separator(chars[*position]) {
        *position += 1;
    }
}

/// The next letter or digit, past the separators between two of them.
fn next(chars: &[char], position: &mut usize, first: &mut bool) -> Option<char> {
    if !*first {
        skip_separators(chars, position);
    }
    *first = false;
    let c = *chars.get(*position)?;
    *position += 1;
    Some(c)
}

fn next_digit(chars: &[char], position: &mut usize, first: &mut bool) -> Option<char> {
    next(chars, position, first).filter(char::is_ascii_digit)
}

/// A sequence written without (all) its leading zeros, padded to `width`:
/// its digits in one piece, at least [`SHORTENED_BY_AT_LEAST`] fewer than
/// the width, not zero, and not followed by more digits (then it is a
/// longer number broken apart, which the full reading did not accept).
fn shortened(chars: &[char], position: &mut usize, first: bool, width: usize) -> Option<String> {
    if !first {
        skip_separators(chars, position);
    }
    let from = *position;
    while chars.get(*position).is_some_and(char::is_ascii_digit) {
        *position += 1;
    }
    let digits: String = chars[from..*position].iter().collect();
    if digits.is_empty()
        || digits.len() + SHORTENED_BY_AT_LEAST > width
        || digits.chars().all(|c| c == '0')
    {
        return None;
    }
    let mut after = *position;
    skip_separators(chars, &mut after);
    if after > *position && chars.get(after).is_some_and(char::is_ascii_digit) {
        return None;
    }
    Some(format!("{digits:0>width$}"))
}

/// The last digits of a further invoice after a number, and where the text
/// after them starts: a range mark (`/`, `,`, `+`, `&`, `u.`, `und`,
/// `and`), then 2 to `width - 1` digits standing alone: not an amount
/// (`u. 50,00`, `u. 50 EUR`) and not the start of a longer number.
fn range_continuation(chars: &[char], from: usize, width: usize) -> Option<(String, usize)> {
    let mut position = from;
    let skip_spaces = |position: &mut usize| {
        while chars
            .get(*position)
            .is_some_and(|c| matches!(c, ' ' | '\u{a0}'))
        {
            *position += 1;
        }
    };
    skip_spaces(&mut position);
    let rest: String = chars[position..].iter().take(4).collect();
    let mark = ["UND ", "AND ", "U. ", "/", ",", "+", "&"]
        .into_iter()
        .find(|mark| rest.starts_with(mark))?;
    position += mark.chars().count();
    skip_spaces(&mut position);
    let start = position;
    while chars.get(position).is_some_and(char::is_ascii_digit) {
        position += 1;
    }
    let digits: String = chars[start..position].iter().collect();
    if digits.len() < 2 || digits.len() >= width {
        return None;
    }
    match chars.get(position) {
        Some(c) if c.is_ascii_alphanumeric() => return None,
        Some('.' | ',') if chars.get(position + 1).is_some_and(char::is_ascii_digit) => {
            return None;
        }
        _ => {}
    }
    let mut after = position;
    skip_spaces(&mut after);
    let next: String = chars[after..].iter().take(3).collect();
    if next.starts_with("EUR") || next.starts_with('€') || next.starts_with('%') {
        return None;
    }
    Some((digits, position))
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

    #[test]
    fn every_rule_is_stored_and_read_back_by_its_name_as_serde_writes_it() {
        for rule in MatchRule::ALL {
            assert_eq!(MatchRule::parse(rule.as_str()), Some(rule));
            assert_eq!(
                serde_json::to_value(rule).unwrap(),
                serde_json::json!(rule.as_str())
            );
        }
        assert_eq!(MatchRule::parse("amount"), None);
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
    fn shortened_prefixless_and_ranged_numbers_are_read_only_where_unambiguous() {
        let invoices = series("RE-{YYYY}-{SEQ:6}");
        let numbers = |finder: &InvoiceNumberFinder, text: &str| -> Vec<String> {
            finder
                .find(text)
                .into_iter()
                .map(|n| n.as_str().to_owned())
                .collect()
        };
        let finder = InvoiceNumberFinder::new(std::slice::from_ref(&invoices));
        // Leading zeros left out, but not one digit short (a typo) and not
        // a longer number broken apart.
        assert_eq!(numbers(&finder, "RE-2026-123"), ["RE-2026-000123"]);
        assert_eq!(numbers(&finder, "re 2026 0123 danke"), ["RE-2026-000123"]);
        assert!(numbers(&finder, "RE-2026-00012").is_empty());
        assert!(numbers(&finder, "RE-2026-123 4").is_empty());
        assert!(numbers(&finder, "RE-2026-0").is_empty());
        // Without the letters: only with the printed dash, standing alone.
        assert_eq!(numbers(&finder, "Rechnung 2026–000123"), ["RE-2026-000123"]);
        assert!(numbers(&finder, "Rechnung 2026 000123").is_empty());
        assert!(numbers(&finder, "PO-2026-000123").is_empty());
        assert!(numbers(&finder, "2026-123").is_empty());
        // Two invoice series of that shape: without letters it is neither.
        let two = InvoiceNumberFinder::new(&[invoices.clone(), series("AR-{YYYY}-{SEQ:6}")]);
        assert!(numbers(&two, "2026-000123").is_empty());
        assert_eq!(numbers(&two, "AR-2026-000123"), ["AR-2026-000123"]);
        // Ranges count upwards over every significant digit; amounts and
        // quantities after a number are no range.
        assert_eq!(
            numbers(&finder, "RE-2026-000123/124/125"),
            ["RE-2026-000123", "RE-2026-000124", "RE-2026-000125"]
        );
        assert_eq!(
            numbers(&finder, "RE-2026-000123 und 130"),
            ["RE-2026-000123", "RE-2026-000130"]
        );
        assert_eq!(numbers(&finder, "RE-2026-000123/122"), ["RE-2026-000123"]);
        assert_eq!(
            numbers(&finder, "RE-2026-000123, 45 Stück"),
            ["RE-2026-000123"]
        );
        assert_eq!(
            numbers(&finder, "RE-2026-000123 u. 150,00"),
            ["RE-2026-000123"]
        );
        assert_eq!(
            numbers(&finder, "RE-2026-000123 + 150 EUR"),
            ["RE-2026-000123"]
        );
        assert_eq!(numbers(&finder, "RE-2026-000123/1240"), ["RE-2026-000123"]);
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
