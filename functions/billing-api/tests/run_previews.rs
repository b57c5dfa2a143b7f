//! The invoice run from the console (issue 20): a clerk previews a day,
//! sees every customer's total beside the previous one, and finalizes
//! exactly that preview; a preview that no longer shows what would be
//! billed is refused with the customers that changed, and nothing is
//! billed. The planner's batches are worked off by the real worker
//! (`billing_tests::run::LocalRun`).

mod common;

use billing_api::handler::ApiState;
use billing_api::routes::today;
use billing_domain::party::CustomerAccount;
use billing_domain::subscription::Subscription;
use billing_run::plan::finalize_run_id;
use billing_tests::run::{LocalRun, consumer, isolated_entity, monthly_contract};
use billing_tests::{local_clients, unique_id};
use chrono::{Datelike, Months, NaiveDate};
use common::{Who, json, request};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A monthly contract in advance of `price` EUR, billed through the end of
/// last month: this month is due on every day of it, in full.
fn monthly(account: &CustomerAccount, price: &str) -> Subscription {
    let first = today().with_day(1).expect("the first of the month");
    monthly_contract(&account.id, price, first.pred_opt())
}

/// A seller of its own with the API on it and its run functions.
struct Setup {
    run: LocalRun,
    api: ApiState,
}

impl Setup {
    async fn new() -> Self {
        let aws = local_clients().await;
        let run = LocalRun::new(&aws, isolated_entity()).await;
        let api = common::state(&run.entity, None).await;
        Self { run, api }
    }

    /// A customer with a monthly contract of `price`, and (when given) an
    /// earlier invoice of `previous_net` (net; 19 % VAT on top).
    async fn customer(
        &self,
        name: &str,
        price: &str,
        previous_net: Option<i64>,
    ) -> CustomerAccount {
        let account = consumer(&self.run.entity, name);
        self.run
            .store
            .seed_customer(
                &account,
                &[monthly(&account, price)],
                &[],
                chrono::Utc::now(),
            )
            .await
            .expect("customer stored");
        if let Some(net) = previous_net {
            let issued = today() - Months::new(1);
            billing_tests::billing::invoice(
                &self.run.store,
                &self.run.entity,
                &account,
                issued,
                Decimal::new(net, 2),
            )
            .await;
        }
        account
    }

    async fn call(&self, who: Who, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let response =
            billing_api::handler::handle(&self.api, request(who, method, path, body, None)).await;
        let status = response.status().as_u16();
        (status, json(&response))
    }

    /// Starts the preview of `day` through the API and works off its batches.
    async fn preview(&self, day: NaiveDate) -> String {
        let id = common::start_preview(&self.api, day).await;
        assert!(self.run.deliver(&id).await.is_empty());
        id
    }
}

fn by_account<'a>(items: &'a Value, account: &CustomerAccount) -> &'a Value {
    items
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["account_id"] == account.id.as_str())
        .unwrap_or_else(|| panic!("{} not in {items}", account.id))
}

