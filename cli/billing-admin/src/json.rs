//! Reading operator JSON strictly, with errors that point into the file.
//!
//! The domain types accept unknown fields (stored data must stay readable
//! across versions), but an operator's file with a misspelt field must be
//! refused, not half-applied. So a file is parsed to a `serde_json::Value`
//! first (syntax errors carry line and column), each record is decoded
//! through `serde_path_to_error` (type errors carry the JSON path), and the
//! decoded value is encoded again: any input key that does not come back is
//! a field the type does not know. A small scanner then finds the line and
//! column of any path in the original text.

use std::collections::HashSet;
use std::fmt::Display;
use std::hash::Hash;
use std::path::Path;

use billing_domain::DomainError;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{AdminError, Problem};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// `[3].items[0].interval`, the way the problems name fields.
pub fn display_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// Parses a dotted domain field name (`items[2].item.unit_price`) into a path.
pub fn parse_path(field: &str) -> Vec<Seg> {
    let mut path = Vec::new();
    for part in field.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            path.push(Seg::Key(name.to_owned()));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(index) = index.parse() {
                path.push(Seg::Index(index));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    path
}

/// An operator's JSON file, parsed, with its text kept for locating errors.
#[derive(Debug)]
pub struct JsonFile {
    /// The file as named on the command line.
    pub name: String,
    text: String,
    /// The parsed document.
    pub value: Value,
}

impl JsonFile {
    /// Reads and parses a file; a syntax error is refused with its line
    /// and column.
    pub fn read(path: &Path) -> Result<Self, AdminError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| AdminError::Unreadable {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        Self::parse(name, text)
    }

    /// [`Self::read`] on text already in memory.
    pub fn parse(name: String, text: String) -> Result<Self, AdminError> {
        match serde_json::from_str(&text) {
            Ok(value) => Ok(Self { name, text, value }),
            Err(e) => {
                let message = e.to_string();
                // serde_json appends " at line L column C"; the problem says it.
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                Err(AdminError::Refused {
                    file: name,
                    problems: vec![
                        Problem::new(format!("not valid JSON: {message}"))
                            .at(e.line(), Some(e.column())),
                    ],
                })
            }
        }
    }

    /// This file with `field` taken out of every record of its array, and
    /// what each record held there (in file order): a part decoded on its
    /// own (an account's mandates) while the rest keeps its strict decoding.
    /// Problems still point into the original text.
    pub fn split_field(&self, field: &str) -> Result<(Self, Vec<Option<Value>>), AdminError> {
        let mut rest = self.records()?.to_vec();
        let taken = rest
            .iter_mut()
            .map(|record| record.as_object_mut().and_then(|o| o.remove(field)))
            .collect();
        Ok((
            Self {
                name: self.name.clone(),
                text: self.text.clone(),
                value: Value::Array(rest),
            },
            taken,
        ))
    }

    /// The records of a file whose top level must be an array.
    pub fn records(&self) -> Result<&[Value], AdminError> {
        match &self.value {
            Value::Array(records) => Ok(records),
            _ => Err(self.refused(vec![
                self.problem(&[], "the file must hold a JSON array of records"),
            ])),
        }
    }

    /// Decodes the value at `base` strictly: type errors and unknown fields
    /// become problems naming the path, line and column.
    pub fn decode<T: DeserializeOwned + Serialize>(
        &self,
        value: &Value,
        base: &[Seg],
    ) -> Result<T, Vec<Problem>> {
        let decoded: T = serde_path_to_error::deserialize(value).map_err(|e| {
            let mut path = base.to_vec();
            path.extend(e.path().iter().filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                serde_path_to_error::Segment::Unknown => None,
            }));
            vec![self.problem(&path, e.into_inner().to_string())]
        })?;
        let known = serde_json::to_value(&decoded)
            .map_err(|e| vec![self.problem(base, format!("cannot be encoded again: {e}"))])?;
        let mut unknown = Vec::new();
        unknown_fields(value, &known, &mut base.to_vec(), &mut unknown);
        if unknown.is_empty() {
            Ok(decoded)
        } else {
            Err(unknown
                .iter()
                .map(|path| self.problem(path, "unknown field"))
                .collect())
        }
    }

    /// A problem at `path`, located in the text: the deepest part of the
    /// path that exists gives line and column, so a missing field points at
    /// the object that lacks it.
    pub fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        let mut problem = Problem::new(message);
        if !path.is_empty() {
            problem = problem.field(display_path(path));
        }
        for len in (0..=path.len()).rev() {
            if let Some(offset) = locate(&self.text, &path[..len]) {
                let (line, column) = line_column(&self.text, offset);
                return problem.at(line, Some(column));
            }
        }
        problem
    }

    /// Every record of an array file decoded strictly, validated by the
    /// domain (whose field names carry `prefix`, e.g. `account.`) and with
    /// unique ids; all problems of the file at once. On success the records
    /// are in file order, so index `i` is the file's record `i`.
    pub fn decode_records<T, K>(
        &self,
        kind: &str,
        prefix: &str,
        id: impl Fn(&T) -> K,
        validate: impl Fn(&T) -> Result<(), DomainError>,
    ) -> Result<Vec<T>, AdminError>
    where
        T: DeserializeOwned + Serialize,
        K: Eq + Hash + Display,
    {
        let mut problems = Vec::new();
        let mut decoded = Vec::new();
        let mut seen = HashSet::new();
        for (index, record) in self.records()?.iter().enumerate() {
            let base = [Seg::Index(index)];
            let value: T = match self.decode(record, &base) {
                Ok(value) => value,
                Err(found) => {
                    let name = format!("record {index}");
                    problems.extend(found.into_iter().map(|p| p.record(name.clone())));
                    continue;
                }
            };
            let name = format!("record {index} ({kind} {})", id(&value));
            if let Err(e) = validate(&value) {
                problems.push(self.domain_problem(&base, prefix, &e).record(name.clone()));
            }
            if !seen.insert(id(&value)) {
                let at = [Seg::Index(index), Seg::Key("id".into())];
                problems.push(self.problem(&at, "appears twice in the file").record(name));
            }
            decoded.push(value);
        }
        if problems.is_empty() {
            Ok(decoded)
        } else {
            Err(self.refused(problems))
        }
    }

    /// A domain validation error located in this file: its field name
    /// (minus the domain's `prefix`, e.g. `account.`) is a path below `base`.
    pub fn domain_problem(&self, base: &[Seg], prefix: &str, error: &DomainError) -> Problem {
        let DomainError::Invalid { field, message } = error;
        let mut path = base.to_vec();
        path.extend(parse_path(field.strip_prefix(prefix).unwrap_or(field)));
        self.problem(&path, message.clone())
    }

    /// The refusal of this file.
    pub fn refused(&self, problems: Vec<Problem>) -> AdminError {
        AdminError::Refused {
            file: self.name.clone(),
            problems,
        }
    }
}

