//! The delivery-events queue's message: an SNS notification envelope
//! (`RawMessageDelivery: false`) whose `Message` is an SES event in the
//! event-publishing format of the invoice mail's configuration set.
//!
//! Parsing is strict about what the store needs (event type, SES message id,
//! the `invoice_id` tag, timestamps, the recipients of a bounce or
//! complaint) and ignores everything else SES adds. It works on
//! `serde_json::Value` rather than derived structs so that every error names
//! the field by its path and never quotes a value: serde's own messages
//! would echo strings, and these strings are e-mail addresses.
//!
//! The SNS signature is not verified: the queue's policy lets only the
//! configuration set's topic send to it, which is the authentication.

use std::fmt;

use billing_domain::DomainError;
use billing_domain::ids::InvoiceId;
use billing_store::Dispatch;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::DeliveryEventsError;

/// The SES tag our sender puts on every invoice e-mail.
pub const INVOICE_TAG: &str = "invoice_id";
/// The SES tag our sender puts on every dunning letter's e-mail.
pub const LETTER_TAG: &str = "letter_id";

/// Longest SES message id accepted (SES ids are about 60 characters).
const MAX_MESSAGE_ID_LEN: usize = 256;

/// Longest e-mail address accepted (RFC 5321 limits a path to 256 octets;
/// leave room for odd but real ones).
const MAX_ADDRESS_LEN: usize = 320;

/// One SES event about one invoice e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesEvent {
    /// What happened.
    pub kind: EventKind,
    /// The e-mail it happened to.
    pub mail: Mail,
}

impl SesEvent {
    /// The event type as SES names it (`Bounce`, `Rendering Failure`, ...).
    pub fn event_type(&self) -> &str {
        match &self.kind {
            EventKind::Send => "Send",
            EventKind::Delivery { .. } => "Delivery",
            EventKind::Bounce(_) => "Bounce",
            EventKind::Complaint(_) => "Complaint",
            EventKind::Reject { .. } => "Reject",
            EventKind::Ignored { event_type } => event_type,
        }
    }
}

/// The `mail` object: which message, sent when, for which invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// SES's message id (`mail.messageId`).
    pub message_id: String,
    /// When SES accepted the message (`mail.timestamp`).
    pub sent_at: DateTime<Utc>,
    /// The invoice (`invoice_id` tag) or dunning letter (`letter_id` tag)
    /// the e-mail delivered.
    pub dispatch: Dispatch,
    /// How many addresses the message went to (`mail.destination`), for logs.
    pub destinations: usize,
}

/// The event types this function acts on; the rest are acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// SES accepted the message and will try to deliver it.
    Send,
    /// The recipients' server accepted it.
    Delivery {
        /// `delivery.timestamp`.
        at: DateTime<Utc>,
        /// `delivery.recipients`, counted.
        recipients: usize,
    },
    /// A recipient's server refused it.
    Bounce(Bounce),
    /// A recipient marked it as spam.
    Complaint(Complaint),
    /// SES refused to send it (e.g. a virus).
    Reject {
        /// `reject.reason`, if SES gave one.
        reason: Option<String>,
    },
    /// DeliveryDelay, Rendering Failure, Open, Click, Subscription, or a type
    /// SES may add later: nothing to record.
    Ignored {
        /// The type, as SES named it (a safe token, see [`safe_token`]).
        event_type: String,
    },
}

/// `bounce.bounceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceType {
    /// The address will not work: suppress it.
    Permanent,
    /// A passing problem that outlasted SES's retries (mailbox full, ...).
    Transient,
    /// SES could not tell.
    Undetermined,
}

impl BounceType {
    /// Lower-case word for the recorded reason.
    pub fn word(self) -> &'static str {
        match self {
            Self::Permanent => "permanent",
            Self::Transient => "transient",
            Self::Undetermined => "undetermined",
        }
    }
}

/// The `bounce` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// Permanent, Transient or Undetermined.
    pub bounce_type: BounceType,
    /// `bounceSubType` (`General`, `MailboxFull`, ...), when it is a plain word.
    pub sub_type: Option<String>,
    /// `bouncedRecipients`.
    pub recipients: Vec<BouncedRecipient>,
    /// `bounce.timestamp`.
    pub at: DateTime<Utc>,
}

