//! Booking periods through the staff API against the local AWS (issue 24):
//! an exported month is locked and fetched again byte for byte, a payment
//! recorded after the export books into the next period, two concurrent
//! exports yield one, the journal's receivables balance equals the aging's
//! total at each month end; the refusals (bad month, unknown seller, a
//! month that has not ended, `sales`) change nothing; the write-off of an
//! uncollectible invoice and its refusals; debtor numbers assigned once.

mod common;

use billing_api::handler::{ApiState, handle};
use billing_domain::correction::CreditSelection;
use billing_domain::ids::{AccountId, InvoiceId};
use billing_domain::money::Money;
use billing_domain::party::{CustomerAccount, CustomerKind};
use billing_domain::seller::BillingEntity;
use billing_domain::staff::StaffRole;
use billing_domain::tax::VatCategoryCode;
use billing_store::{Actor, BillingStore, CreditNoteRequest, StoreError};
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::{local_clients, resource, unique_id};
use chrono::Utc;
use common::{Who, day, etag, eur, json, pay, request};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The documented example seller (with its DATEV numbers) under a fresh
/// id, stored, with the API on it and a customer.
async fn seller() -> (ApiState, BillingEntity, CustomerAccount) {
    let aws = local_clients().await;
    let store = BillingStore::new(aws.dynamodb, resource("BILLING_TABLE"));
    let entity = stored_seller(&store).await;
    let state = common::state(&entity, None).await;
    let account = customer(&entity.id, CustomerKind::Business);
    (state, entity, account)
}

async fn issue(
    state: &ApiState,
    entity: &BillingEntity,
    account: &CustomerAccount,
    date: &str,
    net: i64,
) -> InvoiceId {
    invoice(&state.store, entity, account, day(date), Decimal::from(net))
        .await
        .content()
        .id
        .clone()
}

async fn call(
    state: &ApiState,
    who: Who,
    method: &str,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Value, Vec<u8>) {
    let response = handle(state, request(who, method, path, body, if_match)).await;
    let status = response.status().as_u16();
    let bytes = response.body().as_ref().to_vec();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value, bytes)
}

async fn export(state: &ApiState, month: &str) -> Value {
    let (status, body, _) = call(
        state,
        Who::Billing,
        "POST",
        &format!("/v1/periods/{month}/export"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "export {month}: {body}");
    assert_eq!(body["status"], "exported", "{body}");
    body
}

async fn file(state: &ApiState, month: &str, kind: &str) -> Vec<u8> {
    let (status, _, bytes) = call(
        state,
        Who::Billing,
        "GET",
        &format!("/v1/periods/{month}/export/{kind}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        status,
        200,
        "{month} {kind}: {}",
        String::from_utf8_lossy(&bytes)
    );
    bytes
}

/// The rows of a CSV journal on debtor accounts: `(invoice number, debit
/// minus credit)`; the columns before the text hold no commas.
fn debtor_rows(journal: &[u8]) -> Vec<(String, Decimal)> {
    let text = String::from_utf8(journal.to_vec()).expect("UTF-8");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.splitn(12, ',').collect();
            let (invoice, debtor, account, debit, credit) =
                (cells[4], cells[5], cells[6], cells[7], cells[8]);
            (debtor == account).then(|| {
                let amount = |s: &str| s.parse::<Decimal>().unwrap_or_default();
                (invoice.to_owned(), amount(debit) - amount(credit))
            })
        })
        .collect()
}

