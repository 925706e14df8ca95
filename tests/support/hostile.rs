//! The hostile set: files crafted to crash, hang or swell a document reader, one for each class
//! of attack reported against clerk (issue "Reading real documents") and known from the PDF
//! readers' own bug trackers, and the Office formats' (zip bombs, entity expansion, nesting).
//! Built fresh by the tests (`hostile::write_all`) and by `cargo run --example make-hostile --
//! DIR` (to look at them, or to seed the fuzzer).
//!
//! PDFs are written byte by byte rather than through a PDF library: most of these files are
//! malformed on purpose, in ways a library would refuse to write.
#![allow(dead_code)]

use flate2::write::ZlibEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::Path;

/// A PDF assembled from raw object bodies; object `n` is `objects[n - 1]`.
#[derive(Default)]
pub struct RawPdf {
    objects: Vec<Vec<u8>>,
}

impl RawPdf {
    pub fn add(&mut self, body: impl AsRef<[u8]>) -> usize {
        self.objects.push(body.as_ref().to_vec());
        self.objects.len()
    }

    /// Reserves an object number to fill in later (for objects that refer to each other).
    pub fn reserve(&mut self) -> usize {
        self.add(b"null")
    }

    pub fn set(&mut self, id: usize, body: impl AsRef<[u8]>) {
        self.objects[id - 1] = body.as_ref().to_vec();
    }

    pub fn stream(&mut self, dict: &str, data: &[u8]) -> usize {
        let mut body = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.add(body)
    }

    pub fn finish(&self, root: usize) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", self.objects.len() + 1).as_bytes());
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n", self.objects.len() + 1)
                .as_bytes(),
        );
        out
    }
}

pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `n` bytes of `chunk` repeated, compressed without holding them in memory.
pub fn zlib_repeated(chunk: &[u8], n: usize) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
    let block = chunk.repeat((1 << 20) / chunk.len().max(1));
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len());
        e.write_all(&block[..take]).unwrap();
        left -= take;
    }
    e.finish().unwrap()
}

const FONT: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// A one-page PDF: `content` drawn with Helvetica as /F1 and the extra `resources` entries;
/// `page_extra` goes into the page dictionary.
pub fn page(pdf: &mut RawPdf, content_dict: &str, content: &[u8], resources: &str, page_extra: &str) -> Vec<u8> {
    let font = pdf.add(FONT);
    let contents = pdf.stream(content_dict, content);
    let pages = pdf.reserve();
    let page = pdf.add(format!(
        "<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 {font} 0 R >> {resources} >> /Contents {contents} 0 R {page_extra} >>"
    ));
    pdf.set(pages, format!("<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>"));
    let root = pdf.add(format!("<< /Type /Catalog /Pages {pages} 0 R >>"));
    pdf.finish(root)
}

fn simple(content: &[u8]) -> Vec<u8> {
    page(&mut RawPdf::default(), "", content, "", "")
}

/// A font whose glyphs map to Unicode through `cmap` (a ToUnicode stream).
fn with_tounicode(cmap: &[u8], text: &str) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let tu = pdf.stream("", cmap);
    let font = pdf.add(format!(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode {tu} 0 R >>"
    ));
    let content = format!("BT /F2 12 Tf 72 700 Td ({text}) Tj ET");
    page(&mut pdf, "", content.as_bytes(), &format!("/Font << /F2 {font} 0 R >>"), "")
}

/// A CID font (two-byte codes) whose glyphs map to Unicode through `cmap`.
fn cid_with_tounicode(cmap: &[u8]) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let tu = pdf.stream("", cmap);
    let desc = pdf.add(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Ranges /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor << /Type /FontDescriptor /FontName /Ranges /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >> >>",
    );
    let font = pdf.add(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /Ranges /Encoding /Identity-H /DescendantFonts [{desc} 0 R] /ToUnicode {tu} 0 R >>"
    ));
    page(&mut pdf, "", b"BT /F2 12 Tf 72 700 Td <004100420043> Tj ET", &format!("/Font << /F2 {font} 0 R >>"), "")
}

