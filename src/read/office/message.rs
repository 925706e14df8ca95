//! E-mail messages dropped in as files: `.eml` (MIME, through mail-parser) and Outlook's `.msg`
//! (a compound file of MAPI properties). The text is the headers people read (from, to, date,
//! subject), the body (HTML bodies as text), and the names of the attachments.
//!
//! A message that arrives through a mailbox is split into its attachments by the mail intake; a
//! message file dropped into a folder is one document, read here.

use crate::read::Unreadable;
use std::io::Read;

pub fn eml(bytes: &[u8]) -> Result<String, Unreadable> {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| Unreadable("the message cannot be parsed as an e-mail (no headers or a broken structure)".into()))?;
    let attachments: Vec<String> = msg.attachments().filter_map(|p| p.attachment_name().map(str::to_string)).collect();
    Ok(compose(
        &addresses(msg.from()),
        &addresses(msg.to()),
        &msg.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        msg.subject().unwrap_or(""),
        &msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        &attachments,
    ))
}

/// A header's addresses as people write them: `Name <address>, …`.
pub fn addresses(a: Option<&mail_parser::Address>) -> String {
    a.map(|a| {
        a.iter()
            .map(|x| match (&x.name, &x.address) {
                (Some(n), Some(ad)) => format!("{n} <{ad}>"),
                (None, Some(ad)) => ad.to_string(),
                (Some(n), None) => n.to_string(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

fn compose(from: &str, to: &str, date: &str, subject: &str, body: &str, attachments: &[String]) -> String {
    let mut out = String::new();
    for (label, value) in [("From", from), ("To", to), ("Date", date), ("Subject", subject)] {
        if !value.is_empty() {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    out.push('\n');
    out.push_str(body.trim_end());
    out.push('\n');
    if !attachments.is_empty() {
        out.push_str(&format!("\nAttachments: {}\n", attachments.join(", ")));
    }
    out
}

/// An Outlook message: its MAPI properties are streams named `__substg1.0_TTTTFFFF` (tag, then
/// the type: `001F` UTF-16, `001E` 8-bit).
pub fn msg(bytes: &[u8]) -> Result<String, Unreadable> {
    let damaged = |e: std::io::Error| {
        eprintln!("msg: {e}");
        Unreadable("the Outlook message is damaged or truncated; ask the sender for it again".into())
    };
    let mut file = cfb::CompoundFile::open(std::io::Cursor::new(bytes)).map_err(damaged)?;
    let is_message = file.is_stream("/__properties_version1.0") || file.exists("/__substg1.0_0037001F") || file.exists("/__substg1.0_1000001F");
    if !is_message {
        return Err(Unreadable(
            "the file is an Office 97–2003 document (.doc, .xls or .ppt), which clerk does not read; save it as .docx, .xlsx or .pptx, or as PDF".into(),
        ));
    }
    let dirs: Vec<String> = file
        .read_root_storage()
        .filter(|e| e.is_storage() && e.name().starts_with("__attach_version1.0_"))
        .map(|e| format!("/{}", e.name()))
        .take(1000)
        .collect();
    let limit = bytes.len() as u64;
    let mut property = |dir: &str, tag: &str| -> Option<String> {
        for (suffix, wide) in [("001F", true), ("001E", false)] {
            let path = format!("{dir}/__substg1.0_{tag}{suffix}");
            if !file.is_stream(&path) {
                continue;
            }
            let mut raw = Vec::new();
            file.open_stream(&path).ok()?.take(limit).read_to_end(&mut raw).ok()?;
            let text = if wide {
                let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
                String::from_utf16_lossy(&units)
            } else {
                raw.iter().map(|&b| b as char).collect()
            };
            return Some(text.trim_end_matches('\0').to_string());
        }
        None
    };
    let subject = property("", "0037").unwrap_or_default();
    let from = match (property("", "0C1A"), property("", "0C1F")) {
        (Some(n), Some(a)) if n != a => format!("{n} <{a}>"),
        (n, a) => n.or(a).unwrap_or_default(),
    };
    let to = property("", "0E04").unwrap_or_default();
    let body = property("", "1000").unwrap_or_default();
    let attachments: Vec<String> = dirs.iter().filter_map(|d| property(d, "3707").or_else(|| property(d, "3704"))).collect();
    Ok(compose(&from, &to, "", &subject, &body, &attachments))
}
