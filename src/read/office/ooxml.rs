//! Office Open XML: Word (`.docx`), Excel (`.xlsx`) and PowerPoint (`.pptx`).

use super::archive::Archive;
use super::xml::{attr, local, walk, Node};
use super::{pages, table_text, too_many_cells, within_pages, Office, Table, DOCX, MAX_CELLS, MAX_COLUMNS, PPTX, XLSX};
use crate::read::{Limits, Unreadable};
use std::collections::HashMap;

/// A member the archive must have; its absence is damage.
fn part(zip: &mut Archive, name: &str) -> Result<Vec<u8>, Unreadable> {
    zip.read(name)?.ok_or_else(|| Unreadable(format!("the Office file has no {name}; it is damaged or incomplete")))
}

/// A part's relationships: id → the target's member name.
fn relationships(zip: &mut Archive, of: &str) -> Result<HashMap<String, String>, Unreadable> {
    let (dir, file) = of.rsplit_once('/').unwrap_or(("", of));
    let Some(xml) = zip.read(&format!("{dir}/_rels/{file}.rels"))? else { return Ok(HashMap::new()) };
    let mut out = HashMap::new();
    walk(&xml, "relationships", |n| {
        if let Node::Open(e) = n {
            if let (b"Relationship", Some(id), Some(target)) = (local(e), attr(e, b"Id"), attr(e, b"Target")) {
                out.insert(id, resolve(dir, &target));
            }
        }
    })?;
    Ok(out)
}

/// The `r:id` naming a relationship (a slide's `sldId` also has a plain `id`).
fn rel_id(e: &quick_xml::events::BytesStart) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.as_ref().ends_with(b":id")).map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// A relationship's target as a member name: absolute (`/xl/…`) or relative to `dir`.
fn resolve(dir: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in target.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A Word document's text: headers, body, then footers (as docx2txt reads them); a table's cells
/// separated by tabs, a row a line, so a label and its value stay on one line.
pub fn docx(zip: &mut Archive) -> Result<Office, Unreadable> {
    let all = zip.names();
    let mut names: Vec<String> = all.iter().filter(|n| n.starts_with("word/header") && n.ends_with(".xml")).cloned().collect();
    names.sort();
    let mut footers: Vec<String> = all.iter().filter(|n| n.starts_with("word/footer") && n.ends_with(".xml")).cloned().collect();
    footers.sort();
    names.push("word/document.xml".into());
    names.extend(footers);
    let mut text = String::new();
    for name in names {
        let xml = part(zip, &name)?;
        word_text(&xml, &name, &mut text)?;
    }
    Ok(Office { media_type: DOCX, pages: pages(vec![text]), tables: vec![] })
}

fn word_text(xml: &[u8], name: &str, out: &mut String) -> Result<(), Unreadable> {
    let (mut in_text, mut runs, mut cells) = (false, 0usize, 0usize);
    walk(xml, name, |n| match n {
        Node::Open(e) => match local(e) {
            b"t" => in_text = true,
            b"r" => runs += 1,
            b"tc" => cells += 1,
            b"tab" if runs > 0 => out.push('\t'),
            b"br" | b"cr" if runs > 0 => out.push('\n'),
            _ => {}
        },
        Node::Close(name) => match name {
            b"t" => in_text = false,
            b"r" => runs = runs.saturating_sub(1),
            b"p" => out.push(if cells > 0 { ' ' } else { '\n' }),
            b"tc" => {
                cells = cells.saturating_sub(1);
                trim_end_spaces(out);
                out.push('\t');
            }
            b"tr" => {
                trim_end_spaces(out);
                if out.ends_with('\t') {
                    out.pop();
                }
                out.push('\n');
            }
            _ => {}
        },
        Node::Text(t) if in_text => out.push_str(&t),
        Node::Text(_) => {}
    })
}

fn trim_end_spaces(s: &mut String) {
    while s.ends_with(' ') {
        s.pop();
    }
}

/// A workbook: each sheet a page of rows (cells separated by tabs) and a [`Table`].
pub fn xlsx(zip: &mut Archive, limits: &Limits) -> Result<Office, Unreadable> {
    let workbook = part(zip, "xl/workbook.xml")?;
    let mut sheets: Vec<(String, String)> = vec![];
    let mut date1904 = false;
    walk(&workbook, "workbook", |n| {
        if let Node::Open(e) = n {
            match local(e) {
                b"sheet" => sheets.push((attr(e, b"name").unwrap_or_default(), rel_id(e).unwrap_or_default())),
                b"workbookPr" => date1904 = matches!(attr(e, b"date1904").as_deref(), Some("1" | "true")),
                _ => {}
            }
        }
    })?;
    within_pages(sheets.len(), "workbook", "sheets", limits)?;
    let rels = relationships(zip, "xl/workbook.xml")?;
    let strings = match zip.read("xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => vec![],
    };
    let dates = match zip.read("xl/styles.xml")? {
        Some(xml) => date_styles(&xml)?,
        None => vec![],
    };
    let mut cells = 0usize;
    let mut tables = vec![];
    for (name, id) in sheets {
        let Some(member) = rels.get(&id) else { continue };
        let Some(xml) = zip.read(member)? else { continue };
        let rows = sheet_rows(&xml, member, &strings, &dates, date1904, &mut cells)?;
        tables.push(Table { name, rows });
    }
    let texts = tables.iter().map(|t| table_text(&t.rows)).collect();
    Ok(Office { media_type: XLSX, pages: pages(texts), tables })
}

fn shared_strings(xml: &[u8]) -> Result<Vec<String>, Unreadable> {
    let mut out = vec![];
    let (mut current, mut in_text, mut phonetic) = (String::new(), false, false);
    walk(xml, "shared strings", |n| match n {
        Node::Open(e) => match local(e) {
            b"t" => in_text = true,
            b"rPh" => phonetic = true,
            _ => {}
        },
        Node::Close(b"t") => in_text = false,
        Node::Close(b"rPh") => phonetic = false,
        Node::Close(b"si") => out.push(std::mem::take(&mut current)),
        Node::Text(t) if in_text && !phonetic => current.push_str(&t),
        _ => {}
    })?;
    Ok(out)
}

/// For each cell style (`cellXfs`, by index), whether it shows a number as a date or time.
fn date_styles(xml: &[u8]) -> Result<Vec<bool>, Unreadable> {
    let mut custom: HashMap<u32, String> = HashMap::new();
    let mut formats: Vec<u32> = vec![];
    let mut in_xfs = false;
    walk(xml, "styles", |n| match n {
        Node::Open(e) => match local(e) {
            b"numFmt" => {
                if let (Some(id), Some(code)) = (attr(e, b"numFmtId").and_then(|v| v.parse().ok()), attr(e, b"formatCode")) {
                    custom.insert(id, code);
                }
            }
            b"cellXfs" => in_xfs = true,
            b"xf" if in_xfs => formats.push(attr(e, b"numFmtId").and_then(|v| v.parse().ok()).unwrap_or(0)),
            _ => {}
        },
        Node::Close(b"cellXfs") => in_xfs = false,
        _ => {}
    })?;
    Ok(formats.into_iter().map(|id| is_date_format(id, custom.get(&id).map(String::as_str))).collect())
}

/// Excel's built-in date and time formats, and a custom format that writes a day, month, year,
/// hour or second outside quoted text, escapes and `[…]` sections.
fn is_date_format(id: u32, code: Option<&str>) -> bool {
    if matches!(id, 14..=22 | 27..=36 | 45..=47 | 50..=58) {
        return true;
    }
    let Some(code) = code else { return false };
    let (mut quoted, mut bracket, mut escaped) = (false, false, false);
    for c in code.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => bracket = true,
            ']' if !quoted => bracket = false,
            'd' | 'D' | 'm' | 'M' | 'y' | 'Y' | 'h' | 'H' | 's' | 'S' if !quoted && !bracket => return true,
            _ => {}
        }
    }
    false
}

