//! The real `billing-admin` binary against the local AWS: happy paths,
//! refusals with their exit codes, and the table unchanged after each
//! refusal. Every test uses ids of its own (tests share one emulator).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message as SqsMessage, QueueAttributeName};
use billing_domain::ids::{AccountId, SubscriptionId};
use billing_domain::party::CustomerKind;
use billing_lambda::aws::AwsClients;
use billing_store::{BillingStore, SubscriptionChange};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The local clients and table; refuses a non-loopback endpoint, since
/// the binary inherits this environment.
async fn local() -> (AwsClients, String) {
    let aws = billing_tests::local_clients().await;
    (aws, billing_tests::resource("BILLING_TABLE"))
}

fn admin(args: &[&str]) -> Output {
    admin_in(args, &[])
}

/// A run with variables of its own (e.g. another LOCAL_AWS_STACK).
fn admin_in(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_billing-admin"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

/// `--json` run: exit code and the one JSON document on stdout.
fn admin_json(args: &[&str]) -> (i32, Value) {
    admin_json_in(args, &[])
}

/// [`admin_json`] with variables of its own.
fn admin_json_in(args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = admin_in(&all, env);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let document = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON document ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), document)
}

/// Ids of one test: fixture ids with the demo prefixes replaced.
struct Ids {
    accounts: String,
    contracts: String,
    dir: PathBuf,
}

impl Ids {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(billing_tests::unique_id("billing-admin"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self {
            accounts: billing_tests::unique_id("acc"),
            contracts: billing_tests::unique_id("ctr"),
            dir,
        }
    }

    fn account(&self, n: u32) -> AccountId {
        AccountId::new(format!("{}-{n}", self.accounts))
    }

    fn contract(&self, n: u32) -> SubscriptionId {
        SubscriptionId::new(format!("{}-{n}", self.contracts))
    }

    /// Text with this test's ids.
    fn own(&self, text: &str) -> String {
        text.replace("acc-demo", &self.accounts)
            .replace("ctr-demo", &self.contracts)
    }

    fn fixture(&self, name: &str) -> String {
        let text = std::fs::read_to_string(repo().join("tests/fixtures/contracts").join(name))
            .expect("fixture");
        self.own(&text)
    }

    /// Writes `value` as a JSON file of this test and returns its path.
    fn json_file(&self, name: &str, value: &Value) -> String {
        let text = serde_json::to_string_pretty(value).expect("JSON encodes");
        self.file(name, &text)
    }

    /// Writes `text` to a file of this test and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write file");
        path.display().to_string()
    }
}

/// The seller the fixtures' accounts name (`default`); idempotent.
fn store_default_entity() {
    let entity = repo().join("docs/examples/billing-entity.json");
    let (code, out) = admin_json(&["entity", "put", &entity.display().to_string()]);
    assert_eq!(code, 0, "{out}");
}

/// The local AWS and ids of a test's own, with the fixture accounts stored.
async fn with_accounts() -> (AwsClients, String, Ids) {
    let (aws, table) = local().await;
    let ids = Ids::new();
    store_default_entity();
    let file = ids.file("accounts.json", &ids.fixture("accounts.json"));
    let (code, out) = admin_json(&["accounts", "import", &file]);
    assert_eq!(code, 0, "{out}");
    (aws, table, ids)
}

/// Every item of an account's partition (account, contracts, ...).
async fn partition(
    aws: &AwsClients,
    table: &str,
    account: &AccountId,
) -> Vec<HashMap<String, AttributeValue>> {
    aws.dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ACCOUNT#{account}")))
        .consistent_read(true)
        .send()
        .await
        .expect("query")
        .items
        .unwrap_or_default()
}

/// `contracts import FILE --json`, which must be refused (exit 1): the
/// problems by line and field, and the whole answer.
fn refused_import(file: &str) -> (Vec<(Option<u64>, String)>, Value) {
    let (code, out) = admin_json(&["contracts", "import", file]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["code"], "refused");
    (problems(&out), out)
}

/// A `--json` run that must succeed (exit 0): its answer.
fn admin_ok(args: &[&str]) -> Value {
    let (code, out) = admin_json(args);
    assert_eq!(code, 0, "{out}");
    out
}

/// The named counts of an import's answer.
fn counts<const N: usize>(out: &Value, names: [&str; N]) -> [Option<u64>; N] {
    names.map(|name| out[name].as_u64())
}

