//! A test-only reader of EXTF files that checks every format rule the
//! writers promise (research note §1–§4), independently of how the writers
//! build a file: it sees only bytes. Each check returns the first rule a
//! file breaks, naming the line and the field.

use chrono::NaiveDate;
use encoding_rs::WINDOWS_1252;

use super::columns::{BUCHUNGSSTAPEL_COLUMNS, Column, DEBITOREN_COLUMNS, Kind};
use super::field::is_document_char;

/// One parsed field: its value (quotes removed, doubled quotes undone) and
/// whether it was written in quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) value: String,
    pub(crate) quoted: bool,
}

/// What a valid file holds, for tests that look further.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) header: Vec<Field>,
    pub(crate) rows: Vec<Vec<Field>>,
}

/// Bytes Windows-1252 leaves undefined.
const UNDEFINED: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

/// Checks the bytes of an EXTF file of either category.
pub(crate) fn validate(bytes: &[u8]) -> Result<Parsed, String> {
    check_bytes(bytes)?;
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    let body = text
        .strip_suffix("\r\n")
        .ok_or("the file must end with CR LF")?;
    let mut lines = body.split("\r\n");
    let header =
        parse_line(lines.next().unwrap_or_default()).map_err(|e| format!("line 1: {e}"))?;
    let (columns, range) = check_header(&header)?;
    let headings = lines
        .next()
        .ok_or("line 2 (the column headings) is missing")?;
    let expected: Vec<&str> = columns.iter().map(|c| c.heading).collect();
    if headings != expected.join(";") {
        let found: Vec<&str> = headings.split(';').collect();
        let first = (0..expected.len().max(found.len()))
            .find(|i| expected.get(*i) != found.get(*i))
            .unwrap_or(0);
        return Err(format!(
            "line 2: column heading {} is {:?}, DATEV names it {:?}",
            first + 1,
            found.get(first),
            expected.get(first)
        ));
    }
    let account_length: usize = header[13].value.parse().unwrap_or(0);
    let automatic = automatic_accounts(&header[26].value);
    let mut rows = Vec::new();
    for (index, line) in lines.enumerate() {
        let number = index + 3;
        let fields = parse_line(line).map_err(|e| format!("line {number}: {e}"))?;
        check_row(&fields, columns, account_length, range, automatic)
            .map_err(|e| format!("line {number}: {e}"))?;
        rows.push(fields);
    }
    if rows.len() > 99_999 {
        return Err(format!(
            "{} rows: DATEV takes at most 99999 per file",
            rows.len()
        ));
    }
    Ok(Parsed { header, rows })
}

