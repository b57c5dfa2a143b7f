//! ISO 20022 camt.053 (Bank-to-Customer Statement) and camt.054
//! (Debit/Credit Notification) reader, versions .001.02 to .001.08 and the
//! like. A notification (`Ntfctn`) is read like a statement (`Stmt`) but
//! carries no balances, so only statements are reconciled.
//!
//! Banks' exports deviate from the XSD in small ways (element order,
//! optional elements left out, the namespace of another version), so the
//! reader does not validate against a schema: it reads elements by their
//! path below `Stmt`, whatever the namespace or order, takes what can be
//! read unambiguously, and refuses the rest with the entry and the reason.
//! Event-based (quick-xml `Reader`), so a large file is read in one pass.

use billing_domain::money::{Currency, Money};
use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::events::Event;
use rust_decimal::Decimal;

/// A statement file: one message with one or more account statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFile {
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// The `Stmt` elements.
    pub statements: Vec<AccountStatement>,
}

/// One `Stmt` (camt.053) or `Ntfctn` (camt.054): an account's entries,
/// with its balances when it is a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStatement {
    /// `Stmt/Id` or `Ntfctn/Id`.
    pub id: String,
    /// Currency of the account; an entry in another currency is read but
    /// goes to review.
    pub currency: Currency,
    /// Opening and closing balance of a statement; `None` for a
    /// notification, which has none.
    pub balances: Option<Balances>,
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

/// A statement's balances, which its booked entries must bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balances {
    /// Opening balance (`OPBD`, or `PRCD` closing of the previous day).
    pub opening: Money,
    /// Closing booked balance (`CLBD`).
    pub closing: Money,
}

/// One `Ntry` (or one transaction of a batch entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the statement, from 1 (for messages).
    pub index: usize,
    /// Identity within the statement: `AcctSvcrRef`, else `NtryRef`, else
    /// the position; with `/n` for the n-th transaction of a batch.
    pub reference: String,
    /// Signed: credits positive, debits negative; in the entry's own
    /// currency, which may differ from the account's.
    pub amount: Money,
    /// `RvslInd`: a reversal of an earlier entry.
    pub reversal: bool,
    /// `Sts` is booked (`BOOK`); pending entries are not in the balances.
    pub booked: bool,
    /// `BookgDt`.
    pub booking_date: NaiveDate,
    /// `ValDt`, if given.
    pub value_date: Option<NaiveDate>,
    /// `RmtInf/Strd/CdtrRefInf/Ref`.
    pub creditor_reference: Option<String>,
    /// `RmtInf/Ustrd`, joined by spaces.
    pub remittance: Option<String>,
    /// The other party's account (IBAN or other id): the debtor's for a
    /// credit. Personal data: never logged.
    pub counterparty_account: Option<String>,
    /// `RtrInf/Rsn/Cd` (or `Prtry`) of a returned debit or credit.
    pub return_reason: Option<String>,
    /// `Refs/EndToEndId`: for our own direct debits (and their returns)
    /// the invoice number. `NOTPROVIDED` is left out.
    pub end_to_end_id: Option<String>,
    /// `Refs/MndtId`: the mandate of a direct debit or its return.
    pub mandate_reference: Option<String>,
    /// The bank's charges on the entry (`Chrgs/TtlChrgsAndTaxAmt`, else the
    /// sum of `Chrgs/Rcrd/Amt`), e.g. the fee for a returned direct debit;
    /// the transaction's, else the entry's (`Ntry/Chrgs`).
    pub charges: Option<Money>,
    /// The part of `charges` already inside `amount` (records with
    /// `ChrgInclInd` true): a return takes back `amount` less this from the
    /// invoice, and the fee is booked once, as a fee.
    pub charges_included: Option<Money>,
}

/// Why a file cannot be read; `entry` names the `Ntry` (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", entry.map(|e| format!("statement {statement}, entry {e}: ")).unwrap_or_else(|| if statement.is_empty() { String::new() } else { format!("statement {statement}: ") }))]
pub struct CamtError {
    /// `Stmt/Id` (or its position) if known.
    pub statement: String,
    /// The entry, if the problem is in one.
    pub entry: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

fn file_error(reason: impl Into<String>) -> CamtError {
    CamtError {
        statement: String::new(),
        entry: None,
        reason: reason.into(),
    }
}

/// What the reader collects for one `Ntry` before checking it.
#[derive(Debug, Default)]
struct RawEntry {
    amount: Option<(String, Option<String>)>,
    indicator: Option<String>,
    reversal: Option<String>,
    status: Option<String>,
    booking_date: Option<String>,
    value_date: Option<String>,
    account_servicer_ref: Option<String>,
    entry_ref: Option<String>,
    charges: RawCharges,
    transactions: Vec<RawTransaction>,
}

/// A `Chrgs` block: the stated total and the records, each with its
/// amount and `ChrgInclInd`.
#[derive(Debug, Default)]
struct RawCharges {
    total: Option<(String, Option<String>)>,
    records: Vec<RawCharge>,
}

#[derive(Debug, Default)]
struct RawCharge {
    amount: Option<(String, Option<String>)>,
    included: Option<String>,
}

impl RawCharges {
    fn is_empty(&self) -> bool {
        self.total.is_none() && self.records.is_empty()
    }