fn problems(document: &Value) -> Vec<(Option<u64>, String)> {
    document["error"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["line"].as_u64(),
                p["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn entity_put_show_and_refusals() {
    let (aws, table) = local().await;
    let ids = Ids::new();
    let id = billing_tests::unique_id("ent");
    let mut entity: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/examples/billing-entity.json")).unwrap(),
    )
    .unwrap();
    entity["id"] = id.clone().into();
    let good = ids.json_file("entity.json", &entity);

    let (code, out) = admin_json(&["entity", "put", &good]);
    assert_eq!(
        (code, out["outcome"].as_str()),
        (0, Some("created")),
        "{out}"
    );
    let (code, out) = admin_json(&["entity", "put", &good]);
    assert_eq!(
        (code, out["outcome"].as_str()),
        (0, Some("unchanged")),
        "{out}"
    );
    let (code, shown) = admin_json(&["entity", "show", &id]);
    assert_eq!(code, 0);
    assert_eq!(
        shown["identity"]["legal_name"],
        entity["identity"]["legal_name"]
    );

    // Refusals: none of them changes the stored entity.
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let entity_id = billing_domain::ids::BillingEntityId::new(&id);
    let before = store.billing_entity(&entity_id).await.unwrap();

    let mut unknown = entity.clone();
    unknown["identity"]["bank_account"]["ibna"] = "DE00".into();
    unknown["identity"]["legal_name"] = "Changed GmbH".into();
    let file = ids.json_file("unknown.json", &unknown);
    let (code, out) = admin_json(&["entity", "put", &file]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["code"], "refused");
    let found = problems(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert_eq!(found[0].1, "identity.bank_account.ibna");
    assert!(found[0].0.is_some_and(|line| line > 10), "{out}");

    let mut invalid = entity.clone();
    invalid["identity"]["bank_account"]["iban"] = "DE89370400440532013001".into();
    let file = ids.json_file("invalid.json", &invalid);
    let (code, out) = admin_json(&["entity", "put", &file]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(problems(&out)[0].1, "identity.bank_account.iban", "{out}");

    let broken = ids.file("broken.json", "{\n  \"id\": \"x\",\n  \"identity\": {\n}");
    let output = admin(&["entity", "put", &broken]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("line 4"),
        "{stderr}"
    );

    assert_eq!(store.billing_entity(&entity_id).await.unwrap(), before);

    let (code, out) = admin_json(&["entity", "show", &billing_tests::unique_id("ent")]);
    assert_eq!(
        (code, out["error"]["code"].as_str()),
        (1, Some("not_found")),
        "{out}"
    );
}

#[tokio::test]
async fn accounts_are_created_updated_and_skipped() {
    let (aws, table) = local().await;
    let ids = Ids::new();
    store_default_entity();
    let text = ids.fixture("accounts.json");
    let file = ids.file("accounts.json", &text);
    assert_eq!(
        counts(
            &admin_ok(&["accounts", "import", &file]),
            ["created", "unchanged"]
        ),
        [Some(3), Some(0)]
    );

    assert_eq!(
        counts(
            &admin_ok(&["accounts", "import", &file]),
            ["created", "unchanged"]
        ),
        [Some(0), Some(3)]
    );

    let changed = ids.file(
        "changed.json",
        &text.replace("Nordwind Logistik GmbH", "Nordwind Logistik SE"),
    );
    assert_eq!(
        counts(
            &admin_ok(&["accounts", "import", &changed]),
            ["updated", "unchanged"]
        ),
        [Some(1), Some(2)]
    );
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let stored = store.account(&ids.account(1)).await.unwrap().unwrap();
    assert_eq!(
        (stored.account.name.as_str(), stored.version),
        ("Nordwind Logistik SE", 2)
    );
}

#[tokio::test]
async fn an_account_file_with_one_bad_record_writes_nothing() {
    let (aws, table) = local().await;
    let ids = Ids::new();
    store_default_entity();
    let mut records: Value = serde_json::from_str(&ids.fixture("accounts.json")).unwrap();
    records[2]["payment_terms"] = 30.into();
    records[1]["currency"] = "EURO".into();
    let file = ids.json_file("accounts.json", &records);
    let (code, out) = admin_json(&["accounts", "import", &file]);
    assert_eq!(code, 1, "{out}");
    let fields: Vec<String> = problems(&out).into_iter().map(|(_, f)| f).collect();
    assert_eq!(fields, ["[1].currency", "[2].payment_terms"], "{out}");
    for n in 1..=3 {
        assert!(partition(&aws, &table, &ids.account(n)).await.is_empty());
    }
}

/// A mandate for an account file, debiting `iban`.
fn mandate(reference: &str, iban: &str) -> Value {
    serde_json::json!({
        "reference": reference,
        "signed_on": "2026-01-15",
        "scheme": "CORE",
        "usage": "recurrent",
        "debtor_name": "Nordwind Logistik GmbH",
        "debtor_iban": iban,
    })
}

#[tokio::test]
async fn account_mandates_are_imported_listed_and_refused_by_line_and_field() {
    let (_aws, _table) = local().await;
    let ids = Ids::new();
    store_default_entity();
    let reference = billing_tests::unique_id("MNDT").to_uppercase();
    let mut records: Value = serde_json::from_str(&ids.fixture("accounts.json")).unwrap();
    records[0]["mandates"] = serde_json::json!([mandate(&reference, "DE02120300000000202051")]);
    let file = ids.json_file("accounts.json", &records);
    // WHEN an account file with a mandate is imported, twice
    let out = admin_ok(&["accounts", "import", &file]);
    assert_eq!(
        counts(&out, ["created", "mandates_created", "mandates_unchanged"]),
        [Some(3), Some(1), Some(0)]
    );
    let out = admin_ok(&["accounts", "import", &file]);
    assert_eq!(
        counts(
            &out,
            ["unchanged", "mandates_created", "mandates_unchanged"]
        ),
        [Some(3), Some(0), Some(1)]
    );
    // THEN the account lists it, granted to the seller's creditor identifier
    let account = ids.account(1).to_string();
    let listed = admin_ok(&["mandates", "list", "--account", &account]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["reference"], reference.as_str());
    assert_eq!(listed[0]["creditor_identifier"], "DE98ZZZ09999999999");
    assert_eq!(listed[0]["status"]["state"], "active");
    let text = admin(&["mandates", "list", "--account", &account]);
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains(&reference) && text.contains("2051"), "{text}");
    assert!(!text.contains("DE02120300000000202051"), "{text}");
    let (code, out) = admin_json(&["mandates", "list", "--account", "acc-none-such"]);
    assert_eq!(
        (code, out["error"]["code"].as_str()),
        (1, Some("not_found"))
    );

    // WHEN a file states a bad IBAN and an unknown field: refused by field and line
    let mut bad = records.clone();
    bad[1]["mandates"] = serde_json::json!([mandate("MNDT-X-1", "DE00120300000000202051")]);
    bad[2]["mandates"] = serde_json::json!([{"mandate_id": "x"}]);
    let file = ids.json_file("bad.json", &bad);
    let (code, out) = admin_json(&["accounts", "import", &file]);
    assert_eq!(code, 1, "{out}");
    let found = problems(&out);
    assert!(found.iter().all(|(line, _)| line.is_some()), "{out}");
    assert!(
        out["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&file)),
        "{out}"
    );
    let fields: Vec<&str> = found.iter().map(|(_, f)| f.as_str()).collect();
    assert!(fields.contains(&"[1].mandates[0].debtor_iban"), "{out}");
    assert!(
        fields.iter().any(|f| f.starts_with("[2].mandates[0]")),
        "{out}"
    );

    // WHEN a file changes a stored mandate's details, gives its reference to
    // another account or signs in the future: refused, nothing written
    let mut clash = records.clone();
    clash[0]["mandates"][0]["debtor_name"] = "Nordwind Logistik SE".into();
    clash[1]["mandates"] = serde_json::json!([mandate(&reference, "DE02120300000000202051")]);
    let mut future = mandate(&format!("{reference}-2"), "DE02120300000000202051");
    future["signed_on"] = "2999-01-01".into();
    clash[2]["mandates"] = serde_json::json!([future]);
    let file = ids.json_file("clash.json", &clash);
    let (code, out) = admin_json(&["accounts", "import", &file]);
    assert_eq!(code, 1, "{out}");
    let fields: Vec<String> = problems(&out).into_iter().map(|(_, f)| f).collect();
    assert_eq!(
        fields,
        [
            "[0].mandates[0].reference",
            "[1].mandates[0].reference",
            "[2].mandates[0].signed_on"
        ],
        "{out}"
    );
    let listed = admin_ok(&["mandates", "list", "--account", &ids.account(3).to_string()]);
    assert_eq!(listed, serde_json::json!([]));
}

#[tokio::test]
async fn contracts_from_json_then_the_same_from_csv_are_unchanged() {
    let (aws, table, ids) = with_accounts().await;
    let json = ids.file("contracts.json", &ids.fixture("contracts.json"));
    let csv = ids.file("contracts.csv", &ids.fixture("contracts.csv"));

    assert_eq!(
        counts(
            &admin_ok(&["contracts", "import", &json]),
            ["created", "unchanged"]
        ),
        [Some(3), Some(0)]
    );
    // Written like the webhook's contracts: body, version 1, due-index keys.
    let items = partition(&aws, &table, &ids.account(3)).await;
    let contract = items
        .iter()
        .find(|i| i.get("record_type") == Some(&AttributeValue::S("subscription".into())))
        .expect("contract stored");
    assert_eq!(
        contract.get("version"),
        Some(&AttributeValue::N("1".into()))
    );
    assert!(contract.contains_key("due_shard") && contract.contains_key("due_at"));

    assert_eq!(
        counts(
            &admin_ok(&["contracts", "import", &csv]),
            ["created", "unchanged"]
        ),
        [Some(0), Some(3)]
    );
    let output = admin(&["contracts", "import", &json]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 created, 0 amended, 3 unchanged"));
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let stored = store
        .subscription(&ids.account(1), &ids.contract(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1, "an unchanged import writes nothing");
}

#[tokio::test]
async fn a_csv_with_a_bad_row_is_refused_by_line_and_column() {
    let (aws, table, ids) = with_accounts().await;
    let text = ids
        .fixture("contracts.csv")
        .replace("Website hosting,1,MON,19.90", "Website hosting,1,MON,19,90");
    let file = ids.file("contracts.csv", &text);
    let output = admin(&["contracts", "import", &file]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing was written"), "{stderr}");

    let text = ids.fixture("contracts.csv").replace(
        "hosting,Website hosting,1,MON,19.90,standard,1 month",
        "hosting,Website hosting,1,MON,19.90,standard,1 fortnight",
    );
    let (found, _) = refused_import(&ids.file("interval.csv", &text));
    assert_eq!(found, [(Some(4), "interval".to_owned())]);
    for n in 1..=3 {
        assert_eq!(
            partition(&aws, &table, &ids.account(n)).await.len(),
            1,
            "only the account"
        );
    }
}

#[tokio::test]
async fn contracts_for_an_unknown_account_or_another_currency_are_refused() {
    let (aws, table, ids) = with_accounts().await;
    let mut contracts: Value = serde_json::from_str(&ids.fixture("contracts.json")).unwrap();
    contracts[1]["account_id"] = format!("{}-9", ids.accounts).into();
    contracts[2]["currency"] = "USD".into();
    for item in contracts[2]["items"].as_array_mut().unwrap() {
        item["item"]["unit_price"]["currency"] = "USD".into();
    }
    let (found, out) = refused_import(&ids.json_file("contracts.json", &contracts));
    assert_eq!(
        found.iter().map(|(_, f)| f.as_str()).collect::<Vec<_>>(),
        ["[1].account_id", "[2].currency"],
        "{out}"
    );
    assert!(found.iter().all(|(line, _)| line.is_some()));
    // The valid first contract was not written either.
    assert_eq!(partition(&aws, &table, &ids.account(1)).await.len(), 1);

    let csv = ids.fixture("contracts.csv").replace(
        &format!(",{}-2,", ids.accounts),
        &format!(",{}-9,", ids.accounts),
    );
    let (found, _) = refused_import(&ids.file("contracts.csv", &csv));
    assert_eq!(found, [(Some(4), "account_id".to_owned())]);
}

#[tokio::test]
async fn a_contract_on_direct_debit_needs_the_customers_mandate_and_bad_ones_name_line_and_field() {
    let (aws, table, ids) = with_accounts().await;
    // GIVEN the first customer signed a mandate, the others did not
    let mut accounts: Value = serde_json::from_str(&ids.fixture("accounts.json")).unwrap();
    let reference = billing_tests::unique_id("MNDT").to_uppercase();
    accounts[0]["mandates"] = serde_json::json!([mandate(&reference, "DE02120300000000202051")]);
    admin_ok(&[
        "accounts",
        "import",
        &ids.json_file("accounts.json", &accounts),
    ]);
    // A `payment_method` column: the first contract on direct debit.
    let with_column = |method_of: &dyn Fn(&str) -> &'static str| {
        ids.fixture("contracts.csv")
            .lines()
            .enumerate()
            .map(|(n, line)| match n {
                0 => format!("{line},payment_method\n"),
                _ => format!("{line},{}\n", method_of(line)),
            })
            .collect::<String>()
    };
    let first = format!("{},", ids.contract(1));
    let second = format!("{},", ids.contract(2));

    // WHEN a CSV names direct debit for the second customer (no mandate)
    // and an unknown method for the third, and a JSON file the same
    let bad = with_column(&|line| {
        if line.starts_with(&second) {
            "direct_debit"
        } else if line.starts_with(&first) {
            ""
        } else {
            "cheque"
        }
    });
    let (found, out) = refused_import(&ids.file("bad.csv", &bad));
    // THEN each is refused by line and column; the unknown method on
    // both rows of the third contract
    assert_eq!(
        found,
        [
            (Some(5), "payment_method".to_owned()),
            (Some(6), "payment_method".to_owned())
        ],
        "{out}"
    );
    let no_cheques = with_column(&|line| {
        if line.starts_with(&second) {
            "direct_debit"
        } else {
            ""
        }
    });
    let (found, out) = refused_import(&ids.file("no-mandate.csv", &no_cheques));
    assert_eq!(found, [(Some(4), "payment_method".to_owned())], "{out}");
    assert!(
        out["error"]["problems"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no SEPA mandate")),
        "{out}"
    );
    let mut contracts: Value = serde_json::from_str(&ids.fixture("contracts.json")).unwrap();
    contracts[1]["payment_method"] = "direct_debit".into();
    let (found, out) = refused_import(&ids.json_file("contracts.json", &contracts));
    assert_eq!(
        found.iter().map(|(_, f)| f.as_str()).collect::<Vec<_>>(),
        ["[1].payment_method"],
        "{out}"
    );
    assert!(found.iter().all(|(line, _)| line.is_some()), "{out}");
    // AND nothing was written
    for n in 1..=3 {
        assert!(
            partition(&aws, &table, &ids.account(n))
                .await
                .iter()
                .all(|i| i.get("record_type") != Some(&AttributeValue::S("subscription".into()))),
            "no contract of customer {n}"
        );
    }

    // WHEN the first contract names direct debit: it is stored so
    let good = with_column(&|line| {
        if line.starts_with(&first) {
            "direct_debit"
        } else {
            ""
        }
    });
    admin_ok(&["contracts", "import", &ids.file("good.csv", &good)]);
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let method = |n: u32| {
        let store = store.clone();
        let (account, contract) = (ids.account(n), ids.contract(n));
        async move {
            store
                .subscription(&account, &contract)
                .await
                .unwrap()
                .expect("stored")
                .subscription
                .payment_method
        }
    };
    use billing_domain::subscription::PaymentMethod;
    assert_eq!(method(1).await, PaymentMethod::DirectDebit);
    assert_eq!(method(2).await, PaymentMethod::Transfer);
}

#[tokio::test]
async fn an_amendment_keeps_billing_progress_and_a_new_price_counts_from_today() {
    let (aws, table, ids) = with_accounts().await;
    let csv = ids.fixture("contracts.csv");
    let file = ids.file("contracts.csv", &csv);
    let (code, out) = admin_json(&["contracts", "import", &file]);
    assert_eq!(code, 0, "{out}");

    // The invoice run billed the licence's first month (as the worker
    // would: billed_through advanced, version bumped).
    let store = BillingStore::new(aws.dynamodb.clone(), &table);
    let stored = store
        .subscription(&ids.account(1), &ids.contract(1))
        .await
        .unwrap()
        .unwrap();
    let mut billed = stored.subscription.clone();
    let progress = "2026-02-14".parse().unwrap();
    billed.items[0].billed_through = Some(progress);
    let change = SubscriptionChange::Update {
        subscription: billed,
        expected_version: 1,
    };
    let entity = billing_domain::ids::BillingEntityId::new("default");
    store
        .import_subscription(&change, &entity, chrono::Utc::now())
        .await
        .unwrap();

    // A new name and an extra item: amended, progress kept.
    let amended = csv.clone()
        + &format!(
            "{c}-1,{a}-1,EUR,2026-01-15,,,actual_days,onboarding,Onboarding,1,LS,500.00,standard,1 month,in_advance,2026-03-01,2026-03-31,,\n",
            c = ids.contracts,
            a = ids.accounts
        );
    let amended = amended.replace("Software licence, per user", "Software licence per user");
    let file = ids.file("amended.csv", &amended);
    assert_eq!(
        counts(
            &admin_ok(&["contracts", "import", &file]),
            ["amended", "unchanged"]
        ),
        [Some(1), Some(2)]
    );
    let stored = store
        .subscription(&ids.account(1), &ids.contract(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 3);
    assert_eq!(stored.subscription.items.len(), 3);
    assert_eq!(stored.subscription.items[0].billed_through, Some(progress));
    assert_eq!(
        stored.subscription.items[0].item.description,
        "Software licence per user"
    );

    // A new price for the billed licence takes effect today in the seller's
    // time zone (the run bills the rest of the current period pro rata);
    // the billed days keep 49.00. (It used to be refused, so a price change
    // could only wait for a later period.)
    let zone = store.billing_entity(&entity).await.unwrap().time_zone;
    let today_before = chrono::Utc::now().with_timezone(&zone).date_naive();
    let repriced = amended.replace("per user\",5,C62,49.00", "per user\",5,C62,59.00");
    let file = ids.file("repriced.csv", &repriced);
    assert_eq!(
        counts(
            &admin_ok(&["contracts", "import", &file]),
            ["amended", "unchanged"]
        ),
        [Some(1), Some(2)]
    );
    let today_after = chrono::Utc::now().with_timezone(&zone).date_naive();
    let stored = store
        .subscription(&ids.account(1), &ids.contract(1))
        .await
        .unwrap()
        .unwrap();
    let licence = &stored.subscription.items[0];
    assert_eq!(licence.billed_through, Some(progress));
    assert_eq!(
        licence.unit_price_on(progress).amount(),
        rust_decimal::Decimal::new(4900, 2)
    );
    let change = licence.price_changes.last().expect("a dated price change");
    assert!(
        (today_before..=today_after).contains(&change.effective_from),
        "{change:?}"
    );
    assert_eq!(change.value.amount(), rust_decimal::Decimal::new(5900, 2));

    // Moving the billed licence's start is refused, naming contract and
    // column, and writes nothing.
    let moved = repriced.replace(",in_advance,,,LIC-PRO", ",in_advance,2026-01-20,,LIC-PRO");
    let (found, out) = refused_import(&ids.file("moved.csv", &moved));
    assert_eq!(found, [(Some(2), "item_start".to_owned())]);
    let record = out["error"]["problems"][0]["record"].as_str().unwrap();
    assert!(record.contains(ids.contract(1).as_str()), "{out}");
    let after = store
        .subscription(&ids.account(1), &ids.contract(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, stored, "a refused amendment writes nothing");
}

#[tokio::test]
async fn usage_errors_exit_2_and_every_help_lists_the_exit_codes() {
    let _ = local().await;
    let output = Command::new(env!("CARGO_BIN_EXE_billing-admin"))
        .args(["entity", "show", "default"])
        .env_remove("BILLING_TABLE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--stack"));
    assert_eq!(admin(&["contracts", "import"]).status.code(), Some(2));
    assert_eq!(
        admin(&["contracts", "import", "x", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    for command in [
        &[][..],
        &["entity", "put"],
        &["entity", "show"],
        &["accounts", "import"],
        &["contracts", "import"],
        &["mandates", "list"],
        &["run", "start"],
        &["run", "status"],
        &["periods", "show"],
        &["periods", "close"],
        &["periods", "export"],
        &["invoices", "write-off"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let output = admin(&args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("Exit codes:") && help.contains("billing-admin"),
            "{args:?}: {help}"
        );
    }
    let help =
        String::from_utf8_lossy(&admin(&["contracts", "import", "--help"]).stdout).into_owned();
    assert!(help.contains("anchor_month") && help.contains("unit_price"));
}

#[tokio::test]
async fn a_previewed_run_is_started_followed_and_changes_no_contract() {
    // GIVEN the fixture customers and contracts
    let (aws, table, ids) = with_accounts().await;
    let file = ids.file("contracts.json", &ids.fixture("contracts.json"));
    admin_ok(&["contracts", "import", &file]);
    let (a1, a2) = (ids.account(1).to_string(), ids.account(2).to_string());

    // WHEN an operator previews 1 May for two of them
    let started = admin_ok(&[
        "run",
        "start",
        "--preview",
        "--date",
        "2026-05-01",
        "--account",
        &a1,
        "--account",
        &a2,
    ]);

    // THEN the run is planned as one batch of two customers
    let run_id = started["run_id"].as_str().expect("a run id").to_owned();
    assert!(
        run_id.starts_with("preview-default-2026-05-01"),
        "{started}"
    );
    assert_eq!(started["mode"], "preview");
    assert_eq!(started["planned_customers"], 2);
    assert!(
        started["started_by"]
            .as_str()
            .unwrap_or("")
            .starts_with("billing-admin:")
    );
    let status = admin_ok(&["run", "status", &run_id]);
    assert_eq!(status["status"], "billing");

    // WHEN the worker works off the batch (Lambda's part, played here)
    let entity = billing_tests::webhook::example_entity("default");
    let local = billing_tests::run::LocalRun::new(&aws, entity).await;
    assert!(local.deliver(&run_id).await.is_empty());

    // THEN `run status --wait` shows the outcome, and no contract changed
    let done = admin_ok(&["run", "status", &run_id, "--wait", "--timeout", "30"]);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["outcome"]["customers"], 2, "{done}");
    assert!(
        done["outcome"]["invoices"].as_u64().unwrap_or(0) >= 2,
        "{done}"
    );
    let human = admin(&["run", "status", &run_id]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("outcome: 2 customers") && text.contains("preview.csv"),
        "{text}"
    );
    for account in [ids.account(1), ids.account(2)] {
        for item in partition(&aws, &table, &account).await {
            if item["sk"]
                .as_s()
                .is_ok_and(|sk| sk.starts_with("SUBSCRIPTION#"))
            {
                assert_eq!(item["version"].as_n().ok().map(String::as_str), Some("1"));
            }
        }
    }
}

#[tokio::test]
async fn run_refusals_name_the_problem_with_their_exit_codes() {
    let _ = local().await;
    store_default_entity();
    // An unknown preview is refused (1), an unknown run is not found (1).
    let (code, out) = admin_json(&["run", "start", "--from-preview", "preview-none"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out["error"]["problems"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no such run"),
        "{out}"
    );
    // A finalize run of a past date is refused by name (§14(4) no. 3 UStG).
    let (code, out) = admin_json(&["run", "start", "--date", "2026-01-02"]);
    assert_ne!(code, 0, "{out}");
    assert_eq!(out["error"]["problems"][0]["field"], "run_date", "{out}");
    assert!(
        out["error"]["problems"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("in the past"),
        "{out}"
    );
    let (code, out) = admin_json(&["run", "status", "run-none"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["code"], "not_found");
    // --preview with --from-preview, or a bad date, is a usage error (2).
    assert_eq!(
        admin(&["run", "start", "--preview", "--from-preview", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        admin(&["run", "start", "--date", "2026-13-01"])
            .status
            .code(),
        Some(2)
    );
    // Without a queue the run cannot be planned (2), naming what is missing.
    let output = Command::new(env!("CARGO_BIN_EXE_billing-admin"))
        .args(["run", "start", "--preview"])
        .env_remove("INVOICE_RUN_QUEUE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("INVOICE_RUN_QUEUE_URL"));
}

#[tokio::test]
async fn the_oss_summary_of_a_quarter_sums_per_country_and_rate() {
    use billing_domain::ids::{BillingEntityId, InvoiceId};
    use billing_domain::invoice::{Invoice, InvoiceDraft, InvoiceRequest};
    use billing_domain::item::BillableLine;
    use billing_domain::item::Item;
    use billing_domain::money::{Currency, Money};
    use billing_domain::numbering::InvoiceNumber;
    use billing_domain::party::CustomerAccount;
    use billing_domain::seller::BillingEntity;
    use billing_domain::taxation::{EuConsumerServices, EuStandardRates};
    use rust_decimal::Decimal;

    let (aws, table) = local().await;
    let store = BillingStore::new(aws.dynamodb.clone(), table);
    // A seller of this test's own, so no other test's invoices are summed.
    let text = std::fs::read_to_string(repo().join("docs/examples/billing-entity.json"))
        .expect("example entity");
    let mut entity: BillingEntity = serde_json::from_str(&text).expect("entity decodes");
    entity.id = BillingEntityId::new(billing_tests::unique_id("ent-oss"));
    entity.tax_rules.eu_consumer_services = Some(EuConsumerServices::Oss {
        standard_rates: EuStandardRates::european_commission(),
    });
    let consumer = |country: &str| -> CustomerAccount {
        serde_json::from_value(serde_json::json!({
            "id": billing_tests::unique_id("acc-oss"), "crm_id": "crm-oss",
            "billing_entity_id": entity.id.as_str(), "name": "Consumer",
            "address": {"street": "Street 1", "city": "City", "country": country},
            "invoice_emails": ["consumer@example.org"], "language": "en",
            "currency": "EUR", "payment_terms_days": 14, "kind": "consumer",
        }))
        .expect("account decodes")
    };
    let (at, hu) = (consumer("AT"), consumer("HU"));
    let mut n = 0;
    let mut invoice = |account: &CustomerAccount, day: (i32, u32, u32), cents: i64| -> Invoice {
        n += 1;
        let line = BillableLine::new(Item::new(
            "Cloud accounting",
            Decimal::ONE,
            Money::new(Decimal::new(cents, 2), Currency::EUR),
        ));
        let on = chrono::NaiveDate::from_ymd_opt(day.0, day.1, day.2).expect("date");
        let id = InvoiceId::new(billing_tests::unique_id("inv-oss"));
        InvoiceDraft::build(&entity, account, InvoiceRequest::new(id, on, vec![line]))
            .expect("OSS invoice builds")
            .finalize(InvoiceNumber::new(format!("RE-OSS-{n}")))
    };
    let a = invoice(&at, (2026, 1, 31), 9999); // 99.99 × 20 % = 19.998 → 20.00
    let b = invoice(&at, (2026, 2, 15), 5000); // 50.00 × 20 % = 10.00
    let c = invoice(&hu, (2026, 3, 31), 11988); // 119.88 × 27 % = 32.3676 → 32.37
    let c_cancelled = billing_domain::correction::cancellation(
        &c,
        &Default::default(),
        InvoiceId::new(billing_tests::unique_id("cn-oss")),
        chrono::NaiveDate::from_ymd_opt(2026, 4, 15).expect("date"),
    )
    .expect("cancellation builds")
    .draft
    .finalize(InvoiceNumber::new("GS-OSS-1"));
    store
        .seed_invoices(&[a, b, c, c_cancelled])
        .await
        .expect("seeded");

    let rows = |quarter: &str| -> Vec<String> {
        let (code, out) = admin_json(&["oss", "summary", quarter, "--entity", entity.id.as_str()]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(out["quarter"], quarter);
        out["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}%: {} -> {}",
                    r["period"].as_str().unwrap_or("?"),
                    r["country"].as_str().unwrap_or("?"),
                    r["rate"].as_str().unwrap_or("?"),
                    r["taxable_amount"]["amount"].as_str().unwrap_or("?"),
                    r["tax_amount"]["amount"].as_str().unwrap_or("?"),
                )
            })
            .collect()
    };
    // Q1: AT 99.99 + 50.00 = 149.99, VAT 20.00 + 10.00 = 30.00; HU 119.88, 32.37.
    assert_eq!(
        rows("2026-Q1"),
        vec![
            "2026-Q1 AT 20%: 149.99 -> 30.00",
            "2026-Q1 HU 27%: 119.88 -> 32.37"
        ]
    );
    // Q2: the cancellation of the Q1 invoice corrects Q1.
    assert_eq!(rows("2026-Q2"), vec!["2026-Q1 HU 27%: -119.88 -> -32.37"]);
    let human = admin(&["oss", "summary", "2026-Q1", "--entity", entity.id.as_str()]);
    assert!(human.status.success());
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("AT") && text.contains("149.99"), "{text}");
    // A quarter that is none is a usage error (exit 2).
    let bad = admin(&["oss", "summary", "2026-Q5"]);
    assert_eq!(bad.status.code(), Some(2));
}

// ------------------------------------------------- queues and doctor

/// The queue's `maxReceiveCount`, as provisioned from the template.
async fn max_receive_count(aws: &AwsClients, queue: &str) -> usize {
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .expect("queue attributes");
    let policy: Value = serde_json::from_str(
        attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
            .expect("the queue has a redrive policy"),
    )
    .expect("the policy is JSON");
    let count = &policy["maxReceiveCount"];
    count
        .as_u64()
        .or_else(|| count.as_str().and_then(|s| s.parse().ok()))
        .expect("maxReceiveCount") as usize
}

/// This test's message on `queue` (its body contains `needle`), received
/// as Lambda receives it.
async fn receive_own(aws: &AwsClients, queue: &str, needle: &str) -> Option<SqsMessage> {
    billing_tests::delivery::receive_messages(aws, queue, |body| body.contains(needle))
        .await
        .into_iter()
        .next()
}

fn queue_row<'a>(list: &'a Value, logical_id: &str) -> &'a Value {
    list["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["logical_id"] == logical_id)
        .unwrap_or_else(|| panic!("{logical_id} is listed: {list}"))
}

#[tokio::test]
async fn a_dead_lettered_invoice_is_shown_redriven_and_archived_and_mailed_once() {
    let (aws, table) = local().await;
    let store = BillingStore::new(aws.dynamodb.clone(), table.clone());
    // GIVEN a finalized invoice the table has lost (restored to a point
    // before it) while its documents announcement is on the queue
    let seller = billing_tests::billing::stored_seller(&store).await;
    let account = billing_tests::billing::customer(&seller.id, CustomerKind::Business);
    let invoice = billing_tests::billing::invoice(
        &store,
        &seller,
        &account,
        chrono::Utc::now().date_naive(),
        rust_decimal::Decimal::new(10_000, 2),
    )
    .await;
    let invoice_id = invoice.content().id.to_string();
    let (pk, sk) = billing_store::keys::invoice(&invoice.content().id);
    aws.dynamodb
        .delete_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .send()
        .await
        .expect("the invoice item is removed");
    let documents_queue = billing_tests::resource("DOCUMENTS_QUEUE_URL");
    aws.sqs
        .send_message()
        .queue_url(&documents_queue)
        .message_body(serde_json::json!({ "invoice_id": invoice_id }).to_string())
        .send()
        .await
        .expect("the announcement is queued");
    let max = max_receive_count(&aws, &documents_queue).await;

    // WHEN the documents function fails on it each time it is received
    let mut failures = 0;
    let mut message_id = String::new();
    while let Some(message) = receive_own(&aws, &documents_queue, &invoice_id).await {
        let response = billing_tests::delivery::trigger_documents(
            &aws,
            store.clone(),
            std::slice::from_ref(&message),
        )
        .await;
        assert_eq!(response.batch_item_failures.len(), 1, "the message fails");
        message_id = message.message_id().unwrap_or_default().to_owned();
        failures += 1;
        assert!(
            failures <= max,
            "received more than maxReceiveCount ({max}) times"
        );
        billing_tests::delivery::release(&aws, &documents_queue, &message).await;
    }

    // THEN after the template's maxReceiveCount failures it is dead-lettered ...
    assert_eq!(failures, max);
    // (SQS publishes a work queue's oldest age to CloudWatch; here the test does)
    let sdk = billing_lambda::aws::load_sdk_config().await;
    aws_sdk_cloudwatch::Client::new(&sdk)
        .put_metric_data()
        .namespace("AWS/SQS")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("ApproximateAgeOfOldestMessage")
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("QueueName")
                        .value(billing_tests::stack_name("DeliveryEventsQueue"))
                        .build(),
                )
                .value(4242.0)
                .build(),
        )
        .send()
        .await
        .expect("metric data");
    let list = admin_ok(&["queues", "list"]);
    assert_eq!(
        queue_row(&list, "DeliveryEventsQueue")["oldest_age_seconds"].as_i64(),
        Some(4242)
    );
    let documents = queue_row(&list, "DocumentsQueue");
    assert_eq!(documents["dead_letter_queue"], "DocumentsDeadLetterQueue");
    assert_eq!(documents["max_receive_count"].as_u64(), Some(max as u64));
    let dead_letters = queue_row(&list, "DocumentsDeadLetterQueue");
    assert!(dead_letters["depth"].as_u64() >= Some(1), "{dead_letters}");
    assert_eq!(
        dead_letters["source_queues"],
        serde_json::json!(["DocumentsQueue"])
    );
    assert!(
        dead_letters["oldest_age_seconds"].as_i64() >= Some(0),
        "{dead_letters}"
    );
    // ... `show` names the invoice and why, and no personal data
    let shown = admin_ok(&["queues", "show", &message_id]);
    assert_eq!(
        shown["concerns"],
        serde_json::json!({ "kind": "invoice", "invoice_id": invoice_id })
    );
    assert_eq!(shown["reason"]["source"], "derived");
    assert!(
        shown["reason"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("does not exist")),
        "{shown}"
    );
    assert!(
        shown["receive_count"].as_u64() >= Some(max as u64),
        "{shown}"
    );
    assert_eq!(shown["source_queue"], "DocumentsQueue");
    let human = admin(&["queues", "show", &message_id]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.status.success() && text.contains(&invoice_id),
        "{text}"
    );
    for personal in [
        '@'.to_string(),
        account.name.clone(),
        seller.identity.legal_name.clone(),
    ] {
        assert!(!text.contains(&personal), "{personal} printed: {text}");
    }
    // ... a redrive without --apply moves nothing
    let dry = admin_ok(&["queues", "redrive", "--message", &message_id]);
    assert_eq!(
        (dry["applied"].as_bool(), dry["moved"].as_u64()),
        (Some(false), Some(0))
    );
    assert_eq!(dry["messages"][0]["message_id"], message_id.as_str());
    admin_ok(&["queues", "show", &message_id]);

    // WHEN the cause is fixed (the invoice restored) and the message redriven
    billing_tests::put_finalized_invoice(
        &aws,
        &table,
        &invoice,
        billing_store::DocumentStatus::Pending,
    )
    .await;
    let applied = admin_ok(&["queues", "redrive", "--message", &message_id, "--apply"]);
    assert_eq!(applied["moved"].as_u64(), Some(1), "{applied}");
    let (code, gone) = admin_json(&["queues", "show", &message_id]);
    assert_eq!(
        (code, gone["error"]["code"].as_str()),
        (1, Some("not_found"))
    );

    // THEN it is back on its queue, and the documents function archives the
    // invoice and asks for its delivery once, even when it gets it twice
    let redriven = receive_own(&aws, &documents_queue, &invoice_id)
        .await
        .expect("the redriven message is on the documents queue");
    for _ in 0..2 {
        let response = billing_tests::delivery::trigger_documents(
            &aws,
            store.clone(),
            std::slice::from_ref(&redriven),
        )
        .await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let stored = store
        .invoice(&invoice.content().id)
        .await
        .expect("read")
        .expect("the invoice");
    assert_eq!(
        stored.document_status,
        billing_store::DocumentStatus::Archived
    );
    let delivery_queue = billing_tests::resource("DELIVERY_QUEUE_URL");
    let requests =
        billing_tests::delivery::take_messages(&aws, &delivery_queue, |b| b.contains(&invoice_id))
            .await;
    assert_eq!(requests.len(), 1, "one delivery request");
    // ... and the e-mail goes out once, a duplicate request sends nothing
    for _ in 0..2 {
        billing_tests::delivery::trigger_delivery(&aws, store.clone(), &requests[0])
            .await
            .expect("the delivery function handles it");
    }
    let number = invoice.number().to_string();
    let mails = billing_tests::delivery::recorded_mails()
        .into_iter()
        .filter(|m| m.raw_data.contains(&number))
        .count();
    assert_eq!(mails, 1, "one e-mail for {number}");
}

/// The local stack's resource list with `replace` applied: resources of
/// the given types dropped, `extra` added; written as this test's file.
fn stack_file(ids: &Ids, name: &str, drop_types: &[&str], extra: &[(&str, &str, &str)]) -> String {
    let path = billing_tests::resource("LOCAL_AWS_STACK");
    let mut stack: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("stack.json")).expect("JSON");
    let resources = stack["resources"].as_array_mut().expect("resources");
    resources.retain(|r| !drop_types.iter().any(|t| r["type"] == *t));
    let replaced: Vec<&str> = extra.iter().map(|(logical, _, _)| *logical).collect();
    resources.retain(|r| !replaced.iter().any(|l| r["logical_id"] == *l));
    for (logical, kind, physical) in extra {
        resources.push(
            serde_json::json!({ "logical_id": logical, "type": kind, "physical_id": physical }),
        );
    }
    ids.json_file(name, &stack)
}

/// An alarm of this test's own on a topic of its own, with `subscribe`
/// queue subscriptions (confirmed at once, as SQS subscriptions are).
async fn own_alarm(subscribe: bool) -> (String, String) {
    let sdk = billing_lambda::aws::load_sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name(billing_tests::unique_id("alarms"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("topic ARN");
    if subscribe {
        let queue = billing_tests::stack_name("FailedInvocationsQueue");
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:eu-central-1:123456789012:{queue}"))
            .send()
            .await
            .expect("subscription");
    }
    let alarm = billing_tests::unique_id("alarm");
    aws_sdk_cloudwatch::Client::new(&sdk)
        .put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .alarm_actions(&topic)
        .send()
        .await
        .expect("alarm");
    (alarm, topic)
}

fn findings_of<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

#[tokio::test]
async fn doctor_passes_a_healthy_stack_and_names_each_misconfiguration() {
    let (aws, table) = local().await;
    let store = BillingStore::new(aws.dynamodb.clone(), table);
    let ids = Ids::new();
    let seller = billing_tests::billing::stored_seller(&store).await;
    let alarm_type = "AWS::CloudWatch::Alarm";

    // GIVEN the local stack, its alarms notifying a topic with a subscriber
    let (alarm, topic) = own_alarm(true).await;
    let healthy = stack_file(
        &ids,
        "healthy.json",
        &[alarm_type],
        &[
            ("QueueAlarm", alarm_type, &alarm),
            ("AlarmTopic", "AWS::SNS::Topic", &topic),
        ],
    );
    // WHEN doctor checks it
    let (code, report) = admin_json_in(
        &["doctor", "--entity", seller.id.as_str()],
        &[("LOCAL_AWS_STACK", &healthy)],
    );
    // THEN every check passes
    assert_eq!(
        (code, report["healthy"].as_bool()),
        (0, Some(true)),
        "{report}"
    );
    for check in [
        "seller",
        "ses-account",
        "ses-identity",
        "schedules",
        "statements-notification",
        "alarms",
    ] {
        let found = findings_of(&report, check);
        assert!(!found.is_empty(), "{check} was checked: {report}");
        assert!(
            found.iter().all(|f| f["severity"] == "ok"),
            "{check}: {report}"
        );
    }
    let schedules: Vec<String> = findings_of(&report, "schedules")
        .iter()
        .filter_map(|f| f["subject"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        schedules,
        [
            "schedule InvoiceRunPlannerFunctionDailyInvoiceRun",
            "schedule DunningSweepFunctionDailyDunningSweep",
            "schedule DirectDebitCollectionFunctionDailyDirectDebitCollection",
        ],
        "the run, the dunning sweep and the collection step: {report}"
    );

    // GIVEN a stack with each thing wrong: an unknown seller, a sender
    // identity SES does not have, a disabled schedule, a statements bucket
    // without its notification, alarms whose topic nobody subscribed to
    let sdk = billing_lambda::aws::load_sdk_config().await;
    let schedule = billing_tests::unique_id("schedule");
    aws_sdk_scheduler::Client::new(&sdk)
        .create_schedule()
        .name(&schedule)
        .schedule_expression("cron(0 6 * * ? *)")
        .state(aws_sdk_scheduler::types::ScheduleState::Disabled)
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .expect("window"),
        )
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn("arn:aws:lambda:eu-central-1:123456789012:function:billing-local-InvoiceRunPlannerFunction")
                .role_arn("arn:aws:iam::123456789012:role/scheduler")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("schedule");
    let bucket = billing_tests::unique_id("statements").to_lowercase();
    aws.s3
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuCentral1)
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    let (silent_alarm, silent_topic) = own_alarm(false).await;
    let unverified = "unverified.example.net";
    let broken = stack_file(
        &ids,
        "broken.json",
        &[
            alarm_type,
            "AWS::Scheduler::Schedule",
            "AWS::SES::EmailIdentity",
        ],
        &[
            ("QueueAlarm", alarm_type, &silent_alarm),
            ("AlarmTopic", "AWS::SNS::Topic", &silent_topic),
            ("DailyRun", "AWS::Scheduler::Schedule", &schedule),
            (
                "InvoiceSenderIdentity",
                "AWS::SES::EmailIdentity",
                unverified,
            ),
            ("StatementsBucket", "AWS::S3::Bucket", &bucket),
        ],
    );
    let missing_seller = billing_tests::unique_id("ent");
    // WHEN doctor checks it
    let (code, report) = admin_json_in(
        &["doctor", "--entity", &missing_seller],
        &[("LOCAL_AWS_STACK", &broken)],
    );
    // THEN it exits 1 and names each finding with its fix
    assert_eq!(
        (code, report["healthy"].as_bool()),
        (1, Some(false)),
        "{report}"
    );
    for (check, subject) in [
        ("seller", missing_seller.as_str()),
        ("ses-identity", unverified),
        ("schedules", schedule.as_str()),
        ("statements-notification", bucket.as_str()),
        ("alarms", silent_topic.as_str()),
    ] {
        let found = findings_of(&report, check);
        assert!(
            found.iter().any(|f| f["severity"] == "error"
                && f["subject"].as_str().is_some_and(|s| s.contains(subject))
                && f["fix"].as_str().is_some_and(|fix| !fix.is_empty())),
            "{check} names {subject} with a fix: {report}"
        );
    }
    assert_eq!(report["errors"].as_u64(), Some(5), "{report}");
    // ... the account itself is fine (its sandbox case is a unit test)
    assert!(
        findings_of(&report, "ses-account")
            .iter()
            .all(|f| f["severity"] == "ok")
    );
    // ... and a person reads the same
    let human = admin_in(
        &["doctor", "--entity", &missing_seller],
        &[("LOCAL_AWS_STACK", &broken)],
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1));
    assert!(
        text.contains("ERROR") && text.contains("fix:") && text.contains(&schedule),
        "{text}"
    );
}

#[test]
fn queues_and_doctor_need_the_whole_stack() {
    // Without --stack and outside the local AWS there is no resource list.
    let output = Command::new(env!("CARGO_BIN_EXE_billing-admin"))
        .args(["--json", "queues", "list"])
        .env_remove("LOCAL_AWS_STACK")
        .env("BILLING_TABLE", "t")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let out: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert!(
        out["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--stack")),
        "{out}"
    );
}

#[tokio::test]
async fn a_period_is_exported_once_and_written_out_and_an_invoice_written_off_once() {
    use billing_domain::party::CustomerKind;
    use billing_tests::billing::{customer, invoice, stored_seller};
    use rust_decimal::Decimal;

    let (aws, table) = local().await;
    let store = BillingStore::new(aws.dynamodb.clone(), table);
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let day = |text: &str| text.parse().expect("a date");
    invoice(
        &store,
        &entity,
        &account,
        day("2026-04-08"),
        Decimal::from(100),
    )
    .await;
    let open = invoice(
        &store,
        &entity,
        &account,
        day("2026-04-09"),
        Decimal::from(40),
    )
    .await;
    let id = entity.id.as_str();
    // Refused input exits 1 and names the field; nothing is closed.
    let (code, out) = admin_json(&["periods", "close", "2026-4", "--entity", id]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["error"]["problems"][0]["field"], "month", "{out}");
    let (code, out) = admin_json(&["periods", "export", "2099-01", "--entity", id]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        admin_ok(&["periods", "show", "2026-04", "--entity", id])["status"],
        "open"
    );
    // The export, written out twice, gives the same bytes.
    let dir = std::env::temp_dir().join(billing_tests::unique_id("periods"));
    let dir_text = dir.display().to_string();
    let first = admin_ok(&[
        "periods", "export", "2026-04", "--entity", id, "--out", &dir_text,
    ]);
    assert_eq!(first["status"], "exported", "{first}");
    let name = format!("EXTF_Buchungsstapel_{id}_2026-04.csv");
    let bytes = std::fs::read(dir.join(&name)).expect("written");
    assert!(bytes.starts_with(b"\"EXTF\";700;21;"));
    let again = admin_ok(&[
        "periods", "export", "2026-04", "--entity", id, "--out", &dir_text,
    ]);
    assert_eq!(again, first);
    assert_eq!(std::fs::read(dir.join(&name)).expect("written"), bytes);
    assert!(
        dir.join(format!("EXTF_Debitoren_{id}_2026-04.csv"))
            .exists()
    );
    assert!(dir.join(format!("Journal_{id}_2026-04.csv")).exists());
    // Closing an exported month is refused.
    let (code, _) = admin_json(&["periods", "close", "2026-04", "--entity", id]);
    assert_eq!(code, 1);
    // A write-off: once; again it is refused (exit 1), without a reason
    // it is a usage error (exit 2).
    let open_id = open.content().id.to_string();
    let written = admin_ok(&["invoices", "write-off", &open_id, "--reason", "insolvent"]);
    assert_eq!(written["status"], "written_off", "{written}");
    let (code, out) = admin_json(&["invoices", "write-off", &open_id, "--reason", "again"]);
    assert_eq!(code, 1, "{out}");
    let (code, _) = admin_json(&["invoices", "write-off", &open_id, "--reason", " "]);
    assert_eq!(code, 2);
}

#[tokio::test]
async fn an_imported_debtor_account_is_kept_and_another_one_refused() {
    use billing_domain::party::CustomerKind;
    use billing_tests::billing::{customer, stored_seller};

    let (aws, table) = local().await;
    let store = BillingStore::new(aws.dynamodb.clone(), table);
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    let ids = Ids::new();
    let record = |debtor: Value| {
        let mut value = serde_json::to_value(&account).expect("account encodes");
        value["debtor_account"] = debtor;
        serde_json::json!([value])
    };
    // A number that is none is refused by field, and nothing is written.
    let file = ids.json_file("bad.json", &record(serde_json::json!("10500")));
    let (code, out) = admin_json(&["accounts", "import", &file]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(problems(&out)[0].1, "[0].debtor_account", "{out}");
    assert!(store.account(&account.id).await.expect("read").is_none());
    // So is one outside the seller's debtor accounts (10000..=69999), or
    // of another length.
    for outside in [70000, 1050] {
        let file = ids.json_file("outside.json", &record(serde_json::json!(outside)));
        let (code, out) = admin_json(&["accounts", "import", &file]);
        assert_eq!(code, 1, "{out}");
        assert_eq!(problems(&out)[0].1, "[0].debtor_account", "{out}");
        assert!(store.account(&account.id).await.expect("read").is_none());
    }
    // Given with the account, it is recorded and kept.
    let file = ids.json_file("accounts.json", &record(serde_json::json!(10500)));
    assert_eq!(
        counts(&admin_ok(&["accounts", "import", &file]), ["created"]),
        [Some(1)]
    );
    assert_eq!(
        store.debtor_account(&account.id).await.expect("read"),
        Some(10500)
    );
    let again = admin_ok(&["accounts", "import", &file]);
    assert_eq!(counts(&again, ["unchanged"]), [Some(1)]);
    // Another number for it is refused by field.
    let file = ids.json_file("other.json", &record(serde_json::json!(10501)));
    let (code, out) = admin_json(&["accounts", "import", &file]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(problems(&out)[0].1, "[0].debtor_account", "{out}");
    assert_eq!(
        store.debtor_account(&account.id).await.expect("read"),
        Some(10500)
    );
}
