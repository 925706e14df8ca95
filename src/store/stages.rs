//! Every transaction that spans more than one table's concern, as one method: a stage's result
//! with the completion of its job (and the runs a recognised document starts), an agent's
//! resolution with the runs it starts, a rejection. Callers (the pipeline, the use cases in
//! `exceptions`, the CLI) never open a transaction themselves.

use crate::states::DocumentStatus;
use super::{Job, NewRun, Result, Stage, Store};
use crate::classify::Outcome;
use crate::read::Page;
use std::sync::Arc;

/// An agent's resolution of a document's exception item.
pub struct Resolution<'a> {
    pub exception: i64,
    pub guard: super::exceptions::Guard<'a>,
    /// What the item's resolution says (the type and the fields).
    pub summary: &'a str,
    pub document_id: i64,
    pub outcome: &'a Outcome,
    /// The version of the document type the outcome was extracted with.
    pub version: &'a str,
}

/// What classifying a document decided: its outcome, the version of the type that gave it, and
/// the runs it starts.
pub struct Classification<'a> {
    pub outcome: Outcome,
    pub version: Option<&'a str>,
    pub runs: Vec<NewRun<'a>>,
}

/// What reading a document gave.
pub enum Extraction<'a> {
    Read {
        media_type: &'a str,
        pages: &'a [Page],
        einvoice: Option<&'a crate::read::EInvoice>,
        tables: &'a [crate::read::office::Table],
    },
    Unreadable { media_type: Option<&'a str>, reason: &'a str },
}

/// What recording an extraction came to.
pub enum Extracted {
    /// The lease was lost: another worker owns the job, and nothing was written.
    Lost,
    /// Recorded, and nothing is left for this worker (an unreadable document is an exception).
    Done,
    /// Recorded, with the classify stage leased to this worker and what it reads of the row.
    Classify(Job, super::ClassifyInput),
}

/// One document cut from a batch: its file already in the blob store, its pages as the batch's
/// reading gave them (numbered from 1 within the part).
pub struct NewPart<'a> {
    pub name: String,
    /// The batch's kind: a PDF's parts are PDFs, a TIFF's TIFFs.
    pub media_type: &'static str,
    pub sha256: String,
    pub size: u64,
    /// Its pages in the batch, as people write them ("3-4, 6").
    pub batch_pages: String,
    pub pages: Vec<Page>,
    pub asn: Option<&'a str>,
    /// The documents an agent's new cut replaces (empty when the daemon cut the batch).
    pub replaces: Vec<i64>,
}

/// What reading gave, owned: a batched write may be run twice (alone, after its batch failed).
enum Read {
    Pages { media_type: String, pages: Vec<Page>, einvoice: Option<crate::read::EInvoice>, tables: Vec<crate::read::office::Table> },
    Unreadable { media_type: Option<String>, reason: String },
}

/// A run to queue, owned (see [`Read`]).
struct RunToQueue {
    bot: String,
    version: String,
    concurrency: u32,
    document_id: Option<i64>,
    trigger: String,
    dedupe_key: Option<String>,
    by: Option<String>,
}

impl RunToQueue {
    fn from(r: &NewRun<'_>) -> RunToQueue {
        RunToQueue {
            bot: r.bot.to_string(),
            version: r.version.to_string(),
            concurrency: r.concurrency,
            document_id: r.document_id,
            trigger: r.trigger.to_string(),
            dedupe_key: r.dedupe_key.clone(),
            by: r.by.map(str::to_string),
        }
    }
    fn new_run(&self) -> NewRun<'_> {
        NewRun {
            bot: &self.bot,
            version: &self.version,
            concurrency: self.concurrency,
            document_id: self.document_id,
            trigger: &self.trigger,
            dedupe_key: self.dedupe_key.clone(),
            by: self.by.as_deref(),
        }
    }
}