    /// Reads `Chrgs/...` below an entry or transaction; false if `path` is
    /// not a charges element.
    fn collect(&mut self, path: &str, value: String, currency: Option<String>) -> bool {
        match path {
            "Chrgs/TtlChrgsAndTaxAmt" => self.total = Some((value, currency)),
            "Chrgs/Rcrd/Amt" => {
                if let Some(record) = self.records.last_mut() {
                    record.amount = Some((value, currency));
                }
            }
            "Chrgs/Rcrd/ChrgInclInd" => {
                if let Some(record) = self.records.last_mut() {
                    append(&mut record.included, value);
                }
            }
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Default)]
struct RawTransaction {
    amount: Option<(String, Option<String>)>,
    indicator: Option<String>,
    end_to_end_id: Option<String>,
    mandate_reference: Option<String>,
    charges: RawCharges,
    creditor_reference: Option<String>,
    remittance: Vec<String>,
    debtor_account: Option<String>,
    creditor_account: Option<String>,
    return_reason: Option<String>,
}

#[derive(Debug, Default)]
struct RawBalance {
    code: Option<String>,
    amount: Option<(String, Option<String>)>,
    indicator: Option<String>,
}

#[derive(Debug, Default)]
struct RawStatement {
    /// A camt.054 `Ntfctn`: no balances to reconcile.
    notification: bool,
    id: Option<String>,
    currency: Option<String>,
    balances: Vec<RawBalance>,
    entries: Vec<RawEntry>,
}

/// The element a statement's parts hang below: `Stmt` in camt.053,
/// `Ntfctn` in camt.054.
const ANCHORS: [&str; 2] = ["Stmt", "Ntfctn"];

/// Reads a camt.053 or camt.054 file.
pub fn parse(xml: &[u8]) -> Result<StatementFile, CamtError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut message_id: Option<String> = None;
    let mut statements: Vec<RawStatement> = Vec::new();
    let mut root_seen = false;
    let mut pending_ccy: Option<String> = None;
    // Text of the innermost element, gathered across entity references.
    let mut text = String::new();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| file_error(format!("not well-formed XML: {e}")))?;
        match event {
            Event::Start(start) => {
                let name = local(start.name().as_ref());
                if path.is_empty() {
                    if name != "Document" {
                        return Err(file_error(format!(
                            "root element is {name}, not a camt.053 or camt.054 Document"
                        )));
                    }
                    root_seen = true;
                }
                pending_ccy = None;
                text.clear();
                for attribute in start.attributes().flatten() {
                    if local(attribute.key.as_ref()) == "Ccy" {
                        pending_ccy = attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(|value| value.into_owned());
                    }
                }
                path.push(name);
                open(&path, &mut statements);
            }
            Event::Empty(_) => {}
            Event::Text(content) => text.push_str(&content.xml10_content()),
            Event::GeneralRef(reference) => {
                // `&amp;` and friends inside text: append to the last text.
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match reference.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    }
                    .to_owned(),
                    Err(e) => return Err(file_error(format!("bad character reference: {e}"))),
                };
                text.push_str(&resolved);
            }
            Event::End(_) => {
                if !text.is_empty() {
                    let value = std::mem::take(&mut text);
                    collect(
                        &path,
                        value,
                        pending_ccy.take(),
                        &mut message_id,
                        &mut statements,
                    );
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen {
        return Err(file_error("empty file: no camt.053 or camt.054 Document"));
    }
    if !path.is_empty() {
        return Err(file_error("the file ends inside an element"));
    }
    let message_id = message_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| file_error("GrpHdr/MsgId is missing"))?;
    if statements.is_empty() {
        return Err(file_error("the file holds no Stmt or Ntfctn"));
    }
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(index, raw)| statement(index, raw))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<&str> = statements.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(file_error("two statements share one Id"));
    }
    Ok(StatementFile {
        message_id,
        statements,
    })
}

