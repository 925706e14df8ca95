//! Pulling values out of a legacy system's answer, one expression per value:
//!
//! - `$.items[0].id`, `$.items[*].id` — JSONPath (dot names, `['name']`, indexes, `[*]`)
//! - `//VendorId`, `/Envelope/Body/x/@code`, `//a/text()` — XPath over element local names, so
//!   SOAP namespaces need no prefixes
//! - `css:input[name=csrf_token]@value`, `css:#erp-id` — a CSS selector over HTML, then an
//!   attribute or the element's text
//! - `header:Location` — a response header
//! - `regex:Invoice (\d+)` — the first capture group (or the whole match)
//!
//! A value that is not there is `null`, so a template can test it (`{{ not steps.vendor.id }}`);
//! an expression that cannot work at all is an error.

use serde_json::Value as J;

/// What an answer offers to extract from.
pub struct Answer<'a> {
    pub body: &'a str,
    /// The body parsed as JSON, when it is JSON (or the rows of an SQL query).
    pub json: Option<&'a J>,
    pub headers: &'a [(String, String)],
}

pub fn extract(expr: &str, answer: &Answer) -> Result<J, String> {
    let expr = expr.trim();
    if let Some(path) = expr.strip_prefix('$') {
        let json = match answer.json {
            Some(j) => j,
            None => return Err(format!("`{expr}` is a JSONPath, but the answer is not JSON")),
        };
        return json_path(json, path);
    }
    if expr.starts_with('/') {
        return xpath(answer.body, expr);
    }
    if let Some(sel) = expr.strip_prefix("css:") {
        return css(answer.body, sel);
    }
    if let Some(name) = expr.strip_prefix("header:") {
        let name = name.trim();
        return Ok(answer
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| J::from(v.as_str()))
            .unwrap_or(J::Null));
    }
    if let Some(pattern) = expr.strip_prefix("regex:") {
        let re = regex::Regex::new(pattern).map_err(|e| {
            let reason = e.to_string().lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            format!("bad regex in `{expr}`: {reason}")
        })?;
        return Ok(re
            .captures(answer.body)
            .map(|c| J::from(c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str())))
            .unwrap_or(J::Null));
    }
    Err(format!("`{expr}` is not an extraction: start it with `$` (JSON), `/` (XML), `css:`, `header:` or `regex:`"))
}

/// Checks an expression's syntax without an answer, for `clerk check`.
pub fn check(expr: &str) -> Result<(), String> {
    let empty = J::Null;
    let probe = Answer { body: "<a/>", json: Some(&empty), headers: &[] };
    match extract(expr, &probe) {
        Err(e) if !e.contains("not JSON") && !e.contains("cannot parse") => Err(e),
        _ => Ok(()),
    }
}

enum Seg {
    Key(String),
    Index(usize),
    All,
}

