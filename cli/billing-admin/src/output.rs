//! What a command prints: one JSON document on stdout with `--json`, plain
//! lines for a person otherwise; progress on stderr only for a person at a
//! terminal, so piped or machine-read output stays clean.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::AdminError;

/// How results and errors are printed, chosen once by `--json`.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Machine-readable with `json`, human otherwise.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a command's result: `value` as JSON, or `human` for a person.
    pub fn result<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        let text = if self.json {
            serde_json::to_string_pretty(value).unwrap_or_else(|e| {
                format!("{{\"error\":{{\"code\":\"output\",\"message\":\"{e}\"}}}}")
            })
        } else {
            human()
        };
        // A closed stdout (e.g. `| head`) is not worth a panic.
        let _ = writeln!(std::io::stdout(), "{text}");
    }

    /// Prints a failure: a JSON `{"error": ...}` document on stdout with
    /// `--json` (so a script reads one document either way), else on stderr.
    pub fn error(&self, error: &AdminError) {
        // Doctor's findings are its result document: printed already.
        if self.json && matches!(error, AdminError::Findings { .. }) {
            return;
        }
        if self.json {
            let document = serde_json::json!({
                "error": {
                    "code": error.code(),
                    "exit_code": error.exit_code(),
                    "message": error.to_string(),
                    "problems": error.problems(),
                }
            });
            let _ = writeln!(std::io::stdout(), "{document:#}");
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {error}");
        for problem in error.problems() {
            let _ = writeln!(stderr, "  {problem}");
        }
    }

    /// A progress bar over `len` steps, hidden with `--json` or when stderr
    /// is not a terminal.
    pub fn progress(&self, len: usize, what: &str) -> ProgressBar {
        if self.json || !std::io::stderr().is_terminal() || len < 2 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len as u64);
        if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }
}
