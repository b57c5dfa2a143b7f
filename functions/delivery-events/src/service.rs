//! One SES event: decide what it means for the invoice ([`plan`], pure),
//! then record it ([`DeliveryEventService::apply`], one store call).
//!
//! | SES event | recorded |
//! |---|---|
//! | Send | `sent` with `mail.messageId` at `mail.timestamp`; settles a claim whose worker crashed after SES accepted the mail |
//! | Delivery | `delivered` at `delivery.timestamp` |
//! | Bounce, Permanent | `bounced` with the bounce type, sub-type and each recipient's diagnostic; the bounced addresses are suppressed for the account; on the attention list |
//! | Bounce, Transient / Undetermined | `bounced` with reason and on the attention list, but **no** suppression |
//! | Complaint | `complained` with the feedback type; the complaining addresses are suppressed; on the attention list |
//! | Reject | `failed`, "SES rejected the message: …"; on the attention list, nothing suppressed |
//! | DeliveryDelay, Rendering Failure, Open, Click, Subscription, anything else | acknowledged, nothing recorded |
//!
//! Why a transient bounce suppresses nothing: SES reports it only after its
//! own retries over many hours gave up (mailbox full, a server down for
//! long), so the invoice did not arrive and a person must know, but the
//! address itself is fine and will most likely work for the next invoice.
//! Suppressing it would silently stop all future mail to a good address.
//! An undetermined bounce is treated the same way: SES could not tell why,
//! so it is no evidence that the address is bad.
//!
//! The store keeps outcomes in rank order (`sending` < `sent` < `delivered`
//! < `failed` = `bounced` < `complained`), so events may arrive in any order
//! and any number of times: a late Delivery never hides a Bounce, and a
//! replayed event writes the same values again (the timestamps are SES's,
//! not ours).

use billing_lambda::privacy::redact_email_addresses;
use billing_store::{BillingStore, DeliveryStatus, OutcomeRecorded, StoreError, TroubleReport};
use chrono::{DateTime, Utc};

use crate::error::DeliveryEventsError;
use crate::event::{Bounce, BounceType, Complaint, EventKind, SesEvent};

/// Longest recorded reason, in characters (SES diagnostics can be long).
const MAX_REASON_CHARS: usize = 1000;
/// Longest part of a reason taken from one recipient's diagnostic.
const MAX_DETAIL_CHARS: usize = 300;

/// What an event means for the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The mail went well so far: `sent` or `delivered`.
    Progress {
        /// `Sent` or `Delivered`.
        status: DeliveryStatus,
        /// SES's message id.
        message_id: String,
        /// When it happened, per SES.
        at: DateTime<Utc>,
    },
    /// Something a person must look at (bounce, complaint, reject).
    Trouble(TroubleReport),
    /// Nothing to record.
    Ignore,
}

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The invoice now has this status.
    Recorded {
        /// The status written.
        status: DeliveryStatus,
        /// How many addresses were put on the account's suppression list.
        suppressed: usize,
    },
    /// The invoice kept a weightier (or another message's) outcome.
    Superseded {
        /// The status the event would have written.
        status: DeliveryStatus,
        /// The status the invoice has (none if delivery was never attempted).
        current: Option<DeliveryStatus>,
        /// Addresses suppressed all the same (a bad address stays bad).
        suppressed: usize,
    },
    /// The event type needs nothing recorded.
    Ignored,
}

/// Maps an SES event to its effect on the invoice (see the module docs).
pub fn plan(event: &SesEvent) -> Action {
    let mail = &event.mail;
    let dispatch = mail.dispatch.clone();
    match &event.kind {
        EventKind::Send => Action::Progress {
            status: DeliveryStatus::Sent,
            message_id: mail.message_id.clone(),
            at: mail.sent_at,
        },
        EventKind::Delivery { at, .. } => Action::Progress {
            status: DeliveryStatus::Delivered,
            message_id: mail.message_id.clone(),
            at: *at,
        },
        EventKind::Bounce(bounce) => Action::Trouble(TroubleReport {
            dispatch: dispatch.clone(),
            status: DeliveryStatus::Bounced,
            reason: bounce_reason(bounce),
            at: bounce.at,
            suppress: match bounce.bounce_type {
                BounceType::Permanent => {
                    unique_lowercase(bounce.recipients.iter().map(|r| r.address.as_str()))
                }
                // SES already retried; the address may work next time.
                BounceType::Transient | BounceType::Undetermined => Vec::new(),
            },
        }),
        EventKind::Complaint(complaint) => Action::Trouble(TroubleReport {
            dispatch: dispatch.clone(),
            status: DeliveryStatus::Complained,
            reason: complaint_reason(complaint),
            at: complaint.at,
            suppress: unique_lowercase(complaint.recipients.iter().map(|a| a.as_str())),
        }),
        EventKind::Reject { reason } => Action::Trouble(TroubleReport {
            dispatch: dispatch.clone(),
            status: DeliveryStatus::Failed,
            reason: limit(
                &format!(
                    "SES rejected the message: {}",
                    reason
                        .as_deref()
                        .map(clean)
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "no reason given".to_owned())
                ),
                MAX_REASON_CHARS,
            ),
            // The message was never sent: nothing is known about the address.
            at: mail.sent_at,
            suppress: Vec::new(),
        }),
        EventKind::Ignored { .. } => Action::Ignore,
    }
}

