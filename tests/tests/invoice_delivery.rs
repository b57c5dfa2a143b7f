//! From deal to inbox against the local AWS endpoint, through the real
//! handlers: webhook → invoice-pdf (real rendering) → delivery queue →
//! invoice-delivery → SES. The e-mail the endpoint recorded has the right
//! recipients, subject and language, and carries the archived PDF byte for
//! byte; the invoice records `sent` with SES's message id. Then SES reports
//! a bounce through SNS (a recorded notification, played through the real
//! delivery-events handler). Every log line written along the way is
//! captured and must hold no e-mail address; so must every metric line,
//! which must also be valid embedded metric format.

use std::io::Write;
use std::sync::{Arc, Mutex};

use billing_domain::ids::InvoiceId;
use billing_lambda::privacy::redact_email_addresses;
use billing_lambda::sqs::RetryBackoff;
use billing_store::{DeliveryRequest, DeliveryStatus};
use billing_tests::delivery::{delivery_service, recorded_mails, sqs_event, take_messages};
use billing_tests::webhook::{example_entity, example_opportunity, post, signed, webhook_state};
use billing_tests::{local_clients, resource, unique_id};
use invoice_delivery::handler::{RETRY_FIRST, RETRY_MAX};
use lambda_runtime::{Context, LambdaEvent};
use mail_parser::MimeHeaders;
use sha2::{Digest, Sha256};

/// Everything the functions log in this process, as the JSON lines Lambda
/// would ship to CloudWatch.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Install as the process's subscriber: JSON like production, and
    /// stricter than it (DEBUG for our crates, INFO for the rest).
    fn install() -> Self {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,billing_store=debug,billing_lambda=debug,invoice_pdf=debug,\
                 invoice_delivery=debug,opportunity_webhook=debug,delivery_events=debug",
            ))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other subscriber in this test process");
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

