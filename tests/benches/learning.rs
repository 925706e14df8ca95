//! `cargo bench --bench learning` — clerk's learner against paperless-ngx's classifier (the same
//! scikit-learn stack paperless-ngx trains: tests/oracle/paperless), in the same run, on one core.
//!
//! The documents are real texts many people wrote: the files Debian packages install under
//! /usr/share/doc (every Debian machine has them; this benchmark needs no ../shared). Their kind is
//! the type an agent would file them under: copyright, Debian changelog, Debian NEWS, README.Debian,
//! upstream changelog, NEWS, README, AUTHORS, TODO, THANKS — up to 150 of each, one per package,
//! in a fixed shuffled order. That is the order "agents" file them in: for each document, the
//! learner is asked first (what would it suggest now?), then the document is filed with its kind.
//! clerk learns from each filing at once; paperless-ngx retrains on a schedule, here after every
//! 50 filings (paperless-ngx's default is hourly). Both are scored on the same documents: those
//! after the first 50 whose kind had been filed before. The first document of each kind has
//! nothing to be like: a suggestion there is always wrong, and is counted. Last, the learner at
//! its cap (20,000 filings, the corpus over and over): a suggestion's time, the first one after a
//! filing (which rebuilds the index), and the memory it holds.

#[path = "pin.rs"]
mod pin;
#[path = "proc_status.rs"]
mod proc_status;

use clerk::learn::Model;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const PER_KIND: usize = 150;
const RETRAIN_EVERY: usize = 50;
const THRESHOLDS: [f64; 4] = [0.0, 0.5, 0.7, 0.9];

fn kind(file: &str) -> Option<&'static str> {
    let base = file.trim_end_matches(".gz");
    Some(match base {
        "copyright" => "copyright",
        "changelog.Debian" => "debian-changelog",
        "NEWS.Debian" => "debian-news",
        "README.Debian" => "debian-readme",
        "changelog" | "ChangeLog" | "CHANGELOG" | "CHANGES" => "changelog",
        "NEWS" | "NEWS.md" => "news",
        "README" | "README.md" | "README.txt" | "README.rst" => "readme",
        "AUTHORS" | "AUTHORS.md" => "authors",
        "TODO" | "TODO.md" => "todo",
        "THANKS" => "thanks",
        _ => return None,
    })
}

fn read_text(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).take(1 << 20).read_to_end(&mut out).ok()?;
        out
    } else {
        bytes
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (text.split_whitespace().count() >= 5).then_some(text)
}

/// (kind, text) in filing order: per kind the first PER_KIND packages by name (one file each,
/// same content once), then all shuffled by a fixed hash.
fn corpus() -> Vec<(String, String)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/share/doc").expect("/usr/share/doc").flatten().map(|e| e.path()).collect();
    dirs.sort();
    let mut by_kind: BTreeMap<&str, Vec<(u64, String)>> = BTreeMap::new();
    let mut seen_dirs = HashSet::new();
    let mut seen_texts = HashSet::new();
    for dir in dirs {
        // Many packages' doc folders are links to another package's.
        let Ok(real) = dir.canonicalize() else { continue };
        if !seen_dirs.insert(real.clone()) {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&real).into_iter().flatten().flatten().map(|e| e.path()).collect();
        files.sort();
        let mut kinds_here = HashSet::new();
        for f in files {
            let Some(k) = f.file_name().and_then(|n| n.to_str()).and_then(kind) else { continue };
            if by_kind.get(k).is_some_and(|v| v.len() >= PER_KIND) || !kinds_here.insert(k) || !f.is_file() {
                continue;
            }
            let Some(text) = read_text(&f) else { continue };
            if seen_texts.insert(fnv(text.as_bytes())) {
                by_kind.entry(k).or_default().push((fnv(f.to_string_lossy().as_bytes()), text));
            }
        }
    }
    let mut all: Vec<(u64, String, String)> =
        by_kind.into_iter().flat_map(|(k, v)| v.into_iter().map(move |(h, t)| (h, k.to_string(), t))).collect();
    all.sort_by_key(|(h, _, _)| *h);
    all.into_iter().map(|(_, k, t)| (k, t)).collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// One answer for one document: the type suggested (None: nothing) and its confidence.
type Answer = (Option<String>, f64);

struct Score {
    scored: usize,
    /// Per threshold: (suggested at or above it, right among those).
    at: Vec<(usize, usize)>,
    /// First documents of a kind given a suggestion with confidence ≥ 0.5.
    unseen_suggested: usize,
    unseen: usize,
}