/// The element name without namespace prefix.
fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_owned(),
        None => name.to_owned(),
    }
}

/// Where we are below `anchor`: the path after its last occurrence.
fn below<'a>(path: &'a [String], anchor: &str) -> Option<&'a [String]> {
    let position = path.iter().rposition(|name| name == anchor)?;
    Some(&path[position + 1..])
}

/// Where we are below the statement or notification.
fn below_statement(path: &[String]) -> Option<&[String]> {
    let position = path
        .iter()
        .rposition(|name| ANCHORS.contains(&name.as_str()))?;
    Some(&path[position + 1..])
}

fn open(path: &[String], statements: &mut Vec<RawStatement>) {
    let Some(last) = path.last() else { return };
    let in_statement = below_statement(path);
    match (last.as_str(), in_statement.map(<[String]>::len)) {
        ("Stmt", _) => statements.push(RawStatement::default()),
        ("Ntfctn", _) => statements.push(RawStatement {
            notification: true,
            ..RawStatement::default()
        }),
        ("Bal", Some(1)) => {
            if let Some(statement) = statements.last_mut() {
                statement.balances.push(RawBalance::default());
            }
        }
        ("Ntry", Some(1)) => {
            if let Some(statement) = statements.last_mut() {
                statement.entries.push(RawEntry::default());
            }
        }
        ("TxDtls", _) => {
            if let Some(entry) = statements.last_mut().and_then(|s| s.entries.last_mut()) {
                entry.transactions.push(RawTransaction::default());
            }
        }
        ("Rcrd", Some(depth)) if depth >= 3 && path[path.len() - 2] == "Chrgs" => {
            let Some(entry) = statements.last_mut().and_then(|s| s.entries.last_mut()) else {
                return;
            };
            let charges = if path.iter().any(|name| name == "TxDtls") {
                match entry.transactions.last_mut() {
                    Some(tx) => &mut tx.charges,
                    None => return,
                }
            } else {
                &mut entry.charges
            };
            charges.records.push(RawCharge::default());
        }
        _ => {}
    }
}

fn joined(path: &[String]) -> String {
    path.join("/")
}

fn collect(
    path: &[String],
    value: String,
    currency: Option<String>,
    message_id: &mut Option<String>,
    statements: &mut [RawStatement],
) {
    if let Some(rest) = below(path, "GrpHdr") {
        if joined(rest) == "MsgId" {
            append(message_id, value);
        }
        return;
    }
    let Some(statement) = statements.last_mut() else {
        return;
    };
    let Some(rest) = below_statement(path) else {
        return;
    };
    let rest = joined(rest);
    if rest == "Id" {
        append(&mut statement.id, value);
        return;
    }
    if rest == "Acct/Ccy" {
        append(&mut statement.currency, value);
        return;
    }
    if let Some(balance) = rest.strip_prefix("Bal/") {
        let Some(raw) = statement.balances.last_mut() else {
            return;
        };
        match balance {
            "Tp/CdOrPrtry/Cd" | "Tp/CdOrPrtry/Prtry" => append(&mut raw.code, value),
            "Amt" => raw.amount = Some((value, currency)),
            "CdtDbtInd" => append(&mut raw.indicator, value),
            _ => {}
        }
        return;
    }
    let Some(entry_path) = rest.strip_prefix("Ntry/") else {
        return;
    };
    let Some(entry) = statement.entries.last_mut() else {
        return;
    };
    if let Some(tx_path) = entry_path
        .strip_prefix("NtryDtls/TxDtls/")
        .or_else(|| entry_path.strip_prefix("NtryDtls/Btch/TxDtls/"))
    {
        let Some(tx) = entry.transactions.last_mut() else {
            return;
        };
        match tx_path {
            "Amt" | "AmtDtls/TxAmt/Amt" => {
                if tx.amount.is_none() {
                    tx.amount = Some((value, currency));
                }
            }
            "CdtDbtInd" => append(&mut tx.indicator, value),
            "RmtInf/Ustrd" => tx.remittance.push(value),
            "RmtInf/Strd/CdtrRefInf/Ref" => append(&mut tx.creditor_reference, value),
            "RtrInf/Rsn/Cd" | "RtrInf/Rsn/Prtry" => append(&mut tx.return_reason, value),
            "Refs/EndToEndId" => append(&mut tx.end_to_end_id, value),
            "Refs/MndtId" => append(&mut tx.mandate_reference, value),
            other => {
                if tx.charges.collect(other, value.clone(), currency) {
                    return;
                }
                if other.starts_with("RltdPties/DbtrAcct/Id/") {
                    append(&mut tx.debtor_account, value);
                } else if other.starts_with("RltdPties/CdtrAcct/Id/") {
                    append(&mut tx.creditor_account, value);
                }
            }
        }
        return;
    }
    match entry_path {
        "Amt" => entry.amount = Some((value, currency)),
        "CdtDbtInd" => append(&mut entry.indicator, value),
        "RvslInd" => append(&mut entry.reversal, value),
        "Sts" | "Sts/Cd" | "Sts/Prtry" => append(&mut entry.status, value),
        "BookgDt/Dt" | "BookgDt/DtTm" => append(&mut entry.booking_date, value),
        "ValDt/Dt" | "ValDt/DtTm" => append(&mut entry.value_date, value),
        "AcctSvcrRef" => append(&mut entry.account_servicer_ref, value),
        "NtryRef" => append(&mut entry.entry_ref, value),
        other => {
            entry.charges.collect(other, value, currency);
        }
    }
}

