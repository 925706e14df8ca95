//! OCR with tesseract, one engine per reader process, loaded on first use and kept for the next
//! pages (loading costs more than reading a page). The reader is single-threaded and tesseract's
//! OpenMP is limited to one thread (`OMP_THREAD_LIMIT=1`, set by the pool): readers are the
//! parallelism, one per core.

use clerk::read::{Page, TextBox, Unreadable, Word};

/// The resolution tesseract is told an image has (a PDF page is rendered at its own).
pub const IMAGE_DPI: f64 = 300.0;

#[derive(Default)]
pub struct Engine {
    languages: String,
    tess: Option<tesseract::Tesseract>,
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
        let (text, words) = self.recognise(pixels, width, height, stride).map_err(|e| {
            eprintln!("tesseract: page {number}: {e}");
            Unreadable(format!("OCR could not read page {number}: {e}"))
        })?;
        let boxes = words.iter().map(|w| TextBox::from_pixels(w, dpi)).collect();
        Ok(Page { number, text, ocr: true, width, height, words, boxes, ..Page::default() })
    }

    fn recognise(
        &mut self,
        pixels: &[u8],
        width: u32,
        height: u32,
        stride: u32,
    ) -> Result<(String, Vec<Word>), String> {
        let languages = if self.languages.is_empty() { "eng" } else { self.languages.as_str() };
        let tess = match self.tess.take() {
            Some(t) => t,
            None => tesseract::Tesseract::new(None, Some(languages)).map_err(|_| {
                format!(
                    "the OCR languages {languages:?} are not installed (install tesseract-ocr-{})",
                    languages.split('+').next().unwrap_or("eng")
                )
            })?,
        };
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
