//! The format rules, checked on bytes: the validator accepts the research
//! note's byte-exact sample and everything the writers produce, and each
//! rule has a test that breaks it in a good file and shows the validator
//! refuses the result.

use base64::Engine;
use encoding_rs::WINDOWS_1252;

use super::columns::{BUCHUNGSSTAPEL_COLUMNS, DEBITOREN_COLUMNS};
use super::validator::{parse_line, validate};

/// `docs/research/datev-extf.md`, the source of every rule here.
pub(crate) fn research_note() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/research/datev-extf.md"
    );
    std::fs::read_to_string(path).expect("the research note is in the repository")
}

/// The research note's byte-exact Buchungsstapel sample (§6): DATEV's own
/// header and heading line, two rows in DATEV's quoting pattern.
pub(crate) fn sample_bookings() -> Vec<u8> {
    let note = research_note();
    let start = note.find("Base64 of the complete").expect("§6 sample");
    let block = &note[start..];
    let open = block.find("```\n").expect("code block") + 4;
    let close = open + block[open..].find("```").expect("end of block");
    let text: String = block[open..close]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("valid base64")
}

/// The Debitoren/Kreditoren heading line as the research note quotes
/// DATEV's sample (§3).
fn research_debtor_headings() -> String {
    let note = research_note();
    let start = note
        .find("Exact line 2 (DATEV sample, 254 headings)")
        .expect("§3 headings");
    let block = &note[start..];
    let open = block.find("```\n").expect("code block") + 4;
    block[open..].lines().next().expect("one line").to_owned()
}

/// The lines of a file, decoded, without their CR LF.
fn lines(bytes: &[u8]) -> Vec<String> {
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    text.split("\r\n").map(str::to_owned).collect()
}

