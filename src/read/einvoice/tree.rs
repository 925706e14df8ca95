//! An e-invoice's XML as a compact tree, and walking it by local names (the syntaxes' prefixes
//! vary by producer; their local names do not), one step at a time: `A/B|C/D` takes child A,
//! then B or C, then D.
//!
//! quick-xml tokenizes (borrowing from the text: no copy of names or unescaped values); the tree
//! is two flat vectors, built without recursion, so nesting costs no stack and depth is a number
//! checked as elements open. Binary objects' contents (BG-24's `AttachmentBinaryObject`,
//! `EmbeddedDocumentBinaryObject`: base64 files, most of a large e-invoice's bytes, which nothing
//! booked reads) are skipped, not kept. Text that is only whitespace (indentation) is dropped.

use crate::invoice::Num;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;

const NONE: u32 = u32::MAX;

/// Why a text is no tree.
#[derive(Debug)]
pub enum Refused {
    Doctype,
    TooDeep(usize),
    TooManyElements(u32),
    /// The byte offset of the first byte that is not UTF-8.
    NotUtf8(usize),
    /// Not well-formed, in words.
    Malformed(String),
}

pub struct Tree<'t> {
    elements: Vec<Element<'t>>,
    /// (qualified name, value) of every element's attributes, in order.
    attributes: Vec<(&'t str, Cow<'t, str>)>,
}

struct Element<'t> {
    qname: &'t str,
    local: &'t str,
    attributes: (u32, u32),
    text: Cow<'t, str>,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
}


/// `part` as the stretch of `base` it is (the reader borrows from its input).
fn within<'t>(base: &'t [u8], part: &[u8]) -> Option<&'t [u8]> {
    let offset = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    base.get(offset..offset.checked_add(part.len())?)
}

/// A piece of the document as text: checked to be UTF-8 here, so that the bytes of what is
/// skipped (binary objects, comments) are never looked at.
fn utf8<'t>(base: &'t [u8], part: &[u8]) -> Result<Cow<'t, str>, Refused> {
    let not_utf8 = |e: std::str::Utf8Error| {
        let at = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize).wrapping_add(e.valid_up_to());
        Refused::NotUtf8(at)
    };
    match within(base, part) {
        Some(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(not_utf8),
        None => std::str::from_utf8(part).map(|s| Cow::Owned(s.to_string())).map_err(not_utf8),
    }
}

fn name<'t>(base: &'t [u8], part: &[u8]) -> Result<&'t str, Refused> {
    match utf8(base, part)? {
        Cow::Borrowed(s) => Ok(s),
        Cow::Owned(s) => Err(Refused::Malformed(format!("the name {s} is not where the reader found it"))),
    }
}

/// What is wrong, in words (quick-xml's messages name its own terms).
fn sentence(e: &quick_xml::Error) -> String {
    use quick_xml::errors::{IllFormedError as I, SyntaxError as S};
    use quick_xml::escape::EscapeError as E;
    use quick_xml::events::attributes::AttrError as A;
    match e {
        quick_xml::Error::IllFormed(I::MismatchedEndTag { expected, found }) => {
            format!("<{expected}> is closed by </{found}>")
        }
        quick_xml::Error::IllFormed(I::UnmatchedEndTag(name)) => format!("</{name}> closes an element that was never opened"),
        quick_xml::Error::IllFormed(I::MissingEndTag(name)) => format!("<{name}> is never closed"),
        quick_xml::Error::IllFormed(_) => "a declaration or comment is not written as XML requires".into(),
        quick_xml::Error::Syntax(S::UnclosedTag) => "a tag is not closed with > before the end of the file".into(),
        quick_xml::Error::Syntax(S::UnclosedComment) => "a comment is not closed with --> before the end of the file".into(),
        quick_xml::Error::Syntax(S::UnclosedCData) => "a CDATA section is not closed with ]]> before the end of the file".into(),
        quick_xml::Error::Syntax(S::UnclosedPIOrXmlDecl) => "a declaration is not closed with ?> before the end of the file".into(),
        quick_xml::Error::Syntax(_) => "markup starting with <! is neither a comment nor a CDATA section".into(),
        quick_xml::Error::Escape(E::UnrecognizedEntity(_, name)) => format!(
            "it uses the entity &{name};, which is none of XML's five (&amp; &lt; &gt; &quot; &apos;); clerk defines no others"
        ),
        quick_xml::Error::Escape(E::UnterminatedEntity(_)) => "an & starts an entity that no ; ends".into(),
        quick_xml::Error::Escape(E::InvalidCharRef(_)) => "a character reference (&#…;) names no valid character".into(),
        quick_xml::Error::InvalidAttr(A::Duplicated(..)) => "an attribute is given twice".into(),
        quick_xml::Error::InvalidAttr(_) => "an attribute is not written as name=\"value\"".into(),
        _ => "it cannot be read as XML".into(),
    }
}

