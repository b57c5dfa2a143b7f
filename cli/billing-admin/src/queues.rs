//! `queues list` / `queues show` / `queues redrive`: the stack's queues and
//! what landed in their dead-letter queues, with the reason and the
//! invoice, letter or run each message concerns, and the way back.
//!
//! Which queue feeds which dead-letter queue is read from each queue's
//! live `RedrivePolicy` (the template's `maxReceiveCount` included), not
//! restated here. SQS keeps no failure reason on a message: the reason
//! shown is what the stack recorded on the item the message concerns (an
//! invoice's `document_failure`, a delivery's failed reason, a run's
//! failed customers, a failed invocation's error), and says so when
//! nothing was recorded. Message bodies are never printed: they can hold
//! e-mail addresses (SES events); only ids, statuses and reasons are shown.
//!
//! Only queues without a redrive policy of their own (dead-letter queues
//! and the failed-invocations queue: nothing consumes them) are read; a
//! read hides their messages for a few seconds and gives them back at once.
//! A work queue's oldest age is the one SQS publishes to CloudWatch.
//! Redrive sends each message to its source queue first and deletes it
//! from the dead-letter queue after, so a failure in between duplicates a
//! message but never loses one; every consumer is idempotent.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use billing_domain::ids::InvoiceId;
use billing_lambda::privacy::redact_email_addresses;
use billing_store::BillingStore;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Context;
use crate::error::{AdminError, EXIT_CODES_HELP};
use crate::stack::StackResources;

/// How long a read hides a dead-letter message before giving it back.
const PEEK_VISIBILITY_SECONDS: i32 = 30;
/// How long a redrive holds a message it is moving.
const MOVE_VISIBILITY_SECONDS: i32 = 120;

/// `billing-admin queues ...`
#[derive(Debug, Subcommand)]
pub enum QueuesCommand {
    /// Every queue of the stack: depth, messages in flight, the
    /// dead-letter queue it feeds, and for dead-letter queues the age of
    /// the oldest message.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod queues list\n  billing-admin --json queues list"))]
    List,
    /// One dead-lettered message: when it was sent, how often it was
    /// received, the invoice, letter or run it concerns and why it failed.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod queues show 5fa1c3e2-...\n  billing-admin queues show --queue DocumentsDeadLetterQueue 5fa1c3e2-..."))]
    Show {
        /// The SQS message id (a dry-run `queues redrive` lists every one).
        message_id: String,
        /// Only this dead-letter queue (logical id, e.g. DeliveryDeadLetterQueue).
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
    },
    /// Move dead-lettered messages back to the queue they came from.
    ///
    /// Without --apply nothing moves: the messages that would move are
    /// listed. With --apply each is sent to its source queue, then deleted
    /// from the dead-letter queue. Fix the cause first (`queues show`
    /// says it); a message that fails again returns to the dead-letter
    /// queue after the queue's maxReceiveCount. Safe to repeat: every
    /// consumer is idempotent.
    #[command(after_help = format!("{EXIT_CODES_HELP}\n\nExamples:\n  billing-admin --stack billing-prod queues redrive\n  billing-admin --stack billing-prod queues redrive --queue DocumentsDeadLetterQueue --apply\n  billing-admin --json queues redrive --message 5fa1c3e2-... --apply"))]
    Redrive {
        /// Only this dead-letter queue (logical id); default every one
        /// that has a source queue.
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
        /// Only this message (repeat for several); default all.
        #[arg(long = "message", value_name = "MESSAGE_ID")]
        messages: Vec<String>,
        /// Move them (default: only list what would move).
        #[arg(long)]
        apply: bool,
        /// At most this many messages per dead-letter queue.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: usize,
    },
}

/// Runs a `queues` command.
pub async fn run(command: QueuesCommand, context: &Context) -> Result<(), AdminError> {
    let stack = context.stack_resources().await?;
    let sqs = aws_sdk_sqs::Client::new(context.sdk());
    let queues = StackQueues::load(&sqs, &stack).await?;
    match command {
        QueuesCommand::List => {
            let cloudwatch = aws_sdk_cloudwatch::Client::new(context.sdk());
            list(context, &sqs, &cloudwatch, &queues).await
        }
        QueuesCommand::Show { message_id, queue } => {
            show(context, &sqs, &queues, &message_id, queue.as_deref()).await
        }
        QueuesCommand::Redrive {
            queue,
            messages,
            apply,
            limit,
        } => {
            redrive(
                context,
                &sqs,
                &queues,
                queue.as_deref(),
                &messages,
                apply,
                limit,
            )
            .await
        }
    }
}

