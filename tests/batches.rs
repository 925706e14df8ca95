//! Scanned batches as a mail room makes them (tests/fixtures/batches, made by
//! tests/producers/batches/make.sh: LibreOffice invoices scanned at 200 dpi; PATCH-T patch codes;
//! zint barcodes in each symbology, sideways, upside down, skewed, small and faint; a fax in
//! Group 4; blank duplex backs; archive-number stickers), each listed in batches.tsv with the
//! documents a person would cut from it; a scanner's JPEG and a fax server's Group 4 multi-page
//! TIFF. `clerk split` must cut the same, each part (a PDF, or a TIFF for a TIFF batch) must hold
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

/// The stored (compressed) strips of page `page` of a TIFF, found by the `tiff` crate's decoder.
fn tiff_strips(tif: &Path, page: u32) -> Vec<Vec<u8>> {
    use tiff::tags::Tag;
    let bytes = std::fs::read(tif).unwrap();
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(&bytes)).unwrap();
    for _ in 1..page {
        d.next_image().unwrap();
    }
    let offsets = d.get_tag_u64_vec(Tag::StripOffsets).unwrap();
    let lengths = d.get_tag_u64_vec(Tag::StripByteCounts).unwrap();
    offsets.iter().zip(&lengths).map(|(&o, &l)| bytes[o as usize..(o + l) as usize].to_vec()).collect()
}

