//! Every route, every kind of caller (issue #13, "Done when"): no claims
//! 401, neither group 403, `sales` reads (never an IBAN) and gets 403 on
//! every write with nothing changed, `billing` succeeds; `If-Match` is
//! required on invoice writes and two concurrent writes cannot both win.

mod common;

use billing_api::handler::handle;
use billing_api::reply::mask_for_sales;
use billing_api::router::{Access, Op, ROUTES, Route};
use common::{PAYER_IBAN, SELLER_IBAN, Who, World, etag, json, request};
use serde_json::{Value, json};

/// A concrete path for a route in `world`, with the query a list needs.
fn path(world: &World, route: &Route) -> String {
    let invoice = match route.op {
        Op::ResendInvoice
        | Op::Invoice
        | Op::InvoiceDocuments
        | Op::ApplyCredit
        | Op::CancelInvoice => &world.bounced,
        Op::WriteOff => &world.uncollectible,
        _ => &world.open,
    };
    // April is closed by its route; May is exported, then its files read.
    let month = if route.op == Op::ClosePeriod {
        "2026-04"
    } else {
        "2026-05"
    };
    let crm = world.account.crm_id.to_string();
    let mut path = route
        .path
        .replace("{account_id}", world.account.id.as_str())
        .replace("{invoice_id}", invoice.content().id.as_str())
        .replace(
            "{run_id}",
            if matches!(route.op, Op::RunPreview | Op::FinalizeRunPreview) {
                &world.preview_id
            } else {
                &world.run_id
            },
        )
        .replace("{source}", "test")
        .replace("{org}", "org")
        .replace("{crm_id}", &crm)
        .replace("{kind}", "warning")
        .replace("{subject}", "base_rate_missing")
        .replace("{month}", month)
        .replace("{file}", "journal")
        .replace("{reference}", &world.mandate)
        .replace(
            "{batch_id}",
            world.collection_batch.as_deref().unwrap_or("no-file"),
        );
    if route.op == Op::SearchAccounts {
        path.push_str("?name_prefix=muster%20HANDEL");
    }
    if route.op == Op::Search {
        path.push_str("?q=muster");
    }
    path
}

fn body(op: Op) -> Option<Value> {
    match op {
        Op::SetDunningBlock => Some(json!({"reason": "promised to pay", "until": "2099-01-31"})),
        Op::LiftDunningBlock => Some(json!({"reason": "paid by phone"})),
        Op::FlagDispute => Some(json!({"reason": "customer disputes the hours billed"})),
        Op::ResolveDispute => None,
        Op::ResolveAttention => Some(json!({"reason": "base rate entered"})),
        Op::ResendInvoice => Some(json!({"reason": "address corrected in the CRM"})),
        // The open invoice asks for 59.50: 20.00 more becomes customer credit.
        Op::RecordPayment => Some(json!({
            "amount": {"amount": "79.50", "currency": "EUR"},
            "value_date": "2026-05-20",
            "reference": "cheque 0042",
        })),
        Op::CreditNote => Some(json!({
            "reason": "one hour billed twice",
            "selection": {"kind": "amount", "net": {"amount": "10.00", "currency": "EUR"},
                          "category": "S", "rate": "19"},
        })),
        Op::ApplyCredit => Some(json!({"amount": {"amount": "5.00", "currency": "EUR"}})),
        Op::RefundCredit => Some(json!({
            "amount": {"amount": "5.00", "currency": "EUR"},
            "reference": "transfer 2026-06-01",
        })),
        Op::CancelInvoice => Some(json!({"reason": "billed to the wrong customer"})),
        Op::WriteOff => Some(json!({"reason": "insolvency proceedings closed without assets"})),
        Op::ClosePeriod => Some(json!({"reason": "April complete"})),
        Op::CreateMandate => Some(common::mandate_body(&common::mandate_reference())),
        Op::ChangeMandate => Some(json!({"status": "blocked", "reason": "account closed"})),
        Op::StartRunPreview => Some(json!({"run_date": billing_api::routes::today()})),
        _ => None,
    }
}

