//! SEPA bank files: the `pain.008.001.08` collection file a seller hands to
//! its bank to collect direct-debit invoices.
//!
//! The domain decides what may be collected ([`billing_domain::direct_debit`]);
//! this crate turns due collections into files the German banks accept:
//! one file per scheme and collection date (banks refuse mixed files and
//! some refuse several dates), every transaction `RCUR` (first collections
//! need no `FRST` since November 2016), the invoice number as end-to-end id
//! and in the remittance text, names in the SEPA character set within 70
//! characters, no zero amounts, and a collection date the bank can still
//! meet. The XML itself comes from the `sepa` crate's builder, which checks
//! the EPC rules the XSD does not and streams the document to any writer.
//! Pure: no clock (the creation time is an input, so a file can be written
//! again byte for byte), no I/O beyond the writer it is given.

use std::collections::BTreeMap;
use std::io::Write;

use billing_domain::direct_debit::CreditorIdentifier;
use billing_domain::direct_debit::{
    CollectionRefusal, DirectDebitScheme, Mandate, MandateChange, check_collectable,
    earliest_collection_date, remittance_text,
};
use billing_domain::money::Money;
use billing_domain::party::{Bic, Iban, Language};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Longest name a SEPA file carries (`Max140Text` restricted to 70 by the
/// EPC implementation guidelines and the DK's GBIC subsets).
pub const MAX_NAME_CHARS: usize = 70;

/// Why a collection file could not be written. Nothing is written when any
/// of these is returned, so a half file never reaches a bank.
#[derive(Debug, thiserror::Error)]
pub enum CollectionFileError {
    /// A collection broke a rule; `invoice` names it.
    #[error("invoice {invoice}: {reason}")]
    Refused {
        /// The invoice number.
        invoice: String,
        /// Why it cannot be collected.
        reason: CollectionRefusal,
    },
    /// The collection date is one the bank can no longer meet.
    #[error(
        "collection_date: {collection_date} is too early for a file sent on {sent_on}; the earliest is {earliest}"
    )]
    TooEarly {
        /// The requested collection date.
        collection_date: NaiveDate,
        /// The day the file is sent.
        sent_on: NaiveDate,
        /// The earliest date a file sent that day can request.
        earliest: NaiveDate,
    },
    /// A collection's scheme or date differs from its file's.
    #[error("invoice {invoice}: {field} differs from the file's; banks refuse mixed files")]
    Mixed {
        /// The invoice number.
        invoice: String,
        /// `scheme` or `collection_date`.
        field: &'static str,
    },
    /// The file has no collections.
    #[error("collections: a collection file needs at least one collection")]
    Empty,
    /// A value the SEPA library refused (identifier, name, amount, date).
    #[error("{field}: {message}")]
    Invalid {
        /// Where the value came from.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The SEPA builder refused the batch against an EPC rule.
    #[error("the collection file breaks a SEPA rule: {0}")]
    Rules(String),
    /// The writer failed.
    #[error("writing the collection file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The seller as the creditor of its collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creditor {
    /// The creditor's name (shortened to 70 characters in the file).
    pub name: String,
    /// The collection account.
    pub iban: Iban,
    /// The collection account's BIC, if known.
    pub bic: Option<Bic>,
    /// The creditor identifier the mandates are granted to.
    pub identifier: CreditorIdentifier,
}

/// One invoice due for collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCollection {
    /// The invoice number: end-to-end id and remittance text, so the
    /// debtor's statement and our return handling both lead back to it.
    pub invoice_number: String,
    /// What is collected: the invoice's open amount.
    pub amount: Money,
    /// The collection date printed on the invoice's pre-notification.
    pub collection_date: NaiveDate,
    /// The mandate collected on.
    pub mandate: Mandate,
    /// The invoice's language, for the remittance text.
    pub language: Language,
}

/// The collections of one scheme on one date: what one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionFile {
    /// CORE or B2B.
    pub scheme: DirectDebitScheme,
    /// The requested collection date (`ReqdColltnDt`).
    pub collection_date: NaiveDate,
    /// The collections, in the order they are written.
    pub collections: Vec<DueCollection>,
}