/// One entry of `bouncedRecipients`. Its `Debug` output leaves out the
/// address and the diagnostic code (which may quote addresses).
#[derive(Clone, PartialEq, Eq)]
pub struct BouncedRecipient {
    /// `emailAddress`.
    pub address: EmailAddress,
    /// `diagnosticCode`, the receiving server's answer (may quote addresses:
    /// stored, never logged).
    pub diagnostic_code: Option<String>,
    /// `status`, the enhanced status code such as `5.1.1`.
    pub status: Option<String>,
    /// `action`, e.g. `failed`.
    pub action: Option<String>,
}

impl fmt::Debug for BouncedRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BouncedRecipient")
            .field("address", &self.address)
            .field(
                "diagnostic_code",
                &self.diagnostic_code.as_ref().map(|_| "<redacted>"),
            )
            .field("status", &self.status)
            .field("action", &self.action)
            .finish()
    }
}

/// The `complaint` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    /// `complainedRecipients[].emailAddress`.
    pub recipients: Vec<EmailAddress>,
    /// `complaintFeedbackType` (`abuse`, `fraud`, ...), when given as a plain word.
    pub feedback_type: Option<String>,
    /// `complaintSubType` (`OnAccountSuppressionList`), when given.
    pub sub_type: Option<String>,
    /// `complaint.timestamp`.
    pub at: DateTime<Utc>,
}

/// An e-mail address from an event. Personal data: its `Debug` output is
/// redacted so that it cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The address as SES reported it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

/// Parses one SQS message body into the SES event it carries, or says which
/// field is wrong (never quoting its value).
pub fn parse_notification(body: Option<&str>) -> Result<SesEvent, DeliveryEventsError> {
    let body = body.ok_or_else(|| malformed("body", "is missing"))?;
    let envelope = parse_json(body, "body")?;
    let envelope = as_object(&envelope, "body")?;
    let kind = string(envelope, "", "Type")?;
    if kind != "Notification" {
        return Err(malformed(
            "Type",
            format!("is `{}`, expected `Notification`", safe_token(kind)),
        ));
    }
    let message = parse_json(string(envelope, "", "Message")?, "Message")?;
    parse_event(as_object(&message, "Message")?)
}

/// Parses the SES event (the SNS `Message`, already decoded).
pub fn parse_event(event: &Map<String, Value>) -> Result<SesEvent, DeliveryEventsError> {
    let event_type = string(event, "", "eventType")?;
    let mail = parse_mail(object(event, "", "mail")?)?;
    let kind = match event_type {
        "Send" => EventKind::Send,
        "Delivery" => {
            let delivery = object(event, "", "delivery")?;
            EventKind::Delivery {
                at: timestamp(delivery, "delivery", "timestamp")?,
                recipients: optional_array(delivery, "delivery", "recipients")?.map_or(0, Vec::len),
            }
        }
        "Bounce" => EventKind::Bounce(parse_bounce(object(event, "", "bounce")?)?),
        "Complaint" => EventKind::Complaint(parse_complaint(object(event, "", "complaint")?)?),
        "Reject" => {
            let reject = object(event, "", "reject")?;
            EventKind::Reject {
                reason: optional_string(reject, "reject", "reason")?.map(str::to_owned),
            }
        }
        other => EventKind::Ignored {
            event_type: safe_token(other).into_owned(),
        },
    };
    Ok(SesEvent { kind, mail })
}

