//! The documentation cannot drift from the code: the reference pages are what the code makes of
//! itself (`clerk reference cli|metrics|definitions`), the README stays short enough to finish,
//! and every link between the pages leads to a file and a heading that exist.
//! `CLERK_WRITE_DOCS=1 cargo test --test docs` writes the reference pages anew.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::{repo, CLERK};

#[test]
fn the_reference_pages_are_what_the_code_says() {
    for page in ["cli", "metrics", "definitions"] {
        let out = std::process::Command::new(CLERK).args(["reference", page]).output().unwrap();
        assert!(out.status.success());
        let made = String::from_utf8(out.stdout).unwrap();
        let file = repo().join(format!("docs/reference/{page}.md"));
        if std::env::var_os("CLERK_WRITE_DOCS").is_some() {
            std::fs::write(&file, &made).unwrap();
        }
        let kept = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(kept == made, "{} differs from `clerk reference {page}`: run CLERK_WRITE_DOCS=1 cargo test --test docs", file.display());
    }
}

#[test]
fn the_readme_is_short_and_names_every_page_of_the_docs() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.lines().count() <= 200, "README.md has {} lines; the rest belongs in docs/", readme.lines().count());
    for page in markdown_files(&repo().join("docs")) {
        let name = page.strip_prefix(repo()).unwrap().to_string_lossy().into_owned();
        if name.starts_with("docs/reference/") {
            continue; // listed as the folder
        }
        assert!(readme.contains(&format!("({name})")), "README.md does not lead to {name}");
    }
}

#[test]
fn every_link_between_the_pages_leads_somewhere() {
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut pages = markdown_files(&repo().join("docs"));
    pages.push(repo().join("README.md"));
    let mut broken = vec![];
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for m in link.captures_iter(&text) {
            let target = &m[1];
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            if !file.exists() {
                broken.push(format!("{}: {target} (no such file)", page.display()));
            } else if !anchor.is_empty() && !anchors(&file).contains(&anchor.to_string()) {
                broken.push(format!("{}: {target} (no such heading)", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(markdown_files(&p));
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The anchors of a Markdown file's headings, as GitHub makes them.
fn anchors(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut in_code = false;
    let mut out = vec![];
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim().to_lowercase();
        let slug: String = heading.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_').map(|c| if c == ' ' { '-' } else { c }).collect();
        out.push(slug);
    }
    out
}

#[test]
fn the_settings_page_is_a_settings_file_clerk_loads() {
    let page = std::fs::read_to_string(repo().join("docs/reference/settings.md")).unwrap();
    let start = page.find("```toml\n").expect("a toml block") + 8;
    let block = &page[start..start + page[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clerk.toml");
    std::fs::write(&file, block).unwrap();
    let out = std::process::Command::new(CLERK)
        .args(["--config", file.to_str().unwrap(), "--definitions", repo().join("bots").to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "docs/reference/settings.md's example does not load: {}", String::from_utf8_lossy(&out.stderr));
}

/// The keys a settings section accepts, as its `Deserialize` names them to serde: a
/// deserializer that only writes down the field names a struct asks for.
fn accepted_keys<T: serde::de::DeserializeOwned>() -> Vec<&'static str> {
    struct Probe<'a>(&'a mut Vec<&'static str>);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend(fields);
            Err(serde::de::Error::custom("only the field names were wanted"))
        }
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a section"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut keys = Vec::new();
    let _ = T::deserialize(Probe(&mut keys));
    assert!(!keys.is_empty(), "{} is not a settings section", std::any::type_name::<T>());
    keys
}

/// The keys a page's TOML examples name under each section (`[a.b]`, `[[a.b]]`, commented out or
/// not; "" is the top), with each section's name among its parent's keys.
fn documented_keys(page: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in page.split("```toml\n").skip(1) {
        let block = &block[..block.find("```").unwrap_or(block.len())];
        let mut section = String::new();
        for line in block.lines() {
            let line = line.trim_start_matches('#').trim();
            if let Some(header) = line.strip_prefix('[') {
                let name = header.trim_start_matches('[');
                section = name[..name.find(']').unwrap_or(name.len())].to_string();
                let (parent, last) = section.rsplit_once('.').unwrap_or(("", &section));
                out.entry(parent.to_string()).or_default().insert(last.to_string());
                continue;
            }
            let Some((key, _)) = line.split_once('=') else { continue };
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                out.entry(section.clone()).or_default().insert(key.to_string());
            }
        }
    }
    out
}

#[test]
fn every_setting_the_code_accepts_is_on_a_page() {
    use clerk::config::*;
    let mut documented = BTreeMap::<String, BTreeSet<String>>::new();
    for page in ["docs/reference/settings.md", "docs/intake.md"] {
        for (section, keys) in documented_keys(&std::fs::read_to_string(repo().join(page)).unwrap()) {
            documented.entry(section).or_default().extend(keys);
        }
    }
    let sections: Vec<(&str, Vec<&str>)> = vec![
        ("", accepted_keys::<Settings>()),
        ("intake", accepted_keys::<IntakeSettings>()),
        ("mail", accepted_keys::<MailSettings>()),
        ("mail.imap", accepted_keys::<ImapAccount>()),
        ("mail.maildir", accepted_keys::<MaildirAccount>()),
        ("mail.rules", accepted_keys::<mail_rules::Rule>()),
        ("ocr", accepted_keys::<OcrSettings>()),
        ("readers", accepted_keys::<ReadersSettings>()),
        ("limits", accepted_keys::<LimitSettings>()),
        ("http", accepted_keys::<HttpSettings>()),
        ("queue", accepted_keys::<QueueSettings>()),
        ("retention", accepted_keys::<RetentionSettings>()),
        ("split", accepted_keys::<SplitSettings>()),
    ];
    // Sections the code has that this list does not: a new one must be added here and documented.
    let listed: BTreeSet<&str> = sections.iter().map(|(s, _)| *s).collect();
    let mut missing = Vec::new();
    for (section, keys) in &sections {
        for key in keys {
            let shown = documented.get(*section).is_some_and(|d| d.contains(*key));
            let older_name = *section == "ocr" && *key == "threads"; // `readers.count`'s older name, in the prose
            if !shown && !older_name {
                missing.push(format!("[{section}] {key}"));
            }
        }
    }
    assert!(missing.is_empty(), "settings the code accepts that no page documents: {missing:?}");
    for (section, keys) in &documented {
        if !section.is_empty() && !listed.contains(section.as_str()) && section != "split.sources" {
            panic!("a page documents section [{section}] ({keys:?}) that this test does not check");
        }
    }
}
