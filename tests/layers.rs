//! The library's layering as docs/architecture.md lists it: a top-level module imports only
//! modules of its own layer or below, and no module imports another that imports it back,
//! directly or round about.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use support::repo;

/// Each top-level module's layer, from the numbered list under "## Layers".
fn layers() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    let section = doc.split("## Layers").nth(1).expect("docs/architecture.md has a Layers section");
    let item = regex::Regex::new(r"^(\d+)\. (.*)$").unwrap();
    let name = regex::Regex::new(r"`(\w+)`").unwrap();
    let mut out = BTreeMap::new();
    for line in section.lines() {
        if let Some(c) = item.captures(line) {
            let layer: usize = c[1].parse().unwrap();
            let names = c[2].split(" — ").next().unwrap();
            for n in name.captures_iter(names) {
                out.insert(n[1].to_string(), layer);
            }
        }
    }
    out
}

/// Each top-level module's imports of other top-level modules (`crate::NAME`, comments left out).
fn imports(modules: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let uses = regex::Regex::new(r"crate::(\w+)").unwrap();
    let comment = regex::Regex::new(r"//[^\n]*").unwrap();
    let mut out = BTreeMap::new();
    for m in modules {
        let dir = repo().join("src").join(m);
        let files = if dir.is_dir() { rust_files(&dir) } else { vec![repo().join("src").join(format!("{m}.rs"))] };
        let mut used = BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let text = comment.replace_all(&text, "");
            used.extend(uses.captures_iter(&text).map(|c| c[1].to_string()).filter(|u| u != m && modules.contains(u)));
        }
        out.insert(m.clone(), used);
    }
    out
}

/// The `.rs` files in `dir` and below.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let (mut out, mut stack) = (vec![], vec![dir.to_path_buf()]);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

fn top_level_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    let m = regex::Regex::new(r"(?m)^pub mod (\w+);").unwrap();
    m.captures_iter(&lib).map(|c| c[1].to_string()).collect()
}

#[test]
fn every_module_imports_only_its_own_layer_or_below() {
    let modules = top_level_modules();
    let layer = layers();
    let unlisted: Vec<_> = modules.iter().filter(|m| !layer.contains_key(*m)).collect();
    assert!(unlisted.is_empty(), "modules docs/architecture.md does not place in a layer: {unlisted:?}");
    let mut upward = vec![];
    for (m, used) in imports(&modules) {
        for u in used {
            if layer[&u] > layer[&m] {
                upward.push(format!("{m} (layer {}) imports {u} (layer {})", layer[&m], layer[&u]));
            }
        }
    }
    assert!(upward.is_empty(), "imports up the layers:\n{}", upward.join("\n"));
}

#[test]
fn no_two_modules_import_each_other_round_about() {
    let graph = imports(&top_level_modules());
    // Depth-first: a module met again while its own imports are being walked closes a circle.
    fn walk(m: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut circle = path[at..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for u in &g[m] {
            if let Some(c) = walk(u, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(circle) = walk(m, &graph, &mut vec![], &mut done) {
            panic!("an import circle: {}", circle.join(" → "));
        }
    }
}

#[test]
fn a_step_kind_is_one_file_and_one_line_of_the_table_and_nothing_else_names_it() {
    // Every kind in the table has a file of its own that declares it.
    let table = std::fs::read_to_string(repo().join("src/bots/steps/mod.rs")).unwrap();
    let listed: Vec<String> =
        regex::Regex::new(r"&(\w+)::KIND").unwrap().captures_iter(&table).map(|c| c[1].to_string()).collect();
    assert_eq!(listed.len(), clerk::bots::steps::KINDS.len());
    for (module, kind) in listed.iter().zip(clerk::bots::steps::KINDS) {
        let file = repo().join(format!("src/bots/steps/{module}.rs"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(text.contains(&format!("name: \"{}\"", kind.name)), "{} does not declare the kind `{}`", file.display(), kind.name);
    }
    // No code decides by a kind's name: it reads what the kind declares (`act`, `shape`,
    // `binds`, `keeps_cookies`…), so a new kind needs no arm anywhere else.
    let by_name = regex::Regex::new(r#"kind\w*(\(\))?\s*(==|!=)\s*"|match\s+[\w.]*kind[\w.]*\.as_str\(\)|matches!\([\w.]*kind[\w.]*(\.as_str\(\))?,\s*"|k\.name\s*(==|!=)\s*""#).unwrap();
    let mut found = vec![];
    // Where steps are decoded, shown and run (other code has kinds of its own: an item's, a
    // spreadsheet cell's).
    let mut files: Vec<_> = ["src/runner.rs", "src/main.rs"].iter().map(|f| repo().join(f)).collect();
    for d in ["src/bots", "src/definitions", "src/cli", "src/web"] {
        files.extend(rust_files(&repo().join(d)));
    }
    for p in files {
        for (n, line) in std::fs::read_to_string(&p).unwrap().lines().enumerate() {
            if by_name.is_match(line) {
                found.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "code that decides by a step kind's name:\n{}", found.join("\n"));
}
