//! PDFs through poppler (`poppler_shim.cpp`): the text layer exactly as `pdftotext -layout` lays it
//! out, and pages without usable text rendered at 300 dpi (as `pdftoppm -r 300 -gray`) and OCRed.
//!
//! Poppler was chosen by measurement: on `../shared/corpora/pdf-samples` its text is the one
//! invoice2data templates are written against (byte for byte), its renderer reads every filter,
//! colour space and mask the corpus and the producer set use, and it reads the page tree and
//! objects lazily, so a file's cost follows what a page needs, not the file's size.

use super::marks;
use super::ocr::Engine;
use clerk::read::{EInvoice, Limits, Page, TextBox, Unreadable};
use std::ffi::{c_char, c_int, c_uchar, c_void, CStr};
use image::GrayImage;
use std::time::Instant;

/// A page with fewer visible characters than this has no usable text layer and is OCRed.
const MIN_TEXT_CHARS: usize = 8;
/// OCR resolution: tesseract reads body text best at 300 dpi.
const OCR_DPI: f64 = 300.0;

#[allow(non_camel_case_types)]
#[repr(C)]
struct clerk_pdf {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Default)]
struct Budget {
    max_ops: u64,
    deadline: f64,
    max_image_pixels: u64,
    max_content_bytes: u64,
    ops: u64,
    refused: c_int,
    image_width: c_int,
    image_height: c_int,
    chars: u64,
    depth: c_int,
}

const OK: c_int = 0;
const ENCRYPTED: c_int = 2;
const REFUSED: c_int = 3;
const NO_MEMORY: c_int = 4;

// Which budget stopped a page (`refused` in the budget; the shim's REFUSED_* values).
const BY_OPERATORS: c_int = 1;
const BY_TIME: c_int = 2;
const BY_IMAGE: c_int = 3;
const BY_CHARACTERS: c_int = 4;
const BY_NESTING: c_int = 5;
const BY_CONTENT: c_int = 6;

extern "C" {
    fn clerk_poppler_init();
    fn clerk_poppler_errors() -> *const c_char;
    fn clerk_poppler_clear_errors();
    fn clerk_now() -> f64;
    fn clerk_pdf_open(data: *const c_char, len: usize, status: *mut c_int) -> *mut clerk_pdf;
    fn clerk_pdf_close(pdf: *mut clerk_pdf);
    fn clerk_pdf_pages(pdf: *mut clerk_pdf) -> c_int;
    fn clerk_pdf_page_size(pdf: *mut clerk_pdf, page: c_int, w: *mut f64, h: *mut f64) -> c_int;
    fn clerk_pdf_page_text(
        pdf: *mut clerk_pdf,
        page: c_int,
        budget: *mut Budget,
        out: *mut *mut c_char,
        len: *mut usize,
        words: *mut *mut c_char,
        words_len: *mut usize,
    ) -> c_int;
    fn clerk_pdf_render_gray(
        pdf: *mut clerk_pdf,
        page: c_int,
        dpi: f64,
        budget: *mut Budget,
        out: *mut *mut c_uchar,
        w: *mut c_int,
        h: *mut c_int,
        stride: *mut c_int,
    ) -> c_int;
    fn clerk_free(p: *mut c_void);
    fn clerk_pdf_attachments(pdf: *mut clerk_pdf, max_bytes: u64, max_total: u64, max_files: c_int, out: *mut *mut c_char, len: *mut usize) -> c_int;
}

pub fn init() {
    // SAFETY: sets poppler's global parameters once, before any document is opened.
    unsafe { clerk_poppler_init() }
}

/// An open document; the bytes it was opened from outlive it.
struct Document<'a> {
    ptr: *mut clerk_pdf,
    _bytes: &'a [u8],
}

impl Drop for Document<'_> {
    fn drop(&mut self) {
        // SAFETY: ptr came from clerk_pdf_open and is closed once.
        unsafe { clerk_pdf_close(self.ptr) }
    }
}

