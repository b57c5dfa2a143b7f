//! The two parties of every invoice as it prints them: the seller's
//! identity and the customer account that receives it, and the checked
//! values they are made of. The seller's configuration (number series, tax
//! rules, dunning, accounting) is [`crate::seller`]'s.
//!
//! Everything that is cheap to check without a network is checked here, and
//! every error names the field: country codes against ISO 3166, VAT ID shape
//! and prefix against the country, IBAN check digits (ISO 7064 mod 97), BIC
//! shape, e-mail shape and the Leitweg-ID check digits. Whether a VAT ID is
//! actually registered (VIES) is for an adapter to ask.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;
use crate::ids::{AccountId, BillingEntityId, CrmAccountId, checked_string};
use crate::money::Currency;

/// Whether the customer buys as a business or as a consumer; this decides
/// reverse charge, dunning interest (§288 BGB) and the flat dunning fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A company or other entrepreneur (B2B).
    Business,
    /// A private person (B2C).
    Consumer,
}

/// Language the customer's documents and e-mails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// German, the first market's default.
    De,
    /// English, for foreign customers.
    En,
}

/// EU member states, by ISO 3166 code, for the reverse-charge decision.
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// An ISO 3166-1 alpha-2 country code (upper case), as EN 16931 requires for
/// addresses (BT-40, BT-55).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Germany, the first market.
    pub const DE: Self = Self(*b"DE");
    /// Austria, a frequent reverse-charge neighbour.
    pub const AT: Self = Self(*b"AT");

    /// Accepts an assigned ISO 3166-1 alpha-2 code (or `XK`, Kosovo, which
    /// the EU uses); lower case is refused so stored data stays canonical.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let bytes = value.as_bytes();
        let [a, b] = bytes else {
            return Err(DomainError::invalid(
                "country",
                format!("`{value}` is not a two-letter ISO 3166 code"),
            ));
        };
        let upper = a.is_ascii_uppercase() && b.is_ascii_uppercase();
        if !upper || (value != "XK" && iso_currency::Country::from_str(value).is_err()) {
            return Err(DomainError::invalid(
                "country",
                format!("`{value}` is not an assigned ISO 3166 alpha-2 code"),
            ));
        }
        Ok(Self([*a, *b]))
    }

    /// The two letters.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// EU membership decides between reverse charge and "not taxable here".
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBERS.contains(&self.as_str())
    }

    /// The prefix this country's VAT IDs carry (Greece uses `EL`); `None`
    /// outside the EU, where shapes vary too much to check.
    pub fn eu_vat_prefix(&self) -> Option<&str> {
        match self.as_str() {
            "GR" => Some("EL"),
            code if self.is_eu_member() => Some(code),
            _ => None,
        }
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// Upper-cases and drops the separators people type into identifiers
/// (spaces, dots, dashes), so `de 123.456.789` and `DE123456789` are equal.
fn compact(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn check_vat_id(value: &str) -> Result<String, DomainError> {
    let vat = compact(value);
    let refuse = |why: &str| Err(DomainError::invalid("vat_id", why.to_owned()));
    let (prefix, rest) = vat.split_at_checked(2).unwrap_or((&vat, ""));
    if !prefix.bytes().all(|b| b.is_ascii_uppercase()) || prefix.len() != 2 {
        return refuse("must start with a two-letter country prefix");
    }
    if !(2..=14).contains(&rest.len()) || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return refuse("must be 2 to 14 letters or digits after the prefix");
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match prefix {
        "DE" if !digits(rest, 9) => refuse("a German VAT ID is DE followed by 9 digits"),
        "AT" if !(rest.starts_with('U') && digits(&rest[1..], 8)) => {
            refuse("an Austrian VAT ID is ATU followed by 8 digits")
        }
        _ => Ok(vat),
    }
}

checked_string!(
    /// A VAT identification number (USt-IdNr.), normalized without
    /// separators; required on reverse-charge invoices for both parties.
    VatId,
    check_vat_id
);

impl VatId {
    /// The two-letter prefix (`DE`, `ATU…` gives `AT`, Greece gives `EL`).
    pub fn prefix(&self) -> &str {
        self.as_str().get(..2).unwrap_or_default()
    }

    /// Refuses an EU VAT ID whose prefix does not belong to `country`; outside
    /// the EU the prefix is not checked.
    pub fn check_country(&self, country: CountryCode, field: &str) -> Result<(), DomainError> {
        match country.eu_vat_prefix() {
            Some(expected) if expected != self.prefix() => Err(DomainError::invalid(
                field,
                format!(
                    "VAT ID prefix {} does not match country {country} (expected {expected})",
                    self.prefix()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// A number people write with separators (tax numbers, telephones): trimmed,
/// only characters `allowed` accepts, `digits` digits and at most `max_len`
/// bytes, kept as written; otherwise `message`, naming `field`.
fn check_written_number(
    value: &str,
    field: &str,
    allowed: impl Fn(char) -> bool,
    digits: std::ops::RangeInclusive<usize>,
    max_len: usize,
    message: &str,
) -> Result<String, DomainError> {
    let value = value.trim();
    let count = value.chars().filter(char::is_ascii_digit).count();
    if !value.chars().all(allowed) || !digits.contains(&count) || value.len() > max_len {
        return Err(DomainError::invalid(field, message));
    }
    Ok(value.to_owned())
}

fn check_tax_number(value: &str) -> Result<String, DomainError> {
    check_written_number(
        value,
        "tax_number",
        |c| c.is_ascii_alphanumeric() || matches!(c, '/' | ' ' | '-'),
        5..=20,
        32,
        "must be 5 to 20 digits, optionally separated by '/', ' ' or '-'",
    )
}

checked_string!(
    /// The seller's national tax number (Steuernummer), the §14 UStG
    /// alternative when no VAT ID is printed. Kept as written, since its
    /// separators differ by German state.
    TaxNumber,
    check_tax_number
);

/// ISO 7064 MOD 97-10 over alphanumeric text (letters count as 10..35):
/// the check used by IBANs and Leitweg-IDs. Returns `None` on other
/// characters.
pub(crate) fn mod97(chars: impl Iterator<Item = char>) -> Option<u32> {
    let mut remainder = 0u32;
    for c in chars {
        let value = c.to_digit(36)?;
        remainder = if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        };
    }
    Some(remainder)
}

fn check_iban(value: &str) -> Result<String, DomainError> {
    let iban = compact(value);
    let well_formed = (15..=34).contains(&iban.len())
        && iban.bytes().take(2).all(|b| b.is_ascii_uppercase())
        && iban.bytes().skip(2).take(2).all(|b| b.is_ascii_digit())
        && iban.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Err(DomainError::invalid(
            "iban",
            "must be a country code, two check digits and up to 30 letters or digits",
        ));
    }
    let (head, tail) = iban.split_at(4);
    if mod97(tail.chars().chain(head.chars())) != Some(1) {
        return Err(DomainError::invalid("iban", "check digits do not match"));
    }
    Ok(iban)
}

checked_string!(
    /// An IBAN, stored without spaces and verified by its mod-97 check digits,
    /// so a typo is caught before it is printed on thousands of invoices.
    Iban,
    check_iban
);

impl Iban {
    /// Groups of four, the way an IBAN is printed on an invoice.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.as_str().len() + 8);
        for (i, c) in self.as_str().chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

fn check_bic(value: &str) -> Result<String, DomainError> {
    let bic = compact(value);
    let b = bic.as_bytes();
    let ok = matches!(b.len(), 8 | 11)
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b[4..6].iter().all(u8::is_ascii_uppercase);
    if !ok {
        return Err(DomainError::invalid(
            "bic",
            "must be 8 or 11 letters or digits with a country code at positions 5-6",
        ));
    }
    Ok(bic)
}

checked_string!(
    /// A BIC (ISO 9362), optional within SEPA but printed when known.
    Bic,
    check_bic
);

fn check_email(value: &str) -> Result<String, DomainError> {
    let value = value.trim();
    let refuse = || {
        Err(DomainError::invalid(
            "email",
            "must look like name@example.org",
        ))
    };
    let Some((local, domain)) = value.rsplit_once('@') else {
        return refuse();
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok || value.len() > 254 || value.chars().any(char::is_whitespace)
    {
        return refuse();
    }
    Ok(value.to_owned())
}

checked_string!(
    /// An e-mail address invoices are sent to. Only the shape is checked;
    /// deliverability is learned from bounces.
    EmailAddress,
    check_email
);

fn check_leitweg_id(value: &str) -> Result<String, DomainError> {
    let id = value.trim().to_ascii_uppercase();
    let refuse = |why: &str| Err(DomainError::invalid("leitweg_id", why.to_owned()));
    let parts: Vec<&str> = id.split('-').collect();
    let (coarse, fine, check) = match parts.as_slice() {
        [coarse, check] => (*coarse, "", *check),
        [coarse, fine, check] => (*coarse, *fine, *check),
        _ => return refuse("must be coarse-fine-check or coarse-check, separated by '-'"),
    };
    let coarse_ok = (2..=12).contains(&coarse.len()) && coarse.bytes().all(|b| b.is_ascii_digit());
    let fine_ok = fine.len() <= 30 && fine.bytes().all(|b| b.is_ascii_alphanumeric());
    let check_ok = check.len() == 2 && check.bytes().all(|b| b.is_ascii_digit());
    if !(coarse_ok && fine_ok && check_ok) {
        return refuse(
            "coarse address 2-12 digits, fine address up to 30 letters or digits, 2 check digits",
        );
    }
    if mod97(coarse.chars().chain(fine.chars()).chain(check.chars())) != Some(1) {
        return refuse("check digits do not match");
    }
    Ok(id)
}

checked_string!(
    /// The Leitweg-ID that routes an XRechnung to a German public-sector
    /// recipient (BT-10); verified by its ISO 7064 check digits.
    LeitwegId,
    check_leitweg_id
);

/// The EAS codes (CEF "Electronic Address Scheme", EN 16931 BT-34/BT-49
/// `schemeID`, code list as of CEN validation 1.3.16) a receiving platform
/// accepts; any other value fails BR-CL-25 at the portal.
const EAS_CODES: &[&str] = &[
    "0002", "0007", "0009", "0037", "0060", "0088", "0096", "0097", "0106", "0130", "0135", "0142",
    "0147", "0151", "0154", "0158", "0170", "0177", "0183", "0184", "0188", "0190", "0191", "0192",
    "0193", "0194", "0195", "0196", "0198", "0199", "0200", "0201", "0202", "0203", "0204", "0205",
    "0208", "0209", "0210", "0211", "0212", "0213", "0215", "0216", "0217", "0218", "0219", "0220",
    "0221", "0225", "0230", "0235", "0240", "0242", "0244", "0245", "0246", "0248", "9910", "9913",
    "9914", "9915", "9918", "9919", "9920", "9922", "9923", "9924", "9925", "9926", "9927", "9928",
    "9929", "9930", "9931", "9932", "9933", "9934", "9935", "9936", "9937", "9938", "9939", "9940",
    "9941", "9942", "9943", "9944", "9945", "9946", "9947", "9948", "9949", "9950", "9951", "9952",
    "9953", "9957", "9959", "AN", "AQ", "AS", "AU", "EM",
];

fn check_eas_code(value: &str) -> Result<String, DomainError> {
    let code = value.trim().to_ascii_uppercase();
    if EAS_CODES.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(DomainError::invalid(
            "scheme",
            format!(
                "`{value}` is not an EAS code (e.g. EM for an e-mail address, 0204 for a \
                 Leitweg-ID, 9930 for a German VAT ID)"
            ),
        ))
    }
}

checked_string!(
    /// The scheme of an electronic address (EAS code list), so the
    /// receiver's platform knows how to route to it.
    EasCode,
    check_eas_code
);

impl EasCode {
    /// `EM`: the address is an e-mail address.
    pub fn email() -> Self {
        Self("EM".to_owned())
    }

    /// `0204`: the address is a Leitweg-ID (German public sector).
    pub fn leitweg_id() -> Self {
        Self("0204".to_owned())
    }
}

/// Longest electronic address accepted; routing ids are short, and an
/// e-mail address has at most 254 bytes.
const MAX_ELECTRONIC_ADDRESS_LEN: usize = 254;

/// Where a party receives e-invoices (EN 16931 BT-34 for the seller, BT-49
/// for the buyer): an identifier and its EAS scheme. XRechnung requires one
/// for both parties. Checked against its scheme where the scheme has a
/// shape we know (e-mail, Leitweg-ID, German VAT ID), so a typo is caught
/// when stored rather than at the receiver's portal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ElectronicAddressFields")]
pub struct ElectronicAddress {
    scheme: EasCode,
    value: String,
}

/// The stored shape of an [`ElectronicAddress`], checked on the way in.
#[derive(Deserialize)]
struct ElectronicAddressFields {
    scheme: String,
    value: String,
}

impl TryFrom<ElectronicAddressFields> for ElectronicAddress {
    type Error = DomainError;

    fn try_from(fields: ElectronicAddressFields) -> Result<Self, DomainError> {
        Self::parse(&fields.scheme, &fields.value)
    }
}

impl ElectronicAddress {
    /// Checks the scheme against the EAS code list and the value against
    /// the scheme; errors name `scheme` or `value`.
    pub fn parse(scheme: &str, value: &str) -> Result<Self, DomainError> {
        Self::new(EasCode::parse(scheme)?, value)
    }

    /// An address in an already checked scheme; the value is checked (and
    /// normalized) by what the scheme expects, errors naming `value`.
    pub fn new(scheme: EasCode, value: &str) -> Result<Self, DomainError> {
        let as_value = |e: DomainError| {
            let DomainError::Invalid { message, .. } = e;
            DomainError::invalid("value", message)
        };
        let trimmed = value.trim();
        let value = match scheme.as_str() {
            "EM" => check_email(trimmed).map_err(as_value)?,
            "0204" => check_leitweg_id(trimmed).map_err(as_value)?,
            "9930" => {
                let vat = VatId::parse(trimmed).map_err(as_value)?;
                if vat.prefix() != "DE" {
                    return Err(DomainError::invalid(
                        "value",
                        "scheme 9930 is a German VAT ID (DE followed by 9 digits)",
                    ));
                }
                vat.as_str().to_owned()
            }
            _ => trimmed.to_owned(),
        };
        if value.is_empty() {
            return Err(DomainError::invalid("value", "must not be blank"));
        }
        if value.len() > MAX_ELECTRONIC_ADDRESS_LEN || value.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "value",
                format!(
                    "must be one line of at most {MAX_ELECTRONIC_ADDRESS_LEN} bytes without \
                     control characters"
                ),
            ));
        }
        Ok(Self { scheme, value })
    }

    /// The EAS code written as `schemeID`.
    pub fn scheme(&self) -> &EasCode {
        &self.scheme
    }

    /// The address itself, normalized for its scheme.
    pub fn value(&self) -> &str {
        &self.value
    }
}

fn check_telephone(value: &str) -> Result<String, DomainError> {
    check_written_number(
        value,
        "telephone",
        |c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '/' | '(' | ')' | '.'),
        3..=20,
        40,
        "must be 3 to 20 digits, optionally with +, spaces, '-', '/', '.' or parentheses",
    )
}

checked_string!(
    /// A telephone number as printed (BT-42); only its shape is checked.
    Telephone,
    check_telephone
);

/// Who at the seller answers questions about an invoice (EN 16931 BG-6):
/// XRechnung requires all three parts (BR-DE-2, BR-DE-5..7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerContact {
    /// A person or department, e.g. "Buchhaltung" (BT-41).
    pub name: String,
    /// Telephone (BT-42).
    pub telephone: Telephone,
    /// E-mail address (BT-43).
    pub email: EmailAddress,
}

impl SellerContact {
    /// The name must be one printable line; telephone and e-mail are
    /// checked by their types.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        let name = self.name.trim();
        if name.is_empty() || self.name.len() > 200 || self.name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                format!("{field}.name"),
                "must be one printable line of at most 200 bytes",
            ));
        }
        Ok(())
    }
}

