//! The CLI's one error type and the exit codes it maps to.
//!
//! Scripts (the demo, a deploy pipeline) branch on the exit code, so the
//! codes are part of the interface: they are listed in `--help` and in the
//! README, and every new subcommand maps its failures onto these four.

use std::fmt;

use billing_store::StoreError;
use serde::Serialize;

/// Exit codes, as documented in `--help` (see [`EXIT_CODES_HELP`]).
pub mod exit {
    /// Done.
    pub const SUCCESS: u8 = 0;
    /// The input (file, record, row, field, id) was refused; nothing was written.
    pub const REFUSED: u8 = 1;
    /// The command line was wrong (clap's own code) or names no table.
    pub const USAGE: u8 = 2;
    /// AWS or the billing table failed; re-running the same command is safe.
    pub const AWS: u8 = 3;
}

/// The exit-code table shown under every `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  input refused (bad file, record, row or field; unknown id); nothing was written;
     for doctor: a finding is an error
  2  usage error (bad arguments, no table configured)
  3  AWS or storage failure; re-running the same command is safe";

/// One refused piece of input, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line in the file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (characters) in that line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The record it belongs to, e.g. `record 3` or `contract C-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The field: a JSON path (`items[0].interval.count`) or a CSV column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Problem {
    /// A problem with only a message; locate it with the builder methods.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            line: None,
            column: None,
            record: None,
            field: None,
            message: message.into(),
        }
    }

    /// Sets the line (and column, if known).
    pub fn at(mut self, line: usize, column: Option<usize>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }

    /// Names the record.
    pub fn record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }

    /// Names the field.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        if let Some(record) = &self.record {
            write!(f, "{record}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The file's content was refused; nothing was written.
    #[error("{file}: refused ({count} problem{s}), nothing was written", count = problems.len(), s = if problems.len() == 1 { "" } else { "s" })]
    Refused {
        /// The file as given on the command line.
        file: String,
        /// Every problem found (all records are checked, not just the first).
        problems: Vec<Problem>,
    },
    /// The file could not be read at all.
    #[error("cannot read {file}: {reason}")]
    Unreadable {
        /// The file as given.
        file: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Something named on the command line does not exist.
    #[error("{what} does not exist")]
    NotFound {
        /// What was looked for, e.g. `billing entity default`.
        what: String,
    },
    /// Arguments that parse but cannot work together (e.g. no table at all).
    #[error("{0}")]
    Usage(String),
    /// The billing table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another AWS service failed (e.g. CloudFormation resolving `--stack`).
    #[error("{service} {operation} failed: {message}")]
    Aws {
        /// The service, e.g. `CloudFormation`.
        service: &'static str,
        /// The API call.
        operation: &'static str,
        /// The SDK's error text.
        message: String,
    },
    /// An item changed between the check and the write (a concurrent
    /// webhook or import); the items before it were written.
    #[error("{what} changed while importing; re-run the import (it is idempotent)")]
    Stale {
        /// Which item.
        what: String,
    },
    /// `doctor` found errors; the findings were printed as the result.
    #[error("{errors} finding(s) are errors; fix them and run doctor again")]
    Findings {
        /// How many findings are errors.
        errors: usize,
    },
}

impl AdminError {
    /// An AWS call that failed, with the SDK's whole error chain (any
    /// service's `SdkError`).
    pub fn aws(
        service: &'static str,
        operation: &'static str,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        AdminError::Aws {
            service,
            operation,
            message: aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
        }
    }

    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Refused { .. } | AdminError::Unreadable { .. } => exit::REFUSED,
            AdminError::NotFound { .. } | AdminError::Findings { .. } => exit::REFUSED,
            AdminError::Usage(_) => exit::USAGE,
            AdminError::Store(
                StoreError::NotFound { .. }
                | StoreError::Refused { .. }
                | StoreError::RevisionMismatch { .. },
            ) => exit::REFUSED,
            AdminError::Store(_) | AdminError::Aws { .. } | AdminError::Stale { .. } => exit::AWS,
        }
    }

    /// A stable machine-readable code for `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::Refused { .. } => "refused",
            AdminError::Unreadable { .. } => "unreadable",
            AdminError::NotFound { .. } | AdminError::Store(StoreError::NotFound { .. }) => {
                "not_found"
            }
            AdminError::Usage(_) => "usage",
            AdminError::Store(StoreError::Refused { .. }) => "refused",
            AdminError::Store(StoreError::RevisionMismatch { .. }) => "changed",
            AdminError::Store(_) => "storage_failed",
            AdminError::Aws { .. } => "aws_failed",
            AdminError::Stale { .. } => "stale",
            AdminError::Findings { .. } => "findings",
        }
    }

    /// The problems of a refused file (empty otherwise).
    pub fn problems(&self) -> &[Problem] {
        match self {
            AdminError::Refused { problems, .. } => problems,
            _ => &[],
        }
    }
}
