//! SEPA mandates through the staff API (issue 21): a clerk records,
//! amends, blocks, unblocks and revokes; amendments are recorded, not
//! overwritten; references stay unique per creditor identifier; sales reads
//! them masked and changes nothing; every refusal names its field and
//! changes nothing.

mod common;

use billing_api::handler::handle;
use common::{PAYER_IBAN, Who, World, json, mandate_body, mandate_reference, request};
use serde_json::{Value, json};

/// Sends `method path` as `who` with an optional body and `If-Match`.
async fn send(
    world: &World,
    who: Who,
    method: &str,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Value, Option<String>) {
    let response = handle(&world.state, request(who, method, path, body, if_match)).await;
    let tag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), json(&response), tag)
}

/// Billing records a mandate with `reference` on the world's account.
async fn record(world: &World, reference: &str) -> (u16, Value, Option<String>) {
    let body = mandate_body(reference);
    send(
        world,
        Who::Billing,
        "POST",
        &mandates_path(world),
        Some(&body),
        None,
    )
    .await
}

fn mandates_path(world: &World) -> String {
    format!("/v1/accounts/{}/mandates", world.account.id)
}

/// The account's mandates and audit trail as billing reads them.
async fn snapshot(world: &World) -> Value {
    common::snapshot(
        &world.state,
        &[
            mandates_path(world),
            format!("/v1/accounts/{}/audit", world.account.id),
        ],
    )
    .await
}

/// The listed mandate with `reference`.
fn listed<'a>(list: &'a Value, reference: &str) -> &'a Value {
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["reference"] == reference))
        .unwrap_or_else(|| panic!("mandate {reference} in {list}"))
}

#[tokio::test]
async fn a_clerk_records_amends_blocks_unblocks_and_revokes_a_mandate() {
    let world = World::new().await;
    let path = mandates_path(&world);
    let reference = mandate_reference();
    // WHEN billing records a mandate
    let (status, created, tag) = record(&world, &reference).await;
    // THEN it is granted to the seller's creditor identifier, active, at r1
    assert_eq!(status, 201, "{created}");
    assert_eq!(tag.as_deref(), Some("\"r1\""));
    assert_eq!(created["creditor_identifier"], "DE98ZZZ09999999999");
    assert_eq!(created["status"], json!({"state": "active"}));
    assert_eq!(created["lapses_on"], "2029-01-15");
    assert_eq!(created["debtor_iban"], PAYER_IBAN);
    // AND sales lists it without the IBAN or the debtor's name
    let (status, list, _) = send(&world, Who::Sales, "GET", &path, None, None).await;
    assert_eq!(status, 200);
    let seen = listed(&list, &reference);
    assert_eq!(seen["debtor_iban"], "****2051");
    assert_eq!(seen["debtor_name"], "****");
    assert!(!list.to_string().contains(PAYER_IBAN), "{list}");
    assert_eq!(listed(&list, &world.mandate)["revision"], 1);

    // WHEN billing changes reference and IBAN
    let renamed = mandate_reference();
    let one = format!("{path}/{reference}");
    let (status, amended, tag) = send(
        &world,
        Who::Billing,
        "PATCH",
        &one,
        Some(&json!({"reference": renamed, "debtor_iban": "DE89370400440532013000"})),
        Some("\"r1\""),
    )
    .await;
    // THEN both are amendments with the previous values, not overwrites
    assert_eq!(status, 200, "{amended}");
    assert_eq!(tag.as_deref(), Some("\"r2\""));
    assert_eq!(amended["reference"], renamed.as_str());
    let changes: Vec<&str> = amended["amendments"]
        .as_array()
        .expect("amendments")
        .iter()
        .filter_map(|a| a["change"]["change"].as_str())
        .collect();
    assert_eq!(changes, ["reference", "debtor_account"]);
    assert_eq!(
        amended["amendments"][0]["change"]["previous"],
        reference.as_str()
    );
    assert_eq!(amended["amendments"][1]["change"]["previous"], PAYER_IBAN);
    // AND the old reference is free again, the new one is taken
    let (status, _, _) = record(&world, &reference).await;
    assert_eq!(status, 201);
    let (status, taken, _) = record(&world, &renamed).await;
    assert_eq!(status, 409, "{taken}");

    // WHEN billing blocks it (a reason is required), unblocks and revokes it,
    // then tries to change the revoked mandate
    let one = format!("{path}/{renamed}");
    let steps = [
        (json!({"status": "blocked"}), "\"r2\"", 400, None),
        (
            json!({"status": "blocked", "reason": "customer asked to pause"}),
            "\"r2\"",
            200,
            Some(
                json!({"state": "blocked", "since": billing_api::routes::today().to_string(), "reason": "customer asked to pause"}),
            ),
        ),
        (
            json!({"status": "active"}),
            "\"r3\"",
            200,
            Some(json!({"state": "active"})),
        ),
        (
            json!({"status": "revoked", "reason": "customer revoked by letter"}),
            "\"r4\"",
            200,
            Some(json!({"state": "revoked", "since": billing_api::routes::today().to_string()})),
        ),
        (json!({"status": "active"}), "\"r5\"", 409, None),
    ];
    for (body, tag, expected, status) in steps {
        let (got, answer, _) =
            send(&world, Who::Billing, "PATCH", &one, Some(&body), Some(tag)).await;
        // THEN each answers as the rules say
        assert_eq!(got, expected, "{body}: {answer}");
        match status {
            Some(status) => assert_eq!(answer["status"], status),
            None if got == 400 => assert_eq!(answer["errors"][0]["pointer"], "/reason"),
            None => assert_eq!(answer["code"], "conflict"),
        }
    }

    // AND the account's audit trail has each change, without bank data
    let (_, audit, _) = send(
        &world,
        Who::Billing,
        "GET",
        &format!("/v1/accounts/{}/audit", world.account.id),
        None,
        None,
    )
    .await;
    let mut actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "account.mandate.amend",
            "account.mandate.block",
            "account.mandate.create",
            "account.mandate.create",
            "account.mandate.revoke",
            "account.mandate.unblock",
        ]
    );
    let text = audit.to_string();
    assert!(
        !text.contains(PAYER_IBAN) && !text.contains("DE8937"),
        "{text}"
    );
    assert!(
        text.contains("debtor_iban"),
        "the amendment names the field"
    );
}