/// One queue of the stack as SQS reports it.
#[derive(Debug, Clone, Serialize)]
pub struct StackQueue {
    /// The template's logical id.
    pub logical_id: String,
    /// The queue's URL.
    #[serde(skip)]
    pub url: String,
    #[serde(skip)]
    arn: String,
    /// Messages waiting (ApproximateNumberOfMessages).
    pub depth: u64,
    /// Messages received and not yet deleted.
    pub in_flight: u64,
    /// Messages not yet visible (delayed).
    pub delayed: u64,
    /// The dead-letter queue this queue's failed messages go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    /// Receives before a message goes to the dead-letter queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_receive_count: Option<u32>,
    /// The queues whose failed messages land here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_queues: Vec<String>,
    /// Age of the oldest message in seconds: read from a queue nothing
    /// consumes, else as published to CloudWatch (none while it is empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_age_seconds: Option<i64>,
}

impl StackQueue {
    /// Whether nothing consumes the queue (it has no redrive policy): a
    /// dead-letter queue or the failed-invocations queue.
    pub fn is_end_station(&self) -> bool {
        self.dead_letter_queue.is_none()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedrivePolicy {
    dead_letter_target_arn: String,
    max_receive_count: Value,
}

/// The stack's queues, with their dead-letter relations.
#[derive(Debug, Clone)]
pub struct StackQueues {
    queues: Vec<StackQueue>,
}

impl StackQueues {
    /// Reads every `AWS::SQS::Queue` of the stack's attributes.
    pub async fn load(
        sqs: &aws_sdk_sqs::Client,
        stack: &StackResources,
    ) -> Result<Self, AdminError> {
        let mut queues = Vec::new();
        let mut targets = Vec::new();
        for resource in stack.of_type("AWS::SQS::Queue") {
            let attributes = sqs
                .get_queue_attributes()
                .queue_url(&resource.physical_id)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .map_err(|e| sqs_error("GetQueueAttributes", &e))?;
            let attributes = attributes.attributes().cloned().unwrap_or_default();
            let number = |name: QueueAttributeName| {
                attributes
                    .get(&name)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let policy: Option<RedrivePolicy> = attributes
                .get(&QueueAttributeName::RedrivePolicy)
                .and_then(|text| serde_json::from_str(text).ok());
            targets.push(policy.as_ref().map(|p| {
                let count = match &p.max_receive_count {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                (p.dead_letter_target_arn.clone(), count)
            }));
            queues.push(StackQueue {
                logical_id: resource.logical_id.clone(),
                url: resource.physical_id.clone(),
                arn: attributes
                    .get(&QueueAttributeName::QueueArn)
                    .cloned()
                    .unwrap_or_default(),
                depth: number(QueueAttributeName::ApproximateNumberOfMessages),
                in_flight: number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                delayed: number(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
                dead_letter_queue: None,
                max_receive_count: None,
                source_queues: Vec::new(),
                oldest_age_seconds: None,
            });
        }
        for (index, target) in targets.into_iter().enumerate() {
            let Some((arn, count)) = target else { continue };
            let target_id = queues
                .iter()
                .find(|q| q.arn == arn)
                .map(|q| q.logical_id.clone())
                .unwrap_or(arn);
            let source_id = queues[index].logical_id.clone();
            queues[index].dead_letter_queue = Some(target_id.clone());
            queues[index].max_receive_count = count.map(|c| u32::try_from(c).unwrap_or(u32::MAX));
            if let Some(target) = queues.iter_mut().find(|q| q.logical_id == target_id) {
                target.source_queues.push(source_id);
            }
        }
        Ok(Self { queues })
    }

    /// Every queue, in the stack's order.
    pub fn all(&self) -> &[StackQueue] {
        &self.queues
    }

    /// The queues nothing consumes, or the one `--queue` names.
    fn end_stations(&self, only: Option<&str>) -> Result<Vec<&StackQueue>, AdminError> {
        match only {
            Some(name) => {
                let queue = self
                    .queues
                    .iter()
                    .find(|q| q.logical_id == name || q.url.ends_with(&format!("/{name}")))
                    .ok_or_else(|| AdminError::NotFound {
                        what: format!("queue {name} in the stack"),
                    })?;
                if !queue.is_end_station() {
                    return Err(AdminError::Usage(format!(
                        "{name} is a work queue (its consumer reads it); name its dead-letter queue {}",
                        queue.dead_letter_queue.as_deref().unwrap_or("-")
                    )));
                }
                Ok(vec![queue])
            }
            None => Ok(self.queues.iter().filter(|q| q.is_end_station()).collect()),
        }
    }

    fn by_id(&self, logical_id: &str) -> Option<&StackQueue> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }
}

fn sqs_error(operation: &'static str, error: &(dyn std::error::Error + 'static)) -> AdminError {
    AdminError::aws("SQS", operation, error)
}

/// Reads up to `limit` messages of a queue nothing consumes and gives them
/// back (visible again) before returning.
async fn peek(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    limit: usize,
) -> Result<Vec<Message>, AdminError> {
    let mut seen = HashSet::new();
    let mut messages = Vec::new();
    let result = receive_all(
        sqs,
        url,
        limit,
        PEEK_VISIBILITY_SECONDS,
        &mut seen,
        &mut messages,
    )
    .await;
    release(sqs, url, &messages).await;
    result?;
    Ok(messages)
}

/// Receives until the queue answers empty or `limit` messages are held.
async fn receive_all(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    limit: usize,
    visibility: i32,
    seen: &mut HashSet<String>,
    messages: &mut Vec<Message>,
) -> Result<(), AdminError> {
    while messages.len() < limit {
        let wanted = i32::try_from((limit - messages.len()).min(10)).unwrap_or(10);
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(wanted)
            .visibility_timeout(visibility)
            // Long polling: a short poll can answer empty with messages left.
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", &e))?;
        let batch = received.messages();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            if seen.insert(message.message_id().unwrap_or_default().to_owned()) {
                messages.push(message.clone());
            }
        }
    }
    Ok(())
}

/// Makes held messages visible again (best effort: they reappear after
/// their visibility timeout anyway).
async fn release(sqs: &aws_sdk_sqs::Client, url: &str, messages: &[Message]) {
    for chunk in messages.chunks(10) {
        let entries = chunk.iter().enumerate().filter_map(|(i, m)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .visibility_timeout(0)
                .build()
                .ok()
        });
        let _ = sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries.collect()))
            .send()
            .await;
    }
}

