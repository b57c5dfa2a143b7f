//! The e-mail that carries an invoice or a dunning letter: subject and body
//! from templates in the customer's language, the archived files attached,
//! encoded as one MIME message for SES's raw sending.
//!
//! The wording is in `templates/mail/mail-{subject,body}.{de,en}.txt` for
//! invoices and `letter-{subject,body}.{de,en}.txt` for dunning letters
//! (Jinja syntax). An operator replaces any of them by putting a file of the
//! same name into `INVOICE_TEMPLATE_DIR`, like the PDF templates. Templates
//! are compiled and tried on a sample invoice once per cold start, so a
//! broken one stops start-up instead of failing every e-mail.
//!
//! MIME is lettre's message builder (the most used Rust mail crate; only
//! its `builder` feature, no SMTP): it encodes non-ASCII headers (RFC 2047),
//! picks quoted-printable or base64 per part, and folds long lines.

use std::path::Path;
use std::time::SystemTime;

use billing_domain::dunning_letter::DunningLetter;
use billing_domain::invoice::CorrectionKind;
use billing_domain::invoice::Invoice;
use billing_domain::numbering::DocumentType;
use billing_domain::party::{EmailAddress, Language, SellerIdentity};
use billing_domain::seller::InvoiceMailSender;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use minijinja::{Environment, UndefinedBehavior, context};

use crate::DocumentError;
use crate::render::operator_template_dir;
use crate::text;

const BUILT_IN: &[(&str, &str)] = &[
    (
        "mail-subject.de.txt",
        include_str!("../templates/mail/mail-subject.de.txt"),
    ),
    (
        "mail-subject.en.txt",
        include_str!("../templates/mail/mail-subject.en.txt"),
    ),
    (
        "mail-body.de.txt",
        include_str!("../templates/mail/mail-body.de.txt"),
    ),
    (
        "mail-body.en.txt",
        include_str!("../templates/mail/mail-body.en.txt"),
    ),
    (
        "letter-subject.de.txt",
        include_str!("../templates/mail/letter-subject.de.txt"),
    ),
    (
        "letter-subject.en.txt",
        include_str!("../templates/mail/letter-subject.en.txt"),
    ),
    (
        "letter-body.de.txt",
        include_str!("../templates/mail/letter-body.de.txt"),
    ),
    (
        "letter-body.en.txt",
        include_str!("../templates/mail/letter-body.en.txt"),
    ),
];

/// The wording of credit notes that correct an invoice (cancellations and
/// partial credit notes), chosen instead of the invoice wording for them;
/// replaceable in `INVOICE_TEMPLATE_DIR` like the others.
const CREDIT_NOTE_BUILT_IN: &[(&str, &str)] = &[
    (
        "credit-note-subject.de.txt",
        include_str!("../templates/mail/credit-note-subject.de.txt"),
    ),
    (
        "credit-note-subject.en.txt",
        include_str!("../templates/mail/credit-note-subject.en.txt"),
    ),
    (
        "credit-note-body.de.txt",
        include_str!("../templates/mail/credit-note-body.de.txt"),
    ),
    (
        "credit-note-body.en.txt",
        include_str!("../templates/mail/credit-note-body.en.txt"),
    ),
];

/// Subject and body of one invoice e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    /// One line.
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// A file attached to the e-mail, exactly as archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// The name the customer sees, e.g. `RE-2026-000001.pdf`.
    pub file_name: String,
    /// Its MIME type.
    pub content_type: String,
    /// The archived bytes.
    pub bytes: Vec<u8>,
}

/// Who gets the e-mail: the first address is To (with the customer's
/// name), the others Cc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecipients {
    /// The customer's name, shown next to the To address.
    pub name: String,
    /// The addresses, To first.
    pub addresses: Vec<EmailAddress>,
}

/// The compiled e-mail templates, loaded once per cold start.
#[derive(Debug)]
pub struct MailTemplates {
    env: Environment<'static>,
}

impl MailTemplates {
    /// The built-in templates, replaced by any of the same name in
    /// `INVOICE_TEMPLATE_DIR` when it is set.
    pub fn from_env() -> Result<Self, DocumentError> {
        Self::with_overrides(operator_template_dir().as_deref())
    }

    /// The built-in German and English wording only.
    pub fn built_in() -> Result<Self, DocumentError> {
        Self::with_overrides(None)
    }

