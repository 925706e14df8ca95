//! The text layer of a PDF page, laid out the way `pdftotext -layout` does: every piece of text is
//! placed at a column proportional to its position on the page, so a line's columns stay apart
//! ("Total Due:      EUR 1,234.56") and templates written against pdftotext's output match.

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashMap;

/// A run of text at a position in device space (points, y up).
#[derive(Debug, Clone)]
struct Chunk {
    x: f64,
    y: f64,
    /// Advance width in device space.
    width: f64,
    /// Font size in device space.
    size: f64,
    text: String,
}

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

/// What we need of a font: how its bytes become text, and how wide its glyphs are.
struct Font<'a> {
    two_byte: bool,
    to_unicode: Option<HashMap<u32, String>>,
    encoding: Option<lopdf::Encoding<'a>>,
    widths: HashMap<u32, f64>,
    default_width: f64,
}

impl Font<'_> {
    fn codes(&self, bytes: &[u8]) -> Vec<u32> {
        if self.two_byte {
            bytes.chunks(2).map(|c| if c.len() == 2 { (c[0] as u32) << 8 | c[1] as u32 } else { c[0] as u32 }).collect()
        } else {
            bytes.iter().map(|&b| b as u32).collect()
        }
    }

    fn decode(&self, bytes: &[u8]) -> String {
        if let Some(map) = &self.to_unicode {
            return self.codes(bytes).iter().map(|c| map.get(c).map(String::as_str).unwrap_or("\u{fffd}")).collect();
        }
        if let Some(enc) = &self.encoding {
            if let Ok(s) = Document::decode_text(enc, bytes) {
                return s;
            }
        }
        bytes.iter().map(|&b| b as char).collect()
    }

    fn width(&self, code: u32) -> f64 {
        self.widths.get(&code).copied().unwrap_or(self.default_width) / 1000.0
    }
}

fn load_font<'a>(doc: &'a Document, dict: &'a Dictionary) -> Font<'a> {
    let subtype = dict.get(b"Subtype").and_then(Object::as_name).unwrap_or(b"");
    let two_byte = subtype == b"Type0";
    let to_unicode = dict
        .get(b"ToUnicode")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_stream().ok())
        .and_then(|s| s.decompressed_content().ok().or_else(|| Some(s.content.clone())))
        .map(|bytes| parse_to_unicode(&bytes));
    let encoding = if to_unicode.is_none() && !two_byte { dict.get_font_encoding(doc).ok() } else { None };
    let mut widths = HashMap::new();
    let mut default_width = 500.0;
    if two_byte {
        default_width = 1000.0;
        let descendant = dict
            .get(b"DescendantFonts")
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_array().ok())
            .and_then(|a| a.first())
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_dict().ok());
        if let Some(d) = descendant {
            if let Ok(dw) = d.get(b"DW").and_then(num) {
                default_width = dw;
            }
            if let Some(w) = d.get(b"W").ok().and_then(|o| doc.dereference(o).ok()).and_then(|(_, o)| o.as_array().ok())
            {
                parse_cid_widths(doc, w, &mut widths);
            }
        }
    } else {
        let first = dict.get(b"FirstChar").and_then(num).unwrap_or(0.0) as u32;
        if let Some(w) =
            dict.get(b"Widths").ok().and_then(|o| doc.dereference(o).ok()).and_then(|(_, o)| o.as_array().ok())
        {
            for (i, o) in w.iter().enumerate() {
                if let Ok(v) = doc.dereference(o).map(|(_, o)| o).and_then(num) {
                    widths.insert(first + i as u32, v);
                }
            }
        } else {
            // Standard 14 fonts carry no widths; these averages keep spacing sane.
            let base = dict.get(b"BaseFont").and_then(Object::as_name).unwrap_or(b"");
            default_width = if base.starts_with(b"Courier") { 600.0 } else { 520.0 };
            widths.insert(32, 278.0);
        }
    }
    Font { two_byte, to_unicode, encoding, widths, default_width }
}

fn num(o: &Object) -> lopdf::Result<f64> {
    o.as_float().map(f64::from)
}

