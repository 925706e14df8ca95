//! Document texts generated from invoice2data templates' own regexes: the keywords, a sample of
//! each field's regex, a lines block and a table — for the oracle test (tests/invoice2data_oracle.rs)
//! and the benchmark against invoice2data (tests/benches/invoice2data.rs).

use regex_syntax::hir::{Class, Hir, HirKind};
use std::path::{Path, PathBuf};

/// Builds a string a regex matches, preferring plausible invoice values: digit runs that make
/// dates (`12.05.2014`) and amounts, letters for words, a space for whitespace.
pub struct Sampler {
    pub two_digit: usize,
}

impl Sampler {
    fn sample(&mut self, src: &str) -> Option<String> {
        let rust = clerk::classify::pyre::rust_syntax(src)?;
        let hir = regex_syntax::ParserBuilder::new().build().parse(&rust).ok()?;
        let mut out = String::new();
        self.walk(&hir, &mut out);
        Some(out)
    }

    fn digits(&mut self, n: usize) -> String {
        match n {
            4 => "2014".into(),
            2 => {
                self.two_digit += 1;
                if self.two_digit % 2 == 1 { "12" } else { "05" }.into()
            }
            1 => "7".into(),
            n => "1234567890".chars().cycle().take(n).collect(),
        }
    }

    fn is_digit_class(h: &Hir) -> bool {
        match h.kind() {
            HirKind::Class(Class::Unicode(c)) => c.ranges().iter().all(|r| r.start() >= '0' && r.end() <= '9') || c.ranges().first().is_some_and(|r| r.start() == '0' && r.end() == '9'),
            _ => false,
        }
    }

    fn walk(&mut self, h: &Hir, out: &mut String) {
        match h.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
            HirKind::Class(Class::Unicode(c)) => {
                let ranges = c.ranges();
                let has = |ch: char| ranges.iter().any(|r| r.start() <= ch && ch <= r.end());
                // `.` and `\S` stand for anything: a dot keeps numbers (`\d+.\d{2}`) numbers.
                let order = if has('.') && has('x') && has('1') { ['.', 'x', 'X', '1', ' ', ','] } else { ['x', 'X', '1', ' ', '.', ','] };
                let pick = order.into_iter().find(|ch| has(*ch));
                let ch = pick.or_else(|| {
                    ranges.iter().flat_map(|r| [r.start(), r.end()]).find(|c| *c != '\n' && *c != '\r')
                });
                if let Some(ch) = ch {
                    out.push(if ch == '1' && Self::is_digit_class(h) { '7' } else { ch });
                }
            }
            HirKind::Class(Class::Bytes(c)) => {
                if let Some(r) = c.ranges().first() {
                    out.push(r.start() as char);
                }
            }
            HirKind::Repetition(r) => {
                let n = match r.max {
                    Some(max) if max <= 4 => max.max(r.min) as usize,
                    _ => r.min.max(1) as usize,
                };
                if Self::is_digit_class(&r.sub) {
                    let n = if r.max.is_none() && r.min <= 1 { 3 } else { n };
                    out.push_str(&self.digits(n));
                } else {
                    for _ in 0..n {
                        self.walk(&r.sub, out);
                    }
                }
            }
            HirKind::Capture(c) => self.walk(&c.sub, out),
            HirKind::Concat(hs) => hs.iter().for_each(|h| self.walk(h, out)),
            HirKind::Alternation(hs) => {
                if let Some(h) = hs.first() {
                    self.walk(h, out)
                }
            }
        }
    }
}

fn str_items(v: &yaml_view::Y) -> Vec<String> {
    v.items()
}

/// A minimal view of a template, read with clerk's own YAML reader.
mod yaml_view {
    use clerk::definitions::yaml::{Node, Value};
    pub struct Y<'a>(pub Option<&'a Node>);
    impl<'a> Y<'a> {
        pub fn get(&self, k: &str) -> Y<'a> {
            Y(self.0.and_then(|n| n.get(k)))
        }
        pub fn items(&self) -> Vec<String> {
            self.0.map(|n| n.items().into_iter().filter_map(|i| i.as_str().map(str::to_string)).collect()).unwrap_or_default()
        }
        pub fn entries(&self) -> Vec<(String, &'a Node)> {
            self.0
                .and_then(|n| match &n.value {
                    Value::Map(m) => Some(m.iter().map(|(k, v)| (k.as_str().unwrap_or("").to_string(), v)).collect()),
                    _ => None,
                })
                .unwrap_or_default()
        }
    }
}