fn parse_mail(mail: &Map<String, Value>) -> Result<Mail, DeliveryEventsError> {
    let message_id = string(mail, "mail", "messageId")?;
    if message_id.trim().is_empty() {
        return Err(malformed("mail.messageId", "is blank"));
    }
    if message_id.len() > MAX_MESSAGE_ID_LEN || message_id.chars().any(char::is_control) {
        return Err(malformed(
            "mail.messageId",
            "is not an SES message id (too long or control characters)",
        ));
    }
    let sent_at = timestamp(mail, "mail", "timestamp")?;
    let tags = object(mail, "mail", "tags")?;
    let letter = !tags.contains_key(INVOICE_TAG) && tags.contains_key(LETTER_TAG);
    let tag = if letter { LETTER_TAG } else { INVOICE_TAG };
    let values = array(tags, "mail.tags", tag)?;
    let field = format!("mail.tags.{tag}");
    let [value] = values.as_slice() else {
        return Err(malformed(
            &field,
            format!("has {} values, expected exactly one", values.len()),
        ));
    };
    let value = value
        .as_str()
        .ok_or_else(|| malformed(&format!("{field}[0]"), "is not a string"))?;
    let dispatch = if letter {
        let minted = (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !minted {
            return Err(malformed(
                &format!("{field}[0]"),
                "is not a letter id (1 to 64 ASCII letters, digits, '_' or '-')",
            ));
        }
        Dispatch::DunningLetter(value.to_owned())
    } else {
        let invoice_id = InvoiceId::parse(value).map_err(|e| {
            // The domain's message says what is wrong without the value.
            let DomainError::Invalid { message, .. } = e;
            malformed(
                &format!("{field}[0]"),
                format!("is not an invoice id: {message}"),
            )
        })?;
        Dispatch::Invoice(invoice_id)
    };
    let destinations = optional_array(mail, "mail", "destination")?.map_or(0, Vec::len);
    Ok(Mail {
        message_id: message_id.to_owned(),
        sent_at,
        dispatch,
        destinations,
    })
}

fn parse_bounce(bounce: &Map<String, Value>) -> Result<Bounce, DeliveryEventsError> {
    let bounce_type = match string(bounce, "bounce", "bounceType")? {
        "Permanent" => BounceType::Permanent,
        "Transient" => BounceType::Transient,
        "Undetermined" => BounceType::Undetermined,
        other => {
            return Err(malformed(
                "bounce.bounceType",
                format!(
                    "is `{}`, expected Permanent, Transient or Undetermined",
                    safe_token(other)
                ),
            ));
        }
    };
    let sub_type = optional_string(bounce, "bounce", "bounceSubType")?.and_then(plain_word);
    let mut recipients = Vec::new();
    for (index, recipient) in array(bounce, "bounce", "bouncedRecipients")?
        .iter()
        .enumerate()
    {
        let path = format!("bounce.bouncedRecipients[{index}]");
        let recipient = as_object(recipient, &path)?;
        recipients.push(BouncedRecipient {
            address: address(recipient, &path)?,
            diagnostic_code: optional_string(recipient, &path, "diagnosticCode")?
                .map(str::to_owned),
            status: optional_string(recipient, &path, "status")?.map(str::to_owned),
            action: optional_string(recipient, &path, "action")?.map(str::to_owned),
        });
    }
    Ok(Bounce {
        bounce_type,
        sub_type,
        recipients,
        at: timestamp(bounce, "bounce", "timestamp")?,
    })
}

fn parse_complaint(complaint: &Map<String, Value>) -> Result<Complaint, DeliveryEventsError> {
    let mut recipients = Vec::new();
    for (index, recipient) in array(complaint, "complaint", "complainedRecipients")?
        .iter()
        .enumerate()
    {
        let path = format!("complaint.complainedRecipients[{index}]");
        recipients.push(address(as_object(recipient, &path)?, &path)?);
    }
    Ok(Complaint {
        recipients,
        feedback_type: optional_string(complaint, "complaint", "complaintFeedbackType")?
            .and_then(plain_word),
        sub_type: optional_string(complaint, "complaint", "complaintSubType")?.and_then(plain_word),
        at: timestamp(complaint, "complaint", "timestamp")?,
    })
}

fn address(
    recipient: &Map<String, Value>,
    path: &str,
) -> Result<EmailAddress, DeliveryEventsError> {
    let value = string(recipient, path, "emailAddress")?;
    let plausible = value.len() <= MAX_ADDRESS_LEN
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if !plausible {
        return Err(malformed(
            &format!("{path}.emailAddress"),
            "is not an e-mail address",
        ));
    }
    Ok(EmailAddress(value.to_owned()))
}

/// The value for logs and error texts when it is a short plain token
/// (letters, digits, space, `-`, `_`); otherwise a placeholder, so that no
/// address or other free text from a message reaches a log.
pub fn safe_token(value: &str) -> std::borrow::Cow<'_, str> {
    match plain_word(value) {
        Some(_) => std::borrow::Cow::Borrowed(value),
        None => std::borrow::Cow::Borrowed("<not a plain word>"),
    }
}

fn plain_word(value: &str) -> Option<String> {
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'));
    plain.then(|| value.to_owned())
}