/// "permanent bounce (General): smtp; 550 5.1.1 user unknown | ..." — one
/// part per distinct recipient diagnostic.
fn bounce_reason(bounce: &Bounce) -> String {
    let mut details: Vec<String> = Vec::new();
    for recipient in &bounce.recipients {
        let given = |value: Option<&str>| value.map(clean).filter(|v| !v.is_empty());
        let detail = given(recipient.diagnostic_code.as_deref())
            .or_else(|| given(recipient.status.as_deref()).map(|s| format!("status {s}")))
            .or_else(|| given(recipient.action.as_deref()))
            .unwrap_or_else(|| "no diagnostic given".to_owned());
        let detail = limit(&detail, MAX_DETAIL_CHARS);
        if !details.contains(&detail) {
            details.push(detail);
        }
    }
    let head = format!(
        "{} bounce ({})",
        bounce.bounce_type.word(),
        bounce.sub_type.as_deref().unwrap_or("no sub-type given")
    );
    let reason = if details.is_empty() {
        head
    } else {
        format!("{head}: {}", details.join(" | "))
    };
    limit(&reason, MAX_REASON_CHARS)
}

/// "complaint: the recipient reported the e-mail as spam (feedback type abuse)".
fn complaint_reason(complaint: &Complaint) -> String {
    let mut reason = String::from("complaint: the recipient reported the e-mail as spam");
    match &complaint.feedback_type {
        Some(kind) => reason.push_str(&format!(" (feedback type {kind})")),
        None => reason.push_str(" (no feedback type given)"),
    }
    if let Some(sub_type) = &complaint.sub_type {
        reason.push_str(&format!("; SES sub-type {sub_type}"));
    }
    reason
}

/// Lower-cased, each address once, in order: the store keys suppressions by
/// the lower-cased address, and one transaction may not write an item twice.
fn unique_lowercase<'a>(addresses: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut unique: Vec<String> = Vec::new();
    for address in addresses.map(str::to_lowercase) {
        if !unique.contains(&address) {
            unique.push(address);
        }
    }
    unique
}

/// Text from SES or a mail server, fit for a stored reason: addresses it
/// quotes are redacted (the reason is shown to staff and may reach logs
/// elsewhere; the suppression item is where the address belongs), control
/// characters become spaces, surrounding blanks go.
fn clean(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    redact_email_addresses(text.trim())
}

/// At most `max` characters, marking a cut with an ellipsis.
fn limit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Records SES events on the billing table.
#[derive(Debug, Clone)]
pub struct DeliveryEventService {
    store: BillingStore,
}

impl DeliveryEventService {
    /// A service on the billing store.
    pub fn new(store: BillingStore) -> Self {
        Self { store }
    }

    /// Records what `event` means for its invoice (one store call).
    pub async fn apply(&self, event: &SesEvent) -> Result<Applied, DeliveryEventsError> {
        let unknown = |err: StoreError| match err {
            // The only item these calls require is the invoice.
            StoreError::NotFound { .. } => DeliveryEventsError::UnknownInvoice {
                event_type: event.event_type().to_owned(),
                dispatch: event.mail.dispatch.to_string(),
                message_id: event.mail.message_id.clone(),
            },
            other => DeliveryEventsError::Store(other),
        };
        let dispatch = &event.mail.dispatch;
        match plan(event) {
            Action::Progress {
                status,
                message_id,
                at,
            } => {
                let outcome = self
                    .store
                    .record_delivery_progress(dispatch, status, &message_id, at)
                    .await
                    .map_err(unknown)?;
                Ok(applied(status, 0, outcome))
            }
            Action::Trouble(report) => {
                let outcome = self
                    .store
                    .record_delivery_trouble(&report, None)
                    .await
                    .map_err(unknown)?;
                Ok(applied(report.status, report.suppress.len(), outcome))
            }
            Action::Ignore => Ok(Applied::Ignored),
        }
    }
}