#[tokio::test]
async fn a_clerk_previews_a_day_compares_it_and_finalizes_exactly_that_preview() {
    // GIVEN three customers due today: one billed the same last time, one
    // billed less, one never billed
    let setup = Setup::new().await;
    let same = setup.customer("Same GmbH", "10.00", Some(1_000)).await;
    let more = setup.customer("More GmbH", "20.00", Some(1_000)).await;
    let new = setup.customer("New GmbH", "5.00", None).await;

    // WHEN a clerk starts the preview of today
    let body = json!({"run_date": today()});
    let (status, started) = setup
        .call(Who::Billing, "POST", "/v1/run-previews", Some(&body))
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["mode"], "preview");
    // Named by the staff member's id, never a name or address.
    assert!(
        started["started_by"]
            .as_str()
            .unwrap()
            .starts_with("staff:user-")
    );
    let id = started["run_id"].as_str().expect("a run id").to_owned();
    // THEN its progress is readable until it completes
    let (status, progress) = setup
        .call(Who::Sales, "GET", &format!("/v1/runs/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(progress["planned_customers"], 3);
    assert!(setup.run.deliver(&id).await.is_empty());
    let (_, done) = setup
        .call(Who::Sales, "GET", &format!("/v1/runs/{id}"), None)
        .await;
    assert_eq!(done["status"], "completed", "{done}");

    // AND the preview shows each customer's total beside the previous one
    let (status, preview) = setup
        .call(Who::Sales, "GET", &format!("/v1/run-previews/{id}"), None)
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["finalizable"], true);
    assert_eq!(preview["finalize_run_id"], Value::Null);
    let items = &preview["items"];
    assert_eq!(items.as_array().map(Vec::len), Some(3));
    let row = by_account(items, &same);
    assert_eq!(
        (
            &row["total"],
            &row["previous_total"],
            &row["difference"],
            &row["changed"]
        ),
        (
            &json!("11.90"),
            &json!("11.90"),
            &json!("0.00"),
            &json!(false)
        )
    );
    let row = by_account(items, &more);
    assert_eq!(
        (
            &row["total"],
            &row["previous_total"],
            &row["difference"],
            &row["changed"]
        ),
        (
            &json!("23.80"),
            &json!("11.90"),
            &json!("11.90"),
            &json!(true)
        )
    );
    assert_eq!(row["invoices"][0]["lines"][0]["description"], "Licence");
    let row = by_account(items, &new);
    assert_eq!(
        (
            &row["total"],
            &row["previous_total"],
            &row["difference"],
            &row["changed"]
        ),
        (&json!("5.95"), &Value::Null, &Value::Null, &json!(true))
    );
    assert_eq!(
        preview["summary"],
        json!({"customers": 3, "changed": 2, "failures": 0, "totals": [
            {"currency": "EUR", "total": "41.65", "previous_total": "23.80", "difference": "17.85"}
        ]})
    );
    // AND only the changed ones, one page at a time
    let path = format!("/v1/run-previews/{id}?changed_only=true&limit=1");
    let (_, first) = setup.call(Who::Sales, "GET", &path, None).await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = setup
        .call(Who::Sales, "GET", &format!("{path}&cursor={cursor}"), None)
        .await;
    assert_eq!(second["next_cursor"], Value::Null);
    let mut changed: Vec<&str> = [&first, &second]
        .iter()
        .map(|page| page["items"][0]["account_id"].as_str().expect("an account"))
        .collect();
    changed.sort_unstable();
    let mut expected = vec![more.id.as_str(), new.id.as_str()];
    expected.sort_unstable();
    assert_eq!(changed, expected);

    // WHEN sales forces the finalize
    let finalize = format!("/v1/run-previews/{id}/finalize");
    let (status, refused) = setup.call(Who::Sales, "POST", &finalize, None).await;
    // THEN it is 403 and nothing is billed
    assert_eq!((status, &refused["code"]), (403, &json!("forbidden")));
    assert!(
        setup
            .run
            .store
            .run(&finalize_run_id(&id))
            .await
            .unwrap()
            .is_none()
    );
    assert!(setup.run.invoices_of(&new.id).await.is_empty());

    // WHEN the clerk finalizes it
    let (status, run) = setup.call(Who::Billing, "POST", &finalize, None).await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["from_preview"], id.as_str());
    let run_id = run["run_id"].as_str().expect("a run id").to_owned();
    assert!(setup.run.deliver(&run_id).await.is_empty());
    // THEN the invoices issued are the ones the preview showed
    let (_, billed) = setup
        .call(Who::Sales, "GET", &format!("/v1/runs/{run_id}"), None)
        .await;
    assert_eq!(billed["status"], "completed");
    assert_eq!(billed["outcome"]["invoices"], 3, "{billed}");
    assert_eq!(billed["outcome"]["totals"]["EUR"], "41.65");
    for (account, total) in [(&same, "11.90"), (&more, "23.80"), (&new, "5.95")] {
        let path = format!(
            "/v1/accounts/{}/invoices?issued_from={}",
            account.id,
            today()
        );
        let (_, invoices) = setup.call(Who::Sales, "GET", &path, None).await;
        assert_eq!(invoices["items"][0]["total"]["amount"], total, "{invoices}");
    }
    // AND the preview names its run and is not offered again
    let (_, after) = setup
        .call(Who::Sales, "GET", &format!("/v1/run-previews/{id}"), None)
        .await;
    assert_eq!(after["finalize_run_id"], run_id.as_str());
    assert_eq!(after["finalizable"], false);
}

