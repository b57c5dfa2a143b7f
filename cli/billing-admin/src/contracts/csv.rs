//! Contracts from CSV: one row per contract item, rows of a contract joined
//! by `contract_id`.
//!
//! Every cell is parsed here, with the row's line and the column named on
//! error; all rows are checked, so one run lists every problem of a file.
//! The contract columns (account, currency, dates, anchor day, proration,
//! payment method)
//! repeat on each of its rows and must agree.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use billing_domain::ids::{AccountId, ProductCode, SubscriptionId, SubscriptionItemId};
use billing_domain::item::{Item, UnitCode};
use billing_domain::money::{Currency, Money};
use billing_domain::period::{AnchorDay, AnchorMonth, BillingInterval, IntervalUnit};
use billing_domain::subscription::{
    BillingTiming, PaymentMethod, ProrationPolicy, Subscription, SubscriptionItem,
};
use billing_domain::tax::{Exemption, TaxCategory};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use crate::error::{AdminError, Problem};
use crate::json::{Seg, parse_path};

/// Every column: name, whether a row must have a value there, what it holds.
pub const COLUMNS: &[(&str, bool, &str)] = &[
    (
        "contract_id",
        true,
        "contract id; rows with the same id form one contract",
    ),
    (
        "account_id",
        true,
        "the customer account (must exist, see `accounts import`)",
    ),
    (
        "currency",
        true,
        "ISO 4217 code; must be the account's currency",
    ),
    ("contract_start", true, "first day of service, YYYY-MM-DD"),
    (
        "contract_end",
        false,
        "last day of service (inclusive), empty = until cancelled",
    ),
    (
        "anchor_day",
        false,
        "day of month periods start on (1-31), empty = each item's start day",
    ),
    ("proration", true, "actual_days | full_period"),
    ("item_id", true, "item id, unique within the contract"),
    ("description", true, "invoice line text"),
    ("quantity", true, "decimal, e.g. 5 or 1.5"),
    (
        "unit",
        true,
        "UN/ECE Rec. 20 code: C62 piece, MON month, ANN year, HUR hour",
    ),
    (
        "unit_price",
        true,
        "decimal price per unit and full period, in the contract currency",
    ),
    ("tax_category", true, "standard | reduced | zero | exempt"),
    (
        "exemption_reason",
        false,
        "required for tax_category exempt, printed on the invoice",
    ),
    (
        "interval",
        true,
        "N day|week|month|year, e.g. `1 month`, `3 month`, `1 year`",
    ),
    ("timing", true, "in_advance | in_arrears"),
    (
        "item_start",
        false,
        "first day of the item if later than contract_start",
    ),
    (
        "item_end",
        false,
        "last day of the item if earlier than contract_end",
    ),
    ("product_code", false, "the seller's article number"),
    (
        "anchor_month",
        false,
        "calendar alignment: month (1-12) periods are aligned to",
    ),
    (
        "payment_method",
        false,
        "transfer | direct_debit (euro, needs the customer's active mandate), empty = transfer",
    ),
];

/// Where a CSV contract came from, to locate later problems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOrigin {
    /// Line of the contract's first row.
    pub contract_line: usize,
    /// Line of each item's row, in item order.
    pub item_lines: Vec<usize>,
}

impl CsvOrigin {
    /// A problem at a domain-style field (`currency`, `items[1].item.unit_price`)
    /// of this contract: the row's line and the column that holds it.
    pub fn problem(&self, field: &str, message: impl Into<String>) -> Problem {
        let path = parse_path(field);
        let (line, column) = match path.as_slice() {
            [Seg::Key(items), Seg::Index(index), rest @ ..] if items == "items" => (
                self.item_lines
                    .get(*index)
                    .copied()
                    .unwrap_or(self.contract_line),
                item_column(rest),
            ),
            [Seg::Key(key), ..] => (self.contract_line, contract_column(key)),
            _ => (self.contract_line, "contract_id"),
        };
        Problem::new(message).at(line, None).field(column)
    }
}

fn contract_column(key: &str) -> &'static str {
    match key {
        "account_id" => "account_id",
        "currency" => "currency",
        "start" => "contract_start",
        "end" => "contract_end",
        "anchor_day" => "anchor_day",
        "proration" => "proration",
        "payment_method" => "payment_method",
        "items" => "item_id",
        _ => "contract_id",
    }
}