/// A form XObject tree `depth` levels deep where each form draws the next `fanout` times: a few
/// kilobytes that ask for fanout^depth drawings.
fn form_fanout(fanout: usize, depth: usize) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let mut next: Option<usize> = None;
    for _ in 0..depth {
        let content = match next {
            Some(_) => "/X Do ".repeat(fanout),
            None => "BT /F1 12 Tf 72 700 Td (deep) Tj ET".into(),
        };
        let res = match next {
            Some(n) => format!("/Resources << /XObject << /X {n} 0 R >> >>"),
            None => String::new(),
        };
        next =
            Some(pdf.stream(&format!("/Type /XObject /Subtype /Form /BBox [0 0 595 842] {res}"), content.as_bytes()));
    }
    let top = next.unwrap();
    page(&mut pdf, "", "/X Do ".repeat(fanout).as_bytes(), &format!("/XObject << /X {top} 0 R >>"), "")
}

/// Two forms that draw each other.
fn form_cycle() -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let a = pdf.reserve();
    let b = pdf.reserve();
    let body = |other: usize| {
        let data = b"BT /F1 12 Tf 72 700 Td (loop) Tj ET /Y Do";
        format!(
            "<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /XObject << /Y {other} 0 R >> >> /Length {} >>\nstream\n{}\nendstream",
            data.len(),
            String::from_utf8_lossy(data)
        )
    };
    pdf.set(a, body(b));
    pdf.set(b, body(a));
    page(&mut pdf, "", b"/X Do", &format!("/XObject << /X {a} 0 R >>"), "")
}

/// A CID font whose `W` array has `entries` widths.
fn huge_w(entries: usize) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let mut w = String::from("[0 [");
    for i in 0..entries {
        w.push_str(if i % 2 == 0 { "500 " } else { "600 " });
    }
    w.push_str("] 0 4294967295 1000 -2147483648 2147483647 1]");
    let desc = pdf.add(format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Hostile /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor << /Type /FontDescriptor /FontName /Hostile /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >> /W {w} >>"
    ));
    let font = pdf.add(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /Hostile /Encoding /Identity-H /DescendantFonts [{desc} 0 R] >>"
    ));
    page(&mut pdf, "", b"BT /F2 12 Tf 72 700 Td <00410042> Tj ET", &format!("/Font << /F2 {font} 0 R >>"), "")
}

/// A page tree with `n` pages (and /Count saying so), each as small as a page object can be
/// (media box and contents inherited), so a million fit under the file size limit.
fn many_pages(n: usize) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let pages = pdf.reserve();
    let content = pdf.stream("", b"BT /F1 12 Tf 72 700 Td (page) Tj ET");
    let mut kids = String::with_capacity(n * 12);
    for _ in 0..n {
        let p = pdf.add(format!("<</Type/Page/Parent {pages} 0 R>>"));
        kids.push_str(&format!("{p} 0 R "));
    }
    pdf.set(
        pages,
        format!("<< /Type /Pages /Kids [{kids}] /Count {n} /MediaBox [0 0 595 842] /Contents {content} 0 R >>"),
    );
    let root = pdf.add(format!("<< /Type /Catalog /Pages {pages} 0 R >>"));
    pdf.finish(root)
}

/// An image XObject claiming `w`×`h` pixels with almost no data behind it.
fn huge_image(w: u64, h: u64, filter: &str, data: &[u8]) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let img = pdf.stream(
        &format!("/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 {filter}"),
        data,
    );
    page(&mut pdf, "", b"q 595 0 0 842 0 0 cm /Im Do Q", &format!("/XObject << /Im {img} 0 R >>"), "")
}

/// An image with a broken stream under `filter` (decoders with a history of crashes).
fn broken_image(filter: &str, data: &[u8]) -> Vec<u8> {
    let mut pdf = RawPdf::default();
    let img = pdf.stream(
        &format!("/Type /XObject /Subtype /Image /Width 1200 /Height 1600 /ColorSpace /DeviceGray /BitsPerComponent 1 {filter}"),
        data,
    );
    page(&mut pdf, "", b"q 595 0 0 842 0 0 cm /Im Do Q", &format!("/XObject << /Im {img} 0 R >>"), "")
}

fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A TIFF header claiming `w`×`h` 8-bit gray pixels, with no pixel data.
fn tiff_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32, u32); 6] =
        [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (262, 3, 1, 1), (273, 4, 1, 0), (279, 4, 1, 1 << 30)];
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

