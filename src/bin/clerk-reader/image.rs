//! Decoding page images with limits: dimensions are read from the header and checked before any
//! pixel buffer is allocated, so a PNG claiming 60000×60000 pixels costs nothing.
//!
//! Image files are decoded whole (their decoders do not stream rows), so what bounds one is
//! memory: its pixels at its own depth must fit in a quarter of the reader's memory, leaving room
//! for the gray copy OCR reads and for tesseract. A page larger than `max_pixels` is then scaled
//! down to it before OCR, as a large PDF page is rendered at a lower resolution.

use clerk::read::{Limits, Unreadable};
use image::{GrayImage, ImageReader};
use std::io::Cursor;

/// Decodes every page of an image file to 8-bit gray (what tesseract reads best).
pub fn decode_all(bytes: &[u8], media_type: &str, limits: &Limits) -> Result<Vec<GrayImage>, Unreadable> {
    if media_type == "image/tiff" {
        return decode_tiff(bytes, limits);
    }
    Ok(vec![decode_one(bytes, limits)?])
}

/// The bytes one decoded image may take.
fn max_decoded(limits: &Limits) -> u64 {
    limits.max_memory / 4
}

pub fn check_pixels(width: u64, height: u64, bytes_per_pixel: u64, limits: &Limits) -> Result<(), Unreadable> {
    if width == 0 || height == 0 {
        return Err(Unreadable(format!("the image claims a size of {width}×{height} pixels, which is empty")));
    }
    let need = width.saturating_mul(height).saturating_mul(bytes_per_pixel.max(1));
    if need > max_decoded(limits) {
        return Err(Unreadable(format!(
            "the image claims {width}×{height} pixels, {} decoded, more than clerk may use for one image ({}, a quarter of limits.max_memory); it was not decoded",
            clerk::read::pool::human_bytes(need),
            clerk::read::pool::human_bytes(max_decoded(limits))
        )));
    }
    Ok(())
}

fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    // The pixel check above is the real gate; this also bounds a decoder's scratch.
    l.max_alloc = Some(max_decoded(limits).max(64 << 20));
    l
}

/// A page image OCR reads, and the resolution to tell it: one over `max_pixels` is scaled down to
/// fit (its resolution falling with it, so word boxes keep their size in points).
pub fn fit_for_ocr(img: GrayImage, dpi: f64, limits: &Limits) -> (GrayImage, f64) {
    let (w, h) = img.dimensions();
    let pixels = w as u64 * h as u64;
    if pixels <= limits.max_pixels {
        return (img, dpi);
    }
    let scale = (limits.max_pixels as f64 / pixels as f64).sqrt();
    let (nw, nh) = (((w as f64 * scale) as u32).max(1), ((h as f64 * scale) as u32).max(1));
    (image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle), dpi * nw as f64 / w as f64)
}

/// Width, height and decoded bytes per pixel from a PNG's IHDR, read directly: the decoder would
/// otherwise want to see image data before it reports a size.
fn png_dimensions(bytes: &[u8]) -> Option<(u64, u64, u64)> {
    if bytes.len() < 26 || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64;
    let depth = if bytes[24] == 16 { 2 } else { 1 };
    // Colour types: gray, -, RGB, palette (expanded to RGBA), gray + alpha, -, RGBA.
    let channels = match bytes[25] {
        0 => 1,
        2 => 3,
        4 => 2,
        _ => 4,
    };
    Some((be(&bytes[16..20]), be(&bytes[20..24]), channels * depth))
}

pub fn decode_one(bytes: &[u8], limits: &Limits) -> Result<GrayImage, Unreadable> {
    if let Some((w, h, bpp)) = png_dimensions(bytes) {
        check_pixels(w, h, bpp, limits)?;
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| damaged_image(&e))?;
    reader.limits(decoder_limits(limits));
    let decoder = reader.into_decoder().map_err(|e| damaged_image(&e))?;
    let (w, h) = image::ImageDecoder::dimensions(&decoder);
    check_pixels(w as u64, h as u64, image::ImageDecoder::color_type(&decoder).bytes_per_pixel() as u64, limits)?;
    let img = image::DynamicImage::from_decoder(decoder).map_err(|e| damaged_image(&e))?;
    Ok(img.into_luma8())
}

fn damaged_image(e: &dyn std::fmt::Display) -> Unreadable {
    eprintln!("image: {e}");
    Unreadable("the image is damaged or truncated; ask the sender for the document again".into())
}

/// Multi-page TIFF: every directory is a page (the `image` crate only reads the first).
fn decode_tiff(bytes: &[u8], limits: &Limits) -> Result<Vec<GrayImage>, Unreadable> {
    use tiff::decoder::Decoder;
    let damaged = |e: tiff::TiffError| {
        eprintln!("tiff: {e}");
        match e {
            tiff::TiffError::UnsupportedError(_) => {
                Unreadable("the TIFF uses a compression or layout clerk cannot read; convert it to PNG or PDF".into())
            }
            tiff::TiffError::LimitsExceeded => Unreadable(format!(
                "the TIFF page is larger than clerk decodes ({}, a quarter of limits.max_memory)",
                clerk::read::pool::human_bytes(max_decoded(limits))
            )),
            _ => Unreadable("the TIFF file is damaged or truncated; ask the sender for the document again".into()),
        }
    };
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = max_decoded(limits) as usize;
    tl.intermediate_buffer_size = tl.decoding_buffer_size;
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(damaged)?.with_limits(tl);
    let mut pages = Vec::new();
    loop {
        if pages.len() >= limits.max_pages {
            return Err(Unreadable(format!("the TIFF has more than {} pages (limits.max_pages)", limits.max_pages)));
        }
        let (w, h) = decoder.dimensions().map_err(damaged)?;
        let color = decoder.colortype().map_err(damaged)?;
        check_pixels(w as u64, h as u64, (color.bit_depth() as u64 * samples(color)).div_ceil(8), limits)?;
        let data = decoder.read_image().map_err(damaged)?;
        pages.push(to_gray(w, h, color, data).ok_or_else(|| {
            Unreadable(format!(
                "page {} of the TIFF stores its pixels in a way clerk cannot read ({}); convert it to PNG or PDF",
                pages.len() + 1,
                describe(color)
            ))
        })?);
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(damaged)?;
    }
    Ok(pages)
}

