//! Closing an opportunity: the one use case behind the webhook.
//!
//! Everything is planned from what is stored, then committed in one
//! transaction (see `billing_store::OpportunityCommit`); when a concurrent
//! request changed the account or contract in between, the plan is rebuilt.
//! Every rule that can refuse the content runs while planning, so a refusal
//! (4xx) never leaves a write behind.

use std::time::Duration;

use billing_domain::DomainError;
use billing_domain::accounting::AccountNumber;
use billing_domain::direct_debit::{CreditorIdentifier, Mandate};
use billing_domain::ids::{
    AccountId, InvoiceId, PendingChargeId, SubscriptionId, SubscriptionItemId,
};
use billing_domain::invoice::{InvoiceDraft, InvoiceRequest};
use billing_domain::item::PendingCharge;
use billing_domain::item::{BillableLine, LineSource};
use billing_domain::schedule::next_due_date;
use billing_domain::seller::BillingEntity;
use billing_domain::staff::StaffRole;
use billing_domain::subscription::{ProrationPolicy, Subscription, SubscriptionItem};
use billing_store::keys::derived_id;
use billing_store::{
    AccountChange, Actor, AuditEntry, BillingStore, CommitOutcome, OpportunityCommit,
    OpportunityRecord, StoreError, StoredMandate, SubscriptionChange,
};
use chrono::{DateTime, NaiveDate, Utc};
use tokio::time::Instant;

use crate::contract::{BillingOption, ClosedOpportunity, OneOffLine, PaymentMethod, RecurringLine};
use crate::error::{WebhookError, domain_field_pointer};

/// Time allowed for planning and committing, inside the function's 29 s
/// timeout (API Gateway waits 30 s at most): when racing writers keep
/// winning, answer 503 (the CRM retries) rather than time out unanswered.
const COMMIT_BUDGET: Duration = Duration::from_secs(20);

/// What closing did.
#[derive(Debug, Clone, PartialEq)]
pub enum Closed {
    /// This request did the work.
    Recorded(OpportunityRecord),
    /// An earlier request with the same content did it; nothing changed now.
    Replayed(OpportunityRecord),
}

/// The use case with its dependencies, built once per cold start.
#[derive(Debug, Clone)]
pub struct OpportunityService {
    store: BillingStore,
    entity: BillingEntity,
}

impl OpportunityService {
    /// Bill as `entity`, store in `store`.
    pub fn new(store: BillingStore, entity: BillingEntity) -> Self {
        Self { store, entity }
    }

    /// The seller's line limit per invoice, which the contract enforces.
    pub fn max_lines(&self) -> usize {
        self.entity.max_invoice_lines
    }

    /// Record the opportunity exactly once; a retry with the same content
    /// gets the original outcome, a different content a conflict.
    pub async fn close(
        &self,
        opportunity: &ClosedOpportunity,
        now: DateTime<Utc>,
    ) -> Result<Closed, WebhookError> {
        let deadline = Instant::now() + COMMIT_BUDGET;
        let fingerprint = opportunity.fingerprint();
        let mut plans = 0;
        while Instant::now() < deadline {
            plans += 1;
            if let Some(record) = self.store.opportunity(&opportunity.key).await? {
                let closed = replay(opportunity, &fingerprint, record)?;
                self.record_mandates(opportunity, &closed, now).await?;
                return Ok(closed);
            }
            let commit = self.plan(opportunity, &fingerprint, now).await?;
            let closed = match self.store.commit_opportunity(&commit, deadline).await? {
                CommitOutcome::Committed(record) => Closed::Recorded(record),
                CommitOutcome::AlreadyRecorded(record) => {
                    replay(opportunity, &fingerprint, record)?
                }
                CommitOutcome::Stale => continue,
            };
            self.record_mandates(opportunity, &closed, now).await?;
            return Ok(closed);
        }
        Err(StoreError::Contended {
            what: "account or contract".to_owned(),
            attempts: plans,
        }
        .into())
    }

