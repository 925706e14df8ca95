//! Walking an XML tree by local names (the syntaxes' prefixes vary by producer; their local
//! names do not), one step at a time: `A/B|C/D` takes child A, then B or C, then D.

use crate::invoice::Num;
use roxmltree::Node;

/// What a scan of the text finds before any parser sees it.
pub struct Scan {
    /// The deepest nesting of elements (counting stops past the limit it was given).
    pub depth: usize,
    /// The text without the contents of binary objects (BG-24's `AttachmentBinaryObject`,
    /// `EmbeddedDocumentBinaryObject`: base64 files, most of a large e-invoice's bytes, which
    /// nothing booked reads), when it had any; a parser then reads a fraction of the bytes.
    pub without_binaries: Option<String>,
}

/// Scans `text` for its nesting depth (a parser that builds a tree may recurse once per level:
/// 100,000 levels would end the process) and cuts out binary objects' contents. Knows comments,
/// CDATA, processing instructions and quoted attribute values; jumps from `<` to `<`.
pub fn scan(text: &str, stop: usize) -> Scan {
    let b = text.as_bytes();
    let (mut i, mut depth, mut max) = (0, 0usize, 0usize);
    let mut cuts: Vec<(usize, usize)> = vec![];
    let skip_to = |from: usize, end: &[u8]| memchr::memmem::find(&b[from.min(b.len())..], end).map_or(b.len(), |p| from + p + end.len());
    while let Some(p) = memchr::memchr(b'<', &b[i..]) {
        i += p;
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            i = skip_to(i + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_to(i + 9, b"]]>");
        } else if rest.starts_with(b"<?") || rest.starts_with(b"<!") {
            i = skip_to(i + 2, b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = skip_to(i + 2, b">");
        } else {
            // A start tag: to its `>` outside quotes; `/>` closes it at once.
            let mut j = i + 1;
            let mut quote = 0u8;
            while j < b.len() {
                match (quote, b[j]) {
                    (0, q @ (b'"' | b'\'')) => quote = q,
                    (0, b'>') => break,
                    (q, c) if q != 0 && c == q => quote = 0,
                    _ => {}
                }
                j += 1;
            }
            let empty = b.get(j.wrapping_sub(1)) == Some(&b'/');
            if !empty {
                depth += 1;
                max = max.max(depth);
                if max > stop {
                    return Scan { depth: max, without_binaries: None };
                }
                let name_end = b[i + 1..j].iter().position(|c| c.is_ascii_whitespace() || *c == b'/').map_or(j, |e| i + 1 + e);
                if b[i + 1..name_end].ends_with(b"BinaryObject") {
                    // Its content runs to the next tag (base64 has no `<`).
                    let from = j + 1;
                    let to = memchr::memchr(b'<', &b[from.min(b.len())..]).map_or(b.len(), |p| from + p);
                    if to > from + 64 {
                        cuts.push((from, to));
                    }
                    i = to;
                    continue;
                }
            }
            i = j + 1;
        }
        if i >= b.len() {
            break;
        }
    }
    let without_binaries = (!cuts.is_empty()).then(|| {
        let mut out = String::with_capacity(text.len() - cuts.iter().map(|(f, t)| t - f).sum::<usize>());
        let mut at = 0;
        for (from, to) in cuts {
            out.push_str(&text[at..from]);
            at = to;
        }
        out.push_str(&text[at..]);
        out
    });
    Scan { depth: max, without_binaries }
}

#[derive(Clone, Copy)]
pub struct X<'a, 'i>(pub Node<'a, 'i>);

impl<'a, 'i> X<'a, 'i> {
    /// The first element at `path`.
    pub fn at(self, path: &str) -> Option<X<'a, 'i>> {
        let mut node = self;
        for step in path.split('/') {
            node = node.0.children().find(|c| c.is_element() && step.split('|').any(|s| s == c.tag_name().name())).map(X)?;
        }
        Some(node)
    }

    /// Every element at `path` (each step may match several).
    pub fn all(self, path: &str) -> Vec<X<'a, 'i>> {
        let mut nodes = vec![self];
        for step in path.split('/') {
            nodes = nodes
                .into_iter()
                .flat_map(|n| {
                    n.0.children().filter(|c| c.is_element() && step.split('|').any(|s| s == c.tag_name().name())).map(X)
                })
                .collect();
        }
        nodes
    }

    /// The trimmed text at `path`; `None` when absent or blank.
    pub fn text(self, path: &str) -> Option<String> {
        let n = if path.is_empty() { Some(self) } else { self.at(path) }?;
        let t: String = n.0.descendants().filter(|d| d.is_text()).map(|d| d.text().unwrap_or("")).collect();
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    pub fn num(self, path: &str) -> Option<Num> {
        self.text(path).map(|t| Num::parse(&t))
    }

    pub fn attr(self, name: &str) -> Option<String> {
        self.0.attribute(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}
