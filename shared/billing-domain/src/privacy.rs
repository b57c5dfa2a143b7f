//! Customers' and payers' bank and personal data in free text: what staff
//! without the billing role may not read, and what no log may hold.
//!
//! Bank statements carry whatever the payer typed (`IBAN DE44-5001-0517-…`,
//! `Kontoinhaber: Erika Muster`, an e-mail address), and clerks copy such
//! text into reasons. [`mask_personal_data`] is the one rule that hides it:
//! the staff API runs every text a `sales` caller would see through it.
//!
//! - **IBANs** are found by their country's registered length and their
//!   ISO 7064 MOD 97-10 check digits, in electronic (`DE89370400440532013000`),
//!   print (groups of four), hyphenated or line-broken form, glued to a word
//!   (`IBANDE89…`) or followed by one; each keeps the last four characters of
//!   the IBAN itself (`****3000`), so a clerk on the phone can still compare.
//!   Requiring the check digits keeps invoice numbers, RF creditor references
//!   (`RF` is no IBAN country), VAT IDs, amounts and dates unchanged.
//! - **BICs** (8 or 11 characters, a country code at positions 5–6) become
//!   `****` after a `BIC`/`SWIFT` label, next to an IBAN, or when their
//!   location or branch code shows a digit or `XXX`: an unlabelled word of
//!   eight capitals is too often a word (`RECHNUNG`) to mask on shape alone.
//! - **Account holders** after a label (`Kontoinhaber:`, `account holder:`,
//!   `Auftraggeber:`, `Zahler:`, `payer:`, `Name:`) become `****` up to the
//!   end of the name (a line end, `,`, `;`, `|`, or a word with a digit or an
//!   IBAN/BIC label).
//! - **E-mail addresses** become `<e-mail address>` ([`redact_email_addresses`],
//!   the same rule that keeps them out of logs).

use std::borrow::Cow;

use crate::party::mod97;

/// What replaces a masked value (an IBAN keeps its last four characters
/// after it).
pub const MASK: &str = "****";

/// What replaces an e-mail address.
pub const EMAIL_MASK: &str = "<e-mail address>";

/// IBAN length by country (SWIFT IBAN registry): every SEPA country and
/// the other countries that issue IBANs. French overseas territories use
/// `FR` IBANs and are not listed on their own.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// The registered IBAN length of `country` (upper case), if it has IBANs.
fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, len)| *len)
}

/// How an IBAN (or any account number) is shown masked: `****` and the
/// last four letters or digits; nothing of a value of four or fewer.
/// A value already masked is returned as it is.
pub fn masked_account(value: &str) -> String {
    if value.starts_with(MASK) {
        return value.to_owned();
    }
    let kept: Vec<char> = value.chars().filter(char::is_ascii_alphanumeric).collect();
    if kept.len() <= 4 {
        return MASK.to_owned();
    }
    let tail: String = kept[kept.len() - 4..].iter().collect();
    format!("{MASK}{tail}")
}

/// `text` with every customer's or payer's IBAN, BIC, account holder and
/// e-mail address masked (see the module documentation for how each is
/// found); borrowed when nothing had to change.
pub fn mask_personal_data(text: &str) -> Cow<'_, str> {
    let chars: Vec<char> = text.chars().collect();
    let ibans = iban_spans(&chars);
    let mut spans: Vec<(usize, usize, String)> = ibans
        .iter()
        .map(|(start, end, compact)| (*start, *end, masked_account(compact)))
        .collect();
    spans.extend(
        bic_spans(&chars, !ibans.is_empty())
            .into_iter()
            .map(|(s, e)| (s, e, MASK.to_owned())),
    );
    spans.extend(
        holder_spans(&chars)
            .into_iter()
            .map(|(s, e)| (s, e, MASK.to_owned())),
    );
    let masked = if spans.is_empty() {
        Cow::Borrowed(text)
    } else {
        spans.sort_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, replacement) in spans {
            if start < at {
                // Inside a span already masked (a holder's name over an IBAN).
                continue;
            }
            out.extend(&chars[at..start]);
            out.push_str(&replacement);
            at = end;
        }
        out.extend(&chars[at..]);
        Cow::Owned(out)
    };
    if masked.contains('@') {
        let redacted = redact_email_addresses(&masked);
        if redacted != *masked {
            return Cow::Owned(redacted);
        }
    }
    masked
}

