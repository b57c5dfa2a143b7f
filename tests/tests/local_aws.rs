//! The local endpoint behaves like AWS where billing depends on it:
//! conditional writes and transactions really execute, and every resource a
//! function's environment names exists.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use billing_tests::{local_clients, resource, unique_id};

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The shape of a finalization: advance the series counter from an expected
/// value, store the numbered invoice, and record that the opportunity was
/// invoiced, all or nothing.
fn finalization(series: &str, invoice_id: &str, opportunity: &str) -> Vec<TransactWriteItem> {
    let table = resource("BILLING_TABLE");
    let counter = Update::builder()
        .table_name(&table)
        .key("pk", s(&format!("COUNTER#{series}")))
        .key("sk", s("COUNTER"))
        .update_expression("SET next_value = if_not_exists(next_value, :zero) + :one")
        .condition_expression("attribute_not_exists(pk) OR next_value = :zero")
        .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .unwrap();
    let invoice = Put::builder()
        .table_name(&table)
        .item("pk", s(&format!("INVOICE#{invoice_id}")))
        .item("sk", s("INVOICE"))
        .item("invoice_number", s(&format!("{series}-000001")))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    let invoiced = Put::builder()
        .table_name(&table)
        .item("pk", s(&format!("OPPORTUNITY#{opportunity}")))
        .item("sk", s("INVOICED"))
        .item("invoice_id", s(invoice_id))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    vec![
        TransactWriteItem::builder().update(counter).build(),
        TransactWriteItem::builder().put(invoice).build(),
        TransactWriteItem::builder().put(invoiced).build(),
    ]
}

/// The counter's stored value, read strongly consistent.
async fn counter_value(aws: &billing_lambda::aws::AwsClients, series: &str) -> Option<String> {
    let output = aws
        .dynamodb
        .get_item()
        .table_name(resource("BILLING_TABLE"))
        .key("pk", s(&format!("COUNTER#{series}")))
        .key("sk", s("COUNTER"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    match output.item().and_then(|i| i.get("next_value")) {
        Some(AttributeValue::N(value)) => Some(value.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_transactional_conditional_write_executes_and_its_replay_is_rejected() {
    // GIVEN the billing table provisioned from the template
    let aws = local_clients().await;
    let series = unique_id("RE-2026");
    let invoice_id = unique_id("inv");
    let opportunity = unique_id("opp");

    // WHEN the finalization transaction runs
    aws.dynamodb
        .transact_write_items()
        .set_transact_items(Some(finalization(&series, &invoice_id, &opportunity)))
        .send()
        .await
        .expect("first finalization succeeds");

    // THEN all three items exist and the counter moved to 1
    assert_eq!(counter_value(&aws, &series).await.as_deref(), Some("1"));

    // WHEN the same transaction is replayed (a retried request)
    let replay = aws
        .dynamodb
        .transact_write_items()
        .set_transact_items(Some(finalization(&series, &invoice_id, &opportunity)))
        .send()
        .await;

    // THEN it is cancelled because its conditions fail, and nothing changed
    let err = replay.expect_err("a replay must be rejected");
    let service_error = err.into_service_error();
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service_error else {
        panic!("expected TransactionCanceledException, got {service_error:?}");
    };
    let codes: Vec<_> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes, vec!["ConditionalCheckFailed"; 3]);
    assert_eq!(counter_value(&aws, &series).await.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_transaction_with_one_failing_condition_writes_nothing() {
    // GIVEN an invoice that is not marked paid
    let aws = local_clients().await;
    let table = resource("BILLING_TABLE");
    let invoice_id = unique_id("inv");
    let payment_id = unique_id("pay");
    aws.dynamodb
        .put_item()
        .table_name(&table)
        .item("pk", s(&format!("INVOICE#{invoice_id}")))
        .item("sk", s("INVOICE"))
        .item("status", s("open"))
        .send()
        .await
        .unwrap();

    // WHEN a transaction writes a payment but its condition on the invoice fails
    let payment = Put::builder()
        .table_name(&table)
        .item("pk", s(&format!("PAYMENT#{payment_id}")))
        .item("sk", s("PAYMENT"))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    let invoice_is_paid = ConditionCheck::builder()
        .table_name(&table)
        .key("pk", s(&format!("INVOICE#{invoice_id}")))
        .key("sk", s("INVOICE"))
        .condition_expression("#status = :paid")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":paid", s("paid"))
        .build()
        .unwrap();
    let result = aws
        .dynamodb
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(payment).build())
        .transact_items(
            TransactWriteItem::builder()
                .condition_check(invoice_is_paid)
                .build(),
        )
        .send()
        .await;

    // THEN the transaction is cancelled and the payment was not written
    assert!(result.is_err(), "the transaction must be cancelled");
    let stored = aws
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", s(&format!("PAYMENT#{payment_id}")))
        .key("sk", s("PAYMENT"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(
        stored.item().is_none(),
        "a cancelled transaction wrote an item"
    );
}

#[tokio::test]
async fn every_resource_a_function_environment_names_exists() {
    let aws = local_clients().await;
    for table in ["BILLING_TABLE", "IDEMPOTENCY_TABLE"] {
        let described = aws
            .dynamodb
            .describe_table()
            .table_name(resource(table))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{table}: {e:?}"));
        assert!(described.table().is_some(), "{table}");
    }
    aws.s3
        .head_bucket()
        .bucket(resource("DOCUMENTS_BUCKET"))
        .send()
        .await
        .expect("DOCUMENTS_BUCKET exists");
    for queue in [
        "INVOICE_RUN_QUEUE_URL",
        "DOCUMENTS_QUEUE_URL",
        "DELIVERY_QUEUE_URL",
    ] {
        let attributes = aws
            .sqs
            .get_queue_attributes()
            .queue_url(resource(queue))
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{queue}: {e:?}"));
        assert!(
            attributes.attributes().is_some_and(
                |a| a.contains_key(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            ),
            "{queue} has no dead-letter queue"
        );
    }
}
