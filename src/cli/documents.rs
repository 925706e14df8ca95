//! `clerk documents …`: stored documents, their originals.

use clap::Subcommand;
use anyhow::Context;
use clerk::config::Settings;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum DocumentsCmd {
    List {
        #[arg(long)]
        status: Option<clerk::states::DocumentStatus>,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write the document's original bytes, exactly as received, to a file or to stdout.
    Original {
        id: i64,
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

pub async fn run(s: &Settings, cmd: DocumentsCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_store(s).await?;
    match cmd {
        DocumentsCmd::List { status, json } => {
            let docs = store.list_documents(&clerk::store::DocumentFilter { status, ..Default::default() }).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in docs {
                    out!("{:>6}  {:<11} {:<16} {}", d.id, d.status, d.doctype.unwrap_or_default(), d.original_name);
                }
            }
        }
        DocumentsCmd::Original { id, out } => {
            let d = store.document(id).await?.with_context(|| format!("document {id} does not exist"))?;
            if let Some(why) = d.original_gone() {
                anyhow::bail!("document {id}: {why}");
            }
            let bytes = store
                .blobs
                .read(&d.sha256)
                .await
                .with_context(|| format!("the original of document {id} is missing from the blob store"))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
        }
        DocumentsCmd::Show { id, json } => {
            let d = store.document(id).await?.with_context(|| format!("document {id} does not exist"))?;
            if json {
                out!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                out!("document {}: {} ({})", d.id, d.original_name, d.status);
                out!("  from {} at {}", d.source, d.received_at);
                out!("  {} bytes, {}, sha256 {}", d.size, d.media_type.as_deref().unwrap_or("unknown type"), d.sha256);
                if let Some(of) = d.duplicate_of {
                    out!("  duplicate of document {of}");
                }
                if let Some(t) = &d.doctype {
                    out!("  type {t}");
                }
                for (k, v) in &d.fields {
                    out!("  {k} = {}", clerk::classify::field_text(v));
                }
                for (k, v) in &d.problems {
                    out!("  {k}: {v}");
                }
                // An XML e-invoice has no page to look at: its data written out instead.
                if d.media_type.as_deref() == Some("application/xml") {
                    out!("  the e-invoice, written out:");
                    for line in d.text.as_deref().unwrap_or("").lines() {
                        out!("    {line}");
                    }
                }
                for e in &d.exceptions {
                    out!("  exception {} [{}] {}: {}", e.id, e.state, e.kind, e.reason);
                }
                for a in &d.audit {
                    out!("  {} {} {} {}", a.at, a.actor, a.action, a.detail);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