/// What one page may still cost: the document's deadline, and the operator budget per page.
fn budget(limits: &Limits, deadline: Instant) -> Budget {
    let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
    // SAFETY: reads the monotonic clock.
    let now = unsafe { clerk_now() };
    Budget {
        max_ops: limits.max_operators,
        deadline: now + left.max(0.001),
        max_image_pixels: limits.max_pixels,
        max_content_bytes: limits.max_decoded,
        ..Budget::default()
    }
}

impl<'a> Document<'a> {
    fn open(bytes: &'a [u8]) -> Result<Document<'a>, Unreadable> {
        let mut status = 0;
        // SAFETY: bytes outlive the document (held in the struct).
        let ptr = unsafe {
            clerk_poppler_clear_errors();
            clerk_pdf_open(bytes.as_ptr().cast(), bytes.len(), &mut status)
        };
        if ptr.is_null() {
            return Err(match status {
                ENCRYPTED => {
                    Unreadable("the PDF is encrypted with a password; ask the sender for an unprotected copy".into())
                }
                NO_MEMORY => Unreadable(
                    "clerk stopped reading this file: it needed more memory than allowed (limits.max_memory)".into(),
                ),
                _ => {
                    log_errors();
                    Unreadable(
                        "the PDF is damaged or truncated and cannot be read; ask the sender for the document again"
                            .into(),
                    )
                }
            });
        }
        Ok(Document { ptr, _bytes: bytes })
    }

    fn pages(&self) -> usize {
        // SAFETY: a valid document.
        unsafe { clerk_pdf_pages(self.ptr) }.max(0) as usize
    }

    /// The page's text as `pdftotext -layout` writes it, and its words' boxes.
    fn text(&self, page: usize, limits: &Limits, deadline: Instant) -> Result<(String, Vec<TextBox>), PageError> {
        let mut b = budget(limits, deadline);
        let (mut out, mut len) = (std::ptr::null_mut(), 0usize);
        let (mut words, mut words_len) = (std::ptr::null_mut(), 0usize);
        // SAFETY: valid document and page number; both outputs are freed below with clerk_free.
        let status = unsafe {
            clerk_pdf_page_text(self.ptr, page as c_int, &mut b, &mut out, &mut len, &mut words, &mut words_len)
        };
        check(status, &b, page, limits)?;
        // SAFETY: on success out holds len bytes and words words_len bytes, both from malloc.
        let (text, boxes) = unsafe {
            let t = String::from_utf8_lossy(std::slice::from_raw_parts(out.cast::<u8>(), len)).into_owned();
            let boxes = parse_boxes(std::slice::from_raw_parts(words.cast::<u8>(), words_len));
            clerk_free(out.cast());
            clerk_free(words.cast());
            (t, boxes)
        };
        Ok((text, boxes))
    }

    /// The page as 8-bit gray, at 300 dpi or less when the page is so large that 300 dpi would
    /// exceed `limits.max_pixels`.
    fn render(&self, page: usize, limits: &Limits, deadline: Instant) -> Result<Gray, PageError> {
        self.render_at_most(page, f64::MAX, limits, deadline).map(|(gray, _, _)| gray)
    }

    /// The page drawn at most `max_dpi`, with its size in points.
    fn render_at_most(
        &self,
        page: usize,
        max_dpi: f64,
        limits: &Limits,
        deadline: Instant,
    ) -> Result<(Gray, f64, f64), PageError> {
        let (mut w_pt, mut h_pt) = (0.0, 0.0);
        // SAFETY: valid document and page number.
        let status = unsafe { clerk_pdf_page_size(self.ptr, page as c_int, &mut w_pt, &mut h_pt) };
        if status != OK || !(w_pt > 0.0 && h_pt > 0.0 && w_pt.is_finite() && h_pt.is_finite()) {
            return Err(PageError::Damaged(Unreadable(format!("page {page} of the PDF has no valid size; it is damaged"))));
        }
        let dpi = dpi_for(w_pt, h_pt, limits.max_pixels).min(max_dpi);
        let mut b = budget(limits, deadline);
        let (mut out, mut w, mut h, mut stride) = (std::ptr::null_mut(), 0, 0, 0);
        // SAFETY: valid document and page; out is freed below with clerk_free.
        let status = unsafe {
            clerk_pdf_render_gray(self.ptr, page as c_int, dpi, &mut b, &mut out, &mut w, &mut h, &mut stride)
        };
        check(status, &b, page, limits)?;
        let (w, h, stride) = (w as usize, h as usize, stride as usize);
        // SAFETY: out holds stride * h bytes from malloc.
        let mut pixels = Vec::with_capacity(w * h);
        unsafe {
            let all = std::slice::from_raw_parts(out, stride * h);
            for row in all.chunks(stride) {
                pixels.extend_from_slice(&row[..w]);
            }
            clerk_free(out.cast());
        }
        Ok((Gray { width: w as u32, height: h as u32, pixels, dpi }, w_pt, h_pt))
    }
}

struct Gray {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    dpi: f64,
}

/// The shim's word list: per word four native `f64` (xMin, yMin, xMax, yMax), a native `u32`
/// length and that many bytes of text. The shim wrote it, so a short entry only ends the list.
fn parse_boxes(mut raw: &[u8]) -> Vec<TextBox> {
    let mut boxes = vec![];
    while raw.len() >= 36 {
        let f = |i: usize| as_printed(f64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes")));
        let len = u32::from_ne_bytes(raw[32..36].try_into().expect("4 bytes")) as usize;
        let Some(text) = raw.get(36..36 + len) else { break };
        boxes.push(TextBox { x0: f(0), y0: f(1), x1: f(2), y1: f(3), text: String::from_utf8_lossy(text).into_owned() });
        raw = &raw[36 + len..];
    }
    boxes
}

/// A coordinate as `pdftotext -bbox-layout` prints it (`%f`: six decimals) and invoice2data
/// parses it back, so a box's edge compares with an area's edge exactly as it does there.
/// Multiplying and rounding gives the same number unless the value lies within rounding error of
/// a tie; only then is it printed (by the C library, as pdftotext does) and parsed.
fn as_printed(v: f64) -> f64 {
    let scaled = v * 1e6;
    if (scaled - scaled.floor() - 0.5).abs() > 1e-6 || !scaled.is_finite() {
        return scaled.round() / 1e6;
    }
    let mut buf = [0u8; 400];
    // SAFETY: the buffer is large enough for any f64 with six decimals (at most ~317 bytes) and
    // snprintf NUL-terminates within its size.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%f".as_ptr(), v) };
    std::str::from_utf8(&buf[..n.clamp(0, buf.len() as i32 - 1) as usize]).ok().and_then(|s| s.parse().ok()).unwrap_or(v)
}

/// 300 dpi, lowered so that the page stays within `max_pixels`.
fn dpi_for(w_pt: f64, h_pt: f64, max_pixels: u64) -> f64 {
    let inches = (w_pt / 72.0) * (h_pt / 72.0);
    let at_300 = inches * OCR_DPI * OCR_DPI;
    if at_300 <= max_pixels as f64 {
        OCR_DPI
    } else {
        (max_pixels as f64 / inches).sqrt().clamp(1.0, OCR_DPI)
    }
}

/// Why a page was not read: the page itself is damaged (poppler reads the document's other
/// pages, and so does clerk), or a limit stopped the whole document.
enum PageError {
    Damaged(Unreadable),
    Stopped(Unreadable),
}

impl From<PageError> for Unreadable {
    fn from(e: PageError) -> Unreadable {
        match e {
            PageError::Damaged(u) | PageError::Stopped(u) => u,
        }
    }
}

fn check(status: c_int, b: &Budget, page: usize, limits: &Limits) -> Result<(), PageError> {
    check_limits(status, b, page, limits).map_err(|u| match status {
        REFUSED | NO_MEMORY => PageError::Stopped(u),
        _ => PageError::Damaged(u),
    })
}

fn check_limits(status: c_int, b: &Budget, page: usize, limits: &Limits) -> Result<(), Unreadable> {
    let stopped = |why: String| Err(Unreadable(format!("clerk stopped reading this file: {why}")));
    match status {
        OK => Ok(()),
        REFUSED => match b.refused {
            BY_OPERATORS => stopped(format!(
                "page {page} draws more than {} operators (limits.max_operators); the file is built to exhaust PDF readers or is damaged",
                limits.max_operators
            )),
            BY_TIME => stopped(format!("it took more than {} s (limits.max_seconds)", limits.max_seconds)),
            BY_IMAGE => Err(Unreadable(format!(
                "page {page} of the PDF holds an image of {}×{} pixels whose rows are longer than any page shows; it was not decoded",
                b.image_width, b.image_height
            ))),
            BY_CHARACTERS => stopped(format!("page {page} lays out more than 1,000,000 characters; the file is built to exhaust PDF readers")),
            BY_NESTING => stopped(format!("page {page} nests its drawing state more than 10,000 levels deep; the file is built to exhaust PDF readers")),
            BY_CONTENT => stopped(format!(
                "the drawing instructions of page {page} decompress to more than {} (limits.max_decoded); the file is a decompression bomb or damaged",
                clerk::read::pool::human_bytes(limits.max_decoded)
            )),
            _ => stopped(format!(
                // REFUSED_TOUNICODE
                "a font on page {page} maps more than 64 million character codes to text; its ToUnicode table is broken or built to exhaust PDF readers"
            )),
        },
        NO_MEMORY => stopped(format!(
            "it needed more than {} of memory (limits.max_memory)",
            clerk::read::pool::human_bytes(limits.max_memory)
        )),
        _ => {
            log_errors();
            Err(Unreadable(format!("page {page} of the PDF is damaged and cannot be read")))
        }
    }
}

/// Poppler's own messages, for the log (stderr goes to the daemon's log at debug level).
fn log_errors() {
    // SAFETY: a NUL-terminated string owned by the shim.
    let errors = unsafe { CStr::from_ptr(clerk_poppler_errors()) }.to_string_lossy();
    if !errors.is_empty() {
        eprintln!("poppler: {errors}");
    }
}

/// Page `page` (from 1) drawn for people at a screen's resolution: gray pixels, the page's size
/// in points, and the document's page count.
pub fn preview(bytes: &[u8], page: u32, limits: &Limits, deadline: Instant) -> Result<(GrayImage, f64, f64, u32), Unreadable> {
    let doc = Document::open(bytes)?;
    let count = doc.pages();
    if page == 0 || page as usize > count {
        return Err(Unreadable(format!("the PDF has {count} page(s); there is no page {page}")));
    }
    let (gray, w_pt, h_pt) = doc.render_at_most(page as usize, PREVIEW_DPI, limits, deadline)?;
    let image = GrayImage::from_raw(gray.width, gray.height, gray.pixels)
        .ok_or_else(|| Unreadable(format!("page {page} could not be drawn")))?;
    Ok((image, w_pt, h_pt, count as u32))
}

/// Sharp enough on a screen beside a form, small enough to send quickly.
const PREVIEW_DPI: f64 = 120.0;

/// Every page's text; pages without usable text are rendered and OCRed.
/// The PDF's pages, and the e-invoice it carries as an embedded file (Factur-X, ZUGFeRD,
/// XRechnung in a PDF), if it carries one.
/// The PDF's pages and the e-invoice it carries. `barcodes_on_text_pages`: draw text-layer pages
/// too, to read their barcodes (scanned pages are drawn for OCR and always looked at).
pub fn read(
    bytes: &[u8],
    limits: &Limits,
    deadline: Instant,
    ocr: &mut Engine,
    barcodes_on_text_pages: bool,
) -> Result<(Vec<Page>, Option<EInvoice>), Unreadable> {
    let doc = Document::open(bytes)?;
    let einvoice = embedded_einvoice(&doc)?;
    Ok((pages(&doc, limits, deadline, ocr, barcodes_on_text_pages)?, einvoice))
}

/// Embedded XML larger than this is no e-invoice a PDF carries (they are a few hundred KB).
const MAX_EMBEDDED: u64 = 16 << 20;
/// What all of a PDF's attachments that start like XML may decode to, together (the others are
/// left after their first 64 KiB).
const MAX_EMBEDDED_TOTAL: u64 = 4 * MAX_EMBEDDED;
const MAX_ATTACHMENTS: i32 = 64;
/// The names the Factur-X, ZUGFeRD and XRechnung specifications give the embedded XML.
const EINVOICE_NAMES: &[&str] = &["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml"];

struct Attachment {
    name: String,
    relationship: String,
    /// `None`: over MAX_EMBEDDED.
    data: Option<Vec<u8>>,
}

/// A PDF text string: UTF-16 with a byte order mark, else PDFDocEncoding (Latin-1 in the
/// printable range).
fn pdf_text(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(b"\xfe\xff") {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

fn parse_attachments(mut b: &[u8]) -> Vec<Attachment> {
    let mut out = vec![];
    let take = |n: usize, b: &mut &[u8]| -> Option<Vec<u8>> {
        let (head, rest) = (b.get(..n)?.to_vec(), b.get(n..)?);
        *b = rest;
        Some(head)
    };
    while let Some(n) = take(4, &mut b).map(|h| u32::from_ne_bytes(h.try_into().unwrap()) as usize) {
        let Some(name) = take(n, &mut b) else { break };
        let Some(n) = take(4, &mut b).map(|h| u32::from_ne_bytes(h.try_into().unwrap()) as usize) else { break };
        let Some(rel) = take(n, &mut b) else { break };
        let Some(size) = take(8, &mut b).map(|h| u64::from_ne_bytes(h.try_into().unwrap())) else { break };
        let data = if size == u64::MAX {
            None
        } else {
            match take(size as usize, &mut b) {
                Some(d) => Some(d),
                None => break,
            }
        };
        out.push(Attachment { name: pdf_text(&name), relationship: String::from_utf8_lossy(&rel).into_owned(), data });
    }
    out
}

/// The first embedded file that is an e-invoice: by the names the specifications give it, then
/// any associated as Data, Source or Alternative, then any other; judged by content.
fn embedded_einvoice(doc: &Document) -> Result<Option<EInvoice>, Unreadable> {
    let (mut out, mut len) = (std::ptr::null_mut(), 0usize);
    // SAFETY: a valid document; out is freed below with clerk_free.
    let status = unsafe { clerk_pdf_attachments(doc.ptr, MAX_EMBEDDED, MAX_EMBEDDED_TOTAL, MAX_ATTACHMENTS, &mut out, &mut len) };
    if status != OK {
        // The attachments are an extra: a file whose name tree is damaged is still read.
        log_errors();
        return Ok(None);
    }
    // SAFETY: out holds len bytes from malloc.
    let mut files = unsafe {
        let files = parse_attachments(std::slice::from_raw_parts(out.cast::<u8>(), len));
        clerk_free(out.cast());
        files
    };
    let rank = |a: &Attachment| {
        let lower = a.name.to_lowercase();
        if EINVOICE_NAMES.contains(&lower.as_str()) {
            0
        } else if matches!(a.relationship.as_str(), "Data" | "Source" | "Alternative") {
            1
        } else {
            2
        }
    };
    files.sort_by_key(rank);
    for a in files {
        let named = rank(&a) == 0;
        let Some(data) = a.data else {
            if named {
                return Err(Unreadable(format!(
                    "the PDF's embedded {} is over {} MB, more than any e-invoice; clerk does not read it",
                    a.name,
                    MAX_EMBEDDED >> 20
                )));
            }
            continue;
        };
        if clerk::read::einvoice::detect(&data).is_none() {
            continue;
        }
        let invoice = clerk::read::einvoice::parse(&data)
            .map_err(|e| Unreadable(format!("the PDF carries an e-invoice ({}) that cannot be read: {}", a.name, e.0)))?;
        let relationship = (!a.relationship.is_empty()).then_some(a.relationship);
        return Ok(Some(EInvoice { invoice, source: a.name, relationship }));
    }
    Ok(None)
}

fn pages(
    doc: &Document,
    limits: &Limits,
    deadline: Instant,
    ocr: &mut Engine,
    barcodes_on_text_pages: bool,
) -> Result<Vec<Page>, Unreadable> {
    let count = doc.pages();
    if count == 0 {
        return Err(Unreadable("the PDF has no pages (it is damaged or truncated)".into()));
    }
    if count > limits.max_pages {
        return Err(Unreadable(format!(
            "the PDF has {count} pages, over the limit of {} (limits.max_pages)",
            limits.max_pages
        )));
    }
    let mut pages = Vec::with_capacity(count);
    for number in 1..=count {
        pages.push(match page(doc, number, limits, deadline, ocr, barcodes_on_text_pages) {
            Ok(page) => page,
            // A damaged page costs that page, noted on it, as pdftotext skips it and goes on.
            Err(PageError::Damaged(why)) => {
                log_errors();
                Page { number: number as u32, unread: Some(why.0), ..Page::default() }
            }
            Err(PageError::Stopped(why)) => return Err(why),
        });
    }
    if pages.iter().all(|p| p.unread.is_some()) {
        return Err(Unreadable(format!(
            "none of the PDF's {count} page(s) can be read: they are damaged; ask the sender for the document again"
        )));
    }
    Ok(pages)
}

fn page(
    doc: &Document,
    number: usize,
    limits: &Limits,
    deadline: Instant,
    ocr: &mut Engine,
    barcodes_on_text_pages: bool,
) -> Result<Page, PageError> {
    let (text, boxes) = doc.text(number, limits, deadline)?;
    if usable(&text) {
        let mut page = Page { number: number as u32, text, boxes, ..Page::default() };
        if barcodes_on_text_pages {
            let image = doc.render(number, limits, deadline)?;
            marks::look(&mut page, &image.pixels, image.width, image.height, image.dpi);
            page.ink = None; // a text layer is read, not measured
        }
        return Ok(page);
    }
    let image = doc.render(number, limits, deadline)?;
    let mut page = ocr
        .page(number as u32, &image.pixels, image.width, image.height, image.width, image.dpi)
        .map_err(PageError::Stopped)?;
    if page.text.trim().is_empty() && !text.trim().is_empty() {
        // Neither way reads well; the text layer is at least what the file says.
        page = Page { number: number as u32, text, boxes, ..Page::default() };
    }
    marks::look(&mut page, &image.pixels, image.width, image.height, image.dpi);
    Ok(page)
}

/// A text layer worth using: enough visible characters, most of them mapped to real letters,
/// digits or punctuation. Fonts without a Unicode mapping come out as control characters,
/// private-use code points or U+FFFD; such a page is OCRed like a scan.
fn usable(text: &str) -> bool {
    let mut visible = 0usize;
    let mut garbage = 0usize;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        visible += 1;
        if c.is_control() || c == '\u{fffd}' || ('\u{e000}'..='\u{f8ff}').contains(&c) {
            garbage += 1;
        }
    }
    visible >= MIN_TEXT_CHARS && garbage * 4 < visible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_glyphs_are_not_a_text_layer() {
        assert!(usable("Invoice 2024-001 Total 12.00"));
        assert!(!usable("ab"));
        assert!(!usable("\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{e001}\u{e002}"));
        assert!(!usable("\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}ab"));
    }

    #[test]
    fn large_pages_are_rendered_at_a_lower_resolution() {
        assert_eq!(dpi_for(595.0, 842.0, 80_000_000), 300.0);
        let dpi = dpi_for(14400.0, 14400.0, 80_000_000);
        assert!(dpi < 300.0 && (200.0 * dpi).powi(2) <= 80_000_001.0, "{dpi}");
    }
}
