//! What a page image shows besides its text: barcodes (zxing-cpp), Kodak patch codes (found here:
//! no common decoder reads them) and how much of the page carries ink, for blank pages.
//!
//! These run on the image OCR already drew, so a scanned page costs one more pass over pixels it
//! has, not another render.

use clerk::read::{Barcode, Page};
use zxingcpp::{BarcodeFormat, ImageFormat, ImageView};

/// The symbologies a mail room prints on separator sheets and first pages (fewer formats are
/// fewer detectors per page). Linear codes are read at the page's full resolution, where their
/// narrowest bars are; matrix codes at half of it, where a module of 0.25 mm is still 1.5 pixels
/// at 300 dpi, for a quarter of the pixels (README, "Batches": this halves the time per page and
/// read every code of the test batches; a smaller matrix module is not read).
const LINEAR: [BarcodeFormat; 3] = [BarcodeFormat::Code39, BarcodeFormat::Code128, BarcodeFormat::EANUPC];
const MATRIX: [BarcodeFormat; 3] = [BarcodeFormat::QRCode, BarcodeFormat::DataMatrix, BarcodeFormat::PDF417];

/// Reads the barcodes and the ink of a page drawn at `dpi` into `page`.
pub fn look(page: &mut Page, pixels: &[u8], width: u32, height: u32, dpi: f64) {
    let ink = ink(pixels, width as usize, height as usize);
    page.ink = Some(ink);
    if ink == 0.0 {
        return; // not one dark spot larger than a speck: no code either
    }
    page.barcodes = barcodes(pixels, width, height);
    if let Some(patch) = patch_code(pixels, width as usize, height as usize, dpi) {
        page.barcodes.push(Barcode { format: "Patch Code".into(), value: patch.to_string() });
    }
}

/// Every barcode zxing-cpp finds, each (format, text) once. Inverted codes (light on dark) are not
/// sought: paper sheets print dark on light, and the search would double the time per page.
pub fn barcodes(pixels: &[u8], width: u32, height: u32) -> Vec<Barcode> {
    let mut found: Vec<Barcode> = vec![];
    let (half, hw, hh) = halve(pixels, width as usize, height as usize);
    for (image, w, h, formats) in [(pixels, width, height, &LINEAR), (&half[..], hw as u32, hh as u32, &MATRIX)] {
        let Ok(view) = ImageView::from_slice(image, w, h, ImageFormat::Lum) else { continue };
        let reader = zxingcpp::read().formats(formats).try_harder(true).try_rotate(true).try_invert(false).try_downscale(true);
        for code in reader.from(view).unwrap_or_default() {
            let b = Barcode { format: code.format().to_string(), value: code.text() };
            if code.is_valid() && !found.contains(&b) {
                found.push(b);
            }
        }
    }
    found
}

/// The image at half its width and height, each pixel the mean of four.
fn halve(pixels: &[u8], width: usize, height: usize) -> (Vec<u8>, usize, usize) {
    let (w, h) = (width / 2, height / 2);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let (a, b) = (&pixels[2 * y * width..][..width], &pixels[(2 * y + 1) * width..][..width]);
        for x in 0..w {
            let sum = a[2 * x] as u16 + a[2 * x + 1] as u16 + b[2 * x] as u16 + b[2 * x + 1] as u16;
            out.push((sum / 4) as u8);
        }
    }
    (out, w, h)
}

/// The share of the page, inside a 4% margin (scanner edges, punch holes), that is dark in whole
/// 2×2 blocks: a speck of dust or fax noise is a pixel or two and does not count, a stroke of text
/// at 150 dpi or more does.
pub fn ink(pixels: &[u8], width: usize, height: usize) -> f32 {
    let (mx, my) = (width / 25, height / 25);
    if width < 2 * mx + 2 || height < 2 * my + 2 || pixels.len() < width * height {
        return 0.0;
    }
    let (mut inked, mut blocks) = (0u64, 0u64);
    for y in (my..height - my - 1).step_by(2) {
        let (a, b) = (&pixels[y * width..][..width], &pixels[(y + 1) * width..][..width]);
        for x in (mx..width - mx - 1).step_by(2) {
            inked += (a[x] < 128 && a[x + 1] < 128 && b[x] < 128 && b[x + 1] < 128) as u64;
            blocks += 1;
        }
    }
    inked as f32 / blocks as f32
}

