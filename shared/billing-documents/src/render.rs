//! The invoice as PDF/A-3b with its EN 16931 XML attached, typeset once
//! per invoice with the templates and fonts loaded once per cold start
//! ([`crate::typesetting`]).
//!
//! The built-in templates and fonts are compiled into the binary; an
//! operator restyles invoices by pointing `INVOICE_TEMPLATE_DIR` at a
//! directory (in Lambda, a layer under `/opt`) whose files replace or add to
//! the built-in ones by name: `theme.typ`, `labels.typ`, `invoice.typ`,
//! images, and `.ttf`/`.otf` fonts. Only the entry point that attaches the
//! e-invoice stays fixed, so no template can produce a PDF without its XML.

use std::path::Path;

use billing_domain::invoice::Invoice;
use typst::foundations::{Bytes, Datetime, NativeElement};
use typst::introspection::Introspector;
use typst::pdf::AttachElem;
use typst::syntax::FileId;
use typst_layout::PagedDocument;

use crate::DocumentError;
use crate::cii::{self, CiiProfile};
use crate::girocode::EpcTransfer;
use crate::typesetting::{Typesetter, document_date, file_id};
use crate::view::InvoiceView;
use crate::xmp;

/// The environment variable naming the operator's template directory.
pub const TEMPLATE_DIR_VARIABLE: &str = "INVOICE_TEMPLATE_DIR";

/// The operator's template directory, if `INVOICE_TEMPLATE_DIR` names one:
/// PDF and e-mail templates are restyled from the same place.
pub(crate) fn operator_template_dir() -> Option<std::path::PathBuf> {
    std::env::var_os(TEMPLATE_DIR_VARIABLE)
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
}

/// Where templates find the invoice's GiroCode image (when `data.girocode`).
pub const GIROCODE_FILE: &str = "/girocode.svg";

/// The name the e-invoice carries inside the PDF, fixed by Factur-X.
pub const FACTUR_X_FILE_NAME: &str = "factur-x.xml";

/// Memoized results the last render did not use are dropped after each
/// render, so a warm Lambda's memory stays flat while what every invoice
/// shares (the evaluated templates, font data, layout that does not depend
/// on the invoice) stays cached. Two different invoices share little else:
/// keeping five generations instead of one held five invoices' layout for
/// no hits, each eviction (it walks the whole cache) took 1.6 ms instead of
/// 0.6, and layout itself was slower in the bigger heap.
const CACHE_GENERATIONS: usize = 1;

const BUILT_IN_FILES: &[(&str, &[u8])] = &[
    ("invoice.typ", include_bytes!("../templates/invoice.typ")),
    ("labels.typ", include_bytes!("../templates/labels.typ")),
    ("theme.typ", include_bytes!("../templates/theme.typ")),
];

/// Fixed entry point: the operator's layout receives the data and the
/// attachment, which Factur-X requires to be `factur-x.xml`, related as the
/// alternative (machine-readable) form of the visible invoice.
const MAIN: &str = r#"#import "/invoice.typ": invoice
#show: invoice.with(json("/invoice.json"))
#pdf.attach(
  "factur-x.xml",
  relationship: "alternative",
  mime-type: "text/xml",
  description: "Factur-X/ZUGFeRD invoice (EN 16931, UN/CEFACT CII)",
)
"#;

/// The documents of one invoice, ready to archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocuments {
    /// PDF/A-3b with `factur-x.xml` embedded and the Factur-X XMP schema.
    pub pdf: Vec<u8>,
    /// The embedded EN 16931 CII XML, also archived on its own.
    pub xml: Vec<u8>,
    /// XRechnung CII XML, for customers with a Leitweg-ID.
    pub xrechnung: Option<Vec<u8>>,
}

/// Templates and fonts, loaded once per cold start and shared by every
/// render of the process.
pub struct InvoiceRenderer {
    typesetter: Typesetter,
    data: FileId,
    attachment: FileId,
    girocode: FileId,
}

impl InvoiceRenderer {
    /// The built-in templates, overridden by the directory named in
    /// `INVOICE_TEMPLATE_DIR` when it is set.
    pub fn from_env() -> Result<Self, DocumentError> {
        Self::with_overrides(operator_template_dir().as_deref())
    }