impl Store {
    /// Records a batch as split: its own reading (status `split`, no classification) and, in the
    /// same transaction, one document per part with its pages, each queued for classification.
    /// A crash before the commit leaves the batch to be read and split again; after it, the
    /// parts exist once (their intake keys name the batch and the part). False when the lease
    /// was lost.
    pub async fn finish_split(&self, job: &Job, pages: &[Page], parts: &[NewPart<'_>], dropped: &str) -> Result<bool> {
        let mut tx = self.redo_tx().await?;
        // First: a daemon whose lease ran out must not try to record parts another one made.
        if !Store::complete(&mut tx, job).await? {
            return Ok(false);
        }
        let batch = job.document_id;
        let media_type = parts.first().map_or("application/pdf", |p| p.media_type);
        Store::save_extraction(&mut tx, batch, media_type, pages, None, &[]).await?;
        sqlx::query("UPDATE documents SET status = 'split' WHERE id = $1").bind(batch).execute(&mut *tx).await?;
        for (k, part) in parts.iter().enumerate() {
            let id = Store::record_part(&mut tx, batch, k + 1, part).await?;
            Store::save_extraction(&mut tx, id, part.media_type, &part.pages, None, &[]).await?;
            Store::enqueue(&mut tx, id, Stage::Classify).await?;
        }
        let detail = format!("into {} document(s){dropped}", parts.len());
        Store::audit(&mut *tx, Some(batch), None, "clerk", "split", &detail).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An agent's new cut of a batch: the documents `replaced` close (status `replaced`, or
    /// `split` for a document that arrived whole and is the batch, their open items and queued
    /// runs ended with `why`) and `parts` take their place, each queued for classification; all
    /// in one transaction. False when one of them changed meanwhile: it was
    /// replaced already, or a run on it started.
    pub async fn replace_parts(&self, batch: i64, replaced: &[i64], parts: &[NewPart<'_>], agent: &str, why: &str) -> Result<Option<Vec<i64>>> {
        let mut tx = self.write_tx().await?;
        for &id in replaced {
            // A part becomes `replaced`; a document that arrived whole and is split becomes the
            // batch (`split`) its parts are cut from.
            let becomes = if id == batch { DocumentStatus::Split } else { DocumentStatus::Replaced };
            let sql = format!(
                "UPDATE documents SET status = $4, updated_at = $1 WHERE id = $2 AND COALESCE(split_from, id) = $3
                 AND status NOT IN ('replaced', 'split') AND NOT EXISTS (SELECT 1 FROM runs WHERE document_id = $2 AND {})",
                super::documents::RUN_STARTED
            );
            let done = sqlx::query(&sql)
            .bind(super::now())
            .bind(id)
            .bind(batch)
            .bind(becomes)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Ok(None);
            }
            sqlx::query("UPDATE runs SET state = 'ended', error = $1 WHERE document_id = $2 AND state = 'queued'")
                .bind(why)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE exceptions SET state = 'replaced', resolved_by = $1, resolution = $2, version = version + 1, updated_at = $3
                 WHERE document_id = $4 AND state IN ('open', 'claimed')",
            )
            .bind(agent)
            .bind(why)
            .bind(super::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            Store::audit(&mut *tx, Some(id), None, agent, becomes.as_str(), why).await?;
        }
        let mut ids = vec![];
        for (k, part) in parts.iter().enumerate() {
            let id = Store::record_part(&mut tx, batch, k + 1, part).await?;
            Store::save_extraction(&mut tx, id, part.media_type, &part.pages, None, &[]).await?;
            Store::enqueue(&mut tx, id, Stage::Classify).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(Some(ids))
    }

    /// Records the extraction and, when the document was read, queues its classification; all
    /// only while `job` is still this daemon's. False when the lease was lost (nothing changes).
    /// Rides in the next group commit of the pipeline's writes.
    pub async fn finish_extraction(&self, job: &Job, result: Extraction<'_>, lease_ms: i64) -> Result<Extracted> {
        let job = job.clone();
        let result = Arc::new(match result {
            Extraction::Read { media_type, pages, einvoice, tables } => Read::Pages {
                media_type: media_type.to_string(),
                pages: pages.to_vec(),
                einvoice: einvoice.cloned(),
                tables: tables.to_vec(),
            },
            Extraction::Unreadable { media_type, reason } => {
                Read::Unreadable { media_type: media_type.map(str::to_string), reason: reason.to_string() }
            }
        });
        let done = self.redo_batch.write(move |c| {
            let (job, result) = (job.clone(), result.clone());
            Box::pin(async move {
                // First (the job completing, or turning into the next stage): nothing of a job
                // whose lease was lost is written.
                match &*result {
                    Read::Pages { media_type, pages, einvoice, tables } => {
                        let Some(next) = Store::advance(c, &job, Stage::Classify, lease_ms).await.map_err(|e| e.0)? else {
                            return Ok(Extracted::Lost);
                        };
                        Store::save_extraction(c, job.document_id, media_type, pages, einvoice.as_ref(), tables)
                            .await
                            .map_err(|e| e.0)?;
                        let input = super::ClassifyInput::of_reading(&job, media_type, pages, einvoice.as_ref());
                        Ok(Extracted::Classify(next, input))
                    }
                    Read::Unreadable { media_type, reason } => {
                        if !Store::complete(c, &job).await.map_err(|e| e.0)? {
                            return Ok(Extracted::Lost);
                        }
                        Store::save_unreadable(c, job.document_id, media_type.as_deref(), reason).await.map_err(|e| e.0)?;
                        Ok(Extracted::Done)
                    }
                }
            })
        });
        Ok(done.await?)
    }

    /// Records the classification and queues `runs` (the bots a recognised document triggers),
    /// only while `job` is still this daemon's. The number of runs queued, or None when the
    /// lease was lost. Rides in the next group commit of the pipeline's writes.
    pub async fn finish_classification(&self, job: &Job, classified: &Classification<'_>) -> Result<Option<usize>> {
        self.finish(job, None, classified).await
    }

    /// Records a document's reading and its classification at once (the worker that read it
    /// classified it before writing anything): one write where the two stages took two, and the
    /// job completes without turning into the classify stage first. As
    /// [`Store::finish_classification`] otherwise.
    pub async fn finish_reading(
        &self,
        job: &Job,
        media_type: &str,
        pages: &[Page],
        einvoice: Option<&crate::read::EInvoice>,
        tables: &[crate::read::office::Table],
        classified: &Classification<'_>,
    ) -> Result<Option<usize>> {
        let read = Read::Pages {
            media_type: media_type.to_string(),
            pages: pages.to_vec(),
            einvoice: einvoice.cloned(),
            tables: tables.to_vec(),
        };
        self.finish(job, Some(read), classified).await
    }

    async fn finish(&self, job: &Job, read: Option<Read>, classified: &Classification<'_>) -> Result<Option<usize>> {
        let job = job.clone();
        let read = Arc::new(read);
        let (outcome, version) = (Arc::new(classified.outcome.clone()), classified.version.map(str::to_string));
        let runs: Arc<Vec<RunToQueue>> = Arc::new(classified.runs.iter().map(RunToQueue::from).collect());
        let queued = self.redo_batch.write(move |c| {
            let (job, read, outcome, version, runs) = (job.clone(), read.clone(), outcome.clone(), version.clone(), runs.clone());
            Box::pin(async move {
                let saved = match &*read {
                    Some(Read::Pages { media_type, pages, einvoice, tables }) => {
                        Store::save_read_outcome(c, &job, media_type, pages, einvoice.as_ref(), tables, &outcome, version.as_deref())
                            .await
                            .map_err(|e| e.0)?
                    }
                    _ => {
                        let completed = Store::complete(c, &job).await.map_err(|e| e.0)?;
                        if completed {
                            Store::save_outcome(c, job.document_id, &outcome, version.as_deref(), "clerk").await.map_err(|e| e.0)?;
                        }
                        completed
                    }
                };
                if !saved {
                    return Ok(None);
                }
                let mut queued = 0;
                for run in runs.iter() {
                    queued += Store::enqueue_run(c, &run.new_run()).await.map_err(|e| e.0)?.is_some() as usize;
                }
                Ok(Some(queued))
            })
        });
        Ok(queued.await?)
    }

    /// Gives up on a job's document: an unreadable exception with `reason`.
    pub async fn give_up(&self, job: &Job, reason: &str) -> Result<()> {
        let mut tx = self.redo_tx().await?;
        Store::save_unreadable(&mut tx, job.document_id, None, reason).await?;
        if Store::complete(&mut tx, job).await? {
            tx.commit().await?;
        }
        Ok(())
    }

    /// An agent's resolution of a document's exception: the item closes, the document takes the
    /// outcome, and `runs` are queued. False when the item is not open (or claimed by someone
    /// else).
    pub async fn resolve_document(&self, r: &Resolution<'_>, runs: &[NewRun<'_>]) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        if !Store::close_exception(&mut tx, r.exception, r.guard, crate::states::ItemState::Resolved, r.summary).await? {
            return Ok(false);
        }
        Store::save_outcome(&mut tx, r.document_id, r.outcome, Some(r.version), r.guard.agent).await?;
        for run in runs {
            Store::enqueue_run(&mut tx, run).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Rejects an exception item with `reason`: its document (if any) is marked rejected, and
    /// the run it is about (if any) ends. False when the item is not open (or claimed by someone else).
    pub async fn reject_exception(
        &self,
        id: i64,
        guard: super::exceptions::Guard<'_>,
        reason: &str,
        document_id: Option<i64>,
        run: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        if !Store::close_exception(&mut tx, id, guard, crate::states::ItemState::Rejected, reason).await? {
            return Ok(false);
        }
        if let Some(run) = run {
            Store::end_stopped_run(&mut tx, run).await?;
        }
        if let Some(document_id) = document_id {
            sqlx::query("UPDATE documents SET status = 'rejected', updated_at = $1 WHERE id = $2")
                .bind(super::now())
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Queues one run (a manual or scheduled run). Its id, or None when its dedupe key was
    /// queued already.
    pub async fn queue_run(&self, run: &NewRun<'_>) -> Result<Option<i64>> {
        Ok(self.queue_runs(std::slice::from_ref(run)).await?[0])
    }

    /// Queues runs in one transaction; each one's id, or None where its dedupe key was queued.
    pub async fn queue_runs(&self, runs: &[NewRun<'_>]) -> Result<Vec<Option<i64>>> {
        let mut tx = self.write_tx().await?;
        let mut ids = Vec::with_capacity(runs.len());
        for run in runs {
            ids.push(Store::enqueue_run(&mut tx, run).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }
}
