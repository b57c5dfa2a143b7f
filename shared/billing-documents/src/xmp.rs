//! The Factur-X XMP schema, spliced into the PDF Typst wrote.
//!
//! Typst writes PDF/A-3b and attaches files, but cannot add custom XMP
//! (typst issue 5667). Factur-X readers look for `fx:DocumentType`,
//! `fx:DocumentFileName`, `fx:Version` and `fx:ConformanceLevel` in the
//! document's metadata stream, and PDF/A demands that every non-standard
//! schema used there is described by a `pdfaExtension` entry. So the
//! catalog's metadata stream is rewritten with both, uncompressed as PDF/A
//! recommends, and the file saved again with lopdf.

use lopdf::{Document, Object, Stream};

use crate::DocumentError;
use crate::render::FACTUR_X_FILE_NAME;

/// Where the description goes: right before the RDF root closes.
const RDF_END: &str = "</rdf:RDF>";

/// Returns `pdf` with the Factur-X XMP schema in its metadata. Refuses a
/// PDF whose template dropped the `factur-x.xml` attachment, because such a
/// file would pass for an e-invoice while not being one.
pub fn add_factur_x_metadata(pdf: &[u8]) -> Result<Vec<u8>, DocumentError> {
    let mut document = Document::load_mem(pdf).map_err(metadata_error)?;
    if !has_attachment(&document, FACTUR_X_FILE_NAME) {
        return Err(DocumentError::MissingAttachment);
    }
    let metadata_id = document
        .catalog()
        .and_then(|catalog| catalog.get(b"Metadata"))
        .and_then(Object::as_reference)
        .map_err(metadata_error)?;
    let stream = document
        .get_object_mut(metadata_id)
        .and_then(Object::as_stream_mut)
        .map_err(metadata_error)?;
    let xmp = stream
        .decompressed_content()
        .unwrap_or_else(|_| stream.content.clone());
    let xmp = String::from_utf8(xmp).map_err(|_| DocumentError::Metadata {
        message: "XMP metadata is not UTF-8".to_owned(),
    })?;
    let spliced = splice(&xmp).ok_or_else(|| DocumentError::Metadata {
        message: "XMP metadata has no rdf:RDF element".to_owned(),
    })?;

    let mut dict = stream.dict.clone();
    dict.remove(b"Filter");
    dict.remove(b"DecodeParms");
    *stream = Stream::new(dict, spliced.into_bytes()).with_compression(false);

    let mut out = Vec::with_capacity(pdf.len() + 4096);
    document
        .save_to(&mut out)
        .map_err(|e| DocumentError::Metadata {
            message: e.to_string(),
        })?;
    Ok(out)
}

fn has_attachment(document: &Document, name: &str) -> bool {
    let names = document
        .catalog()
        .and_then(|c| c.get_deref(b"Names", document))
        .and_then(Object::as_dict)
        .and_then(|n| n.get_deref(b"EmbeddedFiles", document))
        .and_then(Object::as_dict)
        .and_then(|e| e.get_deref(b"Names", document))
        .and_then(Object::as_array);
    names.is_ok_and(|names| {
        names
            .iter()
            .step_by(2)
            .any(|key| key.as_str().is_ok_and(|k| k == name.as_bytes()))
    })
}

fn metadata_error(error: lopdf::Error) -> DocumentError {
    DocumentError::Metadata {
        message: error.to_string(),
    }
}

/// Adds the fx: values as their own description and the fx schema to the
/// extension schemas Typst already declares (one `pdfaExtension:schemas`
/// property per document: a second one would be a duplicate property).
fn splice(xmp: &str) -> Option<String> {
    let rdf_end = xmp.rfind(RDF_END)?;
    let mut out = String::with_capacity(xmp.len() + 4096);
    match xmp.rfind(EXTENSION_BAG_END).filter(|at| *at < rdf_end) {
        Some(bag_end) => {
            out.push_str(&xmp[..bag_end]);
            out.push_str(FX_SCHEMA);
            out.push_str(&xmp[bag_end..rdf_end]);
            out.push_str(FX_VALUES);
        }
        None => {
            out.push_str(&xmp[..rdf_end]);
            out.push_str(FX_VALUES);
            out.push_str(EXTENSION_START);
            out.push_str(FX_SCHEMA);
            out.push_str(EXTENSION_BAG_END);
            out.push_str("</rdf:Description>");
        }
    }
    out.push_str(&xmp[rdf_end..]);
    Some(out)
}

/// Where Typst's list of extension schemas ends.
const EXTENSION_BAG_END: &str = "</rdf:Bag></pdfaExtension:schemas>";

const EXTENSION_START: &str = r#"<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"><pdfaExtension:schemas><rdf:Bag>"#;

/// The fx: values (Factur-X 1.0, profile EN 16931).
const FX_VALUES: &str = r#"<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>factur-x.xml</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>"#;

/// The PDF/A extension-schema description of fx: (Factur-X 1.0
/// specification, "XMP extension schema").
const FX_SCHEMA: &str = r#"<rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema><pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The name of the embedded XML document</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The type of the hybrid document in capital letters, e.g. INVOICE or ORDER</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The actual version of the standard applying to the embedded XML document</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The conformance level of the embedded XML document</pdfaProperty:description></rdf:li></rdf:Seq></pdfaSchema:property></rdf:li>"#;

#[cfg(test)]
mod tests {
    use super::*;

    const TYPST_LIKE: &str = r#"<x:xmpmeta><rdf:RDF><rdf:Description rdf:about=""><pdfaExtension:schemas><rdf:Bag><rdf:li>xmpMM</rdf:li></rdf:Bag></pdfaExtension:schemas><pdfaid:part>3</pdfaid:part></rdf:Description></rdf:RDF></x:xmpmeta>"#;

    #[test]
    fn the_fx_schema_joins_the_existing_extension_schemas() {
        let out = splice(TYPST_LIKE).unwrap();
        assert_eq!(out.matches("<pdfaExtension:schemas>").count(), 1);
        let bag = &out[out.find("<rdf:Bag>").unwrap()..out.find("</rdf:Bag>").unwrap()];
        assert!(bag.contains("<rdf:li>xmpMM</rdf:li>"));
        assert!(bag.contains("<pdfaSchema:prefix>fx</pdfaSchema:prefix>"));
        assert!(out.contains(
            "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description></rdf:RDF>"
        ));
    }

    #[test]
    fn without_extension_schemas_a_new_description_declares_fx() {
        let out = splice("<rdf:RDF><rdf:Description/></rdf:RDF>").unwrap();
        assert_eq!(out.matches("<pdfaExtension:schemas>").count(), 1);
        assert!(out.ends_with("</rdf:Bag></pdfaExtension:schemas></rdf:Description></rdf:RDF>"));
        assert!(splice("no rdf here").is_none());
    }
}
