//! The invoice run for one customer: every due period of all of the
//! customer's contracts plus the one-off charges parked for the next
//! invoice, on one invoice per currency and payment method (split only when
//! the seller's line limit forces it): contracts on direct debit are billed
//! on their own invoice, collected under the customer's mandate
//! ([`CustomerBill::collect_by_direct_debit`]).
//!
//! [`bill_customer`] is pure: it returns the invoice drafts together with
//! the billing progress of every contract it billed and the parked charges
//! it consumed. The storage layer writes all of that in one transaction,
//! conditioned on the contract versions it read, which is what makes a
//! retried, duplicated or overlapping run bill nothing twice.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::direct_debit::{CreditorIdentifier, Mandate};
use crate::ids::{AccountId, InvoiceId, SubscriptionId};
use crate::invoice::{InvoiceDraft, InvoiceRequest};
use crate::item::BillableLine;
use crate::item::PendingCharge;
use crate::money::Currency;
use crate::party::CustomerAccount;
use crate::schedule::{BillingProgress, due_for_run_under};
use crate::seller::BillingEntity;
use crate::subscription::{PaymentMethod, Subscription};

/// The calendar day a run bills for: the day of `at` in the seller's time
/// zone, so a schedule that fires at 06:00 Berlin time (04:00 or 05:00 UTC),
/// or a retry hours later, still bills that Berlin day.
pub fn run_date(at: DateTime<Utc>, zone: chrono_tz::Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// Days a finalizing run's date may lie from today in the seller's time
/// zone: a run planned before midnight and finished after it still issues
/// its invoices on the day it was planned.
pub const ISSUE_DATE_TOLERANCE_DAYS: i64 = 1;

/// Refuses a finalizing run whose invoices would not carry the day they are
/// issued. §14 Abs. 4 Satz 1 Nr. 3 UStG requires "das Ausstellungsdatum",
/// the date of issue; a back-dated invoice also takes its number from a
/// past year's series and can go out already due. So a finalizing run is
/// dated today in the seller's time zone, give or take
/// [`ISSUE_DATE_TOLERANCE_DAYS`] for a run that crosses midnight; a past
/// (or future) date can only be previewed. `field` names what carried the
/// date (`run_date`, or `from_preview` for a preview's date).
pub fn check_issue_date(
    field: &str,
    run_date: NaiveDate,
    today: NaiveDate,
) -> Result<(), DomainError> {
    let offset = (run_date - today).num_days();
    if offset < -ISSUE_DATE_TOLERANCE_DAYS {
        return Err(DomainError::invalid(
            field,
            format!(
                "{run_date} is in the past: an invoice carries the day it is issued,                  {today} (§14(4) no. 3 UStG); preview that date, or run today"
            ),
        ));
    }
    if offset > ISSUE_DATE_TOLERANCE_DAYS {
        return Err(DomainError::invalid(
            field,
            format!(
                "{run_date} is in the future: an invoice carries the day it is issued,                  {today} (§14(4) no. 3 UStG); preview that date, or run on it"
            ),
        ));
    }
    Ok(())
}

/// The one-off charges of one parked batch (one opportunity), consumed as a
/// whole by the invoice that carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBatch {
    /// The batch's id (the storage item's key).
    pub batch_id: String,
    /// The charges, in the order they were sold.
    pub charges: Vec<PendingCharge>,
}

/// What the run knows about one customer on a run date.
#[derive(Debug, Clone, Copy)]
pub struct CustomerRunInput<'a> {
    /// The seller.
    pub entity: &'a BillingEntity,
    /// The customer.
    pub account: &'a CustomerAccount,
    /// Every contract of the customer (the due ones are found here).
    pub subscriptions: &'a [Subscription],
    /// Every batch of parked one-off charges of the customer.
    pub pending: &'a [PendingBatch],
    /// The day billed for; also the invoice date.
    pub run_date: NaiveDate,
}

/// How one contract moves on when the customer's invoice is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionAdvance {
    /// The contract.
    pub subscription_id: SubscriptionId,
    /// New `billed_through` per item, with the value read as condition.
    pub progress: Vec<BillingProgress>,
    /// The contract's next due date afterwards (its due-index key); `None`
    /// when it has ended and everything is billed.
    pub next_due: Option<NaiveDate>,
}

/// One customer's result of a run: what to store, all together or not at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerBill {
    /// The customer.
    pub account_id: AccountId,
    /// The day billed for.
    pub run_date: NaiveDate,
    /// The invoices (or credit notes), unnumbered: numbers are assigned
    /// only at finalization.
    pub invoices: Vec<InvoiceDraft>,
    /// Every contract with billed periods.
    pub advances: Vec<SubscriptionAdvance>,
    /// The parked batches the invoices carry.
    pub pending_billed: Vec<String>,
    /// The invoices of contracts on direct debit, still to be collected
    /// under the customer's mandate by [`CustomerBill::collect_by_direct_debit`]
    /// (the caller reads the mandates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub direct_debit: Vec<InvoiceId>,
}

