//! Definition files: the YAML that ops teams drop into the definitions folder. Loading collects
//! *every* problem as `file:line:col: message`; a file with problems keeps its previous good
//! version active (hot reload never makes things worse).

pub mod active;
pub mod bot;
pub mod doctype;
pub mod invoice2data;
pub mod yaml;

pub use active::Active;

use crate::classify::doctype::DocType;
use crate::classify::Classifier;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaml::{Node, Pos};

#[derive(Debug, Clone)]
pub struct Problem {
    pub file: PathBuf,
    pub pos: Pos,
    pub message: String,
    /// A warning leaves the definition active (something in it is ignored); an error does not.
    pub warning: bool,
}

/// True when any of `problems` is an error (not only warnings).
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| !p.warning)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.warning { "warning: " } else { "" };
        write!(f, "{}:{}:{}: {level}{}", self.file.display(), self.pos.line, self.pos.col, self.message)
    }
}

/// Collects problems while a file is decoded.
pub struct Diagnostics<'a> {
    pub file: &'a Path,
    pub problems: Vec<Problem>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a Path) -> Self {
        Diagnostics { file, problems: vec![] }
    }
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem { file: self.file.to_path_buf(), pos, message: message.into(), warning: false });
    }
    pub fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem { file: self.file.to_path_buf(), pos, message: message.into(), warning: true });
    }
    /// Errors so far (warnings do not count).
    pub fn errors(&self) -> usize {
        self.problems.iter().filter(|p| !p.warning).count()
    }
    /// Reports keys of `map` not in `allowed`, suggesting the closest allowed key.
    pub fn unknown_keys(&mut self, map: &Node, what: &str, allowed: &[&str]) {
        for (k, _) in map.as_map().unwrap_or_default() {
            let key = k.as_str().unwrap_or("");
            if !allowed.contains(&key) {
                let hint = closest(key, allowed).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                self.error(k.pos, format!("unknown key `{key}` in {what}{hint}; allowed: {}", allowed.join(", ")));
            }
        }
    }
}

/// `sla: 4h`: how long an item may wait in the queue before it is overdue.
pub fn sla(node: &Node, diag: &mut Diagnostics) -> std::time::Duration {
    match node.as_str().map(crate::config::parse_duration) {
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Err(e)) => {
            diag.error(node.pos, format!("`sla`: {e}"));
            std::time::Duration::ZERO
        }
        _ => {
            diag.error(node.pos, "`sla` must be a duration like 30m, 4h or 2d: how long an item may wait in the queue");
            std::time::Duration::ZERO
        }
    }
}

fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Levenshtein distance, for "did you mean" hints.
fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + (ca != *cb) as usize).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// One loaded definition file.
#[derive(Clone)]
pub struct FileDefs {
    pub version: String,
    /// The file's bytes as loaded: what is in force even after the file changes on disk.
    pub source: Arc<[u8]>,
    pub doctypes: Vec<Arc<DocType>>,
    pub bots: Vec<Arc<crate::bots::Bot>>,
}

impl FileDefs {
    /// (what, name, line/col) of everything this file defines, for duplicate checks.
    fn names(&self) -> Vec<(&'static str, &str, (usize, usize))> {
        let types = self.doctypes.iter().map(|t| ("document type", t.name.as_str(), t.defined_at));
        types.chain(self.bots.iter().map(|b| ("bot", b.name.as_str(), b.defined_at))).collect()
    }
}

/// Every definition currently active.
#[derive(Clone, Default)]
pub struct Definitions {
    pub files: BTreeMap<PathBuf, FileDefs>,
}

impl Definitions {
    pub fn doctypes(&self) -> Vec<Arc<DocType>> {
        self.files.values().flat_map(|f| f.doctypes.iter().cloned()).collect()
    }
    pub fn bots(&self) -> Vec<Arc<crate::bots::Bot>> {
        self.files.values().flat_map(|f| f.bots.iter().cloned()).collect()
    }
    pub fn classifier(&self) -> Classifier {
        Classifier::new(self.doctypes())
    }
}