    /// The built-in templates, each replaced by a file of the same name in
    /// `dir` if there is one; every template is tried on a sample invoice.
    pub fn with_overrides(dir: Option<&Path>) -> Result<Self, DocumentError> {
        let mut env = Environment::new();
        // A misspelt placeholder is an error, never an empty gap in a mail.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in BUILT_IN.iter().chain(CREDIT_NOTE_BUILT_IN) {
            let source = match dir.map(|dir| dir.join(name)) {
                Some(path) if path.is_file() => std::fs::read_to_string(&path).map_err(|e| {
                    DocumentError::TemplateDirectory {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    }
                })?,
                _ => (*source).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| template_error(name, &e))?;
        }
        let templates = Self { env };
        let sample = crate::samples::german_consumer()?;
        for language in [Language::De, Language::En] {
            templates.render(&sample, language, true)?;
            templates.render(&sample, language, false)?;
            let (letter, invoice) = crate::samples::dunning_letter(language)?;
            templates.render_letter(&letter, &invoice.content().seller, "RF18539007547034")?;
        }
        for sample in [
            crate::samples::cancellation()?,
            crate::samples::partial_credit_note()?,
            crate::samples::rechnungskorrektur()?,
        ] {
            for language in [Language::De, Language::En] {
                templates.render(&sample, language, false)?;
            }
        }
        Ok(templates)
    }

    /// Subject and body for `invoice` in `language`; `xrechnung` says
    /// whether the XRechnung file is attached too.
    pub fn render(
        &self,
        invoice: &Invoice,
        language: Language,
        xrechnung: bool,
    ) -> Result<MailText, DocumentError> {
        let labels = text::labels(language);
        let content = invoice.content();
        let seller = &content.seller;
        let references = &content.references;
        let ctx = context! {
            invoice_number => invoice.number().as_str(),
            credit_note => content.document_type == DocumentType::CreditNote,
            issue_date => text::date(labels, content.issue_date),
            due_date => text::date(labels, content.due_date),
            amount_due => text::money(labels, invoice.amount_due()),
            payment_reference => references
                .payment_reference
                .clone()
                .unwrap_or_else(|| invoice.number().as_str().to_owned()),
            purchase_order => references.purchase_order.clone(),
            preceding_invoice => references.preceding_invoice.as_ref().map(|n| n.as_str().to_owned()),
            preceding_invoice_date => references.preceding_invoice_date.map(|d| text::date(labels, d)),
            cancellation => references.correction == Some(CorrectionKind::Cancellation),
            customer_name => content.buyer.name.as_str(),
            seller_name => seller.legal_name.as_str(),
            iban => seller.bank_account.iban.grouped(),
            bic => seller.bank_account.bic.as_ref().map(|b| b.as_str().to_owned()),
            xrechnung => xrechnung,
        };
        // A credit note correcting an invoice has wording of its own.
        let kind = if references.correction.is_some() {
            "credit-note"
        } else {
            "mail"
        };
        self.subject_and_body(kind, labels.code, &ctx)
    }

    /// Subject and body of a dunning letter's e-mail in the letter's
    /// language: which letter, the invoices, what is due by when, and where
    /// to pay with `payment_reference` (the figures are the recorded ones,
    /// as on the attached PDF).
    pub fn render_letter(
        &self,
        letter: &DunningLetter,
        seller: &SellerIdentity,
        payment_reference: &str,
    ) -> Result<MailText, DocumentError> {
        let labels = text::labels(letter.language);
        let charges = letter.lines.iter().any(|line| {
            !(line.fee.is_zero()
                && line.flat_fee.is_zero()
                && line.earlier_fees.is_zero()
                && line.interest.total.is_zero())
        });
        let ctx = context! {
            stage => crate::letter::stage_key(letter.stage),
            date => text::date(labels, letter.date),
            invoices => letter.lines.iter().map(|line| line.number.clone()).collect::<Vec<_>>(),
            total_due => text::money(labels, letter.total_due),
            charges => charges,
            payment_deadline => text::date(labels, letter.payment_deadline),
            payment_reference => payment_reference,
            seller_name => seller.legal_name.as_str(),
            iban => seller.bank_account.iban.grouped(),
            bic => seller.bank_account.bic.as_ref().map(|b| b.as_str().to_owned()),
        };
        self.subject_and_body("letter", labels.code, &ctx)
    }

    /// Renders `<kind>-subject.<code>.txt` (one non-empty line) and
    /// `<kind>-body.<code>.txt`.
    fn subject_and_body(
        &self,
        kind: &str,
        code: &str,
        ctx: &minijinja::Value,
    ) -> Result<MailText, DocumentError> {
        let subject_name = format!("{kind}-subject.{code}.txt");
        let body_name = format!("{kind}-body.{code}.txt");
        let render = |name: &str| -> Result<String, DocumentError> {
            self.env
                .get_template(name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| template_error(name, &e))
        };
        let subject = render(&subject_name)?.trim().to_owned();
        if subject.is_empty() || subject.contains(['\r', '\n']) {
            return Err(DocumentError::Template {
                message: format!("{subject_name} must render to one non-empty line"),
            });
        }
        let body = render(&body_name)?;
        Ok(MailText {
            subject,
            body: format!("{}\n", body.trim_end()),
        })
    }
}

