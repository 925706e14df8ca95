//! `clerk text` and `clerk classify`: what clerk reads in files, and what it makes of them,
//! with nothing stored.

use clerk::config::Settings;
use clerk::read::pool::Readers;
use clerk::{definitions, pipeline};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Every file read by the reader pool, several at once, yielded in the order given.
fn read_all(
    readers: &Readers,
    files: Vec<PathBuf>,
) -> impl futures_util::Stream<Item = (PathBuf, Result<clerk::read::pool::Outcome, std::io::Error>, Instant)> + '_ {
    use futures_util::StreamExt;
    let parallel = readers.count();
    futures_util::stream::iter(files)
        .map(move |file| async move {
            let start = Instant::now();
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // The command's own arguments, on local disk: a stat here costs less than a hand-off
            // to the blocking pool.
            let outcome = match std::fs::metadata(&file) {
                Ok(_) => Ok(readers.read_file(&file, &name).await),
                Err(e) => Err(e),
            };
            (file, outcome, start)
        })
        .buffered(parallel)
}

pub async fn text(s: &Settings, files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    use clerk::read::pool::Outcome;
    use futures_util::StreamExt;
    let readers = Readers::new(s.reader_settings());
    let mut failed = false;
    let mut results = std::pin::pin!(read_all(&readers, expand(files)));
    while let Some((file, outcome, _)) = results.next().await {
        if json {
            let v = match &outcome {
                Ok(Outcome::Read(x)) => {
                    serde_json::json!({"file": file.to_string_lossy(), "media_type": x.media_type, "pages": x.pages})
                }
                Ok(Outcome::Unreadable(e) | Outcome::Failed(e)) => {
                    failed = true;
                    serde_json::json!({"file": file.to_string_lossy(), "error": e})
                }
                Ok(Outcome::Stopped | Outcome::Image(_) | Outcome::Part(_)) => continue,
                Err(e) => {
                    failed = true;
                    serde_json::json!({"file": file.to_string_lossy(), "error": format!("cannot read the file: {e}")})
                }
            };
            out!("{v}");
            continue;
        }
        match outcome {
            Ok(Outcome::Read(x)) => out!(
                "==> {} ({}, {} page(s){}) <==\n{}",
                file.display(),
                x.media_type,
                x.pages.len(),
                if x.ocr() { ", OCR" } else { "" },
                x.text()
            ),
            Ok(Outcome::Unreadable(e) | Outcome::Failed(e)) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
            }
            Ok(Outcome::Stopped | Outcome::Image(_) | Outcome::Part(_)) => failed = true,
            Err(e) => {
                eprintln!("{}: cannot read the file: {e}", file.display());
                failed = true;
            }
        }
    }
    readers.stop().await;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub async fn classify(s: &Settings, files: &[PathBuf], format: &str, explain: bool) -> anyhow::Result<ExitCode> {
    use futures_util::StreamExt;
    let loaded = definitions::load_dir(&s.definitions, None);
    for p in &loaded.problems {
        eprintln!("{p}");
    }
    let classifier = loaded.definitions.classifier();
    let readers = Readers::new(s.reader_settings());
    let mut failed = false;
    let mut invoice2data: Vec<serde_json::Value> = vec![];
    let mut results = std::pin::pin!(read_all(&readers, expand(files)));
    while let Some((file, read, start)) = results.next().await {
        let file = &file;
        let classified = match read {
            Ok(read) => pipeline::classify_read(read, &classifier),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let millis = (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let outcome = &classified.outcome;
        if format == "invoice2data" {
            match &outcome.exception {
                None => {
                    let mut entry: serde_json::Map<String, serde_json::Value> =
                        outcome.fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    match outcome.doctype.as_deref().and_then(|t| classifier.get(t)).map(|t| &t.rules) {
                        Some(clerk::classify::doctype::Rules::Invoice2data(t)) => {
                            entry.insert("template_name".into(), t.template_name.clone().into());
                        }
                        _ => {
                            entry.insert("doctype".into(), outcome.doctype.clone().into());
                        }
                    }
                    invoice2data.push(serde_json::Value::Object(entry));
                }
                Some((k, r)) => eprintln!("{}: {}: {r}", file.display(), k.as_str()),
            }
        } else if format == "json" {
            // The API's report, with the time it took and, asked for, the reader's evidence.
            let mut v = serde_json::to_value(classified.report(&file.to_string_lossy(), &classifier))?;
            v["millis"] = millis.into();
            if explain {
                v["reading"] = serde_json::to_value(&outcome.reading)?;
            }
            out!("{v}");
        } else {
            match &outcome.exception {
                None => out!(
                    "{}: recognised {} {}",
                    file.display(),
                    outcome.doctype.as_deref().unwrap_or(""),
                    fields_line(&outcome.fields)
                ),
                Some((k, r)) => out!("{}: exception {}: {r}", file.display(), k.as_str()),
            }
            for (page, why) in &classified.unread {
                out!("  page {page} not read: {why}");
            }
            if let (true, Some(reading)) = (explain, &outcome.reading) {
                out!("{}", explain_reading(reading));
            }
        }
    }
    readers.stop().await;
    if format == "invoice2data" {
        // invoice2data writes its JSON with an indent of 4.
        let mut buf = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut buf, serde_json::ser::PrettyFormatter::with_indent(b"    "));
        serde::Serialize::serialize(&invoice2data, &mut ser)?;
        out!("{}", String::from_utf8_lossy(&buf));
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What the generic invoice reader found, a field a paragraph: value, confidence, evidence, and
/// the candidates it passed over.
fn explain_reading(reading: &clerk::classify::generic::Reading) -> String {
    let mut out = format!("  read as: {}\n", reading.kind_evidence);
    for (name, f) in &reading.fields {
        let sure = if f.sure { "sure" } else { "not sure" };
        out.push_str(&format!("  {name} = {} ({sure}, {:.0}%)\n    {}\n", f.value, f.confidence * 100.0, f.evidence));
        for c in &f.alternatives {
            out.push_str(&format!("    or {} ({:.0}%): {}\n", c.value, c.score * 100.0, c.evidence));
        }
    }
    if let Some(lines) = &reading.lines {
        let sure = if lines.sure { "sure" } else { "not sure" };
        out.push_str(&format!("  lines ({sure}, {:.0}%)\n    {}\n", lines.confidence * 100.0, lines.evidence));
        for l in &lines.rows {
            let part = |label: &str, v: &Option<String>| v.as_ref().map(|v| format!("{label}{v}"));
            let parts: Vec<String> = [
                part("", &l.position),
                part("", &l.item_name),
                part("qty ", &l.quantity),
                part("", &l.unit),
                part("at ", &l.unit_price),
                part("= ", &l.net_amount),
                part("VAT ", &l.tax_rate.as_ref().map(|r| format!("{r}%"))),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push_str(&format!("    {}\n", parts.join(" ")));
        }
    }
    out.trim_end().to_string()
}

/// Folders given on the command line stand for every file inside them, recursively.
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::read_dir(p) {
            Ok(entries) => {
                let mut inner: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                inner.sort();
                out.extend(expand(&inner));
            }
            Err(_) => out.push(p.clone()),
        }
    }
    out
}

pub fn fields_line(fields: &clerk::classify::Fields) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", clerk::classify::field_text(v))).collect::<Vec<_>>().join(" ")
}
