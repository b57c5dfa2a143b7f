//! The dunning letter as PDF/A-3b, with the invoice's fonts and theme.
//!
//! Like the invoice, the letter's figures are formatted here (no money
//! passes through a float) and handed to `dunning.typ` as `/letter.json`;
//! the wording is in the template, German and English, so an operator can
//! change it through `INVOICE_TEMPLATE_DIR` without a build.

use std::collections::HashMap;

use billing_domain::dunning_letter::{DunningLetter, LetterLine};
use billing_domain::party::{CustomerAccount, SellerIdentity};
use serde::Serialize;
use typst::foundations::Bytes;
use typst::syntax::FileId;

use crate::DocumentError;
use crate::text::{self, Labels};
use crate::typesetting::{Typesetter, document_date, file_id};

const MAIN: &str = r#"#import "/dunning.typ": letter
#letter(json("/letter.json"))
"#;

const TEMPLATES: &[(&str, &[u8])] = &[
    ("dunning.typ", include_bytes!("../templates/dunning.typ")),
    ("theme.typ", include_bytes!("../templates/theme.typ")),
];

/// What the template receives.
#[derive(Debug, Serialize)]
struct LetterView {
    lang: &'static str,
    stage: &'static str,
    date: String,
    seller: PartyView,
    buyer: PartyView,
    lines: Vec<LineView>,
    total_due: String,
    payment_deadline: String,
    payment_reference: Option<String>,
    payment_reference_label: &'static str,
}

#[derive(Debug, Serialize)]
struct PartyView {
    name: String,
    address: Vec<String>,
}

#[derive(Debug, Serialize)]
struct LineView {
    number: String,
    issue_date: String,
    due_date: String,
    open_amount: String,
    level: u32,
    stage: &'static str,
    fee: Option<String>,
    flat_fee: Option<String>,
    earlier_fees: Option<String>,
    interest: Vec<HashMap<&'static str, String>>,
    total: String,
}

/// The stage's key in the templates (`payment_reminder`, `first_notice`,
/// ...), shared by the PDF and the e-mail.
pub fn stage_key(stage: billing_domain::dunning::DunningStage) -> &'static str {
    use billing_domain::dunning::DunningStage as S;
    match stage {
        S::PaymentReminder => "payment_reminder",
        S::FirstNotice => "first_notice",
        S::SecondNotice => "second_notice",
        S::FinalNotice => "final_notice",
    }
}

fn line_view(labels: &Labels, line: &LetterLine) -> LineView {
    let nonzero = |money: billing_domain::money::Money| {
        (!money.is_zero()).then(|| text::money(labels, money))
    };
    LineView {
        number: line.number.clone(),
        issue_date: text::date(labels, line.issue_date),
        due_date: text::date(labels, line.due_date),
        open_amount: text::money(labels, line.open_amount),
        level: line.level,
        stage: stage_key(line.stage),
        fee: nonzero(line.fee),
        flat_fee: nonzero(line.flat_fee),
        earlier_fees: nonzero(line.earlier_fees),
        interest: line
            .interest
            .periods
            .iter()
            .map(|p| {
                HashMap::from([
                    ("days", p.days.to_string()),
                    ("from", text::date(labels, p.period.start)),
                    ("to", text::date(labels, p.period.end)),
                    ("rate", text::number(labels, p.rate_percent)),
                    ("base", text::number(labels, p.base_rate_percent)),
                    ("basis", text::money(labels, p.principal)),
                    ("amount", text::money(labels, p.amount)),
                ])
            })
            .collect(),
        total: text::money(labels, line.total),
    }
}

/// Templates and fonts for dunning letters, loaded once per cold start.
#[derive(Debug)]
pub struct LetterRenderer {
    typesetter: Typesetter,
    data: FileId,
}

