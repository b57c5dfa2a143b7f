//! Invoice number formats and counter keys.
//!
//! Numbers are unique and sequential per series (entity × document type ×
//! year, or for all time). The counter itself lives in storage and is bumped
//! by a conditional write; this module only says which counter a document
//! uses ([`NumberSeries::counter_key`]) and turns a counter value into the
//! printed number and back ([`NumberSeries::format`], [`NumberSeries::parse`]).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ids::{BillingEntityId, string_id};

string_id!(
    /// The legal invoice number (§14 UStG "fortlaufende Nummer"), assigned
    /// only at finalization.
    InvoiceNumber,
    "number"
);

/// The kind of document, with its UNTDID 1001 code; each has its own number
/// series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Commercial invoice (380).
    Invoice,
    /// Credit note (381): what a negative total becomes.
    CreditNote,
}

impl DocumentType {
    /// The UNTDID 1001 code written into the XML (BT-3).
    pub fn code(self) -> u16 {
        match self {
            Self::Invoice => 380,
            Self::CreditNote => 381,
        }
    }
}

/// Widest `{SEQ:n}`: 18 digits still fit a `u64` counter.
pub const MAX_SEQUENCE_WIDTH: u8 = 18;

/// One piece of a number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Year4,
    Year2,
    Month,
    Sequence(u8),
}

/// A number pattern such as `RE-{YYYY}-{SEQ:6}`.
///
/// Placeholders: `{YYYY}` (year), `{YY}` (two-digit year), `{MM}` (month),
/// `{SEQ:n}` (counter, zero-padded to `n` digits; exactly one required). All
/// other text is literal; braces outside placeholders are refused. Every
/// placeholder has a fixed width, which is what makes parsing the exact
/// inverse of formatting.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumberPattern {
    source: String,
    parts: Vec<Part>,
}