fn applied(status: DeliveryStatus, suppressed: usize, outcome: OutcomeRecorded) -> Applied {
    match outcome {
        OutcomeRecorded::Recorded => Applied::Recorded { status, suppressed },
        OutcomeRecorded::Superseded(current) => Applied::Superseded {
            status,
            current: current.map(|state| state.status),
            suppressed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{BouncedRecipient, Mail, parse_notification};
    use billing_domain::ids::InvoiceId;
    use billing_store::Dispatch;

    fn fixture_event(name: &str) -> SesEvent {
        let path = format!(
            "{}/../../tests/fixtures/ses-events/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_notification(Some(&std::fs::read_to_string(path).unwrap())).unwrap()
    }

    fn trouble(name: &str) -> TroubleReport {
        match plan(&fixture_event(name)) {
            Action::Trouble(report) => report,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn send_and_delivery_are_progress_with_ses_timestamps() {
        let send = fixture_event("send");
        assert_eq!(
            plan(&send),
            Action::Progress {
                status: DeliveryStatus::Sent,
                message_id: send.mail.message_id.clone(),
                at: send.mail.sent_at,
            }
        );
        let delivery = fixture_event("delivery");
        let Action::Progress { status, at, .. } = plan(&delivery) else {
            panic!("delivery is progress");
        };
        assert_eq!(status, DeliveryStatus::Delivered);
        assert_eq!(at.to_rfc3339(), "2026-11-20T09:15:42.884+00:00");
    }

    #[test]
    fn a_permanent_bounce_suppresses_each_address_once_lower_cased() {
        let report = trouble("bounce-permanent");
        assert_eq!(report.status, DeliveryStatus::Bounced);
        assert_eq!(
            report.suppress,
            ["accounts.payable@example.org", "ap-archive@example.org"]
        );
        assert!(
            report.reason.starts_with(
                "permanent bounce (General): smtp; 550 5.1.1 <<e-mail address>>: Recipient address rejected"
            ),
            "{}",
            report.reason
        );
        assert!(
            report.reason.ends_with(
                " | smtp; 550 5.2.1 The email account that you tried to reach is disabled"
            ),
            "{}",
            report.reason
        );
        assert_eq!(report.dispatch.id(), "inv-fixture-0042");
    }

    #[test]
    fn a_transient_bounce_suppresses_nothing() {
        let report = trouble("bounce-transient");
        assert_eq!(report.status, DeliveryStatus::Bounced);
        assert!(report.suppress.is_empty());
        assert_eq!(
            report.reason,
            "transient bounce (MailboxFull): smtp; 452 4.2.2 Mailbox full: quota exceeded for this recipient"
        );
    }

    #[test]
    fn an_undetermined_bounce_suppresses_nothing_and_falls_back_to_the_status() {
        let mut event = fixture_event("bounce-permanent");
        let EventKind::Bounce(bounce) = &mut event.kind else {
            panic!("bounce");
        };
        bounce.bounce_type = BounceType::Undetermined;
        bounce.sub_type = None;
        for recipient in &mut bounce.recipients {
            recipient.diagnostic_code = None;
        }
        let Action::Trouble(report) = plan(&event) else {
            panic!("trouble");
        };
        assert!(report.suppress.is_empty());
        assert_eq!(
            report.reason,
            "undetermined bounce (no sub-type given): status 5.1.1 | status 5.2.1"
        );
    }

    #[test]
    fn a_complaint_suppresses_the_complainant_and_names_the_feedback_type() {
        let report = trouble("complaint");
        assert_eq!(report.status, DeliveryStatus::Complained);
        assert_eq!(report.suppress, ["accounts.payable@example.org"]);
        assert_eq!(
            report.reason,
            "complaint: the recipient reported the e-mail as spam (feedback type abuse)"
        );
    }

    #[test]
    fn a_reject_fails_the_delivery_without_suppression() {
        let report = trouble("reject");
        assert_eq!(report.status, DeliveryStatus::Failed);
        assert_eq!(report.reason, "SES rejected the message: Bad content");
        assert!(report.suppress.is_empty());
    }

    #[test]
    fn other_events_are_ignored() {
        assert_eq!(plan(&fixture_event("delivery-delay")), Action::Ignore);
    }

    #[test]
    fn long_diagnostics_are_cut() {
        let event = SesEvent {
            kind: EventKind::Bounce(Bounce {
                bounce_type: BounceType::Permanent,
                sub_type: Some("General".into()),
                recipients: (0..10)
                    .map(|i| BouncedRecipient {
                        address: fixture_address(),
                        diagnostic_code: Some(format!("{i} {}", "x".repeat(1000))),
                        status: None,
                        action: None,
                    })
                    .collect(),
                at: Utc::now(),
            }),
            mail: Mail {
                message_id: "m".into(),
                sent_at: Utc::now(),
                dispatch: Dispatch::Invoice(InvoiceId::new("inv")),
                destinations: 1,
            },
        };
        let Action::Trouble(report) = plan(&event) else {
            panic!("trouble");
        };
        assert_eq!(report.reason.chars().count(), MAX_REASON_CHARS);
        assert!(report.reason.ends_with('…'));
        assert_eq!(report.suppress.len(), 1);
    }

    fn fixture_address() -> crate::event::EmailAddress {
        let EventKind::Complaint(complaint) = fixture_event("complaint").kind else {
            panic!("complaint");
        };
        complaint.recipients[0].clone()
    }
}