fn item_column(rest: &[Seg]) -> &'static str {
    let key = |i: usize| match rest.get(i) {
        Some(Seg::Key(key)) => key.as_str(),
        _ => "",
    };
    match (key(0), key(1)) {
        ("item", "description") => "description",
        ("item", "quantity") | ("quantity_changes", _) => "quantity",
        ("item", "unit") => "unit",
        ("item", "unit_price") | ("price_changes", _) => "unit_price",
        ("item", "tax_category") => "tax_category",
        ("item", "product_code") => "product_code",
        ("start", _) => "item_start",
        ("end", _) => "item_end",
        ("interval", _) => "interval",
        ("timing", _) => "timing",
        _ => "item_id",
    }
}

/// The contract columns, which every row of a contract repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    account_id: AccountId,
    currency: Currency,
    start: NaiveDate,
    end: Option<NaiveDate>,
    anchor_day: Option<AnchorDay>,
    proration: ProrationPolicy,
    payment_method: PaymentMethod,
}

/// A contract being assembled from its rows.
struct Draft {
    id: SubscriptionId,
    head: Head,
    origin: CsvOrigin,
    items: Vec<SubscriptionItem>,
}

/// Reads a CSV file into contracts (each validated by the domain), or
/// refuses it with every problem found.
pub fn read(path: &Path) -> Result<Vec<(Subscription, CsvOrigin)>, AdminError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| AdminError::Unreadable {
        file: name.clone(),
        reason: e.to_string(),
    })?;
    parse(file).map_err(|problems| AdminError::Refused {
        file: name,
        problems,
    })
}

/// [`read`] on any reader.
pub fn parse(input: impl std::io::Read) -> Result<Vec<(Subscription, CsvOrigin)>, Vec<Problem>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| vec![csv_problem(&e, 1)])?
        .clone();
    let columns = check_headers(&headers)?;
    let mut problems = Vec::new();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut by_id: HashMap<SubscriptionId, usize> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(csv_problem(&e, line));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut row = Row {
            record: &record,
            columns: &columns,
            line,
            problems: Vec::new(),
        };
        let parsed = row.contract_and_item();
        let row_problems = row.problems;
        let contract_id = record.get(columns["contract_id"]).unwrap_or_default();
        let name = format!("contract {contract_id}");
        problems.extend(row_problems.into_iter().map(|p| p.record(name.clone())));
        let Some((id, head, item)) = parsed else {
            continue;
        };
        match by_id.get(&id) {
            Some(&index) => {
                let draft = &mut drafts[index];
                if let Some(column) = head_difference(&draft.head, &head) {
                    problems.push(
                        Problem::new(format!(
                            "differs from line {}, the contract's first row",
                            draft.origin.contract_line
                        ))
                        .at(line, None)
                        .record(name)
                        .field(column),
                    );
                    continue;
                }
                draft.origin.item_lines.push(line);
                draft.items.push(item);
            }
            None => {
                by_id.insert(id.clone(), drafts.len());
                drafts.push(Draft {
                    id,
                    head,
                    origin: CsvOrigin {
                        contract_line: line,
                        item_lines: vec![line],
                    },
                    items: vec![item],
                });
            }
        }
    }
    if drafts.is_empty() && problems.is_empty() {
        problems.push(Problem::new("the file has no contract rows").at(1, None));
    }
    let mut contracts = Vec::new();
    for draft in drafts {
        let subscription = Subscription {
            id: draft.id,
            account_id: draft.head.account_id,
            currency: draft.head.currency,
            start: draft.head.start,
            end: draft.head.end,
            anchor_day: draft.head.anchor_day,
            proration: draft.head.proration,
            mid_period_changes: None,
            payment_method: draft.head.payment_method,
            items: draft.items,
        };
        if let Err(billing_domain::DomainError::Invalid { field, message }) =
            subscription.validate()
        {
            problems.push(
                draft
                    .origin
                    .problem(&field, message)
                    .record(format!("contract {}", subscription.id)),
            );
        }
        contracts.push((subscription, draft.origin));
    }
    if problems.is_empty() {
        Ok(contracts)
    } else {
        Err(problems)
    }
}

