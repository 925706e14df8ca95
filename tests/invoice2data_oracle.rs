//! invoice2data 1.0.1 is the oracle for invoice2data templates. For every community template
//! (vendored, MIT), a text is generated from the template's own regexes — its keywords, a sample
//! of each field's regex, a table and a lines block — and goes through the real invoice2data
//! (pinned pip install, its `text` reader; tests/oracle) and through `clerk classify`, with all
//! 215 templates loaded in both. Which template wins, whether the document is complete, and every
//! field must be equal; the differences README.md lists as deliberate are the only ones allowed.

mod support;
#[path = "support/template_texts.rs"]
mod template_texts;

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
/// difference in dates: relative dates, which the oracle anchors at noon so that no reading
/// crosses midnight). "Today" is any day from `since` (taken before the oracle ran) to now: a
/// run that spans midnight sees two days.
fn relative_date(a: &J, b: Option<&J>, since: chrono::NaiveDate) -> bool {
    let now = chrono::Local::now().date_naive();
    let today = |v: &J| {
        v.as_str()
            .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .is_some_and(|d| since <= d && d <= now)
    };
    match (a, b) {
        (J::String(_), None) => today(a),
        (J::Array(x), Some(J::Array(y))) if x.len() == y.len() => {
            x.iter().zip(y).all(|(p, q)| same(p, q) || (today(p) && q.is_null()))
        }
        _ => false,
    }
}

/// Runs `texts` (text files or PDFs) through invoice2data and through clerk, both with every
/// template in `templates`; returns (documents recognised by both, fields compared, differences).
fn compare(py: &Path, templates: &Path, dir: &Path, texts: &[PathBuf]) -> (usize, usize, Vec<String>) {
    let since = chrono::Local::now().date_naive();
    let mut cmd = Command::new(py);
    cmd.arg(repo().join("tests/oracle/invoice2data_oracle.py")).arg(templates).args(texts);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let oracle: BTreeMap<String, J> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<J>(l).unwrap())
        .map(|v| (v["file"].as_str().unwrap().to_string(), v))
        .collect();

    let clerk: BTreeMap<String, J> = support::classify_json(templates, dir, texts)
        .into_iter()
        .map(|v| (v["file"].as_str().unwrap().to_string(), v))
        .collect();

    let mut differences = vec![];
    let mut compared_fields = 0;
    let mut recognised = 0;
    let mut unmatched = vec![];
    let mut failed = vec![];
    for t in texts {
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
                (Some(a), b) if relative_date(a, b, since) => {}
                (Some(a), None) if problems.contains_key(k) => {
                    differences.push(format!("{name}: `{k}` = {a} in invoice2data; clerk: {}", problems[k]))
                }
                (Some(a), None) => differences.push(format!("{name}: `{k}` = {a} in invoice2data, missing in clerk")),
                (Some(a), Some(b)) => differences.push(format!("{name}: `{k}`: invoice2data {a}, clerk {b}")),
            }
        }
    }
    println!("{} files, {recognised} recognised by both, {compared_fields} fields compared", texts.len());
    println!("invoice2data gave up on: {}", failed.join(", "));
    println!("matched by no template in either tool: {}", unmatched.join(", "));
    for d in &differences {
        println!("DIFF {d}");
    }
    (recognised, compared_fields, differences)
}

#[test]
fn clerk_extracts_what_invoice2data_extracts() {
    let templates = repo().join("tests/fixtures/invoice2data-templates");
    let dir = tempfile::tempdir().unwrap();
    // CLERK_ORACLE_KEEP=DIR keeps the generated texts, to look at a difference.
    let keep = std::env::var_os("CLERK_ORACLE_KEEP").map(PathBuf::from);
    let dir_path = keep.clone().unwrap_or_else(|| dir.path().to_path_buf());
    std::fs::create_dir_all(&dir_path).unwrap();
    let texts = template_texts::write_texts(&templates, &dir_path);
    assert!(texts.len() >= 200, "texts for only {} of 215 templates", texts.len());

    let py = oracle_python();
    let (recognised, _, differences) = compare(&py, &templates, &dir_path, &texts);
    assert!(recognised >= 150, "only {recognised} texts recognised: the generator does not exercise the templates");
    assert!(differences.is_empty(), "{} differences from invoice2data 1.0.1 (listed above)", differences.len());
}

/// The same on PDFs: 60 of the texts, and those of every template with `area:` fields, typeset
/// by ReportLab (area fields' lines drawn inside their rectangles), read by invoice2data's
/// pdftotext reader (`pdftotext -layout`, and `-bbox-layout` crops for areas) and by clerk's
/// reader.
#[test]
fn on_pdfs_clerk_extracts_what_invoice2data_extracts() {
    let templates = repo().join("tests/fixtures/invoice2data-templates");
    let dir = tempfile::tempdir().unwrap();
    let texts = template_texts::write_texts(&templates, dir.path());
    let with_area: Vec<PathBuf> = texts.iter().filter(|t| t.with_extension("areas.json").exists()).cloned().collect();
    assert!(with_area.len() >= 7, "only {} texts place lines in areas", with_area.len());
    let mut texts: Vec<PathBuf> = texts.into_iter().filter(|t| !with_area.contains(t)).step_by(3).take(60).collect();
    texts.extend(with_area.iter().cloned());
    let py = oracle_python();
    let pdf_dir = dir.path().join("pdf");
    let st = Command::new(&py).arg(repo().join("tests/oracle/typeset.py")).arg(&pdf_dir).args(&texts).status().unwrap();
    assert!(st.success(), "typesetting failed");
    let pdfs: Vec<PathBuf> =
        texts.iter().map(|t| pdf_dir.join(format!("{}.pdf", t.file_stem().unwrap().to_string_lossy()))).collect();
    let (recognised, _, differences) = compare(&py, &templates, &pdf_dir, &pdfs);
    assert!(recognised >= 45, "only {recognised} PDFs recognised");
    assert!(differences.is_empty(), "{} differences from invoice2data 1.0.1 (listed above)", differences.len());
}
