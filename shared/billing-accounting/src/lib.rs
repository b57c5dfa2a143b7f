//! The booking journal's handover formats: what the tax advisor's DATEV
//! and other ERPs read.
//!
//! - [`datev`]: DATEV's EXTF CSV files, the Buchungsstapel (category 21,
//!   format version 13) and the Debitoren/Kreditoren master data
//!   (category 16, format version 5), in Windows-1252 with CR LF, as
//!   `docs/research/datev-extf.md` describes them;
//! - [`csv_journal`]: one UTF-8 CSV row per booking line for everyone else.
//!
//! Every writer is a pure function of its input (the file's creation time
//! is an input too), so exporting a locked period again gives the same
//! bytes: that is what lets a handed-over period be fetched again byte for
//! byte (GoBD).
#![warn(missing_docs)]

mod cp1252;
mod csv;
pub mod datev;
mod error;
#[cfg(test)]
mod fixtures;

pub use csv::{CSV_JOURNAL_COLUMNS, csv_journal};
pub use error::AccountingError;
