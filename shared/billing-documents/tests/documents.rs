//! The documents of an invoice: pinned XML, deterministic PDFs, and
//! operator templates that can restyle but not break the e-invoice.

use std::path::{Path, PathBuf};

use billing_documents::{CiiProfile, DocumentError, InvoiceRenderer, invoice_xml, samples};

const GOLDEN: &str = "tests/golden/german-consumer.factur-x.xml";

/// Pins the XML of a representative invoice (two rates, a service period,
/// an article number, a payment reference). A deliberate change is
/// accepted by running the test with `UPDATE_GOLDEN=1` and reviewing the diff.
#[test]
fn the_factur_x_xml_of_a_representative_invoice_is_pinned() {
    let invoice = samples::german_consumer().unwrap();
    let xml = invoice_xml(&invoice, CiiProfile::FacturXEn16931).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &xml).unwrap();
    }
    let pinned = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(String::from_utf8(xml).unwrap(), pinned);
}

#[test]
fn rendering_the_same_invoice_twice_gives_identical_bytes() {
    let renderer = InvoiceRenderer::built_in().unwrap();
    let invoice = samples::reverse_charge_austria().unwrap();
    let first = renderer.render(&invoice).unwrap();
    let again = renderer.render(&invoice).unwrap();
    assert_eq!(first, again);
    assert!(first.pdf.starts_with(b"%PDF-1.7"));
    assert!(first.xrechnung.is_none());
}

#[test]
fn a_long_invoice_breaks_across_pages() {
    let renderer = InvoiceRenderer::built_in().unwrap();
    let documents = renderer.render(&samples::long(200).unwrap()).unwrap();
    let pdf = lopdf::Document::load_mem(&documents.pdf).unwrap();
    assert!(
        pdf.get_pages().len() >= 5,
        "{} pages",
        pdf.get_pages().len()
    );
}

#[test]
fn xrechnung_needs_a_leitweg_id() {
    let invoice = samples::german_consumer().unwrap();
    let err = invoice_xml(&invoice, CiiProfile::XRechnung).unwrap_err();
    assert!(matches!(err, DocumentError::MissingLeitwegId));

    let public = samples::public_sector().unwrap();
    let xml = String::from_utf8(invoice_xml(&public, CiiProfile::XRechnung).unwrap()).unwrap();
    assert!(xml.contains("<ram:BuyerReference>04011000-1234512345-06</ram:BuyerReference>"));
    assert!(xml.contains("urn:xeinkauf.de:kosit:xrechnung_3.0"));
}

/// BT-34, BG-6 and BT-49 are in every CII document, not only XRechnung.
#[test]
fn both_profiles_carry_the_contact_and_the_electronic_addresses() {
    let public = samples::public_sector().unwrap();
    for profile in [CiiProfile::FacturXEn16931, CiiProfile::XRechnung] {
        let xml = String::from_utf8(invoice_xml(&public, profile).unwrap()).unwrap();
        for expected in [
            "<ram:PersonName>Buchhaltung</ram:PersonName>",
            "<ram:CompleteNumber>+49 30 1234567-0</ram:CompleteNumber>",
            "<ram:URIID>buchhaltung@beispiel-software.de</ram:URIID>",
            r#"<ram:URIID schemeID="EM">rechnung@beispiel-software.de</ram:URIID>"#,
            r#"<ram:URIID schemeID="0204">04011000-1234512345-06</ram:URIID>"#,
        ] {
            assert!(xml.contains(expected), "{profile:?} lacks {expected}");
        }
    }
}

/// An invoice snapshot from before the seller had a contact cannot become
/// an XRechnung: the error names the missing field.
#[test]
fn xrechnung_of_an_incomplete_snapshot_is_refused_naming_the_field() {
    let public = samples::public_sector().unwrap();
    let mut snapshot = serde_json::to_value(&public).unwrap();
    snapshot["content"]["seller"]
        .as_object_mut()
        .unwrap()
        .remove("contact");
    let old: billing_domain::invoice::Invoice = serde_json::from_value(snapshot).unwrap();
    let err = invoice_xml(&old, CiiProfile::XRechnung).unwrap_err();
    assert!(
        matches!(err, DocumentError::XRechnungIncomplete(_)),
        "{err}"
    );
    assert!(
        err.to_string().contains("billing_entity.identity.contact"),
        "{err}"
    );
    // The Factur-X XML of the same snapshot is still written.
    assert!(invoice_xml(&old, CiiProfile::FacturXEn16931).is_ok());
}

fn template_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("billing-documents-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

#[test]
fn an_operator_theme_replaces_the_built_in_one_without_a_build() {
    let invoice = samples::german_consumer().unwrap();
    let built_in = InvoiceRenderer::built_in()
        .unwrap()
        .render(&invoice)
        .unwrap();
    let theme = include_str!("../templates/theme.typ").replace("#1f4e79", "#8b0000");
    let dir = template_dir("theme", &[("theme.typ", &theme)]);
    let restyled = InvoiceRenderer::with_overrides(Some(&dir))
        .unwrap()
        .render(&invoice)
        .unwrap();
    assert_ne!(restyled.pdf, built_in.pdf);
    assert_eq!(restyled.xml, built_in.xml);
}

#[test]
fn a_template_that_drops_the_e_invoice_is_refused() {
    let dir = template_dir(
        "no-body",
        &[(
            "invoice.typ",
            "#let invoice(data, body) = [Invoice #data.number]",
        )],
    );
    let renderer = InvoiceRenderer::with_overrides(Some(&dir)).unwrap();
    let err = renderer
        .render(&samples::german_consumer().unwrap())
        .unwrap_err();
    assert!(matches!(err, DocumentError::MissingAttachment), "{err}");
}

#[test]
fn a_broken_template_names_the_problem() {
    let dir = template_dir(
        "broken",
        &[(
            "invoice.typ",
            "#let invoice(data, body) = [#data.no_such_field]",
        )],
    );
    let renderer = InvoiceRenderer::with_overrides(Some(&dir)).unwrap();
    let err = renderer
        .render(&samples::german_consumer().unwrap())
        .unwrap_err();
    assert!(matches!(err, DocumentError::Template { .. }), "{err}");
    assert!(err.to_string().contains("no_such_field"), "{err}");
}