impl CollectionFile {
    /// The message id a bank de-duplicates by: the same for the same seller,
    /// scheme and date, so a file written twice is refused by the bank as a
    /// duplicate rather than collected twice. At most 35 characters.
    pub fn message_id(&self, seller_key: &str) -> String {
        let seller: String = seller_key
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        format!(
            "DD-{seller}-{}-{}",
            self.scheme.code(),
            self.collection_date.format("%Y%m%d")
        )
    }
}

/// Splits collections into files, one per scheme and collection date,
/// in date then scheme order; within a file, in invoice-number order so a
/// file written again has the same bytes.
pub fn files_for(collections: Vec<DueCollection>) -> Vec<CollectionFile> {
    let mut files: BTreeMap<(NaiveDate, DirectDebitScheme), Vec<DueCollection>> = BTreeMap::new();
    for collection in collections {
        files
            .entry((collection.collection_date, collection.mandate.scheme))
            .or_default()
            .push(collection);
    }
    files
        .into_iter()
        .map(|((collection_date, scheme), mut collections)| {
            collections.sort_by(|a, b| a.invoice_number.cmp(&b.invoice_number));
            CollectionFile {
                scheme,
                collection_date,
                collections,
            }
        })
        .collect()
}

/// What a written file holds, for the run record and the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// Number of collections.
    pub transactions: usize,
    /// Sum of the collected amounts.
    pub control_sum: Money,
}

fn invalid(field: impl Into<String>, error: impl std::fmt::Display) -> CollectionFileError {
    CollectionFileError::Invalid {
        field: field.into(),
        message: error.to_string(),
    }
}

fn iso_date(field: &str, day: NaiveDate) -> Result<sepa::IsoDate, CollectionFileError> {
    let year = u16::try_from(day.year()).map_err(|error| invalid(field, error))?;
    let month = u8::try_from(day.month()).map_err(|error| invalid(field, error))?;
    let date = u8::try_from(day.day()).map_err(|error| invalid(field, error))?;
    sepa::IsoDate::new(year, month, date).map_err(|error| invalid(field, error))
}

fn iso_date_time(at: DateTime<Utc>) -> Result<sepa::IsoDateTime, CollectionFileError> {
    let date = iso_date("created_at", at.date_naive())?;
    let part = |value: u32| u8::try_from(value).map_err(|error| invalid("created_at", error));
    sepa::IsoDateTime::new(
        date,
        part(at.hour())?,
        part(at.minute())?,
        part(at.second())?,
    )
    .map_err(|error| invalid("created_at", error))
}

fn sepa_iban(field: &str, iban: &Iban) -> Result<sepa::Iban, CollectionFileError> {
    sepa::validate_iban(iban.as_str()).map_err(|error| invalid(field, error))
}

fn cents(field: &str, amount: Money) -> Result<i64, CollectionFileError> {
    (amount.round().amount() * Decimal::ONE_HUNDRED)
        .to_i64()
        .ok_or_else(|| invalid(field, "amount out of range"))
}

/// The name as a file may carry it: at most 70 characters (the builder
/// transliterates to the SEPA set, e.g. `Müller` to `Mueller`, and checks
/// the length again afterwards).
fn file_name(name: &str) -> String {
    name.trim().chars().take(MAX_NAME_CHARS).collect()
}

/// The bank code of a German IBAN (Bankleitzahl); other countries have no
/// rule here, so a changed account there is reported as a new bank.
fn german_bank_code(iban: &Iban) -> Option<&str> {
    let text = iban.as_str();
    text.starts_with("DE").then(|| text.get(4..12)).flatten()
}

/// The scheme's amendment details for the changes made since the last
/// collection (SDD Core Rulebook AT-24 to AT-26): the original mandate
/// reference, the original creditor identifier, and for a new account the
/// original IBAN if it is at the same bank, else `SMNDA` (a new bank).
fn amendment(mandate: &Mandate) -> Result<Option<sepa::MandateAmendment>, CollectionFileError> {
    let mut details: Option<sepa::MandateAmendment> = None;
    for amendment in mandate.unannounced_amendments() {
        let mut current = details.take().unwrap_or_default();
        match &amendment.change {
            MandateChange::Reference { previous } => {
                current.original_mandate_id = Some(previous.as_str().to_owned());
            }
            MandateChange::Creditor { previous } => {
                let previous = sepa::validate_creditor_id(previous.as_str())
                    .map_err(|error| invalid("mandate.amendments.creditor", error))?;
                current.original_creditor_id = Some(previous);
            }
            MandateChange::DebtorAccount { previous } => {
                let same_bank = german_bank_code(previous).is_some()
                    && german_bank_code(previous) == german_bank_code(&mandate.debtor_iban);
                if same_bank {
                    current.original_debtor_iban =
                        Some(sepa_iban("mandate.amendments.debtor_account", previous)?);
                } else {
                    current.same_mandate_new_account = true;
                }
            }
        }
        details = Some(current);
    }
    Ok(details)
}

