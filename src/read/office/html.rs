//! HTML's text as a browser shows it, roughly: block elements on lines of their own, table cells
//! separated by tabs, whitespace collapsed outside `pre`, scripts and styles left out. html5ever
//! parses (as browsers do, without recursion), and the tree is walked by its open and close
//! edges, so nesting costs no stack.

use crate::read::Unreadable;
use scraper::node::Node;

const BLOCKS: &[&str] = &[
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "header", "footer", "address", "blockquote", "pre", "hr", "dl", "dt", "dd", "form", "fieldset", "body", "caption",
];
const HIDDEN: &[&str] = &["script", "style", "head", "template", "noscript", "title"];

/// Elements open inside one another: real pages nest a few dozen deep. html5ever's tree
/// building looks through the open elements for many tags, so a page nested 100,000 deep costs
/// minutes; it is refused before parsing.
const MAX_DEPTH: usize = 4_096;

/// Elements that close themselves (void) or are closed by a sibling (`p`, `li`, table parts):
/// unclosed ones do not nest.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "p", "li", "dt",
    "dd", "tr", "td", "th", "tbody", "thead", "tfoot", "option", "optgroup", "colgroup", "rb", "rt", "rp", "caption",
];

/// How deep the elements of `html` nest, by its tags alone (no parse).
fn depth(html: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'<', &html[at..]) {
        at += i + 1;
        let closing = html.get(at) == Some(&b'/');
        let start = at + closing as usize;
        let end = html[start..].iter().position(|c| !c.is_ascii_alphanumeric()).map_or(html.len(), |n| start + n);
        if end == start {
            continue;
        }
        let name = String::from_utf8_lossy(&html[start..end]).to_ascii_lowercase();
        let self_closed = html[end..].iter().position(|&c| c == b'>').is_some_and(|n| n > 0 && html[end + n - 1] == b'/');
        if NOT_NESTING.contains(&name.as_str()) || self_closed {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

pub fn text(bytes: &[u8]) -> Result<String, Unreadable> {
    if depth(bytes) > MAX_DEPTH {
        return Err(Unreadable(format!(
            "the HTML nests its elements more than {MAX_DEPTH} levels deep; it is built to exhaust readers or damaged"
        )));
    }
    let html = scraper::Html::parse_document(&String::from_utf8_lossy(bytes));
    let mut out = String::new();
    let (mut hidden, mut pre) = (0usize, 0usize);
    for edge in html.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Element(e) => {
                    let name = e.name();
                    if HIDDEN.contains(&name) {
                        hidden += 1;
                    } else if name == "pre" {
                        pre += 1;
                    }
                    if BLOCKS.contains(&name) && !out.ends_with('\n') && !out.is_empty() {
                        out.push('\n');
                    }
                }
                Node::Text(t) if hidden == 0 => {
                    if pre > 0 {
                        out.push_str(t);
                    } else {
                        for (i, word) in t.split_whitespace().enumerate() {
                            let first = i == 0;
                            let space_before = !first || t.starts_with(char::is_whitespace);
                            if space_before && !out.is_empty() && !out.ends_with(['\n', '\t', ' ']) {
                                out.push(' ');
                            }
                            out.push_str(word);
                        }
                        if t.ends_with(char::is_whitespace) && !t.trim().is_empty() {
                            out.push(' ');
                        }
                    }
                }
                _ => {}
            },
            ego_tree::iter::Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    let name = e.name();
                    if HIDDEN.contains(&name) {
                        hidden = hidden.saturating_sub(1);
                    } else if name == "pre" {
                        pre = pre.saturating_sub(1);
                    }
                    match name {
                        "td" | "th" => {
                            while out.ends_with(' ') {
                                out.pop();
                            }
                            out.push('\t');
                        }
                        "tr" => {
                            while out.ends_with(['\t', ' ']) {
                                out.pop();
                            }
                            out.push('\n');
                        }
                        n if BLOCKS.contains(&n) => {
                            while out.ends_with(' ') {
                                out.pop();
                            }
                            if !out.ends_with('\n') {
                                out.push('\n');
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(out.trim_start().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_cells_and_hidden_parts() {
        let html = b"<html><head><title>x</title><style>p{}</style></head><body><h1>Remittance  advice</h1>\
            <p>Paid on <b>2025-10-08</b></p><table><tr><td>Invoice</td><td>4711</td></tr><tr><td>Total</td><td>99.00</td></tr></table>\
            <script>alert(1)</script></body></html>";
        assert_eq!(super::text(html).unwrap(), "Remittance advice\nPaid on 2025-10-08\nInvoice\t4711\nTotal\t99.00\n");
    }

    #[test]
    fn nesting_is_measured_without_parsing() {
        assert_eq!(super::depth(b"<html><body><div><p>a<p>b<br><img src=x/></div></body></html>"), 3);
        let deep = format!("{}x", "<div>".repeat(5000));
        assert!(super::text(deep.as_bytes()).unwrap_err().0.contains("levels deep"));
    }
}
