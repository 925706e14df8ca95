//! What a reader process does with a document's bytes, in process so libFuzzer sees every crash:
//! PDFs through poppler (text layer, and rendering of pages without text), images through the
//! decoders, barcodes on every page, and a first page cut out as a split would. OCR is off (it would only slow the search); limits are small so each input is quick.
#![no_main]

#[path = "../../../src/bin/clerk-reader/image.rs"]
mod image;
#[path = "../../../src/bin/clerk-reader/marks.rs"]
mod marks;
#[path = "../../../src/bin/clerk-reader/ocr.rs"]
mod ocr;
#[path = "../../../src/bin/clerk-reader/part.rs"]
mod part;
#[path = "../../../src/bin/clerk-reader/pdf.rs"]
mod pdf;

use clerk::read::Limits;
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(pdf::init);
    let limits = Limits {
        max_pages: 4,
        max_pixels: 250_000,
        max_seconds: 5,
        max_operators: 200_000,
        max_decoded: 8 << 20,
        ..Limits::default()
    };
    let mut engine = ocr::Engine::disabled();
    match clerk::read::precheck(data, data.len() as u64, "fuzz", &limits) {
        Ok("application/pdf") => {
            let _ = pdf::read(data, &limits, Instant::now() + Duration::from_secs(5), &mut engine, true);
            let _ = part::cut(data, &[1]);
        }
        Ok(media_type) if media_type.starts_with("image/") => {
            let _ = image::decode_all(data, media_type, &limits);
        }
        _ => {}
    }
});