/// A postal address as printed and as EN 16931 structures it (BG-5/BG-8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// Street and house number (BT-35/BT-50).
    pub street: String,
    /// Second address line, e.g. a department or c/o (BT-36/BT-51).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_line: Option<String>,
    /// Postal code; some countries have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// City (BT-37/BT-52).
    pub city: String,
    /// Country (BT-40/BT-55).
    pub country: CountryCode,
}

impl PostalAddress {
    /// §14 UStG needs a full address: street and city must be present.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        require_text(&self.street, &format!("{field}.street"))?;
        require_text(&self.city, &format!("{field}.city"))?;
        if let Some(code) = &self.postal_code {
            require_text(code, &format!("{field}.postal_code"))?;
        }
        Ok(())
    }
}

/// Refuses a missing optional part, naming `field.name`.
fn require_present(
    present: bool,
    field: &str,
    name: &str,
    message: &str,
) -> Result<(), DomainError> {
    if present {
        Ok(())
    } else {
        Err(DomainError::invalid(format!("{field}.{name}"), message))
    }
}

/// Refuses blank text, naming the field.
pub(crate) fn require_text(value: &str, field: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        Err(DomainError::invalid(field, "must not be blank"))
    } else {
        Ok(())
    }
}

/// Where customers pay to: printed on every invoice and used for matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    /// Account holder, if it differs from the entity's legal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_holder: Option<String>,
    /// The IBAN (BT-84).
    pub iban: Iban,
    /// The BIC (BT-86), optional within SEPA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<Bic>,
    /// The bank's name, printed for the customer's convenience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
}