fn parse_cid_widths(doc: &Document, w: &[Object], out: &mut HashMap<u32, f64>) {
    let mut i = 0;
    while i < w.len() {
        let Ok(first) = num(&w[i]) else { break };
        match w.get(i + 1).map(|o| doc.dereference(o).map(|(_, o)| o)) {
            Some(Ok(Object::Array(list))) => {
                for (k, v) in list.iter().enumerate() {
                    if let Ok(v) = num(v) {
                        out.insert(first as u32 + k as u32, v);
                    }
                }
                i += 2;
            }
            Some(Ok(last)) => {
                let (Ok(last), Some(Ok(v))) = (num(last), w.get(i + 2).map(num)) else {
                    break;
                };
                for c in first as u32..=(last as u32).min(first as u32 + 65536) {
                    out.insert(c, v);
                }
                i += 3;
            }
            _ => break,
        }
    }
}

/// Parses the `bfchar` and `bfrange` sections of a ToUnicode CMap.
fn parse_to_unicode(data: &[u8]) -> HashMap<u32, String> {
    let text = String::from_utf8_lossy(data);
    let mut map = HashMap::new();
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let utf16 = |s: &str| -> String {
        let units: Vec<u16> =
            (0..s.len() / 4).filter_map(|i| u16::from_str_radix(&s[i * 4..i * 4 + 4], 16).ok()).collect();
        String::from_utf16_lossy(&units)
    };
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace())
        .flat_map(|t| t.split_inclusive('>'))
        .filter(|t| !t.is_empty())
        .collect();
    let strip = |t: &str| t.trim_start_matches('<').trim_end_matches('>').to_string();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            t if t.ends_with("beginbfchar") => {
                i += 1;
                while i + 1 < tokens.len() && !tokens[i].ends_with("endbfchar") {
                    if let Some(code) = hex(&strip(tokens[i])) {
                        map.insert(code, utf16(&strip(tokens[i + 1])));
                    }
                    i += 2;
                }
            }
            t if t.ends_with("beginbfrange") => {
                i += 1;
                while i + 2 < tokens.len() && !tokens[i].ends_with("endbfrange") {
                    let (lo, hi) = (hex(&strip(tokens[i])), hex(&strip(tokens[i + 1])));
                    if tokens[i + 2].starts_with('[') {
                        // <lo> <hi> [<dst1> <dst2> ...]
                        let mut j = i + 2;
                        let mut k = 0;
                        while j < tokens.len() {
                            let t = tokens[j].trim_start_matches('[');
                            let end = t.ends_with(']') || tokens[j].ends_with(']');
                            let t = t.trim_end_matches(']');
                            if !t.is_empty() {
                                if let Some(lo) = lo {
                                    map.insert(lo + k, utf16(&strip(t)));
                                }
                                k += 1;
                            }
                            j += 1;
                            if end {
                                break;
                            }
                        }
                        i = j;
                    } else {
                        let dst = strip(tokens[i + 2]);
                        if let (Some(lo), Some(hi)) = (lo, hi) {
                            let base: Vec<u16> = (0..dst.len() / 4)
                                .filter_map(|i| u16::from_str_radix(&dst[i * 4..i * 4 + 4], 16).ok())
                                .collect();
                            for (k, code) in (lo..=hi.min(lo + 65536)).enumerate() {
                                let mut units = base.clone();
                                if let Some(last) = units.last_mut() {
                                    *last = last.wrapping_add(k as u16);
                                }
                                map.insert(code, String::from_utf16_lossy(&units));
                            }
                        }
                        i += 3;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    map
}

struct TextState {
    tm: Matrix,
    tlm: Matrix,
    font: Option<Vec<u8>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    hscale: f64,
    leading: f64,
    rise: f64,
}

/// Walks content streams (and the form XObjects they draw), collecting positioned text.
struct Walker<'a> {
    doc: &'a Document,
    fonts: HashMap<ObjectId, Font<'a>>,
    chunks: Vec<Chunk>,
}

impl<'a> Walker<'a> {
    fn font_for(&mut self, resources: &'a Dictionary, name: &[u8]) -> Option<ObjectId> {
        let fonts = resources
            .get(b"Font")
            .ok()
            .and_then(|o| self.doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_dict().ok())?;
        let entry = fonts.get(name).ok()?;
        let id = entry.as_reference().unwrap_or((0, 0));
        if id != (0, 0) && self.fonts.contains_key(&id) {
            return Some(id);
        }
        let dict = self.doc.dereference(entry).ok().and_then(|(_, o)| o.as_dict().ok())?;
        // Direct (unreferenced) font dictionaries get a synthetic id from their address.
        let id = if id == (0, 0) { (u32::MAX - self.fonts.len() as u32, 0) } else { id };
        self.fonts.insert(id, load_font(self.doc, dict));
        Some(id)
    }

    fn walk(&mut self, content: &[u8], resources: &'a Dictionary, ctm: Matrix, depth: u32) {
        let Ok(content) = Content::decode(content) else {
            return;
        };
        let mut ctm = ctm;
        let mut stack: Vec<Matrix> = Vec::new();
        let mut ts = TextState {
            tm: IDENTITY,
            tlm: IDENTITY,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            hscale: 1.0,
            leading: 0.0,
            rise: 0.0,
        };
        let mut font_id: Option<ObjectId> = None;
        for op in &content.operations {
            let n = |i: usize| op.operands.get(i).and_then(|o| num(o).ok()).unwrap_or(0.0);
            match op.operator.as_str() {
                "q" => stack.push(ctm),
                "Q" => ctm = stack.pop().unwrap_or(IDENTITY),
                "cm" => ctm = mul(&[n(0), n(1), n(2), n(3), n(4), n(5)], &ctm),
                "BT" => {
                    ts.tm = IDENTITY;
                    ts.tlm = IDENTITY;
                }
                "Tf" => {
                    ts.size = n(1);
                    ts.font = op.operands.first().and_then(|o| o.as_name().ok()).map(|n| n.to_vec());
                    font_id = ts.font.clone().and_then(|name| self.font_for(resources, &name));
                }
                "Tc" => ts.char_spacing = n(0),
                "Tw" => ts.word_spacing = n(0),
                "Tz" => ts.hscale = n(0) / 100.0,
                "TL" => ts.leading = n(0),
                "Ts" => ts.rise = n(0),
                "Td" | "TD" => {
                    if op.operator == "TD" {
                        ts.leading = -n(1);
                    }
                    ts.tlm = mul(&[1.0, 0.0, 0.0, 1.0, n(0), n(1)], &ts.tlm);
                    ts.tm = ts.tlm;
                }
                "Tm" => {
                    ts.tlm = [n(0), n(1), n(2), n(3), n(4), n(5)];
                    ts.tm = ts.tlm;
                }
                "T*" => {
                    ts.tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -ts.leading], &ts.tlm);
                    ts.tm = ts.tlm;
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    if op.operator == "'" || op.operator == "\"" {
                        if op.operator == "\"" {
                            ts.word_spacing = n(0);
                            ts.char_spacing = n(1);
                        }
                        ts.tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -ts.leading], &ts.tlm);
                        ts.tm = ts.tlm;
                    }
                    let Some(fid) = font_id else { continue };
                    let items: Vec<&Object> = match op.operands.last() {
                        Some(Object::Array(a)) => a.iter().collect(),
                        Some(o) => vec![o],
                        None => continue,
                    };
                    for item in items {
                        match item {
                            Object::String(bytes, _) => self.show(fid, bytes, &mut ts, &ctm),
                            o => {
                                if let Ok(adj) = num(o) {
                                    let tx = -adj / 1000.0 * ts.size * ts.hscale;
                                    ts.tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &ts.tm);
                                }
                            }
                        }
                    }
                }
                "Do" if depth < 8 => {
                    let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                        continue;
                    };
                    let Some(stream) = resources
                        .get(b"XObject")
                        .ok()
                        .and_then(|o| self.doc.dereference(o).ok())
                        .and_then(|(_, o)| o.as_dict().ok())
                        .and_then(|x| x.get(name).ok())
                        .and_then(|o| self.doc.dereference(o).ok())
                        .and_then(|(_, o)| o.as_stream().ok())
                    else {
                        continue;
                    };
                    if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
                        continue;
                    }
                    let matrix = stream
                        .dict
                        .get(b"Matrix")
                        .and_then(Object::as_array)
                        .ok()
                        .filter(|a| a.len() == 6)
                        .map(|a| [0, 1, 2, 3, 4, 5].map(|i| num(&a[i]).unwrap_or(0.0)))
                        .unwrap_or(IDENTITY);
                    let form_resources = stream
                        .dict
                        .get(b"Resources")
                        .ok()
                        .and_then(|o| self.doc.dereference(o).ok())
                        .and_then(|(_, o)| o.as_dict().ok())
                        .unwrap_or(resources);
                    let data = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
                    self.walk(&data, form_resources, mul(&matrix, &ctm), depth + 1);
                }
                _ => {}
            }
        }
    }

    fn show(&mut self, fid: ObjectId, bytes: &[u8], ts: &mut TextState, ctm: &Matrix) {
        let font = &self.fonts[&fid];
        let text = font.decode(bytes);
        let mut advance = 0.0;
        for code in font.codes(bytes) {
            let spacing = if code == 32 && !font.two_byte { ts.word_spacing } else { 0.0 };
            advance += (font.width(code) * ts.size + ts.char_spacing + spacing) * ts.hscale;
        }
        let trm = mul(&[ts.size * ts.hscale, 0.0, 0.0, ts.size, 0.0, ts.rise], &mul(&ts.tm, ctm));
        let start = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, ts.rise], &mul(&ts.tm, ctm));
        let end = mul(&[1.0, 0.0, 0.0, 1.0, advance, ts.rise], &mul(&ts.tm, ctm));
        let size = (trm[2] * trm[2] + trm[3] * trm[3]).sqrt().max(1.0);
        if !text.is_empty() {
            self.chunks.push(Chunk { x: start[4], y: start[5], width: (end[4] - start[4]).abs(), size, text });
        }
        ts.tm = mul(&[1.0, 0.0, 0.0, 1.0, advance, 0.0], &ts.tm);
    }
}