/// A message's system attribute as a time (SQS gives epoch milliseconds).
fn timestamp(message: &Message, name: MessageSystemAttributeName) -> Option<DateTime<Utc>> {
    message
        .attributes()
        .and_then(|a| a.get(&name))
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis)
}

fn receive_count(message: &Message) -> Option<u64> {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
}

async fn list(
    context: &Context,
    sqs: &aws_sdk_sqs::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    queues: &StackQueues,
) -> Result<(), AdminError> {
    let now = Utc::now();
    let mut rows = Vec::new();
    for queue in queues.all() {
        let mut queue = queue.clone();
        if !queue.is_end_station() {
            queue.oldest_age_seconds = published_oldest_age(cloudwatch, &queue, now).await?;
        } else if queue.depth + queue.in_flight > 0 {
            let messages = peek(sqs, &queue.url, 1000).await?;
            queue.oldest_age_seconds = messages
                .iter()
                .filter_map(|m| timestamp(m, MessageSystemAttributeName::SentTimestamp))
                .min()
                .map(|sent| (now - sent).num_seconds());
        }
        rows.push(queue);
    }
    let text = {
        let mut lines = vec![format!(
            "{:<34} {:>6} {:>9} {:>10}  {}",
            "QUEUE", "DEPTH", "IN FLIGHT", "OLDEST", "DEAD LETTERS"
        )];
        for q in &rows {
            let relation = match (&q.dead_letter_queue, q.source_queues.is_empty()) {
                (Some(dlq), _) => format!(
                    "-> {dlq} after {} receives",
                    q.max_receive_count.map_or("?".into(), |c| c.to_string())
                ),
                (None, false) => format!("dead-letter queue of {}", q.source_queues.join(", ")),
                (None, true) => "no source queue (failed invocations)".to_owned(),
            };
            lines.push(format!(
                "{:<34} {:>6} {:>9} {:>10}  {relation}",
                q.logical_id,
                q.depth,
                q.in_flight,
                q.oldest_age_seconds.map_or("-".into(), age),
            ));
        }
        lines.join("\n")
    };
    context
        .output
        .result(&serde_json::json!({ "queues": rows }), || text);
    Ok(())
}

