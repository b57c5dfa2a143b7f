//! The Factur-X XMP schema, spliced into the PDF Typst wrote.
//!
//! Typst writes PDF/A-3b and attaches files, but cannot add custom XMP
//! (typst issue 5667). Factur-X readers look for `fx:DocumentType`,
//! `fx:DocumentFileName`, `fx:Version` and `fx:ConformanceLevel` in the
//! document's metadata stream, and PDF/A demands that every non-standard
//! schema used there is described by a `pdfaExtension` entry. So the
//! catalog's metadata stream is rewritten with both, uncompressed as PDF/A
//! recommends.
//!
//! [`splice_in_place`] edits Typst's bytes directly: the stream, its
//! `/Length` and the cross-reference offsets behind it, nothing else.
//! [`add_factur_x_metadata`] loads and saves the whole file with lopdf
//! instead, which costs about 2 ms for a tagged 20-line invoice (parsing
//! the structure tree, mostly); it is the fallback for a file the first
//! one does not recognise.

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

/// Returns `pdf` with the Factur-X XMP schema in its metadata, edited in
/// place: the metadata stream gets the spliced XMP and its new `/Length`,
/// and the cross-reference offsets behind it move by the difference.
/// Nothing else in the file changes. `None` when the file is not laid out
/// as Typst writes it (one classic cross-reference table without earlier
/// revisions, an uncompressed metadata stream with a direct `/Length`), so
/// the caller can fall back to [`add_factur_x_metadata`].
///
/// Does not look for the attachment: the caller has checked it.
pub fn splice_in_place(pdf: &[u8]) -> Option<Vec<u8>> {
    let xref_at = startxref(pdf)?;
    let xref = Xref::parse(pdf, xref_at)?;
    let trailer = Dict::at(pdf, xref.trailer)?;
    if trailer.get(b"Prev").is_some() || trailer.get(b"XRefStm").is_some() {
        return None;
    }
    let root = reference(pdf, trailer.get(b"Root")?)?;
    let catalog = Dict::at(pdf, object_body(pdf, &xref, root)?)?;
    let metadata = reference(pdf, catalog.get(b"Metadata")?)?;
    let object_at = xref.offset(metadata.0)?;
    // The edits move everything behind the metadata object, which must
    // include the table: it is rewritten below.
    if xref_at <= object_at {
        return None;
    }
    let dict = Dict::at(pdf, object_body(pdf, &xref, metadata)?)?;
    if dict.get(b"Filter").is_some() || dict.get(b"DecodeParms").is_some() {
        return None;
    }
    let (length_at, length_end) = dict.get(b"Length")?;
    let (length, after) = unsigned(pdf, length_at)?;
    if after != length_end {
        return None; // an indirect length, `n g R`
    }
    // `stream`, one end of line, the data, an end of line, `endstream`.
    let keyword = skip_whitespace(pdf, dict.end);
    if !pdf.get(keyword..)?.starts_with(b"stream") {
        return None;
    }
    let data_at = keyword
        + b"stream".len()
        + match pdf.get(keyword + b"stream".len()..)? {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            _ => return None,
        };
    let data_end = data_at.checked_add(length)?;
    let rest = pdf.get(data_end..)?;
    if !rest[skip_whitespace(rest, 0)..].starts_with(b"endstream") {
        return None;
    }
    let spliced = splice(std::str::from_utf8(&pdf[data_at..data_end]).ok()?)?;
    let new_length = spliced.len().to_string();

    let mut out = Vec::with_capacity(pdf.len() + spliced.len());
    out.extend_from_slice(&pdf[..length_at]);
    out.extend_from_slice(new_length.as_bytes());
    out.extend_from_slice(&pdf[length_end..data_at]);
    out.extend_from_slice(spliced.as_bytes());
    out.extend_from_slice(&pdf[data_end..]);
    // Both edits lie inside the metadata object and only add bytes:
    // whatever starts after its first byte has moved by the same amount.
    let grown = out.len().checked_sub(pdf.len())?;
    let moved = |offset: usize| {
        if offset > object_at {
            offset + grown
        } else {
            offset
        }
    };
    for entry in xref.entries.iter().flatten() {
        if entry.offset > object_at {
            // Always ten digits: the table keeps its length.
            let digits = format!("{:010}", moved(entry.offset));
            if digits.len() != 10 {
                return None;
            }
            let at = moved(entry.at);
            out.get_mut(at..at + 10)?.copy_from_slice(digits.as_bytes());
        }
    }
    let (number_at, number_end) = xref.startxref_number;
    let new_xref = moved(xref_at).to_string();
    out.splice(moved(number_at)..moved(number_end), new_xref.bytes());
    Some(out)
}

