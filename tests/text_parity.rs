//! The text layer is the one invoice2data templates and users' regexes are written against:
//! `clerk text` is compared with Debian's `pdftotext -layout` on the real-world PDFs of
//! `../shared/corpora/pdf-samples`, line by line and word by word (whitespace runs collapsed),
//! over every page that has a text layer.

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

#[test]
fn clerk_text_equals_pdftotext_layout_on_real_world_pdfs() {
    let Some(dir) = pdf_samples("clerk_text_equals_pdftotext_layout_on_real_world_pdfs") else { return };
    let pdfs = files_under(&dir, "pdf");
    assert!(pdfs.len() >= 30, "pdf-samples holds {} PDFs", pdfs.len());
    let out = Command::new(CLERK).arg("text").arg("--json").args(&pdfs).env("CLERK_LOG", "error").output().unwrap();
    let clerk: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(clerk.len(), pdfs.len(), "one answer per file");
    let (mut lines_total, mut lines_same, mut words_total, mut words_same, mut pages) = (0, 0, 0, 0, 0);
    let mut worst = vec![];
    for (pdf, answer) in pdfs.iter().zip(&clerk) {
        let poppler = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().unwrap();
        if !poppler.status.success() {
            // pdftotext refuses it (a password): so does clerk, with a reason.
            assert!(answer["error"].is_string(), "{}: pdftotext refuses it, clerk read {answer}", pdf.display());
            continue;
        }
        let expected_text = String::from_utf8_lossy(&poppler.stdout).into_owned();
        let expected_pages: Vec<&str> = expected_text.split('\u{c}').collect();
        let got_pages: Vec<String> = answer["pages"]
            .as_array()
            .map(|p| p.iter().map(|p| p["text"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default();
        for (i, expected) in expected_pages.iter().enumerate() {
            // Pages with a text layer only: scans have none to compare.
            if expected.chars().filter(|c| !c.is_whitespace()).count() < 8 {
                continue;
            }
            pages += 1;
            let got = got_pages.get(i).map(String::as_str).unwrap_or("");
            let (el, gl) = (lines(expected), lines(got));
            let (ew, gw) = (words(expected), words(got));
            let (ls, ws) = (matched(&el, &gl), matched(&ew, &gw));
            lines_total += el.len();
            lines_same += ls;
            words_total += ew.len();
            words_same += ws;
            if ls < el.len() {
                worst.push(format!("{} page {}: {}/{} lines", pdf.display(), i + 1, ls, el.len()));
            }
        }
    }
    let line_share = lines_same as f64 / lines_total as f64;
    let word_share = words_same as f64 / words_total as f64;
    eprintln!(
        "text parity over {} PDFs, {pages} pages with text: lines {lines_same}/{lines_total} = {:.2}%, words {words_same}/{words_total} = {:.2}%",
        pdfs.len(),
        100.0 * line_share,
        100.0 * word_share
    );
    assert!(pages >= 20 && lines_total > 1000, "too little text compared: {pages} pages, {lines_total} lines");
    assert!(line_share >= 0.99, "lines equal to pdftotext: {:.2}% < 99%; {worst:#?}", 100.0 * line_share);
    assert!(word_share >= 0.995, "words equal to pdftotext: {:.2}% < 99.5%; {worst:#?}", 100.0 * word_share);
}