/// Any TIFF layout scanners and converters write, to 8-bit gray: 1-bit, 8- and 16-bit gray, RGB
/// and CMYK, with or without alpha (composited on white paper), and unlabelled extra bands.
fn to_gray(w: u32, h: u32, color: tiff::ColorType, data: tiff::decoder::DecodingResult) -> Option<GrayImage> {
    use tiff::decoder::DecodingResult as D;
    use tiff::ColorType as C;
    let px = (w as usize) * (h as usize);
    if let (C::Gray(1), D::U8(v)) = (&color, &data) {
        return GrayImage::from_raw(w, h, unpack_bits(v, w, h, false));
    }
    let samples: Vec<u8> = match data {
        D::U8(v) => v,
        D::U16(v) => v.iter().map(|x| (x >> 8) as u8).collect(),
        _ => return None,
    };
    let bits = color.bit_depth();
    if bits != 8 && bits != 16 {
        return None;
    }
    let (channels, layout) = match color {
        C::Gray(_) => (1, Layout::Gray),
        C::GrayA(_) => (2, Layout::GrayAlpha),
        C::RGB(_) => (3, Layout::Rgb),
        C::RGBA(_) => (4, Layout::RgbAlpha),
        C::CMYK(_) => (4, Layout::Cmyk),
        C::CMYKA(_) => (5, Layout::Cmyk),
        C::Multiband { num_samples: 1, .. } => (1, Layout::Gray),
        C::Multiband { num_samples: 2, .. } => (2, Layout::GrayAlpha),
        C::Multiband { num_samples: 3, .. } => (3, Layout::Rgb),
        C::Multiband { num_samples: n, .. } if n >= 4 => (n as usize, Layout::RgbAlpha),
        _ => return None,
    };
    let gray: Vec<u8> = samples.chunks_exact(channels).take(px).map(|c| layout.gray(c)).collect();
    (gray.len() == px).then(|| GrayImage::from_raw(w, h, gray)).flatten()
}

/// Samples per pixel of a TIFF layout.
fn samples(color: tiff::ColorType) -> u64 {
    use tiff::ColorType as C;
    match color {
        C::Gray(_) | C::Palette(_) => 1,
        C::GrayA(_) => 2,
        C::RGB(_) | C::YCbCr(_) | C::Lab(_) => 3,
        C::RGBA(_) | C::CMYK(_) => 4,
        C::CMYKA(_) => 5,
        C::Multiband { num_samples, .. } => num_samples as u64,
        _ => 4,
    }
}

#[derive(Clone, Copy)]
enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    RgbAlpha,
    Cmyk,
}

impl Layout {
    fn gray(self, c: &[u8]) -> u8 {
        let on_white = |v: u8, alpha: u8| ((v as u32 * alpha as u32 + 255 * (255 - alpha as u32)) / 255) as u8;
        match self {
            Layout::Gray => c[0],
            Layout::GrayAlpha => on_white(c[0], c[1]),
            Layout::Rgb => luma(c),
            Layout::RgbAlpha => on_white(luma(c), c[3]),
            Layout::Cmyk => 255 - c[3].max(((c[0] as u16 + c[1] as u16 + c[2] as u16) / 3) as u8),
        }
    }
}

fn describe(color: tiff::ColorType) -> String {
    use tiff::ColorType as C;
    match color {
        C::Palette(b) => format!("a {b}-bit colour palette"),
        C::YCbCr(_) => "YCbCr colour".into(),
        C::Lab(_) => "Lab colour".into(),
        C::Multiband { bit_depth, num_samples } => format!("{num_samples} colour bands of {bit_depth} bits"),
        other => format!("{} bits per sample", other.bit_depth()),
    }
}

fn luma(c: &[u8]) -> u8 {
    ((c[0] as u32 * 299 + c[1] as u32 * 587 + c[2] as u32 * 114) / 1000) as u8
}

/// Expands 1-bit rows (each padded to a byte) to 8-bit gray. A 1 bit is white, a 0 black, unless
/// `inverted` (a PDF image with `/Decode [1 0]`).
pub fn unpack_bits(data: &[u8], w: u32, h: u32, inverted: bool) -> Vec<u8> {
    let row = w.div_ceil(8) as usize;
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let byte = data.get(y * row + x / 8).copied().unwrap_or(0);
            let bit = (byte >> (7 - (x % 8))) & 1;
            let white = (bit == 1) != inverted;
            out.push(if white { 255 } else { 0 });
        }
    }
    out
}