/// A byte offset as a person finds it in an editor.
fn place(text: &[u8], at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let column = before.len() - memchr::memrchr(b'\n', before).map_or(0, |p| p + 1) + 1;
    format!("line {line}, column {column}")
}

/// XML's five entities and character references replaced; any other entity is malformed.
fn unescaped(text: Cow<'_, str>) -> Result<Cow<'_, str>, quick_xml::escape::EscapeError> {
    Ok(match text {
        Cow::Borrowed(s) => quick_xml::escape::unescape(s)?,
        Cow::Owned(s) => Cow::Owned(quick_xml::escape::unescape(&s)?.into_owned()),
    })
}

impl<'t> Tree<'t> {
    /// Reads `text` (UTF-8, its declaration's encoding already applied; what is kept is checked)
    /// into a tree of at most
    /// `max_elements` elements nested at most `max_depth` deep. No DTD is processed: a DOCTYPE
    /// is refused, and an entity other than XML's five and character references is malformed.
    pub fn parse(text: &'t [u8], max_depth: usize, max_elements: u32) -> Result<Tree<'t>, Refused> {
        let mut reader = quick_xml::Reader::from_reader(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.trim_text(false);
        let mut tree = Tree { elements: Vec::with_capacity(text.len() / 64), attributes: vec![] };
        let mut open: Vec<u32> = vec![];
        let mut binary = false;
        let malformed = |e: quick_xml::Error, at: u64| Refused::Malformed(format!("{} ({})", sentence(&e), place(text, at as usize)));
        loop {
            let event = reader.read_event().map_err(|e| malformed(e, reader.error_position()))?;
            match event {
                Event::Start(_) | Event::Empty(_) if open.is_empty() && !tree.elements.is_empty() => {
                    return Err(Refused::Malformed("there is more than one root element".into()));
                }
                Event::Start(e) => {
                    let id = tree.push(text, &e, open.last().copied(), max_elements)?;
                    open.push(id);
                    if open.len() > max_depth {
                        return Err(Refused::TooDeep(max_depth));
                    }
                    binary = tree.elements[id as usize].local.ends_with("BinaryObject");
                }
                Event::Empty(e) => {
                    if open.len() + 1 > max_depth {
                        return Err(Refused::TooDeep(max_depth));
                    }
                    tree.push(text, &e, open.last().copied(), max_elements)?;
                }
                Event::End(_) => {
                    open.pop();
                    binary = false;
                }
                Event::Text(t) => {
                    let Some(&top) = open.last() else {
                        if t.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        return Err(Refused::Malformed("there is text outside the root element".into()));
                    };
                    if binary || t.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let value = unescaped(utf8(text, &t)?).map_err(|e| malformed(e.into(), reader.buffer_position()))?;
                    tree.append_text(top, value);
                }
                Event::CData(c) => {
                    let Some(&top) = open.last() else {
                        return Err(Refused::Malformed("there is text outside the root element".into()));
                    };
                    if !binary {
                        tree.append_text(top, utf8(text, &c)?);
                    }
                }
                Event::DocType(_) => return Err(Refused::Doctype),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(&still) = open.last() {
            let name = tree.elements[still as usize].qname;
            return Err(Refused::Malformed(format!("the text ends before <{name}> is closed")));
        }
        if tree.elements.is_empty() {
            return Err(Refused::Malformed("there is no root element".into()));
        }
        Ok(tree)
    }

    fn push(&mut self, text: &'t [u8], e: &BytesStart<'_>, parent: Option<u32>, max: u32) -> Result<u32, Refused> {
        if self.elements.len() as u32 >= max {
            return Err(Refused::TooManyElements(max));
        }
        let qname = name(text, e.name().as_ref())?;
        let from = self.attributes.len() as u32;
        for a in e.attributes() {
            let a = a.map_err(|e| Refused::Malformed(format!("<{qname}>: {}", sentence(&e.into()))))?;
            let key = name(text, a.key.as_ref())?;
            let value = unescaped(utf8(text, &a.value)?)
                .map_err(|e| Refused::Malformed(format!("attribute {key} of <{qname}>: {}", sentence(&e.into()))))?;
            self.attributes.push((key, value));
        }
        let id = self.elements.len() as u32;
        self.elements.push(Element {
            qname,
            local: qname.rsplit_once(':').map_or(qname, |(_, l)| l),
            attributes: (from, self.attributes.len() as u32),
            text: Cow::Borrowed(""),
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        });
        if let Some(p) = parent {
            let parent = &mut self.elements[p as usize];
            match parent.last_child {
                NONE => parent.first_child = id,
                last => {
                    parent.last_child = id;
                    self.elements[last as usize].next_sibling = id;
                    return Ok(id);
                }
            }
            parent.last_child = id;
        }
        Ok(id)
    }

    fn append_text(&mut self, id: u32, piece: Cow<'t, str>) {
        let text = &mut self.elements[id as usize].text;
        if text.is_empty() {
            *text = piece;
        } else {
            text.to_mut().push_str(&piece);
        }
    }

    pub fn root(&self) -> X<'_, 't> {
        X { tree: self, id: 0 }
    }

    /// The namespace URI of the root element (declared on the root itself: it has no ancestors).
    pub fn root_namespace(&self) -> Option<&str> {
        let root = self.root();
        let qname = self.elements[0].qname;
        let declaration = match qname.split_once(':') {
            Some((prefix, _)) => format!("xmlns:{prefix}"),
            None => "xmlns".into(),
        };
        root.attributes().find(|(k, _)| *k == declaration).map(|(_, v)| v)
    }
}

#[derive(Clone, Copy)]
pub struct X<'a, 't> {
    tree: &'a Tree<'t>,
    id: u32,
}

impl<'a, 't> X<'a, 't> {
    fn element(self) -> &'a Element<'t> {
        &self.tree.elements[self.id as usize]
    }

    /// The element's local name.
    pub fn name(self) -> &'t str {
        self.element().local
    }

    fn children(self) -> impl Iterator<Item = X<'a, 't>> {
        let tree = self.tree;
        let mut next = self.element().first_child;
        std::iter::from_fn(move || {
            (next != NONE).then(|| {
                let x = X { tree, id: next };
                next = x.element().next_sibling;
                x
            })
        })
    }

    fn attributes(self) -> impl Iterator<Item = (&'t str, &'a str)> {
        let (from, to) = self.element().attributes;
        self.tree.attributes[from as usize..to as usize].iter().map(|(k, v)| (*k, v.as_ref()))
    }

    /// The first element at `path`.
    pub fn at(self, path: &str) -> Option<X<'a, 't>> {
        let mut node = self;
        for step in path.split('/') {
            node = node.children().find(|c| step.split('|').any(|s| s == c.name()))?;
        }
        Some(node)
    }

    /// Every element at `path` (each step may match several).
    pub fn all(self, path: &str) -> Vec<X<'a, 't>> {
        let mut nodes = vec![self];
        for step in path.split('/') {
            nodes = nodes.into_iter().flat_map(|n| n.children().filter(|c| step.split('|').any(|s| s == c.name()))).collect();
        }
        nodes
    }

    /// The trimmed text at `path` (an element's own text, then its descendants' in document
    /// order); `None` when absent or blank.
    pub fn text(self, path: &str) -> Option<String> {
        let n = if path.is_empty() { Some(self) } else { self.at(path) }?;
        if n.element().first_child == NONE {
            let t = n.element().text.trim();
            return (!t.is_empty()).then(|| t.to_string());
        }
        let mut all = String::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            all.push_str(&x.element().text);
            let children: Vec<_> = x.children().collect();
            stack.extend(children.into_iter().rev());
        }
        let t = all.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    pub fn num(self, path: &str) -> Option<Num> {
        self.text(path).map(|t| Num::parse(&t))
    }

    /// An attribute without a prefix, trimmed; `None` when absent or blank.
    pub fn attr(self, name: &str) -> Option<String> {
        self.attributes().find(|(k, _)| *k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_attributes_and_text() {
        let xml = "<?xml version='1.0'?><!-- c --><r:A xmlns:r='urn:a'>\n  <B x=\"1 &amp; 2\">a &lt; b</B><B/><C><![CDATA[<d>]]></C>\n</r:A>";
        let tree = Tree::parse(xml.as_bytes(), 10, 100).unwrap();
        let root = tree.root();
        assert_eq!(root.name(), "A");
        assert_eq!(tree.root_namespace(), Some("urn:a"));
        assert_eq!(root.text("B").as_deref(), Some("a < b"));
        assert_eq!(root.at("B").unwrap().attr("x").as_deref(), Some("1 & 2"));
        assert_eq!(root.all("B").len(), 2);
        assert_eq!(root.text("C").as_deref(), Some("<d>"));
        assert_eq!(root.text("").as_deref(), Some("a < b<d>"));
    }

    #[test]
    fn what_is_not_well_formed_is_refused() {
        let refused = |xml: &str| match Tree::parse(xml.as_bytes(), 10, 100) {
            Err(Refused::Malformed(why)) => why,
            Err(other) => panic!("{xml}: {other:?}"),
            Ok(_) => panic!("{xml} parsed"),
        };
        refused("<a><b></a>");
        assert!(refused("<a><b>").contains("ends before <b> is closed"));
        assert!(refused("<a/><b/>").contains("more than one root"));
        assert!(refused("<a/>text").contains("outside the root"));
        refused("<a>&e;</a>");
        refused("<a x='1' x='2'/>");
        refused("");
        assert!(matches!(Tree::parse(b"<!DOCTYPE a><a/>", 10, 100), Err(Refused::Doctype)));
        assert!(matches!(Tree::parse(b"<a><a><a/></a></a>", 2, 100), Err(Refused::TooDeep(2))));
        assert!(matches!(Tree::parse(b"<a><b/><b/><b/></a>", 10, 3), Err(Refused::TooManyElements(3))));
    }

    #[test]
    fn binary_objects_are_skipped() {
        let b64 = "QUJD".repeat(100);
        let xml = format!("<r><a><x:AttachmentBinaryObject mimeCode=\"application/pdf\">{b64}</x:AttachmentBinaryObject></a><c>1</c></r>");
        let tree = Tree::parse(xml.as_bytes(), 10, 100).unwrap();
        let bin = tree.root().at("a/AttachmentBinaryObject").unwrap();
        assert_eq!(bin.text(""), None);
        assert_eq!(bin.attr("mimeCode").as_deref(), Some("application/pdf"));
        assert_eq!(tree.root().text("c").as_deref(), Some("1"));
    }
}
