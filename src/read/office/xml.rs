//! Office XML walked as a stream of opening tags, closing tags and text, by local names (prefixes
//! vary by producer). No tree is built and nothing recurses; a DOCTYPE is refused, so no entity
//! is ever expanded.

use super::super::Unreadable;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;

pub enum Node<'e> {
    Open(&'e BytesStart<'e>),
    Close(&'e [u8]),
    Text(Cow<'e, str>),
}

/// The local part of a tag's name.
pub fn local<'e>(e: &'e BytesStart) -> &'e [u8] {
    let name = e.name().into_inner();
    name.iter().rposition(|&c| c == b':').map_or(name, |i| &name[i + 1..])
}

/// An attribute's value by its local name.
pub fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| {
        let key = a.key.into_inner();
        key.iter().rposition(|&c| c == b':').map_or(key, |i| &key[i + 1..]) == name
    })
    .map(|a| a.unescape_value().map(|v| v.into_owned()).unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned()))
}

/// Calls `f` for every tag and text of `xml` (`part` names it in a refusal).
pub fn walk(xml: &[u8], part: &str, mut f: impl FnMut(Node<'_>)) -> Result<(), Unreadable> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => f(Node::Open(&e)),
            Ok(Event::Empty(e)) => {
                f(Node::Open(&e));
                f(Node::Close(local(&e)));
            }
            Ok(Event::End(e)) => {
                let name = e.name().into_inner();
                let l = name.iter().rposition(|&c| c == b':').map_or(name, |i| &name[i + 1..]);
                f(Node::Close(l));
            }
            Ok(Event::Text(t)) => {
                f(Node::Text(t.unescape().unwrap_or_else(|_| Cow::Owned(String::from_utf8_lossy(&t).into_owned()))))
            }
            Ok(Event::CData(c)) => f(Node::Text(Cow::Owned(String::from_utf8_lossy(&c).into_owned()))),
            Ok(Event::DocType(_)) => {
                return Err(Unreadable(format!(
                    "the Office file's {part} declares a DOCTYPE, which Office files never do; it is built to exhaust readers (entity expansion)"
                )))
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                eprintln!("xml {part}: {e}");
                return Err(Unreadable(format!("the Office file's {part} is damaged (not well-formed XML); ask the sender for it again")));
            }
        }
    }
}
