//! Real files that poppler reads and clerk once refused, made to the same shape (issue 22): a
//! scan whose page image is 34862×4332 pixels, a scan with a 9000×9000 image on page 2, a font
//! whose ToUnicode ranges run past its code space, bytes before the `%PDF-` header, and a page
//! tree with one broken page. Each is read as `pdftotext` (the oracle) reads it, or by OCR where
//! the page is an image; the hostile set (tests/hostile.rs) keeps the limits honest.

mod support;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::hostile::{zlib, RawPdf};
use support::*;

/// `clerk text --json` on one file: its pages, or the error.
fn clerk_text(dir: &Path, file: &Path) -> Value {
    let out = Command::new(CLERK).current_dir(dir).args(["text", "--json"]).arg(file).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.lines().next().unwrap_or("{}")).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn pdftotext(file: &Path) -> Vec<String> {
    let out = Command::new("pdftotext").args(["-layout"]).arg(file).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    pages.pop(); // after the last form feed
    pages
}

fn page_texts(read: &Value) -> Vec<String> {
    read["pages"].as_array().unwrap_or_else(|| panic!("not read: {read}")).iter().map(|p| p["text"].as_str().unwrap_or("").to_string()).collect()
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A PDF of the pages given as (width pt, height pt, content, resources), drawn with Helvetica
/// as /F1.
fn pages_pdf(pdf: &mut RawPdf, pages: &[(f64, f64, Vec<u8>, String)]) -> Vec<u8> {
    let font = pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    let tree = pdf.reserve();
    let mut kids = String::new();
    for (w, h, content, resources) in pages {
        let contents = pdf.stream("", content);
        let p = pdf.add(format!(
            "<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {w} {h}] /Resources << /Font << /F1 {font} 0 R >> {resources} >> /Contents {contents} 0 R >>"
        ));
        kids.push_str(&format!("{p} 0 R "));
    }
    pdf.set(tree, format!("<< /Type /Pages /Kids [{kids}] /Count {} >>", pages.len()));
    let root = pdf.add(format!("<< /Type /Catalog /Pages {tree} 0 R >>"));
    pdf.finish(root)
}

/// `text` set large on a page of the image's proportions, drawn by pdftoppm to exactly
/// `width`×`height` gray pixels: a scan of that size, as a scanner would make it.
fn scanned(dir: &Path, text: &str, width: u32, height: u32) -> Vec<u8> {
    let (pw, ph) = (600.0, 600.0 * height as f64 / width as f64);
    let size = (ph * 0.5).min(40.0);
    let content = format!("BT /F1 {size} Tf 30 {} Td ({text}) Tj ET", ph / 2.0 - size / 3.0);
    let source = dir.join("source.pdf");
    std::fs::write(&source, pages_pdf(&mut RawPdf::default(), &[(pw, ph, content.into_bytes(), String::new())])).unwrap();
    let out = dir.join("scan");
    let status = Command::new("pdftoppm")
        .args(["-gray", "-singlefile", "-scale-to-x", &width.to_string(), "-scale-to-y", &height.to_string()])
        .arg(&source)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let pgm = std::fs::read(out.with_extension("pgm")).unwrap();
    // P5 header: magic, width, height, maxval, each followed by one whitespace byte.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    let pixels = &pgm[at + 1..];
    assert_eq!(pixels.len(), width as usize * height as usize);
    pixels.to_vec()
}

/// An image XObject of gray pixels, Flate-compressed, drawn over the whole page.
fn image_page(pdf: &mut RawPdf, pixels: &[u8], width: u32, height: u32, pw: f64, ph: f64) -> (f64, f64, Vec<u8>, String) {
    let img = pdf.stream(
        &format!("/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode"),
        &zlib(pixels),
    );
    (pw, ph, format!("q {pw} 0 0 {ph} 0 0 cm /Im Do Q").into_bytes(), format!("/XObject << /Im {img} 0 R >>"))
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clerk.toml"), "[limits]\nmax_seconds = '60s'\n").unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    (dir, files)
}

#[test]
fn a_page_image_of_34862_by_4332_pixels_is_read_by_ocr() {
    let (dir, files) = setup();
    let (w, h) = (34862, 4332);
    let pixels = scanned(dir.path(), "INVOICE 4711", w, h);
    let mut pdf = RawPdf::default();
    let page = image_page(&mut pdf, &pixels, w, h, 600.0, 600.0 * h as f64 / w as f64);
    let file = files.join("wide-scan.pdf");
    std::fs::write(&file, pages_pdf(&mut pdf, &[page])).unwrap();
    let read = clerk_text(dir.path(), &file);
    let text = page_texts(&read).join(" ");
    assert!(text.contains("4711") && text.to_uppercase().contains("INVOICE"), "{read}");
    assert_eq!(read["pages"][0]["ocr"], true);
}

#[test]
fn a_9000_by_9000_scan_on_page_two_is_read_with_page_one() {
    let (dir, files) = setup();
    let pixels = scanned(dir.path(), "DELIVERY NOTE 5533", 9000, 9000);
    let mut pdf = RawPdf::default();
    let scan = image_page(&mut pdf, &pixels, 9000, 9000, 600.0, 600.0);
    let first = (595.0, 842.0, b"BT /F1 14 Tf 72 700 Td (Cover sheet for the scanned delivery note) Tj ET".to_vec(), String::new());
    let file = files.join("two-pages.pdf");
    std::fs::write(&file, pages_pdf(&mut pdf, &[first, scan])).unwrap();
    let read = clerk_text(dir.path(), &file);
    let pages = page_texts(&read);
    assert_eq!(pages.len(), 2, "{read}");
    assert_eq!(words(&pages[0]), words(&pdftotext(&file)[0]));
    assert!(pages[1].contains("5533") && pages[1].to_uppercase().contains("DELIVERY"), "{}", pages[1]);
}

#[test]
fn a_tounicode_table_with_ranges_past_the_code_space_reads_as_pdftotext_reads_it() {
    let (dir, files) = setup();
    // An identity table written over two-byte codes for a one-byte font, a hundred times over
    // (6.5 million codes as written, 25,600 as poppler builds it).
    let mut cmap = String::from("/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <00> <FF> endcodespacerange\n");
    for _ in 0..100 {
        cmap.push_str("1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n");
    }
    cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end");
    let mut pdf = RawPdf::default();
    let tu = pdf.stream("", cmap.as_bytes());
    let font = pdf.add(format!("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode {tu} 0 R >>"));
    let page = (595.0, 842.0, b"BT /F2 14 Tf 72 700 Td (Invoice 4711 dated 2025-10-08, total 99.00 EUR) Tj ET".to_vec(), format!("/Font << /F2 {font} 0 R >>"));
    let file = files.join("tounicode-past-code-space.pdf");
    std::fs::write(&file, pages_pdf(&mut pdf, &[page])).unwrap();
    let read = clerk_text(dir.path(), &file);
    let oracle = pdftotext(&file);
    assert!(oracle[0].contains("Invoice 4711"), "pdftotext: {oracle:?}");
    assert_eq!(page_texts(&read), oracle);
}

#[test]
fn bytes_before_the_header_are_tolerated_as_poppler_tolerates_them() {
    let (dir, files) = setup();
    let pdf = pages_pdf(
        &mut RawPdf::default(),
        &[(595.0, 842.0, b"BT /F1 14 Tf 72 700 Td (Remittance advice 2025-117) Tj ET".to_vec(), String::new())],
    );
    // A mail gateway's headers before the file, past the first kilobyte poppler looks in.
    let mut junk = Vec::new();
    for i in 0..40 {
        junk.extend_from_slice(format!("X-Gateway-Trace-{i}: relay.example.invalid scanned clean\r\n").as_bytes());
    }
    assert!(junk.len() > 1024);
    for (name, before) in [("short-preamble.pdf", &junk[..100]), ("long-preamble.pdf", &junk[..])] {
        let file = files.join(name);
        std::fs::write(&file, [before, &pdf[..]].concat()).unwrap();
        let oracle = pdftotext(&file);
        assert!(oracle[0].contains("Remittance advice"), "pdftotext: {oracle:?}");
        assert_eq!(page_texts(&clerk_text(dir.path(), &file)), oracle, "{name}");
    }
}

/// Three pages in the tree, the second an object that is no page at all.
fn broken_page_pdf() -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let font = pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    let tree = pdf.reserve();
    let mut kids = String::new();
    for (i, text) in ["Page one of the statement", "", "Page three of the statement"].iter().enumerate() {
        if i == 1 {
            // The second kid is an object that is no page at all.
            let broken = pdf.add("(not a page)");
            kids.push_str(&format!("{broken} 0 R "));
            continue;
        }
        let contents = pdf.stream("", format!("BT /F1 14 Tf 72 700 Td ({text}) Tj ET").as_bytes());
        let p = pdf.add(format!(
            "<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 {font} 0 R >> >> /Contents {contents} 0 R >>"
        ));
        kids.push_str(&format!("{p} 0 R "));
    }
    pdf.set(tree, format!("<< /Type /Pages /Kids [{kids}] /Count 3 >>"));
    let root = pdf.add(format!("<< /Type /Catalog /Pages {tree} 0 R >>"));
    pdf.finish(root)
}

