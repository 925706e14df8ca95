//! Jobs with leases. A worker claims the oldest ready job in one `UPDATE … RETURNING` (on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so daemons claiming at once take different jobs); it completes the job in the same transaction
//! as the stage's results, guarded by its lease, so a job whose lease was lost (the worker was too
//! slow, or died) is never completed twice. Orphans are re-queued when their lease runs out.

use super::{now, now_ms, Result, Store};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Extract,
    Classify,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Extract => "extract",
            Stage::Classify => "classify",
        }
    }
    fn parse(s: &str) -> Option<Stage> {
        match s {
            "extract" => Some(Stage::Extract),
            "classify" => Some(Stage::Classify),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub document_id: i64,
    pub stage: Stage,
    pub attempts: i64,
    pub owner: String,
    /// The document's file in the blob store and its name, read with the claim: what
    /// extraction opens.
    pub sha256: String,
    pub name: String,
    /// The type a mail rule named for the document, and the batch it was cut from: what
    /// classifying it reads of its row besides its reading.
    pub hint: Option<String>,
    pub split_from: Option<i64>,
}

impl Store {
    pub(super) async fn enqueue(tx: &mut AnyConnection, document_id: i64, stage: Stage) -> Result<()> {
        let t = now();
        let insert = "INSERT INTO jobs (document_id, stage, run_after, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        sqlx::query(&Store::announcing(tx, insert, super::wake::Work::Jobs))
            .bind(document_id)
            .bind(stage.as_str())
            .bind(now_ms())
            .bind(&t)
            .bind(&t)
            .fetch_all(&mut *tx)
            .await?;
        Ok(())
    }

    /// Completes `job` by turning it into the document's next stage, leased to the same worker,
    /// which goes on with it at once: no worker is woken for it, no claim is spent on it, and if
    /// the worker dies the lease runs out and another claims it. None when the lease was lost:
    /// nothing was changed, and the caller writes nothing of the stage.
    pub(super) async fn advance(tx: &mut AnyConnection, job: &Job, stage: Stage, lease_ms: i64) -> Result<Option<Job>> {
        let advanced = sqlx::query(
            "UPDATE jobs SET stage = $1, attempts = 1, lease_until = $2, last_error = NULL, updated_at = $3
             WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(stage.as_str())
        .bind(now_ms() + lease_ms)
        .bind(now())
        .bind(job.id)
        .bind(&job.owner)
        .execute(&mut *tx)
        .await?;
        Ok((advanced.rows_affected() == 1).then(|| Job { stage, attempts: 1, ..job.clone() }))
    }

    /// Claims the oldest ready job (queued and due, or running with an expired lease).
    pub async fn claim(&self, owner: &str, lease_ms: i64) -> Result<Option<Job>> {
        Ok(self.claim_and_look(owner, lease_ms).await?.0)
    }

    /// Claims as [`Store::claim`] and reads, with the claim, when the next queued job comes due
    /// (ms since the epoch; None when no other job is queued): the jobs loop then knows whether
    /// to claim again or to sleep. On PostgreSQL one statement; on SQLite two in-process calls.
    pub async fn claim_and_look(&self, owner: &str, lease_ms: i64) -> Result<(Option<Job>, Option<i64>)> {
        let now = now_ms();
        let claim = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id = (SELECT id FROM (
                           SELECT * FROM (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $4 ORDER BY id LIMIT 1{0}) queued
                           UNION ALL
                           SELECT * FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $4 ORDER BY id LIMIT 1{0}) expired
                         ) candidates ORDER BY id LIMIT 1)
             RETURNING id, document_id, stage, attempts,
                       (SELECT sha256 FROM documents WHERE id = jobs.document_id) AS sha256,
                       (SELECT original_name FROM documents WHERE id = jobs.document_id) AS original_name,
                       (SELECT doctype_hint FROM documents WHERE id = jobs.document_id) AS doctype_hint,
                       (SELECT split_from FROM documents WHERE id = jobs.document_id) AS split_from",
            self.backend.skip_locked()
        );
        let (row, next_due) = if self.backend == super::Backend::Postgres {
            // The claimed job is left out: the statement's snapshot still shows it queued.
            let sql = format!(
                "WITH claimed AS ({claim})
                 SELECT claimed.*, ({NEXT_DUE} AND id NOT IN (SELECT id FROM claimed)) AS next_due
                 FROM (SELECT 1) one LEFT JOIN claimed ON true"
            );
            let row = bind_claim(sqlx::query(&sql), owner, now, lease_ms).fetch_one(&self.redo).await?;
            let next_due: Option<i64> = row.get(8);
            (row.get::<Option<i64>, _>(0).is_some().then_some(row), next_due)
        } else {
            let row = bind_claim(sqlx::query(&claim), owner, now, lease_ms).fetch_all(&self.redo).await?.into_iter().next();
            (row, self.next_due_ms().await?)
        };
        let job = row.and_then(|r| {
            Some(Job {
                id: r.get(0),
                document_id: r.get(1),
                stage: Stage::parse(r.get::<&str, _>(2))?,
                attempts: r.get(3),
                owner: owner.to_string(),
                sha256: r.get(4),
                name: r.get(5),
                hint: r.get(6),
                split_from: r.get(7),
            })
        });
        Ok((job, next_due))
    }

    /// Marks the job done inside the stage's transaction. False when the lease was lost: then the
    /// caller must roll back, since another worker owns the job now.
    pub(super) async fn complete(tx: &mut AnyConnection, job: &Job) -> Result<bool> {
        Store::complete_as(tx, job, job.stage).await
    }

    /// Completes the job as having gone through `stage` (a reading classified in the same
    /// write completes as `classify`, the pipeline's last stage).
    pub(super) async fn complete_as(tx: &mut AnyConnection, job: &Job, stage: Stage) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', stage = $4, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now())
        .bind(job.id)
        .bind(&job.owner)
        .bind(stage.as_str())
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a job back after a failure, to run again at `retry_at_ms`.
    pub async fn retry_later(&self, job: &Job, error: &str, retry_at_ms: i64) -> Result<()> {
        self.requeue(job, retry_at_ms, Some(error), 0).await
    }

    /// Gives a job back untouched (the daemon is stopping): queued again at once, and the attempt
    /// its claim counted is taken back, so attempts count only real tries.
    pub async fn release(&self, job: &Job) -> Result<()> {
        self.requeue(job, now_ms(), None, 1).await
    }

    async fn requeue(&self, job: &Job, at_ms: i64, error: Option<&str>, undo_attempts: i64) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, last_error = COALESCE($2, last_error),
                    attempts = CASE WHEN attempts > $3 THEN attempts - $3 ELSE 0 END, lease_owner = NULL, updated_at = $4
             WHERE id = $5 AND lease_owner = $6",
        )
        .bind(at_ms)
        .bind(error)
        .bind(undo_attempts)
        .bind(now())
        .bind(job.id)
        .bind(&job.owner)
        .execute(&self.redo)
        .await?;
        Ok(())
    }

    /// Extends a lease while a long stage (OCR of many pages) is still working.
    pub async fn extend_lease(&self, job: &Job, lease_ms: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'")
            .bind(now_ms() + lease_ms)
            .bind(job.id)
            .bind(&job.owner)
            .execute(&self.redo)
            .await?;
        Ok(())
    }

    /// With SQLite one daemon owns the store (a lock file guarantees it), so jobs still marked
    /// running at start-up were orphaned by a crash and can run again at once.
    pub async fn requeue_orphans(&self) -> Result<u64> {
        let r = sqlx::query("UPDATE jobs SET state = 'queued', lease_owner = NULL, run_after = $1, updated_at = $2 WHERE state = 'running'")
            .bind(now_ms())
            .bind(now())
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }

    /// Jobs waiting or running, for status and benchmarks.
    pub async fn pending_jobs(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").fetch_one(&self.pool).await?)
    }

    /// When the next queued job becomes due, so idle workers sleep exactly until then.
    pub async fn next_due_ms(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(NEXT_DUE).fetch_one(&self.pool).await?)
    }
}

/// When the next queued job comes due.
const NEXT_DUE: &str = "SELECT MIN(run_after) FROM jobs WHERE state = 'queued'";

fn bind_claim<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    owner: &str,
    now: i64,
    lease_ms: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(owner.to_string()).bind(now + lease_ms).bind(super::now()).bind(now)
}
