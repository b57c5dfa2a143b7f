//! Building an export: the period's journal from the store, written in
//! the handover formats. Everything but the reads is a pure function of
//! what is stored (the period's `locked_at` is the files' creation time),
//! which is what makes an export built twice byte-identical.

use std::collections::HashMap;

use billing_accounting::csv_journal;
use billing_accounting::datev::{Batch, DebtorMasterData, ExtfHeader, buchungsstapel, debitoren};
use billing_domain::accounting::{AccountNumber, AccountingSettings};
use billing_domain::ids::AccountId;
use billing_domain::journal::{BookingPeriod, PeriodLock, journal};
use billing_domain::money::Currency;
use billing_domain::revenue::Month;
use billing_domain::seller::BillingEntity;
use billing_store::BillingStore;
use chrono::{DateTime, Utc};

use crate::events::journal_events;
use crate::{ExportFileKind, PeriodError};

/// The files of one export, in [`ExportFileKind::ALL`] order.
pub(crate) struct Built {
    /// Each file's bytes.
    pub files: Vec<(ExportFileKind, Vec<u8>)>,
    /// How many bookings the period holds.
    pub bookings: usize,
}

/// The seller's accounting settings (chart, accounts, DATEV numbers).
pub(crate) fn settings(seller: &BillingEntity) -> Result<&AccountingSettings, PeriodError> {
    Ok(&seller.accounting)
}

/// Reads the journal's inputs, gives every customer they name its debtor
/// account (assigning the next free one where none is stored), and writes
/// the month's bookings as the three files.
pub(crate) async fn build(
    store: &BillingStore,
    seller: &BillingEntity,
    settings: &AccountingSettings,
    month: Month,
    locked_at: DateTime<Utc>,
) -> Result<Built, PeriodError> {
    let what = format!("booking period {month}");
    let format = |reason: String| PeriodError::Format {
        what: what.clone(),
        reason,
    };
    let period = BookingPeriod::containing(month.first_day());
    let locks: Vec<PeriodLock> = store
        .booking_periods(&seller.id)
        .await?
        .into_iter()
        .filter_map(|stored| {
            Some(PeriodLock {
                period: stored.month.parse().ok()?,
                locked_at: stored.locked_at?,
            })
        })
        .collect();
    let inputs = store
        .journal_inputs(&seller.id, month.first_day(), month.last_day())
        .await?;
    let range = settings.debtor_accounts.first.value()..=settings.debtor_accounts.last.value();
    let width = settings.debtor_accounts.first.digits();
    let mut debtors: HashMap<AccountId, AccountNumber> = HashMap::new();
    for customer in &inputs.customers {
        let id = &customer.account.id;
        let number = match customer.debtor_account {
            Some(number) => number,
            None => {
                store
                    .assign_debtor_account(&seller.id, id, range.clone())
                    .await?
            }
        };
        let number = AccountNumber::parse(&format!("{number:0width$}"), "debtor_account")
            .map_err(|e| format(e.to_string()))?;
        debtors.insert(id.clone(), number);
    }
    let events = journal_events(&inputs, &debtors).map_err(|e| format(e.to_string()))?;
    let bookings = journal(&events, settings, period, &locks).map_err(|e| format(e.to_string()))?;
    let currency = bookings
        .iter()
        .flat_map(|booking| booking.lines.first())
        .map(|line| line.amount.currency())
        .next()
        .unwrap_or(Currency::EUR);
    let description = format!("Billing {month}");
    let batch = Batch {
        date_from: month.first_day(),
        date_to: month.last_day(),
        created_at: locked_at,
        description: &description,
        locked: true,
        currency,
    };
    let header = ExtfHeader::new(settings, &batch).map_err(|e| format(e.to_string()))?;
    let mut touched: Vec<&AccountNumber> = bookings.iter().map(|b| &b.debtor_account).collect();
    touched.sort();
    touched.dedup();
    let master: Vec<DebtorMasterData> = inputs
        .customers
        .iter()
        .filter_map(|customer| {
            let account = debtors.get(&customer.account.id)?;
            touched
                .binary_search(&account)
                .ok()
                .map(|_| DebtorMasterData::from_customer(account.clone(), &customer.account))
        })
        .collect();
    let files = vec![
        (
            ExportFileKind::Buchungsstapel,
            buchungsstapel(&header, &bookings).map_err(|e| format(e.to_string()))?,
        ),
        (
            ExportFileKind::Debitoren,
            debitoren(&header, &master).map_err(|e| format(e.to_string()))?,
        ),
        (ExportFileKind::Journal, csv_journal(&bookings)),
    ];
    Ok(Built {
        files,
        bookings: bookings.len(),
    })
}