/// The patch codes, by their four bars: narrow (n) or wide (w), spaces all narrow.
const PATCHES: [(&str, [bool; 4]); 6] = [
    ("1", [true, true, false, false]),
    ("2", [true, false, false, true]),
    ("3", [true, false, true, false]),
    ("4", [false, true, true, false]),
    ("6", [false, false, true, true]),
    ("T", [false, true, false, true]),
];

/// A Kodak patch code on the page: four parallel bars, two wide (0.2 in) and two narrow
/// (0.08 in), three narrow spaces, at least 2 in long. Lines across the page every tenth of an
/// inch, both ways, look for the seven runs in those proportions with space on either side; a
/// code is the same pattern at the same place on lines spanning 0.8 in or more, which no text
/// glyph or table rule is.
pub fn patch_code(pixels: &[u8], width: usize, height: usize, dpi: f64) -> Option<&'static str> {
    if width == 0 || height == 0 || pixels.len() < width * height {
        return None;
    }
    let threshold = otsu(pixels);
    let step = ((dpi / 10.0) as usize).max(1);
    let needed = 8; // lines a tenth of an inch apart: 0.8 in of bars
    // Bars upright: scan rows. Bars lying: scan columns.
    // Each line's runs are looked at and dropped at once: a page of fine noise has a run per
    // pixel, and only the patterns found are kept.
    let dark = |x: usize, y: usize| pixels[y * width + x] < threshold;
    let rows = || (0..height).step_by(step).map(|y| patterns(&runs((0..width).map(|x| dark(x, y))), dpi)).collect::<Vec<_>>();
    let cols = || (0..width).step_by(step).map(|x| patterns(&runs((0..height).map(|y| dark(x, y))), dpi)).collect::<Vec<_>>();
    longest_chain(&rows(), dpi, needed).or_else(|| longest_chain(&cols(), dpi, needed))
}

/// Run lengths along a line, starting with a light run (of length 0 when the line starts dark).
fn runs(dark: impl Iterator<Item = bool>) -> Vec<usize> {
    let mut out = vec![0usize];
    let mut current = false;
    for d in dark {
        if d != current {
            out.push(0);
            current = d;
        }
        *out.last_mut().expect("one run") += 1;
    }
    out
}

/// The patch patterns on one line: (code, centre position in pixels).
fn patterns(runs: &[usize], dpi: f64) -> Vec<(&'static str, f64)> {
    let mut found = vec![];
    let mut pos = runs[0]; // where runs[i] starts; dark runs sit at odd indices
    let mut i = 1;
    while i + 7 <= runs.len() {
        let seven = &runs[i..i + 7];
        let total: usize = seven.iter().sum();
        // Nominal 0.8 in; photocopies and fax widen or narrow bars.
        if (0.5..=1.2).contains(&(total as f64 / dpi)) {
            let unit = total as f64 / 10.0; // 2 wide bars of 2.5 units, 5 narrow elements of 1
            let narrow = |r: usize| (0.45..1.75).contains(&(r as f64 / unit));
            let wide = |r: usize| (1.75..3.6).contains(&(r as f64 / unit));
            let bar = |r: usize| if wide(r) { Some(true) } else if narrow(r) { Some(false) } else { None };
            let bars: Option<Vec<bool>> = [0, 2, 4, 6].iter().map(|&k| bar(seven[k])).collect();
            let quiet = (2.0 * unit) as usize;
            let after = runs.get(i + 7).copied().unwrap_or(usize::MAX); // the page's edge
            if [1, 3, 5].iter().all(|&k| narrow(seven[k])) && runs[i - 1] >= quiet && after >= quiet {
                if let Some((code, _)) = bars.and_then(|b| PATCHES.iter().find(|(_, p)| p[..] == b[..])) {
                    found.push((*code, pos as f64 + total as f64 / 2.0));
                }
            }
        }
        pos += runs[i] + runs.get(i + 1).copied().unwrap_or(0);
        i += 2;
    }
    found
}

