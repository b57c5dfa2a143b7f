//! Debitoren/Kreditoren (category 16, format version 5): the master data
//! of the customers a period's bookings touch, so the advisor's DATEV
//! knows each debtor account's name and address (research note §3).

use billing_domain::accounting::AccountNumber;
use billing_domain::party::{CountryCode, CustomerAccount, CustomerKind, PostalAddress, VatId};

use super::columns::{DEBITOREN_COLUMNS, Kind};
use super::header::Category;
use super::{ExtfHeader, Row, field, write_file};
use crate::AccountingError;

/// How DATEV files a debtor's name: its `Adressattyp` decides which name
/// columns hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebtorName {
    /// A company (`Adressattyp` 2): the name as printed on the invoice.
    Company(String),
    /// A natural person (`Adressattyp` 1), surname and first name apart.
    Person {
        /// Surname (`Name (Adressattyp natürl. Person)`).
        surname: String,
        /// First name (`Vorname (Adressattyp natürl. Person)`).
        first_name: String,
    },
    /// A name of unknown kind (`Adressattyp` 0), whole.
    Unspecified(String),
}

/// One customer's DATEV master data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorMasterData {
    /// The customer's debtor (personal) account: the general-ledger
    /// account length plus one digit.
    pub account: AccountNumber,
    /// The name, by kind.
    pub name: DebtorName,
    /// The billing address.
    pub address: PostalAddress,
    /// The customer's VAT ID; an EU one is written as DATEV wants it,
    /// country (`EU-Land`) and number (`EU-UStID`) apart.
    pub vat_id: Option<VatId>,
    /// Days until an invoice is due (`Fälligkeit in Tagen (Debitor)`).
    pub payment_terms_days: Option<u16>,
}

impl DebtorMasterData {
    /// The master data of `customer` under its debtor `account`.
    ///
    /// A business is a company. A consumer's account holds one name as
    /// printed, and DATEV's person type needs surname and first name
    /// apart; a guessed split would file "Ursula von der Leyen" under
    /// "Leyen", so a consumer is written whole with `Adressattyp` 0 ("keine
    /// Angabe"). A caller that knows both parts builds
    /// [`DebtorName::Person`] itself.
    pub fn from_customer(account: AccountNumber, customer: &CustomerAccount) -> Self {
        let name = match customer.kind {
            CustomerKind::Business => DebtorName::Company(customer.name.clone()),
            CustomerKind::Consumer => DebtorName::Unspecified(customer.name.clone()),
        };
        Self {
            account,
            name,
            address: customer.address.clone(),
            vat_id: customer.vat_id.clone(),
            payment_terms_days: Some(customer.payment_terms_days),
        }
    }
}

/// The limit of a text column, from the column table.
fn limit(heading: &str) -> usize {
    let at = super::columns::position(&DEBITOREN_COLUMNS, heading);
    match DEBITOREN_COLUMNS[at - 1].kind {
        Kind::Text(max) => usize::from(max),
        _ => 0,
    }
}

/// A text column: made representable and cut at the column's length
/// (names and streets longer than DATEV's fields keep their full form on
/// our documents).
fn text(row: &mut Row, heading: &str, value: &str) {
    row.set(heading, field::text(value, limit(heading)));
}

/// Whether `prefix` starts an EU VAT ID (Greece writes `EL`, Northern
/// Ireland `XI`).
fn is_eu_vat_prefix(prefix: &str) -> bool {
    matches!(prefix, "EL" | "XI")
        || CountryCode::parse(prefix).is_ok_and(|c| c.is_eu_member() && prefix != "GR")
}