/// What a write could change: both invoices, the audit trails, the lists.
async fn snapshot(world: &World) -> Value {
    let paths = [
        format!("/v1/invoices/{}", world.open.content().id),
        format!("/v1/invoices/{}", world.bounced.content().id),
        format!("/v1/invoices/{}", world.uncollectible.content().id),
        format!("/v1/invoices/{}/audit", world.open.content().id),
        "/v1/periods/2026-04".to_owned(),
        "/v1/periods/2026-05".to_owned(),
        format!("/v1/accounts/{}/audit", world.account.id),
        format!("/v1/accounts/{}/credit", world.account.id),
        format!("/v1/accounts/{}/mandates", world.account.id),
        "/v1/needs-attention".to_owned(),
        "/v1/collection-files".to_owned(),
        format!("/v1/run-previews/{}", world.preview_id),
    ];
    let mut all = common::snapshot(&world.state, &paths).await;
    // This seller's runs (tests share the list of runs; their ids name
    // their seller).
    let runs = common::json(&common::get(&world.state, Who::Billing, "/v1/runs?limit=200").await);
    let entity = world.entity.id.as_str();
    let mine: Vec<&Value> = runs["items"]
        .as_array()
        .expect("a page of runs")
        .iter()
        .filter(|run| run["run_id"].as_str().is_some_and(|id| id.contains(entity)))
        .collect();
    if let Value::Array(all) = &mut all {
        all.push(json!(mine));
    }
    all
}

/// The ETag of the invoice a write route addresses.
async fn current_etag(world: &World, route: &Route) -> String {
    match route.op {
        Op::ResolveAttention
        | Op::ClosePeriod
        | Op::ExportPeriod
        | Op::CreateMandate
        | Op::DownloadCollectionFile
        | Op::StartRunPreview
        | Op::FinalizeRunPreview => {
            return "\"r0\"".to_owned();
        }
        // The world's mandate, as recorded.
        Op::ChangeMandate => return "\"r1\"".to_owned(),
        _ => {}
    }
    let invoice_path = path(world, route);
    let invoice_path = invoice_path
        .split('/')
        .take(4)
        .collect::<Vec<_>>()
        .join("/");
    let response = handle(
        &world.state,
        request(Who::Billing, "GET", &invoice_path, None, None),
    )
    .await;
    etag(&response)
}

fn has_no_bank_data(text: &str, body: &Value) -> bool {
    let mut masked = body.clone();
    mask_for_sales(&mut masked);
    !text.contains(SELLER_IBAN)
        && !text.contains("0532 0130 00")
        && !text.contains(PAYER_IBAN)
        && &masked == body
}

#[tokio::test]
async fn every_route_for_every_kind_of_caller() {
    // GIVEN a seller with one of everything
    let mut world = World::new().await;
    world.collect().await;
    for route in ROUTES {
        let path = path(&world, route);
        let body = body(route.op);
        // WHEN nobody, an outsider, sales and billing call it
        for (who, status, code) in [
            (Who::Nobody, 401, "unauthenticated"),
            (Who::Outsider, 403, "forbidden"),
        ] {
            let response = handle(
                &world.state,
                request(who, route.method, &path, body.as_ref(), None),
            )
            .await;
            // THEN the first two are refused, with the one error shape
            assert_eq!(response.status(), status, "{who:?} {} {path}", route.method);
            let error = json(&response);
            assert_eq!(error["code"], code);
            assert!(error["message"].is_string() && error["errors"].is_array());
        }
        match route.access {
            Access::Read => {
                for who in [Who::Sales, Who::Billing] {
                    let response =
                        handle(&world.state, request(who, "GET", &path, None, None)).await;
                    let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
                    assert_eq!(response.status(), 200, "{who:?} GET {path}: {text}");
                    let body = json(&response);
                    if who == Who::Sales {
                        assert!(
                            has_no_bank_data(&text, &body),
                            "sales saw bank data on {path}: {text}"
                        );
                    }
                }
            }
            Access::Confidential => {
                let response =
                    handle(&world.state, request(Who::Sales, "GET", &path, None, None)).await;
                assert_eq!(response.status(), 403, "sales GET {path}");
                let response = handle(
                    &world.state,
                    request(Who::Billing, "GET", &path, None, None),
                )
                .await;
                assert_eq!(response.status(), 200, "billing GET {path}");
                assert!(!response.body().as_ref().is_empty(), "{path}");
            }
            Access::Write => {
                let tag = current_etag(&world, route).await;
                let before = snapshot(&world).await;
                let response = handle(
                    &world.state,
                    request(Who::Sales, route.method, &path, body.as_ref(), Some(&tag)),
                )
                .await;
                assert_eq!(response.status(), 403, "sales {} {path}", route.method);
                assert_eq!(
                    snapshot(&world).await,
                    before,
                    "sales changed something: {path}"
                );
                let response = handle(
                    &world.state,
                    request(Who::Billing, route.method, &path, body.as_ref(), Some(&tag)),
                )
                .await;
                let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
                assert!(
                    response.status().is_success(),
                    "billing {} {path}: {} {text}",
                    route.method,
                    response.status()
                );
                assert_ne!(
                    snapshot(&world).await,
                    before,
                    "billing changed nothing: {path}"
                );
            }
        }
    }
    // AND billing does see the seller's bank account on an invoice
    let path = format!("/v1/invoices/{}", world.open.content().id);
    let response = handle(
        &world.state,
        request(Who::Billing, "GET", &path, None, None),
    )
    .await;
    assert!(String::from_utf8_lossy(response.body().as_ref()).contains(SELLER_IBAN));
}

