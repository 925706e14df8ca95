//! Office and web formats, read for their text in the reader process like every other untrusted
//! file: Word, Excel and PowerPoint (OOXML), OpenDocument text, spreadsheets and presentations,
//! RTF, HTML, and e-mail messages (`.eml`, Outlook `.msg`).
//!
//! Bounds, as for PDFs: an archive's members are inflated through a counter that stops at
//! `limits.max_decoded` whatever sizes the archive declares (a zip bomb stops there); XML with a
//! DOCTYPE is refused (Office files never declare entities, so a billion-laughs file ends at its
//! first line); parsing is streaming, so nesting costs no stack; sheets and slides count as pages
//! against `limits.max_pages`, and repeated rows and cells (ODF's `number-rows-repeated`) are
//! expanded only while they hold something.
//!
//! A spreadsheet's rows come out as text (cells separated by tabs, a sheet a page, as
//! LibreOffice's CSV export lays them out) and as [`Table`]s, for extractors and bots.

mod archive;
mod html;
pub mod message;
mod odf;
mod ooxml;
mod rtf;
mod xml;

use super::{Limits, Page, Unreadable};
use serde::{Deserialize, Serialize};

pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
pub const ODT: &str = "application/vnd.oasis.opendocument.text";
pub const ODS: &str = "application/vnd.oasis.opendocument.spreadsheet";
pub const ODP: &str = "application/vnd.oasis.opendocument.presentation";
pub const RTF: &str = "application/rtf";
pub const HTML: &str = "text/html";
pub const EML: &str = "message/rfc822";
pub const MSG: &str = "application/vnd.ms-outlook";
/// A ZIP archive not yet told apart (an OOXML file named without its extension).
pub const ZIP: &str = "application/zip";

/// Every media type this module reads.
pub const TYPES: &[&str] = &[DOCX, XLSX, PPTX, ODT, ODS, ODP, RTF, HTML, EML, MSG, ZIP];

/// One sheet's rows as read: cells as shown (numbers as written, dates as ISO dates).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Table {
    pub name: String,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Default)]
pub struct Office {
    /// The exact type, once the archive's contents have told it.
    pub media_type: &'static str,
    pub pages: Vec<Page>,
    pub tables: Vec<Table>,
}

/// What a file's first bytes and name say it is, among these formats.
pub fn sniff(head: &[u8], name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if head.starts_with(b"PK\x03\x04") {
        // ODF stores its media type uncompressed as the first member, `mimetype`.
        if head.get(30..38) == Some(b"mimetype") {
            let rest = &head[38..];
            for (t, odf) in [(ODT, "opendocument.text"), (ODS, "opendocument.spreadsheet"), (ODP, "opendocument.presentation")] {
                if rest.starts_with(b"application/vnd.oasis.") && memchr::memmem::find(&rest[..rest.len().min(64)], odf.as_bytes()).is_some() {
                    return Some(t);
                }
            }
        }
        return Some(match ext {
            "docx" | "docm" => DOCX,
            "xlsx" | "xlsm" => XLSX,
            "pptx" | "pptm" => PPTX,
            "odt" => ODT,
            "ods" => ODS,
            "odp" => ODP,
            _ => ZIP,
        });
    }
    if head.starts_with(b"{\\rtf") {
        return Some(RTF);
    }
    if head.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        // A compound file: Outlook messages, and the Office 97-2003 formats (told apart inside).
        return Some(MSG);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = text.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(text.len());
    let lead = String::from_utf8_lossy(&text[start..text.len().min(start + 64)]).to_ascii_lowercase();
    if lead.starts_with("<!doctype html") || lead.starts_with("<html") || matches!(ext, "html" | "htm") && lead.starts_with('<') {
        return Some(HTML);
    }
    if ext == "eml" || (ext != "txt" && looks_like_message(text)) {
        return Some(EML);
    }
    None
}

/// The usual file extension of one of [`TYPES`].
pub fn extension(media_type: &str) -> &'static str {
    match media_type {
        DOCX => "docx",
        XLSX => "xlsx",
        PPTX => "pptx",
        ODT => "odt",
        ODS => "ods",
        ODP => "odp",
        RTF => "rtf",
        HTML => "html",
        EML => "eml",
        MSG => "msg",
        _ => "zip",
    }
}

