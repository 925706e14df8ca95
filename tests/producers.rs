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

/// A page scanned turned is drawn for the agent as OCR read it, upright: the image has the turned
/// page's shape, and the box of the invoice number's word, scaled onto it, holds that number when
/// tesseract reads the cut-out (drawn unturned, the box would hold something else).
#[test]
fn a_page_read_turned_is_drawn_turned_with_its_words_where_they_are() {
    let mut d = Daemon::new("");
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    d.spawn();
    let names = ["scan-upside-down.pdf", "scan-quarter-turn.pdf", "image-quarter-turn-back.jpg"];
    for name in names {
        d.drop_file(name, &std::fs::read(repo().join("tests/fixtures/producers").join(name)).unwrap());
    }
    d.wait_settled(names.len());
    let token = d.user_with_token("ops-turned", "ops", "pw-ops-turned-1");
    let addr = d.http().trim_start_matches("http://").to_string();
    let work = tempfile::tempdir().unwrap();
    for name in names {
        let doc = d.document(d.by_name(name)["id"].as_i64().unwrap());
        let page = &doc["page_details"][0];
        assert_ne!(page["turned"], 0, "{name} was read turned: {page}");
        let (width, height) = (page["width"].as_f64().unwrap(), page["height"].as_f64().unwrap());
        let word = page["words"].as_array().unwrap().iter().find(|w| w["text"] == "INV-7731").expect("the number's word");
        let r = api::call(&addr, "GET", &format!("/api/v1/documents/{}/pages/1/image", doc["id"]), &[("Authorization", &api::bearer(&token))], None);
        assert_eq!(r.status, 200, "{name}: {r:?}");
        let png = image::load_from_memory(&r.bytes).unwrap().to_luma8();
        let scale = png.width() as f64 / width;
        assert!((png.height() as f64 / scale - height).abs() < height * 0.02, "{name}: {}×{} drawn for {width}×{height} read", png.width(), png.height());
        let at = |k: &str| word[k].as_f64().unwrap() * scale;
        let pad = 6.0;
        let (x, y) = ((at("x") - pad).max(0.0) as u32, (at("y") - pad).max(0.0) as u32);
        let (w, h) = ((at("w") + 2.0 * pad) as u32, (at("h") + 2.0 * pad) as u32);
        let cut = image::imageops::crop_imm(&png, x, y, w.min(png.width() - x), h.min(png.height() - y)).to_image();
        let file = work.path().join(format!("{name}.png"));
        image::imageops::resize(&cut, cut.width() * 3, cut.height() * 3, image::imageops::FilterType::Triangle).save(&file).unwrap();
        let out = std::process::Command::new("tesseract").arg(&file).args(["-", "--psm", "7"]).output().unwrap();
        let read = String::from_utf8_lossy(&out.stdout);
        assert!(read.contains("7731"), "{name}: the box drawn on the page holds {read:?}");
    }
}
