//! OpenDocument: text (`.odt`), spreadsheets (`.ods`) and presentations (`.odp`), from
//! `content.xml`.

use super::archive::Archive;
use super::xml::{attr, local, walk, Node};
use super::{pages, table_text, too_many_cells, within_pages, Office, Table, MAX_CELLS, MAX_COLUMNS, ODP, ODS, ODT};
use crate::read::{Limits, Unreadable};

/// Spaces one `text:s` may stand for.
const MAX_SPACES: usize = 1_000;

pub fn read(zip: &mut Archive, limits: &Limits) -> Result<Office, Unreadable> {
    let mimetype = zip.read("mimetype")?.unwrap_or_default();
    let content = zip
        .read("content.xml")?
        .ok_or_else(|| Unreadable("the OpenDocument file has no content.xml; it is damaged or incomplete".into()))?;
    let kind = String::from_utf8_lossy(&mimetype).trim().to_string();
    let office = if kind.ends_with("spreadsheet") {
        let tables = spreadsheet(&content, limits)?;
        let texts = tables.iter().map(|t| table_text(&t.rows)).collect();
        Office { media_type: ODS, pages: pages(texts), tables }
    } else if kind.ends_with("presentation") {
        Office { media_type: ODP, pages: pages(flowing(&content, true)?), tables: vec![] }
    } else {
        Office { media_type: ODT, pages: pages(flowing(&content, false)?), tables: vec![] }
    };
    Ok(office)
}

/// Paragraphs as lines, a table's cells separated by tabs; for a presentation each `draw:page`
/// is a page, for a text the whole body is one.
fn flowing(xml: &[u8], by_draw_page: bool) -> Result<Vec<String>, Unreadable> {
    let mut texts = vec![String::new()];
    let (mut cells, mut skip) = (0usize, 0usize);
    walk(xml, "content.xml", |n| {
        let out = texts.last_mut().expect("one text at least");
        match n {
            Node::Open(e) => match local(e) {
                // Deleted text kept for change tracking, and comments, are not the document.
                b"tracked-changes" | b"annotation" => skip += 1,
                _ if skip > 0 => {}
                b"page" if by_draw_page => {
                    if !out.is_empty() {
                        texts.push(String::new());
                    }
                }
                b"table-cell" => cells += 1,
                b"tab" => out.push('\t'),
                b"line-break" => out.push('\n'),
                b"s" => out.push_str(&" ".repeat(attr(e, b"c").and_then(|c| c.parse().ok()).unwrap_or(1usize).min(MAX_SPACES))),
                _ => {}
            },
            Node::Close(tag) => match tag {
                b"tracked-changes" | b"annotation" => skip = skip.saturating_sub(1),
                _ if skip > 0 => {}
                b"p" | b"h" => out.push(if cells > 0 { ' ' } else { '\n' }),
                b"table-cell" => {
                    cells = cells.saturating_sub(1);
                    while out.ends_with(' ') {
                        out.pop();
                    }
                    out.push('\t');
                }
                b"table-row" => {
                    while out.ends_with('\t') || out.ends_with(' ') {
                        out.pop();
                    }
                    out.push('\n');
                }
                _ => {}
            },
            Node::Text(t) if skip == 0 => out.push_str(&t),
            Node::Text(_) => {}
        }
    })?;
    Ok(texts)
}

/// Each `table:table` a table of rows. Repeated rows and cells (a sheet's styled empty tail is
/// written as a million repeated rows) are expanded only while they hold something; a cell's
/// value is its typed value where it has one (a date as an ISO date, a number as stored), else
/// its text.
fn spreadsheet(xml: &[u8], limits: &Limits) -> Result<Vec<Table>, Unreadable> {
    let mut tables: Vec<Table> = vec![];
    let mut row: Vec<String> = vec![];
    let (mut row_repeat, mut cell_repeat, mut pending_empty) = (1usize, 1usize, 0usize);
    let (mut typed, mut text, mut in_cell, mut paragraphs) = (None::<String>, String::new(), false, 0usize);
    let (mut cells, mut skip) = (0usize, 0usize);
    walk(xml, "content.xml", |n| match n {
        Node::Open(e) => match local(e) {
            b"annotation" => skip += 1,
            _ if skip > 0 => {}
            b"table" => tables.push(Table { name: attr(e, b"name").unwrap_or_default(), rows: vec![] }),
            b"table-row" => {
                row.clear();
                pending_empty = 0;
                row_repeat = attr(e, b"number-rows-repeated").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
            }
            b"table-cell" | b"covered-table-cell" => {
                in_cell = true;
                paragraphs = 0;
                text.clear();
                cell_repeat = attr(e, b"number-columns-repeated").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
                typed = match attr(e, b"value-type").as_deref() {
                    Some("date") => attr(e, b"date-value").map(|d| d.trim_end_matches("T00:00:00").to_string()),
                    Some("float" | "currency" | "percentage") => attr(e, b"value"),
                    Some("boolean") => attr(e, b"boolean-value").map(|b| b.to_uppercase()),
                    _ => None,
                };
            }
            b"p" if in_cell => {
                if paragraphs > 0 {
                    text.push('\n');
                }
                paragraphs += 1;
            }
            b"s" if in_cell => text.push_str(&" ".repeat(attr(e, b"c").and_then(|c| c.parse().ok()).unwrap_or(1usize).min(MAX_SPACES))),
            b"tab" if in_cell => text.push('\t'),
            _ => {}
        },
        Node::Close(tag) => match tag {
            b"annotation" => skip = skip.saturating_sub(1),
            _ if skip > 0 => {}
            b"table-cell" | b"covered-table-cell" => {
                in_cell = false;
                let value = typed.take().unwrap_or_else(|| text.clone());
                if value.is_empty() {
                    pending_empty = (pending_empty + cell_repeat).min(MAX_COLUMNS);
                } else {
                    let pad = pending_empty.min(MAX_COLUMNS.saturating_sub(row.len()));
                    row.extend(std::iter::repeat_n(String::new(), pad));
                    pending_empty = 0;
                    let n = cell_repeat.min(MAX_COLUMNS.saturating_sub(row.len()));
                    cells += n;
                    row.extend(std::iter::repeat_n(value, n));
                }
            }
            b"table-row" => {
                if let Some(t) = tables.last_mut() {
                    let n = if row.is_empty() { 1 } else { row_repeat };
                    for _ in 0..n {
                        cells += row.len();
                        if cells > MAX_CELLS {
                            break;
                        }
                        t.rows.push(row.clone());
                    }
                }
            }
            b"table" => {
                if let Some(t) = tables.last_mut() {
                    while t.rows.last().is_some_and(|r| r.is_empty()) {
                        t.rows.pop();
                    }
                }
            }
            _ => {}
        },
        Node::Text(t) if in_cell && skip == 0 => text.push_str(&t),
        Node::Text(_) => {}
    })?;
    if cells > MAX_CELLS {
        return Err(too_many_cells("spreadsheet"));
    }
    within_pages(tables.len(), "spreadsheet", "sheets", limits)?;
    Ok(tables)
}