/// A work queue's oldest message age as SQS publishes it to CloudWatch
/// (`ApproximateAgeOfOldestMessage`, the latest minute of the last ten):
/// reading the queue itself would take messages from its consumer.
async fn published_oldest_age(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    queue: &StackQueue,
    now: DateTime<Utc>,
) -> Result<Option<i64>, AdminError> {
    use aws_sdk_cloudwatch::primitives::DateTime as AwsTime;
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let name = queue.url.rsplit('/').next().unwrap_or_default();
    let statistics = cloudwatch
        .get_metric_statistics()
        .namespace("AWS/SQS")
        .metric_name("ApproximateAgeOfOldestMessage")
        .dimensions(Dimension::builder().name("QueueName").value(name).build())
        .start_time(AwsTime::from_secs(
            (now - chrono::Duration::minutes(10)).timestamp(),
        ))
        .end_time(AwsTime::from_secs(now.timestamp() + 60))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .map_err(|e| AdminError::aws("CloudWatch", "GetMetricStatistics", &e))?;
    Ok(statistics
        .datapoints()
        .iter()
        .filter_map(|p| Some((p.timestamp()?.secs(), p.maximum()?)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, seconds)| seconds as i64))
}

/// An age for a person: `3d 4h`, `2h 5m`, `40s`.
fn age(seconds: i64) -> String {
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m {}s", seconds % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// A dead-lettered message as shown: ids, times, what it concerns, why.
#[derive(Debug, Serialize)]
pub struct DeadLetter {
    /// The dead-letter queue holding it.
    pub queue: String,
    /// Where a redrive sends it (none for failed invocations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_queue: Option<String>,
    /// SQS's message id.
    pub message_id: String,
    /// When it was first sent (to the source queue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Seconds since then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    /// When a consumer first received it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_received_at: Option<DateTime<Utc>>,
    /// Receives so far (including the failed ones at the source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_count: Option<u64>,
    /// The invoice, letter, run or function it concerns.
    pub concerns: Concern,
    /// Why it failed, as far as the stack recorded it.
    pub reason: Reason,
}

/// What a message is about, by id only (no personal data).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Concern {
    /// An invoice's documents or delivery.
    Invoice {
        /// The invoice id.
        invoice_id: String,
    },
    /// A dunning letter's documents or delivery.
    DunningLetter {
        /// The letter id.
        letter_id: String,
    },
    /// A batch of an invoice run.
    RunBatch {
        /// The run.
        run_id: String,
        /// The batch.
        batch_id: String,
        /// The customers of the batch.
        account_ids: Vec<String>,
    },
    /// An SES event (delivery, bounce, complaint) for an e-mail.
    SesEvent {
        /// e.g. `Bounce`.
        event_type: String,
        /// SES's message id of the e-mail.
        ses_message_id: String,
    },
    /// A function invocation that failed all its retries.
    FailedInvocation {
        /// The function's ARN.
        function: String,
        /// e.g. `RetriesExhausted`.
        condition: String,
    },
    /// A body this command does not know; not shown (it may hold personal data).
    Unknown {
        /// Its length in bytes.
        bytes: usize,
    },
}

/// Why a message failed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reason {
    /// The reason, e-mail addresses redacted.
    pub text: String,
    /// Where it comes from: `recorded` (on the item), `derived` (the item's
    /// state explains it) or `not_recorded`.
    pub source: &'static str,
}

impl Reason {
    fn recorded(text: impl AsRef<str>) -> Self {
        Self {
            text: redact_email_addresses(text.as_ref()),
            source: "recorded",
        }
    }
    fn derived(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            source: "derived",
        }
    }
    fn not_recorded(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            source: "not_recorded",
        }
    }
}