/// The code whose pattern recurs at about the same place on `needed` neighbouring lines (a line
/// may be missed to a speck; the place may drift with skew).
fn longest_chain(hits: &[Vec<(&'static str, f64)>], dpi: f64, needed: usize) -> Option<&'static str> {
    let drift = dpi * 0.1;
    // Open chains: (code, last centre, last line, length).
    let mut chains: Vec<(&'static str, f64, usize, usize)> = vec![];
    for (line, found) in hits.iter().enumerate() {
        for &(code, centre) in found {
            match chains.iter_mut().find(|c| c.0 == code && (c.1 - centre).abs() <= drift && line - c.2 <= 3 && c.2 != line) {
                Some(chain) => {
                    chain.1 = centre;
                    chain.2 = line;
                    chain.3 += 1;
                    if chain.3 >= needed {
                        return Some(code);
                    }
                }
                None => chains.push((code, centre, line, 1)),
            }
        }
        chains.retain(|c| line - c.2 <= 3);
    }
    None
}

/// Otsu's threshold over the page's histogram, kept between 60 and 200 so that a page of one
/// grey does not split itself in two.
fn otsu(pixels: &[u8]) -> u8 {
    let mut hist = [0u64; 256];
    for &p in pixels.iter().step_by(7) {
        hist[p as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &n)| i as f64 * n as f64).sum();
    let (mut best, mut best_t, mut w0, mut sum0) = (0.0, 128u8, 0u64, 0.0);
    for t in 0..256 {
        w0 += hist[t];
        if w0 == 0 || w0 == total {
            continue;
        }
        sum0 += t as f64 * hist[t] as f64;
        let w1 = total - w0;
        let (m0, m1) = (sum0 / w0 as f64, (sum_all - sum0) / w1 as f64);
        let between = w0 as f64 * w1 as f64 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t.clamp(60, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with a patch code drawn as the specification draws it (narrow 0.08 in, wide
    /// 0.2 in, 2 in long), upright or lying, at `dpi`. (The reading bench compiles this file as a
    /// test target without running its tests.)
    #[allow(dead_code)]
    fn page_with(code: &str, dpi: f64, lying: bool) -> (Vec<u8>, usize, usize) {
        let (w, h) = ((8.5 * dpi) as usize, (11.0 * dpi) as usize);
        let mut px = vec![255u8; w * h];
        let bars = PATCHES.iter().find(|(c, _)| *c == code).unwrap().1;
        let (n, wd) = (0.08 * dpi, 0.2 * dpi);
        let mut at = 3.0 * dpi;
        for (k, wide) in bars.iter().enumerate() {
            let bw = if *wide { wd } else { n };
            for a in at as usize..(at + bw) as usize {
                for b in (4.0 * dpi) as usize..(6.5 * dpi) as usize {
                    let (x, y) = if lying { (b, a) } else { (a, b) };
                    px[y * w + x] = 20;
                }
            }
            at += bw + if k < 3 { n } else { 0.0 };
        }
        (px, w, h)
    }

    #[test]
    fn each_patch_code_is_told_from_the_others_both_ways_round() {
        for (code, _) in PATCHES {
            for lying in [false, true] {
                let (px, w, h) = page_with(code, 200.0, lying);
                assert_eq!(patch_code(&px, w, h, 200.0), Some(code), "patch {code}, lying {lying}");
            }
        }
    }

    #[test]
    fn text_like_marks_and_a_blank_page_are_no_patch_code() {
        let (w, h) = (1700usize, 2200usize);
        let mut px = vec![255u8; w * h];
        assert_eq!(patch_code(&px, w, h, 200.0), None);
        assert!(ink(&px, w, h) == 0.0);
        // Rows of bars 0.1 in tall: the right widths, far too short to be a patch code.
        for line in 0..20 {
            let y0 = 300 + line * 60;
            for (k, bw) in [16usize, 40, 16, 40].iter().enumerate() {
                let x0 = 400 + k * 72;
                for y in y0..y0 + 20 {
                    for x in x0..x0 + bw {
                        px[y * w + x] = 0;
                    }
                }
            }
        }
        assert_eq!(patch_code(&px, w, h, 200.0), None);
        assert!(ink(&px, w, h) > 0.001);
    }

    #[test]
    fn specks_are_not_ink() {
        let (w, h) = (1000usize, 1000usize);
        let mut px = vec![255u8; w * h];
        for i in 0..2000 {
            px[(i * 7919) % (w * h)] = 0;
        }
        assert_eq!(ink(&px, w, h), 0.0);
    }
}
