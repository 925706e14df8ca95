//! E-mail, whatever mailbox it comes from: parsing a message (mail-parser: MIME, RFC 2047
//! headers, quoted-printable and base64, charsets, nested `message/rfc822`, HTML bodies as text)
//! and the rules that decide what to take from it.

use mail_parser::{MessageParser, MimeHeaders};
use std::sync::{Arc, RwLock};

/// What every mailbox source applies to each message: the rules and the limits in force. The
/// daemon replaces them when its settings are reloaded; a message is taken under one version.
#[derive(Clone)]
pub struct Policy(Arc<RwLock<Arc<InForce>>>);

pub struct InForce {
    pub rules: Vec<Rule>,
    pub limits: crate::read::Limits,
}

impl Policy {
    pub fn new(rules: Vec<Rule>, limits: crate::read::Limits) -> Policy {
        Policy(Arc::new(RwLock::new(Arc::new(InForce { rules, limits }))))
    }
    /// The rules and limits in force now.
    pub fn current(&self) -> Arc<InForce> {
        self.0.read().expect("mail policy lock").clone()
    }
    pub fn replace(&self, rules: Vec<Rule>, limits: crate::read::Limits) {
        *self.0.write().expect("mail policy lock") = Arc::new(InForce { rules, limits });
    }
}

pub use crate::config::mail_rules::{Action, Glob, Pattern, Rule, Take};

/// A message as clerk sees it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub message_id: Option<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    /// RFC 3339, when the message has a valid Date.
    pub date: Option<String>,
    pub date_ts: Option<i64>,
    /// The text body (HTML converted to text when there is no plain part).
    pub text: String,
    pub parts: Vec<Part>,
    /// S/MIME or PGP: nothing inside can be read.
    pub encrypted: bool,
}

#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub bytes: Vec<u8>,
    pub inline: bool,
}

/// Parses a raw message. `Err` is a sentence for the exception queue.
pub fn parse(raw: &[u8]) -> Result<Mail, String> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the message is empty (0 bytes of content)".into());
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "the message cannot be parsed as MIME (no headers or a broken structure)".to_string())?;
    let has_mail_headers = msg.from().is_some()
        || msg.to().is_some()
        || msg.subject().is_some()
        || msg.date().is_some()
        || msg.message_id().is_some();
    if !has_mail_headers {
        return Err("the message has none of the headers an e-mail has (From, To, Subject, Date, Message-ID): \
                    it is not an e-mail, or its headers are damaged"
            .into());
    }
    let addr = crate::read::office::message::addresses;
    let ctype = msg.content_type().map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))).unwrap_or_default();
    let encrypted = matches!(
        ctype.to_ascii_lowercase().as_str(),
        "multipart/encrypted" | "application/pkcs7-mime" | "application/x-pkcs7-mime"
    );
    let mut parts = vec![];
    collect_parts(&msg, &mut parts)?;
    Ok(Mail {
        message_id: msg.message_id().map(str::to_string),
        from: addr(msg.from()),
        to: addr(msg.to()),
        subject: msg.subject().unwrap_or("").to_string(),
        date: msg.date().map(|d| d.to_rfc3339()),
        date_ts: msg.date().map(|d| d.to_timestamp()),
        text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        parts,
        encrypted,
    })
}

/// Attachments of `msg`; a forwarded message (`message/rfc822`) gives its own attachments, or
/// itself as an `.eml` when it has none.
fn collect_parts(msg: &mail_parser::Message, parts: &mut Vec<Part>) -> Result<(), String> {
    for part in msg.attachments() {
        let inline = part.content_disposition().is_some_and(|d| d.is_inline());
        if let Some(inner) = part.message() {
            let before = parts.len();
            collect_parts(inner, parts)?;
            if parts.len() == before {
                let name = part
                    .attachment_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}.eml", inner.subject().unwrap_or("attached message")));
                parts.push(Part { name: sanitize(&name), bytes: inner.raw_message().to_vec(), inline });
            }
            continue;
        }
        let name = match part.attachment_name() {
            Some(name) => name.to_string(),
            None if inline => continue, // an inline image without a name is decoration
            None => format!("attachment-{}", parts.len() + 1),
        };
        let bytes =
            decoded(part).map_err(|why| format!("the attachment {} cannot be decoded: {why}", sanitize(&name)))?;
        parts.push(Part { name: sanitize(&name), bytes, inline });
    }
    Ok(())
}

/// A part's bytes. mail-parser leaves a base64 part undecoded when its MIME structure is broken
/// (a boundary that never closes): decode it here rather than keep the base64 text as the
/// document.
fn decoded(part: &mail_parser::MessagePart) -> Result<Vec<u8>, String> {
    let declared = part.content_transfer_encoding().map(str::to_ascii_lowercase);
    if declared.as_deref() != Some("base64") || part.encoding == mail_parser::Encoding::Base64 {
        return Ok(part.contents().to_vec());
    }
    base64_decode(part.contents()).ok_or_else(|| {
        "it is declared base64 but is not, and the message's MIME structure is broken (a boundary that is never closed?)".into()
    })
}

/// Standard base64, line breaks and other whitespace ignored; `None` on any other character.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            break;
        }
        acc = (acc << 6) | value(c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A file name from a sender is only a name: no folders, no control characters.
fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    if clean.trim().is_empty() {
        "attachment".into()
    } else {
        clean
    }
}