/// What a body is about, from its shape.
pub fn concern(body: &str) -> Concern {
    let unknown = Concern::Unknown { bytes: body.len() };
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return unknown;
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    if let (Some(run_id), Some(batch_id)) = (text(&value, "run_id"), text(&value, "batch_id")) {
        let account_ids = value
            .get("account_ids")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        return Concern::RunBatch {
            run_id,
            batch_id,
            account_ids,
        };
    }
    if let Some(letter_id) = text(&value, "letter_id") {
        return Concern::DunningLetter { letter_id };
    }
    if let Some(invoice_id) = text(&value, "invoice_id") {
        return Concern::Invoice { invoice_id };
    }
    // An SNS notification around an SES event.
    if let Some(event) =
        text(&value, "Message").and_then(|m| serde_json::from_str::<Value>(&m).ok())
    {
        let event_type = text(&event, "eventType").or_else(|| text(&event, "notificationType"));
        let ses_message_id = event.get("mail").and_then(|mail| text(mail, "messageId"));
        if let (Some(event_type), Some(ses_message_id)) = (event_type, ses_message_id) {
            return Concern::SesEvent {
                event_type,
                ses_message_id,
            };
        }
    }
    // A Lambda on-failure destination record.
    if let Some(request) = value.get("requestContext") {
        return Concern::FailedInvocation {
            function: text(request, "functionArn").unwrap_or_default(),
            condition: text(request, "condition").unwrap_or_default(),
        };
    }
    unknown
}