    /// The built-in German/English templates and fonts only.
    pub fn built_in() -> Result<Self, DocumentError> {
        Self::with_overrides(None)
    }

    /// The built-in templates with every file of `dir` (not recursive)
    /// replacing or adding to them; fonts in it join the embedded ones.
    pub fn with_overrides(dir: Option<&Path>) -> Result<Self, DocumentError> {
        Ok(Self {
            typesetter: Typesetter::load(MAIN, BUILT_IN_FILES, dir)?,
            data: file_id("/invoice.json")?,
            attachment: file_id(&format!("/{FACTUR_X_FILE_NAME}"))?,
            girocode: file_id(GIROCODE_FILE)?,
        })
    }

    /// Renders the PDF and the XML (and XRechnung when the customer has a
    /// Leitweg-ID) of a finalized invoice. Deterministic: the same invoice
    /// and templates give the same bytes, which is what lets the archive
    /// treat a re-render as a no-op.
    pub fn render(&self, invoice: &Invoice) -> Result<InvoiceDocuments, DocumentError> {
        let xml = cii::invoice_xml(invoice, CiiProfile::FacturXEn16931)?;
        let xrechnung = match invoice.content().buyer.leitweg_id {
            Some(_) => Some(cii::invoice_xml(invoice, CiiProfile::XRechnung)?),
            None => None,
        };
        let pdf = self.pdf(invoice, &xml);
        // Typst memoizes across calls in a global cache; without eviction a
        // warm process grows by megabytes per invoice.
        comemo::evict(CACHE_GENERATIONS);
        let pdf = pdf?;
        // The attachment was checked on the laid-out document; the lopdf
        // rewrite (which checks it again) only runs for a file the in-place
        // splice does not recognise.
        let pdf = match xmp::splice_in_place(&pdf) {
            Some(pdf) => pdf,
            None => xmp::add_factur_x_metadata(&pdf)?,
        };
        Ok(InvoiceDocuments {
            pdf,
            xml,
            xrechnung,
        })
    }

    /// Typst's PDF, before the XMP splice. Refuses a document without the
    /// `factur-x.xml` attachment before exporting it.
    fn pdf(&self, invoice: &Invoice, xml: &[u8]) -> Result<Vec<u8>, DocumentError> {
        let (document, today) = self.compile(invoice, xml)?;
        // A stable document id: the same invoice always gets the same one.
        self.typesetter
            .pdf(&document, invoice.content().id.as_str(), today)
    }

    fn compile(
        &self,
        invoice: &Invoice,
        xml: &[u8],
    ) -> Result<(PagedDocument, Option<Datetime>), DocumentError> {
        let girocode = EpcTransfer::for_invoice(invoice)
            .and_then(|transfer| transfer.svg())
            .map(|svg| Bytes::new(svg.into_bytes()));
        let view =
            serde_json::to_vec(&InvoiceView::of(invoice, girocode.is_some())).map_err(|e| {
                DocumentError::Template {
                    message: format!("invoice data: {e}"),
                }
            })?;
        let today = document_date(invoice.content().issue_date);
        let inputs = [
            (self.data, Some(Bytes::new(view))),
            (self.attachment, Some(Bytes::new(xml.to_vec()))),
            (self.girocode, girocode),
        ];
        let document = self.typesetter.compile(&inputs, today)?;
        // Typst exports every attach element it finds, and a template that
        // drops `body` drops this one: no PDF leaves without its e-invoice.
        let attached = document
            .introspector()
            .query(&AttachElem::ELEM.select())
            .iter()
            .filter_map(|elem| elem.to_packed::<AttachElem>())
            .any(|elem| elem.path.derived == FACTUR_X_FILE_NAME);
        if !attached {
            return Err(DocumentError::MissingAttachment);
        }
        Ok((document, today))
    }
}

