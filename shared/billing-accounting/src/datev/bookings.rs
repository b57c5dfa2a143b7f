//! Buchungsstapel (category 21, format version 13): the journal's
//! bookings as DATEV rows (research note §2).
//!
//! How a booking becomes rows. The journal books VAT on its own lines so
//! that it balances line by line for any ERP. DATEV does not: it books the
//! gross amount on an automatic revenue account ("AM", no tax key) or on a
//! revenue account with a tax key (BU-Schlüssel), and derives the VAT
//! itself (research note §5.1, sources [SEA], epago, kontomatch; the
//! research note's §6 sample books 1190,00 from debtor 10000 to 8400 with
//! no key). So each VAT line is folded into the line whose VAT it is
//! ([`Booking::postings`]), and each remaining line is paired with the
//! single line on the other side into one DATEV row: `Umsatz` without sign,
//! `Konto` the customer's debtor account where the booking touches it (so
//! the row lands in the customer's open items) with `S`/`H` from the
//! debtor's side, `Gegenkonto` the other account, `BU-Schlüssel` the
//! revenue (or bad-debt) account's key.
//!
//! DATEV derives the VAT as gross × rate / (100 + rate), rounded to the
//! cent. Where that gives another cent than the journal booked (a
//! write-off's VAT share, a breakdown rounded per line), folding would make
//! DATEV's books differ from ours; that VAT line is then written as a row
//! of its own on the VAT account, and the net row carries tax key 40
//! ("Aufhebung der Automatik", research note §5.1) on an automatic account,
//! or no key on an account that takes one, so DATEV derives nothing.
//!
//! Each row cites the invoice number in `Belegfeld 1`, DATEV's open-item
//! key, identical on the invoice, its payments and credit notes; a credit
//! note's own number, and a document date that lies before the batch (an
//! event recorded after its month was locked books on the first day of the
//! next open month), are kept in `Beleginfo` pairs.

use rust_decimal::{Decimal, RoundingStrategy};

use billing_domain::accounting::TaxKey;
use billing_domain::journal::{Booking, Posting};
use billing_domain::payment::ClaimHead;

use super::columns::BUCHUNGSSTAPEL_COLUMNS;
use super::header::Category;
use super::{ExtfHeader, Row, field, write_file};
use crate::AccountingError;

/// DATEV takes at most this many rows in one file (research note §4).
const MAX_ROWS: usize = 99_999;

/// Longest `Buchungstext` (research note §2.4); longer texts are cut.
const MAX_TEXT: usize = 60;

/// Tax key 40: DATEV derives no VAT on an automatic account.
const NO_AUTOMATIC_VAT: u16 = 40;

/// The Buchungsstapel of `bookings` under `header`: one row per DATEV
/// posting, in the order given. Every value is checked; the first one that
/// does not fit is an error naming the booking and DATEV's column, and
/// nothing is written.
pub fn buchungsstapel(
    header: &ExtfHeader,
    bookings: &[Booking],
) -> Result<Vec<u8>, AccountingError> {
    let mut rows = Vec::new();
    for (index, booking) in bookings.iter().enumerate() {
        let name = |column: &str| format!("bookings[{index}].{column}");
        for posting in postings(header, booking, &name)? {
            rows.push(row(header, booking, &posting, &name)?);
        }
    }
    if rows.len() > MAX_ROWS {
        return Err(AccountingError::field(
            "bookings",
            format!(
                "{} rows; DATEV takes at most {MAX_ROWS} in one file",
                rows.len()
            ),
        ));
    }
    Ok(write_file(
        header,
        Category::Bookings,
        &BUCHUNGSSTAPEL_COLUMNS,
        &rows,
    ))
}