/// A line of a generated text that belongs inside an `area:` rectangle when typeset: `box_pt`
/// is the rectangle in points from the page's top-left corner (x0, y0, x1, y1).
#[derive(serde::Serialize)]
pub struct Placed {
    pub page: i64,
    pub box_pt: [f64; 4],
    pub text: String,
}

/// A field's `area:` in points, when it has one.
fn area_pt(f: &yaml_view::Y) -> Option<(i64, [f64; 4])> {
    let n = |k: &str| f.get("area").get(k).0.and_then(|n| n.as_str()).and_then(|s| s.trim().parse::<f64>().ok());
    let (page, r) = (n("f")?, n("r")?);
    let (x, y, w, h) = (n("x")?, n("y")?, n("W")?, n("H")?);
    let k = 72.0 / r;
    Some((page as i64, [x * k, y * k, (x + w) * k, (y + h) * k]))
}

/// A document text that should exercise `template`, and which of its lines a typesetter puts
/// inside the template's areas.
pub fn text_for(path: &Path, sampler: &mut Sampler) -> Option<(String, Vec<Placed>)> {
    use yaml_view::Y;
    let src = std::fs::read_to_string(path).ok()?;
    let docs = clerk::definitions::yaml::parse(&src).ok()?;
    let doc = Y(docs.first());
    let mut lines: Vec<String> = str_items(&doc.get("keywords"));
    if lines.is_empty() {
        return None;
    }
    let sample = |src: &str, lines: &mut Vec<String>, sampler: &mut Sampler| {
        if let Some(s) = sampler.sample(src) {
            lines.push(s);
        }
    };
    let mut placed = vec![];
    for (_, field) in doc.get("fields").entries() {
        let f = Y(Some(field));
        if let Some((page, box_pt)) = area_pt(&f) {
            let before = lines.len();
            for r in f.get("regex").items() {
                sample(&r, &mut lines, sampler);
            }
            placed.extend(lines[before..].iter().map(|l| Placed { page, box_pt, text: l.clone() }));
            continue;
        }
        if f.0.is_some_and(|n| n.as_map().is_some()) {
            if let Some(p) = f.get("parser").0.and_then(|p| p.as_str()) {
                if p == "lines" {
                    for key in ["start", "first_line", "line", "end"] {
                        for r in f.get(key).items().into_iter().take(1) {
                            sample(&r, &mut lines, sampler);
                        }
                    }
                }
            }
            for r in f.get("regex").items() {
                sample(&r, &mut lines, sampler);
            }
        } else {
            for r in f.items() {
                sample(&r, &mut lines, sampler);
            }
        }
    }
    for key in ["start", "first_line", "line", "last_line", "end"] {
        for r in doc.get("lines").get(key).items().into_iter().take(1) {
            sample(&r, &mut lines, sampler);
        }
    }
    if let Some(tables) = doc.get("tables").0 {
        for t in tables.items() {
            let t = Y(Some(t));
            for key in ["start", "body", "end"] {
                for r in t.get(key).items() {
                    sample(&r, &mut lines, sampler);
                }
            }
        }
    }
    Some((lines.join("\n") + "\n", placed))
}

/// Every template file (`.yml`, `.json`) under `dir`.
pub fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "json") {
            out.push(p);
        }
    }
}


/// A text for each template under `templates` (sorted by path), written to `dir` as
/// `<folder>_<stem>.txt`.
pub fn write_texts(templates: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![];
    files(templates, &mut all);
    all.sort();
    let mut sampler = Sampler { two_digit: 0 };
    let mut texts = vec![];
    for t in &all {
        if let Some((text, placed)) = text_for(t, &mut sampler) {
            // Named after the template's path: two folders hold a `com.amazon.aws.yml`.
            let rel = t.strip_prefix(templates).unwrap().with_extension("");
            let p = dir.join(format!("{}.txt", rel.to_string_lossy().replace('/', "_")));
            std::fs::write(&p, text).unwrap();
            if !placed.is_empty() {
                // For tests/oracle/typeset.py: these lines go inside their areas.
                std::fs::write(p.with_extension("areas.json"), serde_json::to_string(&placed).unwrap()).unwrap();
            }
            texts.push(p);
        }
    }
    texts
}