#[tokio::test]
async fn a_preview_with_a_contract_changed_since_is_refused_and_nothing_is_billed() {
    // GIVEN a completed preview of today
    let setup = Setup::new().await;
    let steady = setup.customer("Steady GmbH", "10.00", None).await;
    let changing = setup.customer("Changing GmbH", "10.00", None).await;
    let id = setup.preview(today()).await;
    // AND one customer's contracts changed since
    let extra = monthly(&changing, "99.00");
    setup
        .run
        .store
        .seed_contracts(
            &changing,
            std::slice::from_ref(&extra),
            &[],
            chrono::Utc::now(),
        )
        .await
        .expect("contract added");

    // WHEN the clerk finalizes the preview
    let (status, error) = setup
        .call(
            Who::Billing,
            "POST",
            &format!("/v1/run-previews/{id}/finalize"),
            None,
        )
        .await;

    // THEN it is refused, naming the customer and the change
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["code"], "preview_stale");
    assert!(error["message"].as_str().unwrap().contains("preview again"));
    let errors = error["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{error}");
    assert_eq!(errors[0]["pointer"], format!("/customers/{}", changing.id));
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains(extra.id.as_str()),
        "{error}"
    );
    // AND no run was started, nobody billed
    assert!(
        setup
            .run
            .store
            .run(&finalize_run_id(&id))
            .await
            .unwrap()
            .is_none()
    );
    for account in [&steady, &changing] {
        assert!(setup.run.invoices_of(&account.id).await.is_empty());
    }
}

#[tokio::test]
async fn only_a_completed_preview_of_today_is_finalized() {
    let setup = Setup::new().await;
    setup.customer("Later GmbH", "10.00", None).await;
    // GIVEN a completed preview of a day next week
    let later = setup.preview(today() + chrono::Days::new(7)).await;
    // WHEN it is finalized THEN it is refused with the reason, nothing started
    let (status, error) = setup
        .call(
            Who::Billing,
            "POST",
            &format!("/v1/run-previews/{later}/finalize"),
            None,
        )
        .await;
    assert_eq!(
        (status, &error["code"]),
        (409, &json!("preview_not_finalizable")),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("today"),
        "{error}"
    );
    assert!(
        setup
            .run
            .store
            .run(&finalize_run_id(&later))
            .await
            .unwrap()
            .is_none()
    );
    let (_, preview) = setup
        .call(
            Who::Sales,
            "GET",
            &format!("/v1/run-previews/{later}"),
            None,
        )
        .await;
    assert_eq!(preview["finalizable"], false);

    // GIVEN a preview whose batches are not done yet
    let running = common::start_preview(&setup.api, today()).await;
    // WHEN it is read or finalized THEN both say it is still running
    for (method, path) in [
        ("GET", format!("/v1/run-previews/{running}")),
        ("POST", format!("/v1/run-previews/{running}/finalize")),
    ] {
        let (status, error) = setup.call(Who::Billing, method, &path, None).await;
        assert_eq!(
            (status, &error["code"]),
            (409, &json!("preview_not_finalizable")),
            "{path}"
        );
    }
    assert!(setup.run.deliver(&running).await.is_empty());

    // AND a finalize run or an unknown id is no preview
    for id in [finalize_run_id(&later), unique_id("preview-nothing")] {
        let (status, _) = setup
            .call(
                Who::Billing,
                "POST",
                &format!("/v1/run-previews/{id}/finalize"),
                None,
            )
            .await;
        assert_eq!(status, 404, "{id}");
    }
}

#[tokio::test]
async fn a_preview_request_names_the_field_at_fault_and_starts_nothing() {
    let setup = Setup::new().await;
    for (body, pointer) in [
        (json!({}), "/run_date"),
        (json!({"run_date": "2026-13-01"}), "/run_date"),
        (
            json!({"run_date": "2026-12-01", "mode": "finalize"}),
            "/mode",
        ),
    ] {
        let (status, error) = setup
            .call(Who::Billing, "POST", "/v1/run-previews", Some(&body))
            .await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["errors"][0]["pointer"], pointer, "{error}");
    }
    let (_, runs) = setup
        .call(Who::Billing, "GET", "/v1/runs?limit=200", None)
        .await;
    let entity = setup.run.entity.id.as_str();
    assert!(
        !runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|run| run["run_id"].as_str().unwrap().contains(entity)),
        "{runs}"
    );
    // AND a preview page's parameters are checked too
    let id = setup.preview(today()).await;
    for query in ["changed_only=yes", "cursor=%21%21"] {
        let (status, error) = setup
            .call(
                Who::Sales,
                "GET",
                &format!("/v1/run-previews/{id}?{query}"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{query}: {error}");
    }
}