fn score(docs: &[(String, String)], answers: &[Answer]) -> Score {
    let mut s = Score { scored: 0, at: vec![(0, 0); THRESHOLDS.len()], unseen_suggested: 0, unseen: 0 };
    let mut filed = HashSet::new();
    for (i, ((kind, _), (suggested, confidence))) in docs.iter().zip(answers).enumerate() {
        let seen = filed.contains(kind);
        filed.insert(kind.clone());
        if !seen {
            s.unseen += 1;
            s.unseen_suggested += usize::from(suggested.is_some() && *confidence >= 0.5);
            continue;
        }
        if i < RETRAIN_EVERY {
            continue;
        }
        s.scored += 1;
        for (t, at) in THRESHOLDS.iter().zip(&mut s.at) {
            if let Some(ty) = suggested.as_ref().filter(|_| *confidence >= *t) {
                at.0 += 1;
                at.1 += usize::from(ty == kind);
            }
        }
    }
    s
}

fn print(name: &str, s: &Score, secs: f64, docs: usize) {
    let cells: Vec<String> = THRESHOLDS
        .iter()
        .zip(&s.at)
        .map(|(t, (n, right))| {
            let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
            format!("≥{t:.1}: {:5.1}% right of {:5.1}% given", pct(*right, *n), pct(*n, s.scored))
        })
        .collect();
    println!("{name:<24} {}", cells.join(" | "));
    println!(
        "{:<24} first of a kind given a suggestion ≥0.5: {} of {}; time {:.2} s for {docs} documents ({:.0} documents/s)",
        "", s.unseen_suggested, s.unseen, secs, docs as f64 / secs
    );
}

fn main() {
    pin::to_one_core();
    let docs = corpus();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, _) in &docs {
        *kinds.entry(k).or_default() += 1;
    }
    println!("{} documents from /usr/share/doc: {kinds:?}; one core", docs.len());

    // clerk: ask, then file, one document at a time.
    let started = Instant::now();
    let mut model = Model::default();
    let mut clerk_answers = Vec::with_capacity(docs.len());
    for (i, (kind, text)) in docs.iter().enumerate() {
        let s = model.suggest(text, None);
        clerk_answers.push(s.map_or((None, 0.0), |s| (Some(s.doctype), s.confidence)));
        model.file(i as i64, kind, text);
    }
    let clerk_secs = started.elapsed().as_secs_f64();

    // paperless-ngx's classifier on the same stream.
    let setup = Command::new("bash").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/paperless/setup.sh")).output().unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let python = String::from_utf8_lossy(&setup.stdout).trim().to_string();
    let mut child = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/paperless/classifier.py"))
        .arg(RETRAIN_EVERY.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for (kind, text) in &docs {
        let cut = &text[..(0..=text.len().min(clerk::learn::terms::MAX_TEXT)).rev().find(|i| text.is_char_boundary(*i)).unwrap()];
        input.push_str(&serde_json::json!({"label": kind, "text": cut}).to_string());
        input.push('\n');
    }
    let writer = {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, input.as_bytes()))
    };
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (summary, answers) = lines.split_last().unwrap();
    let paperless_answers: Vec<Answer> = answers
        .iter()
        .map(|a| (a["predicted"].as_str().map(String::from), a["confidence"].as_f64().unwrap_or(0.0)))
        .collect();
    let paperless_secs = summary["train_seconds"].as_f64().unwrap() + summary["predict_seconds"].as_f64().unwrap();

    let c = score(&docs, &clerk_answers);
    let p = score(&docs, &paperless_answers);
    println!("scored: {} documents (after the first {RETRAIN_EVERY}, kind filed before)\n", c.scored);
    print("clerk (learns at once)", &c, clerk_secs, docs.len());
    print(&format!("paperless-ngx (every {RETRAIN_EVERY})"), &p, paperless_secs, docs.len());
    println!("\npaperless-ngx trained {} times; its confidence is its network's highest class probability (it shows none)", summary["trainings"]);

    at_the_cap(&docs);
}

/// At the learner's cap (MAX_EXAMPLES filings, the corpus over and over): how long a suggestion
/// takes, and the first one after a new filing (which rebuilds the index).
fn at_the_cap(docs: &[(String, String)]) {
    let before = proc_status::rss_kb(std::process::id());
    let mut model = Model::default();
    let cap = clerk::learn::model::MAX_EXAMPLES;
    for i in 0..cap {
        let (kind, text) = &docs[i % docs.len()];
        model.file(i as i64, kind, text);
    }
    let query = &docs[docs.len() / 2].1;
    let mut rebuild = vec![];
    let mut suggest = vec![];
    for (round, (kind, text)) in docs.iter().take(5).enumerate() {
        model.file((cap + round) as i64, kind, text);
        let t = Instant::now();
        model.suggest(query, None);
        rebuild.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        model.suggest(query, None);
        suggest.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let grown = proc_status::rss_kb(std::process::id()).saturating_sub(before);
    rebuild.sort_by(f64::total_cmp);
    suggest.sort_by(f64::total_cmp);
    println!(
        "\nat {cap} filings ({} in memory): a suggestion {:.1} ms (median of 5); the first after a filing {:.0} ms (the index rebuilt); resident memory +{:.0} MB",
        model.len(),
        suggest[2],
        rebuild[2],
        grown as f64 / 1024.0
    );
}
