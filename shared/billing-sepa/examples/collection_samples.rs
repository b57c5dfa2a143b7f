//! Writes the sample collection files to a directory, for the XSD and bank
//! rule check in `tests/python/test_sepa_files.py` and for a look:
//! `cargo run -p billing-sepa --example collection_samples -- out/sepa`.

use std::path::PathBuf;

use billing_sepa::{files_for, samples, write_pain008};
use chrono::{NaiveDate, TimeZone, Utc};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: collection_samples <dir>")?,
    );
    std::fs::create_dir_all(&dir)?;
    let creditor = samples::creditor()?;
    let sent_on = NaiveDate::from_ymd_opt(2026, 12, 11).ok_or("date")?;
    let created_at = Utc
        .with_ymd_and_hms(2026, 12, 11, 6, 30, 0)
        .single()
        .ok_or("time")?;
    for file in files_for(samples::collections()?) {
        let name = format!("{}.xml", file.message_id("seller-de"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(&name))?);
        let summary = write_pain008(&file, &creditor, "seller-de", sent_on, created_at, &mut out)?;
        println!(
            "{name}: {} collections, {}",
            summary.transactions,
            summary.control_sum.amount()
        );
    }
    Ok(())
}