impl CustomerBill {
    /// Makes the invoices of direct-debit contracts ones collected under
    /// the customer's mandate (the rule of
    /// [`crate::direct_debit::first_usable_mandate`]; `mandates` stored
    /// ones of the customer). Refused, naming the invoice, when the seller
    /// has no creditor settings or no mandate is usable: the bill is then
    /// not issued at all rather than silently asking for a transfer.
    pub fn collect_by_direct_debit<'m>(
        &mut self,
        creditor: Option<&CreditorIdentifier>,
        mandates: impl IntoIterator<Item = &'m Mandate> + Clone,
    ) -> Result<(), DomainError> {
        for invoice in &mut self.invoices {
            if !self.direct_debit.contains(&invoice.id) {
                continue;
            }
            let at = format!("invoices/{}", invoice.id);
            let creditor = creditor.ok_or_else(|| {
                DomainError::invalid(
                    format!("{at}/mandate"),
                    "the seller has no SEPA creditor settings (billing_entity.direct_debit)",
                )
            })?;
            invoice
                .collect_under_first_usable(creditor, mandates.clone())
                .map_err(|e| within(&at, e))?;
        }
        Ok(())
    }
}

/// Bills one customer: `None` when no contract has a period due (parked
/// charges then keep waiting for the next recurring invoice).
///
/// `invoice_id(currency, index)` mints the id of the index-th invoice in a
/// currency, so the caller decides how ids are derived. Errors name the
/// contract or charge (`subscriptions/<id>/…`, `pending/<batch>/…`) so the
/// run outcome can say exactly what to fix.
pub fn bill_customer(
    input: &CustomerRunInput<'_>,
    mut invoice_id: impl FnMut(Currency, usize) -> InvoiceId,
) -> Result<Option<CustomerBill>, DomainError> {
    let limit = input.entity.max_invoice_lines;
    let mut groups: Vec<(Group, Vec<BillableLine>)> = Vec::new();
    let mut advances = Vec::new();
    for subscription in input.subscriptions {
        let at = |e: DomainError| within(&format!("subscriptions/{}", subscription.id), e);
        if subscription.account_id != input.account.id {
            return Err(DomainError::invalid(
                format!("subscriptions/{}/account_id", subscription.id),
                format!(
                    "belongs to {}, not {}",
                    subscription.account_id, input.account.id
                ),
            ));
        }
        let schedule = due_for_run_under(
            subscription,
            input.run_date,
            limit,
            input.entity.mid_period_changes,
        )
        .map_err(at)?;
        if schedule.is_empty() {
            continue;
        }
        let lines = schedule
            .billable_lines(subscription, input.account.language)
            .map_err(at)?;
        group_mut(
            &mut groups,
            Group {
                currency: subscription.currency,
                payment_method: subscription.payment_method,
            },
        )
        .extend(lines);
        advances.push(SubscriptionAdvance {
            subscription_id: subscription.id.clone(),
            progress: schedule.progress,
            next_due: schedule.next_due,
        });
    }
    if advances.is_empty() {
        return Ok(None);
    }
    let mut pending_billed = Vec::with_capacity(input.pending.len());
    for batch in input.pending {
        for charge in &batch.charges {
            if charge.account_id != input.account.id {
                return Err(DomainError::invalid(
                    format!("pending/{}/account_id", batch.batch_id),
                    format!("belongs to {}, not {}", charge.account_id, input.account.id),
                ));
            }
            let currency = charge.item.unit_price.currency();
            // Parked charges join the first invoice of their currency.
            let group = groups
                .iter()
                .find(|(group, _)| group.currency == currency)
                .map_or(
                    Group {
                        currency,
                        payment_method: PaymentMethod::Transfer,
                    },
                    |(group, _)| *group,
                );
            group_mut(&mut groups, group).push(charge.to_billable_line());
        }
        pending_billed.push(batch.batch_id.clone());
    }
    let mut invoices = Vec::new();
    let mut direct_debit = Vec::new();
    for (group, lines) in groups {
        let currency = group.currency;
        let mut account = input.account.clone();
        account.currency = currency;
        for chunk in lines.chunks(limit.max(1)) {
            // Numbered per currency, so a customer without direct-debit
            // contracts keeps the invoice ids it always had.
            let index = invoices
                .iter()
                .filter(|i: &&InvoiceDraft| i.currency == currency)
                .count();
            let request =
                InvoiceRequest::new(invoice_id(currency, index), input.run_date, chunk.to_vec());
            let draft = InvoiceDraft::build(input.entity, &account, request)?;
            if group.payment_method == PaymentMethod::DirectDebit {
                direct_debit.push(draft.id.clone());
            }
            invoices.push(draft);
        }
    }
    Ok(Some(CustomerBill {
        account_id: input.account.id.clone(),
        run_date: input.run_date,
        invoices,
        advances,
        pending_billed,
        direct_debit,
    }))
}

/// What one invoice of a customer's bill gathers: lines of one currency,
/// paid one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Group {
    currency: Currency,
    payment_method: PaymentMethod,
}

/// The lines of `group`, created on first use so invoices keep the order
/// in which their groups first appear.
fn group_mut(groups: &mut Vec<(Group, Vec<BillableLine>)>, group: Group) -> &mut Vec<BillableLine> {
    let index = match groups.iter().position(|(g, _)| *g == group) {
        Some(index) => index,
        None => {
            groups.push((group, Vec::new()));
            groups.len() - 1
        }
    };
    &mut groups[index].1
}

/// Prefixes an error's field with where it came from.
fn within(prefix: &str, error: DomainError) -> DomainError {
    match error {
        DomainError::Invalid { field, message } => {
            DomainError::invalid(format!("{prefix}/{field}"), message)
        }
    }
}
