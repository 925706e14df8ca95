//! invoice2data 1.0.1 is the oracle for invoice2data templates. For every community template
//! (vendored, MIT), a text is generated from the template's own regexes — its keywords, a sample
//! of each field's regex, a table and a lines block — and goes through the real invoice2data
//! (pinned pip install, its `text` reader; tests/oracle) and through `clerk classify`, with all
//! 215 templates loaded in both. Which template wins, whether the document is complete, and every
//! field must be equal; the differences README.md lists as deliberate are the only ones allowed.

mod support;

use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Python of the pinned invoice2data venv (tests/oracle/setup.sh builds it once).
fn oracle_python() -> PathBuf {
    let out = Command::new("bash").arg(repo().join("tests/oracle/setup.sh")).output().expect("run setup.sh");
    assert!(out.status.success(), "tests/oracle/setup.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Builds a string a regex matches, preferring plausible invoice values: digit runs that make
/// dates (`12.05.2014`) and amounts, letters for words, a space for whitespace.
struct Sampler {
    two_digit: usize,
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

fn str_items(v: &serde_yaml_like::Y) -> Vec<String> {
    v.items()
}

/// A minimal view of a template, read with clerk's own YAML reader.
mod serde_yaml_like {
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

/// A document text that should exercise `template`.
fn text_for(path: &Path, sampler: &mut Sampler) -> Option<String> {
    use serde_yaml_like::Y;
    let src = std::fs::read_to_string(path).ok()?;
    let docs = clerk::definitions::yaml::parse(&src).ok()?;
    let doc = Y(docs.first());
    let mut lines: Vec<String> = str_items(&doc.get("keywords"));
    if lines.is_empty() {
        return None;
    }
    let mut sample = |src: &str, lines: &mut Vec<String>, sampler: &mut Sampler| {
        if let Some(s) = sampler.sample(src) {
            lines.push(s);
        }
    };
    for (_, field) in doc.get("fields").entries() {
        let f = Y(Some(field));
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
    Some(lines.join("\n") + "\n")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "json") {
            out.push(p);
        }
    }
}

/// invoice2data's legacy fields de-duplicate through a `set`: the order of several values is
/// Python's hash order, so lists compare as multisets.
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Array(x), J::Array(y)) => {
            let mut xs: Vec<String> = x.iter().map(|v| v.to_string()).collect();
            let mut ys: Vec<String> = y.iter().map(|v| v.to_string()).collect();
            xs.sort();
            ys.sort();
            x.len() == y.len() && (xs == ys || x.iter().zip(y).all(|(p, q)| same(p, q)))
        }
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// invoice2data's value holds today's date where clerk's holds nothing (the one deliberate
/// difference in dates: relative dates).
fn relative_date(a: &J, b: Option<&J>) -> bool {
    let today = J::String(chrono::Local::now().format("%Y-%m-%d").to_string());
    match (a, b) {
        (J::String(_), None) => *a == today,
        (J::Array(x), Some(J::Array(y))) if x.len() == y.len() => {
            x.iter().zip(y).all(|(p, q)| same(p, q) || (*p == today && q.is_null()))
        }
        _ => false,
    }
}

#[test]
fn clerk_extracts_what_invoice2data_extracts() {
    let templates = repo().join("tests/fixtures/invoice2data-templates");
    let mut all = vec![];
    files(&templates, &mut all);
    all.sort();
    let dir = tempfile::tempdir().unwrap();
    // CLERK_ORACLE_KEEP=DIR keeps the generated texts, to look at a difference.
    let keep = std::env::var_os("CLERK_ORACLE_KEEP").map(PathBuf::from);
    let dir_path = keep.clone().unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&dir_path).unwrap();
    let mut sampler = Sampler { two_digit: 0 };
    let mut texts = vec![];
    for t in &all {
        if let Some(text) = text_for(t, &mut sampler) {
            // Named after the template's path: two folders hold a `com.amazon.aws.yml`.
            let rel = t.strip_prefix(&templates).unwrap().with_extension("");
            let p = dir_path.join(format!("{}.txt", rel.to_string_lossy().replace('/', "_")));
            std::fs::write(&p, text).unwrap();
            texts.push(p);
        }
    }
    assert!(texts.len() >= 200, "texts for only {} of {} templates", texts.len(), all.len());

    let py = oracle_python();
    let mut cmd = Command::new(&py);
    cmd.arg(repo().join("tests/oracle/invoice2data_oracle.py")).arg(&templates).args(&texts);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let oracle: BTreeMap<String, J> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<J>(l).unwrap())
        .map(|v| (v["file"].as_str().unwrap().to_string(), v))
        .collect();

    let clerk: BTreeMap<String, J> = support::classify_json(&templates, &dir_path, &texts)
        .into_iter()
        .map(|v| (v["file"].as_str().unwrap().to_string(), v))
        .collect();

    let mut differences = vec![];
    let mut compared_fields = 0;
    let mut recognised = 0;
    let mut unmatched = vec![];
    let mut failed = vec![];
    for t in &texts {
        let key = t.to_string_lossy().to_string();
        let (o, c) = (&oracle[&key], &clerk[&key]);
        let name = t.file_name().unwrap().to_string_lossy().to_string();
        // The template's file name on both sides.
        let o_type = o["template"].as_str().map(str::to_string);
        let c_type = c["definition"].as_str().map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
        if o.get("error").is_some() {
            // invoice2data gave up on the document (a value float() cannot read…): clerk must
            // have named a problem instead.
            failed.push(name.clone());
            if c["exception"].is_null() && c["problems"].as_object().is_none_or(|p| p.is_empty()) {
                differences.push(format!("{name}: invoice2data failed ({}), clerk found no problem", o["error"]));
            }
            continue;
        }
        if o_type != c_type {
            differences.push(format!("{name}: invoice2data chose {o_type:?}, clerk {c_type:?}"));
            continue;
        }
        if o_type.is_none() {
            unmatched.push(name.clone());
            continue;
        }
        recognised += 1;
        let o_complete = o["complete"].as_bool().unwrap_or(false);
        let c_complete = c["exception"].is_null();
        if o_complete != c_complete {
            differences.push(format!("{name}: complete in invoice2data {o_complete}, in clerk {c_complete} ({})", c["exception"]));
        }
        let empty = serde_json::Map::new();
        let of = o["output"].as_object().unwrap_or(&empty);
        let cf = c["fields"].as_object().unwrap_or(&empty);
        let problems = c["problems"].as_object().cloned().unwrap_or_default();
        for k in of.keys().chain(cf.keys()) {
            if k == "template_name" || (k == "desc" && !o_complete) {
                continue;
            }
            compared_fields += 1;
            match (of.get(k), cf.get(k)) {
                (Some(a), Some(b)) if same(a, b) => {}
                // A value invoice2data silently loses, clerk reports as a problem (README).
                (None, None) => {}
                (None, Some(b)) => differences.push(format!("{name}: `{k}` only in clerk: {b}")),
                // dateparser reads a number followed by a unit word (`2014s12`: seconds) as a
                // time relative to now; clerk reads no relative dates (README).
                (Some(a), b) if relative_date(a, b) => {}
                (Some(a), None) if problems.contains_key(k) => {
                    differences.push(format!("{name}: `{k}` = {a} in invoice2data; clerk: {}", problems[k]))
                }
                (Some(a), None) => differences.push(format!("{name}: `{k}` = {a} in invoice2data, missing in clerk")),
                (Some(a), Some(b)) => differences.push(format!("{name}: `{k}`: invoice2data {a}, clerk {b}")),
            }
        }
    }
    println!("{} texts, {recognised} recognised by both, {compared_fields} fields compared", texts.len());
    println!("invoice2data gave up on: {}", failed.join(", "));
    println!("matched by no template in either tool: {}", unmatched.join(", "));
    for d in &differences {
        println!("DIFF {d}");
    }
    assert!(recognised >= 150, "only {recognised} texts recognised: the generator does not exercise the templates");
    assert!(differences.is_empty(), "{} differences from invoice2data 1.0.1 (listed above)", differences.len());
}
