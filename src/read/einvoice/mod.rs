//! E-invoice XML (UN/CEFACT CII D16B, ZUGFeRD 1.0, UBL 2.1 Invoice and CreditNote) read into the
//! invoice model. Runs in the reader process: the XML is untrusted input. No DTD is processed
//! (so no entity expansion and no external entity: billion laughs and XXE end at the DOCTYPE),
//! nodes and depth are bounded, and every refusal is a sentence.

mod cii;
mod tree;
mod ubl;

use crate::invoice::{Invoice, Syntax};
use crate::read::Unreadable;
use std::borrow::Cow;

/// More elements than any e-invoice has (a 10,000-line invoice has about 300,000).
const MAX_ELEMENTS: u32 = 4_000_000;
/// E-invoices nest fewer than 20 levels.
const MAX_DEPTH: usize = 100;

const CII_NS: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const ZUGFERD1_NS: &str = "urn:ferd:CrossIndustryDocument:invoice:1p0";
const UBL_INVOICE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const UBL_CREDIT_NOTE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";

/// Whether `bytes` look like an XML document (a declaration, or a root element in a file named
/// `.xml`), judged by the first bytes only.
pub fn looks_like_xml(bytes: &[u8], name: &str) -> bool {
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if b.starts_with(b"\xff\xfe<\0") || b.starts_with(b"\xfe\xff\0<") {
        return true;
    }
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let b = &b[start..];
    b.starts_with(b"<?xml") || (b.starts_with(b"<") && name.to_ascii_lowercase().ends_with(".xml"))
}

/// Which e-invoice syntax an XML document is, by its root element and namespace, without
/// parsing more than the start of the document. `None`: not an e-invoice.
pub fn detect(bytes: &[u8]) -> Option<Syntax> {
    let head = &bytes[..bytes.len().min(8192)];
    let text = String::from_utf8_lossy(head);
    // The root element: the first start tag that is no declaration, comment or PI.
    let mut rest = text.as_ref();
    let root = loop {
        let i = rest.find('<')?;
        rest = &rest[i..];
        if rest.starts_with("<?") {
            rest = &rest[rest.find("?>")? + 2..];
        } else if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->")? + 3..];
        } else if rest.starts_with("<!") {
            return None;
        } else {
            break &rest[1..rest.find('>').unwrap_or(rest.len())];
        }
    };
    let name = root.split(|c: char| c.is_whitespace() || c == '/').next()?;
    let local = name.rsplit(':').next()?;
    let ns = |uri: &str| root.contains(uri);
    match local {
        "CrossIndustryInvoice" if ns(CII_NS) => Some(Syntax::Cii),
        "CrossIndustryDocument" if ns(ZUGFERD1_NS) => Some(Syntax::Zugferd1),
        "Invoice" if ns(UBL_INVOICE_NS) => Some(Syntax::Ubl),
        "CreditNote" if ns(UBL_CREDIT_NOTE_NS) => Some(Syntax::Ubl),
        _ => None,
    }
}

/// Reads an e-invoice. The sentence of an `Unreadable` names what is wrong with the file.
pub fn parse(bytes: &[u8]) -> Result<Invoice, Unreadable> {
    let text = decode(bytes)?;
    if has_doctype(&text) {
        return Err(Unreadable(
            "the XML declares a document type (<!DOCTYPE …>), which no e-invoice does; clerk does not process DTDs \
             (entity expansion and external entities are how XML attacks work), so it reads no further"
                .into(),
        ));
    }
    let tree = tree::Tree::parse(&text, MAX_DEPTH, MAX_ELEMENTS).map_err(|refused| match refused {
        tree::Refused::Doctype => Unreadable("the XML declares a document type, which clerk does not process".into()),
        tree::Refused::TooDeep(max) => Unreadable(format!(
            "the XML nests elements more than {max} deep; e-invoices nest fewer than 20 levels, so clerk reads no further"
        )),
        tree::Refused::TooManyElements(max) => Unreadable(format!(
            "the XML has more than {max} elements, far more than any e-invoice; clerk stops reading it"
        )),
        tree::Refused::NotUtf8(at) => Unreadable(format!(
            "the XML is not valid UTF-8 (byte {at} is not), although UTF-8 is what it declares or defaults to"
        )),
        tree::Refused::Malformed(why) => Unreadable(format!("the XML is not well-formed: {why}")),
    })?;
    let root = tree.root();
    let (local, ns) = (root.name(), tree.root_namespace().unwrap_or(""));
    match (local, ns) {
        ("CrossIndustryInvoice", CII_NS) => Ok(cii::read(root, Syntax::Cii)),
        ("CrossIndustryDocument", ZUGFERD1_NS) => Ok(cii::read(root, Syntax::Zugferd1)),
        ("Invoice", UBL_INVOICE_NS) | ("CreditNote", UBL_CREDIT_NOTE_NS) => Ok(ubl::read(root)),
        ("CrossIndustryInvoice" | "CrossIndustryDocument" | "Invoice" | "CreditNote", _) => Err(Unreadable(format!(
            "the XML's root element <{local}> is in namespace \"{ns}\", not in {}; it is not an e-invoice clerk reads",
            expected_namespace(local)
        ))),
        _ => Err(Unreadable(format!(
            "the XML is not an e-invoice: its root element is <{local}>{}; clerk reads UN/CEFACT CII (CrossIndustryInvoice), \
             ZUGFeRD 1.0 (CrossIndustryDocument) and UBL 2.1 (Invoice, CreditNote)",
            if ns.is_empty() { String::new() } else { format!(" in namespace \"{ns}\"") }
        ))),
    }
}