impl NumberPattern {
    /// Reads a pattern from configuration, refusing one without `{SEQ:n}`,
    /// with unknown placeholders or stray braces.
    pub fn parse(pattern: &str) -> Result<Self, DomainError> {
        let refuse = |why: String| Err(DomainError::invalid("pattern", why));
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if c == '}' {
                return refuse(format!("stray '}}' in `{pattern}`"));
            }
            if c != '{' {
                literal.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
            let Some(close) = rest.find('}') else {
                return refuse(format!("unclosed '{{' in `{pattern}`"));
            };
            let part = match &rest[1..close] {
                "YYYY" => Part::Year4,
                "YY" => Part::Year2,
                "MM" => Part::Month,
                other => match other.strip_prefix("SEQ:").map(str::parse::<u8>) {
                    Some(Ok(width)) if (1..=MAX_SEQUENCE_WIDTH).contains(&width) => {
                        Part::Sequence(width)
                    }
                    Some(_) => {
                        return refuse(format!(
                            "`{{{other}}}`: width must be 1 to {MAX_SEQUENCE_WIDTH}"
                        ));
                    }
                    None => return refuse(format!("unknown placeholder `{{{other}}}`")),
                },
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = &rest[close + 1..];
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        match parts
            .iter()
            .filter(|p| matches!(p, Part::Sequence(_)))
            .count()
        {
            1 => Ok(Self {
                source: pattern.to_owned(),
                parts,
            }),
            0 => refuse(format!("`{pattern}` has no {{SEQ:n}} placeholder")),
            _ => refuse(format!("`{pattern}` has more than one {{SEQ:n}}")),
        }
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether numbers carry the year, which a yearly reset needs to keep
    /// numbers unique.
    pub fn has_year(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Year4 | Part::Year2))
    }

    /// The printed number for counter value `sequence` on a document issued
    /// on `issue_date`. Sequences start at 1; one wider than `{SEQ:n}` is an
    /// error rather than a silently longer number.
    pub fn format(
        &self,
        issue_date: NaiveDate,
        sequence: u64,
    ) -> Result<InvoiceNumber, DomainError> {
        if sequence == 0 {
            return Err(DomainError::invalid("sequence", "sequences start at 1"));
        }
        let year = issue_date.year();
        if self.has_year() && !(0..=9999).contains(&year) {
            return Err(DomainError::invalid(
                "issue_date",
                format!("year {year} cannot be printed with four digits"),
            ));
        }
        let mut out = String::with_capacity(self.source.len() + 8);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Year4 => push_padded(&mut out, u64::from(year.unsigned_abs()), 4),
                Part::Year2 => push_padded(&mut out, u64::from(year.unsigned_abs() % 100), 2),
                Part::Month => push_padded(&mut out, u64::from(issue_date.month()), 2),
                Part::Sequence(width) => {
                    if sequence >= 10u64.pow(u32::from(*width)) {
                        return Err(DomainError::invalid(
                            "sequence",
                            format!("{sequence} overflows {{SEQ:{width}}} in `{}`", self.source),
                        ));
                    }
                    push_padded(&mut out, sequence, usize::from(*width));
                }
            }
        }
        Ok(InvoiceNumber::new(out))
    }

    /// Reads a printed number back into its parts: the exact inverse of
    /// [`NumberPattern::format`], used to check imported or typed numbers.
    pub fn parse_number(&self, number: &str) -> Result<NumberParts, DomainError> {
        let refuse = || {
            Err(DomainError::invalid(
                "number",
                format!("`{number}` does not match `{}`", self.source),
            ))
        };
        let mut rest = number;
        let mut year4 = None;
        let mut year2 = None;
        let mut month = None;
        let mut sequence = None;
        for part in &self.parts {
            let width = match part {
                Part::Literal(text) => {
                    let Some(after) = rest.strip_prefix(text.as_str()) else {
                        return refuse();
                    };
                    rest = after;
                    continue;
                }
                Part::Year4 => 4,
                Part::Year2 | Part::Month => 2,
                Part::Sequence(width) => usize::from(*width),
            };
            let Some(value) = take_digits(&mut rest, width) else {
                return refuse();
            };
            let slot = match part {
                Part::Year4 => &mut year4,
                Part::Year2 => &mut year2,
                Part::Month => &mut month,
                _ => &mut sequence,
            };
            if slot.is_some_and(|previous| previous != value) {
                return refuse();
            }
            *slot = Some(value);
        }
        let month_ok = month.is_none_or(|m| (1..=12).contains(&m));
        let years_agree = match (year4, year2) {
            (Some(y4), Some(y2)) => y4 % 100 == y2,
            _ => true,
        };
        let Some(sequence) = sequence.filter(|s| *s > 0) else {
            return refuse();
        };
        if !rest.is_empty() || !month_ok || !years_agree {
            return refuse();
        }
        let year = year4.or(year2.map(|y| 2000 + y));
        Ok(NumberParts {
            // Both fit: at most four digits.
            year: year.and_then(|y| i32::try_from(y).ok()),
            month: month.and_then(|m| u32::try_from(m).ok()),
            sequence,
        })
    }
}

fn push_padded(out: &mut String, value: u64, width: usize) {
    use fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(out, "{value:0width$}");
}

/// Takes exactly `width` ASCII digits from the front of `rest`.
fn take_digits(rest: &mut &str, width: usize) -> Option<u64> {
    let digits = rest.get(..width)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.parse().ok()?;
    *rest = &rest[width..];
    Some(value)
}

impl fmt::Debug for NumberPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumberPattern({:?})", self.source)
    }
}

impl TryFrom<String> for NumberPattern {
    type Error = DomainError;

    fn try_from(value: String) -> Result<Self, DomainError> {
        Self::parse(&value)
    }
}

impl From<NumberPattern> for String {
    fn from(value: NumberPattern) -> String {
        value.source
    }
}

/// What a printed number says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberParts {
    /// The year, if the pattern prints one (`{YY}` is read as 20YY).
    pub year: Option<i32>,
    /// The month, if the pattern prints one.
    pub month: Option<u32>,
    /// The counter value.
    pub sequence: u64,
}

/// When a series starts again at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceReset {
    /// A new counter every calendar year (pattern must print the year).
    Yearly,
    /// One counter for all time.
    Never,
}