/// The result of loading a folder: what is active, and every problem found.
pub struct Loaded {
    pub definitions: Definitions,
    pub problems: Vec<Problem>,
    /// Files with problems whose previous version stayed active.
    pub kept_previous: Vec<PathBuf>,
}

/// Loads every `*.yml`/`*.yaml`/`*.json` under `dir`. A file with problems contributes nothing, unless
/// `previous` had a good version of it, which stays active. Duplicate type names across files are
/// problems too.
pub fn load_dir(dir: &Path, previous: Option<&Definitions>) -> Loaded {
    let mut files = Vec::new();
    let mut unreadable = None;
    if let Err(e) = collect_yaml_files(dir, &mut files) {
        unreadable = Some(Problem {
            file: dir.to_path_buf(),
            pos: Pos { line: 1, col: 1 },
            message: format!("cannot read the definitions folder: {e}"),
            warning: false,
        });
    }
    let sources = files.into_iter().map(|f| {
        let bytes = std::fs::read(&f).map_err(|e| format!("cannot read: {e}"));
        (f, bytes)
    });
    let mut loaded = load_sources(sources.collect(), previous);
    loaded.problems.splice(0..0, unreadable);
    loaded
}

/// Loads definition files given as (path, bytes or why they could not be read), as
/// [`load_dir`] does: the definitions a daemon recorded as in force are loaded so again.
pub fn load_sources(mut files: Vec<(PathBuf, Result<Vec<u8>, String>)>, previous: Option<&Definitions>) -> Loaded {
    let mut problems = Vec::new();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut defs = Definitions::default();
    let mut kept_previous = Vec::new();
    let mut seen: BTreeMap<(&str, String), (PathBuf, Pos)> = BTreeMap::new();
    for (file, bytes) in files {
        let (mut loaded, mut file_problems) = match bytes {
            Ok(bytes) => load_file(&file, &bytes),
            Err(message) => (None, vec![Problem { file: file.clone(), pos: Pos { line: 1, col: 1 }, message, warning: false }]),
        };
        if let Some(f) = loaded.as_mut() {
            rename_repeated_templates(f, &file, &seen, &mut file_problems);
        }
        if let Some(f) = &loaded {
            for (what, name, (line, col)) in f.names() {
                if let Some((other, pos)) = seen.get(&(what, name.to_string())) {
                    file_problems.push(Problem {
                        file: file.clone(),
                        pos: Pos { line, col },
                        message: format!(
                            "{what} `{name}` is already defined at {}:{}:{}",
                            other.display(),
                            pos.line,
                            pos.col
                        ),
                        warning: false,
                    });
                }
            }
        }
        match (loaded, has_errors(&file_problems)) {
            (Some(f), false) => {
                for (what, name, (line, col)) in f.names() {
                    seen.insert((what, name.to_string()), (file.clone(), Pos { line, col }));
                }
                defs.files.insert(file, f);
                problems.extend(file_problems);
            }
            _ => {
                if let Some(prev) = previous.and_then(|p| p.files.get(&file)) {
                    kept_previous.push(file.clone());
                    defs.files.insert(file.clone(), prev.clone());
                }
                problems.extend(file_problems);
            }
        }
    }
    check_bot_triggers(&mut defs, previous, &mut problems, &mut kept_previous);
    Loaded { definitions: defs, problems, kept_previous }
}

