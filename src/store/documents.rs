//! Documents and their pages.

use super::{jobs::Stage, now, Result, Store};
use crate::classify::Outcome;
use crate::read::Page;
use crate::states::DocumentStatus;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// A file about to be recorded; its bytes are already in the blob store.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub source: String,
    pub original_name: String,
    pub original_path: String,
    pub intake_key: String,
    pub sha256: String,
    pub size: u64,
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeResult {
    /// A new document, queued for extraction.
    Received(i64),
    /// Same bytes as an earlier document: recorded, linked, not processed again.
    Duplicate { id: i64, of: i64 },
    /// This very file was recorded before (a crash came between commit and removal).
    AlreadyTaken(i64),
}

#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub status: Option<DocumentStatus>,
    pub doctype: Option<String>,
    /// Received at or after this time (RFC 3339).
    pub since: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentSummary {
    pub id: i64,
    pub status: DocumentStatus,
    pub doctype: Option<String>,
    pub original_name: String,
    pub source: String,
    pub media_type: Option<String>,
    pub size: i64,
    pub received_at: String,
    /// The batch it was cut from, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_from: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Document {
    pub id: i64,
    pub status: DocumentStatus,
    pub doctype: Option<String>,
    pub doctype_version: Option<String>,
    #[schema(value_type = Object)]
    pub fields: crate::classify::Fields,
    pub problems: BTreeMap<String, String>,
    /// Fields read from a longer text than their value: name → what was left beside it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
    pub original_name: String,
    /// Where it was taken from on the server (for ops; not shown to agents).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub original_path: String,
    pub source: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: Option<String>,
    pub pages: Option<i64>,
    pub ocr: bool,
    pub duplicate_of: Option<i64>,
    /// The batch it was cut from, and its pages there ("3-4, 6").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_from: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_pages: Option<String>,
    /// For a batch that was split: the documents cut from it by their first page, those an
    /// agent's new cut replaced too (status `replaced`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<i64>,
    pub text: Option<String>,
    pub received_at: String,
    pub updated_at: String,
    /// When the original was removed under `[retention] originals` (the record stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_removed: Option<String>,
    pub exceptions: Vec<super::ExceptionItem>,
    /// The e-mail it came in (`doc.mail` for bots), for documents from mailboxes.
    #[schema(value_type = Option<Object>)]
    pub mail: Option<serde_json::Value>,
    /// Pages as read: OCR pages carry their image size and word boxes (to highlight fields).
    pub page_details: Vec<PageDetail>,
    pub audit: Vec<AuditLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageDetail {
    pub number: i64,
    pub ocr: bool,
    pub width: i64,
    pub height: i64,
    #[schema(value_type = Vec<Object>)]
    pub words: serde_json::Value,
    /// Why the page could not be read (it is damaged); the document's other pages were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// Clockwise degrees the page was turned before OCR read it (scanned upside down or
    /// sideways); its words are on the turned page, and its image is drawn turned.
    pub turned: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditLine {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A run past `queued`, in SQL over `runs`: one that may have acted on its document.
pub(super) const RUN_STARTED: &str = "state <> 'queued'";

impl Document {
    /// Why its original cannot be shown, when it was removed under the retention settings.
    pub fn original_gone(&self) -> Option<String> {
        self.original_removed.as_ref().map(|at| {
            format!("the original file was removed on {} under the retention settings; its text and fields are kept", &at[..at.len().min(10)])
        })
    }
}

/// What classifying a document reads: built from its reading in memory by the worker that read
/// it (which classifies it at once), or from its rows ([`Store::classify_input`]); the same either
/// way (a test holds both to it).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyInput {
    /// Its pages' text, a form feed between pages.
    pub text: String,
    /// The type a mail rule named for it.
    pub hint: Option<String>,
    pub einvoice: Option<crate::read::EInvoice>,
    /// Every page's word boxes, for invoice2data `area:` fields; None for plain text, whose
    /// fields read the whole text.
    pub boxes: Option<Vec<crate::classify::PageBoxes>>,
    /// The values of the barcodes on its pages, in page order.
    pub barcodes: Vec<String>,
    /// What decides whether an agent may split it.
    pub cut: Cut,
}

/// What decides whether an agent may split a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// The batch it was cut from.
    pub split_from: Option<i64>,
    pub status: DocumentStatus,
    pub pages: i64,
    pub media_type: String,
}

impl ClassifyInput {
    /// What a document's fresh reading gives to classify, as [`Store::save_extraction`] records
    /// it; `job` carries the row's mail-rule type and batch.
    pub fn of_reading(job: &super::Job, media_type: &str, pages: &[Page], einvoice: Option<&crate::read::EInvoice>) -> ClassifyInput {
        ClassifyInput {
            text: text_of(pages),
            hint: job.hint.clone(),
            einvoice: einvoice.cloned(),
            boxes: (has_boxes(media_type) && !pages.is_empty()).then(|| pages.iter().map(|p| (p.number, p.boxes.clone())).collect()),
            barcodes: pages.iter().flat_map(|p| p.barcodes.iter().map(|b| b.value.clone())).collect(),
            cut: Cut {
                split_from: job.split_from,
                status: DocumentStatus::Extracted,
                pages: pages.len() as i64,
                media_type: media_type.to_string(),
            },
        }
    }
}

/// A document's text: its pages', a form feed between pages.
fn text_of(pages: &[Page]) -> String {
    pages.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\u{c}")
}

/// A recognised document's audit line; None for an exception (its item says why).
fn recognised_detail(outcome: &Outcome) -> Option<String> {
    outcome.exception.is_none().then(|| {
        let mut detail = format!("as {}", outcome.doctype.as_deref().unwrap_or("?"));
        if let Some(why) = &outcome.learned {
            detail.push_str(&format!(" ({why})"));
        }
        detail
    })
}

/// Plain text has no word boxes worth keeping (one line is one box).
fn has_boxes(media_type: &str) -> bool {
    media_type != "text/plain"
}

impl Store {
    /// Records a file taken from a source, in one transaction with its first job.
    pub async fn record_intake(&self, doc: &NewDocument) -> Result<IntakeResult> {
        self.record(doc, None, Default::default()).await
    }

    /// Records a file taken from a source whose original [`Blobs::put_for_record`] kept on disk:
    /// the original's row (PostgreSQL) commits with the document's.
    ///
    /// [`Blobs::put_for_record`]: super::blobs::Blobs::put_for_record
    pub async fn record_taken(&self, doc: &NewDocument, original: super::blobs::Unshared) -> Result<IntakeResult> {
        self.record(doc, None, original).await
    }

    /// Records something that arrived but is not a document (a symlink, a folder) as an
    /// unreadable exception at once, so an agent sees it.
    pub async fn record_refused(&self, doc: &NewDocument, reason: &str) -> Result<IntakeResult> {
        self.record(doc, Some(reason), Default::default()).await
    }

    /// In the next group commit (sources take several files at once), with the original's row
    /// when it is not in the shared database yet.
    async fn record(&self, doc: &NewDocument, refused: Option<&str>, original: super::blobs::Unshared) -> Result<IntakeResult> {
        let (doc, refused) = (std::sync::Arc::new(doc.clone()), refused.map(str::to_string));
        let recorded = self.batch.write(move |c| {
            let (doc, refused, original) = (doc.clone(), refused.clone(), original.clone());
            Box::pin(async move {
                original.share(c).await?;
                Store::record_in(c, &doc, refused.as_deref()).await.map_err(|e| e.0)
            })
        });
        Ok(recorded.await?)
    }

    /// Records a document in the caller's transaction (a mail message's documents commit
    /// together). `refused`: the reason it goes straight to the exception queue.
    pub(super) async fn record_in(
        tx: &mut AnyConnection,
        doc: &NewDocument,
        refused: Option<&str>,
    ) -> Result<IntakeResult> {
        let t = now();
        // One statement: the first document of the same content, if any, makes this one its
        // duplicate. A key recorded before (another daemon took the same file of a shared
        // folder) wins: the insert's conflict finds it.
        let insert = "INSERT INTO documents (source, original_name, original_path, intake_key, sha256, size, media_type, status, duplicate_of, received_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN $9 WHEN first.id IS NULL THEN $10 ELSE $11 END, first.id, $12, $12
             FROM (SELECT 1 AS one) one
             LEFT JOIN (SELECT id FROM documents WHERE sha256 = $5 AND duplicate_of IS NULL ORDER BY id LIMIT 1) first ON NOT $8
             WHERE true
             ON CONFLICT (intake_key) DO NOTHING RETURNING id, duplicate_of";
        // Chained, the document's audit line and its first job ride in the same statement: the
        // rows the steps below write one by one.
        let chained = Store::chains_writes(tx);
        let sql = match chained {
            true => format!(
                "WITH made AS ({insert}),
                 logged AS (INSERT INTO audit (at, document_id, actor, action, detail)
                            SELECT $12, id, 'clerk', CASE WHEN duplicate_of IS NULL THEN 'received' ELSE 'duplicate' END,
                                   CASE WHEN duplicate_of IS NULL THEN 'from ' || $1 ELSE 'same content as document ' || duplicate_of END
                            FROM made),
                 queued AS (INSERT INTO jobs (document_id, stage, run_after, created_at, updated_at)
                            SELECT id, $13, $14, $12, $12 FROM made WHERE duplicate_of IS NULL AND NOT $8 RETURNING id)
                 SELECT id, duplicate_of, (SELECT count({}) FROM queued) FROM made",
                Store::notify_expr(super::wake::Work::Jobs)
            ),
            false => insert.to_string(),
        };
        let mut query = sqlx::query(&sql)
            .bind(&doc.source)
            .bind(&doc.original_name)
            .bind(&doc.original_path)
            .bind(&doc.intake_key)
            .bind(&doc.sha256)
            .bind(doc.size as i64)
            .bind(&doc.media_type)
            .bind(refused.is_some())
            .bind(DocumentStatus::Exception)
            .bind(DocumentStatus::Received)
            .bind(DocumentStatus::Duplicate)
            .bind(&t);
        if chained {
            query = query.bind(Stage::Extract.as_str()).bind(super::now_ms());
        }
        let inserted = query.fetch_all(&mut *tx).await?.into_iter().next();
        let id = inserted.as_ref().map(|r| r.get::<i64, _>(0));
        let first: Option<i64> = inserted.and_then(|r| r.get(1));
        let Some(id) = id else {
            let id = sqlx::query_scalar("SELECT id FROM documents WHERE intake_key = $1")
                .bind(&doc.intake_key)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(IntakeResult::AlreadyTaken(id));
        };
        if !chained {
            // The lines the chained statement writes (tests/store_backends.rs holds both to them).
            let (action, detail) = match first {
                Some(of) => ("duplicate", format!("same content as document {of}")),
                None => ("received", format!("from {}", doc.source)),
            };
            Store::audit(&mut *tx, Some(id), None, "clerk", action, &detail).await?;
        }
        let result = match (refused, first) {
            (Some(reason), _) => {
                let kind = crate::states::ExceptionKind::Unreadable;
                Store::open_exception(tx, id, kind, reason).await?;
                IntakeResult::Received(id)
            }
            (None, Some(of)) => IntakeResult::Duplicate { id, of },
            (None, None) => {
                if !chained {
                    Store::enqueue(tx, id, Stage::Extract).await?;
                }
                IntakeResult::Received(id)
            }
        };
        Ok(result)
    }

    pub(super) async fn save_extraction(
        tx: &mut AnyConnection,
        id: i64,
        media_type: &str,
        pages: &[Page],
        einvoice: Option<&crate::read::EInvoice>,
        tables: &[crate::read::office::Table],
    ) -> Result<()> {
        Store::save_pages(tx, id, media_type, pages).await?;
        sqlx::query("UPDATE documents SET status = 'extracted', media_type = $1, text = $2, pages = $3, ocr = $4, updated_at = $5, einvoice = $7, tables = $8 WHERE id = $6")
            .bind(media_type)
            .bind(text_of(pages))
            .bind(pages.len() as i64)
            .bind(pages.iter().any(|p| p.ocr) as i64)
            .bind(now())
            .bind(id)
            .bind(einvoice.map(|e| serde_json::to_string(e).unwrap_or_default()))
            .bind((!tables.is_empty()).then(|| serde_json::to_string(tables).unwrap_or_default()))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// A document's reading and its classification at once, only while `job` is still this
    /// daemon's: false when its lease was lost (nothing is written). The same rows as
    /// [`Store::save_extraction`] then [`Store::save_outcome`], the job done as `classify`; on
    /// PostgreSQL the job's completion, the row's update and a recognised document's audit line
    /// ride in one statement.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn save_read_outcome(
        tx: &mut AnyConnection,
        job: &super::Job,
        media_type: &str,
        pages: &[Page],
        einvoice: Option<&crate::read::EInvoice>,
        tables: &[crate::read::office::Table],
        outcome: &Outcome,
        version: Option<&str>,
    ) -> Result<bool> {
        let id = job.document_id;
        if !Store::chains_writes(tx) {
            if !Store::complete_as(tx, job, Stage::Classify).await? {
                return Ok(false);
            }
            Store::save_extraction(tx, id, media_type, pages, einvoice, tables).await?;
            Store::save_outcome(tx, id, outcome, version, "clerk").await?;
            return Ok(true);
        }
        let changed: i64 = sqlx::query_scalar(
            "WITH done AS (UPDATE jobs SET state = 'done', stage = $18, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running' RETURNING id),
             changed AS (UPDATE documents SET status = $4, doctype = $5, doctype_version = $6, fields = $7, problems = $8, notes = $9,
                                media_type = $10, text = $11, pages = $12, ocr = $13, einvoice = $14, tables = $15, updated_at = $1
                         WHERE id = $16 AND EXISTS (SELECT 1 FROM done) RETURNING id),
             audited AS (INSERT INTO audit (at, document_id, actor, action, detail)
                         SELECT $1, id, 'clerk', 'recognised', $17 FROM changed WHERE $17::text IS NOT NULL)
             SELECT COUNT(*) FROM changed",
        )
        .bind(now())
        .bind(job.id)
        .bind(&job.owner)
        .bind(outcome.status())
        .bind(&outcome.doctype)
        .bind(version)
        .bind(serde_json::to_string(&outcome.fields).unwrap_or_default())
        .bind(serde_json::to_string(&outcome.problems).unwrap_or_default())
        .bind((!outcome.notes.is_empty()).then(|| serde_json::to_string(&outcome.notes).unwrap_or_default()))
        .bind(media_type)
        .bind(text_of(pages))
        .bind(pages.len() as i64)
        .bind(pages.iter().any(|p| p.ocr) as i64)
        .bind(einvoice.map(|e| serde_json::to_string(e).unwrap_or_default()))
        .bind((!tables.is_empty()).then(|| serde_json::to_string(tables).unwrap_or_default()))
        .bind(id)
        .bind(recognised_detail(outcome))
        .bind(Stage::Classify.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if changed == 0 {
            return Ok(false);
        }
        Store::save_pages(tx, id, media_type, pages).await?;
        if let Some((kind, reason)) = &outcome.exception {
            Store::open_exception(tx, id, *kind, reason).await?;
        }
        Ok(true)
    }

    async fn save_pages(tx: &mut AnyConnection, id: i64, media_type: &str, pages: &[Page]) -> Result<()> {
        // A document is read once (its one extract job completes once; parts are new rows), so
        // there are no pages to replace: a second reading would break the pages' primary key.
        for p in pages {
            sqlx::query(
                "INSERT INTO pages (document_id, number, text, ocr, width, height, words, boxes, unread, barcodes, ink_ppm, turned) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(id)
            .bind(p.number as i64)
            .bind(&p.text)
            .bind(p.ocr as i64)
            .bind(p.width as i64)
            .bind(p.height as i64)
            .bind(serde_json::to_string(&p.words).unwrap_or_else(|_| "[]".into()))
            .bind(has_boxes(media_type).then(|| serde_json::to_string(&p.boxes).unwrap_or_else(|_| "[]".into())))
            .bind(p.unread.as_deref())
            .bind((!p.barcodes.is_empty()).then(|| serde_json::to_string(&p.barcodes).unwrap_or_default()))
            .bind(p.ink.map(|i| (i as f64 * 1e6).round() as i64))
            .bind(p.turned as i64)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Stores a classification outcome; an exception outcome opens an exception item.
    pub(super) async fn save_outcome(
        tx: &mut AnyConnection,
        id: i64,
        outcome: &Outcome,
        version: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let status = outcome.status();
        let update = "UPDATE documents SET status = $1, doctype = $2, doctype_version = $3, fields = $4, problems = $5, updated_at = $6, notes = $8 WHERE id = $7";
        // A recognised document's audit line; chained, it rides in the update's statement.
        let recognised = recognised_detail(outcome);
        let chained = recognised.is_some() && Store::chains_writes(tx);
        let sql = match chained {
            true => format!(
                "WITH changed AS ({update} RETURNING id)
                 INSERT INTO audit (at, document_id, actor, action, detail) SELECT $6, id, $9, 'recognised', $10 FROM changed"
            ),
            false => update.to_string(),
        };
        let mut query = sqlx::query(&sql)
            .bind(status)
            .bind(&outcome.doctype)
            .bind(version)
            .bind(serde_json::to_string(&outcome.fields).unwrap_or_default())
            .bind(serde_json::to_string(&outcome.problems).unwrap_or_default())
            .bind(now())
            .bind(id)
            .bind((!outcome.notes.is_empty()).then(|| serde_json::to_string(&outcome.notes).unwrap_or_default()));
        if chained {
            query = query.bind(actor).bind(recognised.as_deref());
        }
        query.execute(&mut *tx).await?;
        match (&outcome.exception, recognised) {
            (Some((kind, reason)), _) => {
                Store::open_exception(tx, id, *kind, reason).await?;
            }
            (None, Some(detail)) if !chained => Store::audit(&mut *tx, Some(id), None, actor, "recognised", &detail).await?,
            _ => {}
        }
        Ok(())
    }

    /// Marks a document unreadable (extraction refused it), opening its exception.
    pub(super) async fn save_unreadable(
        tx: &mut AnyConnection,
        id: i64,
        media_type: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE documents SET status = 'exception', media_type = COALESCE($1, media_type), updated_at = $2 WHERE id = $3")
            .bind(media_type)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Store::open_exception(tx, id, crate::states::ExceptionKind::Unreadable, reason).await?;
        Ok(())
    }

    /// A document cut from batch `batch` as its `k`th part, with the batch's source and path.
    pub(super) async fn record_part(
        tx: &mut AnyConnection,
        batch: i64,
        k: usize,
        part: &super::stages::NewPart<'_>,
    ) -> Result<i64> {
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO documents (source, original_name, original_path, intake_key, sha256, size, media_type, status, received_at, updated_at, split_from, split_pages)
             SELECT source, $1, original_path, $2, $3, $4, $8, 'received', $5, $5, id, $6 FROM documents WHERE id = $7 RETURNING id",
        )
        .bind(&part.name)
        .bind(match part.replaces.is_empty() {
            true => format!("split|{batch}|{k}"),
            // An agent's new cut: named by what it replaces, so the same request twice is one cut.
            false => format!("split|{batch}|{}|replacing {:?}", part.batch_pages, part.replaces),
        })
        .bind(&part.sha256)
        .bind(part.size as i64)
        .bind(&t)
        .bind(&part.batch_pages)
        .bind(batch)
        .bind(part.media_type)
        .fetch_one(&mut *tx)
        .await?;
        let asn = part.asn.map(|a| format!(", archive number {a}")).unwrap_or_default();
        let by = match part.replaces.as_slice() {
            [] => String::new(),
            r => format!(", cut again by an agent in place of document(s) {}", r.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")),
        };
        let detail = format!("pages {} of document {batch}{asn}{by}", part.batch_pages);
        Store::audit(&mut *tx, Some(id), None, "clerk", "cut from a batch", &detail).await?;
        Ok(id)
    }

    /// The document's pages as they were read (text, word boxes, barcodes, ink).
    pub async fn document_pages(&self, id: i64) -> Result<Vec<Page>> {
        let rows = sqlx::query(
            "SELECT number, text, ocr, width, height, words, boxes, unread, barcodes, ink_ppm, turned FROM pages WHERE document_id = $1 ORDER BY number",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        fn json<T: serde::de::DeserializeOwned + Default>(s: Option<String>) -> T {
            s.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
        }
        Ok(rows
            .into_iter()
            .map(|r| Page {
                number: r.get::<i64, _>(0) as u32,
                text: r.get(1),
                ocr: r.get::<i64, _>(2) != 0,
                width: r.get::<i64, _>(3) as u32,
                height: r.get::<i64, _>(4) as u32,
                words: json(r.get(5)),
                boxes: json(r.get(6)),
                unread: r.get(7),
                barcodes: json(r.get(8)),
                ink: r.get::<Option<i64>, _>(9).map(|p| p as f32 / 1e6),
                turned: r.get::<i64, _>(10) as u32,
            })
            .collect())
    }

    /// The documents cut from `batch` that stand (not replaced by an agent's new cut), in page
    /// order: (id, pages in the batch as written, status).
    pub async fn batch_parts(&self, batch: i64) -> Result<Vec<(i64, String, String)>> {
        let rows = sqlx::query("SELECT id, split_pages, status FROM documents WHERE split_from = $1 AND status <> 'replaced' ORDER BY id")
            .bind(batch)
            .fetch_all(&self.pool)
            .await?;
        let mut parts: Vec<(i64, String, String)> = rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        parts.sort_by_key(|(_, pages, _)| crate::split::parse_ranges(pages).first().copied().unwrap_or(0));
        Ok(parts)
    }

    /// Every document cut from `batch`, those an agent's new cut replaced too, by their first page
    /// in the batch (then by when they were cut).
    async fn parts_of(&self, batch: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT id, split_pages FROM documents WHERE split_from = $1 ORDER BY id").bind(batch).fetch_all(&self.pool).await?;
        let mut parts: Vec<(u32, i64)> = rows
            .into_iter()
            .map(|r| (crate::split::parse_ranges(&r.get::<String, _>(1)).first().copied().unwrap_or(0), r.get(0)))
            .collect();
        parts.sort();
        Ok(parts.into_iter().map(|(_, id)| id).collect())
    }

    /// Whether a bot run on the document has started (or ended): it may have acted on it.
    pub async fn bot_started_on(&self, id: i64) -> Result<bool> {
        let sql = format!("SELECT COUNT(*) FROM runs WHERE document_id = $1 AND {RUN_STARTED}");
        Ok(sqlx::query_scalar::<_, i64>(&sql).bind(id).fetch_one(&self.pool).await? > 0)
    }

    /// The texts of the barcodes on the document's pages, in page order.
    pub async fn document_barcodes(&self, id: i64) -> Result<Vec<String>> {
        let rows: Vec<Option<String>> =
            sqlx::query_scalar("SELECT barcodes FROM pages WHERE document_id = $1 ORDER BY number").bind(id).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .flatten()
            .flat_map(|j| serde_json::from_str::<Vec<crate::read::Barcode>>(&j).unwrap_or_default())
            .map(|b| b.value)
            .collect())
    }

    /// Where a document came from (`folder:…`, `mail:…`) and the batch it was cut from, if any.
    pub async fn document_origin(&self, id: i64) -> Result<Option<(String, Option<i64>)>> {
        let row = sqlx::query("SELECT source, split_from FROM documents WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    pub async fn document_text(&self, id: i64) -> Result<Option<(String, String, String)>> {
        let row = sqlx::query("SELECT COALESCE(text, ''), sha256, original_name FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    /// What classifying a document reads, from its rows (a classify job another worker left, or a
    /// part cut from a batch).
    pub async fn classify_input(&self, id: i64) -> Result<Option<ClassifyInput>> {
        let row = sqlx::query(
            "SELECT COALESCE(text, ''), doctype_hint, einvoice, split_from, status, COALESCE(pages, 0), COALESCE(media_type, '')
             FROM documents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(ClassifyInput {
            text: r.get(0),
            hint: r.get(1),
            einvoice: r.get::<Option<String>, _>(2).and_then(|j| serde_json::from_str(&j).ok()),
            boxes: self.document_boxes(id).await?,
            barcodes: self.document_barcodes(id).await?,
            cut: Cut { split_from: r.get(3), status: r.get(4), pages: r.get(5), media_type: r.get(6) },
        }))
    }

    /// The e-invoice the document carries, if it carries one.
    pub async fn document_einvoice(&self, id: i64) -> Result<Option<crate::read::EInvoice>> {
        let json: Option<String> = sqlx::query_scalar("SELECT einvoice FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .flatten();
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Every page's word boxes, for invoice2data `area:` fields; `None` when the document has
    /// none recorded (plain text), so such fields read the whole text.
    pub async fn document_boxes(&self, id: i64) -> Result<Option<Vec<crate::classify::PageBoxes>>> {
        let rows = sqlx::query("SELECT number, boxes FROM pages WHERE document_id = $1 ORDER BY number")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let mut pages = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(boxes) = r.get::<Option<String>, _>(1) else { return Ok(None) };
            pages.push((r.get::<i64, _>(0) as u32, serde_json::from_str(&boxes).unwrap_or_default()));
        }
        Ok((!pages.is_empty()).then_some(pages))
    }

    /// The document type a mail rule named for this document, if any.
    pub async fn doctype_hint(&self, id: i64) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT doctype_hint FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map(Option::flatten)
            .map_err(Into::into)
    }

    pub async fn list_documents(&self, f: &DocumentFilter) -> Result<Vec<DocumentSummary>> {
        let rows = sqlx::query(
            "SELECT id, status, doctype, original_name, source, media_type, size, received_at, split_from FROM documents
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR doctype = $2) AND ($3 IS NULL OR received_at >= $3)
             ORDER BY id LIMIT $4 OFFSET $5",
        )
        .bind(&f.status)
        .bind(&f.doctype)
        .bind(&f.since)
        .bind(f.limit.unwrap_or(i64::MAX))
        .bind(f.offset.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DocumentSummary {
                id: r.get(0),
                status: r.get(1),
                doctype: r.get(2),
                original_name: r.get(3),
                source: r.get(4),
                media_type: r.get(5),
                size: r.get(6),
                received_at: r.get(7),
                split_from: r.get(8),
            })
            .collect())
    }

    pub async fn document(&self, id: i64) -> Result<Option<Document>> {
        let Some(r) = sqlx::query(
            "SELECT id, status, doctype, doctype_version, fields, problems, original_name, original_path, source, sha256, size,
                    media_type, pages, ocr, duplicate_of, text, received_at, updated_at, notes, split_from, split_pages,
                    original_removed
             FROM documents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let exceptions =
            self.exceptions(&super::ExceptionFilter { document_id: Some(id), ..Default::default() }).await?;
        let audit = sqlx::query("SELECT at, actor, action, detail FROM audit WHERE document_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| AuditLine { at: r.get(0), actor: r.get(1), action: r.get(2), detail: r.get(3) })
            .collect();
        let page_details =
            sqlx::query("SELECT number, ocr, width, height, words, unread, turned FROM pages WHERE document_id = $1 ORDER BY number")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|r| PageDetail {
                    number: r.get(0),
                    ocr: r.get::<i64, _>(1) != 0,
                    width: r.get(2),
                    height: r.get(3),
                    words: serde_json::from_str(r.get::<&str, _>(4)).unwrap_or_default(),
                    unread: r.get(5),
                    turned: r.get(6),
                })
                .collect();
        Ok(Some(Document {
            id: r.get(0),
            status: r.get(1),
            doctype: r.get(2),
            doctype_version: r.get(3),
            fields: serde_json::from_str(&r.get::<String, _>(4)).unwrap_or_default(),
            problems: serde_json::from_str(&r.get::<String, _>(5)).unwrap_or_default(),
            notes: r.get::<Option<String>, _>(18).and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default(),
            original_name: r.get(6),
            original_path: r.get(7),
            source: r.get(8),
            sha256: r.get(9),
            size: r.get(10),
            media_type: r.get(11),
            pages: r.get(12),
            ocr: r.get::<i64, _>(13) != 0,
            duplicate_of: r.get(14),
            split_from: r.get(19),
            split_pages: r.get(20),
            original_removed: r.get(21),
            parts: self.parts_of(id).await?,
            text: r.get(15),
            received_at: r.get(16),
            updated_at: r.get(17),
            exceptions,
            mail: self.document_for_bot(id).await?.and_then(|d| d.get("mail").cloned()).filter(|m| !m.is_null()),
            page_details,
            audit,
        }))
    }

    /// Counts of documents by status, for `serve` logs and benchmarks.
    pub async fn count_by_status(&self) -> Result<BTreeMap<String, i64>> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM documents GROUP BY status").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