impl LetterRenderer {
    /// The built-in templates, overridden by files of the same name in
    /// `INVOICE_TEMPLATE_DIR` when it is set (fonts there join the built-in
    /// ones, as for invoices).
    pub fn from_env() -> Result<Self, DocumentError> {
        Ok(Self {
            typesetter: Typesetter::load(
                MAIN,
                TEMPLATES,
                crate::render::operator_template_dir().as_deref(),
            )?,
            data: file_id("/letter.json")?,
        })
    }

    /// The letter's PDF/A-3b. Deterministic: the same letter gives the same
    /// bytes (document id = letter id, timestamp = letter date).
    pub fn render(
        &self,
        letter: &DunningLetter,
        seller: &SellerIdentity,
        buyer: &CustomerAccount,
        payment_reference: Option<&str>,
    ) -> Result<Vec<u8>, DocumentError> {
        let labels = text::labels(letter.language);
        let address = |street: &str, extra: Option<&str>, postal: Option<&str>, city: &str| {
            let mut lines = vec![street.to_owned()];
            lines.extend(extra.map(str::to_owned));
            lines.push(
                format!("{} {city}", postal.unwrap_or_default())
                    .trim()
                    .to_owned(),
            );
            lines
        };
        let mut buyer_lines = vec![buyer.name.clone()];
        buyer_lines.extend(address(
            &buyer.address.street,
            buyer.address.additional_line.as_deref(),
            buyer.address.postal_code.as_deref(),
            &buyer.address.city,
        ));
        let view = LetterView {
            lang: labels.code,
            stage: stage_key(letter.stage),
            date: text::date(labels, letter.date),
            seller: PartyView {
                name: seller.legal_name.clone(),
                address: address(
                    &seller.address.street,
                    seller.address.additional_line.as_deref(),
                    seller.address.postal_code.as_deref(),
                    &seller.address.city,
                ),
            },
            buyer: PartyView {
                name: buyer.name.clone(),
                address: buyer_lines,
            },
            lines: letter.lines.iter().map(|l| line_view(labels, l)).collect(),
            total_due: text::money(labels, letter.total_due),
            payment_deadline: text::date(labels, letter.payment_deadline),
            payment_reference: payment_reference.map(str::to_owned),
            payment_reference_label: match labels.code {
                "de" => "Verwendungszweck",
                _ => "Payment reference",
            },
        };
        let data = serde_json::to_vec(&view).map_err(|e| DocumentError::Template {
            message: format!("letter data: {e}"),
        })?;
        let today = document_date(letter.date);
        let result = self
            .typesetter
            .compile(&[(self.data, Some(Bytes::new(data)))], today);
        // Drop what this letter memoized, as for invoices: a warm process
        // stays flat.
        comemo::evict(1);
        self.typesetter.pdf(&result?, &letter.letter_id, today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_domain::party::Language;

    fn sample_letter(language: Language) -> (DunningLetter, billing_domain::invoice::Invoice) {
        crate::samples::dunning_letter(language).unwrap()
    }

    #[test]
    fn renders_german_and_english_letters_deterministically() {
        let renderer = LetterRenderer::from_env().unwrap();
        for language in [Language::De, Language::En] {
            let (letter, invoice) = sample_letter(language);
            let content = invoice.content();
            let pdf = renderer
                .render(
                    &letter,
                    &content.seller,
                    &content.buyer,
                    Some("RF18539007547034"),
                )
                .unwrap();
            assert!(pdf.starts_with(b"%PDF-"), "{language:?}");
            assert!(pdf.windows(6).any(|w| w == b"pdfaid"), "PDF/A metadata");
            let again = renderer
                .render(
                    &letter,
                    &content.seller,
                    &content.buyer,
                    Some("RF18539007547034"),
                )
                .unwrap();
            assert_eq!(pdf, again, "same letter, same bytes");
            if let Some(dir) = std::env::var_os("LETTER_SAMPLE_DIR") {
                std::fs::write(
                    std::path::Path::new(&dir).join(format!("{language:?}.pdf")),
                    &pdf,
                )
                .unwrap();
            }
        }
    }
}