/// `lines` back into a file (the last element is the empty rest after the
/// final CR LF).
fn file(lines: &[String]) -> Vec<u8> {
    let text = lines.join("\r\n");
    let (bytes, _, unmappable) = WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// The fields of a line as written (quotes kept).
fn raw_fields(line: &str) -> Vec<String> {
    parse_line(line)
        .expect("a parseable line")
        .into_iter()
        .map(|f| {
            if f.quoted {
                format!("\"{}\"", f.value.replace('"', "\"\""))
            } else {
                f.value
            }
        })
        .collect()
}

/// `bytes` with field `field` (1-based) of line `line` (1-based) written as `raw`.
pub(crate) fn with_field(bytes: &[u8], line: usize, field: usize, raw: &str) -> Vec<u8> {
    let mut all = lines(bytes);
    let mut fields = raw_fields(&all[line - 1]);
    fields[field - 1] = raw.to_owned();
    all[line - 1] = fields.join(";");
    file(&all)
}

/// `bytes` with line `line` (1-based) changed by `edit`.
pub(crate) fn with_line(bytes: &[u8], line: usize, edit: impl FnOnce(&str) -> String) -> Vec<u8> {
    let mut all = lines(bytes);
    all[line - 1] = edit(&all[line - 1]);
    file(&all)
}

#[test]
fn the_research_notes_sample_file_is_valid() {
    let sample = sample_bookings();
    assert_eq!(sample.len(), 3494, "the note gives the sample's size");
    let parsed = validate(&sample).unwrap();
    assert_eq!(parsed.rows.len(), 2);
}

#[test]
fn the_booking_headings_are_datevs_sample_line_byte_for_byte() {
    let sample = sample_bookings();
    let headings = lines(&sample)[1].clone();
    let ours: Vec<&str> = BUCHUNGSSTAPEL_COLUMNS.iter().map(|c| c.heading).collect();
    assert_eq!(ours.join(";"), headings);
}

#[test]
fn the_booking_columns_quote_exactly_where_datevs_sample_rows_do() {
    let sample = sample_bookings();
    for line in &lines(&sample)[2..4] {
        let fields = parse_line(line).unwrap();
        for (i, (field, column)) in fields.iter().zip(&BUCHUNGSSTAPEL_COLUMNS).enumerate() {
            assert_eq!(
                field.quoted,
                column.kind.quoted(),
                "column {} {}",
                i + 1,
                column.heading
            );
        }
    }
}

#[test]
fn the_debtor_headings_are_datevs_sample_line() {
    let ours: Vec<&str> = DEBITOREN_COLUMNS.iter().map(|c| c.heading).collect();
    assert_eq!(ours.len(), 254);
    assert_eq!(ours.join(";"), research_debtor_headings());
}

/// A test that breaks one rule in a good file (the research note's
/// sample unless another is given) and expects the validator to refuse
/// the result, naming the rule.
macro_rules! rejects {
    ($name:ident, $expected:literal, |$good:ident| $mutation:expr) => {
        rejects!(
            $name,
            $crate::datev::tests::sample_bookings(),
            $expected,
            |$good| $mutation
        );
    };
    ($name:ident, $base:expr, $expected:literal, |$good:ident| $mutation:expr) => {
        #[test]
        fn $name() {
            let $good: Vec<u8> = $base;
            $crate::datev::validator::validate(&$good)
                .expect("the file is valid before the change");
            let bad: Vec<u8> = $mutation;
            let err = $crate::datev::validator::validate(&bad)
                .expect_err("the validator must refuse the change");
            assert!(err.contains($expected), "{err}");
        }
    };
}
pub(crate) use rejects;

// Encoding and line ends.
rejects!(refuses_a_byte_order_mark, "byte-order mark", |good| [
    &[0xEF, 0xBB, 0xBF][..],
    &good
]
.concat());
rejects!(refuses_utf8, "UTF-8", |good| {
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(&good);
    text.into_owned().into_bytes()
});
rejects!(
    refuses_bytes_windows_1252_does_not_define,
    "not a Windows-1252 character",
    |good| { with_field(&good, 3, 14, "\"Rechnung\u{81}\"") }
);
rejects!(refuses_lf_line_ends, "LF without CR", |good| {
    good.iter().copied().filter(|b| *b != b'\r').collect()
});
rejects!(
    refuses_a_missing_final_line_end,
    "must end with CR LF",
    |good| good[..good.len() - 2].to_vec()
);
rejects!(refuses_a_tab_inside_text, "control character", |good| {
    with_field(&good, 3, 14, "\"a\tb\"")
});

// Header.
rejects!(refuses_a_header_with_30_fields, "31", |good| with_line(
    &good,
    1,
    |l| l.rsplit_once(';').unwrap().0.to_owned()
));
rejects!(refuses_a_header_with_32_fields, "31", |good| with_line(
    &good,
    1,
    |l| format!("{l};")
));
rejects!(refuses_another_kennzeichen, "header field 1", |good| {
    with_field(&good, 1, 1, "\"DTVF\"")
});
rejects!(refuses_another_header_version, "header field 2", |good| {
    with_field(&good, 1, 2, "510")
});
rejects!(refuses_another_category, "header field 3", |good| {
    with_field(&good, 1, 3, "20")
});
rejects!(
    refuses_a_format_name_of_another_category,
    "header field 4",
    |good| with_field(&good, 1, 4, "\"Buchungen\"")
);
rejects!(refuses_another_format_version, "header field 5", |good| {
    with_field(&good, 1, 5, "12")
});
rejects!(refuses_swapped_header_fields, "header field 4", |good| {
    let swapped = with_field(&good, 1, 4, "13");
    with_field(&swapped, 1, 5, "\"Buchungsstapel\"")
});
rejects!(refuses_a_short_timestamp, "header field 6", |good| {
    with_field(&good, 1, 6, "2024013014044043")
});
rejects!(refuses_an_impossible_timestamp, "header field 6", |good| {
    with_field(&good, 1, 6, "20241330140440439")
});
rejects!(refuses_a_filled_importiert, "header field 7", |good| {
    with_field(&good, 1, 7, "1")
});
rejects!(
    refuses_a_long_herkunft,
    "header field 8",
    |good| with_field(&good, 1, 8, "\"REX\"")
);
rejects!(refuses_a_consultant_below_1001, "header field 11", |good| {
    with_field(&good, 1, 11, "1000")
});
rejects!(
    refuses_a_consultant_above_9999999,
    "header field 11",
    |good| with_field(&good, 1, 11, "10000000")
);
rejects!(refuses_a_client_above_99999, "header field 12", |good| {
    with_field(&good, 1, 12, "100000")
});
rejects!(refuses_a_client_of_zero, "header field 12", |good| {
    with_field(&good, 1, 12, "0")
});
rejects!(
    refuses_an_impossible_fiscal_year_start,
    "header field 13",
    |good| with_field(&good, 1, 13, "20241301")
);
rejects!(refuses_an_account_length_of_9, "header field 14", |good| {
    with_field(&good, 1, 14, "9")
});
rejects!(refuses_an_account_length_of_3, "header field 14", |good| {
    with_field(&good, 1, 14, "3")
});
rejects!(refuses_a_quoted_date, "header field 15", |good| with_field(
    &good,
    1,
    15,
    "\"20240101\""
));
rejects!(
    refuses_a_period_running_backwards,
    "header field 16",
    |good| with_field(&good, 1, 16, "20231231")
);
rejects!(
    refuses_a_period_across_calendar_years,
    "header field 16",
    |good| with_field(&good, 1, 16, "20250131")
);
rejects!(
    refuses_a_period_before_the_fiscal_year,
    "header field 16",
    |good| with_field(&good, 1, 13, "20240201")
);
rejects!(refuses_a_long_description, "header field 17", |good| {
    with_field(&good, 1, 17, &format!("\"{}\"", "x".repeat(31)))
});
rejects!(refuses_lower_case_initials, "header field 18", |good| {
    with_field(&good, 1, 18, "\"wd\"")
});
rejects!(refuses_buchungstyp_3, "header field 19", |good| with_field(
    &good, 1, 19, "3"
));
rejects!(refuses_festschreibung_2, "header field 21", |good| {
    with_field(&good, 1, 21, "2")
});
rejects!(refuses_a_lower_case_currency, "header field 22", |good| {
    with_field(&good, 1, 22, "\"eur\"")
});
rejects!(refuses_a_filled_reserved_field, "header field 23", |good| {
    with_field(&good, 1, 23, "1")
});
rejects!(refuses_an_unquoted_chart, "header field 27", |good| {
    with_field(&good, 1, 27, "03")
});

// Line 2.
rejects!(
    refuses_a_heading_spelled_otherwise,
    "column heading 5",
    |good| { with_line(&good, 2, |l| l.replace("Basis-Umsatz", "Basisumsatz")) }
);
rejects!(
    refuses_an_en_dash_in_a_heading,
    "column heading 21",
    |good| {
        with_line(&good, 2, |l| {
            l.replace("Beleginfo - Art 1;", "Beleginfo \u{2013} Art 1;")
        })
    }
);
rejects!(refuses_a_missing_heading, "column heading 125", |good| {
    with_line(&good, 2, |l| l.rsplit_once(';').unwrap().0.to_owned())
});

// Rows.
rejects!(refuses_a_row_with_124_fields, "124 fields", |good| {
    with_line(&good, 3, |l| l.rsplit_once(';').unwrap().0.to_owned())
});
rejects!(refuses_a_row_with_126_fields, "126 fields", |good| {
    with_line(&good, 3, |l| format!("{l};"))
});
rejects!(refuses_a_dot_as_decimal_mark, "Umsatz", |good| with_field(
    &good, 3, 1, "1190.00"
));
rejects!(refuses_a_sign, "Umsatz", |good| with_field(
    &good, 3, 1, "-1190,00"
));
rejects!(refuses_a_zero_amount, "Umsatz", |good| with_field(
    &good, 3, 1, "0,00"
));
rejects!(refuses_a_thousands_separator, "Umsatz", |good| with_field(
    &good, 3, 1, "1.190,00"
));
rejects!(refuses_one_decimal, "Umsatz", |good| with_field(
    &good, 3, 1, "1190,0"
));
rejects!(refuses_eleven_digits_before_the_comma, "Umsatz", |good| {
    with_field(&good, 3, 1, "12345678901,00")
});
rejects!(refuses_a_missing_amount, "Umsatz", |good| with_field(
    &good, 3, 1, ""
));
rejects!(
    refuses_an_unquoted_debit_credit_mark,
    "Soll/Haben-Kennzeichen",
    |good| with_field(&good, 3, 2, "S")
);
rejects!(
    refuses_a_debit_credit_mark_other_than_s_or_h,
    "Soll/Haben-Kennzeichen",
    |good| with_field(&good, 3, 2, "\"D\"")
);
rejects!(refuses_a_quoted_account, "Konto", |good| with_field(
    &good,
    3,
    7,
    "\"10000\""
));
rejects!(
    refuses_an_account_longer_than_the_length_plus_one,
    "Konto",
    |good| with_field(&good, 3, 7, "100000")
);
rejects!(
    refuses_an_account_of_zeros,
    "Gegenkonto",
    |good| with_field(&good, 3, 8, "0000")
);
rejects!(refuses_a_tax_key_of_five_digits, "BU-Schlüssel", |good| {
    with_field(&good, 3, 9, "\"12345\"")
});
rejects!(refuses_a_tax_key_with_a_letter, "BU-Schlüssel", |good| {
    with_field(&good, 3, 9, "\"3a\"")
});
rejects!(
    refuses_a_tax_key_on_an_automatic_account,
    "automatic account 8400",
    |good| with_field(&good, 3, 9, "\"3\"")
);
rejects!(refuses_a_three_digit_belegdatum, "Belegdatum", |good| {
    with_field(&good, 3, 10, "501")
});
rejects!(refuses_a_belegdatum_with_dots, "Belegdatum", |good| {
    with_field(&good, 3, 10, "31.01.2024")
});
rejects!(refuses_an_impossible_belegdatum, "Belegdatum", |good| {
    with_field(&good, 3, 10, "3102")
});
rejects!(
    refuses_a_belegdatum_outside_the_period,
    "Belegdatum",
    |good| with_field(&good, 3, 10, "0109")
);
rejects!(refuses_a_space_in_belegfeld_1, "Belegfeld 1", |good| {
    with_field(&good, 3, 11, "\"RE 2024 001\"")
});
rejects!(refuses_belegfeld_1_longer_than_36, "Belegfeld 1", |good| {
    with_field(&good, 3, 11, &format!("\"{}\"", "1".repeat(37)))
});
rejects!(refuses_an_empty_belegfeld_1, "Belegfeld 1", |good| {
    with_field(&good, 3, 11, "\"\"")
});
rejects!(
    refuses_buchungstext_longer_than_60,
    "Buchungstext",
    |good| with_field(&good, 3, 14, &format!("\"{}\"", "x".repeat(61)))
);
rejects!(refuses_an_unquoted_buchungstext, "Buchungstext", |good| {
    with_field(&good, 3, 14, "Rechnung")
});
rejects!(refuses_an_undoubled_quote_in_text, "quote", |good| {
    with_line(&good, 3, |l| l.replacen("\"Rechnung ", "\"Rechnung \" ", 1))
});
rejects!(
    refuses_an_unquoted_empty_text_field,
    "Belegfeld 2",
    |good| with_field(&good, 3, 12, "")
);
rejects!(
    refuses_festschreibung_2_in_a_row,
    "Festschreibung",
    |good| with_field(&good, 3, 114, "2")
);
rejects!(
    refuses_a_leistungsdatum_without_its_tax_period,
    "Datum Zuord. Steuerperiode",
    |good| with_field(&good, 3, 115, "15012024")
);
rejects!(refuses_a_two_digit_year, "Leistungsdatum", |good| {
    with_field(&good, 3, 115, "150124")
});