/// What every invoice prints about the seller (§14 UStG: name, address,
/// VAT ID or tax number) plus where to pay. Kept as one piece so that the
/// invoice snapshot is exactly this, copied at build time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerIdentity {
    /// Legal name as registered.
    pub legal_name: String,
    /// Registered address.
    pub address: PostalAddress,
    /// The entity's VAT ID; required for reverse-charge invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<VatId>,
    /// The entity's tax number; needed when no VAT ID is printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<TaxNumber>,
    /// Where customers pay to.
    pub bank_account: BankAccount,
    /// Who answers questions about invoices (BG-6); required for XRechnung.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<SellerContact>,
    /// Where the seller receives e-invoices (BT-34); required for XRechnung.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electronic_address: Option<ElectronicAddress>,
}

impl SellerIdentity {
    /// Checks what a legally complete invoice needs from the seller, naming
    /// fields below `field`.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        require_text(&self.legal_name, &format!("{field}.legal_name"))?;
        self.address.validate(&format!("{field}.address"))?;
        if self.vat_id.is_none() && self.tax_number.is_none() {
            return Err(DomainError::invalid(
                format!("{field}.vat_id"),
                "a VAT ID or a tax number is required on every invoice (§14 UStG)",
            ));
        }
        if let Some(contact) = &self.contact {
            contact.validate(&format!("{field}.contact"))?;
        }
        match &self.vat_id {
            Some(vat) => vat.check_country(self.address.country, &format!("{field}.vat_id")),
            None => Ok(()),
        }
    }

    /// What an XRechnung needs from the seller beyond every invoice: the
    /// contact (BR-DE-2) and the electronic address (BT-34, Peppol R020).
    /// Asked when an XRechnung would be produced, so a gap is refused here,
    /// naming the field, instead of at the recipient's portal.
    pub fn check_xrechnung(&self, field: &str) -> Result<(), DomainError> {
        require_present(
            self.contact.is_some(),
            field,
            "contact",
            "XRechnung requires the seller contact (name, telephone, e-mail; BR-DE-2)",
        )?;
        require_present(
            self.electronic_address.is_some(),
            field,
            "electronic_address",
            "XRechnung requires the seller's electronic address (BT-34)",
        )
    }
}

