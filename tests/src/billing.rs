//! Finalized invoices for payment and dunning tests, committed through the
//! same store transaction the webhook (and the invoice run) uses, so they
//! carry real numbers, RF payment references and dunning index keys.

use billing_domain::direct_debit::Mandate;
use billing_domain::ids::{AccountId, BillingEntityId, CrmAccountId, InvoiceId};
use billing_domain::invoice::{Invoice, InvoiceDraft, InvoiceRequest};
use billing_domain::item::BillableLine;
use billing_domain::item::Item;
use billing_domain::money::{Currency, Money};
use billing_domain::numbering::DocumentType;
use billing_domain::party::{
    CountryCode, CustomerAccount, CustomerKind, EmailAddress, Language, PostalAddress,
};
use billing_domain::seller::BillingEntity;
use billing_store::{
    AccountChange, BillingStore, CommitOutcome, OpportunityCommit, OpportunityKey,
};
use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::unique_id;
use crate::webhook::example_entity;

/// The documented example seller under a fresh id, stored.
///
/// # Panics
/// When the local table refuses it.
pub async fn stored_seller(store: &BillingStore) -> BillingEntity {
    let entity = example_entity(&unique_id("ent"));
    store
        .put_billing_entity(&entity)
        .await
        .expect("the seller is stored");
    entity
}

/// A customer of `entity` (German, EUR, 14 days to pay).
///
/// # Panics
/// Never: the literal addresses are valid.
pub fn customer(entity: &BillingEntityId, kind: CustomerKind) -> CustomerAccount {
    let id = unique_id("acc");
    CustomerAccount {
        id: AccountId::new(&id),
        crm_id: CrmAccountId::new(format!("crm-{id}")),
        billing_entity_id: entity.clone(),
        name: "Muster Handel GmbH".to_owned(),
        address: PostalAddress {
            street: "Hauptstraße 5".to_owned(),
            additional_line: None,
            postal_code: Some("50667".to_owned()),
            city: "Köln".to_owned(),
            country: CountryCode::DE,
        },
        vat_id: None,
        invoice_emails: vec![EmailAddress::parse("buchhaltung@example.org").expect("an address")],
        language: Language::De,
        currency: Currency::EUR,
        payment_terms_days: 14,
        payment_date_agreed: false,
        kind,
        leitweg_id: None,
        electronic_address: None,
    }
}

/// Finalizes an invoice of one line of `net` EUR (19 % VAT) for `account`,
/// issued on `issue_date`, through `BillingStore::commit_opportunity`.
///
/// # Panics
/// When the domain or the local table refuses it.
pub async fn invoice(
    store: &BillingStore,
    entity: &BillingEntity,
    account: &CustomerAccount,
    issue_date: NaiveDate,
    net: Decimal,
) -> Invoice {
    let request = one_line("Beratung", issue_date, net);
    let draft = InvoiceDraft::build(entity, account, request).expect("a valid invoice");
    commit(store, entity, account, draft).await
}

/// Like [`invoice`], but collected by SEPA direct debit under `mandate`
/// (due on its collection date, with the pre-notification). The mandate
/// is not stored: tests record it (or a changed one) themselves.
///
/// # Panics
/// When the domain or the local table refuses it.
pub async fn direct_debit_invoice(
    store: &BillingStore,
    entity: &BillingEntity,
    account: &CustomerAccount,
    mandate: &Mandate,
    issue_date: NaiveDate,
    net: Decimal,
) -> Invoice {
    let request = one_line("Abonnement", issue_date, net);
    let mut draft = InvoiceDraft::build(entity, account, request).expect("a valid invoice");
    draft
        .collect_by_direct_debit(mandate)
        .expect("the mandate is usable");
    commit(store, entity, account, draft).await
}

/// A request for one line of `net` EUR under a fresh invoice id.
fn one_line(description: &str, issue_date: NaiveDate, net: Decimal) -> InvoiceRequest {
    InvoiceRequest::new(
        InvoiceId::new(unique_id("inv")),
        issue_date,
        vec![BillableLine::new(Item::new(
            description,
            Decimal::ONE,
            Money::new(net, Currency::EUR),
        ))],
    )
}

/// Finalizes `draft` for `account` through `commit_opportunity`.
async fn commit(
    store: &BillingStore,
    entity: &BillingEntity,
    account: &CustomerAccount,
    draft: InvoiceDraft,
) -> Invoice {
    let opportunity_id = unique_id("opp");
    let series = entity
        .series_for(DocumentType::Invoice)
        .expect("an invoice series")
        .clone();
    let account_change = match store.account(&account.id).await.expect("account read") {
        Some(stored) => AccountChange::Unchanged {
            account: account.clone(),
            expected_version: stored.version,
        },
        None => AccountChange::Create {
            account: account.clone(),
            source: "test/org".to_owned(),
            crm_id: account.crm_id.to_string(),
            crm_last_modified: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("a time")
                .fixed_offset(),
        },
    };
    let commit = OpportunityCommit {
        key: OpportunityKey {
            source: "test/org".to_owned(),
            opportunity_id,
        },
        fingerprint: "test".to_owned(),
        account: account_change,
        invoice: Some((draft, series)),
        parked: None,
        subscription: None,
        recorded_at: Utc::now(),
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let outcome = store
        .commit_opportunity(&commit, deadline)
        .await
        .expect("the invoice is committed");
    let CommitOutcome::Committed(record) = outcome else {
        panic!("a fresh opportunity commits: {outcome:?}");
    };
    let id = record.outcome.invoice.expect("an invoice").invoice_id;
    store
        .invoice(&id)
        .await
        .expect("invoice read")
        .expect("invoice stored")
        .invoice
}