/// A serial day number as a date (and time, when it has one), in the workbook's date system.
fn serial_date(v: f64, date1904: bool) -> Option<String> {
    if !(0.0..2_958_466.0).contains(&v) {
        return None;
    }
    let days = v.floor() as i64;
    // Excel counts 1900-02-29, which did not exist: serials from 61 on are one day ahead.
    let base = if date1904 {
        chrono::NaiveDate::from_ymd_opt(1904, 1, 1)?
    } else if days >= 61 {
        chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?
    } else {
        chrono::NaiveDate::from_ymd_opt(1899, 12, 31)?
    };
    let date = base.checked_add_signed(chrono::Duration::days(days))?;
    let seconds = ((v - v.floor()) * 86_400.0).round() as i64;
    Some(if seconds == 0 {
        date.format("%Y-%m-%d").to_string()
    } else {
        format!("{} {:02}:{:02}", date.format("%Y-%m-%d"), seconds / 3600, seconds % 3600 / 60)
    })
}

/// A stored number as people write it: float noise (`0.30000000000000004`) rounded away.
fn number(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() && v.len() > 15 => {
            let s = format!("{f:.10}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        _ => v.to_string(),
    }
}

/// A cell reference's column (`B3` → 1).
fn column(r: &str) -> Option<usize> {
    let letters: Vec<u8> = r.bytes().take_while(|c| c.is_ascii_alphabetic()).collect();
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let n = letters.iter().fold(0usize, |n, c| n * 26 + (c.to_ascii_uppercase() - b'A') as usize + 1);
    Some(n - 1).filter(|&c| c < MAX_COLUMNS)
}

fn sheet_rows(
    xml: &[u8],
    name: &str,
    strings: &[String],
    dates: &[bool],
    date1904: bool,
    cells: &mut usize,
) -> Result<Vec<Vec<String>>, Unreadable> {
    let mut rows: Vec<Vec<String>> = vec![];
    let mut row: Vec<String> = vec![];
    // The open cell: its column, type and style, and the text read inside it.
    let (mut col, mut kind, mut style) = (0usize, String::new(), 0usize);
    let (mut value, mut in_value) = (String::new(), false);
    let mut too_many = false;
    let mut last_row = 0usize;
    walk(xml, name, |n| match n {
        Node::Open(e) => match local(e) {
            b"row" => {
                row.clear();
                // Rows without cells are not written; a gap stays one empty row.
                let r = attr(e, b"r").and_then(|r| r.parse().ok()).unwrap_or(last_row + 1);
                if r > last_row + 1 && !rows.is_empty() {
                    rows.push(vec![]);
                }
                last_row = r;
            }
            b"c" => {
                col = attr(e, b"r").and_then(|r| column(&r)).unwrap_or(row.len());
                kind = attr(e, b"t").unwrap_or_default();
                style = attr(e, b"s").and_then(|s| s.parse().ok()).unwrap_or(0);
                value.clear();
            }
            b"v" | b"t" => in_value = true,
            _ => {}
        },
        Node::Close(tag) => match tag {
            b"v" | b"t" => in_value = false,
            b"c" => {
                *cells += 1;
                too_many |= *cells > MAX_CELLS;
                let shown = match kind.as_str() {
                    "s" => value.trim().parse::<usize>().ok().and_then(|i| strings.get(i)).cloned().unwrap_or_default(),
                    "b" => if value.trim() == "1" { "TRUE".into() } else { "FALSE".into() },
                    "str" | "inlineStr" | "e" => value.clone(),
                    _ if dates.get(style).copied().unwrap_or(false) => {
                        value.trim().parse::<f64>().ok().and_then(|v| serial_date(v, date1904)).unwrap_or_else(|| value.clone())
                    }
                    _ => number(value.trim()),
                };
                if !too_many && !shown.is_empty() {
                    if row.len() <= col {
                        row.resize(col + 1, String::new());
                    }
                    row[col] = shown;
                }
            }
            b"row" => rows.push(std::mem::take(&mut row)),
            _ => {}
        },
        Node::Text(t) if in_value => value.push_str(&t),
        Node::Text(_) => {}
    })?;
    if too_many {
        return Err(too_many_cells("workbook"));
    }
    Ok(rows)
}

/// A presentation: each slide a page, in the presentation's order.
pub fn pptx(zip: &mut Archive, limits: &Limits) -> Result<Office, Unreadable> {
    let presentation = part(zip, "ppt/presentation.xml")?;
    let mut ids = vec![];
    walk(&presentation, "presentation", |n| {
        if let Node::Open(e) = n {
            if local(e) == b"sldId" {
                ids.push(rel_id(e).unwrap_or_default());
            }
        }
    })?;
    within_pages(ids.len(), "presentation", "slides", limits)?;
    let rels = relationships(zip, "ppt/presentation.xml")?;
    let mut texts = vec![];
    for id in ids {
        let Some(member) = rels.get(&id) else { continue };
        let Some(xml) = zip.read(member)? else { continue };
        let mut text = String::new();
        let mut in_text = false;
        walk(&xml, member, |n| match n {
            Node::Open(e) => match local(e) {
                b"t" => in_text = true,
                b"br" => text.push('\n'),
                _ => {}
            },
            Node::Close(b"t") => in_text = false,
            Node::Close(b"p") => text.push('\n'),
            Node::Close(b"tc") => {
                if text.ends_with('\n') {
                    text.pop();
                }
                text.push('\t');
            }
            Node::Text(t) if in_text => text.push_str(&t),
            _ => {}
        })?;
        texts.push(text);
    }
    Ok(Office { media_type: PPTX, pages: pages(texts), tables: vec![] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_dates_in_both_date_systems() {
        assert_eq!(serial_date(45938.0, false).as_deref(), Some("2025-10-08"));
        assert_eq!(serial_date(1.0, false).as_deref(), Some("1900-01-01"));
        assert_eq!(serial_date(45938.5, false).as_deref(), Some("2025-10-08 12:00"));
        assert_eq!(serial_date(0.0, true).as_deref(), Some("1904-01-01"));
    }

    #[test]
    fn date_formats_are_told_from_number_formats() {
        assert!(is_date_format(14, None));
        assert!(is_date_format(164, Some("dd/mm/yyyy")));
        assert!(!is_date_format(164, Some("#,##0.00 [$EUR]")));
        assert!(!is_date_format(164, Some("0.00\" days\"")));
        assert!(!is_date_format(0, Some("General")));
    }

    #[test]
    fn references_and_targets() {
        assert_eq!(column("B3"), Some(1));
        assert_eq!(column("AA10"), Some(26));
        assert_eq!(column("ZZZZ1"), None);
        assert_eq!(resolve("xl", "worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
        assert_eq!(resolve("ppt", "/ppt/slides/slide1.xml"), "ppt/slides/slide1.xml");
        assert_eq!(resolve("xl/worksheets", "../media/x.png"), "xl/media/x.png");
        assert_eq!(number("0.30000000000000004"), "0.3");
        assert_eq!(number("99.5"), "99.5");
    }
}