fn expected_namespace(local: &str) -> &'static str {
    match local {
        "CrossIndustryInvoice" => CII_NS,
        "CrossIndustryDocument" => ZUGFERD1_NS,
        "Invoice" => UBL_INVOICE_NS,
        _ => UBL_CREDIT_NOTE_NS,
    }
}

/// A DOCTYPE before the root element (whitespace, comments and PIs may precede it).
fn has_doctype(text: &[u8]) -> bool {
    let mut rest = text;
    loop {
        let Some(i) = memchr::memchr(b'<', rest) else { return false };
        rest = &rest[i..];
        if rest.starts_with(b"<!DOCTYPE") || rest.starts_with(b"<!doctype") {
            return true;
        }
        let end = if rest.starts_with(b"<?") {
            memchr::memmem::find(rest, b"?>").map(|e| e + 2)
        } else if rest.starts_with(b"<!--") {
            memchr::memmem::find(rest, b"-->").map(|e| e + 3)
        } else {
            return false;
        };
        match end {
            Some(e) => rest = &rest[e..],
            None => return false,
        }
    }
}

/// The document as UTF-8: UTF-8 (with or without a byte order mark; checked where it is read,
/// so the base64 of attachments is not gone over twice), UTF-16 with one, or the single-byte
/// ISO-8859-1 / Windows-1252 a declaration names.
fn decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, Unreadable> {
    if let Some(b) = bytes.strip_prefix(b"\xff\xfe").or_else(|| bytes.strip_prefix(b"\xfe\xff")) {
        let le = bytes.starts_with(b"\xff\xfe");
        let units: Vec<u16> =
            b.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }).collect();
        let s = String::from_utf16(&units).map_err(|_| Unreadable("the XML says it is UTF-16 but is not valid UTF-16".into()))?;
        return Ok(Cow::Owned(strip_encoding(s).into_bytes()));
    }
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let decl = &b[..b.len().min(200)];
    let decl = String::from_utf8_lossy(decl).to_ascii_lowercase();
    let declared = decl
        .strip_prefix("<?xml")
        .and_then(|d| d.split("?>").next())
        .and_then(|d| d.split("encoding").nth(1))
        .and_then(|d| d.split(['"', '\'']).nth(1))
        .map(str::to_string);
    match declared.as_deref() {
        None | Some("utf-8" | "utf8") => Ok(Cow::Borrowed(b)),
        Some("iso-8859-1" | "latin1" | "iso-8859-15" | "windows-1252" | "cp1252") => {
            Ok(Cow::Owned(strip_encoding(b.iter().map(|&c| c as char).collect()).into_bytes()))
        }
        Some(other) => Err(Unreadable(format!("the XML is encoded as {other}, which clerk does not read (UTF-8, UTF-16, ISO-8859-1)"))),
    }
}

/// The text was re-encoded as UTF-8: its declaration must not claim otherwise.
fn strip_encoding(s: String) -> String {
    let s = s.trim_start_matches('\u{feff}').to_string();
    if let (true, Some(end)) = (s.starts_with("<?xml"), s.find("?>")) {
        return s[end + 2..].to_string();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_by_name_and_namespace() {
        let cii = format!("<?xml version='1.0'?><!-- x --><rsm:CrossIndustryInvoice xmlns:rsm=\"{CII_NS}\"/>");
        assert_eq!(detect(cii.as_bytes()), Some(Syntax::Cii));
        let ubl = format!("<CreditNote xmlns=\"{UBL_CREDIT_NOTE_NS}\"></CreditNote>");
        assert_eq!(detect(ubl.as_bytes()), Some(Syntax::Ubl));
        assert_eq!(detect(b"<Invoice xmlns=\"urn:example\"/>"), None);
        assert_eq!(detect(b"<html/>"), None);
        let wrong = parse(b"<Invoice xmlns=\"urn:example\"/>").unwrap_err().0;
        assert!(wrong.contains("namespace \"urn:example\", not in urn:oasis"), "{wrong}");
        let other = parse(b"<?xml version=\"1.0\"?><catalog/>").unwrap_err().0;
        assert!(other.contains("not an e-invoice: its root element is <catalog>"), "{other}");
        let broken = parse(b"<?xml version=\"1.0\"?><Invoice><a></Invoice>").unwrap_err().0;
        assert!(broken.starts_with("the XML is not well-formed"), "{broken}");
    }

    #[test]
    fn no_dtd_no_entities() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>";
        assert!(parse(laughs.as_bytes()).unwrap_err().0.contains("document type"));
        let xxe = "<?xml version=\"1.0\"?>\n<!-- c --><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>";
        assert!(parse(xxe.as_bytes()).unwrap_err().0.contains("document type"));
        // An entity used without a declaration is no expansion either.
        assert!(parse(b"<x>&e;</x>").unwrap_err().0.contains("not well-formed"));
    }

    #[test]
    fn deep_nesting_is_refused_with_its_depth() {
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let why = parse(deep.as_bytes()).unwrap_err().0;
        assert!(why.contains("more than 100 deep"), "{why}");
    }

    #[test]
    fn encodings() {
        assert!(looks_like_xml(b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "x"));
        assert!(looks_like_xml(b"  <Invoice/>", "inv.XML"));
        assert!(!looks_like_xml(b"<b>bold</b> text", "notes.txt"));
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><x>M\xfcller</x>";
        let text = String::from_utf8(decode(latin).unwrap().into_owned()).unwrap();
        assert!(text.contains("Müller") && !text.contains("ISO"), "{text}");
        let bad = parse(b"<?xml version=\"1.0\"?><Invoice>M\xfcller</Invoice>").unwrap_err().0;
        assert!(bad.contains("not valid UTF-8 (byte 31 is not)"), "{bad}");
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><x/>").unwrap_err().0.contains("ebcdic"));
    }
}