/// Which year's counter a number is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterPeriod {
    /// The counter of one calendar year.
    Year(i32),
    /// The single counter of a series that never resets.
    AllTime,
}

/// Identifies one stored counter: (entity, document type, year or all).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CounterKey {
    /// The issuing entity.
    pub billing_entity_id: BillingEntityId,
    /// Invoice or credit note.
    pub document_type: DocumentType,
    /// Year or all time.
    pub period: CounterPeriod,
}

impl CounterKey {
    /// A stable text key for storage, e.g. `ent_1#380#2026` or `ent_1#381#all`.
    pub fn storage_key(&self) -> String {
        let period = match self.period {
            CounterPeriod::Year(year) => year.to_string(),
            CounterPeriod::AllTime => "all".to_owned(),
        };
        format!(
            "{}#{}#{period}",
            self.billing_entity_id,
            self.document_type.code()
        )
    }
}

/// A number series of one entity for one document type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NumberSeriesFields")]
pub struct NumberSeries {
    /// The document type this series numbers.
    pub document_type: DocumentType,
    /// How numbers are printed.
    pub pattern: NumberPattern,
    /// When the counter restarts.
    pub reset: SequenceReset,
}

/// Unchecked shape of a series, so deserialization runs [`NumberSeries::new`].
#[derive(Deserialize)]
struct NumberSeriesFields {
    document_type: DocumentType,
    pattern: NumberPattern,
    reset: SequenceReset,
}

impl TryFrom<NumberSeriesFields> for NumberSeries {
    type Error = DomainError;

    fn try_from(fields: NumberSeriesFields) -> Result<Self, DomainError> {
        Self::new(fields.document_type, fields.pattern, fields.reset)
    }
}

impl NumberSeries {
    /// A series; a yearly reset needs the year in the pattern, otherwise
    /// numbers would repeat every January.
    pub fn new(
        document_type: DocumentType,
        pattern: NumberPattern,
        reset: SequenceReset,
    ) -> Result<Self, DomainError> {
        if reset == SequenceReset::Yearly && !pattern.has_year() {
            return Err(DomainError::invalid(
                "pattern",
                format!(
                    "`{}` resets yearly but prints no {{YYYY}} or {{YY}}",
                    pattern.as_str()
                ),
            ));
        }
        Ok(Self {
            document_type,
            pattern,
            reset,
        })
    }

    /// The customary German default: `RE-{YYYY}-{SEQ:6}` for invoices and
    /// `RK-{YYYY}-{SEQ:6}` (Rechnungskorrektur) for the seller's credit
    /// notes (cancellations, partial corrections, negative run totals),
    /// reset yearly. Not `GS` ("Gutschrift"): in VAT law that is the
    /// recipient's self-billing (§14(2) sentence 2 UStG), which a reader of
    /// the number would wrongly take these for.
    pub fn german_default(document_type: DocumentType) -> Self {
        let source = match document_type {
            DocumentType::Invoice => "RE-{YYYY}-{SEQ:6}",
            DocumentType::CreditNote => "RK-{YYYY}-{SEQ:6}",
        };
        let parts = vec![
            Part::Literal(source[..3].to_owned()),
            Part::Year4,
            Part::Literal("-".to_owned()),
            Part::Sequence(6),
        ];
        Self {
            document_type,
            pattern: NumberPattern {
                source: source.to_owned(),
                parts,
            },
            reset: SequenceReset::Yearly,
        }
    }

    /// The counter a document issued on `issue_date` draws from.
    pub fn counter_key(
        &self,
        billing_entity_id: &BillingEntityId,
        issue_date: NaiveDate,
    ) -> CounterKey {
        CounterKey {
            billing_entity_id: billing_entity_id.clone(),
            document_type: self.document_type,
            period: match self.reset {
                SequenceReset::Yearly => CounterPeriod::Year(issue_date.year()),
                SequenceReset::Never => CounterPeriod::AllTime,
            },
        }
    }

