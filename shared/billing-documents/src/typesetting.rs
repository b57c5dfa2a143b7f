//! Typst as a library, shared by every document we print (invoices, dunning
//! letters): the standard library, the fonts and the template files loaded
//! once per cold start, and one compile per document with that document's
//! data as extra files.
//!
//! The built-in templates and fonts are compiled into the binary; every
//! file of the operator's `INVOICE_TEMPLATE_DIR` replaces a built-in one of
//! the same name or joins them, and its `.ttf`/`.otf`/`.ttc` fonts join the
//! embedded ones, so one directory restyles every document.

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use crate::DocumentError;

const BUILT_IN_FONTS: &[&[u8]] = &[
    include_bytes!("../fonts/LibertinusSerif-Regular.otf"),
    include_bytes!("../fonts/LibertinusSerif-Bold.otf"),
    include_bytes!("../fonts/LibertinusSerif-Italic.otf"),
];

/// The id of a file at `path` (absolute, inside the project root).
pub(crate) fn file_id(path: &str) -> Result<FileId, DocumentError> {
    let vpath = VirtualPath::new(path).map_err(|e| DocumentError::Template {
        message: format!("template file name {path}: {e:?}"),
    })?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

/// A document's date as Typst's `datetime.today()` and the PDF's
/// timestamp: the same document always gets the same bytes.
pub(crate) fn document_date(date: NaiveDate) -> Option<Datetime> {
    Datetime::from_ymd(
        date.year(),
        u8::try_from(date.month()).unwrap_or(1),
        u8::try_from(date.day()).unwrap_or(1),
    )
}

/// Typst's errors as one line, with their hints.
pub(crate) fn diagnostics(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| {
            let hints: Vec<_> = e.hints.iter().map(|h| h.v.to_string()).collect();
            if hints.is_empty() {
                e.message.to_string()
            } else {
                format!("{} (hint: {})", e.message, hints.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Templates, fonts and the standard library of one kind of document.
pub(crate) struct Typesetter {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    sources: HashMap<FileId, Source>,
    files: HashMap<FileId, Bytes>,
    main: FileId,
    /// PDF/A-3b, checked once.
    standards: PdfStandards,
}

impl std::fmt::Debug for Typesetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typesetter")
            .field("fonts", &self.fonts.len())
            .field("templates", &self.sources.len())
            .field("files", &self.files.len())
            .finish()
    }
}

impl Typesetter {
    /// `main` as the fixed entry point `/main.typ`, the `built_in` files,
    /// and every file of `dir` (not recursive) replacing or adding to them.
    pub(crate) fn load(
        main: &str,
        built_in: &[(&str, &[u8])],
        dir: Option<&Path>,
    ) -> Result<Self, DocumentError> {
        let mut files: HashMap<String, Vec<u8>> = built_in
            .iter()
            .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
            .collect();
        let mut fonts: Vec<Font> = BUILT_IN_FONTS
            .iter()
            .flat_map(|bytes| Font::iter(Bytes::new(*bytes)))
            .collect();
        if let Some(dir) = dir {
            let template_error = |reason: String| DocumentError::TemplateDirectory {
                path: dir.display().to_string(),
                reason,
            };
            let entries = std::fs::read_dir(dir).map_err(|e| template_error(e.to_string()))?;
            for entry in entries {
                let entry = entry.map_err(|e| template_error(e.to_string()))?;
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let bytes = std::fs::read(&path).map_err(|e| template_error(e.to_string()))?;
                let lower = name.to_ascii_lowercase();
                if lower.ends_with(".ttf") || lower.ends_with(".otf") || lower.ends_with(".ttc") {
                    let before = fonts.len();
                    fonts.extend(Font::iter(Bytes::new(bytes)));
                    if fonts.len() == before {
                        return Err(template_error(format!("{name} is not a readable font")));
                    }
                } else {
                    files.insert(name.to_owned(), bytes);
                }
            }
        }
        let main_id = file_id("/main.typ")?;
        let mut sources = HashMap::new();
        sources.insert(main_id, Source::new(main_id, main.to_owned()));
        let mut file_bytes = HashMap::new();
        for (name, bytes) in files {
            let file = file_id(&format!("/{name}"))?;
            if name.ends_with(".typ") {
                let text = String::from_utf8(bytes).map_err(|_| DocumentError::Template {
                    message: format!("{name} is not UTF-8"),
                })?;
                sources.insert(file, Source::new(file, text));
            } else {
                file_bytes.insert(file, Bytes::new(bytes));
            }
        }
        let standards =
            PdfStandards::new(&[PdfStandard::A_3b]).map_err(|e| DocumentError::Pdf {
                message: e.message().to_string(),
            })?;
        Ok(Self {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            sources,
            files: file_bytes,
            main: main_id,
            standards,
        })
    }

    /// Lays out one document: the shared templates plus this document's
    /// `inputs` (a file id and its bytes, or `None` for a file this
    /// document does not have), dated `today`.
    pub(crate) fn compile(
        &self,
        inputs: &[(FileId, Option<Bytes>)],
        today: Option<Datetime>,
    ) -> Result<PagedDocument, DocumentError> {
        let world = DocumentWorld {
            typesetter: self,
            inputs,
            today,
        };
        typst::compile(&world)
            .output
            .map_err(|errors| DocumentError::Template {
                message: diagnostics(&errors),
            })
    }

    /// The laid-out document as PDF/A-3b with a stable document id.
    pub(crate) fn pdf(
        &self,
        document: &PagedDocument,
        ident: &str,
        today: Option<Datetime>,
    ) -> Result<Vec<u8>, DocumentError> {
        let options = PdfOptions {
            ident: Smart::Custom(ident.to_owned()),
            timestamp: today.map(Timestamp::new_utc),
            standards: self.standards.clone(),
            ..PdfOptions::default()
        };
        typst_pdf::pdf(document, &options).map_err(|errors| DocumentError::Pdf {
            message: diagnostics(&errors),
        })
    }
}

/// One compile's view of the files.
struct DocumentWorld<'a> {
    typesetter: &'a Typesetter,
    inputs: &'a [(FileId, Option<Bytes>)],
    today: Option<Datetime>,
}

impl World for DocumentWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.typesetter.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.typesetter.book
    }

    fn main(&self) -> FileId {
        self.typesetter.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.typesetter
            .sources
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some((_, bytes)) = self.inputs.iter().find(|(input, _)| *input == id) {
            return bytes.clone().ok_or_else(|| not_found(id));
        }
        if let Some(source) = self.typesetter.sources.get(&id) {
            return Ok(Bytes::from_string(source.clone()));
        }
        self.typesetter
            .files
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.typesetter.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_without_slash().into())
}