// ----------------------------------------------------------------- access

fn malformed(field: &str, problem: impl Into<String>) -> DeliveryEventsError {
    DeliveryEventsError::Malformed {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn parse_json(text: &str, field: &str) -> Result<Value, DeliveryEventsError> {
    // serde_json's syntax errors carry no input text; still, only the
    // category and position are reported.
    serde_json::from_str(text).map_err(|e| {
        malformed(
            field,
            format!(
                "is not JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

fn as_object<'a>(
    value: &'a Value,
    path: &str,
) -> Result<&'a Map<String, Value>, DeliveryEventsError> {
    value
        .as_object()
        .ok_or_else(|| malformed(path, "is not a JSON object"))
}

fn present<'a>(
    map: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a Value, DeliveryEventsError> {
    match map.get(name) {
        None | Some(Value::Null) => Err(malformed(&join(parent, name), "is missing")),
        Some(value) => Ok(value),
    }
}

fn string<'a>(
    map: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a str, DeliveryEventsError> {
    present(map, parent, name)?
        .as_str()
        .ok_or_else(|| malformed(&join(parent, name), "is not a string"))
}

fn optional_string<'a>(
    map: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<&'a str>, DeliveryEventsError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(malformed(&join(parent, name), "is not a string")),
    }
}

fn object<'a>(
    map: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a Map<String, Value>, DeliveryEventsError> {
    as_object(present(map, parent, name)?, &join(parent, name))
}

fn array<'a>(
    map: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a Vec<Value>, DeliveryEventsError> {
    present(map, parent, name)?
        .as_array()
        .ok_or_else(|| malformed(&join(parent, name), "is not an array"))
}

fn optional_array<'a>(
    map: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<&'a Vec<Value>>, DeliveryEventsError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(values)) => Ok(Some(values)),
        Some(_) => Err(malformed(&join(parent, name), "is not an array")),
    }
}

fn timestamp(
    map: &Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<DateTime<Utc>, DeliveryEventsError> {
    let text = string(map, parent, name)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| malformed(&join(parent, name), "is not an RFC 3339 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_lambda::{Disposition, Failure};
    use serde_json::json;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../../tests/fixtures/ses-events/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn parse_fixture(name: &str) -> SesEvent {
        parse_notification(Some(&fixture(name))).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    const MESSAGE_ID: &str = "0107019a4c2f5e61-3d1b7a90-52c4-4e8f-a6b2-9f0c8d7e6a51-000000";

    fn expected_mail(destinations: usize) -> Mail {
        Mail {
            message_id: MESSAGE_ID.to_owned(),
            sent_at: at("2026-11-20T09:15:40.127Z"),
            dispatch: Dispatch::Invoice(InvoiceId::new("inv-fixture-0042")),
            destinations,
        }
    }

    #[test]
    fn a_send_event_names_message_and_invoice() {
        let event = parse_fixture("send");
        assert_eq!(event.kind, EventKind::Send);
        assert_eq!(event.mail, expected_mail(1));
        assert_eq!(event.event_type(), "Send");
    }

    #[test]
    fn a_delivery_event_carries_its_own_timestamp() {
        let event = parse_fixture("delivery");
        assert_eq!(
            event.kind,
            EventKind::Delivery {
                at: at("2026-11-20T09:15:42.884Z"),
                recipients: 1
            }
        );
        assert_eq!(event.mail, expected_mail(1));
    }

    #[test]
    fn a_permanent_bounce_lists_every_bounced_recipient() {
        let event = parse_fixture("bounce-permanent");
        assert_eq!(event.mail, expected_mail(2));
        let EventKind::Bounce(bounce) = event.kind else {
            panic!("not a bounce: {:?}", event.kind);
        };
        assert_eq!(bounce.bounce_type, BounceType::Permanent);
        assert_eq!(bounce.sub_type.as_deref(), Some("General"));
        assert_eq!(bounce.at, at("2026-11-20T09:15:45.233Z"));
        let addresses: Vec<_> = bounce
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(
            addresses,
            ["Accounts.Payable@example.org", "ap-archive@example.org"]
        );
        assert_eq!(bounce.recipients[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(bounce.recipients[0].action.as_deref(), Some("failed"));
        assert!(
            bounce.recipients[1]
                .diagnostic_code
                .as_deref()
                .is_some_and(|d| d.starts_with("smtp; 550 5.2.1"))
        );
    }

    #[test]
    fn a_transient_bounce_is_told_apart() {
        let EventKind::Bounce(bounce) = parse_fixture("bounce-transient").kind else {
            panic!("not a bounce");
        };
        assert_eq!(bounce.bounce_type, BounceType::Transient);
        assert_eq!(bounce.sub_type.as_deref(), Some("MailboxFull"));
        assert_eq!(bounce.recipients.len(), 1);
        assert_eq!(bounce.at, at("2026-11-20T21:40:10.745Z"));
    }

    #[test]
    fn a_complaint_names_the_complaining_recipient_and_feedback_type() {
        let event = parse_fixture("complaint");
        let EventKind::Complaint(complaint) = event.kind else {
            panic!("not a complaint");
        };
        let addresses: Vec<_> = complaint
            .recipients
            .iter()
            .map(EmailAddress::as_str)
            .collect();
        assert_eq!(addresses, ["accounts.payable@example.org"]);
        assert_eq!(complaint.feedback_type.as_deref(), Some("abuse"));
        // `complaintSubType: null` is "no sub-type".
        assert_eq!(complaint.sub_type, None);
        assert_eq!(complaint.at, at("2026-11-21T07:02:38Z"));
    }

    #[test]
    fn a_dunning_letter_is_named_by_its_letter_id_tag() {
        let mut event = event_value("send");
        event["mail"]["tags"] = json!({ "letter_id": ["dun_0a1b"] });
        let parsed = parse_notification(Some(&envelope_of(&event))).unwrap();
        assert_eq!(
            parsed.mail.dispatch,
            Dispatch::DunningLetter("dun_0a1b".to_owned())
        );
    }

    #[test]
    fn a_reject_carries_its_reason() {
        let event = parse_fixture("reject");
        assert_eq!(
            event.kind,
            EventKind::Reject {
                reason: Some("Bad content".to_owned())
            }
        );
    }

    #[test]
    fn other_event_types_are_recognised_but_ignored() {
        let event = parse_fixture("delivery-delay");
        assert_eq!(
            event.kind,
            EventKind::Ignored {
                event_type: "DeliveryDelay".to_owned()
            }
        );
        assert_eq!(
            event.mail.dispatch,
            Dispatch::Invoice(InvoiceId::new("inv-fixture-0042"))
        );
    }

    #[test]
    fn addresses_never_show_in_debug_output() {
        let event = parse_fixture("bounce-permanent");
        let debug = format!("{event:?}");
        assert!(!debug.contains("example.org"), "{debug}");
    }

    /// The fixture's SES event as a JSON value, for targeted breakage.
    fn event_value(name: &str) -> Value {
        let envelope: Value = serde_json::from_str(&fixture(name)).unwrap();
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
    }

    /// Re-wraps an SES event the way SNS does.
    fn envelope_of(event: &Value) -> String {
        let mut envelope: Value = serde_json::from_str(&fixture("send")).unwrap();
        envelope["Message"] = Value::String(event.to_string());
        envelope.to_string()
    }

    /// Each malformed notification is refused for good, naming the field,
    /// without quoting any address.
    #[test]
    fn malformed_notifications_name_the_field() {
        let broken = |name: &str, change: &dyn Fn(&mut Value)| {
            let mut event = event_value(name);
            change(&mut event);
            envelope_of(&event)
        };
        let mut raw_envelope: Value = serde_json::from_str(&fixture("send")).unwrap();
        raw_envelope["Type"] = json!("SubscriptionConfirmation");
        let subscription = raw_envelope.to_string();
        let mut no_message: Value = serde_json::from_str(&fixture("send")).unwrap();
        no_message.as_object_mut().unwrap().remove("Message");
        let mut message_not_json: Value = serde_json::from_str(&fixture("send")).unwrap();
        message_not_json["Message"] = json!("Bounce for accounts.payable@example.org");
        let cases: Vec<(Option<String>, &str)> = vec![
            (None, "body"),
            (Some("not json at all".into()), "body"),
            (Some("[1, 2]".into()), "body"),
            (Some(r#"{"Message": "{}"}"#.into()), "Type"),
            (Some(subscription), "Type"),
            (Some(no_message.to_string()), "Message"),
            (Some(message_not_json.to_string()), "Message"),
            (
                Some(broken("send", &|e| {
                    e.as_object_mut().unwrap().remove("eventType");
                })),
                "eventType",
            ),
            (
                Some(broken("send", &|e| {
                    e.as_object_mut().unwrap().remove("mail");
                })),
                "mail",
            ),
            (
                Some(broken("delivery", &|e| {
                    e["mail"].as_object_mut().unwrap().remove("messageId");
                })),
                "mail.messageId",
            ),
            (
                Some(broken("delivery", &|e| {
                    e["mail"]["messageId"] = json!("  ")
                })),
                "mail.messageId",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["timestamp"] = json!("20.11.2026 09:15")
                })),
                "mail.timestamp",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"].as_object_mut().unwrap().remove("tags");
                })),
                "mail.tags",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["tags"]
                        .as_object_mut()
                        .unwrap()
                        .remove("invoice_id");
                })),
                "mail.tags.invoice_id",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["tags"]["invoice_id"] = json!([])
                })),
                "mail.tags.invoice_id",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["tags"]["invoice_id"] = json!(["  "])
                })),
                "mail.tags.invoice_id[0]",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["tags"]["invoice_id"] = json!(["a\u{7}b"])
                })),
                "mail.tags.invoice_id[0]",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["tags"] = json!({ "letter_id": ["../dun"] })
                })),
                "mail.tags.letter_id[0]",
            ),
            (
                Some(broken("send", &|e| {
                    e["mail"]["tags"] = json!({ "letter_id": ["dun_1", "dun_2"] })
                })),
                "mail.tags.letter_id",
            ),
            (
                Some(broken("bounce-permanent", &|e| {
                    e.as_object_mut().unwrap().remove("bounce");
                })),
                "bounce",
            ),
            (
                Some(broken("bounce-permanent", &|e| {
                    e["bounce"]["bounceType"] = json!("Soft")
                })),
                "bounce.bounceType",
            ),
            (
                Some(broken("bounce-permanent", &|e| {
                    e["bounce"]["timestamp"] = json!("yesterday")
                })),
                "bounce.timestamp",
            ),
            (
                Some(broken("bounce-permanent", &|e| {
                    e["bounce"]
                        .as_object_mut()
                        .unwrap()
                        .remove("bouncedRecipients");
                })),
                "bounce.bouncedRecipients",
            ),
            (
                Some(broken("bounce-permanent", &|e| {
                    e["bounce"]["bouncedRecipients"][1]["emailAddress"] = json!("not an address")
                })),
                "bounce.bouncedRecipients[1].emailAddress",
            ),
            (
                Some(broken("complaint", &|e| {
                    e["complaint"].as_object_mut().unwrap().remove("timestamp");
                })),
                "complaint.timestamp",
            ),
            (
                Some(broken("complaint", &|e| {
                    e["complaint"]["complainedRecipients"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("emailAddress");
                })),
                "complaint.complainedRecipients[0].emailAddress",
            ),
            (
                Some(broken("delivery", &|e| {
                    e["delivery"]["timestamp"] = json!(1763630142)
                })),
                "delivery.timestamp",
            ),
            (
                Some(broken("reject", &|e| {
                    e.as_object_mut().unwrap().remove("reject");
                })),
                "reject",
            ),
        ];
        for (body, field) in cases {
            let err = parse_notification(body.as_deref())
                .expect_err(&format!("{field}: should be refused"));
            let DeliveryEventsError::Malformed { field: named, .. } = &err else {
                panic!("{field}: not a malformed error: {err}");
            };
            assert_eq!(named, field, "{err}");
            assert_eq!(err.code(), "malformed_notification");
            assert_eq!(err.disposition(), Disposition::Permanent);
            let text = err.to_string();
            assert!(text.contains(field), "{text}");
            assert!(!text.contains('@'), "an address leaked: {text}");
        }
    }

    #[test]
    fn odd_event_types_are_not_echoed() {
        let mut event = event_value("send");
        event["eventType"] = json!("Open for accounts.payable@example.org");
        let parsed = parse_notification(Some(&envelope_of(&event))).unwrap();
        assert_eq!(parsed.event_type(), "<not a plain word>");
    }
}
