//! PDFs: the text layer with lopdf; pages without usable text are OCRed from their images.

use super::image::{check_pixels, unpack_bits};
use super::{ocr::Ocr, pdf_text, Limits, Page, Unreadable};
use image::GrayImage;
use lopdf::{Document, Object};

/// A page with fewer visible characters than this is treated as a scan.
const MIN_TEXT_CHARS: usize = 8;

pub fn extract(bytes: &[u8], limits: &Limits, ocr: &Ocr) -> Result<Vec<Page>, Unreadable> {
    let doc = load(bytes)?;
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(Unreadable("the PDF has no pages (it is damaged or truncated)".into()));
    }
    if pages.len() > limits.max_pages {
        return Err(Unreadable(format!(
            "the PDF has {} pages, over the limit of {} (limits.max_pages)",
            pages.len(),
            limits.max_pages
        )));
    }
    let mut out = Vec::with_capacity(pages.len());
    let mut scans: Vec<(usize, GrayImage)> = Vec::new();
    let mut scan_problem = None;
    for (&number, &page_id) in &pages {
        let text = pdf_text::page_text(&doc, page_id).unwrap_or_default();
        let visible = text.chars().filter(|c| !c.is_whitespace()).count();
        if visible < MIN_TEXT_CHARS {
            match page_image(&doc, page_id, limits) {
                Ok(Some(img)) => scans.push((out.len(), img)),
                Ok(None) => {}
                Err(e) => scan_problem = Some(format!("page {number}: {e}")),
            }
        }
        out.push(Page { number, text, ..Page::default() });
    }
    if !scans.is_empty() {
        let (slots, images): (Vec<usize>, Vec<GrayImage>) = scans.into_iter().unzip();
        for (slot, page) in slots.into_iter().zip(ocr.pages(images)?) {
            let number = out[slot].number;
            out[slot] = Page { number, ..page };
        }
    }
    let visible: usize = out.iter().map(|p| p.text.chars().filter(|c| !c.is_whitespace()).count()).sum();
    if visible == 0 {
        if let Some(problem) = scan_problem {
            return Err(Unreadable(format!(
                "the PDF has no text layer and its page images cannot be read ({problem})"
            )));
        }
    }
    Ok(out)
}

fn load(bytes: &[u8]) -> Result<Document, Unreadable> {
    let doc = Document::load_mem(bytes).map_err(|e| {
        let msg = e.to_string();
        if msg.to_ascii_lowercase().contains("encrypt") || msg.to_ascii_lowercase().contains("password") {
            Unreadable("the PDF is encrypted with a password; ask the sender for an unprotected copy".into())
        } else {
            Unreadable(format!("the PDF is damaged or truncated and cannot be read ({msg})"))
        }
    })?;
    // lopdf opens PDFs that only restrict printing or editing (empty user password) by itself;
    // one that stays encrypted needs a password we do not have.
    if doc.is_encrypted() && doc.authenticate_password("").is_err() {
        return Err(Unreadable("the PDF is encrypted with a password; ask the sender for an unprotected copy".into()));
    }
    Ok(doc)
}

/// The largest image on the page, decoded to gray, for OCR.
fn page_image(doc: &Document, page_id: lopdf::ObjectId, limits: &Limits) -> Result<Option<GrayImage>, Unreadable> {
    let Ok(images) = doc.get_page_images(page_id) else {
        return Ok(None);
    };
    let Some(img) = images.iter().max_by_key(|i| i.width * i.height) else {
        return Ok(None);
    };
    check_pixels(img.width.max(0) as u64, img.height.max(0) as u64, limits)?;
    let (w, h) = (img.width as u32, img.height as u32);
    let filters = img.filters.clone().unwrap_or_default();
    let last = filters.last().map(String::as_str).unwrap_or("");
    match last {
        "DCTDecode" => {
            let data = if filters.len() > 1 {
                decompress(img.origin_dict, img.content, &filters[..filters.len() - 1])?
            } else {
                img.content.to_vec()
            };
            super::image::decode_one(&data, limits).map(Some)
        }
        "JPXDecode" => Err(Unreadable("its scan is JPEG 2000, which clerk cannot decode yet".into())),
        "CCITTFaxDecode" => ccitt_to_gray(img.origin_dict, img.content, w, h).map(Some),
        "JBIG2Decode" => {
            Err(Unreadable("its scan is compressed with JBIG2Decode, which clerk cannot decode yet".into()))
        }
        _ => {
            let stream = doc.get_object(img.id).and_then(Object::as_stream).map_err(|e| Unreadable(e.to_string()))?;
            let data = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
            raw_to_gray(doc, img.origin_dict, &data, w, h).map(Some)
        }
    }
}

fn decompress(dict: &lopdf::Dictionary, content: &[u8], _filters: &[String]) -> Result<Vec<u8>, Unreadable> {
    let stream = lopdf::Stream::new(dict.clone(), content.to_vec());
    stream.decompressed_content().map_err(|e| Unreadable(format!("its scan cannot be decompressed: {e}")))
}