#[tokio::test]
async fn an_exported_month_is_locked_and_fetched_again_byte_for_byte() {
    let (state, entity, account) = seller().await;
    issue(&state, &entity, &account, "2026-04-20", 100).await;
    issue(&state, &entity, &account, "2026-05-04", 50).await;
    // WHEN May is exported
    let first = export(&state, "2026-05").await;
    // THEN it holds the three files, each fetched twice with the same bytes
    let files = first["export"]["files"].as_array().expect("files");
    let kinds: Vec<&str> = files.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(kinds, ["buchungsstapel", "debitoren", "journal"]);
    for kind in kinds {
        let once = file(&state, "2026-05", kind).await;
        let twice = file(&state, "2026-05", kind).await;
        assert_eq!(once, twice, "{kind}");
        assert!(!once.is_empty());
    }
    let stapel = file(&state, "2026-05", "buchungsstapel").await;
    assert!(stapel.starts_with(b"\"EXTF\";700;21;\"Buchungsstapel\";13;"));
    let debtors = file(&state, "2026-05", "debitoren").await;
    assert!(debtors.starts_with(b"\"EXTF\";700;16;\"Debitoren/Kreditoren\";5;"));
    // Only May's invoice is in May's journal, on the customer's debtor account.
    let rows = debtor_rows(&file(&state, "2026-05", "journal").await);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, Decimal::new(5_950, 2));
    // AND each file is locked as the books are: until 1 January 2037, ten
    // years after the end of 2026 (§147(1) Nr. 1, (3), (4) AO), in the
    // bucket's lock mode, not the bucket's 8 years from the upload
    let s3 = local_clients().await.s3;
    for file in files {
        let key = file["key"].as_str().expect("a key");
        let head = s3
            .head_object()
            .bucket(resource("DOCUMENTS_BUCKET"))
            .key(key)
            .send()
            .await
            .expect("the file is archived");
        assert_eq!(
            head.object_lock_mode(),
            Some(&aws_sdk_s3::types::ObjectLockMode::Governance),
            "{key}"
        );
        assert_eq!(
            head.object_lock_retain_until_date().map(|d| d.secs()),
            Some(
                day("2037-01-01")
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp()
            ),
            "{key}"
        );
    }
    // AND exporting again answers the stored export unchanged
    assert_eq!(export(&state, "2026-05").await, first);
    // AND the customer now shows its debtor number, kept from then on
    let (_, shown, _) = call(
        &state,
        Who::Billing,
        "GET",
        &format!("/v1/accounts/{}", account.id),
        None,
        None,
    )
    .await;
    assert_eq!(shown["debtor_number"], json!(10000), "{shown}");
}

#[tokio::test]
async fn a_payment_recorded_after_the_export_books_into_the_next_period() {
    let (state, entity, account) = seller().await;
    let may = issue(&state, &entity, &account, "2026-05-04", 50).await;
    export(&state, "2026-05").await;
    let may_journal = file(&state, "2026-05", "journal").await;
    // WHEN a payment dated in May is recorded after May was exported
    pay(&state.store, &may, "2026-05-20", "59.50").await;
    // THEN May's files are unchanged, and June books the payment
    assert_eq!(file(&state, "2026-05", "journal").await, may_journal);
    export(&state, "2026-06").await;
    let june = debtor_rows(&file(&state, "2026-06", "journal").await);
    assert_eq!(june.len(), 1, "{june:?}");
    assert_eq!(june[0].1, Decimal::new(-5_950, 2));
    assert!(
        debtor_rows(&may_journal)
            .iter()
            .all(|(_, amount)| amount.is_sign_positive())
    );
}

#[tokio::test]
async fn two_concurrent_exports_yield_one() {
    let (state, entity, account) = seller().await;
    issue(&state, &entity, &account, "2026-03-02", 80).await;
    let (a, b) = tokio::join!(export(&state, "2026-03"), export(&state, "2026-03"));
    assert_eq!(a, b);
    let again = state
        .store
        .booking_period(&entity.id, "2026-03")
        .await
        .expect("read");
    assert_eq!(
        serde_json::to_value(&again).expect("json")["export"],
        a["export"]
    );
}

