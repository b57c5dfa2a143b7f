//! Closing an opportunity: the one use case behind the webhook.
//!
//! Everything is planned from what is stored, then committed in one
//! transaction (see `billing_store::OpportunityCommit`); when a concurrent
//! request changed the account or contract in between, the plan is rebuilt.

use billing_domain::ids::{
    AccountId, InvoiceId, PendingChargeId, SubscriptionId, SubscriptionItemId,
};
use billing_domain::invoice::{BillableLine, InvoiceDraft, InvoiceRequest, LineSource};
use billing_domain::item::PendingCharge;
use billing_domain::party::{BillingEntity, CustomerAccount};
use billing_domain::subscription::{ProrationPolicy, Subscription, SubscriptionItem};
use billing_store::keys::derived_id;
use billing_store::{
    AccountChange, BillingStore, CommitOutcome, OpportunityCommit, OpportunityRecord, StoreError,
    SubscriptionChange,
};
use chrono::{DateTime, Utc};

use crate::contract::{BillingOption, ClosedOpportunity, RecurringLine};
use crate::error::WebhookError;

/// How often a plan is rebuilt after losing a race on the account or contract.
const MAX_REPLANS: u32 = 5;

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

    /// The seller's line limit per invoice.
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
        for _ in 0..MAX_REPLANS {
            if let Some(record) = self.store.opportunity(&opportunity.key).await? {
                return replay(opportunity, record);
            }
            let commit = self.plan(opportunity, now).await?;
            match self.store.commit_opportunity(&commit).await? {
                CommitOutcome::Committed(record) => return Ok(Closed::Recorded(record)),
                CommitOutcome::AlreadyRecorded(record) => return replay(opportunity, record),
                CommitOutcome::Stale => continue,
            }
        }
        Err(StoreError::Contended {
            what: "account or contract".to_owned(),
            attempts: MAX_REPLANS,
        }
        .into())
    }

    async fn plan(
        &self,
        opportunity: &ClosedOpportunity,
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
        let account = CustomerAccount {
            id: account_id.clone(),
            crm_id: data.crm_id.clone(),
            billing_entity_id: self.entity.id.clone(),
            name: data.name.clone(),
            address: data.address.clone(),
            vat_id: data.vat_id.clone(),
            invoice_emails: data.invoice_emails.clone(),
            language: data.language,
            currency: data.currency,
            payment_terms_days: data.payment_terms_days,
            kind: data.kind,
            leitweg_id: data.leitweg_id.clone(),
        };
        account
            .validate()
            .map_err(|e| WebhookError::from_domain(e, ""))?;

        let issue_date = now.with_timezone(&self.entity.time_zone).date_naive();
        let opportunity_id = &opportunity.opportunity_id;
        let has_one_off = !opportunity.one_off.is_empty();
        let invoice = if has_one_off && opportunity.billing_option == BillingOption::InvoiceNow {
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
            let mut request = InvoiceRequest::new(invoice_id, issue_date, lines);
            request.references.purchase_order = opportunity.purchase_order.clone();
            let draft = InvoiceDraft::build(&self.entity, &account, request)
                .map_err(|e| WebhookError::from_domain(e, ""))?;
            let series = self
                .entity
                .series_for(draft.document_type)
                .map_err(|e| StoreError::Corrupt {
                    what: format!("billing entity {}", self.entity.id),
                    reason: e.to_string(),
                })?
                .clone();
            Some((draft, series))
        } else {
            None
        };
        let parked = (has_one_off && opportunity.billing_option == BillingOption::WithNextRun)
            .then(|| {
                let batch_id = derived_id("pc", &[source, opportunity_id.as_str()]);
                let charges = opportunity
                    .one_off
                    .iter()
                    .map(|line| PendingCharge {
                        id: PendingChargeId::new(format!("{batch_id}-{}", line.index)),
                        account_id: account_id.clone(),
                        opportunity_id: Some(opportunity_id.clone()),
                        item: line.item.clone(),
                        service_period: Some(line.period),
                    })
                    .collect();
                (batch_id, charges)
            });
        let subscription = if opportunity.recurring.is_empty() {
            None
        } else {
            Some(self.contract(opportunity, &account_id, source).await?)
        };
        let account = match existing {
            Some(existing) => AccountChange::Update {
                account,
                expected_version: existing.version,
            },
            None => AccountChange::Create {
                account,
                source: source.to_owned(),
                crm_id: data.crm_id.as_str().to_owned(),
            },
        };
        Ok(OpportunityCommit {
            key: opportunity.key.clone(),
            fingerprint: opportunity.fingerprint.clone(),
            account,
            invoice,
            parked,
            subscription,
            recorded_at: now,
        })
    }

    /// Create the deal's contract, or amend the one it names: items with a
    /// known product code change quantity or price from their start date;
    /// others are added.
    async fn contract(
        &self,
        opportunity: &ClosedOpportunity,
        account_id: &AccountId,
        source: &str,
    ) -> Result<SubscriptionChange, WebhookError> {
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
            start: Some(line.start),
            end: line.end,
            price_changes: Vec::new(),
            quantity_changes: Vec::new(),
            billed_through: None,
        };
        let existing = self
            .store
            .subscription(account_id, &subscription_id)
            .await?;
        let change = match existing {
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
                    items: opportunity.recurring.iter().map(new_item).collect(),
                })
            }
            Some(stored) => {
                let mut subscription = stored.subscription;
                for line in &opportunity.recurring {
                    let at = format!("/items/{}/recurring/start_date", line.index);
                    let known = line.item.product_code.as_ref().and_then(|code| {
                        subscription
                            .items
                            .iter()
                            .find(|i| {
                                i.item.product_code.as_ref() == Some(code)
                                    && i.interval == line.interval
                            })
                            .map(|i| i.id.clone())
                    });
                    match known {
                        Some(item_id) => {
                            subscription
                                .change_quantity(&item_id, line.start, line.item.quantity)
                                .map_err(|e| WebhookError::unprocessable(&at, e.to_string()))?;
                            subscription
                                .change_price(&item_id, line.start, line.item.unit_price)
                                .map_err(|e| WebhookError::unprocessable(&at, e.to_string()))?;
                        }
                        None => subscription.items.push(new_item(line)),
                    }
                }
                SubscriptionChange::Update {
                    subscription,
                    expected_version: stored.version,
                }
            }
        };
        let subscription = match &change {
            SubscriptionChange::Create(s)
            | SubscriptionChange::Update {
                subscription: s, ..
            } => s,
        };
        // The contract's item positions are not the request's: point at the
        // items and keep the domain's own field path in the message.
        subscription
            .validate()
            .map_err(|e| WebhookError::unprocessable("/items", e.to_string()))?;
        Ok(change)
    }
}

fn replay(
    opportunity: &ClosedOpportunity,
    record: OpportunityRecord,
) -> Result<Closed, WebhookError> {
    if record.fingerprint == opportunity.fingerprint {
        Ok(Closed::Replayed(record))
    } else {
        Err(WebhookError::Conflict {
            opportunity_id: opportunity.key.opportunity_id.clone(),
        })
    }
}
