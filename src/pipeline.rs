//! The stages a document goes through after intake, as one leased job: `extract` (text layer /
//! OCR) → `classify` (document type, fields, validation). The worker that read a document
//! classifies it from its reading in memory, and both stages' results commit with the job's
//! completion in one write. Where that cannot be (classifying failed; a batch cut into parts),
//! the reading commits alone and turns the job into the classify stage, which reads the rows.

use crate::bots::routing;
use crate::classify::{Classifier, Doc, Outcome};
use crate::states::ExceptionKind;
use crate::definitions::Active;
use crate::learn::{Learner, Suggestion};
use crate::lease::{Claimed, Next};
use crate::read::pool::{Outcome as ReadOutcome, Readers};
use crate::shutdown::Shutdown;
use crate::store::{Classification, ClassifyInput, Cut, Extracted, Extraction, Job, Stage, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// A job that failed this many times (including crashes of the daemon while it ran) is given up
/// and its document goes to the exception queue.
pub const MAX_ATTEMPTS: i64 = 5;
pub const LEASE_MS: i64 = 60_000;

#[derive(Clone)]
pub struct Pipeline {
    pub store: Store,
    pub active: Arc<RwLock<Arc<Active>>>,
    /// The reader processes that parse documents.
    pub readers: Readers,
    /// Wakes idle workers when new work is queued.
    pub wake: Arc<Notify>,
    /// Wakes the bot runner when a recognised document queued runs.
    pub runs_wake: Arc<Notify>,
    /// What agents filed, for types that `auto_apply` the learner's suggestion.
    pub learner: Arc<Learner>,
    /// Which sources' batches are split into documents, and how.
    pub split: Arc<crate::config::SplitSettings>,
}

/// Jobs are a leased queue, one slot per worker. Each claim has an owner of its own, so a job
/// whose lease expired and was claimed again cannot be completed by its first, late attempt.
impl crate::lease::Queue for Pipeline {
    type Item = Job;
    const NAME: &'static str = "jobs";
    const MAX_IDLE: Duration = Duration::from_secs(5);
    const GROUP_LIMITS: bool = false;

    async fn claim(&self) -> anyhow::Result<Claimed<Job>> {
        static CLAIMS: AtomicU64 = AtomicU64::new(0);
        let owner = crate::heartbeat::owner(&CLAIMS.fetch_add(1, Ordering::Relaxed).to_string());
        let (item, next_due) = self.store.claim_and_look(&owner, LEASE_MS).await?;
        Ok(Claimed { item, next: next_due.map_or(Next::Nothing, Next::DueAt) })
    }
    async fn next_due_ms(&self) -> Option<i64> {
        self.store.next_due_ms().await.ok().flatten()
    }
    async fn process(&self, job: Job, stop: Shutdown) {
        // A stop reaches a job through its reader, which the daemon stops.
        let Some((next, input)) = self.run(job, None).await else { return };
        // The worker that read a document classifies it, unless the daemon is stopping.
        if stop.is_requested() {
            if let Err(e) = self.store.release(&next).await {
                tracing::warn!(error = %e, "cannot give the classify job back; it runs when its lease runs out");
            }
            return;
        }
        self.run(next, Some(input)).await;
    }
}

impl Pipeline {
    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("definitions lock").clone()
    }

    /// Runs one claimed job to completion or to a retry; `input` is the document's row as the
    /// extraction that leased this classify job wrote it. Returns the next stage when this one
    /// leased it to the same worker.
    #[tracing::instrument(skip_all, fields(doc_id = job.document_id, stage = job.stage.as_str(), attempt = job.attempts))]
    async fn run(&self, job: Job, input: Option<ClassifyInput>) -> Option<(Job, ClassifyInput)> {
        if job.attempts > MAX_ATTEMPTS {
            self.give_up(
                &job,
                "clerk failed to process it repeatedly (the daemon may have crashed on it); see the logs",
            )
            .await;
            return None;
        }
        let result = match job.stage {
            Stage::Extract => self.extract(&job).await,
            Stage::Classify => self.classify(&job, input).await.map(|()| None),
        };
        let e = match result {
            Ok(next) => return next,
            Err(e) => format!("{e:#}"),
        };
        if job.attempts >= MAX_ATTEMPTS {
            self.give_up(&job, &format!("processing failed {MAX_ATTEMPTS} times: {e}")).await;
        } else {
            let backoff = 500i64 << job.attempts.min(10);
            tracing::warn!(error = %e, retry_in_ms = backoff, "stage failed, will retry");
            if let Err(e) = self.store.retry_later(&job, &e, crate::store::now_ms() + backoff).await {
                tracing::error!(error = %e, "cannot reschedule job; its lease will expire and it will run again");
            }
        }
        None
    }

    async fn give_up(&self, job: &Job, reason: &str) {
        tracing::error!(reason, "giving up on document");
        crate::metrics::count("clerk_documents_processed_total", &[("outcome", "unreadable")]);
        if let Err(e) = self.store.give_up(job, reason).await {
            tracing::error!(error = %e, "cannot record the failure");
        }
    }

    /// Reads the document and records what it gave; the classify stage that follows, when this
    /// worker goes on with it.
    async fn extract(&self, job: &Job) -> anyhow::Result<Option<(Job, ClassifyInput)>> {
        let (sha256, name) = (&job.sha256, &job.name);
        // A file from a source that splits batches is read with its barcodes and may be cut into
        // documents; a document cut from a batch is never cut again.
        let rule = match self.split.is_configured() {
            true => match self.store.document_origin(job.document_id).await? {
                Some((source, None)) => self.split.rule_for(&source),
                _ => None,
            },
            false => None,
        };
        let path = self.store.blobs.path(sha256).await?;
        // Keep the lease alive while a long OCR runs.
        let heartbeat = {
            let (store, job) = (self.store.clone(), job.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 3)).await;
                    let _ = store.extend_lease(&job, LEASE_MS).await;
                }
            })
        };
        let result = self.read_and_record(job, &path, name, rule.as_ref()).await;
        heartbeat.abort();
        result
    }

    async fn read_and_record(
        &self,
        job: &Job,
        path: &std::path::Path,
        name: &str,
        rule: Option<&crate::split::Rule>,
    ) -> anyhow::Result<Option<(Job, ClassifyInput)>> {
        let started = std::time::Instant::now();
        let outcome = match rule {
            Some(_) => self.readers.read_file_with_barcodes(path, name).await,
            None => self.readers.read_file(path, name).await,
        };
        observe_stage(Stage::Extract, started);
        match outcome {
            ReadOutcome::Read(extracted) => {
                let plan = rule
                    .filter(|_| crate::batches::cuttable(&extracted.media_type))
                    .map(|r| crate::split::plan(&extracted.pages, r))
                    .filter(|plan| !plan.is_whole(extracted.pages.len()));
                match plan {
                    Some(plan) => {
                        if self.split(job, path, name, &extracted.media_type, &extracted.pages, &plan).await? {
                            // The parts' extract jobs are queued.
                            self.wake.notify_one();
                        }
                        Ok(None)
                    }
                    None => {
                        let (media_type, pages, einvoice, tables) =
                            (&extracted.media_type, &extracted.pages, extracted.einvoice.as_deref(), &extracted.tables);
                        // The worker that read the document classifies it before writing
                        // anything: both stages' results in one write.
                        let input = ClassifyInput::of_reading(job, media_type, pages, einvoice);
                        match self.decide(job.document_id, input).await {
                            Ok((outcome, version)) => {
                                let bots = self.active().definitions.bots();
                                let classified = classified(job.document_id, outcome, version.as_deref(), &bots);
                                let queued = self.store.finish_reading(job, media_type, pages, einvoice, tables, &classified).await?;
                                self.report(&classified.outcome, queued);
                                Ok(None)
                            }
                            Err(e) => {
                                // Classifying needs the store too (a vendor's teaching, the
                                // learner's filings): the reading is kept, and the classify stage
                                // retries on its own.
                                tracing::warn!(error = %format!("{e:#}"), "cannot classify the document yet; recording its reading");
                                let read = Extraction::Read { media_type, pages, einvoice, tables };
                                match self.store.finish_extraction(job, read, LEASE_MS).await? {
                                    Extracted::Classify(next, input) => Ok(Some((next, input))),
                                    Extracted::Done | Extracted::Lost => Ok(None),
                                }
                            }
                        }
                    }
                }
            }
            ReadOutcome::Unreadable(reason) => self.unreadable(job, path, name, &reason).await.map(|_| None),
            ReadOutcome::Stopped => {
                // Not read because the daemon is stopping: no attempt was made.
                self.store.release(job).await?;
                Ok(None)
            }
            ReadOutcome::Failed(e) => anyhow::bail!(e),
            ReadOutcome::Image(_) | ReadOutcome::Part(_) => {
                anyhow::bail!("the reader answered with something else than the document's text")
            }
        }
    }

    async fn unreadable(&self, job: &Job, path: &std::path::Path, name: &str, reason: &str) -> anyhow::Result<bool> {
        let head = head_of(path).await;
        let media_type = crate::read::sniff(&head, name);
        let read = Extraction::Unreadable { media_type, reason };
        let finished = !matches!(self.store.finish_extraction(job, read, LEASE_MS).await?, Extracted::Lost);
        if finished {
            crate::metrics::count("clerk_documents_processed_total", &[("outcome", "unreadable")]);
        }
        Ok(finished)
    }

    /// Cuts a batch into its documents: each part's PDF from the batch's pages (in a reader),
    /// stored, then all parts recorded with the batch in one transaction. A part that cannot be
    /// cut, or a batch of nothing but separators, sends the batch to an agent whole.
    async fn split(
        &self,
        job: &Job,
        path: &std::path::Path,
        name: &str,
        media_type: &str,
        pages: &[crate::read::Page],
        plan: &crate::split::Plan,
    ) -> anyhow::Result<bool> {
        use crate::split::page_ranges;
        if plan.parts.is_empty() {
            let reason = format!(
                "this batch holds only separator sheets and blank pages (pages {}): no document to file",
                page_ranges(&plan.dropped.iter().map(|d| d.page).collect::<Vec<_>>())
            );
            return self.unreadable(job, path, name, &reason).await;
        }
        tracing::info!(documents = plan.parts.len(), dropped = plan.dropped.len(), "cutting a batch into documents");
        let wanted: Vec<(Vec<u32>, Option<String>)> = plan.parts.iter().map(|p| (p.pages.clone(), p.asn.clone())).collect();
        let parts = match crate::batches::cut(&self.store, &self.readers, path, name, media_type, pages, &wanted, &[]).await? {
            Ok(parts) => parts,
            Err(reason) => return self.unreadable(job, path, name, &reason).await,
        };
        let dropped = match plan.dropped.len() {
            0 => String::new(),
            _ => format!("; dropped page(s) {}", page_ranges(&plan.dropped.iter().map(|d| d.page).collect::<Vec<_>>())),
        };
        let finished = self.store.finish_split(job, pages, &parts, &dropped).await?;
        if finished {
            crate::metrics::count("clerk_batches_split_total", &[]);
        }
        Ok(finished)
    }

    /// The classify stage on its own: a document whose reading another worker recorded (a job
    /// left behind, a part cut from a batch).
    async fn classify(&self, job: &Job, input: Option<ClassifyInput>) -> anyhow::Result<()> {
        let input = match input {
            Some(input) => input,
            None => self
                .store
                .classify_input(job.document_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("document {} vanished", job.document_id))?,
        };
        let (outcome, version) = self.decide(job.document_id, input).await?;
        let bots = self.active().definitions.bots();
        let classified = classified(job.document_id, outcome, version.as_deref(), &bots);
        let queued = self.store.finish_classification(job, &classified).await?;
        self.report(&classified.outcome, queued);
        Ok(())
    }

    /// Classifies a document: its type and fields (the type a mail rule named, else the
    /// classifier's; the learner's for one no rule recognised; a taught vendor's layout), and
    /// whether it reads as two. The outcome and the version of the type that gave it.
    async fn decide(&self, document_id: i64, input: ClassifyInput) -> anyhow::Result<(Outcome, Option<String>)> {
        let started = std::time::Instant::now();
        let ClassifyInput { text, hint, einvoice, boxes, barcodes, cut } = input;
        let active = self.active();
        let classifier = active.clone();
        let (outcome, text, boxes, einvoice, barcodes) = tokio::task::spawn_blocking(move || {
            let doc = Doc { text: &text, boxes: boxes.as_deref(), einvoice: einvoice.as_ref(), vendor: None, barcodes: &barcodes };
            // A mail rule's type is not guessed but validated: the fields must be there.
            let hinted = hint.as_deref().and_then(|h| classifier.classifier.get(h));
            let outcome = match hinted {
                Some(t) => crate::classify::extract_fields(t, doc, &Default::default()),
                None => classifier.classifier.classify_doc(doc),
            };
            (outcome, text, boxes, einvoice, barcodes)
        })
        .await?;
        // Only a document no rule recognised asks the learner (and reads new filings first).
        let unrecognised = matches!(outcome.exception, Some((ExceptionKind::Unrecognised, _)));
        let (outcome, text, boxes, barcodes) = if unrecognised && active.classifier.auto_applies() {
            self.learner.refresh(&self.store).await?;
            let (learner, active) = (self.learner.clone(), active.clone());
            tokio::task::spawn_blocking(move || {
                let suggestion = learner.suggest(&text, Some(document_id));
                let doc = Doc { text: &text, boxes: boxes.as_deref(), einvoice: None, vendor: None, barcodes: &barcodes };
                let outcome = apply_learned(&active.classifier, outcome, doc, suggestion);
                (outcome, text, boxes, barcodes)
            })
            .await?
        } else {
            (outcome, text, boxes, barcodes)
        };
        let pages_again = text.contains('\u{c}').then(|| (text.clone(), boxes.clone()));
        let outcome = self.as_vendor_taught(outcome, text, boxes, einvoice, barcodes).await?;
        let outcome = match pages_again {
            Some((text, boxes)) if matches!(outcome.exception, None | Some((ExceptionKind::Incomplete, _))) => {
                self.one_or_two(&cut, outcome, text, boxes).await?
            }
            _ => outcome,
        };
        let version = outcome.doctype.as_ref().and_then(|t| active.classifier.get(t)).map(|t| t.version.clone());
        observe_stage(Stage::Classify, started);
        Ok((outcome, version))
    }

    /// Counts and logs a classification once it is recorded (`queued`: the runs it queued, None
    /// when the lease was lost and nothing was recorded).
    fn report(&self, outcome: &Outcome, queued: Option<usize>) {
        let Some(queued) = queued else { return };
        let result = outcome.exception.as_ref().map_or("recognised", |(kind, _)| kind.as_str());
        crate::metrics::count("clerk_documents_processed_total", &[("outcome", result)]);
        if queued > 0 {
            self.runs_wake.notify_one();
        }
        match &outcome.exception {
            None => tracing::info!(doctype = outcome.doctype.as_deref().unwrap_or(""), "recognised"),
            Some((kind, reason)) => tracing::info!(kind = kind.as_str(), reason, "exception"),
        }
    }

    /// A document that reads as two (a separator the rule missed in a batch, two invoices in one
    /// PDF) goes to an agent, who can split it where the second one starts, instead of to its
    /// bots (or with that said first, when it was incomplete read as one). Documents an agent
    /// could not split, and those over `CHECKED_PAGES`, are not looked at (each page from which
    /// the rest could be another document is read again: the cost grows with the square).
    async fn one_or_two(
        &self,
        cut: &Cut,
        mut outcome: Outcome,
        text: String,
        boxes: Option<Vec<crate::classify::PageBoxes>>,
    ) -> anyhow::Result<Outcome> {
        let Some(doctype) = outcome.doctype.clone() else { return Ok(outcome) };
        const CHECKED_PAGES: usize = 30;
        let can_split = crate::batches::splittable_as(cut.split_from, cut.status, cut.pages, &cut.media_type);
        if !can_split || text.split('\u{c}').count() > CHECKED_PAGES {
            return Ok(outcome);
        }
        let (active, fields) = (self.active(), outcome.fields.clone());
        let found = tokio::task::spawn_blocking(move || {
            let t = active.classifier.get(&doctype)?;
            let pages = text.split('\u{c}').count();
            crate::batches::second_document(t, &text, boxes.as_deref(), &fields).map(|(from, tail)| {
                crate::batches::reads_as_two(&doctype, pages, from, &fields, &tail, &t.required_fields())
            })
        })
        .await?;
        if let Some(reason) = found {
            // Read as one, two invoices often miss a field (two totals): said after.
            let reason = match outcome.exception.take() {
                Some((_, incomplete)) => format!("{reason} — read as one, {incomplete}"),
                None => reason,
            };
            outcome.exception = Some((ExceptionKind::Ambiguous, reason));
        }
        Ok(outcome)
    }

    /// An invoice from a vendor agents taught is read again, the way they showed it.
    async fn as_vendor_taught(
        &self,
        outcome: Outcome,
        text: String,
        boxes: Option<Vec<crate::classify::PageBoxes>>,
        einvoice: Option<crate::read::EInvoice>,
        barcodes: Vec<String>,
    ) -> anyhow::Result<Outcome> {
        let Some(vendor) = crate::vendors::of(&self.store, &outcome).await? else { return Ok(outcome) };
        let Some(t) = outcome.doctype.as_ref().and_then(|n| self.active().classifier.get(n).cloned()) else {
            return Ok(outcome);
        };
        Ok(tokio::task::spawn_blocking(move || {
            let doc =
                Doc { text: &text, boxes: boxes.as_deref(), einvoice: einvoice.as_ref(), vendor: Some(&vendor), barcodes: &barcodes };
            let mut again = crate::classify::extract_fields(&t, doc, &Default::default());
            // A type the learner gave stays the learner's, with its reason.
            if let (Some(why), Some((_, reason))) = (&outcome.learned, &mut again.exception) {
                reason.push_str(&format!(" ({why})"));
            }
            again.learned = outcome.learned;
            again
        })
        .await?)
    }
}