#[tokio::test]
async fn a_closed_deal_reaches_the_customer_and_no_log_line_names_anyone() {
    let logs = CapturedLogs::install();
    let metrics = billing_lambda::metrics::Recorder::start();
    let aws = local_clients().await;

    // GIVEN a seller, and a customer who reads English with two addresses
    let seller = example_entity(&unique_id("ent"));
    let seller_id = seller.id.clone();
    let state = webhook_state(seller).await;
    let domain = format!("{}.example", unique_id("kunde"));
    let (to, cc) = (format!("ap@{domain}"), format!("controller@{domain}"));
    let mut deal = example_opportunity();
    deal["opportunity_id"] = unique_id("opp").into();
    deal["account"]["crm_id"] = unique_id("crm").into();
    deal["account"]["invoice_emails"] = serde_json::json!([to, cc]);
    deal["account"]["language"] = "en".into();
    let customer = deal["account"]["name"].as_str().unwrap().to_owned();

    // WHEN the CRM closes the deal ...
    let body = serde_json::to_vec(&deal).unwrap();
    let now = chrono::Utc::now();
    let (status, answer, _) = post(&state, signed(&body, now), now).await;
    assert_eq!(status, 201, "{answer}");
    let invoice_id = InvoiceId::new(answer["invoice_id"].as_str().unwrap());
    let number = answer["invoice_number"].as_str().unwrap().to_owned();

    // ... its documents are rendered and archived (the pipe's trigger) ...
    let store = billing_tests::webhook::local_store().await;
    let documents = billing_tests::delivery::document_service(&aws, store.clone());
    documents.produce(&invoice_id).await.unwrap();

    // ... and the delivery request reaches invoice-delivery through its queue
    let queue = resource("DELIVERY_QUEUE_URL");
    let messages = take_messages(&aws, &queue, |body| body.contains(invoice_id.as_str())).await;
    assert_eq!(messages.len(), 1, "one delivery request");
    let request: DeliveryRequest =
        serde_json::from_str(messages[0].body().unwrap_or_default()).unwrap();
    let delivery = delivery_service(&aws, store.clone());
    let backoff = RetryBackoff::new(aws.sqs.clone(), &queue, RETRY_FIRST, RETRY_MAX);
    let response = invoice_delivery::handler::handle(
        &delivery,
        &backoff,
        LambdaEvent::new(sqs_event(&messages), Context::default()),
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());

    // THEN SES sent one e-mail: To the first address, Cc the second ...
    let mails: Vec<_> = recorded_mails()
        .into_iter()
        .filter(|m| m.destinations.iter().any(|d| d.contains(&domain)))
        .collect();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.raw_data.as_bytes())
        .unwrap();
    let addresses = |list: Option<&mail_parser::Address>| -> Vec<String> {
        list.map(|l| {
            l.iter()
                .filter_map(|a| a.address())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    };
    assert_eq!(addresses(parsed.to()), vec![to.clone()]);
    assert_eq!(addresses(parsed.cc()), vec![cc.clone()]);
    assert_eq!(
        addresses(parsed.from()),
        vec!["invoices@example.com".to_owned()]
    );
    assert_eq!(
        addresses(parsed.reply_to()),
        vec!["billing@example.com".to_owned()]
    );
    // ... in English, naming the invoice ...
    assert_eq!(
        parsed.subject().unwrap(),
        format!("Invoice {number} from Beispiel Software GmbH")
    );
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("please find attached our invoice"), "{text}");
    assert!(text.contains(&number));
    // ... with the archived PDF attached, byte for byte
    let pdf_record = &request.documents[0];
    assert_eq!(pdf_record.content_type, "application/pdf");
    let archived = aws
        .s3
        .get_object()
        .bucket(resource("DOCUMENTS_BUCKET"))
        .key(&pdf_record.key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let attachments: Vec<_> = parsed.attachments().collect();
    assert_eq!(attachments.len(), 1, "the PDF only (no XRechnung customer)");
    assert_eq!(
        attachments[0].attachment_name(),
        Some(format!("{number}.pdf").as_str())
    );
    let attached = hex::encode(Sha256::digest(attachments[0].contents()));
    assert_eq!(attached, hex::encode(Sha256::digest(&archived)));
    assert_eq!(attached, pdf_record.sha256);
    // AND the invoice records `sent` with SES's message id
    let delivered = store.delivery_state(&invoice_id).await.unwrap().unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Sent);
    assert_eq!(delivered.message_id.as_deref(), Some(mail.id.as_str()));

    // WHEN the first address bounces for good (SES → SNS → events queue)
    let bounce = bounce_notification(&invoice_id, &mail.id, &to);
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
    message.message_id = Some(unique_id("sns"));
    message.body = Some(bounce);
    event.records = vec![message];
    let events = delivery_events::service::DeliveryEventService::new(store.clone());
    let response =
        delivery_events::handler::handle(&events, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    assert!(response.batch_item_failures.is_empty());

    // THEN the invoice is bounced, the address suppressed for the account,
    // and the invoice is on the seller's needs-attention list
    let bounced = store.delivery_state(&invoice_id).await.unwrap().unwrap();
    assert_eq!(bounced.status, DeliveryStatus::Bounced);
    let account = store
        .invoice(&invoice_id)
        .await
        .unwrap()
        .unwrap()
        .account_id;
    let suppressed: Vec<_> = store
        .suppressed_addresses(&account)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.address)
        .collect();
    assert_eq!(suppressed, vec![to.clone()]);
    let attention = store.needs_attention(&seller_id).await.unwrap();
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0].invoice_id, invoice_id.as_str());
    assert_eq!(attention[0].status, DeliveryStatus::Bounced);

    // AND the logs of the whole run name no one
    let captured = logs.text();
    assert!(
        captured.contains("opportunity processed"),
        "the webhook logged"
    );
    assert!(captured.contains("e-mail sent"), "the delivery logged");
    assert_eq!(
        redact_email_addresses(&captured),
        captured,
        "a log line holds an e-mail address"
    );
    for personal in [
        &to,
        &cc,
        &domain,
        &customer,
        &"invoices@example.com".to_owned(),
    ] {
        assert!(
            !captured.contains(personal.as_str()),
            "{personal} in the logs"
        );
    }

    // AND the metric lines are embedded metric format, count the delivery
    // and the bounce, and name no one either
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for line in &lines {
        assert_eq!(
            billing_tests::emf::violations(line),
            Vec::<String>::new(),
            "{line}"
        );
        let text = line.to_string();
        assert_eq!(redact_email_addresses(&text), text);
        for personal in [&to, &cc, &domain, &customer] {
            assert!(!text.contains(personal.as_str()), "{personal} in {text}");
        }
    }
    let total = |function: &str, name: &str| -> f64 {
        lines
            .iter()
            .filter(|line| line["Function"] == function)
            .filter_map(|line| line[name].as_f64())
            .sum()
    };
    assert_eq!(total("opportunity-webhook", "InvoicesFinalized"), 1.0);
    assert_eq!(total("invoice-delivery", "InvoicesDelivered"), 1.0);
    assert_eq!(total("delivery-events", "InvoicesBounced"), 1.0);
    assert_eq!(total("delivery-events", "Complaints"), 0.0);
}

/// The recorded permanent-bounce notification, re-addressed to this run's
/// invoice, SES message and recipient.
fn bounce_notification(invoice: &InvoiceId, ses_message_id: &str, address: &str) -> String {
    let path = billing_tests::webhook::repo_path("tests/fixtures/ses-events/bounce-permanent.json");
    let mut envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    event["mail"]["messageId"] = ses_message_id.into();
    event["mail"]["tags"]["invoice_id"] = serde_json::json!([invoice.as_str()]);
    event["mail"]["destination"] = serde_json::json!([address]);
    let recipients = event["bounce"]["bouncedRecipients"].as_array_mut().unwrap();
    recipients.truncate(1);
    recipients[0]["emailAddress"] = address.into();
    recipients[0]["diagnosticCode"] =
        format!("smtp; 550 5.1.1 <{address}>: Recipient address rejected").into();
    envelope["Message"] = event.to_string().into();
    envelope.to_string()
}
