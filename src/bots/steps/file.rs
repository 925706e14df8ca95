//! `file`: hands data to a legacy system through a folder. `write` renders rows as CSV,
//! fixed-width or JSON into a temporary name in the target folder, syncs it, then renames it, so
//! an importer watching the folder never reads half a file. `wait_for` waits for a result file
//! (until its size stops changing) and reads it: `content`, `json` when it parses, `rows` for CSV.

use super::{extract_all, Done, Env, Failure, Result};
use crate::bots::extract::Answer;
use crate::bots::render::Place;
use serde_json::{json, Value as J};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use crate::bots::kinds::{key, Act, BASE, EXTRACT, Kind, Shape, TIMEOUT, Value};
use crate::bots::render::{text_of, Context, Renderer};

pub const KIND: Kind = Kind {
    name: "file",
    doc: "Write a CSV, fixed-width or JSON file into a drop folder atomically, or wait for and read a result file.",
    shape: Shape::Keys(&[
        key("write", Value::Template, "path of the file to write (written to a temporary name, then renamed)"),
        key("format", Value::Template, "csv, fixed or json"),
        key("rows", Value::Any, "the rows to write (a list of mappings)"),
        key("columns", Value::List, "column order (csv, fixed)"),
        key("widths", Value::List, "column widths (fixed)"),
        key("wait_for", Value::Template, "path of a result file to wait for and read"),
        EXTRACT,
        TIMEOUT,
    ]),
    one_of: &["write", "wait_for"],
    act: Act::Call(|cfg, env| Box::pin(run(cfg, env))),
    summary,
    ..BASE
};

/// The file it would write (and its rows), or the one it would wait for.
fn summary(cfg: &J, r: &Renderer, ctx: &Context) -> std::result::Result<J, String> {
    let mut s = serde_json::Map::new();
    for key in ["write", "wait_for", "format"] {
        if let Some(t) = text_of(r, cfg, key, crate::bots::render::Place::Data, ctx)? {
            s.insert(key.into(), J::from(t));
        }
    }
    if let Some(rows) = cfg.get("rows") {
        s.insert("rows".into(), r.json(rows, ctx)?);
    }
    Ok(J::Object(s))
}

pub async fn run(cfg: &J, env: &mut Env<'_>) -> Result {
    if let Some(path) = env.text(cfg, "write", Place::Data)? {
        write(cfg, env, PathBuf::from(path))
    } else {
        let path = env.text(cfg, "wait_for", Place::Data)?.unwrap_or_default();
        wait_for(cfg, env, PathBuf::from(path)).await
    }
}

fn write(cfg: &J, env: &Env, path: PathBuf) -> Result {
    let format = env.text(cfg, "format", Place::Data)?.unwrap_or_else(|| guess_format(&path).into());
    let rows = match cfg.get("rows") {
        Some(r) => env.json(r)?,
        None => return Err(Failure::fatal("`file: write` needs `rows`")),
    };
    let rows: Vec<J> = match rows {
        J::Array(a) => a,
        J::Object(_) => vec![rows],
        other => return Err(Failure::fatal(format!("`rows` must be a list of mappings, found {other}"))),
    };
    let columns: Vec<String> = match cfg.get("columns").and_then(J::as_array) {
        Some(c) => c.iter().map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string)).collect(),
        None => rows.first().and_then(J::as_object).map(|o| o.keys().cloned().collect()).unwrap_or_default(),
    };
    let cell = |row: &J, col: &str| match row.get(col) {
        None | Some(J::Null) => String::new(),
        Some(J::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    let text = match format.as_str() {
        "csv" => {
            let mut out = csv_line(columns.iter().map(String::as_str));
            for row in &rows {
                out.push_str(&csv_line(
                    columns.iter().map(|c| cell(row, c)).collect::<Vec<_>>().iter().map(String::as_str),
                ));
            }
            out
        }
        "fixed" => {
            let widths: Vec<usize> = cfg
                .get("widths")
                .and_then(J::as_array)
                .map(|w| w.iter().filter_map(J::as_u64).map(|w| w as usize).collect())
                .unwrap_or_default();
            if widths.len() != columns.len() {
                return Err(Failure::fatal(format!(
                    "fixed-width needs one width per column: {} columns, {} widths",
                    columns.len(),
                    widths.len()
                )));
            }
            let mut out = String::new();
            for row in &rows {
                for (c, w) in columns.iter().zip(&widths) {
                    let v: String = cell(row, c).chars().take(*w).collect();
                    out.push_str(&format!("{v:<w$}"));
                }
                out.push('\n');
            }
            out
        }
        "json" => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
        other => return Err(Failure::fatal(format!("unknown file format `{other}`; use csv, fixed or json"))),
    };
    let request = json!({ "write": path, "format": format, "rows": rows.len() });
    write_atomically(&path, text.as_bytes()).map_err(|e| Failure {
        request: request.clone(),
        ..Failure::transient(format!("cannot write {}: {e}", path.display()))
    })?;
    let mut output = serde_json::Map::new();
    output.insert("path".into(), J::from(path.display().to_string()));
    output.insert("rows".into(), J::from(rows.len()));
    Ok(Done { output, request, response: json!({ "bytes": text.len() }), target: None })
}

fn guess_format(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => "json",
        Some("txt" | "dat") => "fixed",
        _ => "csv",
    }
}

fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> =
        cells
            .map(|c| {
                if c.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.to_string()
                }
            })
            .collect();
    quoted.join(",") + "\n"
}

/// Temporary name in the same folder (a dot-file importers skip), fsync, rename, fsync the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the path names no file"))?;
    // A report folder may not exist yet; a drop folder that vanished comes back the same way.
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

async fn wait_for(cfg: &J, env: &Env<'_>, path: PathBuf) -> Result {
    let request = json!({ "wait_for": path });
    let deadline = Instant::now() + env.timeout;
    let mut last_size = None;
    let content = loop {
        match std::fs::metadata(&path) {
            Ok(m) if last_size == Some(m.len()) => match std::fs::read(&path) {
                Ok(b) => break String::from_utf8_lossy(&b).into_owned(),
                Err(e) => {
                    return Err(Failure {
                        request,
                        ..Failure::transient(format!("cannot read {}: {e}", path.display()))
                    })
                }
            },
            Ok(m) => last_size = Some(m.len()),
            Err(_) => last_size = None,
        }
        if Instant::now() >= deadline {
            return Err(Failure {
                request,
                ..Failure::transient(format!("{} did not appear within {:?}", path.display(), env.timeout))
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let json: Option<J> = serde_json::from_str(&content).ok();
    let mut output = serde_json::Map::new();
    output.insert("path".into(), J::from(path.display().to_string()));
    if path.extension().is_some_and(|e| e == "csv") {
        output.insert("rows".into(), parse_csv(&content));
    }
    let answer = Answer { body: &content, json: json.as_ref(), headers: &[] };
    extract_all(cfg, &answer, &mut output).map_err(|e| Failure { request: request.clone(), ..Failure::fatal(e) })?;
    output.insert("content".into(), J::from(super::excerpt(&content, 64 << 10)));
    if let Some(j) = json {
        output.insert("json".into(), j);
    }
    Ok(Done { output, request, response: json!({ "bytes": content.len() }), target: None })
}

/// A header row, then rows (quoted cells with doubled quotes, as `csv_line` writes them).
fn parse_csv(text: &str) -> J {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).map(split_csv);
    let header = lines.next().unwrap_or_default();
    J::Array(
        lines.map(|cells| J::Object(header.iter().cloned().zip(cells.into_iter().map(J::from)).collect())).collect(),
    )
}

fn split_csv(line: &str) -> Vec<String> {
    let (mut cells, mut cur, mut quoted) = (vec![], String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_round_trips_awkward_cells() {
        let line = super::csv_line(["a,b", "say \"hi\"", "plain"].into_iter());
        assert_eq!(line, "\"a,b\",\"say \"\"hi\"\"\",plain\n");
        assert_eq!(super::split_csv(line.trim_end()), vec!["a,b", "say \"hi\"", "plain"]);
    }
}
