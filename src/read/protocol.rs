//! The wire between the daemon and a reader process, over the reader's stdin and stdout.
//!
//! A request is a frame: `u32` little-endian length + JSON [`Request`], then `u64` length + the
//! document's bytes. A reply is `u64` length + JSON [`Reply`]. One request at a time per reader;
//! the reader writes nothing else to stdout (its stderr goes to the daemon's log).

use super::{Extracted, Limits};
use serde::{Deserialize, Serialize};
use std::io::{self, Read};

/// What a reader writes once it has started, sandboxed itself and is ready for documents. A
/// reader that dies before saying it is a broken installation, not a document's fault.
pub const READY: &[u8; 8] = b"CLERKRD1";

/// Largest request header the reader accepts; anything larger is a broken peer.
const MAX_HEADER: u32 = 1 << 20;
/// Largest reply: a document's text and word boxes. The reader refuses a document whose reply
/// would be larger (with a sentence), so no document can swell the daemon that receives it.
pub const MAX_REPLY: u64 = 64 << 20;

/// Largest reply the daemon takes: [`MAX_REPLY`], or a part PDF cut from a file within
/// `max_file_size` (a part is never larger than its batch), in base64.
pub fn max_reply(limits: &Limits) -> u64 {
    MAX_REPLY.max(limits.max_file_size.saturating_mul(4) / 3 + (1 << 20))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// The file name as received (only to tell plain text from junk).
    pub name: String,
    /// Tesseract languages, `eng` or `eng+deu`.
    pub languages: String,
    pub limits: Limits,
    /// The document as a file the reader reads itself (readers may read files, never write
    /// them): no copy through the pipe, whose body is then empty.
    #[serde(default)]
    pub path: Option<std::path::PathBuf>,
    /// Instead of reading the document, draw this page (from 1) as a PNG for people to look at.
    #[serde(default)]
    pub render: Option<u32>,
    /// Clockwise degrees to turn the drawn page by: the turn OCR read it with (`Page::turned`).
    #[serde(default)]
    pub turn: u32,
    /// Instead of reading the document, cut these pages (from 1, in this order) out of the PDF
    /// into a PDF of their own: one document of a split batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Vec<u32>>,
    /// Read barcodes on text-layer pages too, which costs a render per page (scans and images
    /// are drawn for OCR anyway, and always looked at).
    #[serde(default)]
    pub barcodes_on_text_pages: bool,
}

/// A page drawn for the web page beside an item: a PNG, and the page's size in the points its
/// word boxes are measured in (an image's pixels count as 1/300 inch, as OCR took them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PageImage {
    pub png: Vec<u8>,
    pub width_pt: f64,
    pub height_pt: f64,
    /// Pages the drawn file has (an Office file's pages as LibreOffice lays them out).
    #[serde(default)]
    pub pages: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Reply {
    Read(Extracted),
    /// A sentence for the agent.
    Unreadable(String),
    Image(PageImage),
    /// A PDF cut from the document (`Request::part`).
    Part(#[serde(with = "base64_bytes")] Vec<u8>),
}

/// Bytes as base64 in the JSON reply: a part PDF of tens of MiB as a JSON array of numbers would
/// be four times its size.
mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <&str>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A request's frame up to its body, which follows: `body_len` bytes of the document.
pub fn encode_request_head(request: &Request, body_len: u64) -> Vec<u8> {
    let header = serde_json::to_vec(request).expect("a request serialises");
    let mut out = Vec::with_capacity(12 + header.len());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&body_len.to_le_bytes());
    out
}

#[cfg(test)]
fn encode_request(request: &Request, bytes: &[u8]) -> Vec<u8> {
    let mut out = encode_request_head(request, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

/// Reads the next request; `None` when the daemon closed the pipe (time to exit).
pub fn read_request(r: &mut impl Read, max_body: u64) -> io::Result<Option<(Request, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "request header too large"));
    }
    let mut header = vec![0; len as usize];
    r.read_exact(&mut header)?;
    let request: Request =
        serde_json::from_slice(&header).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > max_body.max(request.limits.max_file_size) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "request body over the size limit"));
    }
    let mut bytes = vec![0; len as usize];
    r.read_exact(&mut bytes)?;
    Ok(Some((request, bytes)))
}

/// The reply's frame; one over [`MAX_REPLY`] (a part PDF: over `max_file_size`) becomes an
/// `Unreadable` saying so.
pub fn encode_reply(reply: &Reply, max_file_size: u64) -> Vec<u8> {
    let mut body = serde_json::to_vec(reply).expect("a reply serialises");
    if let Reply::Part(pdf) = reply {
        if pdf.len() as u64 > max_file_size {
            let too_much = Reply::Unreadable(format!(
                "the document cut from this batch would be {} bytes, over the limit of {max_file_size} bytes (limits.max_file_size)",
                pdf.len()
            ));
            body = serde_json::to_vec(&too_much).expect("a reply serialises");
        }
    } else if body.len() as u64 > MAX_REPLY {
        let too_much = Reply::Unreadable(format!(
            "clerk stopped reading this file: its text and word positions come to more than {} MiB, more than clerk keeps for one document",
            MAX_REPLY >> 20
        ));
        body = serde_json::to_vec(&too_much).expect("a reply serialises");
    }
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn decode_reply(body: &[u8]) -> io::Result<Reply> {
    serde_json::from_slice(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips() {
        let req = Request { name: "a.pdf".into(), languages: "eng".into(), limits: Limits::default(), path: None, render: None, turn: 0, part: None, barcodes_on_text_pages: false };
        let frame = encode_request(&req, b"%PDF-1.4 body");
        let (back, bytes) = read_request(&mut &frame[..], 1 << 20).unwrap().unwrap();
        assert_eq!(back.name, "a.pdf");
        assert_eq!(bytes, b"%PDF-1.4 body");
        assert!(read_request(&mut &[][..], 1 << 20).unwrap().is_none(), "a closed pipe is the end, not an error");
    }

    #[test]
    fn an_oversized_body_is_refused_before_it_is_allocated() {
        let limits = Limits { max_file_size: 4, ..Limits::default() };
        let req = Request { name: "a".into(), languages: "eng".into(), limits, path: None, render: None, turn: 0, part: None, barcodes_on_text_pages: false };
        let frame = encode_request(&req, b"12345");
        assert!(read_request(&mut &frame[..], 4).is_err());
    }

    #[test]
    fn a_reply_too_large_for_the_daemon_becomes_a_reason() {
        let page = crate::read::Page { number: 1, text: "x".repeat(MAX_REPLY as usize + 1), ..Default::default() };
        let reply = Reply::Read(crate::read::Extracted { media_type: "application/pdf".into(), pages: vec![page], einvoice: None, tables: vec![] });
        let frame = encode_reply(&reply, u64::MAX);
        assert!(frame.len() < 1024);
        match decode_reply(&frame[8..]).unwrap() {
            Reply::Unreadable(r) => assert!(r.contains("more than 64 MiB"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reply_round_trips() {
        let reply = Reply::Unreadable("the PDF is encrypted".into());
        let frame = encode_reply(&reply, u64::MAX);
        assert_eq!(decode_reply(&frame[8..]).unwrap(), reply);
    }
}