/// Extracts the laid-out text of one page.
pub fn page_text(doc: &Document, page_id: ObjectId) -> lopdf::Result<String> {
    let content = doc.get_page_content(page_id)?;
    let empty = Dictionary::new();
    let resources = page_resources(doc, page_id).unwrap_or(&empty);
    let mut walker = Walker { doc, fonts: HashMap::new(), chunks: vec![] };
    walker.walk(&content, resources, IDENTITY, 0);
    Ok(layout(walker.chunks))
}

/// The page's resources, inherited from the page tree when the page has none of its own.
fn page_resources(doc: &Document, page_id: ObjectId) -> Option<&Dictionary> {
    let mut node = doc.get_dictionary(page_id).ok()?;
    for _ in 0..32 {
        if let Ok(r) = node.get(b"Resources") {
            return doc.dereference(r).ok().and_then(|(_, o)| o.as_dict().ok());
        }
        node = node.get(b"Parent").and_then(Object::as_reference).ok().and_then(|id| doc.get_dictionary(id).ok())?;
    }
    None
}

/// Places chunks on a character grid: lines by baseline, columns by x.
fn layout(mut chunks: Vec<Chunk>) -> String {
    chunks.retain(|c| !c.text.trim().is_empty() || c.text.contains(' '));
    if chunks.is_empty() {
        return String::new();
    }
    // Character width: the median advance per character, a stable measure of the body text.
    let mut per_char: Vec<f64> = chunks
        .iter()
        .filter_map(|c| {
            let n = c.text.chars().count();
            (n > 0 && c.width > 0.0).then(|| c.width / n as f64)
        })
        .collect();
    per_char.sort_by(|a, b| a.total_cmp(b));
    let cw = per_char.get(per_char.len() / 2).copied().unwrap_or(5.0).max(1.0);
    let min_x = chunks.iter().map(|c| c.x).fold(f64::INFINITY, f64::min);

    // Group into lines, top to bottom: a chunk joins a line whose baseline is within half a size.
    chunks.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<(f64, f64, Vec<Chunk>)> = Vec::new(); // (baseline, size, chunks)
    for c in chunks {
        match lines.last_mut() {
            Some((y, size, members)) if (*y - c.y).abs() < 0.5 * size.min(c.size) => {
                *size = size.max(c.size);
                members.push(c);
            }
            _ => lines.push((c.y, c.size, vec![c])),
        }
    }
    let mut out = String::new();
    let mut prev: Option<(f64, f64)> = None;
    for (y, size, mut members) in lines {
        if let Some((py, psize)) = prev {
            // A blank line where the gap is clearly more than one line's height, as pdftotext does.
            let gap = (py - y) / (psize.max(size) * 1.2);
            let blanks = (gap.round() as i64 - 1).clamp(0, 2);
            for _ in 0..blanks {
                out.push('\n');
            }
        }
        prev = Some((y, size));
        members.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut line = String::new();
        let mut len = 0usize;
        let mut end_x = f64::NEG_INFINITY;
        for c in members {
            let col = ((c.x - min_x) / cw).round().max(0.0) as usize;
            let gap = c.x - end_x;
            if len > 0 && gap < 0.15 * c.size {
                // Touching the previous run (kerning, a split word): no space.
            } else {
                let target = if len > 0 { col.max(len + 1) } else { col };
                line.extend(std::iter::repeat_n(' ', target.saturating_sub(len)));
                len = len.max(target);
            }
            line.push_str(&c.text);
            len += c.text.chars().count();
            end_x = c.x + c.width;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