/// invoice2data loads two templates of the same file name from different folders (the community
/// set has `com/com.amazon.aws.yml` and `fr/com.amazon.aws.yml`); a clerk type name is unique,
/// so the later one is named after its folder too (`fr.com.amazon.aws`), with a note.
fn rename_repeated_templates(
    f: &mut FileDefs,
    file: &Path,
    seen: &BTreeMap<(&str, String), (PathBuf, Pos)>,
    problems: &mut Vec<Problem>,
) {
    let folder = file.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    for t in f.doctypes.iter_mut() {
        let repeated = seen.contains_key(&("document type", t.name.clone()));
        if let (true, Some(folder), Some(t)) = (repeated, &folder, Arc::get_mut(t)) {
            if matches!(t.rules, crate::classify::doctype::Rules::Invoice2data(_)) {
                let new = format!("{folder}.{}", t.name);
                problems.push(Problem {
                    file: file.to_path_buf(),
                    pos: Pos { line: t.defined_at.0, col: t.defined_at.1 },
                    message: format!("another template already names the type `{}`; this one is `{new}`", t.name),
                    warning: true,
                });
                t.name = new;
            }
        }
    }
}

/// A bot triggered by a document type that no active definition has is an error in the bot's
/// file; the file's previous version stays if there was one.
fn check_bot_triggers(
    defs: &mut Definitions,
    previous: Option<&Definitions>,
    problems: &mut Vec<Problem>,
    kept: &mut Vec<PathBuf>,
) {
    let types: Vec<String> = defs.doctypes().iter().map(|t| t.name.clone()).collect();
    let mut broken = vec![];
    for (file, f) in &defs.files {
        for b in &f.bots {
            if let crate::bots::Trigger::Doctype { doctype, .. } = &b.trigger {
                if !types.contains(doctype) {
                    let (line, col) = b.defined_at;
                    problems.push(Problem {
                        file: file.clone(),
                        pos: Pos { line, col },
                        message: format!(
                            "bot `{}` runs on document type `{doctype}`, which no definition has; known types: {}",
                            b.name,
                            types.join(", ")
                        ),
                        warning: false,
                    });
                    broken.push(file.clone());
                }
            }
        }
    }
    for file in broken {
        defs.files.remove(&file);
        if let Some(prev) = previous.and_then(|p| p.files.get(&file)) {
            kept.push(file.clone());
            defs.files.insert(file, prev.clone());
        }
    }
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if name.ends_with(".yml") || name.ends_with(".yaml") || name.ends_with(".json") {
            out.push(path);
        }
    }
    Ok(())
}

/// A definition file's version: the start of its content's SHA-256.
pub fn version_of(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// Loads one file, which may hold several YAML documents separated by `---`.
pub fn load_file(file: &Path, bytes: &[u8]) -> (Option<FileDefs>, Vec<Problem>) {
    let mut diag = Diagnostics::new(file);
    let version = version_of(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            diag.error(Pos { line, col }, "the file is not UTF-8 text; save it as UTF-8");
            return (None, diag.problems);
        }
    };
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            diag.error(e.pos, format!("YAML syntax error: {}", e.message));
            return (None, diag.problems);
        }
    };
    let mut doctypes = Vec::new();
    let mut bots = Vec::new();
    for doc in &docs {
        if doc.as_map().is_none() {
            if !matches!(doc.value, yaml::Value::Null) {
                diag.error(
                    doc.pos,
                    format!("a definition must be a mapping starting with `doctype:`, found {}", doc.kind_name()),
                );
            }
            continue;
        }
        if doc.get("bot").is_some() {
            bots.extend(bot::decode(doc, &version, &mut diag).map(Arc::new));
            continue;
        }
        let decoded = if doc.get("doctype").is_some() {
            doctype::decode(doc, &version, &mut diag)
        } else if doc.get("issuer").is_some() || doc.get("keywords").is_some() {
            let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let file_name = file.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            invoice2data::decode(doc, &name, &file_name, &version, &mut diag)
        } else {
            diag.error(doc.pos, "a definition must start with `doctype: NAME` or `bot: NAME` (or be an invoice2data template with `issuer:` and `keywords:`)");
            None
        };
        doctypes.extend(decoded.map(Arc::new));
    }
    if diag.errors() == 0 {
        (Some(FileDefs { version, source: bytes.into(), doctypes, bots }), diag.problems)
    } else {
        (None, diag.problems)
    }
}