/// A refused request: who, method, path, body, `If-Match`, the status
/// and the pointer (`/…`) or error code it is refused with.
type Case<'a> = (
    Who,
    &'a str,
    String,
    Option<Value>,
    Option<&'a str>,
    u16,
    &'a str,
);

#[tokio::test]
async fn refused_mandate_writes_name_the_problem_and_change_nothing() {
    let world = World::new().await;
    let path = mandates_path(&world);
    let one = format!("{path}/{}", world.mandate);
    // A second mandate whose reference a rename would collide with.
    let other = mandate_reference();
    let (status, _, _) = record(&world, &other).await;
    assert_eq!(status, 201);
    let before = snapshot(&world).await;

    let mut bad_iban = mandate_body(&mandate_reference());
    bad_iban["debtor_iban"] = json!("DE00370400440532013000");
    let mut bad_reference = mandate_body(&mandate_reference());
    bad_reference["reference"] = json!("MNDT#Ä1");
    let mut future = mandate_body(&mandate_reference());
    future["signed_on"] = json!("2999-01-01");
    let mut unknown_field = mandate_body(&mandate_reference());
    unknown_field["mandate_id"] = json!("mdt_1");
    let unknown_account = format!("/v1/accounts/{}/mandates", billing_tests::unique_id("acc"));
    let cases: Vec<Case<'_>> = vec![
        (
            Who::Billing,
            "POST",
            path.clone(),
            Some(bad_iban),
            None,
            400,
            "/debtor_iban",
        ),
        (
            Who::Billing,
            "POST",
            path.clone(),
            Some(bad_reference),
            None,
            400,
            "/reference",
        ),
        (
            Who::Billing,
            "POST",
            path.clone(),
            Some(future),
            None,
            400,
            "/signed_on",
        ),
        (
            Who::Billing,
            "POST",
            path.clone(),
            Some(unknown_field),
            None,
            400,
            "/mandate_id",
        ),
        (
            Who::Billing,
            "POST",
            path.clone(),
            Some(mandate_body(&world.mandate)),
            None,
            409,
            "conflict",
        ),
        (
            Who::Sales,
            "POST",
            path.clone(),
            Some(mandate_body(&mandate_reference())),
            None,
            403,
            "forbidden",
        ),
        (
            Who::Billing,
            "POST",
            unknown_account.clone(),
            Some(mandate_body(&mandate_reference())),
            None,
            404,
            "not_found",
        ),
        (
            Who::Billing,
            "GET",
            unknown_account,
            None,
            None,
            404,
            "not_found",
        ),
        (
            Who::Billing,
            "PATCH",
            format!("{path}/UNKNOWN-REF"),
            Some(json!({"status": "revoked"})),
            Some("\"r1\""),
            404,
            "not_found",
        ),
        (
            Who::Billing,
            "PATCH",
            format!("{path}/BAD%23REF"),
            Some(json!({"status": "revoked"})),
            Some("\"r1\""),
            400,
            "/path/reference",
        ),
        (
            Who::Billing,
            "PATCH",
            one.clone(),
            Some(json!({"debtor_iban": "not an iban"})),
            Some("\"r1\""),
            400,
            "/debtor_iban",
        ),
        (
            Who::Billing,
            "PATCH",
            one.clone(),
            Some(json!({"reference": "A/"})),
            Some("\"r1\""),
            400,
            "/reference",
        ),
        (
            Who::Billing,
            "PATCH",
            one.clone(),
            Some(json!({"reference": other})),
            Some("\"r1\""),
            409,
            "conflict",
        ),
        (
            Who::Billing,
            "PATCH",
            one.clone(),
            Some(json!({"status": "revoked"})),
            None,
            428,
            "precondition_required",
        ),
        (
            Who::Billing,
            "PATCH",
            one.clone(),
            Some(json!({"status": "revoked"})),
            Some("\"r7\""),
            412,
            "precondition_failed",
        ),
        (
            Who::Billing,
            "PATCH",
            one.clone(),
            Some(json!({})),
            Some("\"r1\""),
            400,
            "invalid_request",
        ),
        (
            Who::Sales,
            "PATCH",
            one.clone(),
            Some(json!({"status": "revoked"})),
            Some("\"r1\""),
            403,
            "forbidden",
        ),
    ];
    for (who, method, path, body, if_match, status, expected) in cases {
        // WHEN the request is sent
        let (got, error, _) = send(&world, who, method, &path, body.as_ref(), if_match).await;
        // THEN it is refused, naming the field (or the kind of refusal)
        assert_eq!(got, status, "{who:?} {method} {path} {body:?}: {error}");
        if expected.starts_with('/') {
            assert_eq!(error["errors"][0]["pointer"], expected, "{error}");
        } else {
            assert_eq!(error["code"], expected, "{error}");
        }
        // AND nothing changed
        assert_eq!(
            snapshot(&world).await,
            before,
            "{method} {path} changed something"
        );
    }
    // AND the mandate still takes a change at its revision
    let (status, _, tag) = send(
        &world,
        Who::Billing,
        "PATCH",
        &one,
        Some(&json!({"debtor_bic": "COBADEFFXXX"})),
        Some("\"r1\""),
    )
    .await;
    assert_eq!((status, tag.as_deref()), (200, Some("\"r2\"")));
}

#[tokio::test]
async fn of_two_clerks_recording_one_reference_at_once_one_wins() {
    let world = World::new().await;
    let reference = mandate_reference();
    // WHEN two clerks record the same reference at the same time
    let (first, second) = tokio::join!(record(&world, &reference), record(&world, &reference));
    // THEN one is recorded and the other is 409, and the account holds one
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} {}", first.1, second.1);
    let (_, list, _) = send(
        &world,
        Who::Billing,
        "GET",
        &mandates_path(&world),
        None,
        None,
    )
    .await;
    let holding = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["reference"] == reference.as_str())
        .count();
    assert_eq!(holding, 1, "{list}");
}