/// A PNG of `w`×`h` gray pixels, all white: a few hundred kilobytes that decode to gigabytes.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // Only the first rows: the header's claim is the attack, and compressing gigabytes here would
    // only slow the tests.
    let mut row = vec![255u8; w as usize + 1];
    row[0] = 0;
    chunk(&mut out, b"IDAT", &zlib_repeated(&row, row.len() * h.min(1000) as usize));
    chunk(&mut out, b"IEND", b"");
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// Every hostile file: (name, bytes). Each must end as an exception with a sentence, quickly,
/// without taking more memory than the limits allow.
pub fn all() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| files.push((name.to_string(), bytes));

    // Nesting: 100,000 levels of arrays and dictionaries in an object, and arrays in a content stream.
    let deep = 100_000;
    add(
        "nested-arrays.pdf",
        page(&mut RawPdf::default(), "", b"", "", &format!("/Hostile {}{}", "[".repeat(deep), "]".repeat(deep))),
    );
    add(
        "nested-dicts.pdf",
        page(&mut RawPdf::default(), "", b"", "", &format!("/Hostile {}{}", "<< /A ".repeat(deep), ">> ".repeat(deep))),
    );
    add("nested-content.pdf", simple(format!("{}{} pop", "[".repeat(deep), "]".repeat(deep)).as_bytes()));

    // Bombs: a content stream of 1 GiB of spaces in 1 MB; two Flate layers; 40 million `q`.
    let gib = 1 << 30;
    let spaces = zlib_repeated(b" ", gib);
    add("flate-bomb.pdf", page(&mut RawPdf::default(), "/Filter /FlateDecode", &spaces, "", ""));
    let twice = zlib(&spaces);
    add("flate-twice.pdf", page(&mut RawPdf::default(), "/Filter [/FlateDecode /FlateDecode]", &twice, "", ""));
    add("q-bomb.pdf", page(&mut RawPdf::default(), "/Filter /FlateDecode", &zlib_repeated(b"q ", 80_000_000), "", ""));

    // Cycles and fan-out: forms drawing each other, a form tree asking for 40^8 drawings.
    add("form-cycle.pdf", form_cycle());
    add("form-fanout.pdf", form_fanout(40, 8));

    // Coordinates far outside any page, and a text matrix scaling by 1e15.
    add(
        "huge-x.pdf",
        simple(b"BT /F1 12 Tf 1000000000000000 100 Td (Far away) Tj ET BT /F1 12 Tf 1e15 0 0 1e15 0 0 Tm (Huge) Tj ET"),
    );

    // Broken CMaps: lone surrogates and odd hex in ToUnicode; 20,000 overlapping ranges in a
    // two-byte code space (a billion mappings for poppler to make).
    let bad_cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <00> <FF> endcodespacerange 4 beginbfchar <41> <D800> <42> <DC00DC00> <43> <ABC> <44> <> endbfchar 1 beginbfrange <45> <FF> <D7FF> endbfrange endcmap CMapName currentdict /CMap defineresource pop end end";
    add("tounicode-broken.pdf", with_tounicode(bad_cmap, "ABCDEFGH"));
    let mut ranges = String::from("/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange\n");
    for chunk in 0..200 {
        ranges.push_str("100 beginbfrange\n");
        for i in 0..100 {
            let c = chunk * 100 + i;
            ranges.push_str(&format!("<{c:04X}> <FFFF> <0041>\n"));
        }
        ranges.push_str("endbfrange\n");
    }
    ranges.push_str("endcmap CMapName currentdict /CMap defineresource pop end end");
    add("tounicode-ranges.pdf", cid_with_tounicode(ranges.as_bytes()));

    // A CID font with a 120,000-entry W array and ranges covering all of u32.
    add("huge-w.pdf", huge_w(120_000));

    // A million pages.
    add("million-pages.pdf", many_pages(1_000_000));

    // Lying headers: an image claiming 100000×100000 pixels; a /Count of a million with one page;
    // a stream /Length far past the end; no xref at all; a PNG and a TIFF claiming billions of pixels.
    add("image-100000x100000.pdf", huge_image(100_000, 100_000, "", &[0u8; 64]));
    add("image-flate-bomb.pdf", huge_image(40_000, 40_000, "/Filter /FlateDecode", &zlib_repeated(&[255], 256 << 20)));
    let one_page = simple(b"BT /F1 12 Tf 72 700 Td (lying count) Tj ET");
    add("lying-count.pdf", String::from_utf8_lossy(&one_page).replace("/Count 1", "/Count 1000000").into_bytes());
    add(
        "lying-length.pdf",
        String::from_utf8_lossy(&simple(b"BT /F1 12 Tf 72 700 Td (length) Tj ET"))
            .replace("/Length 37", "/Length 999999999")
            .into_bytes(),
    );
    let no_xref = simple(b"BT /F1 12 Tf 72 700 Td (no xref) Tj ET");
    let cut = no_xref.windows(4).position(|w| w == b"xref").unwrap();
    add("no-xref.pdf", no_xref[..cut].to_vec());
    add("png-60000x60000.png", png_bomb(60_000, 60_000));
    add("tiff-100000x100000.tiff", tiff_claiming(100_000, 100_000));

    // Decoders with a history of crashes, fed garbage.
    for (name, filter) in [
        ("jbig2-garbage.pdf", "/Filter /JBIG2Decode"),
        ("jpx-garbage.pdf", "/Filter /JPXDecode"),
        ("ccitt-garbage.pdf", "/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns 1200 /Rows 1600 >>"),
        ("dct-garbage.pdf", "/Filter /DCTDecode"),
        ("lzw-garbage.pdf", "/Filter /LZWDecode"),
    ] {
        add(name, broken_image(filter, &pseudo_random(20_000, name.len() as u64)));
    }
    // Random bytes behind a PDF header, and a truncated PDF.
    let mut junk = b"%PDF-1.4\n".to_vec();
    junk.extend(pseudo_random(50_000, 7));
    add("random-after-header.pdf", junk);
    let good = simple(b"BT /F1 12 Tf 72 700 Td (truncated) Tj ET");
    add("truncated-half.pdf", good[..good.len() / 2].to_vec());
    hostile_office(&mut add);
    files
}

