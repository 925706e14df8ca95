//! Decoding page images with limits: dimensions are read from the header and checked before any
//! pixel buffer is allocated, so a PNG claiming 60000×60000 pixels costs nothing.

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

pub fn check_pixels(width: u64, height: u64, limits: &Limits) -> Result<(), Unreadable> {
    if width == 0 || height == 0 {
        return Err(Unreadable(format!("the image claims a size of {width}×{height} pixels, which is empty")));
    }
    if width.saturating_mul(height) > limits.max_pixels {
        return Err(Unreadable(format!(
            "the image claims {width}×{height} pixels, over the limit of {} pixels per page (limits.max_pixels); it was not decoded",
            limits.max_pixels
        )));
    }
    Ok(())
}

fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    // Room for the page in RGBA plus decoder scratch; the pixel check above is the real gate.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(64 << 20));
    l
}

/// Width and height from a PNG's IHDR, read directly: the decoder would otherwise want to see
/// image data before it reports a size.
fn png_dimensions(bytes: &[u8]) -> Option<(u64, u64)> {
    if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64;
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

pub fn decode_one(bytes: &[u8], limits: &Limits) -> Result<GrayImage, Unreadable> {
    if let Some((w, h)) = png_dimensions(bytes) {
        check_pixels(w, h, limits)?;
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| damaged_image(&e))?;
    let format = reader.format();
    let (w, h) = reader.into_dimensions().map_err(|e| damaged_image(&e))?;
    check_pixels(w as u64, h as u64, limits)?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    if let Some(f) = format {
        reader.set_format(f);
    }
    reader.limits(decoder_limits(limits));
    let img = reader.decode().map_err(|e| damaged_image(&e))?;
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
                "the TIFF page is larger than clerk reads (limits.max_pixels is {} pixels)",
                limits.max_pixels
            )),
            _ => Unreadable("the TIFF file is damaged or truncated; ask the sender for the document again".into()),
        }
    };
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = (limits.max_pixels as usize).saturating_mul(8);
    tl.intermediate_buffer_size = tl.decoding_buffer_size;
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(damaged)?.with_limits(tl);
    let mut pages = Vec::new();
    loop {
        if pages.len() >= limits.max_pages {
            return Err(Unreadable(format!("the TIFF has more than {} pages (limits.max_pages)", limits.max_pages)));
        }
        let (w, h) = decoder.dimensions().map_err(damaged)?;
        check_pixels(w as u64, h as u64, limits)?;
        let color = decoder.colortype().map_err(damaged)?;
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