/// A page's images as stored: a PDF's by pdfimages, a TIFF's strips.
fn stored_images(file: &Path, page: u32, dir: &Path) -> Vec<Vec<u8>> {
    match file.extension().and_then(|e| e.to_str()) {
        Some("tif") => tiff_strips(file, page),
        _ => images(file, page, dir),
    }
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
                let original = stored_images(&batch.file, page, a.path());
                assert!(!original.is_empty(), "{name} page {page} has an image");
                assert!(original == stored_images(part, k as u32 + 1, b.path()), "{name}: page {page} in {} differs", part.display());
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

fn batch(file: &str) -> Batch {
    batches().into_iter().find(|b| b.file.ends_with(file)).unwrap()
}

/// The batch named `name` among the daemon's documents, and its parts as `documents show` gives
/// them, in order.
fn batch_and_parts(d: &Daemon, name: &str) -> (Value, Vec<Value>) {
    let batch = d.by_name(name);
    let parts = batch["parts"].as_array().cloned().unwrap_or_default();
    let parts = parts.iter().map(|id| d.document(id.as_i64().unwrap())).collect();
    (batch, parts)
}

/// Checks a split batch against what a person would cut from it.
fn assert_filed(d: &Daemon, name: &str, expected: &Batch, bytes: &[u8]) {
    let (batch, parts) = batch_and_parts(d, name);
    assert_eq!(batch["status"], "split", "{batch:#}");
    assert_eq!(batch["sha256"], sha256_hex(bytes), "the batch's original is kept");
    let ranges: Vec<String> = expected
        .documents
        .iter()
        .map(|pages| {
            let v: Vec<u32> = pages.clone();
            clerk::split::page_ranges(&v)
        })
        .collect();
    assert_eq!(parts.len(), ranges.len(), "{batch:#}");
    for ((part, range), number) in parts.iter().zip(&ranges).zip(&expected.numbers) {
        assert_eq!(part["split_from"], batch["id"]);
        assert_eq!(part["split_pages"].as_str(), Some(range.as_str()));
        assert_eq!(part["status"], "recognised", "{part:#}");
        assert_eq!(part["fields"]["invoice_number"].as_str(), Some(number.as_str()));
        assert_eq!(part["pages"].as_i64(), Some(range_len(range)));
        let recognised = part["audit"].as_array().unwrap().iter().filter(|a| a["action"] == "recognised").count();
        assert_eq!(recognised, 1, "classified exactly once: {part:#}");
    }
}

fn range_len(range: &str) -> i64 {
    pages(range).len() as i64
}

const SPLIT_AT_PATCH_T: &str = "[split]\nat = [\"patch-t\"]\n[split.sources]\n";

#[test]
fn the_daemon_files_each_document_of_a_batch_and_keeps_the_batch() {
    let inbox2 = tempfile::tempdir().unwrap();
    // The default rule splits at PATCH-T; a second inbox splits at archive numbers and drops
    // blank backs.
    let mut d = Daemon::new(&format!("{SPLIT_AT_PATCH_T}\"{}\" = {{ at = [\"asn:ASN\"], drop_blank = true }}\n", inbox2.path().display()));
    let toml = d.dir.path().join("clerk.toml");
    let settings = std::fs::read_to_string(&toml).unwrap();
    let inbox = format!("inbox = ['{}']", d.inbox.display());
    assert!(settings.contains(&inbox));
    std::fs::write(&toml, settings.replace(&inbox, &format!("inbox = ['{}', '{}']", d.inbox.display(), inbox2.path().display()))).unwrap();
    // Invoices stamped with an archive number are a type of their own, the number a field.
    std::fs::write(
        d.definitions.join("archived-invoice.yml"),
        "doctype: archived-invoice\npriority: 20\nmatch: { reader: invoice, barcode: '^ASN\\d+$' }\n\
         fields:\n  asn: { barcode: '^ASN\\d+$', required: true }\n\
         extract: { reader: invoice, required: [invoice_number, issue_date, total] }\n",
    )
    .unwrap();
    d.spawn();
    let patch = batch("patch-t.pdf");
    let bytes = std::fs::read(&patch.file).unwrap();
    d.drop_file("scan-0001.pdf", &bytes);
    let duplex = batch("duplex-asn.pdf");
    let duplex_bytes = std::fs::read(&duplex.file).unwrap();
    std::fs::write(inbox2.path().join("scan-0002.pdf"), &duplex_bytes).unwrap();
    // A fax server's multi-page TIFF is cut into TIFFs.
    let fax = batch("fax-code39.tif");
    let fax_bytes = std::fs::read(&fax.file).unwrap();
    d.drop_file("fax-0003.tif", &fax_bytes);
    // A document with no separator in it stays one document.
    d.drop_file("one.pdf", &std::fs::read(repo().join("tests/fixtures/producers/scan-img2pdf-png.pdf")).unwrap());
    let docs = d.wait_settled(13);
    assert_eq!(docs.len(), 13, "3 batches, 9 documents cut from them, 1 whole document: {docs:#?}");
    assert_filed(&d, "scan-0001.pdf", &patch, &bytes);
    assert_filed(&d, "scan-0002.pdf", &duplex, &duplex_bytes);
    assert_filed(&d, "fax-0003.tif", &fax, &fax_bytes);
    let (_, parts) = batch_and_parts(&d, "fax-0003.tif");
    for p in &parts {
        assert_eq!((p["media_type"].as_str(), p["original_name"].as_str().is_some_and(|n| n.ends_with(".tif"))), (Some("image/tiff"), true), "{p:#}");
    }
    let one = d.by_name("one.pdf");
    assert_eq!(one["status"], "recognised");
    assert!(one["split_from"].is_null() && one.get("parts").is_none(), "{one:#}");
    let (_, parts) = batch_and_parts(&d, "scan-0001.pdf");
    assert!(parts.iter().all(|p| p["doctype"] == "invoice"), "no archive number, no archived-invoice");
    let (batch, parts) = batch_and_parts(&d, "scan-0002.pdf");
    let asn: Vec<(&str, &str)> = parts.iter().map(|p| (p["doctype"].as_str().unwrap(), p["fields"]["asn"].as_str().unwrap())).collect();
    assert_eq!(asn, [("archived-invoice", "ASN00123"), ("archived-invoice", "ASN00124"), ("archived-invoice", "ASN00125")]);
    let split = batch["audit"].as_array().unwrap().iter().find(|a| a["action"] == "split").unwrap();
    assert!(split["detail"].as_str().unwrap().contains("dropped page(s) 2, 4, 6, 8"), "{split}");

    // The bundled bot started on the recognised invoices (and failed: no ERP here). It may have
    // acted on them, so their boundaries no longer move.
    let (_, parts) = batch_and_parts(&d, "scan-0001.pdf");
    let first = parts[0]["id"].as_i64().unwrap();
    d.wait_until("the bot to start on the first part", std::time::Duration::from_secs(60), |d| {
        d.json(&["runs", "list", "--json"]).as_array().unwrap().iter().any(|r| r["document_id"] == first && r["state"] != "queued")
    });
    let token = d.user_with_token("ann", "ops", "a long enough password");
    let addr = d.http().trim_start_matches("http://").to_string();
    let auth = support::api::bearer(&token);
    let r = support::api::call(&addr, "POST", &format!("/api/v1/documents/{first}/join"), &[("Authorization", &auth)], None);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("went to a bot already"), "{}", r.body);
}

