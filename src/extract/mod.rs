//! Reading a document: its type from its bytes (never from its name), then its text — the PDF
//! text layer, or OCR for scans and images. Every refusal is an `Unreadable` with a sentence an
//! agent understands; nothing here panics on input.

pub mod image;
pub mod ocr;
pub mod pdf;
mod pdf_text;

use serde::{Deserialize, Serialize};

/// Limits that protect the daemon from hostile or broken input.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest file that is read at all, in bytes.
    pub max_file_size: u64,
    pub max_pages: usize,
    /// Largest page image, in pixels (width × height), checked before any pixel is decoded.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_size: 100 << 20, max_pages: 500, max_pixels: 80_000_000 }
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

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Page {
    pub number: u32,
    pub text: String,
    pub ocr: bool,
    /// Size of the page image OCR read, in pixels (0 for text-layer pages).
    pub width: u32,
    pub height: u32,
    pub words: Vec<Word>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extracted {
    pub media_type: String,
    pub pages: Vec<Page>,
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
#[derive(Debug, Clone, thiserror::Error)]
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
    } else if starts(b"BM") && bytes.len() > 14 {
        Some("image/bmp")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if looks_like_text(bytes, name) {
        Some("text/plain")
    } else {
        None
    }
}

fn looks_like_text(bytes: &[u8], name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let texty_name = lower.ends_with(".txt") || lower.ends_with(".text") || !lower.contains('.');
    texty_name && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// Reads a document's text. `name` only helps tell plain text from junk.
pub fn extract(bytes: &[u8], name: &str, limits: &Limits, ocr: &ocr::Ocr) -> Result<Extracted, Unreadable> {
    if bytes.is_empty() {
        return Err(Unreadable("the file is empty (0 bytes); ask the sender for the document again".into()));
    }
    if bytes.len() as u64 > limits.max_file_size {
        return Err(Unreadable(format!(
            "the file is {} bytes, over the limit of {} bytes (limits.max_file_size)",
            bytes.len(),
            limits.max_file_size
        )));
    }
    let media_type = sniff(bytes, name).ok_or_else(|| {
        Unreadable(format!(
            "not a document clerk can read: its content is neither PDF, an image (PNG, JPEG, TIFF, BMP, WebP, GIF) nor UTF-8 text{}",
            if name.to_ascii_lowercase().ends_with(".pdf") { ", although its name ends in .pdf" } else { "" }
        ))
    })?;
    let pages = match media_type {
        "application/pdf" => pdf::extract(bytes, limits, ocr)?,
        "text/plain" => vec![Page { number: 1, text: String::from_utf8_lossy(bytes).into_owned(), ..Page::default() }],
        _ => {
            let images = image::decode_all(bytes, media_type, limits)?;
            ocr.pages(images)?
        }
    };
    Ok(Extracted { media_type: media_type.to_string(), pages })
}
