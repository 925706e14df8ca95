//! Cutting scanned batches into documents, for the daemon (a source's split rule, `split.rs`) and
//! for agents who move a boundary the rule drew wrong: split a document after one of its pages,
//! or join it with the next document of its batch. Either way each document's PDF is cut from the
//! batch's original by a reader, and its pages are the batch's pages as they were read (no second
//! OCR).

use crate::states::DocumentStatus;
use crate::read::pool::Readers;
use crate::read::Page;
use crate::split::{page_ranges, parse_ranges};
use crate::store::{NewPart, Store};
use std::path::Path;

/// Cuts `parts` (page numbers in the batch, each with its archive number) out of the batch at
/// `path` (a PDF or a TIFF, `media_type`) and stores their files, of the batch's kind. `Err` is
/// a sentence for the agent, naming the part that failed.
pub async fn cut<'a>(
    store: &Store,
    readers: &Readers,
    path: &Path,
    name: &str,
    media_type: &str,
    batch_pages: &[Page],
    parts: &'a [(Vec<u32>, Option<String>)],
    replaces: &[i64],
) -> anyhow::Result<Result<Vec<NewPart<'a>>, String>> {
    let stem = Path::new(name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (media_type, extension) = kind_of(media_type);
    let mut out = Vec::with_capacity(parts.len());
    for (k, (pages, asn)) in parts.iter().enumerate() {
        let ranges = page_ranges(pages);
        let pdf = match readers.part_file(path, name, pages).await {
            Ok(pdf) => pdf,
            Err(why) => return Ok(Err(format!("clerk could not cut document {} (pages {ranges}) out of this batch: {why}", k + 1))),
        };
        let stored = store.blobs.put_bytes(&pdf).await?;
        let read = pages
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let page = batch_pages.iter().find(|p| p.number == n).cloned().unwrap_or_default();
                Page { number: i as u32 + 1, ..page }
            })
            .collect();
        let suffix = match replaces.is_empty() {
            true => (k + 1).to_string(),
            false => format!("pages-{}", ranges.replace(", ", "_")),
        };
        out.push(NewPart {
            name: format!("{stem}-{suffix}.{extension}"),
            media_type,
            sha256: stored.sha256,
            size: stored.size,
            batch_pages: ranges,
            pages: read,
            asn: asn.as_deref(),
            replaces: replaces.to_vec(),
        });
    }
    Ok(Ok(out))
}

/// Whether an agent may split `doc` (a batch's part, or a PDF or TIFF of several pages that
/// arrived whole and was not split yet).
pub fn splittable(doc: &crate::store::Document) -> bool {
    let media_type = doc.media_type.as_deref().unwrap_or_default();
    splittable_as(doc.split_from, doc.status, doc.pages.unwrap_or(0), media_type)
}

/// [`splittable`] from the document's batch, status, page count and media type.
pub fn splittable_as(split_from: Option<i64>, status: DocumentStatus, pages: i64, media_type: &str) -> bool {
    match split_from {
        Some(_) => status != DocumentStatus::Replaced,
        None => status != DocumentStatus::Split && pages > 1 && cuttable(media_type),
    }
}

/// Batches are cut when they are PDFs or multi-page TIFFs (what scanners and fax servers write).
pub fn cuttable(media_type: &str) -> bool {
    matches!(media_type, PDF | TIFF)
}

const PDF: &str = "application/pdf";
const TIFF: &str = "image/tiff";

/// The kind of file a batch's parts are, and their extension: a TIFF batch's parts are TIFFs
/// (each page's directory and strips copied as they are), a PDF's PDFs.
pub fn kind_of(batch_media_type: &str) -> (&'static str, &'static str) {
    match batch_media_type {
        TIFF => (TIFF, "tif"),
        _ => (PDF, "pdf"),
    }
}

/// Where an agent moves a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The document ends after its `n`th page; the rest is a document of its own.
    SplitAfter(u32),
    /// The document and the next one cut from the same batch are one document.
    JoinNext,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("document {0} does not exist")]
    NotFound(i64),
    /// Not possible for this document, in words for the agent.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::store::Error> for MoveError {
    fn from(e: crate::store::Error) -> Self {
        MoveError::Other(e.into())
    }
}