/// Payment terms beyond a year are almost certainly a typo.
pub const MAX_PAYMENT_TERMS_DAYS: u16 = 365;

/// A customer as billing sees it: who receives invoices, where, in which
/// language and currency, and on which terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccount {
    /// Our id.
    pub id: AccountId,
    /// The CRM's id, to find the account from a webhook.
    pub crm_id: CrmAccountId,
    /// The entity that bills this customer.
    pub billing_entity_id: BillingEntityId,
    /// Name as printed on the invoice (company or person).
    pub name: String,
    /// Billing address.
    pub address: PostalAddress,
    /// Customer's VAT ID; required for reverse charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<VatId>,
    /// Where invoices are e-mailed; at least one.
    pub invoice_emails: Vec<EmailAddress>,
    /// Language of the customer's documents.
    pub language: Language,
    /// Currency all of this customer's invoices are in.
    pub currency: Currency,
    /// Days between issue date and due date.
    pub payment_terms_days: u16,
    /// The payment terms were agreed in the contract (the deal), not only
    /// printed on the invoice: each invoice's due date is then determined
    /// by the calendar and passing it is default without a notice (§286(2)
    /// no. 2 BGB). False unless the deal records the agreement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub payment_date_agreed: bool,
    /// Business or consumer.
    pub kind: CustomerKind,
    /// Routing id for public-sector customers (XRechnung).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leitweg_id: Option<LeitwegId>,
    /// Where the customer receives e-invoices (BT-49); required with a
    /// Leitweg-ID, since every XRechnung must carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electronic_address: Option<ElectronicAddress>,
}

