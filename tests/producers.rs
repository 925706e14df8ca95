//! A scanned invoice as real producers write it (tests/fixtures/producers, rebuilt by
//! tests/producers/make.sh): img2pdf (PNG, JPEG, a palette, 16 bits), ImageMagick with each
//! -compress method and in CMYK, Ghostscript, tesseract's and OCRmyPDF's PDFs, LibreOffice Draw,
//! ReportLab (an XObject and an inline image), a page turned by /Rotate, pages scanned upside down
//! and a quarter turn either way (read upright by tesseract's orientation detection); its text PDFs from LibreOffice,
//! ReportLab and Ghostscript; and the image layouts scanners write (gray+alpha, palette, 16-bit,
//! CMYK JPEG, two-page TIFFs in several compressions). Every one is recognised with its fields.

mod support;
use support::*;

#[test]
fn every_producer_s_invoice_is_recognised_with_its_fields() {
    let dir = repo().join("tests/fixtures/producers");
    // The Office files among them have a test of their own (tests/office.rs).
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("office-"))
        .collect();
    let producers =
        |prefix: &str| files.iter().filter(|f| f.file_name().unwrap().to_string_lossy().starts_with(prefix)).count();
    assert!(producers("scan-") >= 19 && producers("text-") >= 3 && producers("image-") >= 10, "{files:?}");
    let answers = classify_json(&repo().join("bots"), &dir, &files);
    assert_eq!(answers.len(), files.len());
    for a in &answers {
        let file = a["file"].as_str().unwrap();
        assert_eq!(a["status"], "recognised", "{file}: {a}");
        assert_eq!(a["doctype"], "invoice", "{file}");
        assert_eq!(a["fields"]["invoice_number"], "INV-7731", "{file}: {a}");
        assert_eq!(a["fields"]["total"], "163.03", "{file}: {a}");
        assert_eq!(a["fields"]["issue_date"], "2024-06-03", "{file}: {a}");
        let name = file.rsplit('/').next().unwrap();
        // Pages without a text layer were read by OCR; the others by their text layer.
        let text_layer = name.starts_with("text-") || name.contains("tesseract") || name.contains("ocrmypdf");
        assert_eq!(a["ocr"], !text_layer, "{file}: {a}");
    }
}
