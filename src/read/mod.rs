//! Reading a document: its text layer, or OCR of its page images. The daemon never parses a
//! document itself. It hands the bytes to a reader process (`clerk-reader`, built from
//! `src/bin/clerk-reader/`) through [`pool::Readers`] and gets pages of text and word boxes back,
//! or a sentence saying why the file cannot be read. A reader runs under limits the kernel
//! enforces (memory, CPU time, no network, no writes), so a hostile file costs one reader process,
//! never the daemon. This module holds what both sides share: the types, the wire format, and the
//! pool that the daemon and the CLI use.

pub mod einvoice;
pub mod libreoffice;
pub mod office;
pub mod pool;
pub mod protocol;

use serde::{Deserialize, Serialize};

/// Limits that protect clerk from hostile or broken input. The kernel enforces `max_memory` and
/// `max_seconds` on the reader process; the reader checks the others before it spends the effort.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Limits {
    /// Largest file that is read at all, in bytes.
    pub max_file_size: u64,
    pub max_pages: usize,
    /// Largest page image OCR reads, in pixels (width × height): a PDF page that would render
    /// larger is rendered at a lower resolution, an image in a PDF larger than it is read row by
    /// row and sampled down, an image file larger than it is scaled down. Not a refusal: what
    /// refuses an image file is memory (its decoded size over a quarter of `max_memory`).
    pub max_pixels: u64,
    /// Address space of a reader process while it reads one document, in bytes.
    pub max_memory: u64,
    /// Processing time for one document, in seconds (CPU time, and wall time with a grace).
    pub max_seconds: u64,
    /// Drawing operators on one PDF page, form XObjects and annotations included: a page that
    /// draws itself millions of times stops early with a reason.
    pub max_operators: u64,
    /// Decoded size of one PDF page's drawing instructions (its content streams and forms), in
    /// bytes: a decompression bomb stops here instead of being inflated.
    pub max_decoded: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 100 << 20,
            max_pages: 500,
            max_pixels: 80_000_000,
            max_memory: 1 << 30,
            max_seconds: 120,
            max_operators: 20_000_000,
            max_decoded: 256 << 20,
        }
    }
}

/// A word OCR found, with its box in page-image pixels (for highlighting fields).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Word {
    pub text: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub conf: f32,
}

/// A word and its box in points from the page's top-left corner, as `pdftotext -bbox-layout`
/// lists it: what an invoice2data `area:` crops. Written as `[x0, y0, x1, y1, text]`, as a page
/// holds hundreds of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(from = "(f64, f64, f64, f64, String)", into = "(f64, f64, f64, f64, String)")]
pub struct TextBox {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub text: String,
}

impl From<(f64, f64, f64, f64, String)> for TextBox {
    fn from((x0, y0, x1, y1, text): (f64, f64, f64, f64, String)) -> Self {
        TextBox { x0, y0, x1, y1, text }
    }
}

impl From<TextBox> for (f64, f64, f64, f64, String) {
    fn from(b: TextBox) -> Self {
        (b.x0, b.y0, b.x1, b.y1, b.text)
    }
}

