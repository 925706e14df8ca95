//! `cargo bench --bench einvoice` — reading e-invoices: clerk against what a Python shop runs (the
//! `factur-x` package to take the XML out of a PDF, lxml mapping the same EN 16931 terms:
//! tests/oracle/einvoice/bench.py, pinned venv), on one core (this process and every child are
//! pinned to CPU 0), in the same run, on the real corpus (../shared/corpora/einvoice: 120 XMLs of
//! the EN 16931 examples and the XRechnung suite; their CII ones attached to PDFs by the
//! `factur-x` package):
//!   1. stand-alone XML: invoices/s through `clerk classify` (read in clerk-reader, mapped to the
//!      model, checked by the rules, classified) as (T(10×) − T(1×)) / 9× the corpus, start-up
//!      excluded; the Python shop timed inside its process;
//!   2. Factur-X PDFs: the same, and what the XML adds to reading the PDF: the PDFs against the
//!      same pages without their XML.
//! Each figure is the median of 3 runs.

#[path = "pin.rs"]
mod pin;
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

use support::{files_under, repo};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `n` copies of every file, under distinct names (as an inbox would hold them).
fn copies(files: &[PathBuf], n: usize, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut out = vec![];
    for i in 0..n {
        for f in files {
            let p = dir.join(format!("{i}-{}", f.file_name().unwrap().to_string_lossy()));
            std::fs::copy(f, &p).unwrap();
            out.push(p);
        }
    }
    out
}

/// Seconds for one `clerk classify` over `files` (one reader: one core), each an e-invoice.
fn clerk(files: &[PathBuf], work: &Path) -> f64 {
    let (seconds, out) = classify(files, work);
    let recognised = out.lines().filter(|l| l.contains("\"doctype\":\"e-")).count();
    assert_eq!(recognised, files.len(), "every file an e-invoice");
    seconds
}

fn python(venv: &Path, files: &[PathBuf]) -> f64 {
    let out = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/oracle/einvoice/bench.py"))
        .args(files)
        .current_dir(repo().join("tests/oracle/einvoice"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn main() {
    pin::to_one_core();
    let corpus = repo().join("../shared/corpora/einvoice");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is absent", corpus.display());
        return;
    }
    let venv = support::venv("einvoice-oracle", "tests/oracle/einvoice/requirements.txt");
    let work = tempfile::tempdir().unwrap();
    let xmls = files_under(&corpus, "xml");
    // The PDFs: each CII XML attached by the factur-x package to a page drawn from its data.
    let pdf_dir = work.path().join("pdf");
    let made = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/oracle/einvoice/make_pdfs.py"))
        .arg("--bare")
        .arg(&pdf_dir)
        .args(&xmls)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let pdfs: Vec<PathBuf> = files_under(&pdf_dir, "pdf").into_iter().filter(|p| p.to_string_lossy().ends_with(".facturx.pdf")).collect();
    let pages: Vec<PathBuf> = pdfs.iter().map(|p| PathBuf::from(p.to_string_lossy().replace(".facturx.pdf", ".page.pdf"))).collect();

    for (what, files) in [("stand-alone XML", &xmls), ("Factur-X PDF", &pdfs)] {
        let one = copies(files, 1, &work.path().join(format!("{what}-1")));
        let ten = copies(files, 10, &work.path().join(format!("{what}-10")));
        let (mut ours, mut theirs) = (vec![], vec![]);
        for _ in 0..3 {
            let t = clerk(&ten, work.path()) - clerk(&one, work.path());
            ours.push(9.0 * files.len() as f64 / t);
            theirs.push(ten.len() as f64 / python(&venv, &ten));
        }
        let (ours, theirs) = (median(ours), median(theirs));
        println!(
            "{what} ({} files ×10): clerk {ours:.0} invoices/s, factur-x + lxml {theirs:.0} invoices/s: {:.1}×",
            files.len(),
            ours / theirs
        );
    }
    // What the XML adds to reading its PDF: the PDFs against the same pages without the XML,
    // classified as whatever they are (the bare pages match no type: `clerk classify` still
    // reads, classifies and reports them).
    let with = copies(&pdfs, 10, &work.path().join("with-10"));
    let bare = copies(&pages, 10, &work.path().join("bare-10"));
    let mut added = vec![];
    for _ in 0..3 {
        let t_with = classify(&with, work.path()).0;
        let t_bare = classify(&bare, work.path()).0;
        added.push((t_with - t_bare) / with.len() as f64 * 1000.0);
    }
    println!(
        "Factur-X PDF: reading the XML adds {:.3} ms to reading the PDF ({} PDFs ×10, with and without their XML)",
        median(added),
        pdfs.len()
    );
}

/// Seconds for one `clerk classify` over `files`, and what it printed.
fn classify(files: &[PathBuf], work: &Path) -> (f64, String) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_clerk"))
        .args(["classify", "--json", "--definitions"])
        .arg(repo().join("bots"))
        .args(files)
        .current_dir(work)
        .env("CLERK_READERS", "1")
        .env("CLERK_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (start.elapsed().as_secs_f64(), String::from_utf8_lossy(&out.stdout).into_owned())
}