#[test]
fn a_kill_9_while_a_batch_is_cut_loses_and_duplicates_nothing() {
    // Each part is cut a second slower, so both kills land while the batch is being cut.
    let mut d = Daemon::new(SPLIT_AT_PATCH_T).with_env("CLERK_READER_SLOW_PART", "1000");
    d.spawn();
    let patch = batch("patch-t.pdf");
    let bytes = std::fs::read(&patch.file).unwrap();
    d.drop_file("scan-0001.pdf", &bytes);
    // Killed as it starts cutting (after reading, before the parts are recorded)…
    d.wait_until("the batch to be cut", std::time::Duration::from_secs(120), |d| d.log().contains("cutting a batch"));
    d.kill9();
    d.spawn_again();
    // …and once more when it cuts again after the restart.
    d.wait_until("the batch to be cut again", std::time::Duration::from_secs(120), |d| {
        d.log().matches("cutting a batch").count() >= 2
    });
    d.kill9();
    d.spawn_again();
    let docs = d.wait_settled(4);
    assert_eq!(docs.len(), 4, "the batch and its 3 documents, once each: {docs:#?}");
    assert_filed(&d, "scan-0001.pdf", &patch, &bytes);
}

/// The agent's side: a batch whose rule missed a separator (only the QR/DataMatrix/… sheets
/// reading SEPARATOR were configured, so the EAN-13 sheet's neighbours came out as one document).
/// Splitting that document after its third page and joining the last two back gives the
/// documents a person would have cut, each classified again; the replaced ones close.
#[test]
fn an_agent_moves_a_boundary_by_splitting_and_joining() {
    let mut d = Daemon::new("[split]\nat = [\"barcode:SEPARATOR\"]\n");
    // No bot may act on the documents before the agent looks (one that did would forbid it).
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    d.spawn();
    let token = d.user_with_token("ann", "ops", "a long enough password");
    let addr = d.http().trim_start_matches("http://").to_string();
    let post = |path: &str, body: Option<&Value>| {
        let auth = support::api::bearer(&token);
        support::api::call(&addr, "POST", &format!("/api/v1{path}"), &[("Authorization", &auth)], body)
    };
    let bytes = std::fs::read(batch("symbologies.pdf").file).unwrap();
    d.drop_file("mailroom.pdf", &bytes);
    d.wait_settled(8);
    let (_, parts) = batch_and_parts(&d, "mailroom.pdf");
    let ranges: Vec<&str> = parts.iter().map(|p| p["split_pages"].as_str().unwrap()).collect();
    assert_eq!(ranges, ["1", "3-4", "6", "8", "10-13", "15", "17"]);
    let two_in_one = parts[4]["id"].as_i64().unwrap();
    // Pages 10-11 are INV-8002; 12 is the EAN-13 sheet, 13 is INV-8003: read as two documents,
    // the part waits for an agent (not for its bots), who is told where the second one starts.
    // Every other part is one invoice, two-page ones included, and goes straight through.
    for p in &parts {
        let id = p["id"].as_i64().unwrap();
        let items: Vec<Value> = d.exceptions().into_iter().filter(|i| i["document_id"] == id).collect();
        if id == two_in_one {
            assert_eq!(items.len(), 1, "{items:#?}");
            assert_eq!(items[0]["kind"], "ambiguous");
            let reason = items[0]["reason"].as_str().unwrap();
            // From page 4, INV-8003's page, the rest reads as it.
            assert!(reason.contains("page 4 read alone as another invoice (invoice_number INV-8003") && reason.contains("split it after page 3"), "{reason}");
        } else {
            assert_eq!(p["status"], "recognised", "{p:#}");
        }
    }

    let r = post(&format!("/documents/{two_in_one}/split"), Some(&serde_json::json!({"after_page": 2})));
    assert_eq!(r.status, 200, "{}", r.body);
    let new: Vec<i64> = r.json()["documents"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(new.len(), 2);
    d.wait_settled(10);
    let first = d.document(new[0]);
    let second = d.document(new[1]);
    assert_eq!((first["split_pages"].as_str(), first["fields"]["invoice_number"].as_str()), (Some("10-11"), Some("INV-8002")), "{first:#}");
    assert_eq!((second["split_pages"].as_str(), second["fields"]["invoice_number"].as_str()), (Some("12-13"), Some("INV-8003")), "{second:#}");
    assert_eq!(first["pages"], 2);
    let old = d.document(two_in_one);
    assert_eq!(old["status"], "replaced");
    assert!(old["audit"].as_array().unwrap().iter().any(|a| a["action"] == "replaced" && a["detail"] == "ann split it after its page 2"), "{old:#}");

    // Moving it again is refused with a sentence; so is a split past the last page.
    let again = post(&format!("/documents/{two_in_one}/split"), Some(&serde_json::json!({"after_page": 1})));
    assert_eq!(again.status, 409);
    assert!(again.body.contains("cut again already"), "{}", again.body);
    let past = post(&format!("/documents/{}/split", new[0]), Some(&serde_json::json!({"after_page": 2})));
    assert_eq!(past.status, 409);
    assert!(past.body.contains("after page 1 to 1"), "{}", past.body);

    // Joining the EAN page's document with the next (page 15, INV-8001) makes pages 12-13, 15.
    let r = post(&format!("/documents/{}/join", new[1]), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let joined = r.json()["documents"][0].as_i64().unwrap();
    d.wait_settled(11);
    let joined = d.document(joined);
    assert_eq!(joined["split_pages"], "12-13, 15");
    assert_eq!(joined["pages"], 3);
    assert_eq!(joined["status"], "exception", "INV-8003 and INV-8001 read as two: {joined:#}");
    let (_, parts) = batch_and_parts(&d, "mailroom.pdf");
    let standing: Vec<&str> =
        parts.iter().filter(|p| p["status"] != "replaced").map(|p| p["split_pages"].as_str().unwrap()).collect();
    assert_eq!(standing, ["1", "3-4", "6", "8", "10-11", "12-13, 15", "17"]);
    // The batch itself has no boundary to move: its documents do.
    let batch_id = parts[0]["split_from"].as_i64().unwrap();
    let whole = post(&format!("/documents/{batch_id}/join"), None);
    assert_eq!(whole.status, 409);
    assert!(whole.body.contains("was cut into documents already"), "{}", whole.body);
}

/// Two invoices in one PDF that arrived whole (no split rule: a supplier's PDF, put together by
/// qpdf from the scanned batch's pages): read as two, the document goes to an agent told where
/// the second starts; split there, it becomes the batch of the two, each recognised, and cannot
/// be split again itself.
#[test]
fn a_pdf_that_reads_as_two_invoices_is_split_by_an_agent() {
    let mut d = Daemon::new("");
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    d.spawn();
    let bytes = std::fs::read(repo().join("tests/fixtures/batches/two-invoices.pdf")).unwrap();
    d.drop_file("supplier.pdf", &bytes);
    d.wait_settled(1);
    let doc = d.by_name("supplier.pdf");
    let id = doc["id"].as_i64().unwrap();
    let item = d.exceptions().into_iter().find(|i| i["document_id"] == id).expect("an item");
    assert_eq!(item["kind"], "ambiguous", "{item}");
    let reason = item["reason"].as_str().unwrap();
    assert!(reason.contains("another invoice (invoice_number INV-8002") && reason.contains("split it after page 1"), "{reason}");
    assert!(d.item_page(&item).contains("id=\"split\""), "the item page offers the split");

    let token = d.user_with_token("ann", "ops", "a long enough password");
    let addr = d.http().trim_start_matches("http://").to_string();
    let auth = support::api::bearer(&token);
    let post = |path: &str, body: Option<&Value>| support::api::call(&addr, "POST", &format!("/api/v1{path}"), &[("Authorization", &auth)], body);
    let r = post(&format!("/documents/{id}/split"), Some(&serde_json::json!({"after_page": 1})));
    assert_eq!(r.status, 200, "{}", r.body);
    d.wait_settled(3);
    let whole = d.document(id);
    assert_eq!(whole["status"], "split", "{whole:#}");
    assert_eq!(whole["sha256"], sha256_hex(&bytes), "the original is kept");
    let numbers: Vec<(String, String)> = whole["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| d.document(p.as_i64().unwrap()))
        .map(|p| (p["split_pages"].as_str().unwrap().to_string(), p["fields"]["invoice_number"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(numbers, [("1".to_string(), "INV-8001".to_string()), ("2-3".to_string(), "INV-8002".to_string())]);
    let open = d.exceptions().into_iter().filter(|i| i["document_id"] == id && (i["state"] == "open" || i["state"] == "claimed")).count();
    assert_eq!(open, 0, "the whole document's item closed with the split");
    let again = post(&format!("/documents/{id}/split"), Some(&serde_json::json!({"after_page": 2})));
    assert_eq!(again.status, 409);
    assert!(again.body.contains("was cut into documents already"), "{}", again.body);
}
