//! OCR with tesseract, one engine per reader process, loaded on first use and kept for the next
//! pages (loading costs more than reading a page). The reader is single-threaded and tesseract's
//! OpenMP is limited to one thread (`OMP_THREAD_LIMIT=1`, set by the pool): readers are the
//! parallelism, one per core.
//!
//! A page scanned upside down or turned a quarter the wrong way reads as junk of low confidence.
//! Such a page is asked of tesseract's orientation detection (the `osd` model) and read again
//! turned as it says; the reading with the higher confidence is kept, so a wrong guess costs
//! time, never text.

use clerk::read::{Page, TextBox, Unreadable, Word};

/// The resolution tesseract is told an image has (a PDF page is rendered at its own).
pub const IMAGE_DPI: f64 = 300.0;

#[derive(Default)]
pub struct Engine {
    languages: String,
    tess: Option<tesseract::Tesseract>,
    osd: Option<osd::Detector>,
    /// Pages come back empty without OCR (the fuzzer's engine).
    off: bool,
}

impl Engine {
    #[allow(dead_code)]
    pub fn disabled() -> Engine {
        Engine { off: true, ..Engine::default() }
    }

    /// The languages for the next pages (`eng`, `eng+deu`); a change reloads the engine.
    pub fn languages(&mut self, languages: &str) {
        if self.languages != languages {
            self.languages = languages.to_string();
            self.tess = None;
        }
    }

    /// OCRs one 8-bit gray page image (`stride` bytes per row) of `dpi` pixels per inch.
    pub fn page(
        &mut self,
        number: u32,
        pixels: &[u8],
        width: u32,
        height: u32,
        stride: u32,
        dpi: f64,
    ) -> Result<Page, Unreadable> {
        if self.off {
            return Ok(Page { number, ocr: true, width, height, ..Page::default() });
        }
        let failed = |e: String| {
            eprintln!("tesseract: page {number}: {e}");
            Unreadable(format!("OCR could not read page {number}: {e}"))
        };
        let (mut text, mut words) = self.recognise(pixels, width, height, stride, false).map_err(failed)?;
        // Uneven light (a photographed page, a shadow across a scan) defeats one threshold for
        // the whole page: below what a clean page reaches, a threshold per neighbourhood gets a
        // look too, and the more confident reading is kept.
        let mut local = false;
        if !words.is_empty() && confidence(&words) < LOCAL_BELOW {
            let (t, ws) = self.recognise(pixels, width, height, stride, true).map_err(failed)?;
            if confidence(&ws) > confidence(&words) {
                (text, words, local) = (t, ws, true);
            }
        }
        let (mut width, mut height, mut turned) = (width, height, 0);
        // A blank page reads no words at all: nothing to turn.
        if !words.is_empty() && confidence(&words) < TURN_BELOW {
            let detector = self.osd.get_or_insert_with(osd::Detector::default);
            if let Some(turn) = detector.upright_turn(pixels, width, height, stride, dpi).filter(|t| *t != 0) {
                let (upright, w, h) = rotate(pixels, width, height, stride, turn);
                let (t, ws) = self.recognise(&upright, w, h, w, local).map_err(failed)?;
                if confidence(&ws) > confidence(&words) {
                    (text, words, width, height, turned) = (t, ws, w, h, turn);
                }
            }
        }
        let boxes = words.iter().map(|w| TextBox::from_pixels(w, dpi)).collect();
        Ok(Page { number, text, ocr: true, width, height, words, boxes, turned, ..Page::default() })
    }

    fn recognise(
        &mut self,
        pixels: &[u8],
        width: u32,
        height: u32,
        stride: u32,
        local: bool,
    ) -> Result<(String, Vec<Word>), String> {
        let languages = if self.languages.is_empty() { "eng" } else { self.languages.as_str() };
        let tess = match self.tess.take() {
            Some(t) => t,
            None => {
                let t = tesseract::Tesseract::new(None, Some(languages)).map_err(|_| {
                    format!(
                        "the OCR languages {languages:?} are not installed (install tesseract-ocr-{})",
                        languages.split('+').next().unwrap_or("eng")
                    )
                })?;
                t
            }
        };
        // 0: one threshold for the page (Otsu, tesseract's default); 2: a threshold per
        // neighbourhood (Sauvola).
        let method = if local { "2" } else { "0" };
        let tess = tess.set_variable("thresholding_method", method).map_err(|_| "tesseract refused its settings".to_string())?;
        let mut tess = tess
            .set_frame(pixels, width as i32, height as i32, 1, stride as i32)
            .map_err(|_| "the page image is not a valid picture".to_string())?
            .set_source_resolution(IMAGE_DPI as i32)
            .recognize()
            .map_err(|_| "tesseract found no readable text on it".to_string())?;
        let text = tess.get_text().map_err(|_| "tesseract returned text that is not UTF-8".to_string())?;
        let tsv = tess.get_tsv_text(0).map_err(|_| "tesseract returned word boxes that are not UTF-8".to_string())?;
        self.tess = Some(tess);
        Ok((text, parse_tsv(&tsv)))
    }
}

/// A page read upright has a mean word confidence of 85 to 95; upside down, about 40. Below this
/// the page's orientation is asked (the better reading is kept either way: this only decides
/// when the extra look is spent).
const TURN_BELOW: f32 = 70.0;

