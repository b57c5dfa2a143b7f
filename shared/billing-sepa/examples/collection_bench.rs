//! Writes one CORE collection file of N collections (default 100,000) due
//! on one date to a file, and prints the time and the process's peak
//! memory: the file-writing part of issue 21's collection benchmark.
//!
//! `cargo run --release -p billing-sepa --example collection_bench -- 100000 /tmp/pain008.xml`

use std::io::BufWriter;
use std::time::Instant;

use billing_domain::direct_debit::{DirectDebitScheme, MandateReference};
use billing_domain::money::{Currency, Money};
use billing_domain::party::{Iban, Language};
use billing_sepa::{CollectionFile, DueCollection, samples, write_pain008};
use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

/// The process's peak resident set (VmHWM) in KiB, from /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A valid German IBAN for account number `n` at one bank (BLZ 37040044).
fn iban(n: u64) -> Result<Iban, Box<dyn std::error::Error>> {
    let bban = format!("37040044{n:010}");
    let digits: String = format!("{bban}1314").chars().chain("00".chars()).collect();
    let remainder = digits.chars().fold(0u64, |r, c| {
        (r * 10 + u64::from(c.to_digit(10).unwrap_or(0))) % 97
    });
    Ok(Iban::parse(&format!("DE{:02}{bban}", 98 - remainder))?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/pain008-bench.xml".to_owned());
    let due = NaiveDate::from_ymd_opt(2026, 12, 15).ok_or("date")?;
    let template = samples::mandate(
        "NL-0",
        "Muster GmbH",
        "DE89370400440532013000",
        DirectDebitScheme::Core,
    )?;
    let started = Instant::now();
    let mut collections = Vec::with_capacity(usize::try_from(count)?);
    for n in 0..count {
        let mut mandate = template.clone();
        mandate.reference = MandateReference::parse(&format!("NL-{n:08}"))?;
        mandate.debtor_iban = iban(n)?;
        collections.push(DueCollection {
            invoice_number: format!("RE-2026-{n:07}"),
            amount: Money::new(
                Decimal::new(11_900 + i64::try_from(n % 1000)?, 2),
                Currency::EUR,
            ),
            collection_date: due,
            mandate,
            language: Language::De,
        });
    }
    let prepared = started.elapsed();
    let file = CollectionFile {
        scheme: DirectDebitScheme::Core,
        collection_date: due,
        collections,
    };
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    let sent_on = NaiveDate::from_ymd_opt(2026, 12, 11).ok_or("date")?;
    let created = Utc
        .with_ymd_and_hms(2026, 12, 11, 6, 0, 0)
        .single()
        .ok_or("time")?;
    let summary = write_pain008(
        &file,
        &samples::creditor()?,
        "seller-de",
        sent_on,
        created,
        &mut out,
    )?;
    drop(out);
    let total = started.elapsed();
    println!(
        "{} collections, {} EUR: prepared in {:.2} s, written in {:.2} s, total {:.2} s; file {} MB; peak RSS {} MiB",
        summary.transactions,
        summary.control_sum.amount(),
        prepared.as_secs_f64(),
        (total - prepared).as_secs_f64(),
        total.as_secs_f64(),
        std::fs::metadata(&path)?.len() / 1_000_000,
        peak_rss_kib().unwrap_or(0) / 1024
    );
    Ok(())
}