/// What the rules decided for one message.
#[derive(Debug)]
pub struct Decision<'r> {
    /// The first matching rule (its action and doctype apply).
    pub rule: &'r Rule,
    /// Indexes into `Mail::parts` to take, and whether to take the body and the whole message.
    pub parts: Vec<usize>,
    pub body: bool,
    pub eml: bool,
}

/// Evaluates `rules` in order for a message of `account`; `None` when no rule matches.
pub fn decide<'r>(rules: &'r [Rule], account: &str, mail: &Mail, now_ts: i64) -> Option<Decision<'r>> {
    let mut decision: Option<Decision<'r>> = None;
    for rule in rules {
        if !rule.accounts.is_empty() && !rule.accounts.iter().any(|a| a == account) {
            continue;
        }
        let matches = |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.0.is_match(v));
        if !(matches(&rule.from, &mail.from)
            && matches(&rule.to, &mail.to)
            && matches(&rule.subject, &mail.subject)
            && matches(&rule.body, &mail.text))
        {
            continue;
        }
        if let (Some(max), Some(ts)) = (rule.max_age, mail.date_ts) {
            if now_ts - ts > max.as_secs() as i64 {
                continue;
            }
        }
        let named = |p: &Part| rule.attachment.is_empty() || rule.attachment.iter().any(|g| g.0.is_match(&p.name));
        if !rule.attachment.is_empty() && !mail.parts.iter().any(named) {
            continue;
        }
        let d = decision.get_or_insert_with(|| Decision { rule, parts: vec![], body: false, eml: false });
        for (i, p) in mail.parts.iter().enumerate() {
            let wanted =
                if p.inline { rule.take.contains(&Take::Inline) } else { rule.take.contains(&Take::Attachments) };
            if wanted && named(p) && !d.parts.contains(&i) {
                d.parts.push(i);
            }
        }
        d.body |= rule.take.contains(&Take::Body) && mail.parts.iter().all(|p| p.inline);
        d.eml |= rule.take.contains(&Take::Eml);
        if !rule.proceed {
            break;
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Vec<Rule> {
        #[derive(serde::Deserialize)]
        struct R {
            rules: Vec<Rule>,
        }
        toml::from_str::<R>(toml_text).unwrap().rules
    }

    const MAIL: &[u8] = b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <billing@acme.example>\r\nTo: ap@clerk.example\r\nSubject: =?utf-8?b?UmVjaG51bmcgTnIuIDQy?=\r\nMessage-ID: <42@acme.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe\r\n--b\r\nContent-Type: application/pdf; name=\"../../inv 42.pdf\"\r\nContent-Disposition: attachment; filename=\"../../inv 42.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";

    #[test]
    fn headers_bodies_and_attachments_are_decoded() {
        let m = parse(MAIL).unwrap();
        assert_eq!(m.from, "Jürgen Müller <billing@acme.example>");
        assert_eq!(m.subject, "Rechnung Nr. 42");
        assert_eq!(m.message_id.as_deref(), Some("42@acme.example"));
        assert!(m.text.contains("Schöne Grüße"), "{}", m.text);
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].name, "inv 42.pdf", "no path from the sender survives");
        assert_eq!(m.parts[0].bytes, b"%PDF-1.4\n");
    }

    #[test]
    fn rules_match_in_order_and_stop_unless_told_to_continue() {
        let m = parse(MAIL).unwrap();
        let rs = rules(
            r#"
            [[rules]]
            name = "other-sender"
            from = "@globex"
            [[rules]]
            name = "acme"
            from = "@acme\\.example$|acme\\.example>"
            attachment = ["*.PDF"]
            action = "move:Done"
            continue = true
            [[rules]]
            name = "archive"
            take = ["eml"]
            "#,
        );
        let d = decide(&rs, "ap", &m, 0).unwrap();
        assert_eq!(d.rule.name, "acme");
        assert_eq!(d.rule.action, Action::Move("Done".into()));
        assert_eq!(d.parts, vec![0]);
        assert!(d.eml, "the next rule was evaluated too");
        let none = rules("[[rules]]\nname = \"x\"\nsubject = \"^Order\"\n");
        assert!(decide(&none, "ap", &m, 0).is_none());
        let old = rules("[[rules]]\nname = \"x\"\nmax_age = \"1d\"\n");
        assert!(decide(&old, "ap", &m, m.date_ts.unwrap() + 3 * 86400).is_none());
    }

    #[test]
    fn broken_messages_say_why() {
        assert!(parse(b"").unwrap_err().contains("empty"));
        assert!(parse(b"\x00\x01\x02 not mail at all").is_err());
    }

    const HEAD: &str = "From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n";
    const PART: &str = "Content-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\nJVBERi0xLjQK\r\n";

    #[test]
    fn an_unterminated_boundary_still_gives_the_decoded_attachment() {
        let raw = format!("{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n{PART}");
        let m = parse(raw.as_bytes()).unwrap();
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].bytes, b"%PDF-1.4\n%PDF-1.4\n", "the document is the decoded file, not its base64");
        let bad = raw.replace("JVBERi0xLjQK\r\nJVBERi0xLjQK", "JVBERi0x!!!LjQK");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert!(e.contains("a.pdf cannot be decoded"), "{e}");
    }

    #[test]
    fn deeply_nested_multiparts_give_the_decoded_attachment() {
        let mut raw = HEAD.to_string();
        for i in 0..1000 {
            raw.push_str(&format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"));
        }
        raw.push_str(PART);
        let m = parse(raw.as_bytes()).unwrap();
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].bytes, b"%PDF-1.4\n%PDF-1.4\n");
    }
}