fn row(
    debtor: &DebtorMasterData,
    index: usize,
    account_length: usize,
) -> Result<Row, AccountingError> {
    let name = |column: &str| format!("debtors[{index}].{column}");
    let mut row = Row::new(&DEBITOREN_COLUMNS);
    let account = debtor.account.as_str();
    // DATEV's debtors are 1…6 followed by the account length's digits
    // (10000..=69999 at length 4); 7…9 are creditors.
    let debtor_range = account.len() == account_length + 1
        && ('1'..='6').contains(&account.chars().next().unwrap_or('0'));
    if !debtor_range {
        return Err(AccountingError::field(
            name("Konto"),
            format!(
                "{account} is not a DATEV debtor account: {} digits from 1{zeros} to 6{nines}",
                account_length + 1,
                zeros = "0".repeat(account_length),
                nines = "9".repeat(account_length),
            ),
        ));
    }
    row.set(
        "Konto",
        field::account(account, account_length + 1, &name("Konto"))?,
    );
    let kind = match &debtor.name {
        DebtorName::Company(company) => {
            text(&mut row, "Name (Adressattyp Unternehmen)", company);
            "2"
        }
        DebtorName::Person {
            surname,
            first_name,
        } => {
            text(&mut row, "Name (Adressattyp natürl. Person)", surname);
            text(&mut row, "Vorname (Adressattyp natürl. Person)", first_name);
            "1"
        }
        DebtorName::Unspecified(whole) => {
            text(&mut row, "Name (Adressattyp keine Angabe)", whole);
            "0"
        }
    };
    row.set("Adressattyp", field::quote(kind));
    if let Some(vat) = &debtor.vat_id
        && is_eu_vat_prefix(vat.prefix())
    {
        let number = &vat.as_str()[2..];
        if number.len() > 13 {
            return Err(AccountingError::field(
                name("EU-UStID"),
                format!("{vat} has more than DATEV's 13 characters after the country"),
            ));
        }
        row.set("EU-Land", field::quote(vat.prefix()));
        row.set("EU-UStID", field::quote(number));
    }
    let address = &debtor.address;
    // Adressart: STR, a street address (not a P.O. box).
    row.set("Adressart", field::quote("STR"));
    text(&mut row, "Straße", &address.street);
    if let Some(extra) = &address.additional_line {
        text(&mut row, "Adresszusatz", extra);
    }
    if let Some(code) = &address.postal_code {
        // Postal codes abroad carry letters (SW1A 1AA), so only the length
        // is DATEV's; one that is cut would send mail astray: refused.
        let code = code.trim();
        if code.chars().count() > 10 || code.chars().any(|c| !crate::cp1252::has(c)) {
            return Err(AccountingError::field(
                name("Postleitzahl"),
                format!("`{code}` does not fit DATEV's 10 characters"),
            ));
        }
        row.set("Postleitzahl", field::quote(code));
    }
    text(&mut row, "Ort", &address.city);
    row.set("Land", field::quote(address.country.as_str()));
    if let Some(days) = debtor.payment_terms_days {
        row.set(
            "Fälligkeit in Tagen (Debitor)",
            field::number(u64::from(days), 3, &name("Fälligkeit in Tagen (Debitor)"))?,
        );
    }
    Ok(row)
}

/// The Debitoren/Kreditoren file for `debtors`, one row per debtor
/// account in account order (so the bytes do not depend on the order the
/// caller found the customers in). Two customers on one account, or a
/// value that does not fit, is an error naming the debtor and column.
pub fn debitoren(
    header: &ExtfHeader,
    debtors: &[DebtorMasterData],
) -> Result<Vec<u8>, AccountingError> {
    let account_length = usize::from(header.fields.account_length);
    let mut order: Vec<usize> = (0..debtors.len()).collect();
    order.sort_by(|a, b| debtors[*a].account.cmp(&debtors[*b].account));
    let mut rows = Vec::with_capacity(debtors.len());
    for pair in order.windows(2) {
        if debtors[pair[0]].account == debtors[pair[1]].account
            && debtors[pair[0]] != debtors[pair[1]]
        {
            return Err(AccountingError::field(
                format!("debtors[{}].Konto", pair[1]),
                format!(
                    "account {} belongs to two different customers",
                    debtors[pair[1]].account
                ),
            ));
        }
    }
    let mut previous: Option<&AccountNumber> = None;
    for index in order {
        let debtor = &debtors[index];
        if previous == Some(&debtor.account) {
            continue;
        }
        previous = Some(&debtor.account);
        rows.push(row(debtor, index, account_length)?);
    }
    Ok(write_file(
        header,
        Category::Debtors,
        &DEBITOREN_COLUMNS,
        &rows,
    ))
}