fn append(slot: &mut Option<String>, value: String) {
    match slot {
        Some(existing) => existing.push_str(&value),
        None => *slot = Some(value),
    }
}

fn statement(index: usize, raw: RawStatement) -> Result<AccountStatement, CamtError> {
    let id = raw
        .id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| CamtError {
            statement: format!("#{}", index + 1),
            entry: None,
            reason: "Stmt/Id is missing".to_owned(),
        })?;
    let fail = |entry: Option<usize>, reason: String| CamtError {
        statement: id.clone(),
        entry,
        reason,
    };
    // The account currency, else the balances' currency, else (for a
    // notification, which has no balances) the first entry's.
    let declared = raw
        .currency
        .clone()
        .or_else(|| {
            raw.balances
                .iter()
                .find_map(|b| b.amount.as_ref().and_then(|(_, ccy)| ccy.clone()))
        })
        .or_else(|| {
            raw.entries
                .iter()
                .find_map(|e| e.amount.as_ref().and_then(|(_, ccy)| ccy.clone()))
        });
    let currency_code = declared.ok_or_else(|| fail(None, "no currency given".to_owned()))?;
    let currency = Currency::from_code(currency_code.trim())
        .map_err(|_| fail(None, format!("unknown currency {}", currency_code.trim())))?;
    let balance = |codes: &[&str]| -> Result<Option<Money>, CamtError> {
        let mut found = None;
        for balance in &raw.balances {
            let Some(code) = balance.code.as_deref().map(str::trim) else {
                continue;
            };
            if !codes.contains(&code) {
                continue;
            }
            if found.is_some() {
                return Err(fail(None, format!("two {code} balances")));
            }
            let amount = money(balance.amount.as_ref(), currency)
                .map_err(|reason| fail(None, format!("{code} balance: {reason}")))?;
            let sign = indicator(balance.indicator.as_deref())
                .map_err(|reason| fail(None, format!("{code} balance: {reason}")))?;
            found = Some(if sign { amount } else { -amount });
        }
        Ok(found)
    };
    let balances = if raw.notification {
        None
    } else {
        let opening = match balance(&["OPBD"])? {
            Some(opening) => opening,
            None => balance(&["PRCD"])?
                .ok_or_else(|| fail(None, "no opening balance (OPBD or PRCD)".to_owned()))?,
        };
        let closing = balance(&["CLBD"])?
            .ok_or_else(|| fail(None, "no closing balance (CLBD)".to_owned()))?;
        Some(Balances { opening, closing })
    };
    let mut entries = Vec::new();
    for (position, raw_entry) in raw.entries.into_iter().enumerate() {
        let number = position + 1;
        entries.extend(
            entry(number, raw_entry, currency).map_err(|reason| fail(Some(number), reason))?,
        );
    }
    let mut references: Vec<&str> = entries.iter().map(|e| e.reference.as_str()).collect();
    references.sort_unstable();
    if let Some(pair) = references.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(fail(
            None,
            format!("two entries share the reference {}", pair[0]),
        ));
    }
    Ok(AccountStatement {
        id,
        currency,
        balances,
        entries,
    })
}

/// An amount in the statement's currency, or why not.
fn money(amount: Option<&(String, Option<String>)>, currency: Currency) -> Result<Money, String> {
    let (text, ccy) = amount.ok_or("Amt is missing")?;
    if let Some(ccy) = ccy {
        let code = ccy.trim();
        let given = Currency::from_code(code).map_err(|_| format!("unknown currency {code}"))?;
        if given != currency {
            return Err(format!(
                "amount in {given}, but the statement is in {currency}"
            ));
        }
    }
    let value: Decimal = text
        .trim()
        .parse()
        .map_err(|_| format!("Amt {:?} is not a number", text.trim()))?;
    if value.is_sign_negative() {
        return Err("Amt is negative; the sign belongs in CdtDbtInd".to_owned());
    }
    let money = Money::new(value, currency);
    if !money.is_rounded() {
        return Err(format!("Amt has more decimals than {currency}"));
    }
    Ok(money)
}

