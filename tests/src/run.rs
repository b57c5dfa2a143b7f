//! The invoice run on the local endpoint: the planner and worker wired as
//! their `main`s wire them, the run queue played as Lambda's SQS trigger
//! would, and a customer base written straight into the table.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use billing_domain::ids::{AccountId, BillingEntityId};
use billing_domain::party::CustomerAccount;
use billing_domain::seller::BillingEntity;
use billing_lambda::aws::AwsClients;
use billing_run::preview::RunFiles;
use billing_run::queue::RunQueue;
use billing_run::{RunPlanner, RunRequest, RunWorker};
use billing_store::BillingStore;
use billing_store::run::RunRecord;
use lambda_runtime::{Context, LambdaEvent};

use crate::delivery::sqs_event;
use crate::{resource, unique_id};

/// The documented example seller under an id of its own, so a test sees
/// only its own counters, runs and due contracts in the shared emulator.
///
/// # Panics
/// When the example no longer parses.
pub fn isolated_entity() -> BillingEntity {
    let mut entity: BillingEntity =
        serde_json::from_str(include_str!("../../docs/examples/billing-entity.json"))
            .expect("the example billing entity parses");
    entity.id = BillingEntityId::new(unique_id("ent"));
    entity
}

/// A German consumer of `entity` named `name`, paying in EUR within 14 days.
pub fn consumer(entity: &BillingEntity, name: &str) -> CustomerAccount {
    let mut account =
        crate::billing::customer(&entity.id, billing_domain::party::CustomerKind::Consumer);
    account.name = name.to_owned();
    account
}

/// The run functions of one seller on the local endpoint.
pub struct LocalRun {
    /// The billing table.
    pub store: BillingStore,
    /// The planner, as `invoice-run-planner`'s main builds it.
    pub planner: RunPlanner,
    /// The worker, as `invoice-run-worker`'s main builds it.
    pub worker: RunWorker,
    /// The seller.
    pub entity: BillingEntity,
    aws: AwsClients,
    queue: String,
}

impl LocalRun {
    /// Stores `entity` and wires planner and worker for it.
    ///
    /// # Panics
    /// When the local endpoint refuses the seller.
    pub async fn new(aws: &AwsClients, entity: BillingEntity) -> Self {
        let store = BillingStore::new(aws.dynamodb.clone(), resource("BILLING_TABLE"));
        store
            .put_billing_entity(&entity)
            .await
            .expect("the seller is stored");
        let queue = resource("INVOICE_RUN_QUEUE_URL");
        let files = RunFiles::new(aws.s3.clone(), resource("DOCUMENTS_BUCKET"));
        Self {
            planner: RunPlanner::new(
                store.clone(),
                RunQueue::new(aws.sqs.clone(), queue.clone()),
                files.clone(),
                &entity,
            ),
            worker: RunWorker::new(store.clone(), files, entity.clone()),
            store,
            entity,
            aws: aws.clone(),
            queue,
        }
    }

    /// Plans, then works off every batch, then reads the run back.
    ///
    /// # Panics
    /// When planning fails or a batch fails (tests expect clean runs; use
    /// [`Self::plan`] and [`Self::deliver`] to look at failures).
    pub async fn run(&self, request: RunRequest) -> RunRecord {
        let planned = self.plan(request).await;
        let failures = self.deliver(&planned.run_id).await;
        assert!(failures.is_empty(), "batches failed: {failures:?}");
        self.record(&planned.run_id).await
    }

    /// Plans a run.
    ///
    /// # Panics
    /// When planning fails.
    pub async fn plan(&self, request: RunRequest) -> RunRecord {
        let now = self.clock_for(&request).await;
        self.planner
            .plan(&request, now)
            .await
            .unwrap_or_else(|e| panic!("planning failed: {e}"))
    }

    /// When the run of `request` happens: on its date (a finalizing run
    /// issues its invoices that day), at its scheduled time, or on the
    /// day of the preview it finalizes; now if it names none of these.
    pub async fn clock_for(&self, request: &RunRequest) -> chrono::DateTime<chrono::Utc> {
        if let Some(date) = request.run_date {
            return self.on_day(date);
        }
        if let Some(at) = request.scheduled_time {
            return at;
        }
        if let Some(preview) = &request.from_preview
            && let Ok(Some(record)) = self.store.run(preview).await
        {
            return self.on_day(record.run_date);
        }
        chrono::Utc::now()
    }