#[tokio::test]
async fn writes_need_the_current_etag_and_record_who_and_why() {
    let world = World::new().await;
    let id = world.open.content().id.clone();
    let path = format!("/v1/invoices/{id}/dunning-block");
    let block = json!({"reason": "promised to pay by the 15th"});
    // WHEN a clerk writes without If-Match: 428, nothing changes
    let response = handle(
        &world.state,
        request(Who::Billing, "PUT", &path, Some(&block), None),
    )
    .await;
    assert_eq!(response.status(), 428);
    assert_eq!(json(&response)["code"], "precondition_required");
    // WHEN with an ETag of another revision: 412
    let response = handle(
        &world.state,
        request(Who::Billing, "PUT", &path, Some(&block), Some("\"r7\"")),
    )
    .await;
    assert_eq!(response.status(), 412);
    // WHEN with the current one: done, the audit names the clerk and the reason
    let read = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            &format!("/v1/invoices/{id}"),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(etag(&read), "\"r0\"");
    let response = handle(
        &world.state,
        request(Who::Billing, "PUT", &path, Some(&block), Some(&etag(&read))),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response), "\"r1\"");
    assert_eq!(json(&response)["dunning_blocked"], true);
    let audit = handle(
        &world.state,
        request(
            Who::Sales,
            "GET",
            &format!("/v1/invoices/{id}/audit"),
            None,
            None,
        ),
    )
    .await;
    let entries = json(&audit)["items"].clone();
    assert_eq!(entries.as_array().map(Vec::len), Some(1));
    assert_eq!(entries[0]["action"], "invoice.dunning_block.set");
    assert_eq!(entries[0]["reason"], "promised to pay by the 15th");
    assert_eq!(entries[0]["actor"]["role"], "billing");
    assert!(
        entries[0]["actor"]["user"]
            .as_str()
            .is_some_and(|u| u.starts_with("user-"))
    );
    let account_audit = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            &format!("/v1/accounts/{}/audit", world.account.id),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(json(&account_audit)["items"][0]["invoice_id"], id.as_str());
    // AND a bad body names the field
    let response = handle(
        &world.state,
        request(
            Who::Billing,
            "PUT",
            &path,
            Some(&json!({"reason": " "})),
            Some("\"r1\""),
        ),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["errors"][0]["pointer"], "/reason");
}