/// `CRDT` → true, `DBIT` → false.
fn indicator(value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        Some("CRDT") => Ok(true),
        Some("DBIT") => Ok(false),
        Some(other) => Err(format!("CdtDbtInd {other:?} is neither CRDT nor DBIT")),
        None => Err("CdtDbtInd is missing".to_owned()),
    }
}

fn date(value: &str) -> Result<NaiveDate, String> {
    let day = value.trim().get(..10).unwrap_or(value.trim());
    day.parse()
        .map_err(|_| format!("{:?} is not a date", value.trim()))
}

/// The currency an entry's `Amt` names, else the account's: an entry in a
/// foreign currency is read in it (and goes to review), not refused.
fn entry_currency(
    amount: Option<&(String, Option<String>)>,
    account: Currency,
) -> Result<Currency, String> {
    match amount.and_then(|(_, ccy)| ccy.as_deref()) {
        Some(code) => Currency::from_code(code.trim())
            .map_err(|_| format!("unknown currency {}", code.trim())),
        None => Ok(account),
    }
}

/// The bank's charges: the stated total, else the sum of the charge
/// records; `None` when none are shown. With them, the part inside the
/// entry amount: the records whose `ChrgInclInd` is true (all of the total
/// when every record says so).
fn charges(raw: &RawCharges, currency: Currency) -> Result<(Option<Money>, Option<Money>), String> {
    let fail = |reason: String| format!("charges: {reason}");
    let mut sum: Option<Money> = None;
    let mut included: Option<Money> = None;
    for record in &raw.records {
        let Some(text) = &record.amount else {
            return Err(fail("Rcrd without Amt".to_owned()));
        };
        let amount = money(Some(text), currency).map_err(fail)?;
        sum = Some(match sum {
            Some(so_far) => so_far.checked_add(amount).map_err(|e| e.to_string())?,
            None => amount,
        });
        match record.included.as_deref().map(str::trim) {
            Some("true" | "1") => {
                included = Some(match included {
                    Some(so_far) => so_far.checked_add(amount).map_err(|e| e.to_string())?,
                    None => amount,
                });
            }
            Some("false" | "0") | None => {}
            Some(other) => {
                return Err(fail(format!(
                    "ChrgInclInd {other:?} is neither true nor false"
                )));
            }
        }
    }
    if let Some(total) = &raw.total {
        let total = money(Some(total), currency).map_err(fail)?;
        // Without records the total is all there is; none of it is said
        // to be inside the amount.
        return Ok((Some(total), included));
    }
    Ok((sum, included))
}