    /// `date` at the wall clock's time of day in the seller's time zone:
    /// the instant tests play a run's planner and workers at, so fixed
    /// example dates stay the day of issue, while two planners a moment
    /// apart still see two instants (their passes are named by them).
    pub fn on_day(&self, date: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        let zone = self.entity.time_zone;
        let time = chrono::Utc::now().with_timezone(&zone).time();
        [
            date.and_time(time),
            date.and_hms_opt(12, 0, 0).unwrap_or_default(),
        ]
        .into_iter()
        .find_map(|local| zone.from_local_datetime(&local).earliest())
        .map_or_else(chrono::Utc::now, |at| at.with_timezone(&chrono::Utc))
    }

    /// The run's record.
    ///
    /// # Panics
    /// When it cannot be read.
    pub async fn record(&self, run_id: &str) -> RunRecord {
        self.store
            .run(run_id)
            .await
            .expect("the run can be read")
            .expect("the run exists")
    }

    /// Hands every queued batch of `run_id` to the worker, ten per delivery
    /// like the template's trigger, until the run record counts every
    /// planned batch done; returns the message ids the worker reported as
    /// failed (they stay on the queue). Tests share the queue, so an empty
    /// receive does not mean the run's batches are gone: another test may
    /// hold one for a moment before it releases it.
    ///
    /// # Panics
    /// When the queue cannot be read, or the batches are not all done
    /// within 30 s.
    pub async fn deliver(&self, run_id: &str) -> Vec<String> {
        let now = self.on_day(self.record(run_id).await.run_date);
        let marker = format!("\"run_id\":\"{run_id}\"");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut failed = Vec::new();
        loop {
            let messages = self.take(&marker).await;
            if messages.is_empty() {
                let record = self.record(run_id).await;
                if record.planning == 0 && record.done_batches >= record.planned_batches {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "run {run_id}: {} of {} planned batches done within 30 s",
                    record.done_batches,
                    record.planned_batches
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            let event = LambdaEvent::new(sqs_event(&messages), Context::default());
            let response: SqsBatchResponse =
                invoice_run_worker::handler::handle_at(&self.worker, event, now)
                    .await
                    .expect("the handler answers");
            failed.extend(
                response
                    .batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier),
            );
            if !failed.is_empty() {
                break;
            }
        }
        failed
    }

    /// Up to ten of this run's messages, deleted as Lambda deletes a
    /// handled delivery; other tests' messages are released at once.
    async fn take(&self, marker: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let received = self
            .aws
            .sqs
            .receive_message()
            .queue_url(&self.queue)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("the run queue can be read");
        let mut mine = Vec::new();
        for message in received.messages() {
            let handle = message.receipt_handle().unwrap_or_default();
            if message.body().unwrap_or_default().contains(marker) {
                mine.push(message.clone());
                self.aws
                    .sqs
                    .delete_message()
                    .queue_url(&self.queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("the message can be deleted");
            } else {
                self.aws
                    .sqs
                    .change_message_visibility()
                    .queue_url(&self.queue)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("the message can be released");
            }
        }
        mine
    }

    /// The run's queued messages without handling them (deleted), to play
    /// redeliveries and crashes by hand.
    ///
    /// # Panics
    /// When fewer than the planned batches arrive within 30 s.
    pub async fn take_batches(&self, planned: &RunRecord) -> Vec<billing_run::RunBatch> {
        // Tests share the queue: another test may hold one of this run's
        // messages for a moment, so wait for as many as were planned
        // rather than for an empty receive.
        let marker = format!("\"run_id\":\"{}\"", planned.run_id);
        let expected = usize::try_from(planned.planned_batches).unwrap_or(usize::MAX);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut batches = Vec::new();
        while batches.len() < expected {
            assert!(
                std::time::Instant::now() < deadline,
                "run {}: {} of {expected} planned batches arrived within 30 s",
                planned.run_id,
                batches.len()
            );
            let messages = self.take(&marker).await;
            if messages.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            for message in messages {
                batches.push(
                    billing_run::RunBatch::parse(message.body())
                        .expect("the planner's message parses"),
                );
            }
        }
        batches
    }

    /// The customer's stored invoices, by number (finalized ones only).
    ///
    /// # Panics
    /// When the table cannot be read.
    pub async fn invoices_of(&self, account: &AccountId) -> Vec<billing_store::StoredInvoice> {
        let page = self
            .aws
            .dynamodb
            .query()
            .table_name(self.store.table())
            .index_name("ByAccount")
            .key_condition_expression("account_key = :a")
            .expression_attribute_values(
                ":a",
                aws_sdk_dynamodb::types::AttributeValue::S(billing_store::keys::account_partition(
                    account,
                )),
            )
            .send()
            .await
            .expect("ByAccount can be read");
        let mut invoices = Vec::new();
        for item in page.items() {
            let Some(aws_sdk_dynamodb::types::AttributeValue::S(id)) = item.get("invoice_id")
            else {
                continue;
            };
            if let Some(invoice) = self
                .store
                .invoice(&billing_domain::ids::InvoiceId::new(id))
                .await
                .expect("the invoice can be read")
            {
                invoices.push(invoice);
            }
        }
        invoices.sort_by(|a, b| a.invoice.number().as_str().cmp(b.invoice.number().as_str()));
        invoices
    }
}

/// A monthly licence in advance from 1 January 2026 at `price` EUR, billed
/// through `billed_through`.
///
/// # Panics
/// Never for a valid price.
pub fn monthly_contract(
    account: &AccountId,
    price: &str,
    billed_through: Option<chrono::NaiveDate>,
) -> billing_domain::subscription::Subscription {
    let id = unique_id("sub");
    serde_json::from_value(serde_json::json!({
        "id": id,
        "account_id": account,
        "currency": "EUR",
        "start": "2026-01-01",
        "proration": "actual_days",
        "items": [{
            "id": format!("{id}-licence"),
            "item": {
                "description": "Licence",
                "quantity": "1",
                "unit": "C62",
                "unit_price": {"amount": price, "currency": "EUR"},
                "tax_category": {"kind": "standard"}
            },
            "interval": {"count": 1, "unit": "month"},
            "timing": "in_advance",
            "billed_through": billed_through,
        }]
    }))
    .expect("a valid contract")
}

/// `make demo`'s customers (`tests/fixtures/run/demo-customers.json`),
/// stored for `entity`: accounts, contracts and parked charges.
///
/// # Panics
/// When the fixture is invalid or the endpoint refuses it.
pub async fn seed_demo_customers(run: &LocalRun) -> Vec<CustomerAccount> {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/run/demo-customers.json"))
            .expect("the demo fixture is JSON");
    let mut accounts = Vec::new();
    for customer in fixture["customers"].as_array().cloned().unwrap_or_default() {
        let mut account = customer["account"].clone();
        account["billing_entity_id"] = serde_json::json!(run.entity.id);
        let account: CustomerAccount =
            serde_json::from_value(account).expect("the demo account is valid");
        let contracts: Vec<billing_domain::subscription::Subscription> = customer["contracts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut contract| {
                contract["account_id"] = serde_json::json!(account.id);
                serde_json::from_value(contract).expect("the demo contract is valid")
            })
            .collect();
        let pending: Vec<(String, Vec<billing_domain::item::PendingCharge>)> = customer["pending"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|charge| {
                let id = charge["id"].as_str().unwrap_or("charge").to_owned();
                let charge = serde_json::from_value(serde_json::json!({
                    "id": id,
                    "account_id": account.id,
                    "item": {
                        "description": charge["description"],
                        "quantity": "1",
                        "unit": "C62",
                        "unit_price": {"amount": charge["amount"], "currency": "EUR"},
                        "tax_category": {"kind": "standard"}
                    }
                }))
                .expect("the demo charge is valid");
                (id, vec![charge])
            })
            .collect();
        run.store
            .seed_customer(&account, &contracts, &pending, chrono::Utc::now())
            .await
            .expect("the demo customer is stored");
        accounts.push(account);
    }
    accounts
}