fn csv_problem(error: &csv::Error, line: usize) -> Problem {
    Problem::new(format!("not valid CSV: {error}")).at(line.max(1), None)
}

/// Column name → index; refuses unknown, duplicate and missing columns.
fn check_headers(
    headers: &csv::StringRecord,
) -> Result<HashMap<&'static str, usize>, Vec<Problem>> {
    let mut columns = HashMap::new();
    let mut problems = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        match COLUMNS.iter().find(|(name, ..)| *name == header) {
            Some((name, ..)) if columns.insert(*name, index).is_some() => {
                problems.push(
                    Problem::new("column appears twice")
                        .at(1, None)
                        .field(*name),
                );
            }
            Some(_) => {}
            None => problems.push(
                Problem::new(format!("unknown column `{header}`"))
                    .at(1, None)
                    .field(header.to_owned()),
            ),
        }
    }
    for (name, required, _) in COLUMNS {
        if *required && !columns.contains_key(name) {
            problems.push(
                Problem::new("required column is missing")
                    .at(1, None)
                    .field(*name),
            );
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// The first contract column in which two rows of one contract differ.
fn head_difference(first: &Head, other: &Head) -> Option<&'static str> {
    [
        (first.account_id != other.account_id, "account_id"),
        (first.currency != other.currency, "currency"),
        (first.start != other.start, "contract_start"),
        (first.end != other.end, "contract_end"),
        (first.anchor_day != other.anchor_day, "anchor_day"),
        (first.proration != other.proration, "proration"),
        (
            first.payment_method != other.payment_method,
            "payment_method",
        ),
    ]
    .into_iter()
    .find_map(|(differs, column)| differs.then_some(column))
}

/// One row being parsed; problems collect instead of stopping at the first.
struct Row<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<&'static str, usize>,
    line: usize,
    problems: Vec<Problem>,
}

impl Row<'_> {
    fn cell(&self, column: &str) -> Option<&str> {
        let value = self.record.get(*self.columns.get(column)?)?;
        (!value.is_empty()).then_some(value)
    }

    fn refuse(&mut self, column: &str, message: impl Into<String>) {
        self.problems.push(
            Problem::new(message)
                .at(self.line, None)
                .field(column.to_owned()),
        );
    }

    /// A required cell, parsed.
    fn required<T>(
        &mut self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.cell(column) {
            Some(_) => self.optional(column, parse),
            None => {
                self.refuse(column, "must not be empty");
                None
            }
        }
    }

    /// An optional cell, parsed; `Some(None)` when empty, `None` when invalid.
    fn optional_cell<T>(
        &mut self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let Some(value) = self.cell(column) else {
            return Some(None);
        };
        match parse(value) {
            Ok(parsed) => Some(Some(parsed)),
            Err(message) => {
                self.refuse(column, message);
                None
            }
        }
    }

    fn optional<T>(
        &mut self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.optional_cell(column, parse).flatten()
    }

    fn contract_and_item(&mut self) -> Option<(SubscriptionId, Head, SubscriptionItem)> {
        let id = self.required("contract_id", |v| domain(SubscriptionId::parse(v)));
        let account_id = self.required("account_id", |v| domain(AccountId::parse(v)));
        let currency = self.required("currency", |v| domain(Currency::from_code(v)));
        let start = self.required("contract_start", parse_date);
        let end = self.optional_cell("contract_end", parse_date);
        let anchor_day = self.optional_cell("anchor_day", |v| {
            let day: u8 = v
                .parse()
                .map_err(|_| format!("`{v}` is not a day of the month (1-31)"))?;
            domain(AnchorDay::new(day))
        });
        let proration = self.required("proration", named::<ProrationPolicy>);
        let item_id = self.required("item_id", |v| domain(SubscriptionItemId::parse(v)));
        let description = self.required("description", |v| Ok(v.to_owned()));
        let quantity = self.required("quantity", parse_decimal);
        let unit = self.required("unit", |v| domain(UnitCode::parse(v)));
        let unit_price = self.required("unit_price", parse_decimal);
        let reason = self.cell("exemption_reason").map(str::to_owned);
        let tax_category = self.required("tax_category", |v| tax_category(v, reason));
        let interval = self.required("interval", parse_interval);
        let timing = self.required("timing", named::<BillingTiming>);
        let item_start = self.optional_cell("item_start", parse_date);
        let item_end = self.optional_cell("item_end", parse_date);
        let product_code = self.optional_cell("product_code", |v| domain(ProductCode::parse(v)));
        let anchor_month = self.optional_cell("anchor_month", parse_anchor_month);
        let payment_method = self.optional_cell("payment_method", named::<PaymentMethod>);
        let head = Head {
            account_id: account_id?,
            currency: currency?,
            start: start?,
            end: end?,
            anchor_day: anchor_day?,
            proration: proration?,
            payment_method: payment_method?.unwrap_or_default(),
        };
        let item = SubscriptionItem {
            id: item_id?,
            item: Item {
                description: description?,
                quantity: quantity?,
                unit: unit?,
                unit_price: Money::new(unit_price?, head.currency),
                tax_category: tax_category?,
                // A contract bills a subscription: services.
                kind: billing_domain::tax::SupplyKind::Services,
                product_code: product_code?,
            },
            interval: interval?,
            timing: timing?,
            start: item_start?,
            end: item_end?,
            anchor_month: anchor_month?,
            price_changes: Vec::new(),
            quantity_changes: Vec::new(),
            billed_through: None,
            changes_settled: None,
        };
        if !self.problems.is_empty() {
            return None;
        }
        Some((id?, head, item))
    }
}

