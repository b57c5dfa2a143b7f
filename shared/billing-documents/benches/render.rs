//! Rendering budget, measured in one run (results in docs/performance.md):
//!
//! - steady-state render of a 20-line invoice in-process (XML + PDF/A-3 +
//!   XMP splice), the same invoice again and a different one each time,
//!   budget < 15 ms;
//! - the same invoice as HTML printed by headless Chromium (Debian package),
//!   one process per invoice as a Chromium-based renderer would run;
//!   budget: Typst at least 20× faster;
//! - peak memory (VmHWM) of a fresh process rendering a 200-line invoice,
//!   budget < 128 MB;
//! - PDF size for 20 lines, budget < 100 KB.
//!
//! ```sh
//! cargo bench -p billing-documents --bench render
//! ```
//!
//! Chromium is looked up as `chromium` (override with `CHROMIUM`); without
//! it the comparison is skipped and says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use billing_documents::view::InvoiceView;
use billing_documents::{InvoiceRenderer, samples};

const WARM_UP: usize = 10;
const RUNS: usize = 100;
const CHROMIUM_RUNS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--peak-200") {
        return peak_200();
    }
    let invoice = samples::long(20)?;
    let renderer = InvoiceRenderer::built_in()?;
    for _ in 0..WARM_UP {
        renderer.render(&invoice)?;
    }
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let documents = renderer.render(&invoice)?;
        times.push(start.elapsed());
        size = documents.pdf.len();
    }
    let same = median(&mut times);
    println!(
        "typst, 20 lines, the same invoice again: median {:.2} ms, p95 {:.2} ms ({RUNS} runs)",
        ms(same),
        ms(percentile(&mut times, 95))
    );
    // What a run really renders: a different invoice every time (number,
    // id and every description differ), so memoized layout helps less.
    let distinct = (0..RUNS)
        .map(|k| variant(&invoice, k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut times = Vec::with_capacity(RUNS);
    for other in &distinct {
        let start = Instant::now();
        renderer.render(other)?;
        times.push(start.elapsed());
    }
    let typst = median(&mut times);
    println!(
        "typst, 20 lines, a different invoice each time: median {:.2} ms, p95 {:.2} ms ({RUNS} runs)",
        ms(typst),
        ms(percentile(&mut times, 95))
    );
    println!("PDF size, 20 lines: {:.1} KB", size as f64 / 1024.0);

    match chromium(&invoice) {
        Ok(Some(chromium)) => println!(
            "chromium --headless --print-to-pdf, 20 lines: median {:.0} ms ({CHROMIUM_RUNS} runs); typst is {:.0}x faster",
            ms(chromium),
            chromium.as_secs_f64() / typst.as_secs_f64()
        ),
        Ok(None) => println!("chromium not found: comparison skipped (apt-get install chromium)"),
        Err(err) => println!("chromium failed: {err}"),
    }

    let exe = std::env::current_exe()?;
    let output = Command::new(exe).arg("--peak-200").output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}

/// `invoice` as the `k`-th of a run: own id, number and descriptions.
fn variant(
    invoice: &billing_domain::invoice::Invoice,
    k: usize,
) -> Result<billing_domain::invoice::Invoice, serde_json::Error> {
    let mut json = serde_json::to_value(invoice)?;
    let number = format!("RE-2026-{:06}", 1000 + k);
    json["number"] = number.clone().into();
    // The payment reference is the number: the GiroCode differs too.
    json["content"]["references"]["payment_reference"] = number.into();
    json["content"]["id"] = format!("inv_bench_{k}").into();
    if let Some(lines) = json["content"]["lines"].as_array_mut() {
        for line in lines {
            let description = format!(
                "{} (Vertrag {k})",
                line["item"]["description"].as_str().unwrap_or("")
            );
            line["item"]["description"] = description.into();
        }
    }
    serde_json::from_value(json)
}

/// A fresh process: load templates, render 200 lines once, report VmHWM.
fn peak_200() -> Result<(), Box<dyn std::error::Error>> {
    let invoice = samples::long(200)?;
    let start = Instant::now();
    let renderer = InvoiceRenderer::built_in()?;
    let documents = renderer.render(&invoice)?;
    let elapsed = start.elapsed();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    println!(
        "200 lines, fresh process: peak RSS {:.1} MB, first render {:.0} ms, PDF {:.0} KB",
        peak_kb as f64 / 1024.0,
        ms(elapsed),
        documents.pdf.len() as f64 / 1024.0
    );
    Ok(())
}

fn chromium(
    invoice: &billing_domain::invoice::Invoice,
) -> Result<Option<Duration>, Box<dyn std::error::Error>> {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    if Command::new(&binary).arg("--version").output().is_err() {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!("invoice-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let font = dir.join("LibertinusSerif-Regular.otf");
    std::fs::write(
        &font,
        include_bytes!("../fonts/LibertinusSerif-Regular.otf"),
    )?;
    let bold = dir.join("LibertinusSerif-Bold.otf");
    std::fs::write(&bold, include_bytes!("../fonts/LibertinusSerif-Bold.otf"))?;
    let html = dir.join("invoice.html");
    std::fs::write(&html, html_invoice(&InvoiceView::of(invoice, false)))?;
    let mut times = Vec::with_capacity(CHROMIUM_RUNS);
    for run in 0..CHROMIUM_RUNS {
        let profile = dir.join(format!("profile-{run}"));
        let pdf = dir.join(format!("invoice-{run}.pdf"));
        let start = Instant::now();
        let status = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(file_url(&html))
            .output()?;
        times.push(start.elapsed());
        if !status.status.success() || !pdf.exists() {
            return Err(String::from_utf8_lossy(&status.stderr).into_owned().into());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Some(median(&mut times)))
}

fn file_url(path: &Path) -> String {
    format!("file://{}", PathBuf::from(path).display())
}

/// The same content as the Typst template, as a plain HTML page.
fn html_invoice(view: &InvoiceView) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut rows = String::new();
    for line in &view.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td>{} %</td><td>{}</td></tr>",
            line.position,
            escape(&line.description),
            escape(line.period.as_deref().unwrap_or("")),
            line.quantity,
            line.unit,
            line.unit_price,
            line.rate,
            line.net
        ));
    }
    let mut tax = String::new();
    for group in &view.tax {
        tax.push_str(&format!(
            "<tr><td>USt {} % auf {}</td><td>{}</td></tr>",
            group.rate, group.taxable, group.tax
        ));
    }
    format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><style>
@font-face {{ font-family: Libertinus; src: url(LibertinusSerif-Regular.otf); }}
@font-face {{ font-family: Libertinus; font-weight: bold; src: url(LibertinusSerif-Bold.otf); }}
@page {{ size: A4; margin: 18mm 18mm 34mm 22mm; }}
body {{ font-family: Libertinus; font-size: 9.5pt; }}
h1 {{ color: #1f4e79; }}
table.lines {{ width: 100%; border-collapse: collapse; }}
table.lines thead {{ display: table-header-group; color: #1f4e79; border-bottom: 1px solid #1f4e79; }}
table.lines tr:nth-child(even) {{ background: #f3f6f9; }}
td {{ padding: 3pt 4pt; vertical-align: top; }}
.totals {{ margin-left: auto; width: 95mm; }}
</style></head><body>
<p><b>{seller}</b><br>{seller_address}</p>
<p>{buyer}<br>{buyer_address}</p>
<p>Rechnungsnummer {number}<br>Rechnungsdatum {issue}<br>Fällig am {due}</p>
<h1>Rechnung {number}</h1>
<table class="lines"><thead><tr><th>Pos.</th><th>Beschreibung</th><th>Menge</th><th>Einheit</th><th>Einzelpreis</th><th>USt</th><th>Netto</th></tr></thead>
<tbody>{rows}</tbody></table>
<table class="totals"><tr><td>Summe netto</td><td>{net}</td></tr>{tax}<tr><td><b>Rechnungsbetrag</b></td><td><b>{gross}</b></td></tr></table>
<p>{terms}<br>IBAN {iban}</p>
</body></html>"#,
        lang = view.lang,
        seller = escape(&view.seller.name),
        seller_address = escape(&view.seller.address.lines.join(", ")),
        buyer = escape(&view.buyer.name),
        buyer_address = escape(&view.buyer.address.lines.join("<br>")),
        number = escape(&view.number),
        issue = view.issue_date,
        due = view.due_date,
        net = view.totals.net,
        gross = view.totals.gross,
        terms = escape(&view.payment_terms),
        iban = view.seller.iban,
    )
}

fn median(times: &mut [Duration]) -> Duration {
    percentile(times, 50)
}

fn percentile(times: &mut [Duration], p: usize) -> Duration {
    times.sort();
    let index = (times.len() * p / 100).min(times.len().saturating_sub(1));
    times.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