/// An in-use entry of the cross-reference table: where its ten offset
/// digits are in the file and the offset they give.
struct XrefEntry {
    at: usize,
    offset: usize,
}

/// A classic cross-reference table (`xref` ... `trailer`), by object number.
struct Xref {
    entries: Vec<Option<XrefEntry>>,
    /// Where the trailer dictionary starts.
    trailer: usize,
    /// Where the number after the last `startxref` is.
    startxref_number: (usize, usize),
}

impl Xref {
    fn parse(pdf: &[u8], at: usize) -> Option<Self> {
        if !pdf.get(at..)?.starts_with(b"xref") {
            return None;
        }
        let mut pos = at + b"xref".len();
        let mut entries: Vec<Option<XrefEntry>> = Vec::new();
        loop {
            pos = skip_whitespace(pdf, pos);
            if pdf.get(pos..)?.starts_with(b"trailer") {
                pos += b"trailer".len();
                break;
            }
            let (first, next) = unsigned(pdf, pos)?;
            let (count, next) = unsigned(pdf, skip_whitespace(pdf, next))?;
            pos = skip_whitespace(pdf, next);
            // Each entry is exactly 20 bytes: `nnnnnnnnnn ggggg n` and a
            // two-byte end of line.
            for number in first..first.checked_add(count)? {
                let entry = pdf.get(pos..pos + 20)?;
                if entry[10] != b' ' || entry[16] != b' ' {
                    return None;
                }
                let (offset, end) = unsigned(entry, 0)?;
                if end != 10 {
                    return None;
                }
                let in_use = match entry[17] {
                    b'n' => true,
                    b'f' => false,
                    _ => return None,
                };
                // An object number cannot exceed the file's size.
                if number >= pdf.len() {
                    return None;
                }
                if entries.len() <= number {
                    entries.resize_with(number + 1, || None);
                }
                entries[number] = in_use.then_some(XrefEntry { at: pos, offset });
                pos += 20;
            }
        }
        let keyword = rfind(pdf, b"startxref")?;
        let number_at = skip_whitespace(pdf, keyword + b"startxref".len());
        let (_, number_end) = unsigned(pdf, number_at)?;
        Some(Self {
            entries,
            trailer: skip_whitespace(pdf, pos),
            startxref_number: (number_at, number_end),
        })
    }

    fn offset(&self, number: usize) -> Option<usize> {
        self.entries.get(number)?.as_ref().map(|e| e.offset)
    }
}

/// The offset after the last `startxref`.
fn startxref(pdf: &[u8]) -> Option<usize> {
    let keyword = rfind(pdf, b"startxref")?;
    unsigned(pdf, skip_whitespace(pdf, keyword + b"startxref".len())).map(|(n, _)| n)
}

/// Where the body of indirect object `(number, generation)` starts, after
/// its `n g obj`.
fn object_body(pdf: &[u8], xref: &Xref, (number, generation): (usize, usize)) -> Option<usize> {
    let (n, pos) = unsigned(pdf, xref.offset(number)?)?;
    let (g, pos) = unsigned(pdf, skip_whitespace(pdf, pos))?;
    let pos = skip_whitespace(pdf, pos);
    if n != number || g != generation || !pdf.get(pos..)?.starts_with(b"obj") {
        return None;
    }
    Some(skip_whitespace(pdf, pos + b"obj".len()))
}