/// Why the message concerning `concern` failed, from what the stack keeps.
async fn reason(store: &BillingStore, concern: &Concern, body: &str) -> Result<Reason, AdminError> {
    Ok(match concern {
        Concern::Invoice { invoice_id } => {
            match store.invoice(&InvoiceId::new(invoice_id.clone())).await? {
                None => Reason::derived(format!(
                    "invoice {invoice_id} does not exist in the table (restored to an earlier point, or never committed); redrive once it exists"
                )),
                Some(stored) => {
                    if let Some(failure) = &stored.document_failure {
                        Reason::recorded(format!(
                            "documents failed ({}) {} time(s), last at {}: {}",
                            failure.code,
                            failure.attempts,
                            failure.at.to_rfc3339(),
                            failure.reason
                        ))
                    } else if let Some(delivery) = &stored.delivery {
                        match &delivery.reason {
                            Some(reason) => Reason::recorded(format!(
                                "delivery {}: {reason}",
                                delivery.status.as_str()
                            )),
                            None => Reason::derived(format!(
                                "invoice {} delivery is {}; no failure recorded on the invoice (see the invoice-delivery log for this message id)",
                                stored.invoice.number(),
                                delivery.status.as_str()
                            )),
                        }
                    } else {
                        Reason::not_recorded(format!(
                            "invoice {} records no failure (documents {}); see the consumer's log for this message id",
                            stored.invoice.number(),
                            if stored.documents.is_empty() {
                                "pending"
                            } else {
                                "archived"
                            }
                        ))
                    }
                }
            }
        }
        Concern::DunningLetter { letter_id } => match store.dunning_letter(letter_id).await? {
            None => Reason::derived(format!(
                "dunning letter {letter_id} does not exist in the table; redrive once it exists"
            )),
            Some(letter) => match letter.delivery.as_ref() {
                Some(delivery) => match &delivery.reason {
                    Some(reason) => {
                        Reason::recorded(format!("delivery {}: {reason}", delivery.status.as_str()))
                    }
                    None => Reason::not_recorded(format!(
                        "letter delivery is {}; no failure recorded (see the invoice-delivery log for this message id)",
                        delivery.status.as_str()
                    )),
                },
                None => Reason::not_recorded(format!(
                    "letter {} archived, never sent; no failure recorded (see the consumer's log for this message id)",
                    if letter.document.is_some() {
                        "is"
                    } else {
                        "is not"
                    }
                )),
            },
        },
        Concern::RunBatch {
            run_id,
            account_ids,
            ..
        } => match store.run(run_id).await? {
            None => Reason::derived(format!("run {run_id} does not exist in the table")),
            Some(record) => {
                let outcome = store.tally_run(run_id).await?;
                let failures: Vec<String> = outcome
                    .failures
                    .iter()
                    .filter(|f| account_ids.iter().any(|a| a == f.account_id.as_str()))
                    .map(|f| format!("{} ({}): {}", f.account_id, f.code, f.reason))
                    .collect();
                if failures.is_empty() {
                    Reason::not_recorded(format!(
                        "run {run_id} is {:?} ({} of {} batches done); no customer of this batch recorded a failure (see the invoice-run-worker log for this message id)",
                        record.status, record.done_batches, record.planned_batches
                    ))
                } else {
                    Reason::recorded(failures.join("; "))
                }
            }
        },
        Concern::SesEvent { .. } => Reason::not_recorded(
            "the delivery-events function records no failure; its log names this message id",
        ),
        Concern::FailedInvocation { .. } => {
            let value: Value = serde_json::from_str(body).unwrap_or_default();
            let payload = value.get("responsePayload");
            let field = |key: &str| {
                payload
                    .and_then(|p| p.get(key))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let (kind, message) = (field("errorType"), field("errorMessage"));
            if kind.is_empty() && message.is_empty() {
                Reason::not_recorded(
                    "the invocation record carries no error; see the function's log",
                )
            } else {
                Reason::recorded(format!("{kind}: {message}"))
            }
        }
        Concern::Unknown { .. } => Reason::not_recorded(
            "unknown message shape; its body is not shown (it may hold personal data)",
        ),
    })
}

async fn describe(
    store: &BillingStore,
    queue: &StackQueue,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<DeadLetter, AdminError> {
    let body = message.body().unwrap_or_default();
    let concerns = concern(body);
    let reason = reason(store, &concerns, body).await?;
    let sent_at = timestamp(message, MessageSystemAttributeName::SentTimestamp);
    Ok(DeadLetter {
        queue: queue.logical_id.clone(),
        source_queue: queue.source_queues.first().cloned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        sent_at,
        age_seconds: sent_at.map(|t| (now - t).num_seconds()),
        first_received_at: timestamp(
            message,
            MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
        ),
        receive_count: receive_count(message),
        concerns,
        reason,
    })
}

fn concern_text(concern: &Concern) -> String {
    match concern {
        Concern::Invoice { invoice_id } => format!("invoice {invoice_id}"),
        Concern::DunningLetter { letter_id } => format!("dunning letter {letter_id}"),
        Concern::RunBatch {
            run_id,
            batch_id,
            account_ids,
        } => format!(
            "run {run_id}, batch {batch_id} ({} customers: {})",
            account_ids.len(),
            account_ids.join(", ")
        ),
        Concern::SesEvent {
            event_type,
            ses_message_id,
        } => format!("SES {event_type} event for e-mail {ses_message_id}"),
        Concern::FailedInvocation {
            function,
            condition,
        } => format!("invocation of {function} ({condition})"),
        Concern::Unknown { bytes } => format!("unknown message ({bytes} bytes, not shown)"),
    }
}

fn dead_letter_text(d: &DeadLetter) -> String {
    [
        format!("message {} in {}", d.message_id, d.queue),
        format!(
            "  sent      {} ({} ago), received {} time(s)",
            d.sent_at.map_or("-".into(), |t| t.to_rfc3339()),
            d.age_seconds.map_or("-".into(), age),
            d.receive_count.map_or("?".into(), |c| c.to_string())
        ),
        format!("  concerns  {}", concern_text(&d.concerns)),
        format!("  reason    {} [{}]", d.reason.text, d.reason.source),
        format!(
            "  redrive   {}",
            d.source_queue.as_ref().map_or(
                "no source queue: re-invoke the function (see docs/operations.md)".into(),
                |s| format!("back to {s}")
            )
        ),
    ]
    .join("\n")
}

async fn show(
    context: &Context,
    sqs: &aws_sdk_sqs::Client,
    queues: &StackQueues,
    message_id: &str,
    only: Option<&str>,
) -> Result<(), AdminError> {
    let store = context.store().await?;
    let now = Utc::now();
    for queue in queues.end_stations(only)? {
        let messages = peek(sqs, &queue.url, 1000).await?;
        if let Some(message) = messages.iter().find(|m| m.message_id() == Some(message_id)) {
            let shown = describe(&store, queue, message, now).await?;
            let text = dead_letter_text(&shown);
            context.output.result(&shown, || text);
            return Ok(());
        }
    }
    Err(AdminError::NotFound {
        what: format!("message {message_id} in a dead-letter queue"),
    })
}

/// One message a redrive moves (or would move).
#[derive(Debug, Serialize)]
struct Move {
    #[serde(flatten)]
    message: DeadLetter,
    /// Whether it was moved (false in a dry run).
    moved: bool,
}

#[allow(clippy::too_many_arguments)]
async fn redrive(
    context: &Context,
    sqs: &aws_sdk_sqs::Client,
    queues: &StackQueues,
    only: Option<&str>,
    selected: &[String],
    apply: bool,
    limit: usize,
) -> Result<(), AdminError> {
    let store = context.store().await?;
    let now = Utc::now();
    let mut plan: Vec<(&StackQueue, &StackQueue, Vec<Message>)> = Vec::new();
    let mut found = HashSet::new();
    for dead_letters in queues.end_stations(only)? {
        let Some(source) = dead_letters
            .source_queues
            .first()
            .and_then(|id| queues.by_id(id))
        else {
            if only.is_some() {
                return Err(AdminError::Usage(format!(
                    "{} is no dead-letter queue of a queue (failed invocations): re-invoke the function instead (docs/operations.md)",
                    dead_letters.logical_id
                )));
            }
            continue;
        };
        let messages: Vec<Message> = peek(sqs, &dead_letters.url, limit)
            .await?
            .into_iter()
            .filter(|m| {
                selected.is_empty()
                    || selected
                        .iter()
                        .any(|id| Some(id.as_str()) == m.message_id())
            })
            .collect();
        found.extend(
            messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned)),
        );
        plan.push((dead_letters, source, messages));
    }
    let missing: Vec<&String> = selected.iter().filter(|id| !found.contains(*id)).collect();
    if !missing.is_empty() {
        return Err(AdminError::NotFound {
            what: format!(
                "message {} in a dead-letter queue (nothing was moved)",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let total: usize = plan.iter().map(|(_, _, m)| m.len()).sum();
    let bar = context.output.progress(total, "moved");
    let mut moves = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (dead_letters, source, messages) in plan {
        let wanted: HashSet<String> = messages
            .iter()
            .filter_map(|m| m.message_id().map(str::to_owned))
            .collect();
        let mut moved_ids = HashSet::new();
        if apply {
            moved_ids = move_messages(sqs, dead_letters, source, &wanted, &bar).await?;
        }
        for message in &messages {
            let id = message.message_id().unwrap_or_default();
            let moved = moved_ids.contains(id);
            if moved || !apply {
                *counts
                    .entry(format!(
                        "{} -> {}",
                        dead_letters.logical_id, source.logical_id
                    ))
                    .or_default() += 1;
            }
            moves.push(Move {
                message: describe(&store, dead_letters, message, now).await?,
                moved,
            });
        }
    }
    bar.finish_and_clear();
    let moved = moves.iter().filter(|m| m.moved).count();
    let text = {
        let mut lines: Vec<String> = moves
            .iter()
            .map(|m| {
                format!(
                    "{} {} ({}): {}",
                    if m.moved {
                        "moved"
                    } else if apply {
                        "NOT moved"
                    } else {
                        "would move"
                    },
                    m.message.message_id,
                    concern_text(&m.message.concerns),
                    m.message.reason.text
                )
            })
            .collect();
        for (route, n) in &counts {
            lines.push(format!(
                "{route}: {n} message(s){}",
                if apply { " moved" } else { " would move" }
            ));
        }
        if moves.is_empty() {
            lines.push("no dead-lettered messages to redrive".to_owned());
        } else if !apply {
            lines.push("dry run: nothing moved; add --apply to move them".to_owned());
        }
        lines.join("\n")
    };
    let report = serde_json::json!({ "applied": apply, "moved": moved, "messages": moves });
    context.output.result(&report, || text);
    if apply && moved < moves.len() {
        return Err(AdminError::Aws {
            service: "SQS",
            operation: "redrive",
            message: format!(
                "{} of {} messages were not moved (received by someone else meanwhile?); run the redrive again",
                moves.len() - moved,
                moves.len()
            ),
        });
    }
    Ok(())
}

/// Sends each wanted message of `dead_letters` to `source`, then deletes it
/// from `dead_letters`; others are given back. Returns the moved ids.
async fn move_messages(
    sqs: &aws_sdk_sqs::Client,
    dead_letters: &StackQueue,
    source: &StackQueue,
    wanted: &HashSet<String>,
    bar: &indicatif::ProgressBar,
) -> Result<HashSet<String>, AdminError> {
    let mut seen = HashSet::new();
    let mut held = Vec::new();
    let limit = wanted.len().max(1) * 2 + 10;
    let received = receive_all(
        sqs,
        &dead_letters.url,
        limit,
        MOVE_VISIBILITY_SECONDS,
        &mut seen,
        &mut held,
    )
    .await;
    let mut moved = HashSet::new();
    let mut others = Vec::new();
    let mut failure = received.err();
    for message in held {
        let id = message.message_id().unwrap_or_default().to_owned();
        if failure.is_some() || !wanted.contains(&id) {
            others.push(message);
            continue;
        }
        let sent = sqs
            .send_message()
            .queue_url(&source.url)
            .message_body(message.body().unwrap_or_default())
            .set_message_attributes(message.message_attributes().cloned())
            .send()
            .await;
        if let Err(e) = sent {
            failure = Some(sqs_error("SendMessage", &e));
            others.push(message);
            continue;
        }
        // Sent: from here a failure only leaves a duplicate behind.
        let deleted = sqs
            .delete_message()
            .queue_url(&dead_letters.url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await;
        if let Err(e) = deleted {
            failure = Some(sqs_error("DeleteMessage", &e));
        }
        moved.insert(id);
        bar.inc(1);
    }
    release(sqs, &dead_letters.url, &others).await;
    match failure {
        Some(error) => Err(error),
        None => Ok(moved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_what_it_concerns_without_personal_data() {
        assert_eq!(
            concern(r#"{"invoice_id":"inv_1","invoice_number":"RE-1","documents":[]}"#),
            Concern::Invoice {
                invoice_id: "inv_1".into()
            }
        );
        assert_eq!(
            concern(r#"{"letter_id":"dun_1"}"#),
            Concern::DunningLetter {
                letter_id: "dun_1".into()
            }
        );
        assert_eq!(
            concern(
                r#"{"run_id":"r","batch_id":"b","run_date":"2026-12-01","mode":"finalize","account_ids":["a","b"]}"#
            ),
            Concern::RunBatch {
                run_id: "r".into(),
                batch_id: "b".into(),
                account_ids: vec!["a".into(), "b".into()]
            }
        );
        let ses = serde_json::json!({
            "Type": "Notification",
            "Message": serde_json::json!({
                "eventType": "Bounce",
                "mail": {"messageId": "ses-1", "destination": ["erika@example.com"]}
            }).to_string()
        });
        assert_eq!(
            concern(&ses.to_string()),
            Concern::SesEvent {
                event_type: "Bounce".into(),
                ses_message_id: "ses-1".into()
            }
        );
        assert_eq!(
            concern("IBAN DE89 3704 0044 0532 0130 00, Erika Mustermann"),
            Concern::Unknown { bytes: 50 }
        );
    }

    #[tokio::test]
    async fn a_failed_invocation_shows_its_error_with_addresses_redacted() {
        let body = serde_json::json!({
            "requestContext": {"functionArn": "arn:aws:lambda:eu-central-1:1:function:f", "condition": "RetriesExhausted"},
            "responsePayload": {"errorType": "PaymentImportError", "errorMessage": "statement from erika@example.com refused"}
        })
        .to_string();
        let concern = concern(&body);
        assert!(
            matches!(concern, Concern::FailedInvocation { ref condition, .. } if condition == "RetriesExhausted")
        );
        // The store is not consulted for a failed invocation.
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let store = BillingStore::new(aws_sdk_dynamodb::Client::new(&sdk), "unused".to_owned());
        let reason = reason(&store, &concern, &body).await.unwrap();
        assert_eq!(reason.source, "recorded");
        assert!(
            reason
                .text
                .starts_with("PaymentImportError: statement from ")
        );
        assert!(
            !reason.text.contains("erika@example.com"),
            "{}",
            reason.text
        );
    }

    #[test]
    fn ages_read_for_a_person() {
        assert_eq!(age(40), "40s");
        assert_eq!(age(125), "2m 5s");
        assert_eq!(age(2 * 3600 + 5 * 60), "2h 5m");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3d 4h");
    }
}