/// Input keys (with a value) that do not come back from the decoded value.
fn unknown_fields(input: &Value, known: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match (input, known) {
        (Value::Object(input), Value::Object(known)) => {
            for (key, value) in input {
                path.push(Seg::Key(key.clone()));
                match known.get(key) {
                    Some(known) => unknown_fields(value, known, path, out),
                    None if value.is_null() => {}
                    None => out.push(path.clone()),
                }
                path.pop();
            }
        }
        (Value::Array(input), Value::Array(known)) if input.len() == known.len() => {
            for (index, (value, known)) in input.iter().zip(known).enumerate() {
                path.push(Seg::Index(index));
                unknown_fields(value, known, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Byte offset of the value at `path` (of the key, for an object member)
/// in valid JSON text; `None` when the path does not exist.
fn locate(text: &str, path: &[Seg]) -> Option<usize> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    scanner.find(path)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes a string starting at its quote and returns it decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        self.at += 1;
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'"' => return serde_json::from_str(self.text.get(start..self.at)?).ok(),
                _ => {}
            }
        }
        None
    }

    fn skip_value(&mut self) -> Option<()> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.at += 1;
                loop {
                    self.skip_whitespace();
                    match self.peek()? {
                        byte if byte == close => {
                            self.at += 1;
                            return Some(());
                        }
                        b',' | b':' => self.at += 1,
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }

    fn find(&mut self, path: &[Seg]) -> Option<usize> {
        self.skip_whitespace();
        let Some((first, rest)) = path.split_first() else {
            return Some(self.at);
        };
        match (self.peek()?, first) {
            (b'{', Seg::Key(wanted)) => {
                self.at += 1;
                loop {
                    self.skip_whitespace();
                    match self.peek()? {
                        b'}' => return None,
                        b',' => self.at += 1,
                        b'"' => {
                            let key_at = self.at;
                            let key = self.string()?;
                            self.skip_whitespace();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.at += 1;
                            if &key == wanted {
                                return if rest.is_empty() {
                                    Some(key_at)
                                } else {
                                    self.find(rest)
                                };
                            }
                            self.skip_value()?;
                        }
                        _ => return None,
                    }
                }
            }
            (b'[', Seg::Index(wanted)) => {
                self.at += 1;
                let mut index = 0;
                loop {
                    self.skip_whitespace();
                    match self.peek()? {
                        b']' => return None,
                        b',' => {
                            self.at += 1;
                            index += 1;
                        }
                        _ if index == *wanted => return self.find(rest),
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, Serialize)]
    struct Inner {
        count: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[derive(Debug, serde::Deserialize, Serialize)]
    struct Outer {
        name: String,
        inner: Vec<Inner>,
    }

    const TEXT: &str = "[\n  {\"name\": \"a\", \"inner\": [{\"count\": 1}]},\n  {\"name\": \"b\",\n   \"inner\": [{\"count\": 2, \"cuont\": 3}]}\n]";

    fn file() -> JsonFile {
        JsonFile::parse("f.json".into(), TEXT.into()).unwrap()
    }

    #[test]
    fn paths_are_located_in_the_text() {
        assert_eq!(locate(TEXT, &[]), Some(0));
        let at = |path: &[Seg]| locate(TEXT, path).map(|o| line_column(TEXT, o));
        assert_eq!(at(&[Seg::Index(1)]), Some((3, 3)));
        assert_eq!(
            at(&[
                Seg::Index(1),
                Seg::Key("inner".into()),
                Seg::Index(0),
                Seg::Key("cuont".into())
            ]),
            Some((4, 27))
        );
        assert_eq!(at(&[Seg::Index(2)]), None);
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_path_and_line() {
        let file = file();
        let records = file.records().unwrap();
        let ok: Outer = file.decode(&records[0], &[Seg::Index(0)]).unwrap();
        assert_eq!(ok.name, "a");
        let problems = file
            .decode::<Outer>(&records[1], &[Seg::Index(1)])
            .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field.as_deref(), Some("[1].inner[0].cuont"));
        assert_eq!((problems[0].line, problems[0].column), (Some(4), Some(27)));
        assert_eq!(problems[0].message, "unknown field");
    }

    #[test]
    fn a_type_error_names_the_path() {
        let file = JsonFile::parse(
            "f.json".into(),
            "{\"name\": \"a\",\n \"inner\": [{\"count\": \"x\"}]}".into(),
        )
        .unwrap();
        let problems = file.decode::<Outer>(&file.value, &[]).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("inner[0].count"));
        assert_eq!(problems[0].line, Some(2));
    }

    #[test]
    fn a_syntax_error_has_line_and_column() {
        let err = JsonFile::parse("f.json".into(), "[\n {\"a\": 1,}\n]".into()).unwrap_err();
        let problem = &err.problems()[0];
        assert_eq!(problem.line, Some(2));
        assert!(problem.message.starts_with("not valid JSON"), "{problem}");
    }

    #[test]
    fn domain_field_names_become_paths() {
        assert_eq!(
            parse_path("items[2].item.unit_price"),
            vec![
                Seg::Key("items".into()),
                Seg::Index(2),
                Seg::Key("item".into()),
                Seg::Key("unit_price".into())
            ]
        );
        assert_eq!(display_path(&parse_path("a[1][2].b")), "a[1][2].b");
    }
}