fn template_error(name: &str, error: &minijinja::Error) -> DocumentError {
    DocumentError::Template {
        message: format!("{name}: {error}"),
    }
}

/// Which address of the e-mail could not be used: named by role only, so
/// the error text carries no personal data.
fn mailbox(
    name: Option<&str>,
    address: &EmailAddress,
    role: &'static str,
) -> Result<Mailbox, DocumentError> {
    let address = address
        .as_str()
        .parse()
        .map_err(|_| DocumentError::MailAddress { role })?;
    Ok(Mailbox::new(name.map(str::to_owned), address))
}

/// The whole e-mail as RFC 5322 bytes: From the entity's sender, Reply-To
/// if set, To and Cc, the text, then the attachments in the given order
/// (taken, not copied: a PDF is the bulk of the message).
pub fn compose(
    sender: &InvoiceMailSender,
    recipients: &MailRecipients,
    text: &MailText,
    attachments: Vec<MailAttachment>,
    date: DateTime<Utc>,
) -> Result<Vec<u8>, DocumentError> {
    let (to, cc) = recipients
        .addresses
        .split_first()
        .ok_or(DocumentError::MailAddress { role: "to" })?;
    let mut builder = lettre::Message::builder()
        .from(mailbox(
            sender.display_name.as_deref(),
            &sender.address,
            "from",
        )?)
        .to(mailbox(Some(&recipients.name), to, "to")?)
        .subject(&text.subject)
        .date(SystemTime::from(date));
    if let Some(reply_to) = &sender.reply_to {
        builder = builder.reply_to(mailbox(None, reply_to, "reply_to")?);
    }
    for address in cc {
        builder = builder.cc(mailbox(None, address, "cc")?);
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text.body.clone()));
    for attachment in attachments {
        let content_type =
            ContentType::parse(&attachment.content_type).map_err(|_| DocumentError::Mail {
                message: format!(
                    "attachment {} has an invalid content type",
                    attachment.file_name
                ),
            })?;
        parts = parts
            .singlepart(Attachment::new(attachment.file_name).body(attachment.bytes, content_type));
    }
    let message = builder.multipart(parts).map_err(|e| DocumentError::Mail {
        message: e.to_string(),
    })?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    fn sender() -> InvoiceMailSender {
        samples::seller().unwrap().mail
    }

    fn recipients(addresses: &[&str]) -> MailRecipients {
        MailRecipients {
            name: "Kunde GmbH".to_owned(),
            addresses: addresses
                .iter()
                .map(|a| EmailAddress::parse(a).unwrap())
                .collect(),
        }
    }

    #[test]
    fn german_wording_names_number_amount_due_date_and_reference() {
        let templates = MailTemplates::built_in().unwrap();
        let invoice = samples::german_consumer().unwrap();
        let text = templates.render(&invoice, Language::De, false).unwrap();
        let number = invoice.number().as_str();
        assert_eq!(
            text.subject,
            format!("Rechnung {number} von Beispiel Software GmbH")
        );
        let labels = text::labels(Language::De);
        for expected in [
            number.to_owned(),
            text::money(labels, invoice.amount_due()),
            text::date(labels, invoice.content().due_date),
            "DE89 3704 0044 0532 0130 00".to_owned(),
            "Verwendungszweck".to_owned(),
        ] {
            assert!(text.body.contains(&expected), "{expected} in {}", text.body);
        }
        assert!(!text.body.contains("XRechnung bei"));
    }

    /// Issue 27: the seller's partial correction is a "Rechnungskorrektur"
    /// (§17(1) UStG, §31(5) UStDV) in German; "Gutschrift" would be the
    /// recipient's self-billing (§14(2) sentence 2 UStG). English keeps
    /// "credit note", the seller's document in English usage and EN 16931.
    #[test]
    fn a_partial_correction_is_a_rechnungskorrektur_never_a_gutschrift() {
        let templates = MailTemplates::built_in().unwrap();
        let note = samples::rechnungskorrektur().unwrap();
        let number = note.number().as_str();
        let de = templates.render(&note, Language::De, false).unwrap();
        assert_eq!(
            de.subject,
            format!(
                "Rechnungskorrektur {number} zur Rechnung RE-2026-000042 von Beispiel Software GmbH"
            )
        );
        assert!(
            de.body.contains(&format!(
                "unsere Rechnungskorrektur {number} vom 12.02.2026"
            )),
            "{}",
            de.body
        );
        assert!(!de.subject.contains("Gutschrift") && !de.body.contains("Gutschrift"));
        let en = templates.render(&note, Language::En, false).unwrap();
        assert!(
            en.subject
                .starts_with(&format!("Credit note {number} for invoice"))
        );
        // A negative run total is a credit note without an original: the
        // invoice wording names it the same way.
        let mut draft = note.content().clone();
        draft.references.correction = None;
        draft.references.preceding_invoice = None;
        let run_credit = draft.finalize(billing_domain::numbering::InvoiceNumber::new(
            "RK-2026-000004",
        ));
        let text = templates.render(&run_credit, Language::De, false).unwrap();
        assert_eq!(
            text.subject,
            "Rechnungskorrektur RK-2026-000004 von Beispiel Software GmbH"
        );
        assert!(
            text.body
                .contains("unsere Rechnungskorrektur RK-2026-000004")
        );
        assert!(!text.body.contains("Gutschrift"));
    }

    #[test]
    fn english_wording_and_the_xrechnung_sentence() {
        let templates = MailTemplates::built_in().unwrap();
        let invoice = samples::german_consumer().unwrap();
        let text = templates.render(&invoice, Language::En, true).unwrap();
        assert!(text.subject.starts_with("Invoice "), "{}", text.subject);
        assert!(text.body.contains("quoting the reference"));
        assert!(text.body.contains("also attached as an XRechnung"));
    }

    #[test]
    fn an_operator_template_replaces_the_built_in_one_and_typos_stop_start_up() {
        let dir = std::env::temp_dir().join(format!("billing-mail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("mail-subject.de.txt"),
            "Ihre Rechnung {{ invoice_number }}",
        )
        .unwrap();
        let templates = MailTemplates::with_overrides(Some(&dir)).unwrap();
        let invoice = samples::german_consumer().unwrap();
        let text = templates.render(&invoice, Language::De, false).unwrap();
        assert_eq!(text.subject, format!("Ihre Rechnung {}", invoice.number()));

        std::fs::write(
            dir.join("mail-subject.de.txt"),
            "Rechnung {{ invoice_nummer }}",
        )
        .unwrap();
        let err = MailTemplates::with_overrides(Some(&dir)).unwrap_err();
        assert!(err.to_string().contains("mail-subject.de.txt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_message_has_sender_recipients_subject_and_attachments() {
        let text = MailText {
            subject: "Rechnung RE-2026-000001 von Beispiel Software GmbH".to_owned(),
            body: "Guten Tag,\n\nanbei die Rechnung über 1.234,50 EUR.\n".to_owned(),
        };
        let pdf = MailAttachment {
            file_name: "RE-2026-000001.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            bytes: b"%PDF-1.7 \x00\xff binary".to_vec(),
        };
        let raw = compose(
            &sender(),
            &recipients(&["ap@kunde.example", "cfo@kunde.example"]),
            &text,
            vec![pdf],
            DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
                .unwrap()
                .to_utc(),
        )
        .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.contains("From: \"Beispiel Software GmbH\" <rechnung@beispiel-software.de>"));
        assert!(raw.contains("Reply-To: buchhaltung@beispiel-software.de"));
        assert!(raw.contains("To: \"Kunde GmbH\" <ap@kunde.example>"));
        assert!(raw.contains("Cc: cfo@kunde.example"));
        assert!(raw.contains("Date: Thu, 26 Nov 2026 10:00:00 +0000"));
        // Non-ASCII subject is encoded (RFC 2047), the body is text/plain UTF-8.
        assert!(raw.contains("Subject: "));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(raw.contains("Content-Disposition: attachment; filename=\"RE-2026-000001.pdf\""));
        assert!(raw.contains("Content-Type: application/pdf"));
        assert!(raw.contains("Content-Transfer-Encoding: base64"));
    }

    #[test]
    fn no_recipient_is_an_error_naming_the_role_not_the_address() {
        let text = MailText {
            subject: "x".to_owned(),
            body: "y".to_owned(),
        };
        let err = compose(&sender(), &recipients(&[]), &text, Vec::new(), Utc::now()).unwrap_err();
        assert_eq!(err.to_string(), "the e-mail's to address is unusable");
    }

    #[test]
    fn an_attachment_with_an_invalid_content_type_is_refused_by_name() {
        let text = MailText {
            subject: "x".to_owned(),
            body: "y".to_owned(),
        };
        let broken = MailAttachment {
            file_name: "RE-2026-000001.pdf".to_owned(),
            content_type: "not a type".to_owned(),
            bytes: Vec::new(),
        };
        let err = compose(
            &sender(),
            &recipients(&["ap@kunde.example"]),
            &text,
            vec![broken],
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "composing the e-mail failed: attachment RE-2026-000001.pdf has an invalid content type"
        );
    }
}