/// Separators a person or a bank puts inside an IBAN: spaces (also
/// non-breaking), hyphens, line breaks.
fn is_iban_separator(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '-' | '\n' | '\r' | '\t')
}

/// `(start, end, compact IBAN)` of every IBAN in `chars`, in order.
fn iban_spans(chars: &[char]) -> Vec<(usize, usize, String)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((end, compact)) = iban_at(chars, i) {
            spans.push((i, end, compact));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// The IBAN starting at `start`: its end (exclusive) and compact form.
/// It has exactly its country's length and valid check digits; up to three
/// separators may stand between two of its characters.
fn iban_at(chars: &[char], start: usize) -> Option<(usize, String)> {
    let (a, b) = (*chars.get(start)?, *chars.get(start + 1)?);
    if !(a.is_ascii_alphabetic() && b.is_ascii_alphabetic()) {
        return None;
    }
    let country: String = [a, b].iter().map(char::to_ascii_uppercase).collect();
    let length = iban_length(&country)?;
    let mut compact = country;
    let mut i = start + 2;
    while compact.len() < length {
        let c = *chars.get(i)?;
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
            i += 1;
            continue;
        }
        // Separators only between characters of the IBAN, never at its start.
        let mut run = 0;
        while chars.get(i + run).copied().is_some_and(is_iban_separator) {
            run += 1;
        }
        let next_is_part = chars.get(i + run).is_some_and(char::is_ascii_alphanumeric);
        if run == 0 || run > 3 || compact.len() < 4 || !next_is_part {
            return None;
        }
        i += run;
    }
    let bytes = compact.as_bytes();
    if !(bytes[2].is_ascii_digit() && bytes[3].is_ascii_digit()) {
        return None;
    }
    let (head, tail) = compact.split_at(4);
    (mod97(tail.chars().chain(head.chars())) == Some(1)).then_some((i, compact))
}

/// Words that announce a BIC.
const BIC_LABELS: &[&str] = &["BIC", "SWIFT", "SWIFTBIC", "BICSWIFT"];

/// `(start, end)` of every BIC in `chars` (see the module documentation);
/// `near_iban`: the text also holds an IBAN, so a BIC-shaped word is one.
fn bic_spans(chars: &[char], near_iban: bool) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut labelled = false;
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let upper = word.to_ascii_uppercase();
        if BIC_LABELS.contains(&upper.as_str()) {
            labelled = true;
            continue;
        }
        // A label glued to the BIC: `BICCOBADEFFXXX`.
        let glued = BIC_LABELS
            .iter()
            .filter(|label| upper.len() > label.len())
            .find(|label| upper.starts_with(*label) && is_bic(&upper[label.len()..]));
        if let Some(label) = glued {
            spans.push((start + label.len(), i));
        } else if is_bic(&upper) {
            let capitals = word == upper;
            let location = &upper[6..];
            let telling = location.bytes().any(|b| b.is_ascii_digit()) || upper.ends_with("XXX");
            if labelled || (capitals && (near_iban || telling)) {
                spans.push((start, i));
            }
        }
        labelled = false;
    }
    spans
}

/// A BIC's shape: four letters (the bank), a country with IBANs or a
/// major banking country, two letters or digits (the location) and
/// optionally three (the branch).
fn is_bic(word: &str) -> bool {
    let b = word.as_bytes();
    if !matches!(b.len(), 8 | 11) || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let country = &word[4..6];
    b[..4].iter().all(u8::is_ascii_alphabetic)
        && (iban_length(country).is_some()
            || ["US", "CA", "JP", "CN", "AU", "IN", "SG", "HK"].contains(&country))
}

/// Labels after which a person's name follows; those marked `true` need no
/// colon (`Kontoinhaber Erika Muster`).
const HOLDER_LABELS: &[(&str, bool)] = &[
    ("kontoinhaberin", true),
    ("kontoinhaber", true),
    ("account holder", true),
    ("accountholder", true),
    ("auftraggeberin", false),
    ("auftraggeber", false),
    ("zahlerin", false),
    ("zahler", false),
    ("payer", false),
    ("inhaberin", false),
    ("inhaber", false),
    ("name", false),
];

