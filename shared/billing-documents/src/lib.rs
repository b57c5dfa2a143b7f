//! Invoice documents: what the customer's accounts-payable team reads and
//! what their software imports, made from the same finalized invoice.
//!
//! - [`cii`]: the EN 16931 XML in UN/CEFACT CII syntax (Factur-X profile
//!   EN16931, and XRechnung 3.0 for public-sector customers);
//! - [`mail`]: the e-mail that carries them, from templates, as MIME;
//! - [`render`]: Typst templates to PDF/A-3b with that XML embedded as
//!   `factur-x.xml`, and [`xmp`]: the Factur-X metadata Typst cannot write;
//! - [`girocode`]: the EPC QR code printed beside the payment terms.
//!
//! No AWS and no async runtime: rendering is CPU work a function calls, and
//! the same code runs in tests, benchmarks and the demo.
#![warn(missing_docs)]

pub mod cii;
pub mod girocode;
pub mod letter;
pub mod mail;
pub mod render;
pub mod samples;
pub mod text;
mod typesetting;
pub mod view;
pub mod xmp;

pub use cii::{CiiProfile, invoice_xml};
pub use render::{InvoiceDocuments, InvoiceRenderer};

/// Why a document could not be produced. None of these clear up by
/// retrying with the same invoice and templates: a function treats them as
/// permanent and lets the message reach the dead-letter queue with the reason.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// XRechnung was asked for a customer without a Leitweg-ID.
    #[error("XRechnung needs the customer's Leitweg-ID (account.leitweg_id)")]
    MissingLeitwegId,
    /// XRechnung was asked for an invoice whose seller or buyer lacks what
    /// XRechnung requires; the error names the field.
    #[error("XRechnung cannot be written: {0}")]
    XRechnungIncomplete(#[source] billing_domain::DomainError),
    /// Writing XML into memory failed (should not happen).
    #[error("writing the invoice XML failed: {0}")]
    Xml(#[source] std::io::Error),
    /// A template did not compile or failed while laying out.
    #[error("invoice template failed: {message}")]
    Template {
        /// Typst's diagnostics.
        message: String,
    },
    /// The operator's template directory could not be read.
    #[error("template directory {path}: {reason}")]
    TemplateDirectory {
        /// The directory named by `INVOICE_TEMPLATE_DIR`.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Typst could not write a conforming PDF/A-3b.
    #[error("PDF export failed: {message}")]
    Pdf {
        /// Typst's diagnostics (e.g. a PDF/A violation).
        message: String,
    },
    /// An operator template did not place the e-invoice attachment.
    #[error(
        "the invoice template dropped the factur-x.xml attachment (place `body` in invoice.typ)"
    )]
    MissingAttachment,
    /// The PDF's metadata stream could not be rewritten.
    #[error("PDF metadata: {message}")]
    Metadata {
        /// lopdf's error.
        message: String,
    },
    /// An address of the e-mail cannot be written into a header (the role
    /// is named; the address itself is personal data and stays out).
    #[error("the e-mail's {role} address is unusable")]
    MailAddress {
        /// `from`, `reply_to`, `to` or `cc`.
        role: &'static str,
    },
    /// The e-mail could not be put together.
    #[error("composing the e-mail failed: {message}")]
    Mail {
        /// lettre's error.
        message: String,
    },
    /// A sample invoice could not be built (a bug in the samples).
    #[error("sample invoice: {0}")]
    Sample(#[from] billing_domain::DomainError),
}