/// Moves a boundary of the batch `document` was cut from; the ids of the documents cut anew.
/// The documents it replaces must not have gone to a bot (a run that started may have acted on
/// them); their queued runs and open items end, saying why.
pub async fn move_boundary(store: &Store, readers: &Readers, document: i64, to: Move, agent: &str) -> Result<Vec<i64>, MoveError> {
    let doc = store.document(document).await?.ok_or(MoveError::NotFound(document))?;
    if doc.status == DocumentStatus::Replaced {
        return Err(MoveError::Refused(format!("document {document} was cut again already; open the documents that replaced it")));
    }
    if doc.status == DocumentStatus::Split {
        return Err(MoveError::Refused(format!(
            "document {document} was cut into documents already; move a boundary on one of them"
        )));
    }
    // A document that arrived whole (a supplier's two invoices in one PDF) is split as a batch of
    // its own: it keeps its original, as `split`, and the documents cut from it take its place.
    let (batch, pages) = match (doc.split_from, doc.split_pages.as_deref()) {
        (Some(batch), Some(pages)) => (batch, parse_ranges(pages)),
        _ if to == Move::JoinNext => {
            return Err(MoveError::Refused(format!(
                "document {document} was not cut from a batch: there is no next document to join it with"
            )))
        }
        _ if !splittable(&doc) => {
            return Err(MoveError::Refused(format!(
                "document {document} cannot be split: only PDFs and TIFFs of more than one page can"
            )))
        }
        _ => (document, (1..=doc.pages.unwrap_or(0) as u32).collect()),
    };
    let (groups, replaced, why) = match to {
        Move::SplitAfter(n) if n >= 1 && (n as usize) < pages.len() => {
            let (a, b) = pages.split_at(n as usize);
            (vec![a.to_vec(), b.to_vec()], vec![document], format!("{agent} split it after its page {n}"))
        }
        Move::SplitAfter(n) => {
            return Err(MoveError::Refused(format!(
                "document {document} has {} page(s): it can be split after page 1 to {}, not after page {n}",
                pages.len(),
                pages.len().saturating_sub(1)
            )))
        }
        Move::JoinNext => {
            let parts = store.batch_parts(batch).await?;
            let at = parts.iter().position(|(id, _, _)| *id == document);
            let Some((next, next_pages, _)) = at.and_then(|i| parts.get(i + 1)) else {
                return Err(MoveError::Refused(format!("document {document} is the last of its batch: there is no next document to join it with")));
            };
            let mut joined = pages.clone();
            joined.extend(parse_ranges(next_pages));
            joined.sort_unstable();
            (vec![joined], vec![document, *next], format!("{agent} joined documents {document} and {next}"))
        }
    };
    for &id in &replaced {
        if store.bot_started_on(id).await? {
            return Err(MoveError::Refused(format!(
                "document {id} went to a bot already, which may have acted on it: its boundary can no longer be moved"
            )));
        }
    }
    let original = store.document(batch).await?.ok_or(MoveError::NotFound(batch))?;
    let path = store.blobs.path(&original.sha256).await.map_err(anyhow::Error::from)?;
    let batch_pages = store.document_pages(batch).await?;
    let parts: Vec<(Vec<u32>, Option<String>)> = groups.into_iter().map(|g| (g, None)).collect();
    let media_type = original.media_type.as_deref().unwrap_or_default();
    let cut = cut(store, readers, &path, &original.original_name, media_type, &batch_pages, &parts, &replaced)
        .await?
        .map_err(MoveError::Refused)?;
    match store.replace_parts(batch, &replaced, &cut, agent, &why).await? {
        Some(ids) => Ok(ids),
        None => Err(MoveError::Refused(
            "the documents changed meanwhile (cut again by someone else, or a bot started on them); reload and look again".into(),
        )),
    }
}

/// A document that reads as two: its pages from `k` on, read alone, are a document of the same
/// type whose identifier differs from the whole's — a required field whose value is neither a
/// date nor an amount (an invoice's number; invoices of one vendor may share a date and a total).
/// What a separator sheet the rule missed leaves in a batch, or a supplier's two invoices in one
/// PDF. A continuation page that repeats the header reads the same number, and one without it is
/// no document alone, so neither counts. Returns `k` (from 1) and what those pages read as.
pub fn second_document(
    doctype: &crate::classify::doctype::DocType,
    text: &str,
    boxes: Option<&[crate::classify::PageBoxes]>,
    fields: &crate::classify::Fields,
) -> Option<(usize, crate::classify::Fields)> {
    let identifiers: Vec<String> =
        doctype.required_fields().into_iter().filter(|f| fields.get(f).is_some_and(identifies)).collect();
    if identifiers.is_empty() {
        return None;
    }
    let pages: Vec<&str> = text.split('\u{c}').collect();
    // From the last page back: the second document starts at the latest page from which the
    // rest still reads as it (the page with its number), not at the first page after which it
    // does (which takes the first document's last pages along).
    (1..pages.len()).rev().find_map(|k| {
        let tail = pages[k..].join("\u{c}");
        let doc = crate::classify::Doc { boxes: boxes.map(|b| &b[k.min(b.len())..]), ..crate::classify::Doc::plain(&tail) };
        let read = crate::classify::extract_fields(doctype, doc, &Default::default());
        let other = identifiers.iter().any(|f| read.fields.get(f).is_some_and(|v| Some(v) != fields.get(f)));
        (read.exception.is_none() && other).then_some((k + 1, read.fields))
    })
}

/// A normalised value that names one document: text, not a date (`2024-06-03`) or an amount.
fn identifies(value: &serde_json::Value) -> bool {
    let serde_json::Value::String(s) = value else { return false };
    let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    let amount = s.parse::<f64>().is_ok();
    !s.trim().is_empty() && !date && !amount
}

/// The sentence for an agent about a document that reads as two (`second_document`).
pub fn reads_as_two(doctype: &str, pages: usize, from: usize, whole: &crate::classify::Fields, tail: &crate::classify::Fields, required: &[String]) -> String {
    let say = |fields: &crate::classify::Fields| {
        required
            .iter()
            .filter_map(|f| fields.get(f).map(|v| format!("{f} {}", crate::classify::field_text(v))))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tail_pages = if from == pages { format!("page {from}") } else { format!("pages {from}–{pages}") };
    format!(
        "this may be two documents: {tail_pages} read alone as another {doctype} ({}) than the pages before ({}); \
         if so, split it after page {} on this page, else resolve it as it is",
        say(tail),
        say(whole),
        from - 1
    )
}