    async fn plan(
        &self,
        opportunity: &ClosedOpportunity,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<OpportunityCommit, WebhookError> {
        let source = opportunity.key.source.as_str();
        let (system, org) = source.split_once('/').unwrap_or((source, ""));
        let data = &opportunity.account;
        let existing = self
            .store
            .account_by_crm(system, org, data.crm_id.as_str())
            .await?;
        if let Some(existing) = &existing
            && existing.account.currency != data.currency
        {
            return Err(WebhookError::unprocessable(
                "/account/currency",
                format!(
                    "the account is billed in {}; its currency cannot change",
                    existing.account.currency.code()
                ),
            ));
        }
        let account_id = existing.as_ref().map_or_else(
            || AccountId::new(derived_id("acc", &[source, data.crm_id.as_str()])),
            |e| e.account.id.clone(),
        );
        let from_crm = data.to_account(account_id.clone(), self.entity.id.clone());
        from_crm
            .validate()
            .map_err(|e| WebhookError::from_domain(e, ""))?;
        if let Some(number) = data.debtor_account {
            self.check_debtor_account(number)?;
        }
        let crm_last_modified = opportunity.last_modified;
        let account = match existing {
            None => AccountChange::Create {
                account: from_crm,
                source: source.to_owned(),
                crm_id: data.crm_id.as_str().to_owned(),
                crm_last_modified,
            },
            // The stored data is the same, or newer than this delivery: keep
            // it and only check that it does not change meanwhile.
            Some(stored)
                if stored.account == from_crm
                    || stored
                        .crm_last_modified
                        .is_some_and(|t| t > crm_last_modified) =>
            {
                AccountChange::Unchanged {
                    account: stored.account,
                    expected_version: stored.version,
                }
            }
            Some(stored) => AccountChange::Update {
                account: from_crm,
                expected_version: stored.version,
                expected_revision: stored.revision,
                crm_last_modified,
            },
        };
        // Refuse a mandate the store would refuse before anything is written.
        let new_mandates = self
            .mandates_to_record(opportunity, &account_id, true, now)
            .await?;
        let customer = match &account {
            AccountChange::Create { account, .. }
            | AccountChange::Update { account, .. }
            | AccountChange::Unchanged { account, .. } => account,
        };

        let has_one_off = !opportunity.one_off.is_empty();
        let invoice = if has_one_off && opportunity.billing_option == BillingOption::InvoiceNow {
            let (mut draft, series) = draft_invoice(&self.entity, opportunity, customer, now)?;
            if opportunity.payment_method == PaymentMethod::DirectDebit {
                self.collect_by_direct_debit(&mut draft, &account_id, &new_mandates)
                    .await?;
            }
            Some((draft, series))
        } else {
            None
        };
        let subscription = if opportunity.recurring.is_empty() {
            None
        } else {
            if opportunity.payment_method == PaymentMethod::DirectDebit {
                self.require_contract_mandate(&account_id, &new_mandates, now)
                    .await?;
            }
            Some(self.contract(opportunity, &account_id, source, now).await?)
        };
        let parked = if has_one_off && opportunity.billing_option == BillingOption::WithNextRun {
            self.ensure_a_run_will_bill(&account_id, subscription.as_ref())
                .await?;
            let batch_id = derived_id("pc", &[source, opportunity.opportunity_id.as_str()]);
            let charges: Vec<PendingCharge> = opportunity
                .one_off
                .iter()
                .map(|line| PendingCharge {
                    id: PendingChargeId::new(format!("{batch_id}-{}", line.index)),
                    account_id: account_id.clone(),
                    opportunity_id: Some(opportunity.opportunity_id.clone()),
                    item: line.item.clone(),
                    service_period: Some(line.period),
                })
                .collect();
            Some((batch_id, charges))
        } else {
            None
        };
        if let Some(number) = data.debtor_account {
            self.record_debtor_account(&account_id, number).await?;
        }
        Ok(OpportunityCommit {
            key: opportunity.key.clone(),
            fingerprint: fingerprint.to_owned(),
            account,
            invoice,
            parked,
            subscription,
            recorded_at: now,
        })
    }

    /// The deal's mandates that are not stored yet, each checked as the
    /// staff API and the account import check them: the domain's rules
    /// (`NewMandate::into_mandate`, the seller's creditor identifier by
    /// default), a reference no other customer holds, and a mandate stored
    /// with the same reference having the same details (changes go through
    /// the staff API, which records amendments). `strict`: refuse (422,
    /// naming the field) what cannot be recorded; otherwise (a retry of a
    /// deal already recorded, whose mandates a clerk may have amended
    /// since) skip it.
    async fn mandates_to_record(
        &self,
        opportunity: &ClosedOpportunity,
        account_id: &AccountId,
        strict: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredMandate>, WebhookError> {
        let stated = &opportunity.account.mandates;
        if stated.is_empty() {
            return Ok(Vec::new());
        }
        let today = now.with_timezone(&self.entity.time_zone).date_naive();
        let seller = self
            .entity
            .direct_debit
            .as_ref()
            .map(|settings| &settings.creditor_identifier);
        let stored = self.store.mandates(account_id).await?;
        let mut new = Vec::new();
        for (i, stated) in stated.iter().enumerate() {
            let at = format!("/account/mandates/{i}");
            let refuse = |pointer: String, message: String| {
                Err(WebhookError::unprocessable(pointer, message))
            };
            let mandate = match stated.clone().into_mandate(seller, today) {
                Ok(mandate) => mandate,
                Err(error) if strict => return Err(WebhookError::from_domain(error, &at)),
                Err(_) => continue,
            };
            let creditor = mandate.creditor_identifier.as_str().to_owned();
            let reference = mandate.reference.as_str().to_owned();
            let same = stored.iter().find(|s| {
                s.mandate.creditor_identifier == mandate.creditor_identifier
                    && s.mandate.reference == mandate.reference
            });
            match same {
                Some(s) if s.mandate.same_details(&mandate) => {}
                Some(_) if strict => {
                    return refuse(
                        format!("{at}/reference"),
                        "is stored with other details; amend it through the staff API, \
                         which records the amendment"
                            .to_owned(),
                    );
                }
                Some(_) => {}
                None => match self
                    .store
                    .mandate_reference_holder(&creditor, &reference)
                    .await?
                {
                    Some(holder) if holder != *account_id && strict => {
                        return refuse(
                            format!("{at}/reference"),
                            format!(
                                "is already given to another customer's mandate for creditor \
                                 identifier {creditor}"
                            ),
                        );
                    }
                    Some(_) => {}
                    None => new.push(StoredMandate::new(account_id.clone(), mandate, now)),
                },
            }
        }
        Ok(new)
    }

    /// Makes the deal's invoice one collected by direct debit under the
    /// customer's mandate: the first of its stored mandates, then those
    /// the deal brings, that is granted to the seller's creditor
    /// identifier and usable on the collection date. Refused (422 on
    /// `/payment_method`) for a seller without creditor settings and a
    /// customer without such a mandate, with the reason.
    async fn collect_by_direct_debit(
        &self,
        draft: &mut InvoiceDraft,
        account_id: &AccountId,
        new_mandates: &[StoredMandate],
    ) -> Result<(), WebhookError> {
        let (creditor, mandates) = self.collectable(account_id, new_mandates).await?;
        draft
            .collect_under_first_usable(creditor, &mandates)
            .map_err(no_usable_mandate)
    }

    /// A contract on direct debit needs a mandate its runs can collect
    /// under: one of the customer's (stored, then the deal's) granted to the
    /// seller's creditor identifier and usable today, by the rule the run
    /// applies. Refused like a one-off deal (422 on `/payment_method`).
    async fn require_contract_mandate(
        &self,
        account_id: &AccountId,
        new_mandates: &[StoredMandate],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let (creditor, mandates) = self.collectable(account_id, new_mandates).await?;
        let today = now.with_timezone(&self.entity.time_zone).date_naive();
        billing_domain::direct_debit::first_usable_mandate(creditor, &mandates, |_| today)
            .map(|_| ())
            .map_err(no_usable_mandate)
    }

    /// What a direct debit of the customer may use: the seller's creditor
    /// identifier and the customer's mandates, stored ones first, then
    /// those the deal brings. Refused (422 on `/payment_method`) for a
    /// seller without creditor settings.
    async fn collectable(
        &self,
        account_id: &AccountId,
        new_mandates: &[StoredMandate],
    ) -> Result<(&CreditorIdentifier, Vec<Mandate>), WebhookError> {
        let Some(settings) = &self.entity.direct_debit else {
            return Err(WebhookError::unprocessable(
                PAYMENT_METHOD,
                "the seller has no SEPA creditor settings (billing_entity.direct_debit)",
            ));
        };
        let stored = self.store.mandates(account_id).await?;
        let mandates = stored
            .into_iter()
            .chain(new_mandates.iter().cloned())
            .map(|m| m.mandate)
            .collect();
        Ok((&settings.creditor_identifier, mandates))
    }

    /// Records the deal's new mandates for its account (created or found
    /// by the commit), each with its audit entry; a retry records what a
    /// crash left out.
    async fn record_mandates(
        &self,
        opportunity: &ClosedOpportunity,
        closed: &Closed,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let record = match closed {
            Closed::Recorded(record) | Closed::Replayed(record) => record,
        };
        let account_id = &record.outcome.account_id;
        let strict = matches!(closed, Closed::Recorded(_));
        for mandate in self
            .mandates_to_record(opportunity, account_id, strict, now)
            .await?
        {
            let audit = AuditEntry {
                actor: Actor {
                    user: "opportunity-webhook".to_owned(),
                    role: StaffRole::Billing,
                },
                at: now,
                action: "account.mandate.create".to_owned(),
                invoice_id: None,
                account_id: account_id.clone(),
                reason: Some(format!(
                    "from the CRM with opportunity {}",
                    opportunity.opportunity_id
                )),
                change: serde_json::json!({
                    "mandate_id": mandate.mandate_id,
                    "reference": mandate.mandate.reference,
                    "creditor_identifier": mandate.mandate.creditor_identifier,
                    "scheme": mandate.mandate.scheme,
                    "usage": mandate.mandate.usage,
                    "signed_on": mandate.mandate.signed_on,
                }),
            };
            match self.store.create_mandate(&mandate, Some(&audit)).await {
                // A concurrent retry recorded it first.
                Ok(()) | Err(StoreError::Refused { .. }) if !strict => {}
                Ok(()) => {}
                Err(StoreError::Refused { reason, .. }) => {
                    return Err(WebhookError::unprocessable(
                        "/account/mandates",
                        format!("mandate reference {} {reason}", mandate.mandate.reference),
                    ));
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// Refuses a debtor account number that is not one of the seller's
    /// (the length and range of `accounting.debtor_accounts`), the one
    /// check the journal applies to every debtor account.
    fn check_debtor_account(&self, number: u32) -> Result<(), WebhookError> {
        const FIELD: &str = "/account/debtor_account";
        AccountNumber::parse(&number.to_string(), FIELD)
            .and_then(|account| self.entity.accounting.ensure_debtor(&account, FIELD))
            .map_err(|e| WebhookError::from_domain(e, ""))
    }

    /// Records the CRM's debtor account number for the customer (a retry
    /// records the same number again, changing nothing); a number another
    /// customer holds, or another number for a customer that has one, is
    /// refused before anything of the deal is written.
    async fn record_debtor_account(
        &self,
        account: &AccountId,
        number: u32,
    ) -> Result<(), WebhookError> {
        match self
            .store
            .set_debtor_account(&self.entity.id, account, number)
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::Refused { reason, .. }) => Err(WebhookError::unprocessable(
                "/account/debtor_account",
                reason,
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Parked charges ride on the customer's next recurring invoice; refuse
    /// them when no contract of the account (stored or created now) will
    /// ever be billed again, instead of parking money nobody collects.
    async fn ensure_a_run_will_bill(
        &self,
        account_id: &AccountId,
        created_or_amended: Option<&SubscriptionChange>,
    ) -> Result<(), WebhookError> {
        let will_bill = |subscription: &Subscription| {
            next_due_date(subscription).is_ok_and(|due| due.is_some())
        };
        if created_or_amended.is_some_and(|change| will_bill(subscription_of(change))) {
            return Ok(());
        }
        let stored = self.store.subscriptions_of(account_id).await?;
        if stored.iter().any(|s| will_bill(&s.subscription)) {
            return Ok(());
        }
        Err(WebhookError::unprocessable(
            "/billing_option",
            "with_next_run needs a running subscription for this customer; \
             none exists, so use invoice_now",
        ))
    }

    /// Create the deal's contract, or amend the one it names. A recurring
    /// item whose product code and interval match a running item changes
    /// that item's quantity and price from its start date or today (in the
    /// seller's time zone), whichever is later, and may end it earlier; the
    /// schedule bills a change inside a period pro rata. Other terms of a
    /// running item cannot change through the webhook (422). Everything
    /// else is added as a new item.
    async fn contract(
        &self,
        opportunity: &ClosedOpportunity,
        account_id: &AccountId,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<SubscriptionChange, WebhookError> {
        let today = now.with_timezone(&self.entity.time_zone).date_naive();
        let subscription_id = SubscriptionId::new(derived_id(
            "sub",
            &[source, account_id.as_str(), &opportunity.contract_key],
        ));
        let new_item = |line: &RecurringLine| SubscriptionItem {
            id: SubscriptionItemId::new(format!(
                "{subscription_id}-{}-{}",
                opportunity.opportunity_id, line.index
            )),
            item: line.item.clone(),
            interval: line.interval,
            timing: line.timing,
            anchor_month: None,
            start: Some(line.start),
            end: line.end,
            price_changes: Vec::new(),
            quantity_changes: Vec::new(),
            billed_through: None,
            changes_settled: None,
        };
        let change = match self
            .store
            .subscription(account_id, &subscription_id)
            .await?
        {
            None => {
                let start = opportunity
                    .recurring
                    .iter()
                    .map(|line| line.start)
                    .min()
                    .unwrap_or(opportunity.close_date);
                SubscriptionChange::Create(Subscription {
                    id: subscription_id.clone(),
                    account_id: account_id.clone(),
                    currency: opportunity.currency,
                    start,
                    end: None,
                    anchor_day: None,
                    proration: ProrationPolicy::ActualDays,
                    mid_period_changes: None,
                    payment_method: opportunity.payment_method,
                    items: opportunity.recurring.iter().map(new_item).collect(),
                })
            }
            Some(stored) => {
                let mut subscription = stored.subscription;
                // A deal naming direct debit moves the contract to it; one
                // that does not leaves the contract's method alone (a CRM
                // that never sends the field must not undo it).
                if opportunity.payment_method == PaymentMethod::DirectDebit {
                    subscription.payment_method = PaymentMethod::DirectDebit;
                }
                for line in &opportunity.recurring {
                    match running_item(&subscription, line) {
                        Some(index) => amend_item(&mut subscription, index, line, today)?,
                        None => subscription.items.push(new_item(line)),
                    }
                }
                SubscriptionChange::Update {
                    subscription,
                    expected_version: stored.version,
                }
            }
        };
        let subscription = subscription_of(&change);
        // The contract's item positions are not the request's: point at the
        // items and keep the domain's own field path in the message. Its
        // payment method is the request's own field (direct debit is for
        // euro contracts only).
        subscription.validate().map_err(|e| {
            let pointer = match &e {
                DomainError::Invalid { field, .. } if field == "payment_method" => PAYMENT_METHOD,
                _ => "/items",
            };
            WebhookError::unprocessable(pointer, e.to_string())
        })?;
        next_due_date(subscription)
            .map_err(|e| WebhookError::unprocessable("/items", e.to_string()))?;
        Ok(change)
    }
}

/// The request field a refused direct debit points at.
const PAYMENT_METHOD: &str = "/payment_method";

/// A direct debit refused for want of a usable mandate: 422 on
/// `/payment_method` with the reason and where to send one.
fn no_usable_mandate(error: DomainError) -> WebhookError {
    let DomainError::Invalid { message, .. } = error;
    WebhookError::unprocessable(
        PAYMENT_METHOD,
        format!("{message}; send it in account.mandates"),
    )
}

/// The one-off items as a finalizable invoice draft, with the series that
/// will number it. Pure (no store): the invoicing rules of a deal, which the
/// handler benchmark measures without AWS.
pub fn draft_invoice(
    entity: &BillingEntity,
    opportunity: &ClosedOpportunity,
    customer: &billing_domain::party::CustomerAccount,
    now: DateTime<Utc>,
) -> Result<(InvoiceDraft, billing_domain::numbering::NumberSeries), WebhookError> {
    let source = opportunity.key.source.as_str();
    let opportunity_id = &opportunity.opportunity_id;
    let lines = opportunity
        .one_off
        .iter()
        .map(|line| {
            BillableLine::new(line.item.clone())
                .with_period(line.period)
                .with_source(LineSource::Opportunity {
                    opportunity_id: opportunity_id.clone(),
                })
        })
        .collect();
    let invoice_id = InvoiceId::new(derived_id("inv", &[source, opportunity_id.as_str()]));
    let issue_date = now.with_timezone(&entity.time_zone).date_naive();
    let mut request = InvoiceRequest::new(invoice_id, issue_date, lines);
    request.references.purchase_order = opportunity.purchase_order.clone();
    let draft = InvoiceDraft::build(entity, customer, request)
        .map_err(|e| draft_error(e, &opportunity.one_off))?;
    let series = entity
        .series_for(draft.document_type)
        .map_err(|e| StoreError::Corrupt {
            what: format!("billing entity {}", entity.id),
            reason: e.to_string(),
        })?
        .clone();
    Ok((draft, series))
}

fn subscription_of(change: &SubscriptionChange) -> &Subscription {
    match change {
        SubscriptionChange::Create(s)
        | SubscriptionChange::Update {
            subscription: s, ..
        } => s,
    }
}

/// The running item a recurring line amends: same product code and
/// interval, not ended before the line starts.
fn running_item(subscription: &Subscription, line: &RecurringLine) -> Option<usize> {
    let code = line.item.product_code.as_ref()?;
    subscription.items.iter().position(|item| {
        item.item.product_code.as_ref() == Some(code)
            && item.interval == line.interval
            && subscription
                .item_end(item)
                .is_none_or(|end| end >= line.start)
    })
}

/// Amends a running item from `line`. The change takes effect on the line's
/// start date if that is still ahead, else today: a CRM line usually still
/// carries the item's original start, and a deal closed today changes the
/// contract from today on (billed pro rata for the rest of the period), not
/// back-dated into billed days nor pushed to the next period.
fn amend_item(
    subscription: &mut Subscription,
    index: usize,
    line: &RecurringLine,
    today: NaiveDate,
) -> Result<(), WebhookError> {
    let at = |field: &str| format!("/items/{}/{field}", line.index);
    let Some(current) = subscription.items.get(index) else {
        return Ok(());
    };
    let unchangeable = [
        (
            "description",
            current.item.description != line.item.description,
        ),
        ("unit", current.item.unit != line.item.unit),
        (
            "tax_category",
            current.item.tax_category != line.item.tax_category,
        ),
        ("recurring/timing", current.timing != line.timing),
    ];
    if let Some((field, _)) = unchangeable.iter().find(|(_, differs)| *differs) {
        return Err(WebhookError::unprocessable(
            at(field),
            format!(
                "the running contract item {} has another {field}; end it (end_date) and add a new item with another product code",
                current.id
            ),
        ));
    }
    let item_id = current.id.clone();
    let billed_through = current.billed_through;
    let start_pointer = at("recurring/start_date");
    let effective_from = line.start.max(today);
    let new_quantity = current.quantity_on(effective_from) != line.item.quantity;
    let new_price = current.unit_price_on(effective_from) != line.item.unit_price;
    if new_quantity {
        subscription
            .change_quantity(&item_id, effective_from, line.item.quantity)
            .map_err(|e| WebhookError::unprocessable(&start_pointer, e.to_string()))?;
    }
    if new_price {
        subscription
            .change_price(&item_id, effective_from, line.item.unit_price)
            .map_err(|e| WebhookError::unprocessable(&start_pointer, e.to_string()))?;
    }
    if let Some(end) = line.end {
        if billed_through.is_some_and(|billed| billed > end) {
            return Err(WebhookError::unprocessable(
                at("recurring/end_date"),
                format!(
                    "already billed through {}; ending earlier needs a credit note",
                    billed_through.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
        }
        if let Some(item) = subscription.items.get_mut(index) {
            item.end = Some(end);
        }
    }
    Ok(())
}

/// Point a draft error at the request: the draft's `lines[i]` are the
/// one-off items in order, its references are the request's top level.
fn draft_error(error: DomainError, one_off: &[OneOffLine]) -> WebhookError {
    let DomainError::Invalid { field, message } = error;
    let pointer = if let Some(rest) = field.strip_prefix("lines[") {
        let (position, tail) = rest.split_once(']').unwrap_or((rest, ""));
        let tail = tail.trim_start_matches('.');
        let tail = tail.strip_prefix("item.").unwrap_or(tail);
        match position.parse::<usize>().ok().and_then(|i| one_off.get(i)) {
            Some(line) => domain_field_pointer(&format!("/items/{}", line.index), tail),
            None => "/items".to_owned(),
        }
    } else if let Some(reference) = field.strip_prefix("references.") {
        domain_field_pointer("", reference)
    } else if field == "lines" {
        "/items".to_owned()
    } else {
        domain_field_pointer("", &field)
    };
    WebhookError::unprocessable(pointer, message)
}

fn replay(
    opportunity: &ClosedOpportunity,
    fingerprint: &str,
    record: OpportunityRecord,
) -> Result<Closed, WebhookError> {
    if record.fingerprint == fingerprint {
        Ok(Closed::Replayed(record))
    } else {
        Err(WebhookError::Conflict {
            opportunity_id: opportunity.key.opportunity_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_domain::subscription::BillingTiming;

    fn line(index: usize) -> OneOffLine {
        let period = billing_domain::period::ServicePeriod::new(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        )
        .unwrap();
        OneOffLine {
            index,
            item: billing_domain::item::Item::new(
                "x",
                rust_decimal::Decimal::ONE,
                billing_domain::money::Money::new(
                    rust_decimal::Decimal::ONE,
                    billing_domain::money::Currency::EUR,
                ),
            ),
            period,
        }
    }

    fn pointer(error: WebhookError) -> String {
        match error {
            WebhookError::Unprocessable(fields) => fields[0].pointer.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn draft_lines_point_at_the_request_items_they_came_from() {
        // The second one-off item was the request's fourth item.
        let one_off = [line(0), line(3)];
        let error = DomainError::invalid("lines[1].item.quantity", "overflow");
        assert_eq!(pointer(draft_error(error, &one_off)), "/items/3/quantity");
    }

    /// 10 seats at 10.00 per month in advance from 1 Jan 2026, January
    /// billed; and the CRM line that raises them to 20 (still carrying the
    /// item's original start date, 1 Jan).
    fn seats_contract_and_raise() -> (Subscription, RecurringLine) {
        let date = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let eur = |amount| {
            billing_domain::money::Money::new(
                rust_decimal::Decimal::from(amount),
                billing_domain::money::Currency::EUR,
            )
        };
        let mut item =
            billing_domain::item::Item::new("Seats", rust_decimal::Decimal::from(10), eur(10));
        item.product_code = Some(billing_domain::ids::ProductCode::new("SEATS"));
        let subscription = Subscription {
            id: SubscriptionId::new("s"),
            account_id: AccountId::new("a"),
            currency: billing_domain::money::Currency::EUR,
            start: date(1, 1),
            end: None,
            anchor_day: None,
            proration: ProrationPolicy::ActualDays,
            mid_period_changes: None,
            payment_method: Default::default(),
            items: vec![SubscriptionItem {
                id: SubscriptionItemId::new("seats"),
                item: item.clone(),
                interval: billing_domain::period::BillingInterval::monthly(),
                timing: BillingTiming::InAdvance,
                anchor_month: None,
                start: None,
                end: None,
                price_changes: Vec::new(),
                quantity_changes: Vec::new(),
                billed_through: Some(date(1, 31)),
                changes_settled: None,
            }],
        };
        let mut raised = item;
        raised.quantity = rust_decimal::Decimal::from(20);
        let line = RecurringLine {
            index: 0,
            item: raised,
            interval: billing_domain::period::BillingInterval::monthly(),
            timing: BillingTiming::InAdvance,
            start: date(1, 1),
            end: None,
        };
        (subscription, line)
    }

    #[test]
    fn an_amendment_takes_effect_today_not_at_the_next_period() {
        // A deal closed on 15 Jan raises the seats 10 → 20. The old webhook
        // used the line's start date (1 Jan, inside the billed January, so
        // refused) and integrators sent the next period's first day; now the
        // change counts from today, and the 1 Feb run bills the 10 extra
        // seats for 15–31 Jan: 10 × 10.00 × 17/31 = 54.838… → 54.84, plus
        // February at 20 × 10.00 = 200.00.
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let (mut subscription, line) = seats_contract_and_raise();
        amend_item(&mut subscription, 0, &line, today).unwrap();
        let item = &subscription.items[0];
        assert_eq!(
            item.quantity_on(today.pred_opt().unwrap()),
            rust_decimal::Decimal::from(10)
        );
        assert_eq!(item.quantity_on(today), rust_decimal::Decimal::from(20));
        assert!(item.price_changes.is_empty(), "the price did not change");
        let run_date = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        let due = billing_domain::schedule::due_for_run(&subscription, run_date).unwrap();
        let nets: Vec<String> = due
            .periods
            .iter()
            .map(|p| p.net.amount().to_string())
            .collect();
        assert_eq!(nets, ["54.84", "200.00"]);
    }

    #[test]
    fn an_amendment_with_a_later_start_date_keeps_it() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let march = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let (mut subscription, mut line) = seats_contract_and_raise();
        line.start = march;
        amend_item(&mut subscription, 0, &line, today).unwrap();
        let item = &subscription.items[0];
        assert_eq!(
            item.quantity_on(march.pred_opt().unwrap()),
            rust_decimal::Decimal::from(10)
        );
        assert_eq!(item.quantity_on(march), rust_decimal::Decimal::from(20));
    }

    #[test]
    fn draft_references_point_at_the_top_level() {
        let error = DomainError::invalid("references.purchase_order", "blank");
        assert_eq!(pointer(draft_error(error, &[])), "/purchase_order");
        let error = DomainError::invalid("lines", "empty invoice");
        assert_eq!(pointer(draft_error(error, &[])), "/items");
    }
}