/// A document no rule recognised goes under the type the learner suggests, when that type's
/// `auto_apply` confidence is reached; its fields are then extracted and validated as for any
/// document of the type.
fn apply_learned(classifier: &Classifier, outcome: Outcome, doc: Doc, suggestion: Option<Suggestion>) -> Outcome {
    let Some(s) = suggestion else { return outcome };
    let Some(t) = classifier.get(&s.doctype) else { return outcome };
    if !t.auto_apply.is_some_and(|min| s.confidence >= min) {
        return outcome;
    }
    let like: Vec<String> = s.like.iter().map(|n| format!("#{}", n.document_id)).collect();
    let why = format!(
        "learned: {:.0}% sure, like documents {} that agents filed as {}",
        s.confidence * 100.0,
        like.join(", "),
        s.doctype
    );
    let mut learned = crate::classify::extract_fields(t, doc, &Default::default());
    if let Some((_, reason)) = &mut learned.exception {
        reason.push_str(&format!(" ({why})"));
    }
    learned.learned = Some(why);
    learned
}

/// What a classification records: the outcome, the type's version, and for a recognised
/// document the runs of the bots its type triggers.
fn classified<'a>(document_id: i64, outcome: Outcome, version: Option<&'a str>, bots: &'a [Arc<crate::bots::Bot>]) -> Classification<'a> {
    let runs = match (&outcome.exception, &outcome.doctype) {
        (None, Some(doctype)) => routing::runs_for(document_id, doctype, bots),
        _ => vec![],
    };
    Classification { outcome, version, runs }
}