#[tokio::test]
async fn the_journals_receivables_equal_the_aging_at_each_month_end() {
    let (state, entity, account) = seller().await;
    // 119.00 issued in March, paid in April; 59.50 in April, 20.00 paid in
    // May; 238.00 in May, credited 11.90 in May; 357.00 issued in June.
    let march = issue(&state, &entity, &account, "2026-03-10", 100).await;
    let april = issue(&state, &entity, &account, "2026-04-12", 50).await;
    let may = issue(&state, &entity, &account, "2026-05-02", 200).await;
    pay(&state.store, &march, "2026-04-05", "119.00").await;
    pay(&state.store, &april, "2026-05-03", "20.00").await;
    let revision = state
        .store
        .invoice_overview(&may)
        .await
        .expect("read")
        .expect("stored")
        .revision;
    state
        .store
        .credit_note(&CreditNoteRequest {
            invoice_id: may.clone(),
            expected_revision: revision,
            actor: Actor {
                user: unique_id("clerk"),
                role: StaffRole::Billing,
            },
            reason: "one hour billed twice".into(),
            selection: CreditSelection::Amount {
                net: eur("10.00"),
                category: VatCategoryCode::S,
                rate: Decimal::from(19),
                description: None,
            },
            at: "2026-05-15T10:00:00Z".parse().expect("a time"),
        })
        .await
        .expect("credited");
    issue(&state, &entity, &account, "2026-06-08", 300).await;
    let mut balance = Decimal::ZERO;
    for (month, end, expected) in [
        ("2026-03", "2026-03-31", "119.00"),
        ("2026-04", "2026-04-30", "59.50"),
        ("2026-05", "2026-05-31", "265.60"),
        ("2026-06", "2026-06-30", "622.60"),
    ] {
        export(&state, month).await;
        balance += debtor_rows(&file(&state, month, "journal").await)
            .iter()
            .map(|(_, amount)| *amount)
            .sum::<Decimal>();
        let (status, aging, _) = call(
            &state,
            Who::Billing,
            "GET",
            &format!("/v1/receivables/aging?currency=EUR&as_of={end}"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{aging}");
        let total: Money = serde_json::from_value(aging["total"].clone()).expect("money");
        assert_eq!(total, eur(expected), "aging {end}");
        assert_eq!(balance, total.amount(), "journal {end}");
    }
}

#[tokio::test]
async fn refusals_name_the_field_and_change_nothing() {
    let (state, entity, account) = seller().await;
    issue(&state, &entity, &account, "2026-05-04", 50).await;
    let open = || async {
        let (status, body, _) =
            call(&state, Who::Sales, "GET", "/v1/periods/2026-05", None, None).await;
        assert_eq!(status, 200, "{body}");
        body
    };
    // A month that is no month.
    let (status, body, _) = call(
        &state,
        Who::Billing,
        "POST",
        "/v1/periods/2026-13/export",
        None,
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/path/month");
    // Sales may read a period, but neither close, export nor fetch files.
    for (method, path) in [
        ("POST", "/v1/periods/2026-05/close"),
        ("POST", "/v1/periods/2026-05/export"),
        ("GET", "/v1/periods/2026-05/export/journal"),
    ] {
        let (status, body, _) = call(&state, Who::Sales, method, path, None, None).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    assert_eq!(open().await["status"], "open");
    // A month that has not ended (this one) or lies ahead is not closed.
    let this_month = Utc::now().format("%Y-%m").to_string();
    for month in [this_month.as_str(), "2099-01"] {
        for action in ["close", "export"] {
            let path = format!("/v1/periods/{month}/{action}");
            let (status, body, _) = call(&state, Who::Billing, "POST", &path, None, None).await;
            assert_eq!(status, 409, "{path}: {body}");
        }
        let (_, body, _) = call(
            &state,
            Who::Billing,
            "GET",
            &format!("/v1/periods/{month}"),
            None,
            None,
        )
        .await;
        assert_eq!(body["status"], "open", "{month}");
    }
    // No files before the export; an unknown file is named.
    let (status, _, _) = call(
        &state,
        Who::Billing,
        "GET",
        "/v1/periods/2026-05/export/journal",
        None,
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, body, _) = call(
        &state,
        Who::Billing,
        "GET",
        "/v1/periods/2026-05/export/ledger",
        None,
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/path/file");
    assert_eq!(open().await["status"], "open");
    // Closing twice: the second is refused, the lock kept.
    let close = json!({"reason": "May complete"});
    let (status, first, _) = call(
        &state,
        Who::Billing,
        "POST",
        "/v1/periods/2026-05/close",
        Some(&close),
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "closed");
    let (status, _, _) = call(
        &state,
        Who::Billing,
        "POST",
        "/v1/periods/2026-05/close",
        Some(&close),
        None,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(open().await["locked_at"], first["locked_at"]);
    // A seller that is not stored.
    let mut stranger = entity.clone();
    stranger.id = billing_domain::ids::BillingEntityId::new(unique_id("ent"));
    let elsewhere = common::state(&stranger, None).await;
    let (status, _, _) = call(
        &elsewhere,
        Who::Billing,
        "GET",
        "/v1/periods/2026-05",
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_uncollectible_invoice_is_written_off_once_and_a_paid_one_never() {
    let (state, entity, account) = seller().await;
    let open = issue(&state, &entity, &account, "2026-05-04", 50).await;
    let paid = issue(&state, &entity, &account, "2026-05-05", 60).await;
    pay(&state.store, &paid, "2026-05-10", "71.40").await;
    let path = |id: &InvoiceId| format!("/v1/invoices/{id}/write-off");
    let current = |id: InvoiceId| {
        let state = &state;
        async move {
            let response = handle(
                state,
                request(
                    Who::Billing,
                    "GET",
                    &format!("/v1/invoices/{id}"),
                    None,
                    None,
                ),
            )
            .await;
            (etag(&response), json(&response))
        }
    };
    let why = json!({"reason": "insolvency proceedings closed without assets"});
    // Sales may not; without If-Match, 428; without a reason, 400.
    let (tag, before) = current(open.clone()).await;
    let (status, _, _) = call(
        &state,
        Who::Sales,
        "POST",
        &path(&open),
        Some(&why),
        Some(&tag),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = call(&state, Who::Billing, "POST", &path(&open), Some(&why), None).await;
    assert_eq!(status, 428);
    let (status, body, _) = call(
        &state,
        Who::Billing,
        "POST",
        &path(&open),
        Some(&json!({})),
        Some(&tag),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/reason");
    assert_eq!(current(open.clone()).await.1, before);
    // WHEN the clerk writes it off
    let (status, body, _) = call(
        &state,
        Who::Billing,
        "POST",
        &path(&open),
        Some(&why),
        Some(&tag),
    )
    .await;
    // THEN nothing is open, it is out of dunning and the aging, and audited
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "written_off");
    let open_now: Money = serde_json::from_value(body["open_amount"].clone()).expect("money");
    assert!(open_now.is_zero(), "{body}");
    let (status, aging, _) = call(
        &state,
        Who::Billing,
        "GET",
        "/v1/receivables/aging?currency=EUR",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let total: Money = serde_json::from_value(aging["total"].clone()).expect("money");
    assert!(total.is_zero(), "{aging}");
    let (_, audit, _) = call(
        &state,
        Who::Billing,
        "GET",
        &format!("/v1/invoices/{open}/audit"),
        None,
        None,
    )
    .await;
    assert_eq!(audit["items"][0]["action"], "invoice.write_off", "{audit}");
    assert_eq!(audit["items"][0]["reason"], why["reason"]);
    // AND a second write-off, or one of a paid invoice, is refused
    for id in [&open, &paid] {
        let (tag, before) = current(id.clone()).await;
        let (status, body, _) = call(
            &state,
            Who::Billing,
            "POST",
            &path(id),
            Some(&why),
            Some(&tag),
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(current(id.clone()).await.1, before);
    }
}

#[tokio::test]
async fn debtor_numbers_are_assigned_once_and_never_twice() {
    let (state, entity, _) = seller().await;
    let store = &state.store;
    let (a, b) = (
        AccountId::new(unique_id("acc")),
        AccountId::new(unique_id("acc")),
    );
    // Two requests for one customer: one number; two customers: two.
    let (first, second, other) = tokio::join!(
        store.assign_debtor_account(&entity.id, &a, 10000..=10002),
        store.assign_debtor_account(&entity.id, &a, 10000..=10002),
        store.assign_debtor_account(&entity.id, &b, 10000..=10002),
    );
    let (first, second, other) = (
        first.expect("assigned"),
        second.expect("assigned"),
        other.expect("assigned"),
    );
    assert_eq!(first, second);
    assert_ne!(first, other);
    // A number given by an import is kept; another one is refused.
    let c = AccountId::new(unique_id("acc"));
    assert_eq!(
        store
            .set_debtor_account(&entity.id, &c, 10002)
            .await
            .expect("set"),
        10002
    );
    assert!(matches!(
        store.set_debtor_account(&entity.id, &c, 10001).await,
        Err(StoreError::Refused { .. })
    ));
    // The range is used up: a clear refusal.
    let d = AccountId::new(unique_id("acc"));
    match store
        .assign_debtor_account(&entity.id, &d, 10000..=10002)
        .await
    {
        Err(StoreError::Refused { reason, .. }) => {
            assert!(reason.contains("10000..=10002"), "{reason}");
        }
        other => panic!("an exhausted range is refused: {other:?}"),
    }
    assert_eq!(store.debtor_account(&d).await.expect("read"), None);
}