impl std::fmt::Debug for InvoiceRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvoiceRenderer")
            .field("typesetter", &self.typesetter)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    fn typst_pdf(invoice: &Invoice) -> Vec<u8> {
        let renderer = InvoiceRenderer::built_in().unwrap();
        let xml = cii::invoice_xml(invoice, CiiProfile::FacturXEn16931).unwrap();
        renderer.pdf(invoice, &xml).unwrap()
    }

    fn metadata(document: &lopdf::Document) -> Vec<u8> {
        let id = document
            .catalog()
            .unwrap()
            .get(b"Metadata")
            .unwrap()
            .as_reference()
            .unwrap();
        let stream = document.get_object(id).unwrap().as_stream().unwrap();
        assert!(
            stream.dict.get(b"Filter").is_err(),
            "XMP must stay uncompressed"
        );
        stream.content.clone()
    }

    fn rfind(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .rposition(|w| w == needle)
            .unwrap()
    }

    /// Every in-use cross-reference entry must point at its `n g obj`.
    fn assert_offsets_point_at_their_objects(pdf: &[u8]) {
        let tail = std::str::from_utf8(&pdf[rfind(pdf, b"startxref")..]).unwrap();
        let xref_at: usize = tail.split_whitespace().nth(1).unwrap().parse().unwrap();
        let table = &pdf[xref_at..rfind(pdf, b"trailer")];
        let table = std::str::from_utf8(table).unwrap();
        let mut lines = table.lines();
        assert_eq!(lines.next(), Some("xref"));
        let mut header = lines.next().unwrap().split_whitespace();
        let first: usize = header.next().unwrap().parse().unwrap();
        let count: usize = header.next().unwrap().parse().unwrap();
        let mut checked = 0;
        for (number, line) in (first..first + count).zip(lines) {
            let fields: Vec<_> = line.split_whitespace().collect();
            if fields[2] == "n" {
                let offset: usize = fields[0].parse().unwrap();
                assert!(
                    pdf[offset..].starts_with(format!("{number} 0 obj").as_bytes()),
                    "object {number} is not at {offset}"
                );
                checked += 1;
            }
        }
        assert!(checked > 10);
    }

    #[test]
    fn the_in_place_splice_changes_only_the_metadata_and_agrees_with_lopdf() {
        for invoice in [
            samples::german_consumer().unwrap(),
            samples::long(20).unwrap(),
        ] {
            let raw = typst_pdf(&invoice);
            let fast = xmp::splice_in_place(&raw).expect("Typst's layout is recognised");
            let slow = xmp::add_factur_x_metadata(&raw).unwrap();
            assert_offsets_point_at_their_objects(&fast);

            let fast_doc = lopdf::Document::load_mem(&fast).unwrap();
            let slow_doc = lopdf::Document::load_mem(&slow).unwrap();
            let raw_doc = lopdf::Document::load_mem(&raw).unwrap();
            assert_eq!(metadata(&fast_doc), metadata(&slow_doc));
            assert_ne!(metadata(&fast_doc), metadata(&raw_doc));
            // Every other object is untouched.
            let metadata_id = fast_doc
                .catalog()
                .unwrap()
                .get(b"Metadata")
                .unwrap()
                .as_reference()
                .unwrap();
            assert_eq!(fast_doc.objects.len(), raw_doc.objects.len());
            for (id, object) in &raw_doc.objects {
                if *id != metadata_id {
                    assert_eq!(
                        format!("{object:?}"),
                        format!("{:?}", fast_doc.objects[id]),
                        "object {id:?} changed"
                    );
                }
            }
            assert_eq!(fast_doc.trailer, raw_doc.trailer);
        }
    }

    #[test]
    fn a_file_not_laid_out_like_typst_s_is_left_to_lopdf() {
        let raw = typst_pdf(&samples::german_consumer().unwrap());
        // No classic cross-reference table where `startxref` points (as
        // with a cross-reference stream): not recognised.
        let mut other = raw.clone();
        let at = rfind(&other, b"xref\n0 ");
        other[at..at + 4].copy_from_slice(b"XREF");
        assert!(xmp::splice_in_place(&other).is_none());
        // A compressed metadata stream: not recognised either.
        let at = rfind(&raw, b"/Type/Metadata");
        let mut other = raw.clone();
        other[at..at + "/Type/Metadata".len()].copy_from_slice(b"/Filter/Flate_");
        assert!(xmp::splice_in_place(&other).is_none());
    }
}