fn domain<T>(result: Result<T, billing_domain::DomainError>) -> Result<T, String> {
    result.map_err(|billing_domain::DomainError::Invalid { message, .. }| message)
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("`{value}` is not a date (YYYY-MM-DD)"))
}

fn parse_decimal(value: &str) -> Result<Decimal, String> {
    Decimal::from_str(value)
        .map_err(|_| format!("`{value}` is not a decimal number (use a point: 12.50)"))
}

/// A snake_case enum value, by its serde name, so CSV and JSON agree.
fn named<T: DeserializeOwned>(value: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|e| {
        let message = e.to_string();
        message
            .split_once("expected ")
            .map_or(message.clone(), |(_, expected)| {
                format!("`{value}` is not one of {expected}")
            })
    })
}

fn tax_category(value: &str, reason: Option<String>) -> Result<TaxCategory, String> {
    match value {
        "standard" => Ok(TaxCategory::Standard),
        "reduced" => Ok(TaxCategory::Reduced),
        "zero" => Ok(TaxCategory::Zero),
        "exempt" => reason
            .map(|reason| {
                TaxCategory::Exempt(Exemption {
                    reason,
                    reason_code: None,
                })
            })
            .ok_or_else(|| "exempt needs the reason in column exemption_reason".to_owned()),
        other => Err(format!(
            "`{other}` is not one of standard, reduced, zero, exempt"
        )),
    }
}

/// `1 month`, `3 months`, `1 year`, `2 weeks`, `30 days`; also `monthly`,
/// `quarterly`, `half_yearly`, `yearly`.
pub fn parse_interval(value: &str) -> Result<BillingInterval, String> {
    let refuse =
        || format!("`{value}` is not an interval such as `1 month`, `3 month` or `1 year`");
    match value {
        "monthly" => return Ok(BillingInterval::monthly()),
        "quarterly" => return Ok(BillingInterval::quarterly()),
        "half_yearly" => return Ok(BillingInterval::half_yearly()),
        "yearly" => return Ok(BillingInterval::yearly()),
        _ => {}
    }
    let (count, unit) = value.split_once(' ').ok_or_else(refuse)?;
    let count: u32 = count.parse().map_err(|_| refuse())?;
    let unit = match unit.trim().trim_end_matches('s') {
        "day" => IntervalUnit::Day,
        "week" => IntervalUnit::Week,
        "month" => IntervalUnit::Month,
        "year" => IntervalUnit::Year,
        _ => return Err(refuse()),
    };
    domain(BillingInterval::every(count, unit))
}