    /// The printed number for counter value `sequence`.
    pub fn format(
        &self,
        issue_date: NaiveDate,
        sequence: u64,
    ) -> Result<InvoiceNumber, DomainError> {
        self.pattern.format(issue_date, sequence)
    }

    /// The parts of a printed number of this series.
    pub fn parse(&self, number: &str) -> Result<NumberParts, DomainError> {
        self.pattern.parse_number(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn formats_and_parses() {
        let p = NumberPattern::parse("RE-{YYYY}-{SEQ:6}").unwrap();
        let n = p.format(date(2026, 3, 31), 42).unwrap();
        assert_eq!(n.as_str(), "RE-2026-000042");
        let parts = p.parse_number("RE-2026-000042").unwrap();
        assert_eq!(
            parts,
            NumberParts {
                year: Some(2026),
                month: None,
                sequence: 42
            }
        );

        let p = NumberPattern::parse("{YY}{MM}/{SEQ:4} X").unwrap();
        assert_eq!(
            p.format(date(2026, 3, 1), 7).unwrap().as_str(),
            "2603/0007 X"
        );
        assert_eq!(
            p.parse_number("2603/0007 X").unwrap(),
            NumberParts {
                year: Some(2026),
                month: Some(3),
                sequence: 7
            }
        );
        assert!(p.parse_number("2613/0007 X").is_err());
        assert!(p.parse_number("2603/0007").is_err());
        assert!(p.parse_number("2603/0000 X").is_err());
    }

    #[test]
    fn rejects_bad_patterns() {
        for bad in [
            "RE-{YYYY}",
            "RE-{SEQ:0}",
            "RE-{SEQ:19}",
            "{SEQ:3}{SEQ:3}",
            "{X}{SEQ:2}",
            "RE-{SEQ:4",
            "RE}{SEQ:4}",
        ] {
            let err = NumberPattern::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("pattern:"), "{bad}: {err}");
        }
    }

    #[test]
    fn overflow_is_an_error() {
        let p = NumberPattern::parse("{SEQ:3}").unwrap();
        assert_eq!(p.format(date(2026, 1, 1), 999).unwrap().as_str(), "999");
        assert!(p.format(date(2026, 1, 1), 1000).is_err());
        assert!(p.format(date(2026, 1, 1), 0).is_err());
    }

    #[test]
    fn counter_keys() {
        let entity = BillingEntityId::new("ent_1");
        let yearly = NumberSeries::german_default(DocumentType::Invoice);
        assert_eq!(
            yearly
                .counter_key(&entity, date(2026, 12, 31))
                .storage_key(),
            "ent_1#380#2026"
        );
        let forever = NumberSeries::new(
            DocumentType::CreditNote,
            NumberPattern::parse("GS{SEQ:8}").unwrap(),
            SequenceReset::Never,
        )
        .unwrap();
        assert_eq!(
            forever.counter_key(&entity, date(2026, 1, 1)).storage_key(),
            "ent_1#381#all"
        );
        assert!(
            NumberSeries::new(
                DocumentType::Invoice,
                NumberPattern::parse("GS{SEQ:8}").unwrap(),
                SequenceReset::Yearly
            )
            .is_err()
        );
    }

    #[test]
    fn german_default_matches_its_pattern_text() {
        for doc in [DocumentType::Invoice, DocumentType::CreditNote] {
            let series = NumberSeries::german_default(doc);
            assert_eq!(
                series.pattern,
                NumberPattern::parse(series.pattern.as_str()).unwrap()
            );
        }
    }

    #[test]
    fn series_serde_checks_reset() {
        let json = r#"{"document_type":"invoice","pattern":"RE{SEQ:5}","reset":"yearly"}"#;
        assert!(serde_json::from_str::<NumberSeries>(json).is_err());
        let series = NumberSeries::german_default(DocumentType::Invoice);
        let json = serde_json::to_string(&series).unwrap();
        assert_eq!(
            json,
            r#"{"document_type":"invoice","pattern":"RE-{YYYY}-{SEQ:6}","reset":"yearly"}"#
        );
        assert_eq!(serde_json::from_str::<NumberSeries>(&json).unwrap(), series);
    }
}