/// `(start, end)` of every account holder's name after a label.
fn holder_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let lower: Vec<char> = chars.iter().map(|c| c.to_ascii_lowercase()).collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_word = i == 0 || !chars[i - 1].is_alphanumeric();
        let label = HOLDER_LABELS.iter().find(|(label, _)| {
            let label: Vec<char> = label.chars().collect();
            lower.get(i..i + label.len()) == Some(label.as_slice())
                && !chars
                    .get(i + label.len())
                    .is_some_and(|c| c.is_alphanumeric())
        });
        let Some((label, colon_optional)) = label.filter(|_| at_word) else {
            i += 1;
            continue;
        };
        let mut j = i + label.chars().count();
        while chars.get(j).is_some_and(|c| *c == ' ') {
            j += 1;
        }
        let colon = chars.get(j).is_some_and(|c| matches!(c, ':' | '='));
        if colon {
            j += 1;
        } else if !colon_optional {
            i = j.max(i + 1);
            continue;
        }
        while chars.get(j).is_some_and(|c| *c == ' ') {
            j += 1;
        }
        let start = j;
        let mut end = j;
        // Words of the name: up to a line end or list separator, a word
        // with a digit, or an IBAN/BIC label.
        while j < chars.len() && !matches!(chars[j], '\n' | '\r' | ',' | ';' | '|') {
            let word_start = j;
            while j < chars.len()
                && !chars[j].is_whitespace()
                && !matches!(chars[j], ',' | ';' | '|')
            {
                j += 1;
            }
            let word: String = chars[word_start..j].iter().collect();
            let upper = word.to_ascii_uppercase();
            let stop = word.chars().any(|c| c.is_ascii_digit())
                || upper.starts_with("IBAN")
                || BIC_LABELS.iter().any(|l| upper.trim_end_matches(':') == *l)
                || word.starts_with(MASK);
            if stop {
                break;
            }
            if !word.is_empty() {
                end = j;
            }
            while chars
                .get(j)
                .is_some_and(|c| c.is_whitespace() && !matches!(c, '\n' | '\r'))
            {
                j += 1;
            }
            if j == word_start {
                break;
            }
        }
        if end > start {
            spans.push((start, end));
        }
        i = end.max(i + 1);
    }
    spans
}

/// `text` with every e-mail address replaced by `<e-mail address>`: for
/// text that is not ours (a payer's remittance, a mail server's bounce
/// diagnostic) before it is shown to `sales`, logged or stored as a reason.
pub fn redact_email_addresses(text: &str) -> String {
    let is_local = |c: char| c.is_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || c == '-' || c == '.';
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, &c) in chars.iter().enumerate() {
        if c != '@' || at < copied {
            continue;
        }
        let mut start = at;
        while start > copied && is_local(chars[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < chars.len() && is_domain(chars[end]) {
            end += 1;
        }
        // Trailing dots end the sentence, not the domain.
        while end > at + 1 && chars[end - 1] == '.' {
            end -= 1;
        }
        let domain: String = chars[at + 1..end].iter().collect();
        let looks_like_domain = domain.contains('.') && !domain.starts_with('.');
        if start == at || !looks_like_domain {
            continue;
        }
        out.extend(&chars[copied..start]);
        out.push_str(EMAIL_MASK);
        copied = end;
    }
    out.extend(&chars[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact_email_addresses(
                "Did not have authority to send from email invoices@example.com."
            ),
            "Did not have authority to send from email <e-mail address>."
        );
        assert_eq!(
            redact_email_addresses("smtp; 550 5.1.1 <a.b+c@mx.kunde.de>: unknown, also x@y.org"),
            "smtp; 550 5.1.1 <<e-mail address>>: unknown, also <e-mail address>"
        );
        for text in [
            "",
            "user unknown",
            "a @ b",
            "ratio 3@4",
            "@example.com",
            "name@",
        ] {
            assert_eq!(redact_email_addresses(text), text);
        }
    }

    #[test]
    fn accounts_keep_their_last_four_characters() {
        assert_eq!(masked_account("DE89 3704 0044 0532 0130 00"), "****3000");
        assert_eq!(masked_account("****3000"), "****3000");
        assert_eq!(masked_account("1234"), "****");
    }
}