impl CustomerAccount {
    /// Checks what an invoice to this customer needs, naming the field
    /// (prefixed `account.`).
    pub fn validate(&self) -> Result<(), DomainError> {
        require_text(&self.name, "account.name")?;
        self.address.validate("account.address")?;
        if let Some(vat) = &self.vat_id {
            vat.check_country(self.address.country, "account.vat_id")?;
        }
        if self.invoice_emails.is_empty() {
            return Err(DomainError::invalid(
                "account.invoice_emails",
                "at least one address is needed to deliver invoices",
            ));
        }
        if self.payment_terms_days > MAX_PAYMENT_TERMS_DAYS {
            return Err(DomainError::invalid(
                "account.payment_terms_days",
                format!("must be at most {MAX_PAYMENT_TERMS_DAYS}"),
            ));
        }
        if self.leitweg_id.is_some() && self.kind == CustomerKind::Consumer {
            return Err(DomainError::invalid(
                "account.leitweg_id",
                "only public-sector (business) customers have a Leitweg-ID",
            ));
        }
        if self.receives_xrechnung() {
            self.check_xrechnung("account")?;
        }
        Ok(())
    }

    /// Customers with a Leitweg-ID receive XRechnung besides the PDF.
    pub fn receives_xrechnung(&self) -> bool {
        self.leitweg_id.is_some()
    }