/// A ZIP archive of (name, bytes) members, deflated.
pub fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in members {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Office files built to exhaust a reader: a worksheet that inflates to 300 MiB, a Word body
/// that expands entities a billion-fold, a workbook of 10,000 sheets, RTF groups 100,000 deep,
/// and HTML and ODF nested 100,000 deep.
fn hostile_office(add: &mut impl FnMut(&str, Vec<u8>)) {
    const CONTENT_TYPES: &[u8] = b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
    let workbook = |sheets: usize| {
        let mut x = String::from("<workbook xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>");
        for i in 1..=sheets {
            x.push_str(&format!("<sheet name=\"S{i}\" sheetId=\"{i}\" r:id=\"rId{i}\"/>"));
        }
        x.push_str("</sheets></workbook>");
        x.into_bytes()
    };
    let rels = b"<Relationships><Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\"/></Relationships>".to_vec();
    let mut sheet = b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>".to_vec();
    sheet.resize(sheet.len() + (300 << 20), b' ');
    sheet.extend_from_slice(b"</t></is></c></row></sheetData></worksheet>");
    add(
        "zip-bomb.xlsx",
        zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES.to_vec()),
            ("xl/workbook.xml", workbook(1)),
            ("xl/_rels/workbook.xml.rels", rels),
            ("xl/worksheets/sheet1.xml", sheet),
        ]),
    );
    add("10000-sheets.xlsx", zip_of(&[("[Content_Types].xml", CONTENT_TYPES.to_vec()), ("xl/workbook.xml", workbook(10_000))]));
    let mut laughs = String::from("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..=9 {
        let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        laughs.push_str(&format!("<!ENTITY lol{i} \"{}\">", format!("&{prev};").repeat(10)));
    }
    laughs.push_str("]><w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>");
    add("billion-laughs.docx", zip_of(&[("[Content_Types].xml", CONTENT_TYPES.to_vec()), ("word/document.xml", laughs.into_bytes())]));
    let deep = 100_000;
    add("deep.rtf", format!("{{\\rtf1 {}deep{}}}", "{".repeat(deep), "}".repeat(deep)).into_bytes());
    add("deep.html", format!("<!DOCTYPE html><html><body>{}deep{}</body></html>", "<div>".repeat(deep), "</div>".repeat(deep)).into_bytes());
    let odt = format!(
        "<office:document-content xmlns:office=\"o\" xmlns:text=\"t\"><office:body><office:text><text:p>{}deep{}</text:p></office:text></office:body></office:document-content>",
        "<text:span>".repeat(deep),
        "</text:span>".repeat(deep)
    );
    add(
        "deep.odt",
        zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.text".to_vec()), ("content.xml", odt.into_bytes())]),
    );
}

pub fn write_all(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    all()
        .into_iter()
        .map(|(name, bytes)| {
            std::fs::write(dir.join(&name), bytes).unwrap();
            name
        })
        .collect()
}