impl TextBox {
    /// An OCR word's box, from pixels of an image at `dpi` to points.
    pub fn from_pixels(w: &Word, dpi: f64) -> TextBox {
        let pt = |px: u32| px as f64 * 72.0 / dpi;
        TextBox { x0: pt(w.x), y0: pt(w.y), x1: pt(w.x + w.w), y1: pt(w.y + w.h), text: w.text.clone() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Page {
    pub number: u32,
    pub text: String,
    pub ocr: bool,
    /// Size of the page image OCR read, in pixels (0 for text-layer pages).
    pub width: u32,
    pub height: u32,
    /// OCR's words, in pixels of the page image (for highlighting fields).
    pub words: Vec<Word>,
    /// Every word on the page with its box in points: the text layer's, or OCR's converted
    /// (an image is taken as 300 dpi, the resolution clerk tells tesseract). Empty for plain text.
    #[serde(default)]
    pub boxes: Vec<TextBox>,
    /// Why this page could not be read (it is damaged), when the document's other pages could:
    /// the page costs itself, not the document, and people are told which page is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// The barcodes and patch codes on the page, read from its image (scans and images, and
    /// text-layer pages when asked): what separates a batch, and what document types can match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub barcodes: Vec<Barcode>,
    /// The share of the page inside its margins covered by marks (0.0 to 1.0), for pages read
    /// from an image; `None` for text-layer pages. A blank page's is near zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ink: Option<f32>,
    /// Clockwise degrees (0, 90, 180, 270) the page image was turned before OCR read it, when it
    /// was scanned upside down or sideways: its words and boxes are on the turned page, and the
    /// page is drawn for people turned the same way.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub turned: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A barcode read on a page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Barcode {
    /// The symbology as zxing-cpp names it (`Code 39`, `Code 128`, `QR Code`, `Data Matrix`,
    /// `PDF417`, `EAN-13`…), or `Patch Code` for a Kodak patch code.
    pub format: String,
    /// The text it encodes; for a patch code its name: `1`, `2`, `3`, `4`, `6` or `T`.
    pub value: String,
}

impl Barcode {
    /// A PATCH-T sheet: the patch code itself, or a barcode whose text is `PATCHT` (the separator
    /// sheets scanning software prints, e.g. NAPS2's).
    pub fn is_patch_t(&self) -> bool {
        (self.format == "Patch Code" && self.value == "T") || self.value.eq_ignore_ascii_case("PATCHT")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Extracted {
    pub media_type: String,
    pub pages: Vec<Page>,
    /// The structured invoice the document carries: a stand-alone e-invoice XML, or one
    /// embedded in a PDF (Factur-X, ZUGFeRD, XRechnung).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub einvoice: Option<Box<EInvoice>>,
    /// A spreadsheet's sheets as rows of cells, for extractors and bots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<office::Table>,
}

/// An e-invoice read from a document, and where in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EInvoice {
    pub invoice: crate::invoice::Invoice,
    /// `xml` for a stand-alone file; for a PDF, the embedded file's name (`factur-x.xml`).
    pub source: String,
    /// The attachment's `/AFRelationship` (Data, Source, Alternative), for a PDF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
}

impl Extracted {
    /// The whole text, pages separated by form feeds as `pdftotext` does.
    pub fn text(&self) -> String {
        self.pages.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\u{c}")
    }
    pub fn ocr(&self) -> bool {
        self.pages.iter().any(|p| p.ocr)
    }
}

/// Why a document cannot be read, in words for the agent.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// What a file is, judged by its first bytes.
pub fn sniff(bytes: &[u8], name: &str) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Some("application/pdf");
    }
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("image/tiff")
    } else if starts(b"BM") && is_bmp_header(bytes) {
        Some("image/bmp")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if let Some(t) = office::sniff(bytes, name) {
        Some(t)
    } else if einvoice::looks_like_xml(bytes, name) {
        Some("application/xml")
    } else if looks_like_text(bytes, name) {
        Some("text/plain")
    } else if pdf_header_later(bytes) {
        // After text: a `.txt` that mentions `%PDF-1.4` is still the text it is.
        Some("application/pdf")
    } else {
        None
    }
}

/// `BM` alone is also how a text starts ("BMW …"): a BMP also has zero reserved bytes and a DIB
/// header of a size some version of the format defines.
fn is_bmp_header(bytes: &[u8]) -> bool {
    let dib = bytes.get(14..18).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    bytes.get(6..10) == Some(&[0, 0, 0, 0]) && matches!(dib, Some(12 | 16 | 40 | 52 | 56 | 64 | 108 | 124))
}

/// Formats without a page to draw — an XML e-invoice, an Office file, HTML, a mail: people are
/// shown their text instead.
pub fn shown_as_text(media_type: &str) -> bool {
    media_type == "application/xml" || office::TYPES.contains(&media_type)
}

/// A PDF header (`%PDF-1.7`) anywhere in the bytes. Poppler reads a PDF whose header comes after
/// other bytes (a mail header, a scanner's preamble): it looks in the first kilobyte, and past
/// that goes on anyway; clerk takes such a file as a PDF when it is nothing else it knows.
pub fn pdf_header_later(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"%PDF-").any(|at| {
        let v = &bytes[at + 5..];
        v.len() >= 3 && v[0].is_ascii_digit() && v[1] == b'.' && v[2].is_ascii_digit()
    })
}

fn looks_like_text(bytes: &[u8], name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let texty_name = lower.ends_with(".txt") || lower.ends_with(".text") || !lower.contains('.');
    texty_name && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// The checks that need no parsing, made by the daemon before a reader is involved: an empty
/// file, one over the size limit, and content that is no format clerk reads. `head` is the file's
/// start (at least its first kilobyte, or all of it), `size` its length; plain text is only
/// recognised with the whole file in `head`.
pub fn precheck(head: &[u8], size: u64, name: &str, limits: &Limits) -> Result<&'static str, Unreadable> {
    if size == 0 {
        return Err(Unreadable("the file is empty (0 bytes); ask the sender for the document again".into()));
    }
    if size > limits.max_file_size {
        return Err(Unreadable(format!(
            "the file is {size} bytes, over the limit of {} bytes (limits.max_file_size)",
            limits.max_file_size
        )));
    }
    sniff(head, name).ok_or_else(|| {
        Unreadable(format!(
            "not a document clerk can read: its content is neither PDF, an image (PNG, JPEG, TIFF, BMP, WebP, GIF), an Office file (Word, Excel, PowerPoint, OpenDocument, RTF), HTML, an e-mail, e-invoice XML nor UTF-8 text{}",
            if name.to_ascii_lowercase().ends_with(".pdf") { ", although its name ends in .pdf" } else { "" }
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_header_after_other_bytes_makes_a_pdf_but_text_stays_text() {
        let mut late = b"X-Gateway: scanned\r\n".repeat(100);
        late.extend_from_slice(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n");
        assert_eq!(sniff(&late, "scan.pdf"), Some("application/pdf"));
        // Past the first kilobyte (where poppler itself looks for a header), a text stays text.
        let notes = format!("{}\nOur archive keeps %PDF-1.4 files for ten years.\n", "Archive notes. ".repeat(100));
        assert_eq!(sniff(notes.as_bytes(), "notes.txt"), Some("text/plain"));
        let mut bogus = b"\x00\x01".repeat(600);
        bogus.extend_from_slice(b"%PDF-x is no version");
        assert_eq!(sniff(&bogus, "odd.bin"), None);
    }
}