#[tokio::test]
async fn of_two_concurrent_writes_to_one_invoice_one_wins_the_other_gets_412() {
    let world = World::new().await;
    let id = world.open.content().id.clone();
    let block_path = format!("/v1/invoices/{id}/dunning-block");
    let dispute_path = format!("/v1/invoices/{id}/dispute");
    let block = json!({"reason": "promised to pay"});
    let dispute = json!({"reason": "wrong hours"});
    // WHEN two clerks write with the same ETag at the same time
    let (a, b) = tokio::join!(
        handle(
            &world.state,
            request(
                Who::Billing,
                "PUT",
                &block_path,
                Some(&block),
                Some("\"r0\"")
            )
        ),
        handle(
            &world.state,
            request(
                Who::Billing,
                "PUT",
                &dispute_path,
                Some(&dispute),
                Some("\"r0\"")
            )
        ),
    );
    // THEN one succeeds and the other is told to read again
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let loser_is_block = a.status() == 412;
    // AND the loser changed nothing: one revision, one audit entry, one flag
    let read = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            &format!("/v1/invoices/{id}"),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(etag(&read), "\"r1\"");
    let invoice = json(&read);
    assert_eq!(invoice["dunning_blocked"], !loser_is_block);
    assert_eq!(invoice["disputed"], loser_is_block);
    let audit = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            &format!("/v1/invoices/{id}/audit"),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(json(&audit)["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn lists_page_with_a_limit_and_an_opaque_cursor() {
    let world = World::new().await;
    let path = format!("/v1/accounts/{}/invoices?limit=1", world.account.id);
    let first = json(&handle(&world.state, request(Who::Sales, "GET", &path, None, None)).await);
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = json(
        &handle(
            &world.state,
            request(
                Who::Sales,
                "GET",
                &format!("{path}&cursor={cursor}"),
                None,
                None,
            ),
        )
        .await,
    );
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_ne!(
        first["items"][0]["invoice_id"],
        second["items"][0]["invoice_id"]
    );
    for bad in [
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=bm9wZQ",
        "status=late",
        "issued_from=2026-13-01",
    ] {
        let path = format!("/v1/accounts/{}/invoices?{bad}", world.account.id);
        let response = handle(&world.state, request(Who::Sales, "GET", &path, None, None)).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(json(&response)["code"], "invalid_request", "{bad}");
    }
    // Unknown routes and methods keep their mapped statuses.
    let response = handle(
        &world.state,
        request(Who::Sales, "GET", "/v1/nothing", None, None),
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = handle(
        &world.state,
        request(Who::Sales, "POST", "/v1/invoices", None, None),
    )
    .await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn a_cancelled_invoice_leaves_dunning_and_a_second_cancellation_is_409() {
    let world = World::new().await;
    let id = world.open.content().id.clone();
    let path = format!("/v1/invoices/{id}/cancellation");
    let body = json!({"reason": "billed to the wrong customer", "release_periods": false});
    // WHEN a clerk cancels the open invoice
    let response = handle(
        &world.state,
        request(Who::Billing, "POST", &path, Some(&body), Some("\"r0\"")),
    )
    .await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        String::from_utf8_lossy(response.body().as_ref())
    );
    let issued = json(&response);
    // THEN a cancellation document with its own credit-note number exists
    let number = issued["credit_note_number"].as_str().expect("a number");
    assert!(number.starts_with("RK-"), "{number}");
    let note = handle(
        &world.state,
        request(
            Who::Sales,
            "GET",
            &format!(
                "/v1/invoices/{}",
                issued["credit_note_id"].as_str().unwrap_or("")
            ),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(note.status(), 200);
    assert_eq!(json(&note)["document_type"], "381");
    // AND the original is cancelled, with nothing left to dun
    let read = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            &format!("/v1/invoices/{id}"),
            None,
            None,
        ),
    )
    .await;
    let original = json(&read);
    assert_eq!(original["status"], "cancelled");
    let aging = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            "/v1/receivables/aging?currency=EUR",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(
        json(&aging)["counts"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_u64).sum::<u64>()),
        Some(2),
        "only the other two invoices are open"
    );
    // AND a second cancellation is refused with 409, with the current ETag too
    let again = handle(
        &world.state,
        request(Who::Billing, "POST", &path, Some(&body), Some(&etag(&read))),
    )
    .await;
    assert_eq!(again.status(), 409);
    assert_eq!(json(&again)["code"], "already_cancelled");
    // AND the audit names the clerk and the reason
    let audit = handle(
        &world.state,
        request(
            Who::Billing,
            "GET",
            &format!("/v1/invoices/{id}/audit"),
            None,
            None,
        ),
    )
    .await;
    let entry = &json(&audit)["items"][0];
    assert_eq!(entry["reason"], "billed to the wrong customer");
    assert_eq!(entry["actor"]["role"], "billing");
    assert!(
        entry["actor"]["user"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
}