/// Clean scans and prints read with a mean word confidence of 85 to 95 (19 of 20 of the scan
/// corpus's pages at 89 or more); photographed pages from 29 to 93. Below this, the page gets a
/// second reading with a local threshold (again, only deciding when the extra look is spent).
const LOCAL_BELOW: f32 = 85.0;

/// Mean confidence of the words read (0 when there are none).
fn confidence(words: &[Word]) -> f32 {
    let known: Vec<f32> = words.iter().map(|w| w.conf).filter(|c| *c >= 0.0).collect();
    if known.is_empty() {
        return 0.0;
    }
    known.iter().sum::<f32>() / known.len() as f32
}

/// The page turned `degrees` clockwise (90, 180 or 270), packed (stride = width).
fn rotate(pixels: &[u8], width: u32, height: u32, stride: u32, degrees: u32) -> (Vec<u8>, u32, u32) {
    let (w, h, s) = (width as usize, height as usize, stride as usize);
    let at = |x: usize, y: usize| pixels[y * s + x];
    match degrees {
        180 => ((0..h).rev().flat_map(|y| (0..w).rev().map(move |x| (x, y))).map(|(x, y)| at(x, y)).collect(), width, height),
        // Clockwise: the new row r is the old column r read from the bottom up.
        90 => ((0..w).flat_map(|x| (0..h).rev().map(move |y| (x, y))).map(|(x, y)| at(x, y)).collect(), height, width),
        _ => ((0..w).rev().flat_map(|x| (0..h).map(move |y| (x, y))).map(|(x, y)| at(x, y)).collect(), height, width),
    }
}

/// Tesseract's orientation and script detection through its C API (the Rust bindings do not
/// wrap it), with the `osd` model (Debian's tesseract-ocr-osd).
mod osd {
    use std::ffi::{c_char, c_int, c_void};

    extern "C" {
        fn TessBaseAPICreate() -> *mut c_void;
        fn TessBaseAPIDelete(handle: *mut c_void);
        fn TessBaseAPIInit3(handle: *mut c_void, datapath: *const c_char, language: *const c_char) -> c_int;
        fn TessBaseAPISetImage(handle: *mut c_void, data: *const u8, width: c_int, height: c_int, bytes_per_pixel: c_int, bytes_per_line: c_int);
        fn TessBaseAPISetSourceResolution(handle: *mut c_void, ppi: c_int);
        fn TessBaseAPIDetectOrientationScript(
            handle: *mut c_void,
            orient_deg: *mut c_int,
            orient_conf: *mut f32,
            script_name: *mut *const c_char,
            script_conf: *mut f32,
        ) -> c_int;
    }

    /// Loaded on first use; `None` inside when the model is not installed (then pages are read
    /// as they lie).
    #[derive(Default)]
    pub struct Detector {
        handle: Option<*mut c_void>,
        tried: bool,
    }

    impl Drop for Detector {
        fn drop(&mut self) {
            if let Some(h) = self.handle.take() {
                // SAFETY: created by TessBaseAPICreate, deleted once.
                unsafe { TessBaseAPIDelete(h) };
            }
        }
    }

    /// Orientation confidence below this is a guess (tesseract's own OSD output calls under 2
    /// unreliable).
    const SURE: f32 = 2.0;

    impl Detector {
        /// Clockwise degrees (0, 90, 180, 270) that turn the page upright, when tesseract is
        /// sure of them.
        pub fn upright_turn(&mut self, pixels: &[u8], width: u32, height: u32, stride: u32, dpi: f64) -> Option<u32> {
            if !self.tried {
                self.tried = true;
                // SAFETY: a fresh handle; the language name is a NUL-terminated literal.
                unsafe {
                    let h = TessBaseAPICreate();
                    if TessBaseAPIInit3(h, std::ptr::null(), c"osd".as_ptr()) == 0 {
                        self.handle = Some(h);
                    } else {
                        eprintln!("tesseract: the orientation model (osd) is not installed: pages are read as they lie (install tesseract-ocr-osd)");
                        TessBaseAPIDelete(h);
                    }
                }
            }
            let h = self.handle?;
            if pixels.len() < stride as usize * height as usize {
                return None;
            }
            let (mut deg, mut conf, mut script, mut script_conf) = (0, 0.0f32, std::ptr::null(), 0.0f32);
            // SAFETY: the image outlives the call (tesseract copies it in SetImage); out-pointers
            // are valid locals; the script name points into tesseract's own tables.
            let found = unsafe {
                TessBaseAPISetImage(h, pixels.as_ptr(), width as c_int, height as c_int, 1, stride as c_int);
                TessBaseAPISetSourceResolution(h, dpi as c_int);
                TessBaseAPIDetectOrientationScript(h, &mut deg, &mut conf, &mut script, &mut script_conf)
            };
            // `deg` is how far the text is turned; turning it back is the rest of the circle.
            (found != 0 && conf >= SURE).then(|| ((360 - deg.rem_euclid(360)) % 360) as u32)
        }
    }
}

/// Tesseract's TSV: level, page, block, par, line, word, left, top, width, height, conf, text.
fn parse_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 12 || cols[0] != "5" || cols[11].trim().is_empty() {
                return None;
            }
            let n = |i: usize| cols[i].parse::<u32>().ok();
            Some(Word {
                x: n(6)?,
                y: n(7)?,
                w: n(8)?,
                h: n(9)?,
                conf: cols[10].parse().unwrap_or(0.0),
                text: cols[11].to_string(),
            })
        })
        .collect()
}