/// Fax-compressed scans (CCITT Group 4, or Group 3 one-dimensional), as most office scanners
/// write black-and-white pages.
fn ccitt_to_gray(dict: &lopdf::Dictionary, data: &[u8], w: u32, h: u32) -> Result<GrayImage, Unreadable> {
    let params = dict.get(b"DecodeParms").ok().and_then(|p| match p {
        Object::Array(a) => a.iter().find_map(|o| o.as_dict().ok()),
        o => o.as_dict().ok(),
    });
    let param = |key: &[u8], default: i64| {
        params.and_then(|p| p.get(key).ok()).and_then(|o| o.as_i64().ok()).unwrap_or(default)
    };
    let k = param(b"K", 0);
    let columns = param(b"Columns", w as i64).clamp(1, u16::MAX as i64) as u16;
    let black_is_1 = params.and_then(|p| p.get(b"BlackIs1").ok()).and_then(|o| o.as_bool().ok()).unwrap_or(false);
    let mut pixels = Vec::with_capacity(w as usize * h as usize);
    let mut push = |transitions: &[u16]| {
        for color in fax::decoder::pels(transitions, columns).take(w as usize) {
            let white = color == fax::Color::White;
            pixels.push(if white != black_is_1 { 255 } else { 0 });
        }
    };
    let ok = if k < 0 {
        fax::decoder::decode_g4(data.iter().copied(), columns, Some(h.min(u16::MAX as u32) as u16), &mut push)
    } else if k == 0 {
        fax::decoder::decode_g3(data.iter().copied(), &mut push)
    } else {
        return Err(Unreadable(
            "its scan uses two-dimensional CCITT Group 3 (K > 0), which clerk cannot decode yet".into(),
        ));
    };
    if ok.is_none() && pixels.is_empty() {
        return Err(Unreadable("its fax-compressed (CCITT) scan is damaged".into()));
    }
    // Pad a short image with white, as decoders do for encoders that omit trailing white lines.
    pixels.resize(w as usize * h as usize, 255);
    Ok(GrayImage::from_raw(w, h, pixels).expect("sized above"))
}

/// Uncompressed samples (after Flate/LZW) in DeviceGray, DeviceRGB, DeviceCMYK or ICC-based.
fn raw_to_gray(doc: &Document, dict: &lopdf::Dictionary, data: &[u8], w: u32, h: u32) -> Result<GrayImage, Unreadable> {
    let bpc = dict.get(b"BitsPerComponent").and_then(Object::as_i64).unwrap_or(8);
    let components = color_components(doc, dict);
    let px = (w as usize) * (h as usize);
    let invert = dict
        .get(b"Decode")
        .and_then(Object::as_array)
        .ok()
        .and_then(|a| a.first())
        .and_then(|o| o.as_float().ok().or_else(|| o.as_i64().ok().map(|i| i as f32)))
        == Some(1.0);
    let gray: Vec<u8> = match (bpc, components) {
        (1, 1) | (1, 0) => unpack_bits(data, w, h, invert),
        (8, 1) => data.get(..px).map(|d| d.to_vec()).unwrap_or_default(),
        (8, 3) => data
            .chunks(3)
            .take(px)
            .map(|c| {
                if c.len() == 3 {
                    ((c[0] as u32 * 299 + c[1] as u32 * 587 + c[2] as u32 * 114) / 1000) as u8
                } else {
                    255
                }
            })
            .collect(),
        (8, 4) => {
            data.chunks(4)
                .take(px)
                .map(|c| {
                    if c.len() == 4 {
                        255 - c[3].max(((c[0] as u16 + c[1] as u16 + c[2] as u16) / 3) as u8)
                    } else {
                        255
                    }
                })
                .collect()
        }
        _ => {
            return Err(Unreadable(format!(
            "its scan uses {bpc} bits per component and {components} colour components, which clerk cannot decode yet"
        )))
        }
    };
    if gray.len() < px {
        return Err(Unreadable("its scan is truncated (fewer pixels than the image declares)".into()));
    }
    Ok(GrayImage::from_raw(w, h, gray).expect("length checked"))
}

fn color_components(doc: &Document, dict: &lopdf::Dictionary) -> usize {
    let cs = match dict.get(b"ColorSpace") {
        Ok(o) => doc.dereference(o).map(|(_, o)| o.clone()).unwrap_or(Object::Null),
        Err(_) => return 0,
    };
    match &cs {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"CalGray" => 1,
            b"DeviceRGB" | b"CalRGB" => 3,
            b"DeviceCMYK" => 4,
            _ => 0,
        },
        Object::Array(a) if a.first().and_then(|o| o.as_name().ok()) == Some(b"ICCBased") => {
            a.get(1)
                .and_then(|o| doc.dereference(o).ok())
                .and_then(|(_, o)| o.as_stream().ok())
                .and_then(|s| s.dict.get(b"N").and_then(Object::as_i64).ok())
                .unwrap_or(0) as usize
        }
        _ => 0,
    }
}
