//! Scanned batches as a mail room makes them (tests/fixtures/batches, made by
//! tests/producers/batches/make.sh: LibreOffice invoices scanned at 200 dpi; PATCH-T patch codes;
//! zint barcodes in each symbology, sideways, upside down, skewed, small and faint; a fax in
//! Group 4; blank duplex backs; archive-number stickers), each listed in batches.tsv with the
//! documents a person would cut from it. `clerk split` must cut the same, each part PDF must hold
//! its pages' images byte for byte, and each part must be recognised as its own invoice.

mod support;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

struct Batch {
    file: PathBuf,
    args: Vec<String>,
    documents: Vec<Vec<u32>>,
    numbers: Vec<String>,
}

/// `1-3, 5` → [1, 2, 3, 5]
fn pages(ranges: &str) -> Vec<u32> {
    ranges
        .split(',')
        .flat_map(|r| match r.trim().split_once('-') {
            Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<u32>>(),
            None => vec![r.trim().parse().unwrap()],
        })
        .collect()
}

fn batches() -> Vec<Batch> {
    let dir = repo().join("tests/fixtures/batches");
    let table = std::fs::read_to_string(repo().join("tests/producers/batches/batches.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let mut args: Vec<String> = cols[1].split_whitespace().flat_map(|s| ["--separator".to_string(), s.to_string()]).collect();
            args.extend(cols[2].split_whitespace().map(String::from));
            Batch {
                file: dir.join(cols[0]),
                args,
                documents: cols[3].split('|').map(pages).collect(),
                numbers: cols[4].split('|').map(String::from).collect(),
            }
        })
        .collect()
}

fn split(batch: &Batch, out: &Path) -> Value {
    let o = Command::new(CLERK)
        .arg("split")
        .arg(&batch.file)
        .args(&batch.args)
        .arg("--json")
        .arg("--out")
        .arg(out)
        .env("CLERK_LOG", "error")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}: {}", batch.file.display(), String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The images on page `page` of `pdf` as pdfimages writes them in their own encoding (JPEG,
/// CCITT as they are stored; others as PNG of the decoded pixels).
fn images(pdf: &Path, page: u32, dir: &Path) -> Vec<Vec<u8>> {
    let prefix = dir.join(format!("p{page}"));
    let p = page.to_string();
    let o = Command::new("pdfimages").args(["-all", "-f", &p, "-l", &p]).arg(pdf).arg(&prefix).output().unwrap();
    assert!(o.status.success(), "pdfimages: {}", String::from_utf8_lossy(&o.stderr));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    found.sort();
    found.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn each_batch_is_cut_into_the_documents_a_person_would_cut() {
    let definitions = repo().join("bots");
    for batch in batches() {
        let name = batch.file.file_name().unwrap().to_string_lossy().into_owned();
        let out = tempfile::tempdir().unwrap();
        let v = split(&batch, out.path());
        let documents: Vec<Vec<u32>> = v["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["pages"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap() as u32).collect())
            .collect();
        assert_eq!(documents, batch.documents, "{name}: {v:#}");

        // Nothing lost: every page is in a document or dropped with a reason.
        let total = v["pages"].as_array().unwrap().len() as u32;
        let mut seen: BTreeSet<u32> = documents.iter().flatten().copied().collect();
        for d in v["dropped"].as_array().unwrap() {
            assert!(!d["why"].as_str().unwrap().is_empty());
            assert!(seen.insert(d["page"].as_u64().unwrap() as u32), "{name}: page dropped and kept");
        }
        assert_eq!(seen, (1..=total).collect(), "{name}");

        // Each part's pages are the batch's pages, their images copied byte for byte.
        let parts: Vec<PathBuf> = v["documents"].as_array().unwrap().iter().map(|d| PathBuf::from(d["file"].as_str().unwrap())).collect();
        for (part, pages) in parts.iter().zip(&documents) {
            for (k, &page) in pages.iter().enumerate() {
                let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
                let original = images(&batch.file, page, a.path());
                assert!(!original.is_empty(), "{name} page {page} has an image");
                assert!(original == images(part, k as u32 + 1, b.path()), "{name}: page {page} in {} differs", part.display());
            }
        }

        // Each part is recognised as its own invoice.
        let read = classify_json(&definitions, out.path(), &parts);
        let numbers: Vec<&str> = read.iter().map(|r| r["fields"]["invoice_number"].as_str().unwrap_or("(none)")).collect();
        assert_eq!(numbers, batch.numbers, "{name}");
        for r in &read {
            assert!(r["exception"].is_null(), "{name}: {r}");
        }
    }
}

#[test]
fn separator_barcodes_are_read_in_every_symbology_and_archive_numbers_named() {
    let all = batches();
    let symbologies = all.iter().find(|b| b.file.ends_with("symbologies.pdf")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let v = split(symbologies, out.path());
    let formats: BTreeSet<&str> = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["barcodes"].as_array().unwrap())
        .map(|b| b["format"].as_str().unwrap())
        .collect();
    for f in ["QR Code", "Data Matrix", "PDF417", "Code 128", "EAN-13"] {
        assert!(formats.contains(f), "{f} not read: {formats:?}");
    }
    let asn = all.iter().find(|b| b.file.ends_with("duplex-asn.pdf")).unwrap();
    let v = split(asn, out.path());
    let numbers: Vec<&str> = v["documents"].as_array().unwrap().iter().map(|d| d["asn"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["ASN00123", "ASN00124", "ASN00125"]);
    assert!(v["dropped"].as_array().unwrap().iter().all(|d| d["why"] == "blank page"), "{v}");
}

#[test]
fn a_document_without_separators_stays_whole_and_a_wrong_separator_is_a_sentence() {
    let file = repo().join("tests/fixtures/producers/scan-img2pdf-png.pdf");
    let o = Command::new(CLERK).arg("split").arg(&file).arg("--json").env("CLERK_LOG", "error").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["documents"].as_array().unwrap().len(), 1);
    assert_eq!(v["documents"][0]["range"], "1");
    let o = Command::new(CLERK).arg("split").arg(&file).args(["--separator", "patch"]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("write patch-t, blank, barcode:VALUE"), "{}", String::from_utf8_lossy(&o.stderr));
}