#[test]
fn a_broken_page_costs_that_page_and_says_so() {
    let (dir, files) = setup();
    let file = files.join("broken-page.pdf");
    std::fs::write(&file, broken_page_pdf()).unwrap();
    let oracle = pdftotext(&file);
    let read = clerk_text(dir.path(), &file);
    let pages = read["pages"].as_array().unwrap_or_else(|| panic!("not read: {read}"));
    let texts: Vec<String> = pages.iter().filter(|p| p["unread"].is_null()).map(|p| words(p["text"].as_str().unwrap())).collect();
    let oracle_texts: Vec<String> = oracle.iter().map(|t| words(t)).filter(|t| !t.is_empty()).collect();
    assert_eq!(texts, oracle_texts, "{read}");
    let unread: Vec<&Value> = pages.iter().filter(|p| !p["unread"].is_null()).collect();
    // Poppler numbers the pages it can reach first, so the page said to be missing is the last
    // of the three the tree counts: still one page, said in a sentence.
    assert_eq!(unread.len(), 1, "{read}");
    let why = unread[0]["unread"].as_str().unwrap();
    assert!(why.contains(&format!("page {}", unread[0]["number"])) && why.contains("damaged"), "{why}");
}

#[test]
fn the_item_page_says_which_page_could_not_be_read() {
    let mut d = Daemon::new("");
    d.spawn();
    d.drop_file("statement.pdf", &broken_page_pdf());
    d.wait_settled(1);
    let item = d.exceptions().into_iter().next().expect("an exception item (no type knows a statement)");
    let doc = d.document(item["document_id"].as_i64().unwrap());
    let unread: Vec<&Value> = doc["page_details"].as_array().unwrap().iter().filter(|p| !p["unread"].is_null()).collect();
    assert_eq!(unread.len(), 1, "{doc}");
    let html = d.item_page(&item);
    assert!(html.contains(&format!("page {} could not be read", unread[0]["number"])), "{html}");
}