/// The VAT DATEV derives from `gross` at `rate` percent.
fn derived_vat(gross: Decimal, rate: Decimal) -> Decimal {
    (gross * rate / (Decimal::ONE_HUNDRED + rate))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The booking's DATEV postings, with VAT folded only where DATEV derives
/// exactly the journal's VAT from the gross amount.
fn postings(
    header: &ExtfHeader,
    booking: &Booking,
    name: &dyn Fn(&str) -> String,
) -> Result<Vec<Posting>, AccountingError> {
    let mut adjusted = booking.clone();
    for vat_index in 0..booking.lines.len() {
        let vat = &booking.lines[vat_index];
        let Some(of) = vat.vat_of else { continue };
        let Some(target) = booking.lines.get(of) else {
            continue;
        };
        let rate = header
            .accounts
            .taxable
            .iter()
            .find(|accounts| accounts.output_vat == vat.account)
            .map(|accounts| accounts.rate);
        let gross = target.amount.amount() + vat.amount.amount();
        let derived = rate.map(|rate| derived_vat(gross, rate));
        if derived == Some(vat.amount.amount()) {
            continue;
        }
        adjusted.lines[vat_index].vat_of = None;
        let key = &mut adjusted.lines[of].tax_key;
        *key = match key {
            None => Some(TaxKey::new(NO_AUTOMATIC_VAT, &name("BU-Schlüssel"))?),
            Some(_) => None,
        };
    }
    adjusted.postings().map_err(|e| {
        let AccountingError::Field { field, message } = AccountingError::from(e);
        AccountingError::field(name(&field), message)
    })
}

/// DATEV's `Sachverhalt` of a debtor line's head (research note §2.4,
/// [LED]): 31 default interest, 40 dunning fee.
fn sachverhalt(claim: Option<ClaimHead>) -> Option<&'static str> {
    match claim? {
        ClaimHead::Interest => Some("31"),
        ClaimHead::Costs => Some("40"),
        ClaimHead::Principal => None,
    }
}

fn row(
    header: &ExtfHeader,
    booking: &Booking,
    posting: &Posting,
    name: &dyn Fn(&str) -> String,
) -> Result<Row, AccountingError> {
    let fields = &header.fields;
    let mut row = Row::new(&BUCHUNGSSTAPEL_COLUMNS);
    let currency = posting.amount.currency();
    if currency != fields.currency {
        return Err(AccountingError::field(
            name("WKZ Umsatz"),
            format!(
                "the booking is in {currency}, the batch in {}; DATEV would need an exchange rate",
                fields.currency
            ),
        ));
    }
    row.set(
        "Umsatz (ohne Soll/Haben-Kz)",
        field::amount(
            posting.amount.amount(),
            &name("Umsatz (ohne Soll/Haben-Kz)"),
        )?,
    );
    // Konto is the debtor where the posting touches it, so DATEV files the
    // row in the customer's open items; S/H is the Konto's side.
    let debtor = &booking.debtor_account;
    let (konto, side, gegenkonto) = if posting.credit == *debtor {
        (&posting.credit, "H", &posting.debit)
    } else {
        (&posting.debit, "S", &posting.credit)
    };
    row.set("Soll/Haben-Kennzeichen", field::quote(side));
    row.set("WKZ Umsatz", field::quote(currency.code()));
    let longest = usize::from(fields.account_length) + 1;
    row.set(
        "Konto",
        field::account(konto.as_str(), longest, &name("Konto"))?,
    );
    row.set(
        "Gegenkonto (ohne BU-Schlüssel)",
        field::account(
            gegenkonto.as_str(),
            longest,
            &name("Gegenkonto (ohne BU-Schlüssel)"),
        )?,
    );
    if let Some(key) = posting.tax_key {
        row.set("BU-Schlüssel", field::quote(&key.value().to_string()));
    }
    let date = booking.booking_date;
    if date < fields.date_from || date > fields.date_to {
        return Err(AccountingError::field(
            name("Belegdatum"),
            format!(
                "{date} lies outside the batch {}..={}",
                fields.date_from, fields.date_to
            ),
        ));
    }
    row.set("Belegdatum", field::day_month(date));
    row.set(
        "Belegfeld 1",
        field::document(&booking.invoice_number, 36, &name("Belegfeld 1"))?,
    );
    row.set("Buchungstext", field::text(&booking.text, MAX_TEXT));
    if let Some(code) = sachverhalt(posting.claim) {
        row.set("Sachverhalt", code.to_owned());
    }
    let mut infos = Vec::new();
    if booking.document_number != booking.invoice_number {
        infos.push(("Belegnummer", booking.document_number.clone()));
    }
    if booking.document_date != date {
        infos.push((
            "Belegdatum",
            booking.document_date.format("%d.%m.%Y").to_string(),
        ));
    }
    for (n, (kind, content)) in infos.into_iter().enumerate() {
        row.set(&format!("Beleginfo - Art {}", n + 1), field::text(kind, 20));
        if content.chars().count() > 210 || content.chars().any(|c| !crate::cp1252::has(c)) {
            return Err(AccountingError::field(
                name(&format!("Beleginfo - Inhalt {}", n + 1)),
                format!("`{content}` cannot be written unchanged (Windows-1252, 210 characters)"),
            ));
        }
        row.set(
            &format!("Beleginfo - Inhalt {}", n + 1),
            field::quote(&content),
        );
    }
    row.set("Festschreibung", field::flag(fields.locked));
    Ok(row)
}