/// The value `n g R` between `at` and `end` as (n, g).
fn reference(pdf: &[u8], (at, end): (usize, usize)) -> Option<(usize, usize)> {
    let (number, pos) = unsigned(pdf, at)?;
    let (generation, pos) = unsigned(pdf, skip_whitespace(pdf, pos))?;
    let pos = skip_whitespace(pdf, pos);
    (pdf.get(pos) == Some(&b'R') && pos + 1 == end).then_some((number, generation))
}

/// A dictionary's top-level keys with where their values are, and where
/// the dictionary ends.
struct Dict<'a> {
    entries: Vec<(&'a [u8], (usize, usize))>,
    end: usize,
}

impl<'a> Dict<'a> {
    fn at(pdf: &'a [u8], at: usize) -> Option<Self> {
        if !pdf.get(at..)?.starts_with(b"<<") {
            return None;
        }
        let mut pos = at + 2;
        let mut entries = Vec::new();
        loop {
            pos = skip_whitespace(pdf, pos);
            if pdf.get(pos..)?.starts_with(b">>") {
                return Some(Self {
                    entries,
                    end: pos + 2,
                });
            }
            if pdf.get(pos) != Some(&b'/') {
                return None;
            }
            let key_end = name_end(pdf, pos + 1);
            let value_at = skip_whitespace(pdf, key_end);
            let value_end = value_end(pdf, value_at)?;
            entries.push((&pdf[pos + 1..key_end], (value_at, value_end)));
            pos = value_end;
        }
    }

    fn get(&self, key: &[u8]) -> Option<(usize, usize)> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

/// Where the object starting at `at` ends: a dictionary, array, string,
/// name, number, reference `n g R`, or keyword.
fn value_end(pdf: &[u8], at: usize) -> Option<usize> {
    match *pdf.get(at)? {
        b'<' if pdf.get(at + 1) == Some(&b'<') => Dict::at(pdf, at).map(|d| d.end),
        b'<' => Some(at + pdf.get(at..)?.iter().position(|b| *b == b'>')? + 1),
        b'[' => {
            let mut pos = skip_whitespace(pdf, at + 1);
            while *pdf.get(pos)? != b']' {
                pos = skip_whitespace(pdf, value_end(pdf, pos)?);
            }
            Some(pos + 1)
        }
        b'(' => {
            let mut depth = 0usize;
            let mut pos = at;
            loop {
                match *pdf.get(pos)? {
                    b'\\' => pos += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
        }
        b'/' => Some(name_end(pdf, at + 1)),
        b'0'..=b'9' => {
            let (_, end) = unsigned(pdf, at)?;
            // `n g R` is one value.
            let generation_at = skip_whitespace(pdf, end);
            if let Some((_, generation_end)) = unsigned(pdf, generation_at) {
                let r = skip_whitespace(pdf, generation_end);
                if generation_at > end && r > generation_end && pdf.get(r) == Some(&b'R') {
                    return Some(r + 1);
                }
            }
            Some(regular_end(pdf, end))
        }
        b')' | b'>' | b']' | b'{' | b'}' => None,
        _ => {
            let end = regular_end(pdf, at);
            (end > at).then_some(end)
        }
    }
}

/// An unsigned decimal integer at `at`, and where it ends.
fn unsigned(pdf: &[u8], at: usize) -> Option<(usize, usize)> {
    let digits = pdf
        .get(at..)?
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let number = std::str::from_utf8(pdf.get(at..at + digits)?)
        .ok()?
        .parse()
        .ok()?;
    Some((number, at + digits))
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

fn is_delimiter(byte: u8) -> bool {
    matches!(
        byte,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// Past whitespace (and comments) from `at`.
fn skip_whitespace(pdf: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = pdf.get(at) {
        if byte == b'%' {
            while pdf.get(at).is_some_and(|b| !matches!(b, b'\r' | b'\n')) {
                at += 1;
            }
        } else if is_whitespace(byte) {
            at += 1;
        } else {
            break;
        }
    }
    at
}

/// Where a run of regular characters (a name's or number's) ends.
fn regular_end(pdf: &[u8], at: usize) -> usize {
    at + pdf
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| !is_whitespace(**b) && !is_delimiter(**b))
        .count()
}

fn name_end(pdf: &[u8], at: usize) -> usize {
    regular_end(pdf, at)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
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