fn entry(number: usize, raw: RawEntry, account: Currency) -> Result<Vec<Entry>, String> {
    let currency = entry_currency(raw.amount.as_ref(), account)?;
    let amount = money(raw.amount.as_ref(), currency)?;
    let credit = indicator(raw.indicator.as_deref())?;
    let reversal = matches!(raw.reversal.as_deref().map(str::trim), Some("true" | "1"));
    let booked = match raw.status.as_deref().map(str::trim) {
        Some("BOOK") | None => true,
        Some("PDNG" | "INFO" | "FUTR") => false,
        Some(other) => return Err(format!("unknown entry status {other:?}")),
    };
    let booking_date = date(raw.booking_date.as_deref().ok_or("BookgDt is missing")?)?;
    let value_date = raw.value_date.as_deref().map(date).transpose()?;
    let reference = raw
        .account_servicer_ref
        .or(raw.entry_ref)
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| format!("#{number}"));
    let signed = if credit { amount } else { -amount };
    let entry_charges = &raw.charges;
    let base =
        |reference: String, amount: Money, tx: Option<&RawTransaction>| -> Result<Entry, String> {
            // The transaction's charges, else (one transaction or none) the
            // entry's: a batch's entry-level charges belong to no one part.
            let fees = match tx.map(|t| &t.charges) {
                Some(own) if !own.is_empty() => charges(own, currency)?,
                _ if raw.transactions.len() <= 1 => charges(entry_charges, currency)?,
                _ => (None, None),
            };
            Ok(Entry {
                index: number,
                reference,
                amount,
                reversal,
                booked,
                booking_date,
                value_date,
                creditor_reference: tx.and_then(|t| t.creditor_reference.clone()),
                remittance: tx
                    .map(|t| t.remittance.join(" "))
                    .filter(|text| !text.trim().is_empty()),
                counterparty_account: tx.and_then(|t| {
                    if credit {
                        t.debtor_account.clone()
                    } else {
                        t.creditor_account.clone()
                    }
                }),
                return_reason: tx.and_then(|t| t.return_reason.clone()),
                end_to_end_id: tx
                    .and_then(|t| t.end_to_end_id.as_deref())
                    .map(str::trim)
                    .filter(|id| !id.is_empty() && *id != "NOTPROVIDED")
                    .map(str::to_owned),
                mandate_reference: tx
                    .and_then(|t| t.mandate_reference.as_deref())
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
                charges: fees.0,
                charges_included: fees.1,
            })
        };
    match raw.transactions.len() {
        0 => Ok(vec![base(reference, signed, None)?]),
        1 => Ok(vec![base(reference, signed, raw.transactions.first())?]),
        _ => {
            // A batch: each transaction needs its own amount, and they must
            // add up to the entry, or it is ambiguous which part is which.
            let mut parts = Vec::new();
            let mut sum = Money::zero(currency);
            for (index, tx) in raw.transactions.iter().enumerate() {
                let part = money(tx.amount.as_ref(), currency)
                    .map_err(|reason| format!("transaction {}: {reason}", index + 1))?;
                let part_credit = match tx.indicator.as_deref() {
                    Some(_) => indicator(tx.indicator.as_deref())?,
                    None => credit,
                };
                let signed_part = if part_credit { part } else { -part };
                sum = sum.checked_add(signed_part).map_err(|e| e.to_string())?;
                parts.push(base(
                    format!("{reference}/{}", index + 1),
                    signed_part,
                    Some(tx),
                )?);
            }
            if sum != signed {
                return Err(format!(
                    "its {} transactions add up to {sum}, not to the entry's {signed}",
                    parts.len()
                ));
            }
            Ok(parts)
        }
    }
}