/// Whether one collection may go into a file: the domain's rules
/// ([`check_collectable`]: euro, something open, a usable mandate) and the
/// values the bank file itself checks (the debtor's IBAN and BIC as the
/// SEPA library reads them). The collection step asks this before it
/// claims an invoice, so a refused one goes on the needs-attention list
/// and the rest of the batch goes out; [`write_pain008`] asks again.
pub fn check_collection(collection: &DueCollection) -> Result<(), CollectionFileError> {
    check_collectable(
        Some(&collection.mandate),
        collection.amount,
        collection.collection_date,
    )
    .map_err(|reason| CollectionFileError::Refused {
        invoice: collection.invoice_number.clone(),
        reason,
    })?;
    let field = |name: &str| format!("invoice {}: {name}", collection.invoice_number);
    sepa_iban(
        &field("mandate.debtor_iban"),
        &collection.mandate.debtor_iban,
    )?;
    if let Some(bic) = &collection.mandate.debtor_bic {
        sepa::validate_bic(bic.as_str())
            .map_err(|error| invalid(field("mandate.debtor_bic"), error))?;
    }
    Ok(())
}

/// Writes `file` as `pain.008.001.08` to `out`, after checking every
/// collection again (a mandate blocked since the file was planned is
/// refused, not collected). `sent_on` is the seller's date the file goes to
/// the bank; `created_at` becomes `CreDtTm`. Nothing is written on error.
pub fn write_pain008(
    file: &CollectionFile,
    creditor: &Creditor,
    seller_key: &str,
    sent_on: NaiveDate,
    created_at: DateTime<Utc>,
    out: &mut impl Write,
) -> Result<FileSummary, CollectionFileError> {
    let earliest = earliest_collection_date(sent_on);
    if file.collection_date < earliest {
        return Err(CollectionFileError::TooEarly {
            collection_date: file.collection_date,
            sent_on,
            earliest,
        });
    }
    let Some(first) = file.collections.first() else {
        return Err(CollectionFileError::Empty);
    };
    let creditor_iban = sepa_iban("creditor.iban", &creditor.iban)?;
    let creditor_id = sepa::validate_creditor_id(creditor.identifier.as_str())
        .map_err(|error| invalid("creditor.identifier", error))?;
    let scheme = match file.scheme {
        DirectDebitScheme::Core => sepa::DirectDebitScheme::Core,
        DirectDebitScheme::B2b => sepa::DirectDebitScheme::B2b,
    };
    let creditor_name = file_name(&creditor.name);
    let message_id = file.message_id(seller_key);
    let mut group = sepa::DirectDebitGroup::new(
        creditor_name.clone(),
        &creditor_iban,
        &creditor_id,
        iso_date("collection_date", file.collection_date)?,
    )
    .payment_info_id(message_id.clone())
    .sequence_type(sepa::SequenceType::Rcur)
    .scheme(scheme);
    if let Some(bic) = &creditor.bic {
        let bic =
            sepa::validate_bic(bic.as_str()).map_err(|error| invalid("creditor.bic", error))?;
        group = group.creditor_bic(bic);
    }
    let mut control_sum = Money::zero(first.amount.currency());
    for collection in &file.collections {
        if collection.mandate.scheme != file.scheme {
            return Err(CollectionFileError::Mixed {
                invoice: collection.invoice_number.clone(),
                field: "scheme",
            });
        }
        if collection.collection_date != file.collection_date {
            return Err(CollectionFileError::Mixed {
                invoice: collection.invoice_number.clone(),
                field: "collection_date",
            });
        }
        check_collection(collection)?;
        let field = |name: &str| format!("invoice {}: {name}", collection.invoice_number);
        let mandate = &collection.mandate;
        let mut entry = sepa::DirectDebitEntry::new(
            mandate.reference.as_str(),
            iso_date(&field("mandate.signed_on"), mandate.signed_on)?,
            file_name(&mandate.debtor_name),
            sepa_iban(&field("mandate.debtor_iban"), &mandate.debtor_iban)?,
            cents(&field("amount"), collection.amount)?,
            collection.invoice_number.clone(),
        )
        .with_description(remittance_text(
            &collection.invoice_number,
            collection.language,
        ));
        if let Some(bic) = &mandate.debtor_bic {
            let bic = sepa::validate_bic(bic.as_str())
                .map_err(|error| invalid(field("mandate.debtor_bic"), error))?;
            entry = entry.with_bic(bic);
        }
        if let Some(details) = amendment(mandate)? {
            entry = entry.with_amendment(details);
        }
        group = group.add_entry(entry);
        control_sum = control_sum
            .checked_add(collection.amount)
            .map_err(|error| invalid(field("amount"), error))?;
    }
    let builder = sepa::Pain008Builder::new(creditor_name, message_id.clone())
        .created_at(iso_date_time(created_at)?)
        .add_group(group);
    builder.write_to(out).map_err(|error| match error {
        sepa::WriteError::Io(io) => CollectionFileError::Io(io),
        other => CollectionFileError::Rules(other.to_string()),
    })?;
    Ok(FileSummary {
        message_id,
        transactions: file.collections.len(),
        control_sum,
    })
}