/// Encoding and line ends: no byte-order mark, no UTF-8, only bytes that
/// Windows-1252 defines, no control characters except CR LF as line end.
fn check_bytes(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(
            "the file starts with a UTF-8 byte-order mark; DATEV reads Windows-1252".into(),
        );
    }
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return Err("the file is UTF-8, not Windows-1252".into());
    }
    for (at, byte) in bytes.iter().enumerate() {
        let previous = at.checked_sub(1).map(|i| bytes[i]);
        let next = bytes.get(at + 1).copied();
        match byte {
            b'\r' if next != Some(b'\n') => return Err(format!("byte {at}: CR without LF")),
            b'\n' if previous != Some(b'\r') => {
                return Err(format!("byte {at}: LF without CR (lines end with CR LF)"));
            }
            b'\r' | b'\n' => {}
            0..=0x1F | 0x7F => return Err(format!("byte {at}: control character {byte:#04x}")),
            b if UNDEFINED.contains(b) => {
                return Err(format!(
                    "byte {at}: {byte:#04x} is not a Windows-1252 character"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Splits one line at `;`, honouring double quotes (`""` inside quotes is
/// one quote); a quote inside an unquoted field, or text after a closing
/// quote, is an error.
pub(crate) fn parse_line(line: &str) -> Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut value = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("field {}: unclosed quote", fields.len() + 1)),
                }
            }
            if !matches!(chars.peek(), None | Some(';')) {
                return Err(format!(
                    "field {}: text after the closing quote",
                    fields.len() + 1
                ));
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ';') {
                if c == '"' {
                    return Err(format!(
                        "field {}: quote inside an unquoted field",
                        fields.len() + 1
                    ));
                }
                value.push(c);
                chars.next();
            }
        }
        fields.push(Field { value, quoted });
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

fn digits(value: &str, range: std::ops::RangeInclusive<usize>) -> bool {
    range.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

fn ymd(value: &str) -> Option<NaiveDate> {
    digits(value, 8..=8)
        .then(|| NaiveDate::parse_from_str(value, "%Y%m%d").ok())
        .flatten()
        .filter(|d| (2000..=2099).contains(&chrono::Datelike::year(d)))
}

/// What a header says about the lines below it: their columns, and the
/// booking period (Buchungsstapel only).
type Layout = (&'static [Column], Option<(NaiveDate, NaiveDate)>);

/// The header (line 1): 31 fields in DATEV's order, quoting and ranges.
/// Returns the category's columns and the booking period.
fn check_header(h: &[Field]) -> Result<Layout, String> {
    let err = |n: usize, what: &str| Err(format!("line 1: header field {n} ({what})"));
    if h.len() != 31 {
        return Err(format!(
            "line 1: the header has {} fields, DATEV's has 31",
            h.len()
        ));
    }
    let is =
        |n: usize, quoted: bool, value: &str| h[n - 1].quoted == quoted && h[n - 1].value == value;
    let bare_empty = |n: usize| is(n, false, "");
    let quoted_empty = |n: usize| is(n, true, "");
    if !is(1, true, "EXTF") {
        return err(1, "Kennzeichen must be \"EXTF\"");
    }
    if !is(2, false, "700") {
        return err(2, "Versionsnummer must be 700");
    }
    let bookings = is(3, false, "21");
    let debtors = is(3, false, "16");
    if !bookings && !debtors {
        return err(3, "Formatkategorie must be 21 or 16");
    }
    let (name, version) = if bookings {
        ("Buchungsstapel", "13")
    } else {
        ("Debitoren/Kreditoren", "5")
    };
    if !is(4, true, name) {
        return err(4, "Formatname does not match the category");
    }
    if !is(5, false, version) {
        return err(
            5,
            "Formatversion must be 13 (category 21) or 5 (category 16)",
        );
    }
    let created = &h[5];
    let created_ok = !created.quoted
        && digits(&created.value, 17..=17)
        && chrono::NaiveDateTime::parse_from_str(&created.value[..14], "%Y%m%d%H%M%S").is_ok()
        && created.value.starts_with("20");
    if !created_ok {
        return err(6, "Erzeugt am must be YYYYMMDDHHMMSSFFF");
    }
    if !bare_empty(7) {
        return err(7, "Importiert must be empty");
    }
    let short_word = |f: &Field, max: usize| {
        f.quoted
            && f.value.chars().count() <= max
            && f.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !short_word(&h[7], 2) {
        return err(8, "Herkunft must be quoted, at most 2 letters or digits");
    }
    if !short_word(&h[8], 25) {
        return err(
            9,
            "Exportiert von must be quoted, at most 25 letters or digits",
        );
    }
    if !quoted_empty(10) {
        return err(10, "Importiert von must be \"\"");
    }
    let number = |n: usize, range: std::ops::RangeInclusive<u64>| {
        !h[n - 1].quoted
            && digits(&h[n - 1].value, 1..=9)
            && h[n - 1]
                .value
                .parse::<u64>()
                .is_ok_and(|v| range.contains(&v))
    };
    if !number(11, 1001..=9_999_999) {
        return err(11, "Beraternummer must be 1001..=9999999");
    }
    if !number(12, 1..=99_999) {
        return err(12, "Mandantennummer must be 1..=99999");
    }
    let Some(fiscal_start) = ymd(&h[12].value).filter(|_| !h[12].quoted) else {
        return err(13, "WJ-Beginn must be a date YYYYMMDD");
    };
    if !number(14, 4..=8) || h[13].value.len() != 1 {
        return err(14, "Sachkontenlänge must be 4..=8");
    }
    let range = if bookings {
        let from = ymd(&h[14].value).filter(|_| !h[14].quoted);
        let to = ymd(&h[15].value).filter(|_| !h[15].quoted);
        let (Some(from), Some(to)) = (from, to) else {
            return err(15, "Datum vom and Datum bis must be dates YYYYMMDD");
        };
        let fiscal_end = fiscal_start + chrono::Months::new(12);
        if from > to || chrono::Datelike::year(&from) != chrono::Datelike::year(&to) {
            return err(
                16,
                "Datum vom..Datum bis must run forwards within one calendar year",
            );
        }
        if from < fiscal_start || to >= fiscal_end {
            return err(
                16,
                "Datum vom..Datum bis must lie within the fiscal year from WJ-Beginn",
            );
        }
        Some((from, to))
    } else {
        if !bare_empty(15) || !bare_empty(16) {
            return err(15, "Datum vom and Datum bis are empty for master data");
        }
        None
    };
    let description = &h[16];
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ' ');
    if !description.quoted
        || description.value.chars().count() > 30
        || !description.value.chars().all(plain)
    {
        return err(
            17,
            "Bezeichnung must be quoted, at most 30 plain characters",
        );
    }
    let initials = &h[17].value;
    if !h[17].quoted
        || !(initials.is_empty() || initials.len() == 2 || initials.len() == 4)
        || !initials.bytes().all(|b| b.is_ascii_uppercase())
    {
        return err(18, "Diktatkürzel must be quoted, 0, 2 or 4 capital letters");
    }
    let one_of =
        |n: usize, allowed: &[&str]| !h[n - 1].quoted && allowed.contains(&h[n - 1].value.as_str());
    if bookings {
        if !one_of(19, &["1", "2"]) {
            return err(19, "Buchungstyp must be 1 or 2");
        }
        if !one_of(20, &["", "0", "30", "40", "50", "64"]) {
            return err(20, "Rechnungslegungszweck must be 0, 30, 40, 50 or 64");
        }
        if !one_of(21, &["0", "1"]) {
            return err(21, "Festschreibung must be 0 or 1");
        }
        let wkz = &h[21];
        if !wkz.quoted || wkz.value.len() != 3 || !wkz.value.bytes().all(|b| b.is_ascii_uppercase())
        {
            return err(22, "WKZ must be a quoted ISO 4217 code");
        }
    } else {
        for n in 19..=21 {
            if !bare_empty(n) {
                return err(n, "empty for master data");
            }
        }
        if !quoted_empty(22) {
            return err(22, "WKZ is \"\" for master data");
        }
    }
    for n in [23, 25, 26, 29] {
        if !bare_empty(n) {
            return err(n, "reserved: empty");
        }
    }
    for n in [24, 30] {
        if !quoted_empty(n) {
            return err(n, "reserved: \"\"");
        }
    }
    let chart = &h[26];
    if !chart.quoted || !digits(&chart.value, 2..=2) {
        return err(27, "Sachkontenrahmen must be two quoted digits");
    }
    if h[27].quoted || !digits(&h[27].value, 0..=4) {
        return err(28, "ID der Branchenlösung must be at most 4 digits");
    }
    let info = &h[30];
    if !info.quoted || info.value.chars().count() > 16 {
        return err(
            31,
            "Anwendungsinformation must be quoted, at most 16 characters",
        );
    }
    let columns: &'static [Column] = if bookings {
        &BUCHUNGSSTAPEL_COLUMNS
    } else {
        &DEBITOREN_COLUMNS
    };
    Ok((columns, range))
}

/// One field against its column's kind.
fn check_field(field: &Field, column: &Column) -> Result<(), String> {
    let name = column.heading;
    let kind = column.kind;
    if field.quoted != kind.quoted() {
        let how = if kind.quoted() {
            "in double quotes"
        } else {
            "without quotes"
        };
        return Err(format!("{name}: must be written {how}"));
    }
    let v = field.value.as_str();
    if v.is_empty() {
        return Ok(());
    }
    let fail = |rule: &str| Err(format!("{name}: {v:?} {rule}"));
    let day_month_year = |v: &str| {
        digits(v, 8..=8)
            && NaiveDate::parse_from_str(v, "%d%m%Y").is_ok()
            && v[4..].starts_with("20")
    };
    let amount = |v: &str| {
        v.split_once(',')
            .is_some_and(|(whole, cents)| digits(whole, 1..=10) && digits(cents, 2..=2))
            && v.bytes().any(|b| b.is_ascii_digit() && b != b'0')
    };
    let decimal = |v: &str| {
        v.split_once(',')
            .is_some_and(|(w, f)| digits(w, 1..=12) && digits(f, 2..=6))
    };
    let code = |v: &str, len: usize| v.len() == len && v.bytes().all(|b| b.is_ascii_uppercase());
    let day_month = |v: &str| {
        digits(v, 4..=4) && NaiveDate::parse_from_str(&format!("{v}2024"), "%d%m%Y").is_ok()
    };
    let longer = |max: u16| v.chars().count() > usize::from(max);
    match kind {
        Kind::Amount if !amount(v) => {
            fail("is not an amount like 1190,00 (no sign, comma, 2 decimals, not zero)")
        }
        Kind::DebitCredit if v != "S" && v != "H" => fail("must be S or H"),
        Kind::Currency if !code(v, 3) => fail("is not an ISO 4217 code in capitals"),
        Kind::Country if !code(v, 2) => fail("is not an ISO 3166 code in capitals"),
        Kind::Decimal if !decimal(v) => fail("is not a decimal with a comma"),
        Kind::Account if !digits(v, 1..=9) || v.bytes().all(|b| b == b'0') => {
            fail("is not an account (1 to 9 digits, not all zeros)")
        }
        Kind::TaxKey if !digits(v, 1..=4) => fail("is not a tax key of 1 to 4 digits"),
        Kind::DayMonth if !day_month(v) => fail("is not a day and month DDMM"),
        Kind::DocumentField(max) if longer(u16::from(max)) || !v.chars().all(is_document_char) => {
            fail(&format!(
                "must be at most {max} of A-Z a-z 0-9 $ % & * + - /"
            ))
        }
        Kind::Text(max) if longer(max) => fail(&format!("is longer than {max} characters")),
        Kind::Flag if v != "0" && v != "1" => fail("must be 0 or 1"),
        Kind::Date if !day_month_year(v) => fail("is not a date DDMMYYYY"),
        Kind::Number(max) if !digits(v, 1..=usize::from(max)) => {
            fail(&format!("is not a number of at most {max} digits"))
        }
        Kind::Empty => fail("must be empty"),
        _ => Ok(()),
    }
}

/// DATEV's automatic revenue accounts ("AM", which derive the VAT
/// themselves) of the chart the header names, as the research note lists
/// them (§5.1 after [SEA], and the bad-debt accounts of §5.3).
fn automatic_accounts(chart: &str) -> &'static [&'static str] {
    match chart {
        "03" => &[
            "8120", "8125", "8300", "8310", "8315", "8336", "8338", "8400", "8449", "2406",
        ],
        "04" => &[
            "4120", "4125", "4300", "4310", "4315", "4336", "4338", "4400", "4449", "6936",
        ],
        _ => &[],
    }
}

/// One data row: field count, every field against its column, and the
/// rules across fields of each category.
fn check_row(
    fields: &[Field],
    columns: &[Column],
    account_length: usize,
    period: Option<(NaiveDate, NaiveDate)>,
    automatic: &[&str],
) -> Result<(), String> {
    if fields.len() != columns.len() {
        return Err(format!(
            "{} fields, the format has {}",
            fields.len(),
            columns.len()
        ));
    }
    for (field, column) in fields.iter().zip(columns) {
        check_field(field, column)?;
    }
    let get = |heading: &str| {
        let i = columns
            .iter()
            .position(|c| c.heading == heading)
            .unwrap_or(0);
        fields[i].value.as_str()
    };
    let personal = |v: &str| v.len() == account_length + 1;
    let debtor_range = |v: &str| {
        let first = 10u64.pow(account_length as u32);
        v.parse::<u64>()
            .is_ok_and(|n| (first..7 * first).contains(&n))
    };
    match period {
        Some((from, to)) => {
            for heading in [
                "Umsatz (ohne Soll/Haben-Kz)",
                "Soll/Haben-Kennzeichen",
                "Konto",
                "Gegenkonto (ohne BU-Schlüssel)",
                "Belegdatum",
            ] {
                if get(heading).is_empty() {
                    return Err(format!("{heading}: required"));
                }
            }
            for heading in ["Konto", "Gegenkonto (ohne BU-Schlüssel)"] {
                let v = get(heading);
                if v.len() > account_length + 1 {
                    return Err(format!(
                        "{heading}: {v} is longer than the account length + 1 ({})",
                        account_length + 1
                    ));
                }
            }
            let belegdatum = get("Belegdatum");
            let date = NaiveDate::parse_from_str(
                &format!("{belegdatum}{}", chrono::Datelike::year(&from)),
                "%d%m%Y",
            )
            .map_err(|_| {
                format!(
                    "Belegdatum: {belegdatum} is not a day of {}",
                    chrono::Datelike::year(&from)
                )
            })?;
            if date < from || date > to {
                return Err(format!(
                    "Belegdatum: {belegdatum} lies outside Datum vom..Datum bis"
                ));
            }
            if get("Belegfeld 1").is_empty() {
                return Err(
                    "Belegfeld 1: the document number is required (it links the open items)".into(),
                );
            }
            let key = get("BU-Schlüssel");
            let contra = get("Gegenkonto (ohne BU-Schlüssel)");
            if !key.is_empty() && key != "40" && automatic.contains(&contra) {
                return Err(format!(
                    "BU-Schlüssel: {key} on the automatic account {contra} would count its VAT twice (only 40 is allowed there)"
                ));
            }
            if !get("Leistungsdatum").is_empty() && get("Datum Zuord. Steuerperiode").is_empty() {
                return Err("Datum Zuord. Steuerperiode: required with a Leistungsdatum".into());
            }
        }
        None => {
            let konto = get("Konto");
            if !personal(konto) || !debtor_range(konto) {
                return Err(format!(
                    "Konto: {konto:?} is not a debtor account of account length + 1 digits"
                ));
            }
            let name_field = match get("Adressattyp") {
                "" | "2" => "Name (Adressattyp Unternehmen)",
                "1" => "Name (Adressattyp natürl. Person)",
                "0" => "Name (Adressattyp keine Angabe)",
                other => return Err(format!("Adressattyp: {other:?} must be 0, 1 or 2")),
            };
            if get(name_field).is_empty() {
                return Err(format!("{name_field}: required for this Adressattyp"));
            }
            let (country, vat) = (get("EU-Land"), get("EU-UStID"));
            if !vat.is_empty() && (country.is_empty() || vat.starts_with(country)) {
                return Err(
                    "EU-UStID: the number without its country prefix, which goes into EU-Land"
                        .into(),
                );
            }
        }
    }
    Ok(())
}
