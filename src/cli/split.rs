//! `clerk split FILE`: what a split rule makes of a scanned batch, page by page, before it is
//! dropped into an inbox; `--out DIR` writes each document's file (a PDF, or a TIFF from a TIFF
//! batch) as the daemon would cut it.

use clap::Args;
use clerk::config::Settings;
use clerk::read::pool::{Outcome, Readers};
use clerk::split::{self, Rule, Separator};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct SplitArgs {
    file: PathBuf,
    /// Where documents end, repeatable: patch-t, blank, barcode:VALUE, asn:PREFIX. Without it,
    /// the configuration's `[split]` rule for this source, else patch-t.
    #[arg(long = "separator", value_name = "SEPARATOR")]
    separators: Vec<Separator>,
    /// Keep separator sheets, each as the first page of the document after it.
    #[arg(long)]
    keep_separators: bool,
    /// Drop blank pages (duplex backs).
    #[arg(long)]
    drop_blank: bool,
    /// A page with less ink than this share of it is blank (default 0.0005).
    #[arg(long)]
    blank_ink: Option<f32>,
    /// Write each document's file into this folder (BATCH-1.pdf, BATCH-2.pdf…; .tif from a TIFF).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Take the rule the daemon takes for this inbox folder (its path) or mail account (its name).
    #[arg(long)]
    source: Option<String>,
    /// One JSON object: `pages` (each page's `barcodes`, `ink`, `blank`), `documents` (each
    /// one's `pages`, `range`, `asn`, `file`) and `dropped` (`page`, `why`).
    #[arg(long)]
    json: bool,
}

impl SplitArgs {
    fn rule(&self, s: &Settings) -> Rule {
        let configured = s.split.rule_for(self.source.as_deref().unwrap_or(""));
        let mut rule = configured.unwrap_or_else(|| Rule::new(vec![Separator::PatchT]));
        if !self.separators.is_empty() {
            rule.at = self.separators.clone();
        }
        rule.keep_separators |= self.keep_separators;
        rule.drop_blank |= self.drop_blank;
        if let Some(ink) = self.blank_ink {
            rule.blank_ink = ink;
        }
        rule
    }
}

pub async fn run(s: &Settings, a: SplitArgs) -> anyhow::Result<ExitCode> {
    let rule = a.rule(s);
    let name = a.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let readers = Readers::new(s.reader_settings());
    let (pages, media_type) = match readers.read_file_with_barcodes(&a.file, &name).await {
        Outcome::Read(x) => (x.pages, x.media_type),
        Outcome::Unreadable(why) | Outcome::Failed(why) => {
            readers.stop().await;
            eprintln!("{}: {why}", a.file.display());
            return Ok(ExitCode::FAILURE);
        }
        Outcome::Stopped | Outcome::Image(_) | Outcome::Part(_) => {
            readers.stop().await;
            anyhow::bail!("the reader did not read {}", a.file.display())
        }
    };
    let plan = split::plan(&pages, &rule);
    let mut files: Vec<Option<PathBuf>> = vec![None; plan.parts.len()];
    let mut failed = false;
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)?;
        let stem = a.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "batch".into());
        for (k, part) in plan.parts.iter().enumerate() {
            match readers.part_file(&a.file, &name, &part.pages).await {
                Ok(file) => {
                    let (_, extension) = clerk::batches::kind_of(&media_type);
                    let path = dir.join(format!("{stem}-{}.{extension}", k + 1));
                    std::fs::write(&path, file)?;
                    files[k] = Some(path);
                }
                Err(why) => {
                    eprintln!("{}: document {} (pages {}): {why}", a.file.display(), k + 1, split::page_ranges(&part.pages));
                    failed = true;
                }
            }
        }
    }
    readers.stop().await;
    if a.json {
        let pages: Vec<_> = pages
            .iter()
            .map(|p| serde_json::json!({"number": p.number, "barcodes": p.barcodes, "ink": p.ink, "blank": rule.is_blank(p)}))
            .collect();
        let documents: Vec<_> = plan
            .parts
            .iter()
            .zip(&files)
            .map(|(p, f)| serde_json::json!({"pages": p.pages, "range": split::page_ranges(&p.pages), "asn": p.asn, "file": f}))
            .collect();
        let v = serde_json::json!({
            "file": a.file, "rule": rule, "pages": pages, "documents": documents, "dropped": plan.dropped,
        });
        println!("{v}");
    } else {
        println!("{}: {} page(s), {} document(s)", a.file.display(), pages.len(), plan.parts.len());
        for (k, (part, file)) in plan.parts.iter().zip(&files).enumerate() {
            let asn = part.asn.as_deref().map(|a| format!(", {a}")).unwrap_or_default();
            let file = file.as_ref().map(|f| format!(" → {}", f.display())).unwrap_or_default();
            println!("  document {}: page(s) {}{asn}{file}", k + 1, split::page_ranges(&part.pages));
        }
        for d in &plan.dropped {
            println!("  dropped page {}: {}", d.page, d.why);
        }
        for p in pages.iter().filter(|p| !p.barcodes.is_empty()) {
            let codes: Vec<String> = p.barcodes.iter().map(|b| format!("{} {}", b.format, b.value)).collect();
            println!("  page {} barcodes: {}", p.number, codes.join("; "));
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
