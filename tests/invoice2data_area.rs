//! invoice2data `area:` fields: read from a rectangle of the page, as invoice2data 1.0.1's
//! pdftotext reader crops it, on a text-layer PDF (invoice2data is the oracle), on scans (OCR's
//! word boxes), in the daemon (boxes kept in the store), and refused at load when malformed.

mod support;

use serde_json::{json, Value as J};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

/// The date is read from a band near the top of page 1 (pixels at 100 dpi: y 155–325, i.e.
/// 111.6–234 pt); the order date above it matches the same regex and must not be taken.
const TEMPLATE: &str = r#"issuer: Netpresse
fields:
  amount: Total TTC\s+:\s+([\d ]+,\d{2})
  invoice_number: Facture\s+n°\s+(\d+)
  date:
    parser: regex
    area: { f: 1, l: 1, x: 0, y: 155, r: 100, W: 825, H: 170 }
    regex: (\d{2}/\d{2}/\d{4})
    type: date
  reference:
    parser: regex
    area: { f: 1, l: 1, x: 0, y: 155, r: 100, W: 825, H: 170 }
    regex: Ref\.\s+(\w+)
keywords:
  - NETPRESSE
  - Facture
options:
  date_formats: ['%d/%m/%Y']
  decimal_separator: ','
"#;

/// The invoice's lines, and the lines drawn inside the area (at its top-left corner).
const FLOW: &[&str] = &["NETPRESSE  Facture n° 4711", "Commande du 01/02/2023  Ref. ORDER7", "Total TTC : 120,00 €"];
const IN_AREA: &[&str] = &["Date de facture : 15/03/2023", "Ref. INV42"];

fn python() -> String {
    let setup = Command::new("bash").arg(repo().join("tests/oracle/setup.sh")).output().unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    String::from_utf8_lossy(&setup.stdout).trim().to_string()
}

/// The invoice as a text-layer PDF typeset by ReportLab, the area lines inside the area.
fn typeset(py: &str, dir: &Path) -> PathBuf {
    let text = dir.join("netpresse.txt");
    let mut lines: Vec<&str> = FLOW.to_vec();
    lines.extend(IN_AREA);
    std::fs::write(&text, lines.join("\n") + "\n").unwrap();
    let box_pt = [0.0, 155.0 * 0.72, 825.0 * 0.72, 325.0 * 0.72];
    let placed: Vec<J> = IN_AREA.iter().map(|l| json!({"page": 1, "box_pt": box_pt, "text": l})).collect();
    std::fs::write(dir.join("netpresse.areas.json"), J::Array(placed).to_string()).unwrap();
    let st = Command::new(py).arg(repo().join("tests/oracle/typeset.py")).arg(dir).arg(&text).status().unwrap();
    assert!(st.success());
    dir.join("netpresse.pdf")
}

fn setup() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let defs = dir.path().join("definitions");
    std::fs::create_dir(&defs).unwrap();
    std::fs::write(defs.join("netpresse.yml"), TEMPLATE).unwrap();
    (dir, defs, python())
}

#[test]
fn an_area_field_reads_its_rectangle_as_invoice2data_does() {
    let (dir, defs, py) = setup();
    let pdf = typeset(&py, dir.path());
    let out = Command::new(&py).arg(repo().join("tests/oracle/invoice2data_oracle.py")).arg(&defs).arg(&pdf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let oracle: J = serde_json::from_slice(&out.stdout).unwrap();
    let clerk = &classify_json(&defs, dir.path(), std::slice::from_ref(&pdf))[0];

    assert_eq!(oracle["output"]["date"], "2023-03-15", "invoice2data: {oracle}");
    assert_eq!(clerk["fields"]["date"], "2023-03-15", "the date inside the area, not the order date: {clerk}");
    assert_eq!(clerk["fields"]["reference"], oracle["output"]["reference"]);
    assert_eq!(clerk["fields"]["reference"], "INV42");
    // Fields without an area still read the whole text.
    assert_eq!(clerk["fields"]["invoice_number"], "4711");
    assert_eq!(clerk["fields"]["amount"], oracle["output"]["amount"]);
    assert!(clerk["exception"].is_null(), "{clerk}");
}

#[test]
fn on_scans_the_area_crops_what_ocr_read() {
    let (dir, defs, py) = setup();
    let pdf = typeset(&py, dir.path());
    // The page as a 300 dpi image, and as a scanned PDF holding that image.
    let st = Command::new("pdftoppm").args(["-r", "300", "-gray", "-png", "-singlefile"]).arg(&pdf).arg(dir.path().join("scan")).status().unwrap();
    assert!(st.success());
    let png = dir.path().join("scan.png");
    let scanned = dir.path().join("scanned.pdf");
    let script = "import sys\nfrom reportlab.pdfgen import canvas\nfrom reportlab.lib.pagesizes import A4\nc = canvas.Canvas(sys.argv[2], pagesize=A4)\nc.drawImage(sys.argv[1], 0, 0, width=A4[0], height=A4[1])\nc.save()\n";
    let st = Command::new(&py).args(["-c", script]).arg(&png).arg(&scanned).status().unwrap();
    assert!(st.success());

    for doc in classify_json(&defs, dir.path(), &[png, scanned]) {
        assert_eq!(doc["ocr"], true, "{doc}");
        assert_eq!(doc["fields"]["date"], "2023-03-15", "{doc}");
        assert_eq!(doc["fields"]["reference"], "INV42", "{doc}");
    }
}

#[test]
fn the_daemon_keeps_the_word_boxes_and_crops_areas() {
    let py = python();
    let mut d = Daemon::new("");
    std::fs::write(d.definitions.join("netpresse.yml"), TEMPLATE).unwrap();
    d.spawn();
    let work = tempfile::tempdir().unwrap();
    let pdf = typeset(&py, work.path());
    d.drop_file("netpresse.pdf", &std::fs::read(pdf).unwrap());
    d.wait_until("the invoice to be classified", Duration::from_secs(60), |d| {
        d.documents().iter().any(|x| x["status"] != "received" && x["status"] != "extracted")
    });
    let id = d.documents()[0]["id"].as_i64().unwrap();
    let doc = d.document(id);
    assert_eq!(doc["doctype"], "netpresse", "{doc}");
    assert_eq!(doc["fields"]["date"], "2023-03-15", "{doc}");
    assert_eq!(doc["fields"]["reference"], "INV42", "{doc}");
}

#[test]
fn a_malformed_area_is_refused_at_load_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = TEMPLATE
        .replace("area: { f: 1, l: 1, x: 0, y: 155, r: 100, W: 825, H: 170 }\n    regex: (\\d", "area: { f: 1, l: 1, x: 0, y: 155, r: 100, W: 825 }\n    regex: (\\d")
        .replace("r: 100, W: 825, H: 170 }\n    regex: Ref", "r: 0, W: wide, H: 170 }\n    regex: Ref");
    std::fs::write(dir.path().join("bad.yml"), bad).unwrap();
    let out = Command::new(CLERK).args(["check", "--definitions"]).arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    let file = dir.path().join("bad.yml").display().to_string();
    assert!(text.contains(&format!("{file}:7:11: `fields.date.area` has no `H`")), "{text}");
    assert!(text.contains(&format!("{file}:12:48: `fields.reference.area.W` must be a number")), "{text}");
}