/// A message's header block: its first line a header field every mail has.
fn looks_like_message(head: &[u8]) -> bool {
    const FIELDS: &[&str] = &["return-path:", "received:", "from:", "message-id:", "mime-version:", "delivered-to:", "date:", "x-"];
    let first = String::from_utf8_lossy(&head[..head.len().min(200)]).to_ascii_lowercase();
    let has_from = first.contains("\nfrom:") || first.starts_with("from:");
    FIELDS.iter().any(|f| first.starts_with(f)) && (has_from || head.windows(9).any(|w| w.eq_ignore_ascii_case(b"\nsubject:")))
}

/// Reads a file of one of [`TYPES`].
pub fn read(bytes: &[u8], media_type: &str, limits: &Limits) -> Result<Office, Unreadable> {
    let office = match media_type {
        DOCX | XLSX | PPTX | ODT | ODS | ODP | ZIP => {
            let mut zip = archive::Archive::open(bytes, limits)?;
            if zip.has("mimetype") && zip.has("content.xml") {
                odf::read(&mut zip, limits)?
            } else if zip.has("word/document.xml") {
                ooxml::docx(&mut zip)?
            } else if zip.has("xl/workbook.xml") {
                ooxml::xlsx(&mut zip, limits)?
            } else if zip.has("ppt/presentation.xml") {
                ooxml::pptx(&mut zip, limits)?
            } else {
                return Err(Unreadable(
                    "the file is a ZIP archive but no Word, Excel, PowerPoint or OpenDocument file; clerk does not unpack archives, send the documents themselves".into(),
                ));
            }
        }
        RTF => one_page(RTF, rtf::text(bytes)?),
        HTML => one_page(HTML, html::text(bytes)?),
        EML => one_page(EML, message::eml(bytes)?),
        MSG => one_page(MSG, message::msg(bytes)?),
        other => return Err(Unreadable(format!("clerk does not read {other} files"))),
    };
    within_pages(office.pages.len(), "file", "sheets or slides", limits)?;
    Ok(office)
}

/// Cells one spreadsheet may hold, all sheets together, repeated ones included (a full screen of
/// real data is a few thousand; the largest real remittance files a few hundred thousand).
const MAX_CELLS: usize = 5_000_000;
/// Columns a sheet has (Excel's own limit, XFD).
const MAX_COLUMNS: usize = 16_384;

fn too_many_cells(file: &str) -> Unreadable {
    Unreadable(format!(
        "the {file} holds more than {MAX_CELLS} cells, more than clerk reads from one file; split it or send the part that matters"
    ))
}

/// Sheets and slides count as pages: `count` of them (`what`) in a `file` over `max_pages` is
/// refused, checked as soon as the count is known.
fn within_pages(count: usize, file: &str, what: &str, limits: &Limits) -> Result<(), Unreadable> {
    if count > limits.max_pages {
        return Err(Unreadable(format!(
            "the {file} has {count} {what}, over the limit of {} (limits.max_pages)",
            limits.max_pages
        )));
    }
    Ok(())
}

fn one_page(media_type: &'static str, text: String) -> Office {
    Office { media_type, pages: vec![Page { number: 1, text, ..Page::default() }], tables: vec![] }
}

/// Pages from texts, numbered from 1.
fn pages(texts: Vec<String>) -> Vec<Page> {
    texts.into_iter().enumerate().map(|(i, text)| Page { number: i as u32 + 1, text, ..Page::default() }).collect()
}

/// A table's rows as text: cells separated by tabs, trailing empty cells and rows dropped.
fn table_text(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in rows {
        let used = row.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
        out.push_str(&row[..used].join("\t"));
        out.push('\n');
    }
    out.trim_end_matches('\n').to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_first_bytes_and_name() {
        assert_eq!(sniff(b"PK\x03\x04rest", "advice.xlsx"), Some(XLSX));
        assert_eq!(sniff(b"PK\x03\x04rest", "noname"), Some(ZIP));
        assert_eq!(sniff(b"{\\rtf1\\ansi", "letter"), Some(RTF));
        assert_eq!(sniff(b"\n<!DOCTYPE html><html>", "mail"), Some(HTML));
        assert_eq!(sniff(b"Return-Path: <a@b>\r\nFrom: A <a@b>\r\nSubject: x\r\n", "message"), Some(EML));
        assert_eq!(sniff(b"Invoice 12\nTotal 3.00\n", "invoice.txt"), None);
    }

    #[test]
    fn a_table_is_text_with_tabs() {
        let rows = vec![vec!["Invoice".into(), "4711".into(), String::new()], vec![], vec!["Total".into(), "99.00".into()]];
        assert_eq!(table_text(&rows), "Invoice\t4711\n\nTotal\t99.00\n");
    }
}