fn json_path(root: &J, path: &str) -> Result<J, String> {
    let mut segs = vec![];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err(format!("empty name in JSONPath `${path}`"));
            }
            segs.push(if &r[..end] == "*" { Seg::All } else { Seg::Key(r[..end].to_string()) });
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| format!("unclosed `[` in JSONPath `${path}`"))?;
            let inner = r[..end].trim();
            segs.push(if inner == "*" {
                Seg::All
            } else if let Ok(i) = inner.parse::<usize>() {
                Seg::Index(i)
            } else {
                Seg::Key(inner.trim_matches(|c| c == '\'' || c == '"').to_string())
            });
            rest = &r[end + 1..];
        } else {
            return Err(format!("JSONPath `${path}`: expected `.name` or `[…]` at `{rest}`"));
        }
    }
    let mut current = vec![root.clone()];
    let mut many = false;
    for seg in segs {
        let mut next = vec![];
        for v in current {
            match (&seg, v) {
                (Seg::Key(k), J::Object(mut m)) => next.extend(m.remove(k)),
                (Seg::Index(i), J::Array(a)) => next.extend(a.into_iter().nth(*i)),
                (Seg::All, J::Array(a)) => next.extend(a),
                (Seg::All, J::Object(m)) => next.extend(m.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        many |= matches!(seg, Seg::All);
        current = next;
    }
    Ok(if many { J::Array(current) } else { current.into_iter().next().unwrap_or(J::Null) })
}

fn xpath(body: &str, expr: &str) -> Result<J, String> {
    let doc = roxmltree::Document::parse(body.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("cannot parse the answer as XML for `{expr}`: {e}"))?;
    // Split into (descendant?, name) steps; a final `@attr` or `text()` picks what to return.
    let mut steps: Vec<(bool, &str)> = vec![];
    let mut rest = expr;
    while !rest.is_empty() {
        let (desc, r) = match rest.strip_prefix("//") {
            Some(r) => (true, r),
            None => (false, rest.strip_prefix('/').ok_or_else(|| format!("bad XPath `{expr}`"))?),
        };
        let end = r.find('/').unwrap_or(r.len());
        if end == 0 {
            return Err(format!("bad XPath `{expr}`: empty step"));
        }
        steps.push((desc, &r[..end]));
        rest = &r[end..];
    }
    let last = steps.last().map(|s| s.1).unwrap_or("");
    let pick_attr = last.strip_prefix('@');
    if pick_attr.is_some() || last == "text()" {
        steps.pop();
    }
    let mut nodes = vec![doc.root()];
    for (desc, name) in steps {
        let matches = |n: &roxmltree::Node| n.is_element() && (name == "*" || n.tag_name().name() == name);
        nodes = nodes
            .iter()
            .flat_map(|n| -> Vec<roxmltree::Node> {
                if desc {
                    n.descendants().filter(|d| d != n && matches(d)).collect()
                } else {
                    n.children().filter(|c| matches(c)).collect()
                }
            })
            .collect();
    }
    let Some(node) = nodes.first() else { return Ok(J::Null) };
    Ok(match pick_attr {
        Some(a) => node.attributes().find(|x| x.name() == a).map(|x| J::from(x.value())).unwrap_or(J::Null),
        None => J::from(node.descendants().filter_map(|d| d.text().filter(|_| d.is_text())).collect::<String>().trim()),
    })
}

fn css(body: &str, spec: &str) -> Result<J, String> {
    // `selector@attr`: the last `@` outside brackets names the attribute.
    let (sel, attr) = match spec.rfind('@') {
        Some(i) if !spec[i..].contains(']') => (&spec[..i], Some(spec[i + 1..].trim())),
        _ => (spec, None),
    };
    let selector = scraper::Selector::parse(sel.trim())
        .map_err(|_| format!("bad CSS selector `{sel}`; e.g. `css:input[name=csrf_token]@value` or `css:#erp-id`"))?;
    let html = scraper::Html::parse_document(body);
    let Some(el) = html.select(&selector).next() else { return Ok(J::Null) };
    Ok(match attr {
        Some(a) => el.value().attr(a).map(J::from).unwrap_or(J::Null),
        None => J::from(el.text().collect::<String>().trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer<'a>(body: &'a str, json: Option<&'a J>) -> Answer<'a> {
        Answer { body, json, headers: &[] }
    }

    #[test]
    fn json_paths() {
        let j: J = serde_json::json!({"id": 7, "items": [{"n": "a"}, {"n": "b"}], "odd key": true});
        let a = answer("", Some(&j));
        assert_eq!(extract("$.id", &a).unwrap(), J::from(7));
        assert_eq!(extract("$.items[1].n", &a).unwrap(), J::from("b"));
        assert_eq!(extract("$.items[*].n", &a).unwrap(), serde_json::json!(["a", "b"]));
        assert_eq!(extract("$['odd key']", &a).unwrap(), J::from(true));
        assert_eq!(extract("$.missing", &a).unwrap(), J::Null);
    }

    #[test]
    fn xpaths_ignore_namespaces() {
        let body = r#"<?xml version="1.0"?><s:Envelope xmlns:s="urn:x"><s:Body><R code="ok"><VendorId> V-1 </VendorId></R></s:Body></s:Envelope>"#;
        let a = answer(body, None);
        assert_eq!(extract("//VendorId", &a).unwrap(), J::from("V-1"));
        assert_eq!(extract("/Envelope/Body/R/@code", &a).unwrap(), J::from("ok"));
        assert_eq!(extract("//R/VendorId/text()", &a).unwrap(), J::from("V-1"));
        assert_eq!(extract("//Nothing", &a).unwrap(), J::Null);
        assert!(extract("//x", &answer("not xml", None)).unwrap_err().contains("cannot parse"));
    }

    #[test]
    fn css_and_regex() {
        let body = r#"<form><input type="hidden" name="csrf_token" value="t0k"><p>Saved as <span id="erp-id">F-9</span></p></form>"#;
        let a = answer(body, None);
        assert_eq!(extract("css:input[name=csrf_token]@value", &a).unwrap(), J::from("t0k"));
        assert_eq!(extract("css:#erp-id", &a).unwrap(), J::from("F-9"));
        assert_eq!(extract(r"regex:Saved as <span[^>]*>([^<]+)", &a).unwrap(), J::from("F-9"));
        assert!(extract("nonsense", &a).is_err());
    }
}
