//! The webhook's in-process time for a 10-line opportunity (issue 4; budget:
//! under 2 ms, excluding AWS calls).
//!
//! Measured: what `handler::handle_at` does before and between its AWS calls
//! (signature verification, `contract::parse`) plus the domain work of
//! `OpportunityService`'s planning: the `CustomerAccount` built from the
//! request and validated, the lines, and `InvoiceDraft::build` with the German
//! seller, and the number series looked up. The planning itself is private
//! and reads the account from the table first, so it cannot run without a
//! store; its domain steps are repeated here exactly as `service.rs` does
//! them (keep them in step). Not measured: DynamoDB (account lookup, the
//! finalizing transaction) and answer serialisation.
//!
//! `CARGO_TARGET_DIR=/tmp/target-d cargo bench -p opportunity-webhook --bench handler`

mod common;

use std::hint::black_box;

use billing_domain::ids::AccountId;
use billing_domain::invoice::InvoiceDraft;
use billing_domain::numbering::NumberSeries;
use billing_domain::party::CustomerAccount;
use billing_domain::seller::BillingEntity;
use billing_store::keys::derived_id;
use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use opportunity_webhook::contract::{self, ClosedOpportunity};
use opportunity_webhook::service::draft_invoice;
use opportunity_webhook::signature::{WebhookSecrets, sign_with};

/// The domain part of `OpportunityService::plan` for a new account and
/// `invoice_now`: the account, then the service's own pure drafting step.
fn plan(
    entity: &BillingEntity,
    opportunity: &ClosedOpportunity,
    now: DateTime<Utc>,
) -> (CustomerAccount, InvoiceDraft, NumberSeries) {
    let source = opportunity.key.source.as_str();
    let data = &opportunity.account;
    let id = AccountId::new(derived_id("acc", &[source, data.crm_id.as_str()]));
    let account = data.to_account(id, entity.id.clone());
    account.validate().unwrap();
    let (draft, series) = draft_invoice(entity, opportunity, &account, now).unwrap();
    (account, draft, series)
}

fn webhook_10_lines(c: &mut Criterion) {
    let (entity, entity_source) = common::german_entity();
    eprintln!("billing entity: {entity_source}");
    // Cold-start work, done once per process in `main`: not part of a request.
    contract::check_schema().unwrap();
    let secrets = WebhookSecrets::from_list(common::SECRET).unwrap();
    let body = common::opportunity_body(10);
    let header = sign_with(common::SECRET.as_bytes(), &body, common::NOW_UNIX);
    let now = DateTime::from_timestamp(common::NOW_UNIX, 0).unwrap();
    let max_lines = entity.max_invoice_lines;

    // The measured path must be the successful one.
    assert!(secrets.verify(Some(&header), &body, now));
    let opportunity = contract::parse(&body, max_lines).unwrap();
    assert_eq!(opportunity.one_off.len(), 10);
    let (_, draft, _) = plan(&entity, &opportunity, now);
    assert_eq!(draft.lines.len(), 10);
    eprintln!(
        "body: {} bytes, 10 one-off lines, invoice total {}",
        body.len(),
        draft.totals.gross_total.amount()
    );

    let mut group = c.benchmark_group("webhook_10_lines");
    group.bench_function("signature", |b| {
        b.iter(|| black_box(secrets.verify(Some(black_box(&header)), black_box(&body), now)))
    });
    group.bench_function("parse", |b| {
        b.iter(|| black_box(contract::parse(black_box(&body), max_lines)))
    });
    group.bench_function("plan", |b| {
        b.iter(|| black_box(plan(&entity, black_box(&opportunity), now)))
    });
    group.bench_function("total", |b| {
        b.iter(|| {
            assert!(secrets.verify(Some(black_box(&header)), black_box(&body), now));
            let opportunity = contract::parse(black_box(&body), max_lines).unwrap();
            black_box(plan(&entity, &opportunity, now))
        })
    });
    group.finish();
}

criterion_group!(benches, webhook_10_lines);
criterion_main!(benches);
