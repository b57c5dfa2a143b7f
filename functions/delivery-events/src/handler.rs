//! The delivery-events queue's messages in (SNS notifications carrying SES
//! events), one [`DeliveryEventService::apply`] call each, per-message
//! failures out.
//!
//! Logs name the event type, invoice id, SES message id and recipient
//! counts only: never an address, a name or a diagnostic code.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use billing_lambda::metrics::{self, MetricLine};
use billing_lambda::sqs::process_batch;
use lambda_runtime::LambdaEvent;

use crate::error::DeliveryEventsError;
use crate::event::{EventKind, SesEvent, parse_notification};
use crate::service::{Applied, DeliveryEventService};

/// The function's name in its business metrics.
pub const FUNCTION: &str = "delivery-events";

/// Handles a batch; failed messages return to the queue (and after the
/// queue's `maxReceiveCount` land in its dead-letter queue).
pub async fn handle(
    service: &DeliveryEventService,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(process_batch(event.payload, |message| handle_message(service, message)).await)
}

/// One message: parse the notification, then record the event. A malformed
/// notification is refused before anything is written.
pub async fn handle_message(
    service: &DeliveryEventService,
    message: SqsMessage,
) -> Result<(), DeliveryEventsError> {
    let event = parse_notification(message.body.as_deref())?;
    let applied = service.apply(&event).await?;
    log(&event, &applied);
    MetricLine::new(FUNCTION)
        .count(
            metrics::INVOICES_BOUNCED,
            usize::from(matches!(event.kind, EventKind::Bounce(_))),
        )
        .count(
            metrics::COMPLAINTS,
            usize::from(matches!(event.kind, EventKind::Complaint(_))),
        )
        .emit();
    Ok(())
}

fn log(event: &SesEvent, applied: &Applied) {
    let recipients = match &event.kind {
        EventKind::Bounce(bounce) => bounce.recipients.len(),
        EventKind::Complaint(complaint) => complaint.recipients.len(),
        EventKind::Delivery { recipients, .. } => *recipients,
        _ => event.mail.destinations,
    };
    let event_type = event.event_type();
    let dispatch = event.mail.dispatch.to_string();
    let ses_message_id = event.mail.message_id.as_str();
    match applied {
        Applied::Recorded { status, suppressed } => tracing::info!(
            event_type,
            dispatch = %dispatch,
            ses_message_id,
            recipients,
            status = status.as_str(),
            suppressed,
            "SES event recorded"
        ),
        Applied::Superseded {
            status,
            current,
            suppressed,
        } => tracing::info!(
            event_type,
            dispatch = %dispatch,
            ses_message_id,
            recipients,
            status = status.as_str(),
            current = current.map_or("none", |c| c.as_str()),
            suppressed,
            "SES event not applied: the invoice has a weightier outcome or another message"
        ),
        Applied::Ignored => tracing::info!(
            event_type,
            dispatch = %dispatch,
            ses_message_id,
            "SES event acknowledged; nothing to record for this type"
        ),
    }
}
