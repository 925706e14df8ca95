//! `cargo bench --bench generic` — what the generic invoice reader costs: `clerk classify` of the
//! same text PDFs with an invoice type that reads its fields by regexes (the bundled type before
//! the reader) and with one that reads them with the generic reader, alternately, in the same
//! run; pages a second each way and the milliseconds a page the reader adds.
//!
//! The PDFs: the printed invoice corpus when CLERK_INVOICE_CORPUS names it
//! (`tests/producers/invoices/run.sh` prints it; its text PDFs, every producer), else the text
//! PDFs bundled with the tests (tests/fixtures/producers/text-*.pdf and samples/invoice-*.pdf).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const REGEXES: &str = r#"doctype: invoice
match: { any: ['.'] }
fields:
  invoice_number: { regex: '(?i)(?:Invoice|Rechnung)\S*\s*(?:No|Nr|Number|nummer)[.:#]*\s*(\S+)', required: true }
  date: { regex: '(?i)Date:\s*(.+?)\s*$', type: date }
  total: { regex: '(?i)(?:Total|Summe)\S*:?\s*(?:[A-Z]{3}\s+)?(\d[\d.,]*)', type: amount, required: true }
  iban: { regex: 'IBAN:?\s*([A-Z]{2}[0-9]{2}[A-Z0-9 ]{10,40})', type: iban }
"#;

// As the bundled type: the reader decides what the document is, and reads it (once for both).
const READER: &str = "doctype: invoice\nmatch: { reader: invoice }\n\
extract: { reader: invoice, required: [invoice_number, issue_date, total] }\n";

fn files() -> Vec<PathBuf> {
    let pdfs = |dir: &Path, prefix: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(".pdf")
        });
        v.sort();
        v
    };
    if let Ok(corpus) = std::env::var("CLERK_INVOICE_CORPUS") {
        let mut all = vec![];
        for producer in ["xr-chromium", "xr-fop", "html-chromium", "writer-odt", "invoicegenerator", "reportlab"] {
            all.extend(pdfs(&Path::new(&corpus).join(producer), ""));
        }
        return all;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = pdfs(&root.join("tests/fixtures/producers"), "text-");
    all.extend(pdfs(&root.join("samples"), "invoice-"));
    all.retain(|p| !p.to_string_lossy().contains("scan"));
    all
}

/// One `clerk classify` of `files` with the definitions in `defs`: seconds, and pages read.
fn classify(defs: &Path, files: &[PathBuf]) -> (f64, usize) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_clerk"))
        .args(["classify", "--json", "--definitions"])
        .arg(defs)
        .args(files)
        .env("CLERK_LOG", "error")
        .output()
        .expect("clerk classify");
    let seconds = start.elapsed().as_secs_f64();
    let pages = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["pages"].as_u64().unwrap_or(0) as usize)
        .sum();
    (seconds, pages)
}

fn main() {
    let files = files();
    assert!(!files.is_empty(), "no PDFs to classify");
    let dir = tempfile::tempdir().unwrap();
    let (regexes, reader) = (dir.path().join("regexes"), dir.path().join("reader"));
    for (d, text) in [(&regexes, REGEXES), (&reader, READER)] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("invoice.yml"), text).unwrap();
    }
    classify(&reader, &files); // warm the page cache
    let (mut with, mut without) = (vec![], vec![]);
    let mut pages = 0;
    for _ in 0..5 {
        let (s, p) = classify(&regexes, &files);
        without.push(s);
        pages = p;
        with.push(classify(&reader, &files).0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (with, without) = (median(&mut with), median(&mut without));
    println!("{} PDFs, {pages} pages, median of 5 runs each", files.len());
    println!("regex fields:          {:7.1} pages/s ({:.2} s)", pages as f64 / without, without);
    println!("generic reader:        {:7.1} pages/s ({:.2} s)", pages as f64 / with, with);
    println!("the reader adds:       {:7.2} ms a page", (with - without) * 1000.0 / pages as f64);
}
