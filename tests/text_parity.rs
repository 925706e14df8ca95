//! The text layer is the one invoice2data templates and users' regexes are written against:
//! `clerk text` is compared with Debian's `pdftotext -layout` on the real-world PDFs of
//! `../shared/corpora/pdf-samples` and on the PDFs with a text layer of the producer set
//! (tests/fixtures/producers: LibreOffice, ReportLab, Ghostscript, tesseract, OCRmyPDF), line by
//! line and word by word (whitespace runs collapsed), over every page that has a text layer.

mod support;
use std::collections::HashMap;
use std::process::Command;
use support::*;

/// Lines (whitespace collapsed, blank lines dropped) and words of one page.
fn lines(page: &str) -> Vec<String> {
    page.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

fn words(page: &str) -> Vec<String> {
    page.split_whitespace().map(str::to_string).collect()
}

/// How many of `expected` appear in `got`, as multisets.
fn matched(expected: &[String], got: &[String]) -> usize {
    let mut have: HashMap<&str, usize> = HashMap::new();
    for g in got {
        *have.entry(g.as_str()).or_default() += 1;
    }
    expected
        .iter()
        .filter(|e| match have.get_mut(e.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count()
}

struct Parity {
    pages: usize,
    lines: (usize, usize),
    words: (usize, usize),
    worst: Vec<String>,
}

impl Parity {
    fn lines(&self) -> f64 {
        self.lines.0 as f64 / self.lines.1 as f64
    }
    fn words(&self) -> f64 {
        self.words.0 as f64 / self.words.1 as f64
    }
}

/// Lines and words of `pdftotext -layout` found in `clerk text`, page by page.
fn parity(pdfs: &[std::path::PathBuf]) -> Parity {
    let out = Command::new(CLERK).arg("text").arg("--json").args(pdfs).env("CLERK_LOG", "error").output().unwrap();
    let clerk: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(clerk.len(), pdfs.len(), "one answer per file");
    let mut p = Parity { pages: 0, lines: (0, 0), words: (0, 0), worst: vec![] };
    for (pdf, answer) in pdfs.iter().zip(&clerk) {
        let poppler = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().unwrap();
        if !poppler.status.success() {
            // pdftotext refuses it (a password): so does clerk, with a reason.
            assert!(answer["error"].is_string(), "{}: pdftotext refuses it, clerk read {answer}", pdf.display());
            continue;
        }
        let expected_text = String::from_utf8_lossy(&poppler.stdout).into_owned();
        let got_pages: Vec<String> = answer["pages"]
            .as_array()
            .map(|p| p.iter().map(|p| p["text"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default();
        for (i, expected) in expected_text.split('\u{c}').enumerate() {
            // Pages with a text layer only: scans have none to compare.
            if expected.chars().filter(|c| !c.is_whitespace()).count() < 8 {
                continue;
            }
            p.pages += 1;
            let got = got_pages.get(i).map(String::as_str).unwrap_or("");
            let (el, gl) = (lines(expected), lines(got));
            let (ew, gw) = (words(expected), words(got));
            let (ls, ws) = (matched(&el, &gl), matched(&ew, &gw));
            p.lines = (p.lines.0 + ls, p.lines.1 + el.len());
            p.words = (p.words.0 + ws, p.words.1 + ew.len());
            if ls < el.len() {
                p.worst.push(format!("{} page {}: {}/{} lines", pdf.display(), i + 1, ls, el.len()));
            }
        }
    }
    eprintln!(
        "text parity over {} PDFs, {} pages with text: lines {}/{} = {:.2}%, words {}/{} = {:.2}%",
        pdfs.len(),
        p.pages,
        p.lines.0,
        p.lines.1,
        100.0 * p.lines(),
        p.words.0,
        p.words.1,
        100.0 * p.words()
    );
    p
}

fn assert_parity(p: &Parity) {
    assert!(p.lines() >= 0.99, "lines equal to pdftotext: {:.2}% < 99%; {:#?}", 100.0 * p.lines(), p.worst);
    assert!(p.words() >= 0.995, "words equal to pdftotext: {:.2}% < 99.5%; {:#?}", 100.0 * p.words(), p.worst);
}

#[test]
fn clerk_text_equals_pdftotext_layout_on_real_world_pdfs() {
    let Some(dir) = pdf_samples("clerk_text_equals_pdftotext_layout_on_real_world_pdfs") else { return };
    let pdfs = files_under(&dir, "pdf");
    assert!(pdfs.len() >= 30, "pdf-samples holds {} PDFs", pdfs.len());
    let p = parity(&pdfs);
    assert!(p.pages >= 20 && p.lines.1 > 1000, "too little text compared: {} pages, {} lines", p.pages, p.lines.1);
    assert_parity(&p);
}

#[test]
fn clerk_text_equals_pdftotext_layout_on_the_producer_set() {
    let pdfs: Vec<_> = files_under(&repo().join("tests/fixtures/producers"), "pdf")
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("text-") || name.contains("tesseract") || name.contains("ocrmypdf")
        })
        .collect();
    assert_eq!(pdfs.len(), 5, "LibreOffice, ReportLab, Ghostscript, tesseract and OCRmyPDF text layers");
    let p = parity(&pdfs);
    assert_eq!(p.pages, 5, "each has one page with text");
    assert_parity(&p);
}