impl AccountStatement {
    /// Opening balance plus the booked entries in the account's currency
    /// must equal the closing balance, or nothing of the statement is
    /// booked. A notification has no balances: nothing to reconcile.
    pub fn reconcile(&self) -> Result<(), CamtError> {
        let Some(Balances { opening, closing }) = self.balances else {
            return Ok(());
        };
        let mut balance = opening;
        for entry in self
            .entries
            .iter()
            .filter(|e| e.booked && e.amount.currency() == self.currency)
        {
            balance = balance.checked_add(entry.amount).map_err(|e| CamtError {
                statement: self.id.clone(),
                entry: Some(entry.index),
                reason: e.to_string(),
            })?;
        }
        if balance != closing {
            return Err(CamtError {
                statement: self.id.clone(),
                entry: None,
                reason: format!(
                    "does not reconcile: opening {opening} plus the entries is {balance}, but the closing balance is {closing}"
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V02: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-02-02T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-1</Id>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-02-01</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">209.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-02-01</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">119.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-02-01</Dt></BookgDt><ValDt><Dt>2026-02-01</Dt></ValDt>
    <AcctSvcrRef>REF-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <RltdPties><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
     <RmtInf><Strd><CdtrRefInf><Ref>RF73RE2026000123</Ref></CdtrRefInf></Strd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <CdtDbtInd>DBIT</CdtDbtInd><Amt Ccy="EUR">9.50</Amt>
    <BookgDt><Dt>2026-02-01</Dt></BookgDt><Sts>BOOK</Sts>
    <AcctSvcrRef>REF-2</AcctSvcrRef>
    <NtryDtls><TxDtls><RmtInf><Ustrd>Kontof&amp;uuml;hrung</Ustrd></RmtInf></TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>"#;

    #[test]
    fn reads_a_version_02_statement_in_any_element_order() {
        let file = parse(V02.as_bytes()).unwrap();
        assert_eq!(file.message_id, "MSG-1");
        let statement = &file.statements[0];
        assert_eq!(statement.id, "STMT-1");
        assert_eq!(
            statement.balances.map(|b| b.opening.to_string()),
            Some("100.00 EUR".to_owned())
        );
        assert_eq!(statement.entries.len(), 2);
        let credit = &statement.entries[0];
        assert_eq!(credit.reference, "REF-1");
        assert_eq!(credit.amount.amount().to_string(), "119.00");
        assert_eq!(
            credit.creditor_reference.as_deref(),
            Some("RF73RE2026000123")
        );
        assert_eq!(
            credit.counterparty_account.as_deref(),
            Some("DE02120300000000202051")
        );
        let debit = &statement.entries[1];
        assert!(debit.amount.is_negative());
        assert_eq!(debit.remittance.as_deref(), Some("Kontof&uuml;hrung"));
        let umlaut = parse(V02.replace("&amp;uuml;", "&#252;").as_bytes()).unwrap();
        assert_eq!(
            umlaut.statements[0].entries[1].remittance.as_deref(),
            Some("Kontoführung")
        );
        statement.reconcile().unwrap();
    }

    #[test]
    fn refuses_what_cannot_be_read_with_entry_and_reason() {
        let cases = [
            (
                V02.replace("<MsgId>MSG-1</MsgId>", ""),
                "GrpHdr/MsgId is missing",
            ),
            (
                V02.replace("Ccy=\"EUR\">119.00", "Ccy=\"XYZ\">119.00"),
                "entry 1: unknown currency XYZ",
            ),
            (
                V02.replace("<Ccy>EUR</Ccy>", "<Ccy>EUX</Ccy>"),
                "unknown currency EUX",
            ),
            (
                V02.replace(">119.00<", ">119,00<"),
                "entry 1: Amt \"119,00\" is not a number",
            ),
            (
                V02.replace("<CdtDbtInd>DBIT</CdtDbtInd>", ""),
                "entry 2: CdtDbtInd is missing",
            ),
            (
                V02.replace("<BookgDt><Dt>2026-02-01</Dt></BookgDt><ValDt>", "<ValDt>"),
                "entry 1: BookgDt is missing",
            ),
            (
                V02.replace("REF-2", "REF-1"),
                "two entries share the reference REF-1",
            ),
            (V02.replace("</Stmt>", ""), "not well-formed XML"),
            ("<Other/>".to_owned(), "no camt.053 or camt.054 Document"),
            ("".to_owned(), "empty file"),
        ];
        for (xml, expected) in cases {
            let err = parse(xml.as_bytes()).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{err} should say {expected}"
            );
        }
    }

    #[test]
    fn a_statement_that_does_not_add_up_is_refused() {
        let file = parse(V02.replace(">209.50<", ">209.49<").as_bytes()).unwrap();
        let err = file.statements[0].reconcile().unwrap_err();
        assert!(err.to_string().contains("does not reconcile"), "{err}");
    }

    const NOTIFICATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
 <BkToCstmrDbtCdtNtfctn>
  <GrpHdr><MsgId>NTF-1</MsgId><CreDtTm>2026-12-18T06:00:00</CreDtTm></GrpHdr>
  <Ntfctn>
   <Id>NTF-1-1</Id>
   <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Ntry>
    <Amt Ccy="EUR">122.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-17</Dt></BookgDt><ValDt><Dt>2026-12-15</Dt></ValDt>
    <AcctSvcrRef>RET-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>RE-2026-000118</EndToEndId><MndtId>NL-0002</MndtId></Refs>
     <Amt Ccy="EUR">122.00</Amt>
     <Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">3.00</TtlChrgsAndTaxAmt><Rcrd><Amt Ccy="EUR">3.00</Amt></Rcrd></Chrgs>
     <RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="USD">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-17</Dt></BookgDt>
    <AcctSvcrRef>USD-1</AcctSvcrRef>
    <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RmtInf><Ustrd>RE-2026-000120</Ustrd></RmtInf></TxDtls></NtryDtls>
   </Ntry>
  </Ntfctn>
 </BkToCstmrDbtCdtNtfctn>
</Document>"#;

    #[test]
    fn a_camt_054_notification_is_read_without_balances_and_carries_the_return_details() {
        // GIVEN a notification of a returned direct debit (AM04, with the
        // bank's fee) and a credit in a foreign currency
        let file = parse(NOTIFICATION.as_bytes()).unwrap();
        let notification = &file.statements[0];
        // THEN it has no balances, so there is nothing to reconcile
        assert_eq!(notification.id, "NTF-1-1");
        assert_eq!(notification.balances, None);
        assert_eq!(notification.reconcile(), Ok(()));
        let returned = &notification.entries[0];
        assert_eq!(returned.amount.to_string(), "-122.00 EUR");
        assert_eq!(returned.return_reason.as_deref(), Some("AM04"));
        assert_eq!(returned.end_to_end_id.as_deref(), Some("RE-2026-000118"));
        assert_eq!(returned.mandate_reference.as_deref(), Some("NL-0002"));
        assert_eq!(
            returned.charges.map(|c| c.to_string()),
            Some("3.00 EUR".to_owned())
        );
        // AND the foreign entry is read in its own currency, not refused
        let foreign = &notification.entries[1];
        assert_eq!(foreign.amount.to_string(), "50.00 USD");
        assert_eq!(foreign.end_to_end_id, None, "NOTPROVIDED is no reference");
    }

    #[test]
    fn charge_records_add_up_when_no_total_is_given_and_bad_ones_name_the_entry() {
        let records = NOTIFICATION.replace(
            r#"<TtlChrgsAndTaxAmt Ccy="EUR">3.00</TtlChrgsAndTaxAmt><Rcrd><Amt Ccy="EUR">3.00</Amt></Rcrd>"#,
            r#"<Rcrd><Amt Ccy="EUR">2.50</Amt></Rcrd><Rcrd><Amt Ccy="EUR">0.50</Amt></Rcrd>"#,
        );
        let file = parse(records.as_bytes()).unwrap();
        assert_eq!(
            file.statements[0].entries[0].charges.map(|c| c.to_string()),
            Some("3.00 EUR".to_owned())
        );
        let bad = NOTIFICATION.replace(
            r#"<TtlChrgsAndTaxAmt Ccy="EUR">3.00</TtlChrgsAndTaxAmt>"#,
            r#"<TtlChrgsAndTaxAmt Ccy="EUR">three</TtlChrgsAndTaxAmt>"#,
        );
        let error = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(error.entry, Some(1));
        assert!(error.reason.starts_with("charges:"), "{error}");
    }

    #[test]
    fn charges_inside_the_debit_are_told_apart_and_entry_level_charges_count() {
        // The fee inside the debited amount (ChrgInclInd true) is what a
        // return must not take back from the invoice.
        let inside = NOTIFICATION.replace(
            r#"<TtlChrgsAndTaxAmt Ccy="EUR">3.00</TtlChrgsAndTaxAmt><Rcrd><Amt Ccy="EUR">3.00</Amt></Rcrd>"#,
            r#"<Rcrd><Amt Ccy="EUR">3.00</Amt><ChrgInclInd>true</ChrgInclInd></Rcrd>"#,
        );
        let entry = &parse(inside.as_bytes()).unwrap().statements[0].entries[0];
        assert_eq!(
            entry.charges.map(|c| c.to_string()),
            Some("3.00 EUR".into())
        );
        assert_eq!(
            entry.charges_included.map(|c| c.to_string()),
            Some("3.00 EUR".into())
        );
        // Separate (false) or unsaid: nothing inside the amount.
        let file = parse(NOTIFICATION.as_bytes()).unwrap();
        assert_eq!(file.statements[0].entries[0].charges_included, None);
        // Charges at entry level count for a one-transaction entry.
        let entry_level = NOTIFICATION
            .replace(
                r#"<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">3.00</TtlChrgsAndTaxAmt><Rcrd><Amt Ccy="EUR">3.00</Amt></Rcrd></Chrgs>"#,
                "",
            )
            .replace(
                "<AcctSvcrRef>RET-1</AcctSvcrRef>",
                r#"<AcctSvcrRef>RET-1</AcctSvcrRef><Chrgs><Rcrd><Amt Ccy="EUR">2.50</Amt><ChrgInclInd>1</ChrgInclInd></Rcrd></Chrgs>"#,
            );
        let entry = &parse(entry_level.as_bytes()).unwrap().statements[0].entries[0];
        assert_eq!(
            entry.charges_included.map(|c| c.to_string()),
            Some("2.50 EUR".into())
        );
        // An unreadable indicator names the entry.
        let bad = inside.replace("<ChrgInclInd>true", "<ChrgInclInd>yes");
        let error = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(error.entry, Some(1));
        assert!(error.reason.contains("ChrgInclInd"), "{error}");
    }

    #[test]
    fn a_statement_reconciles_over_its_own_currency_only() {
        // A statement whose second entry is in USD: the EUR entries bridge
        // the balances, the USD one is left for review.
        let with_usd = V02.replace(
            r#"<CdtDbtInd>DBIT</CdtDbtInd><Amt Ccy="EUR">9.50</Amt>"#,
            r#"<CdtDbtInd>DBIT</CdtDbtInd><Amt Ccy="USD">9.50</Amt>"#,
        );
        let file = parse(with_usd.as_bytes()).unwrap();
        let statement = &file.statements[0];
        assert_eq!(statement.entries[1].amount.currency(), Currency::USD);
        let error = statement.reconcile().unwrap_err();
        assert!(error.reason.contains("219.00 EUR"), "{error}");
    }
}