    /// What an XRechnung needs from the buyer beyond every invoice: the
    /// Leitweg-ID (BT-10) and the electronic address (BT-49, Peppol R010).
    pub fn check_xrechnung(&self, field: &str) -> Result<(), DomainError> {
        require_present(
            self.leitweg_id.is_some(),
            field,
            "leitweg_id",
            "XRechnung requires the customer's Leitweg-ID (BT-10)",
        )?;
        require_present(
            self.electronic_address.is_some(),
            field,
            "electronic_address",
            "a customer with a Leitweg-ID needs an electronic address (BT-49), \
             e.g. scheme 0204 with the Leitweg-ID or EM with an e-mail address",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert_eq!(CountryCode::parse("AT").unwrap(), CountryCode::AT);
        assert!(CountryCode::parse("de").is_err());
        assert!(CountryCode::parse("ZZ").is_err());
        assert!(CountryCode::parse("DEU").is_err());
        assert!(CountryCode::parse("XK").is_ok());
        assert!(CountryCode::AT.is_eu_member());
        assert!(!CountryCode::parse("CH").unwrap().is_eu_member());
        assert_eq!(
            CountryCode::parse("GR").unwrap().eu_vat_prefix(),
            Some("EL")
        );
        assert_eq!(serde_json::to_string(&CountryCode::DE).unwrap(), "\"DE\"");
    }

    #[test]
    fn vat_ids() {
        assert_eq!(
            VatId::parse("de 123.456.789").unwrap().as_str(),
            "DE123456789"
        );
        assert!(VatId::parse("DE12345678").is_err());
        assert!(VatId::parse("ATU12345678").is_ok());
        assert!(VatId::parse("AT12345678").is_err());
        assert!(VatId::parse("123456789").is_err());
        let vat = VatId::parse("ATU12345678").unwrap();
        assert!(vat.check_country(CountryCode::AT, "x").is_ok());
        let err = vat
            .check_country(CountryCode::DE, "account.vat_id")
            .unwrap_err();
        assert!(err.to_string().starts_with("account.vat_id:"));
        let greek = VatId::parse("EL123456789").unwrap();
        assert!(
            greek
                .check_country(CountryCode::parse("GR").unwrap(), "x")
                .is_ok()
        );
    }

    #[test]
    fn iban_checksum() {
        let iban = Iban::parse("de89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
        assert_eq!(iban.grouped(), "DE89 3704 0044 0532 0130 00");
        assert!(Iban::parse("DE88370400440532013000").is_err());
        assert!(Iban::parse("GB82WEST12345698765432").is_ok());
        assert!(Iban::parse("DE89").is_err());
        let err = serde_json::from_str::<Iban>("\"DE88370400440532013000\"").unwrap_err();
        assert!(err.to_string().contains("iban"));
    }

    #[test]
    fn bic_email_tax_number() {
        assert!(Bic::parse("COBADEFFXXX").is_ok());
        assert!(Bic::parse("COBADEFF").is_ok());
        assert!(Bic::parse("COBA12FF").is_err());
        assert!(EmailAddress::parse("billing@example.org").is_ok());
        assert!(EmailAddress::parse("billing@example").is_err());
        assert!(EmailAddress::parse("a b@example.org").is_err());
        assert!(TaxNumber::parse("21/815/08150").is_ok());
        assert!(TaxNumber::parse("n/a").is_err());
    }

    #[test]
    fn electronic_addresses_are_checked_by_their_scheme() {
        let email = ElectronicAddress::parse("em", " rechnung@example.org ").unwrap();
        assert_eq!(email.scheme().as_str(), "EM");
        assert_eq!(email.value(), "rechnung@example.org");
        let leitweg = ElectronicAddress::parse("0204", "04011000-1234512345-06").unwrap();
        assert_eq!(leitweg.value(), "04011000-1234512345-06");
        let vat = ElectronicAddress::parse("9930", "de 123 456 789").unwrap();
        assert_eq!(vat.value(), "DE123456789");
        assert!(ElectronicAddress::parse("0088", "4000001000005").is_ok());

        let field = |scheme: &str, value: &str| match ElectronicAddress::parse(scheme, value) {
            Err(DomainError::Invalid { field, .. }) => field,
            Ok(_) => "accepted".to_owned(),
        };
        assert_eq!(field("XX", "a@example.org"), "scheme");
        assert_eq!(field("", "a@example.org"), "scheme");
        assert_eq!(field("EM", "not an address"), "value");
        assert_eq!(field("0204", "04011000-1234512345-07"), "value");
        assert_eq!(field("9930", "ATU12345678"), "value");
        assert_eq!(field("0088", "  "), "value");
        assert_eq!(field("0088", &"1".repeat(300)), "value");

        let json = r#"{"scheme":"EM","value":"rechnung@example.org"}"#;
        assert_eq!(
            serde_json::from_str::<ElectronicAddress>(json).unwrap(),
            email
        );
        assert_eq!(serde_json::to_string(&email).unwrap(), json);
        let err = serde_json::from_str::<ElectronicAddress>(r#"{"scheme":"ZZ","value":"x"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("scheme"), "{err}");
    }

    #[test]
    fn telephone_and_contact() {
        assert_eq!(
            Telephone::parse(" +49 30 1234567-0 ").unwrap().as_str(),
            "+49 30 1234567-0"
        );
        assert!(Telephone::parse("12").is_err());
        assert!(Telephone::parse("call us").is_err());
        let contact = SellerContact {
            name: "\n".to_owned(),
            telephone: Telephone::parse("030 123456").unwrap(),
            email: EmailAddress::parse("buchhaltung@example.org").unwrap(),
        };
        let err = contact.validate("identity.contact").unwrap_err();
        assert!(
            err.to_string().starts_with("identity.contact.name:"),
            "{err}"
        );
    }

    #[test]
    fn leitweg_id_check_digits() {
        assert!(LeitwegId::parse("04011000-1234512345-06").is_ok());
        assert!(LeitwegId::parse("04011000-1234512345-07").is_err());
        assert!(LeitwegId::parse("04011000").is_err());
    }
}