fn observe_stage(stage: Stage, started: std::time::Instant) {
    crate::metrics::observe("clerk_stage_duration_seconds", &[("stage", stage.as_str())], started.elapsed().as_secs_f64());
}

/// A file's first kilobyte (for telling its format), empty when it cannot be read.
async fn head_of(path: &std::path::Path) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::with_capacity(1024);
    if let Ok(f) = tokio::fs::File::open(path).await {
        let _ = f.take(1024).read_to_end(&mut head).await;
    }
    head
}

/// Read + classify in one go, for callers outside the job system (a file tried against the
/// definitions: uploaded to the API, or `clerk bots run --dry-run --file`).
pub async fn classify_file(
    path: &std::path::Path,
    name: &str,
    readers: &Readers,
    classifier: &Classifier,
) -> Classified {
    classify_read(readers.read_file(path, name).await, classifier)
}

/// What a read document is, as `clerk classify` reports it.
pub struct Classified {
    pub outcome: Outcome,
    pub pages: usize,
    /// Whether OCR read any page.
    pub ocr: bool,
    /// The pages that could not be read (damaged), each with why.
    pub unread: Vec<(u32, String)>,
}

/// What `clerk classify --json` prints for a file and `POST /api/v1/classify` answers: one shape.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The file as named (a path on the command line, the upload's name in the API).
    pub file: String,
    /// `recognised`, or `exception` (see `exception`).
    pub status: crate::states::DocumentStatus,
    pub doctype: Option<String>,
    /// The definition file of the type.
    pub definition: Option<String>,
    #[schema(value_type = Object)]
    pub fields: crate::classify::Fields,
    pub problems: std::collections::BTreeMap<String, String>,
    /// What a typed field's value was read out of, and what was left beside it.
    pub notes: std::collections::BTreeMap<String, String>,
    /// The exception item it would become, and why.
    pub exception: Option<ExceptionReport>,
    pub pages: usize,
    /// Damaged pages that were skipped, each with why.
    pub unread_pages: Vec<UnreadPage>,
    /// Whether OCR read any page.
    pub ocr: bool,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExceptionReport {
    pub kind: ExceptionKind,
    pub reason: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UnreadPage {
    pub page: u32,
    pub reason: String,
}

impl Classified {
    /// The report of `file`, its type's definition file found in `classifier`.
    pub fn report(&self, file: &str, classifier: &Classifier) -> Report {
        let o = &self.outcome;
        Report {
            file: file.to_string(),
            status: o.status(),
            doctype: o.doctype.clone(),
            definition: o.doctype.as_deref().and_then(|t| classifier.get(t)).map(|t| t.file.to_string_lossy().into_owned()),
            fields: o.fields.clone(),
            problems: o.problems.clone(),
            notes: o.notes.clone(),
            exception: o.exception.as_ref().map(|(kind, reason)| ExceptionReport { kind: *kind, reason: reason.clone() }),
            pages: self.pages,
            unread_pages: self.unread.iter().map(|(page, reason)| UnreadPage { page: *page, reason: reason.clone() }).collect(),
            ocr: self.ocr,
        }
    }
}

pub fn classify_read(read: ReadOutcome, classifier: &Classifier) -> Classified {
    let unreadable = |reason: String| Classified {
        outcome: Outcome::exception(ExceptionKind::Unreadable, reason),
        pages: 0,
        ocr: false,
        unread: vec![],
    };
    match read {
        ReadOutcome::Read(extracted) => {
            let (text, pages, ocr) = (extracted.text(), extracted.pages.len(), extracted.ocr());
            let unread = extracted.pages.iter().filter_map(|p| Some((p.number, p.unread.clone()?))).collect();
            let barcodes: Vec<String> = extracted.pages.iter().flat_map(|p| p.barcodes.iter().map(|b| b.value.clone())).collect();
            let boxes = (extracted.media_type != "text/plain" && classifier.uses_area())
                .then(|| extracted.pages.into_iter().map(|p| (p.number, p.boxes)).collect::<Vec<_>>());
            let doc = Doc {
                text: &text,
                boxes: boxes.as_deref(),
                einvoice: extracted.einvoice.as_deref(),
                vendor: None,
                barcodes: &barcodes,
            };
            Classified { outcome: classifier.classify_doc(doc), pages, ocr, unread }
        }
        ReadOutcome::Unreadable(reason) | ReadOutcome::Failed(reason) => unreadable(reason),
        ReadOutcome::Stopped => unreadable("clerk stopped before reading it".into()),
        ReadOutcome::Image(_) | ReadOutcome::Part(_) => unreadable("the reader answered with something else than the document's text".into()),
    }
}