fn parse_anchor_month(value: &str) -> Result<AnchorMonth, String> {
    match value.parse::<u8>() {
        Ok(month @ 1..=12) => AnchorMonth::new(month).map_err(|e| e.to_string()),
        _ => Err(format!("`{value}` is not a month (1-12)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "contract_id,account_id,currency,contract_start,contract_end,anchor_day,proration,item_id,description,quantity,unit,unit_price,tax_category,interval,timing,item_start,item_end,product_code,anchor_month";

    fn csv(rows: &[&str]) -> String {
        std::iter::once(HEADER)
            .chain(rows.iter().copied())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn rows_of_one_contract_become_its_items() {
        let text = csv(&[
            "C1,A1,EUR,2026-01-15,,,actual_days,lic,Licence,5,C62,10.00,standard,1 month,in_advance,,,LIC,",
            "C2,A1,EUR,2026-01-01,,,full_period,sup,Support,1,ANN,1200,standard,1 year,in_arrears,,,,",
            "C1,A1,EUR,2026-01-15,,,actual_days,train,Training,2,HUR,90,reduced,3 months,in_arrears,2026-02-01,,,",
        ]);
        let contracts = parse(text.as_bytes()).unwrap();
        assert_eq!(contracts.len(), 2);
        let (c1, origin) = &contracts[0];
        assert_eq!(c1.id.as_str(), "C1");
        assert_eq!(c1.items.len(), 2);
        assert_eq!(c1.items[1].interval, BillingInterval::quarterly());
        assert_eq!(c1.items[1].timing, BillingTiming::InArrears);
        assert_eq!(origin.item_lines, [2, 4]);
        assert_eq!(contracts[1].0.items[0].interval, BillingInterval::yearly());
    }

    #[test]
    fn every_bad_cell_is_named_by_line_and_column() {
        let text = csv(&[
            "C1,A1,EUR,2026-01-15,,,actual_days,lic,Licence,5,C62,10.00,standard,1 month,in_advance,,,,",
            "C2,A1,EURO,2026-13-01,,,actual_days,lic,Licence,five,C62,10,standard,1 fortnight,sometimes,,,,13",
            "C1,A1,USD,2026-01-15,,,actual_days,x,X,1,C62,1,standard,1 month,in_advance,,,,",
        ]);
        let problems = parse(text.as_bytes()).unwrap_err();
        let located: Vec<(Option<usize>, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.field.as_deref()))
            .collect();
        assert_eq!(
            located,
            [
                (Some(3), Some("currency")),
                (Some(3), Some("contract_start")),
                (Some(3), Some("quantity")),
                (Some(3), Some("interval")),
                (Some(3), Some("timing")),
                (Some(3), Some("anchor_month")),
                (Some(4), Some("currency")),
            ]
        );
        assert!(problems[5].message.contains("1-12"), "{}", problems[5]);
        assert!(problems[6].message.contains("line 2"), "{}", problems[6]);
    }

    #[test]
    fn a_domain_rule_points_at_the_item_row() {
        let text = csv(&[
            "C1,A1,EUR,2026-01-15,,,actual_days,lic,Licence,5,C62,10.00,standard,1 month,in_advance,,,,",
            "C1,A1,EUR,2026-01-15,,,actual_days,sup,Support,1,C62,10,standard,1 month,in_advance,2026-01-01,,,",
        ]);
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(
            (problems[0].line, problems[0].field.as_deref()),
            (Some(3), Some("item_start"))
        );
    }

    #[test]
    fn unknown_and_missing_columns_are_refused() {
        let problems = parse("contract_id,acount_id\nC1,A1".as_bytes()).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("acount_id"));
        assert!(
            problems
                .iter()
                .any(|p| p.field.as_deref() == Some("account_id"))
        );
    }

    #[test]
    fn intervals_read_like_people_write_them() {
        assert_eq!(parse_interval("1 month"), Ok(BillingInterval::monthly()));
        assert_eq!(parse_interval("3 month"), Ok(BillingInterval::quarterly()));
        assert_eq!(parse_interval("1 year"), Ok(BillingInterval::yearly()));
        assert!(parse_interval("0 month").is_err());
        assert!(parse_interval("month").is_err());
    }
}