/// Sample collections for tests, the demo and the XSD check in `make test`
/// (`examples/collection_samples.rs`): a seller, two CORE customers (one
/// whose mandate changed account and reference), one B2B customer.
pub mod samples {
    use billing_domain::direct_debit::{
        CreditorIdentifier, DirectDebitScheme, Mandate, MandateReference, MandateStatus,
        MandateUpdate, MandateUse,
    };
    use billing_domain::money::{Currency, Money};
    use billing_domain::party::{Bic, Iban, Language};
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use super::{Creditor, DueCollection};

    fn day(year: i32, month: u32, date: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, date).unwrap_or(NaiveDate::MIN)
    }

    /// The demo seller as creditor (the EPC's sample creditor identifier).
    pub fn creditor() -> Result<Creditor, billing_domain::DomainError> {
        Ok(Creditor {
            name: "Nordlicht Software GmbH".to_owned(),
            iban: Iban::parse("DE02 1203 0000 0000 2020 51")?,
            bic: Some(Bic::parse("BYLADEM1001")?),
            identifier: CreditorIdentifier::parse("DE98ZZZ09999999999")?,
        })
    }

    /// A recurrent mandate signed on 15 January 2026.
    pub fn mandate(
        reference: &str,
        debtor: &str,
        iban: &str,
        scheme: DirectDebitScheme,
    ) -> Result<Mandate, billing_domain::DomainError> {
        Ok(Mandate {
            reference: MandateReference::parse(reference)?,
            creditor_identifier: CreditorIdentifier::parse("DE98ZZZ09999999999")?,
            signed_on: day(2026, 1, 15),
            scheme,
            usage: MandateUse::Recurrent,
            debtor_name: debtor.to_owned(),
            debtor_iban: Iban::parse(iban)?,
            debtor_bic: None,
            status: MandateStatus::Active,
            last_collected_on: Some(day(2026, 11, 16)),
            agreed_pre_notification_days: None,
            amendments: Vec::new(),
        })
    }

    /// Collections due on Tuesday 15 December 2026: two CORE, one B2B.
    pub fn collections() -> Result<Vec<DueCollection>, billing_domain::DomainError> {
        let due = day(2026, 12, 15);
        let euro = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::EUR);
        let mut moved = mandate(
            "NL-0001",
            "Jürgen Weiß Beratung",
            "DE89 3704 0044 0532 0130 00",
            DirectDebitScheme::Core,
        )?;
        moved.amend(
            day(2026, 12, 1),
            MandateUpdate::DebtorAccount(Iban::parse("DE12 5001 0517 0648 4898 90")?),
        );
        moved.amend(
            day(2026, 12, 1),
            MandateUpdate::Reference(MandateReference::parse("NL-0001-A")?),
        );
        Ok(vec![
            DueCollection {
                invoice_number: "RE-2026-000118".to_owned(),
                amount: euro(11_900),
                collection_date: due,
                mandate: mandate(
                    "NL-0002",
                    "Muster GmbH",
                    "DE75 5121 0800 1245 1261 99",
                    DirectDebitScheme::Core,
                )?,
                language: Language::De,
            },
            DueCollection {
                invoice_number: "RE-2026-000117".to_owned(),
                amount: euro(4_760),
                collection_date: due,
                mandate: moved,
                language: Language::De,
            },
            DueCollection {
                invoice_number: "RE-2026-000119".to_owned(),
                amount: euro(238_000),
                collection_date: due,
                mandate: mandate(
                    "NL-B2B-0003",
                    "Acme Industrial B.V.",
                    "NL91 ABNA 0417 1643 00",
                    DirectDebitScheme::B2b,
                )?,
                language: Language::En,
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_domain::direct_debit::{MandateStatus, MandateUse};
    use billing_domain::money::Currency;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn created() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 11, 6, 30, 0).unwrap()
    }

    fn write(file: &CollectionFile) -> Result<(FileSummary, String), CollectionFileError> {
        let mut out = Vec::new();
        let summary = write_pain008(
            file,
            &samples::creditor().unwrap(),
            "seller-de",
            day("2026-12-11"),
            created(),
            &mut out,
        )?;
        Ok((summary, String::from_utf8(out).unwrap()))
    }

    fn core_file() -> CollectionFile {
        files_for(samples::collections().unwrap()).remove(0)
    }

    #[test]
    fn given_two_schemes_when_planned_then_each_scheme_and_date_gets_its_own_file() {
        let mut collections = samples::collections().unwrap();
        let mut later = collections[0].clone();
        later.collection_date = day("2026-12-16");
        later.invoice_number = "RE-2026-000120".to_owned();
        collections.push(later);
        let files = files_for(collections);
        let shape: Vec<_> = files
            .iter()
            .map(|f| {
                (
                    f.collection_date,
                    f.scheme,
                    f.collections
                        .iter()
                        .map(|c| c.invoice_number.as_str())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (
                    day("2026-12-15"),
                    DirectDebitScheme::Core,
                    vec!["RE-2026-000117", "RE-2026-000118"]
                ),
                (
                    day("2026-12-15"),
                    DirectDebitScheme::B2b,
                    vec!["RE-2026-000119"]
                ),
                (
                    day("2026-12-16"),
                    DirectDebitScheme::Core,
                    vec!["RE-2026-000120"]
                ),
            ]
        );
    }

    #[test]
    fn the_file_names_each_invoice_collects_rcur_and_sums_up() {
        let (summary, xml) = write(&core_file()).unwrap();
        assert_eq!(summary.message_id, "DD-sellerde-CORE-20261215");
        assert_eq!(summary.transactions, 2);
        assert_eq!(summary.control_sum, Money::new(dec!(166.60), Currency::EUR));
        for expected in [
            "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08",
            "<MsgId>DD-sellerde-CORE-20261215</MsgId>",
            "<CreDtTm>2026-12-11T06:30:00</CreDtTm>",
            "<NbOfTxs>2</NbOfTxs>",
            "<CtrlSum>166.60</CtrlSum>",
            "<Cd>CORE</Cd>",
            "<SeqTp>RCUR</SeqTp>",
            "<ReqdColltnDt>2026-12-15</ReqdColltnDt>",
            "<EndToEndId>RE-2026-000118</EndToEndId>",
            "<Ustrd>Rechnung RE-2026-000118</Ustrd>",
            "<MndtId>NL-0002</MndtId>",
            "<DtOfSgntr>2026-01-15</DtOfSgntr>",
            "DE98ZZZ09999999999",
            "<Nm>Juergen Weiss Beratung</Nm>",
        ] {
            assert!(xml.contains(expected), "missing {expected} in\n{xml}");
        }
        assert!(!xml.contains("FRST"));
    }

    #[test]
    fn an_amended_mandate_announces_its_previous_reference_and_new_bank() {
        let (_, xml) = write(&core_file()).unwrap();
        assert!(xml.contains("<AmdmntInd>true</AmdmntInd>"), "{xml}");
        assert!(xml.contains("<OrgnlMndtId>NL-0001</OrgnlMndtId>"), "{xml}");
        assert!(
            xml.contains("SMNDA"),
            "another bank is announced as SMNDA: {xml}"
        );
        assert_eq!(xml.matches("<AmdmntInd>true</AmdmntInd>").count(), 1);
    }

    #[test]
    fn the_same_collections_give_the_same_bytes() {
        let (_, first) = write(&core_file()).unwrap();
        let (_, second) = write(&core_file()).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn a_mandate_blocked_since_planning_refuses_the_file_and_names_the_invoice() {
        let mut file = core_file();
        file.collections[1].mandate.status = MandateStatus::Blocked {
            since: day("2026-12-10"),
            reason: "AC04 account closed".to_owned(),
        };
        let mut out = Vec::new();
        let error = write_pain008(
            &file,
            &samples::creditor().unwrap(),
            "seller-de",
            day("2026-12-11"),
            created(),
            &mut out,
        )
        .unwrap_err();
        assert!(
            error.to_string().starts_with("invoice RE-2026-000118:"),
            "{error}"
        );
        assert!(out.is_empty(), "nothing may be written");
    }

    #[test]
    fn zero_amounts_foreign_currency_mixed_files_and_late_dates_are_refused() {
        let mut zero = core_file();
        zero.collections[0].amount = Money::zero(Currency::EUR);
        assert!(matches!(
            write(&zero),
            Err(CollectionFileError::Refused {
                reason: CollectionRefusal::NothingOpen,
                ..
            })
        ));

        let mut francs = core_file();
        francs.collections[0].amount = Money::new(dec!(10), Currency::CHF);
        assert!(matches!(
            write(&francs),
            Err(CollectionFileError::Refused {
                reason: CollectionRefusal::NotEuro { .. },
                ..
            })
        ));

        let mut mixed = core_file();
        mixed.collections[0].mandate.scheme = DirectDebitScheme::B2b;
        assert!(matches!(
            write(&mixed),
            Err(CollectionFileError::Mixed {
                field: "scheme",
                ..
            })
        ));

        let mut dates = core_file();
        dates.collections[1].collection_date = day("2026-12-16");
        assert!(matches!(
            write(&dates),
            Err(CollectionFileError::Mixed {
                field: "collection_date",
                ..
            })
        ));

        // Sent on Friday 11 December: Monday 14th is the earliest date.
        let mut today = core_file();
        today.collection_date = day("2026-12-11");
        for c in &mut today.collections {
            c.collection_date = today.collection_date;
        }
        let error = write(&today).unwrap_err();
        assert_eq!(
            error.to_string(),
            "collection_date: 2026-12-11 is too early for a file sent on 2026-12-11; the earliest is 2026-12-14"
        );

        let empty = CollectionFile {
            scheme: DirectDebitScheme::Core,
            collection_date: day("2026-12-15"),
            collections: Vec::new(),
        };
        assert!(matches!(write(&empty), Err(CollectionFileError::Empty)));
    }

    #[test]
    fn a_spent_one_off_mandate_is_not_collected_again() {
        let mut file = core_file();
        file.collections[0].mandate.usage = MandateUse::OneOff;
        assert!(matches!(
            write(&file),
            Err(CollectionFileError::Refused { .. })
        ));
    }

    #[test]
    fn long_names_are_cut_to_seventy_characters() {
        let mut file = core_file();
        file.collections[0].mandate.debtor_name = "A".repeat(90);
        // A mandate name this long would be refused at intake; a file still
        // never carries more than 70.
        let (_, xml) = write(&file).unwrap();
        assert!(xml.contains(&format!("<Nm>{}</Nm>", "A".repeat(70))));
        assert!(!xml.contains(&"A".repeat(71)));
    }

    #[test]
    fn a_german_account_change_within_the_bank_names_the_previous_iban() {
        let mut file = core_file();
        // RE-2026-000118's mandate: same Bankleitzahl 51210800, another
        // account number.
        let collection = &mut file.collections[1];
        collection.mandate.amend(
            day("2026-12-01"),
            billing_domain::direct_debit::MandateUpdate::DebtorAccount(
                Iban::parse("DE32 5121 0800 1245 1261 00").unwrap(),
            ),
        );
        let (_, xml) = write(&file).unwrap();
        assert!(xml.contains("<OrgnlDbtrAcct>"), "{xml}");
        assert!(
            xml.contains("<OrgnlDbtrAcct><Id><IBAN>DE75512108001245126199</IBAN>"),
            "{xml}"
        );
    }
}
