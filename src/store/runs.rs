//! Runs and their journal. A run row is its own queue entry, claimed with a lease like a job (a
//! bot's `concurrency` bounds how many of its runs are claimed at once). Every step attempt is a
//! `run_steps` row inserted before the step acts and updated after, each in one statement; a
//! step's `done` row carries its output and the cookie jar, so the journal read back (`journal`)
//! tells a resumed run which steps are done and what they produced.

use super::{now, now_ms, Result, Store};
use crate::states::{ExceptionKind, RunState, StepState};
use serde::Serialize;
use serde_json::Value as J;
use sqlx::{Any, AnyConnection, Row};
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub bot: &'a str,
    pub version: &'a str,
    pub concurrency: u32,
    pub document_id: Option<i64>,
    pub trigger: &'a str,
    pub dedupe_key: Option<String>,
    /// Who started it by hand (the audit line's actor; none: clerk).
    pub by: Option<&'a str>,
}

/// A claimed run.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub bot: String,
    pub version: String,
    pub document_id: Option<i64>,
    pub trigger: String,
    pub owner: String,
    /// Set once the run has begun (its `when` was evaluated then).
    pub started: bool,
    pub created_ms: i64,
    /// The legacy system the run was given back to wait for (down), and since when (unix ms).
    pub waiting_for: Option<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunSummary {
    pub id: i64,
    pub bot: String,
    pub bot_version: String,
    pub document_id: Option<i64>,
    pub trigger: String,
    pub state: RunState,
    pub error: Option<String>,
    pub failed_step: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Set while the run is queued waiting for a legacy system that is down.
    pub waiting: Option<RunWait>,
}

/// A queued run waiting for a legacy system to come back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunWait {
    /// Scheme, host and port of the system.
    pub target: String,
    /// When clerk first failed to reach it (RFC 3339).
    pub down_since: String,
    /// The last failure: "connection refused".
    pub reason: String,
    /// When a run tries it next (RFC 3339).
    pub next_try_at: String,
    /// The whole of it in a sentence, for people.
    pub message: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepRecord {
    pub path: String,
    pub step_id: Option<String>,
    pub kind: String,
    pub line: i64,
    pub attempt: i64,
    pub state: StepState,
    #[schema(value_type = Option<Object>)]
    pub request: Option<J>,
    #[schema(value_type = Option<Object>)]
    pub response: Option<J>,
    #[schema(value_type = Option<Object>)]
    pub output: Option<J>,
    pub error: Option<String>,
    pub started_at: String,
    pub duration_ms: Option<i64>,
}

/// A run's journal read back: see `Store::journal`.
#[derive(Debug, Default)]
pub struct Journal {
    /// Paths of steps done (or skipped), not counting those before an agent's restart.
    pub done: BTreeSet<String>,
    /// Outputs of done steps by step id: what templates read as `steps.<id>`.
    pub steps: serde_json::Map<String, J>,
    /// Variables set by done `set` steps.
    pub vars: serde_json::Map<String, J>,
    pub cookies: Option<J>,
    /// Per path: (attempts that failed since the last retry by an agent, highest attempt number).
    pub attempts: std::collections::HashMap<String, (i64, i64)>,
}

/// One journal row's outcome.
pub struct StepEnd<'a> {
    pub state: StepState,
    pub request: &'a J,
    pub response: &'a J,
    pub output: Option<&'a J>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
}

pub use crate::states::{Decision, RunChange};

/// The PostgreSQL advisory lock run claims take turns on ("clerk-runs" in ASCII).
const RUN_CLAIM_LOCK: i64 = 0x636c_6572_6b2d_7275;

const SUMMARY: &str = "SELECT id, bot, bot_version, document_id, trigger, state, runs.error, failed_step, created_at, started_at, finished_at,
     t.target, t.down_since, t.error, t.next_probe
     FROM runs LEFT JOIN targets t ON t.target = runs.waiting_for AND runs.state = 'queued'";

impl Store {
    /// Records the source of every bot version loaded, so a run can finish on its version.
    pub async fn record_bot_version(&self, bot: &str, version: &str, file: &str, source: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO bot_versions (bot, version, file, source, first_seen) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(bot)
        .bind(version)
        .bind(file)
        .bind(source)
        .bind(now())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn bot_version_source(&self, bot: &str, version: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT file, source FROM bot_versions WHERE bot = $1 AND version = $2")
            .bind(bot)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Queues a run. With a dedupe key already used (the same document routed again, the same
    /// scheduled minute) nothing is queued and `None` returned.
    pub(super) async fn enqueue_run(tx: &mut AnyConnection, run: &NewRun<'_>) -> Result<Option<i64>> {
        let t = now();
        let insert = "INSERT INTO runs (bot, bot_version, concurrency, document_id, trigger, dedupe_key, run_after, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";
        let id = sqlx::query_scalar(&Store::announcing(tx, insert, super::wake::Work::Runs))
        .bind(run.bot)
        .bind(run.version)
        .bind(run.concurrency as i64)
        .bind(run.document_id)
        .bind(run.trigger)
        .bind(&run.dedupe_key)
        .bind(now_ms())
        .bind(&t)
        .bind(&t)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .next();
        if let Some(id) = id {
            let detail = format!("{} ({})", run.bot, run.trigger);
            Store::audit_run(&mut *tx, run.document_id, id, run.by.unwrap_or("clerk"), "run queued", &detail).await?;
        }
        Ok(id)
    }

    /// Claims the oldest due run whose bot is below its concurrency: a queued one, or one whose
    /// lease expired (its process died without giving it back; the journal resumes it). Only
    /// runs under a live lease count against the concurrency.
    pub async fn claim_run(&self, owner: &str, lease_ms: i64) -> Result<Option<Run>> {
        let (owner, now, stamp) = (owner.to_string(), now_ms(), now());
        if self.backend == super::Backend::Postgres {
            // Concurrency counts the runs other daemons hold too: claims take turns on a lock
            // held to the commit, so no two daemons count the same free slot. A transaction of
            // its own, not the group commit, so the lock is held only as long as the claim.
            let mut tx = self.write_tx().await?;
            // Without waiting for the WAL flush at commit, the lock is held for three round
            // trips instead of a disk write. A claim lost in a database crash costs nothing:
            // the run is claimed again, and the first claimer's completion is refused.
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(RUN_CLAIM_LOCK).execute(&mut *tx).await?;
            let run = claim_next_run(&mut tx, &owner, now, lease_ms, &stamp).await?;
            tx.commit().await?;
            return Ok(run);
        }
        // SQLite: one writer anyway; claims ride along with the journal's group commit.
        let run = self
            .batch
            .write(move |c| {
                let (owner, stamp) = (owner.clone(), stamp.clone());
                Box::pin(async move { claim_next_run(c, &owner, now, lease_ms, &stamp).await })
            })
            .await?;
        Ok(run)
    }

    /// Keeps the leases of every run this daemon is executing.
    pub async fn extend_run_leases(&self, owner: &str, lease_ms: i64) -> Result<()> {
        sqlx::query("UPDATE runs SET lease_until = $1 WHERE lease_owner = $2 AND state = 'running'")
            .bind(now_ms() + lease_ms)
            .bind(owner)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Runs left `running` by a daemon that died (SQLite: one daemon per store) resume at once.
    pub async fn requeue_orphan_runs(&self) -> Result<u64> {
        let r = sqlx::query("UPDATE runs SET state = 'queued', lease_owner = NULL, run_after = $1, updated_at = $2 WHERE state = 'running'")
            .bind(now_ms())
            .bind(now())
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }

    /// The run's journal as the runner needs it: what is done, what it produced, and how many
    /// attempts each step has had since an agent last retried it.
    pub async fn journal(&self, run_id: i64) -> Result<Journal> {
        let rows = sqlx::query(
            "SELECT s.id, s.path, s.step_id, s.kind, s.state, s.attempt, s.output, s.cookies, r.done_mark, r.attempts_mark
             FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE s.run_id = $1 ORDER BY s.id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut j = Journal::default();
        for r in rows {
            let (id, path, state, attempt): (i64, String, StepState, i64) = (r.get(0), r.get(1), r.get(4), r.get(5));
            let (done_mark, attempts_mark): (i64, i64) = (r.get(8), r.get(9));
            let entry = j.attempts.entry(path.clone()).or_default();
            // A `waiting` row (the system was down) is no attempt: the next try keeps its number.
            if state != StepState::Waiting {
                entry.1 = entry.1.max(attempt);
            }
            if id > attempts_mark && matches!(state, StepState::Failed | StepState::Started) {
                entry.0 += 1;
            }
            if id <= done_mark || !matches!(state, StepState::Done | StepState::Skipped) {
                continue;
            }
            j.done.insert(path);
            let output: Option<J> = r.get::<Option<String>, _>(6).and_then(|o| serde_json::from_str(&o).ok());
            if let (Some(step_id), Some(o)) = (r.get::<Option<String>, _>(2), &output) {
                j.steps.insert(step_id, o.clone());
            }
            if r.get::<&str, _>(3) == "set" {
                j.vars.extend(output.and_then(|o| o.as_object().cloned()).unwrap_or_default());
            }
            if let Some(c) = r.get::<Option<String>, _>(7).and_then(|c| serde_json::from_str(&c).ok()) {
                j.cookies = Some(c);
            }
        }
        Ok(j)
    }

    /// Journals a step about to act. Returns the row to finish.
    pub async fn step_started(
        &self,
        run: &Run,
        path: &str,
        step_id: Option<&str>,
        kind: &str,
        line: usize,
        attempt: i64,
    ) -> Result<i64> {
        self.insert_step(run, path, step_id, kind, line, attempt, StepState::Started).await
    }

    /// Finishes a journal row (with the cookie jar, for a done step that used it).
    pub async fn step_finished(&self, row: i64, end: StepEnd<'_>, cookies: Option<&J>) -> Result<()> {
        let values = [
            Some(end.state.to_string()),
            Some(end.request.to_string()),
            Some(end.response.to_string()),
            end.output.map(J::to_string),
            cookies.map(J::to_string),
            end.error.map(str::to_string),
            Some(now()),
        ];
        let duration = end.duration_ms;
        self.batch
            .write(move |c| {
                let values = values.clone();
                Box::pin(async move {
                    let mut q = sqlx::query(
                        "UPDATE run_steps SET state = $1, request = $2, response = $3, output = $4, cookies = $5, error = $6, finished_at = $7, duration_ms = $8 WHERE id = $9",
                    );
                    for v in values {
                        q = q.bind(v);
                    }
                    q.bind(duration).bind(row).execute(&mut *c).await.map(|_| ())
                })
            })
            .await
            .map_err(Into::into)
    }

    /// Records a step skipped by its `if` (no attempt was made).
    pub async fn step_skipped(
        &self,
        run: &Run,
        path: &str,
        step_id: Option<&str>,
        kind: &str,
        line: usize,
    ) -> Result<()> {
        self.insert_step(run, path, step_id, kind, line, 0, StepState::Skipped).await.map(|_| ())
    }

    /// One journal row, in the next group commit. A `skipped` row is finished as it is written.
    #[allow(clippy::too_many_arguments)]
    async fn insert_step(
        &self,
        run: &Run,
        path: &str,
        step_id: Option<&str>,
        kind: &str,
        line: usize,
        attempt: i64,
        state: StepState,
    ) -> Result<i64> {
        let (run_id, path, step_id, kind, stamp) =
            (run.id, path.to_string(), step_id.map(str::to_string), kind.to_string(), now());
        let finished = (state == StepState::Skipped).then(|| stamp.clone());
        self.batch
            .write(move |c| {
                let (path, step_id, kind, stamp, finished) =
                    (path.clone(), step_id.clone(), kind.clone(), stamp.clone(), finished.clone());
                Box::pin(async move {
                    sqlx::query_scalar(
                        "INSERT INTO run_steps (run_id, path, step_id, kind, line, attempt, state, started_at, finished_at, duration_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    )
                    .bind(run_id)
                    .bind(path)
                    .bind(step_id)
                    .bind(kind)
                    .bind(line as i64)
                    .bind(attempt)
                    .bind(state)
                    .bind(stamp)
                    .bind(&finished)
                    .bind(finished.as_ref().map(|_| 0i64))
                    .fetch_all(&mut *c)
            .await
            .and_then(super::returned)
                })
            })
            .await
            .map_err(Into::into)
    }

    /// Ends a run (succeeded, skipped, failed or escalated), queueing its exception in the same
    /// transaction. Guarded by the lease: false when another worker owns the run now.
    pub async fn finish_run(
        &self,
        run: &Run,
        state: RunState,
        error: Option<&str>,
        failed_step: Option<&str>,
        exception: Option<(ExceptionKind, &str, &J)>,
    ) -> Result<bool> {
        let finish = sqlx::query(
            "UPDATE runs SET state = $1, error = $2, failed_step = $3, finished_at = $4, updated_at = $5, lease_owner = NULL, waiting_for = NULL, waiting_since = NULL
             WHERE id = $6 AND lease_owner = $7 AND state = 'running'",
        )
        .bind(state)
        .bind(error)
        .bind(failed_step)
        .bind(now())
        .bind(now())
        .bind(run.id)
        .bind(&run.owner);
        let Some((kind, reason, detail)) = exception else {
            // A run that ended well is one statement (in a batch); its steps are in the journal.
            let (state, error, id, owner, stamp) =
                (state.to_string(), error.map(str::to_string), run.id, run.owner.clone(), now());
            return self
                .batch
                .write(move |c| {
                    let (state, error, owner, stamp) = (state.clone(), error.clone(), owner.clone(), stamp.clone());
                    Box::pin(async move {
                        let r = sqlx::query(
                            "UPDATE runs SET state = $1, error = $2, finished_at = $3, updated_at = $4, lease_owner = NULL
                             WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
                        )
                        .bind(state)
                        .bind(error)
                        .bind(&stamp)
                        .bind(&stamp)
                        .bind(id)
                        .bind(owner)
                        .execute(&mut *c)
                        .await?;
                        Ok(r.rows_affected() == 1)
                    })
                })
                .await
                .map_err(Into::into);
        };
        let mut tx = self.write_tx().await?;
        if finish.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false);
        }
        Store::open_run_exception(&mut tx, run.document_id, Some(run.id), kind, reason, Some(detail)).await?;
        Store::audit_run(&mut *tx, run.document_id, run.id, "clerk", &format!("run {state}"), error.unwrap_or("")).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives a running run back to the queue until `at_ms` (a long retry wait, or shutdown).
    pub async fn defer_run(&self, run: &Run, at_ms: i64) -> Result<()> {
        sqlx::query("UPDATE runs SET state = 'queued', run_after = $1, lease_owner = NULL, updated_at = $2, waiting_for = NULL, waiting_since = NULL WHERE id = $3 AND lease_owner = $4 AND state = 'running'")
            .bind(at_ms)
            .bind(now())
            .bind(run.id)
            .bind(&run.owner)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Applies `change` to run `id` if it is still stopped as `expected`, closes its waiting
    /// items with `note` and audits it under `actor`, all at once. False when the run moved on
    /// meanwhile (another person decided it first). What a decision changes is the caller's
    /// rule (`Decision::change_for`).
    pub async fn change_stopped_run(&self, id: i64, expected: RunState, change: RunChange, actor: &str, note: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let failed_step: Option<Option<String>> = sqlx::query_scalar("SELECT failed_step FROM runs WHERE id = $1 AND state = $2")
            .bind(id)
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(failed_step) = failed_step else {
            tx.rollback().await?;
            return Ok(false);
        };
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM run_steps").fetch_one(&mut *tx).await?;
        let t = now();
        let (due, q) = (now_ms(), sqlx::query::<Any>);
        // Journal rows up to `max` no longer count: done steps (start over), failed attempts.
        let update = match change {
            RunChange::End => q("UPDATE runs SET state = 'ended', finished_at = $2, updated_at = $2 WHERE id = $1").bind(id).bind(&t),
            RunChange::StartOver => q("UPDATE runs SET state = 'queued', done_mark = $3, attempts_mark = $3, error = NULL, failed_step = NULL, finished_at = NULL, waiting_for = NULL, waiting_since = NULL, run_after = $4, updated_at = $2 WHERE id = $1")
                .bind(id).bind(&t).bind(max).bind(due),
            RunChange::RetryStep => q("UPDATE runs SET state = 'queued', attempts_mark = $3, error = NULL, failed_step = NULL, finished_at = NULL, waiting_for = NULL, waiting_since = NULL, run_after = $4, updated_at = $2 WHERE id = $1")
                .bind(id).bind(&t).bind(max).bind(due),
            RunChange::SkipStep => q("UPDATE runs SET state = 'queued', error = NULL, failed_step = NULL, finished_at = NULL, waiting_for = NULL, waiting_since = NULL, run_after = $3, updated_at = $2 WHERE id = $1")
                .bind(id).bind(&t).bind(due),
        };
        update.execute(&mut *tx).await?;
        if let (RunChange::SkipStep, Some(path)) = (change, &failed_step) {
            sqlx::query(
                "INSERT INTO run_steps (run_id, path, step_id, kind, line, attempt, state, error, started_at, finished_at, duration_ms)
                 SELECT run_id, path, step_id, kind, line, attempt, 'skipped', $1, $2, $3, 0 FROM run_steps WHERE run_id = $4 AND path = $5 ORDER BY id DESC LIMIT 1",
            )
            .bind(format!("skipped by {actor}"))
            .bind(&t)
            .bind(&t)
            .bind(id)
            .bind(path)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE exceptions SET state = 'resolved', resolved_by = $1, resolution = $2, updated_at = $3, claim_until = NULL, version = version + 1 WHERE run_id = $4 AND state IN ('open', 'claimed')",
        )
        .bind(actor)
        .bind(note)
        .bind(&t)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Store::audit_run(&mut *tx, None, id, actor, "run decision", note).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a failed or escalated run for good, in the caller's transaction (an agent rejected
    /// its exception).
    pub(super) async fn end_stopped_run(tx: &mut AnyConnection, id: i64) -> Result<()> {
        sqlx::query("UPDATE runs SET state = 'ended', finished_at = $1, updated_at = $1 WHERE id = $2 AND state IN ('failed', 'escalated')")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    pub async fn runs(&self, bot: Option<&str>, state: Option<RunState>, limit: i64) -> Result<Vec<RunSummary>> {
        let rows = sqlx::query(&format!(
            "{SUMMARY} WHERE ($1 IS NULL OR bot = $1) AND ($2 IS NULL OR state = $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(bot)
        .bind(state)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(summary).collect())
    }

    pub async fn run(&self, id: i64) -> Result<Option<(RunSummary, Vec<StepRecord>)>> {
        let Some(row) = sqlx::query(&format!("{SUMMARY} WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let steps = sqlx::query(
            "SELECT path, step_id, kind, line, attempt, state, request, response, output, error, started_at, duration_ms
             FROM run_steps WHERE run_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        let steps = steps
            .into_iter()
            .map(|r| StepRecord {
                path: r.get(0),
                step_id: r.get(1),
                kind: r.get(2),
                line: r.get(3),
                attempt: r.get(4),
                state: r.get(5),
                request: json(r.get(6)),
                response: json(r.get(7)),
                output: json(r.get(8)),
                error: r.get(9),
                started_at: r.get(10),
                duration_ms: r.get(11),
            })
            .collect();
        Ok(Some((summary(&row), steps)))
    }

    /// Counts of runs by state, for status and benchmarks.
    pub async fn run_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) FROM runs GROUP BY state ORDER BY state").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// When the next queued run becomes due.
    pub async fn next_run_due_ms(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(run_after) FROM runs WHERE state = 'queued'").fetch_one(&self.pool).await?)
    }
}

/// A claimed run from `… RETURNING id, bot, bot_version, document_id, trigger, started, created_at`.
/// The claim: the first due run whose bot has a free slot. Each branch walks `runs_due` in claim
/// order and stops at the first row it can take (one `OR` of both would be read whole and sorted,
/// counting each row's bot: milliseconds per claim with a thousand runs waiting).
async fn claim_next_run(
    c: &mut sqlx::AnyConnection,
    owner: &str,
    now: i64,
    lease_ms: i64,
    stamp: &str,
) -> sqlx::Result<Option<Run>> {
    let rows = sqlx::query(
        "UPDATE runs SET state = 'running', lease_owner = $1, lease_until = $2, started_at = COALESCE(started_at, $3), updated_at = $3
         WHERE id = (SELECT id FROM (
                       SELECT * FROM (SELECT r.id, r.run_after FROM runs r
                                      WHERE r.state = 'queued' AND r.run_after <= $4
                                        AND (SELECT COUNT(*) FROM runs x
                                             WHERE x.bot = r.bot AND x.state = 'running' AND x.lease_until >= $4) < r.concurrency
                                      ORDER BY r.run_after, r.id LIMIT 1) queued
                       UNION ALL
                       SELECT * FROM (SELECT r.id, r.run_after FROM runs r
                                      WHERE r.state = 'running' AND r.lease_until < $4
                                        AND (SELECT COUNT(*) FROM runs x
                                             WHERE x.bot = r.bot AND x.state = 'running' AND x.lease_until >= $4) < r.concurrency
                                      ORDER BY r.run_after, r.id LIMIT 1) expired
                     ) candidates ORDER BY run_after, id LIMIT 1)
         RETURNING id, bot, bot_version, document_id, trigger, CASE WHEN started_at = $3 THEN 0 ELSE 1 END, created_at, waiting_for, waiting_since",
    )
    .bind(owner)
    .bind(now + lease_ms)
    .bind(stamp)
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.first().map(|r| claimed(r, owner)))
}

fn claimed(r: &sqlx::any::AnyRow, owner: &str) -> Run {
    Run {
        id: r.get(0),
        bot: r.get(1),
        version: r.get(2),
        document_id: r.get(3),
        trigger: r.get(4),
        owner: owner.to_string(),
        started: r.get::<i64, _>(5) != 0,
        created_ms: chrono::DateTime::parse_from_rfc3339(r.get::<&str, _>(6))
            .map(|t| t.timestamp_millis())
            .unwrap_or(0),
        waiting_for: r.get::<Option<String>, _>(7).map(|t| (t, r.get::<Option<i64>, _>(8).unwrap_or_else(now_ms))),
    }
}

fn summary(r: &sqlx::any::AnyRow) -> RunSummary {
    RunSummary {
        id: r.get(0),
        bot: r.get(1),
        bot_version: r.get(2),
        document_id: r.get(3),
        trigger: r.get(4),
        state: r.get(5),
        error: r.get(6),
        failed_step: r.get(7),
        created_at: r.get(8),
        started_at: r.get(9),
        finished_at: r.get(10),
        waiting: r.get::<Option<String>, _>(11).map(|target| {
            let (since, reason, next): (i64, String, i64) = (r.get(12), r.get(13), r.get(14));
            let (since, next) = (super::time_of(since), super::time_of(next.max(now_ms())));
            let message = format!(
                "waiting for {target}, down since {} ({reason}); next try {}",
                since.replace('T', " ").trim_end_matches('Z').to_string() + " UTC",
                next.replace('T', " ").trim_end_matches('Z').to_string() + " UTC"
            );
            RunWait { target, down_since: since, reason, next_try_at: next, message }
        }),
    }
}

impl Store {
    /// What a bot sees of a document (`doc.*` in templates), without pages and word boxes.
    pub async fn document_for_bot(&self, id: i64) -> Result<Option<J>> {
        let row = sqlx::query(
            "SELECT d.id, d.sha256, d.doctype, d.fields, d.text, d.original_name, d.source, d.media_type, d.received_at, d.size,
                    m.message_id, m.from_addr, m.to_addr, m.subject, m.date, m.account, d.tables
             FROM documents d LEFT JOIN mail_messages m ON m.id = d.mail_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            serde_json::json!({
                "id": r.get::<i64, _>(0),
                "sha256": r.get::<String, _>(1),
                "type": r.get::<Option<String>, _>(2),
                "fields": serde_json::from_str::<J>(r.get::<&str, _>(3)).unwrap_or(J::Null),
                "text": r.get::<Option<String>, _>(4),
                "file": r.get::<String, _>(5),
                "name": r.get::<String, _>(5),
                "source": r.get::<String, _>(6),
                "media_type": r.get::<Option<String>, _>(7),
                "received_at": r.get::<String, _>(8),
                "size": r.get::<i64, _>(9),
                // A spreadsheet's sheets: [{name, rows: [[cell, …], …]}].
                "tables": r.get::<Option<String>, _>(16).and_then(|t| serde_json::from_str::<J>(&t).ok()).unwrap_or(J::Array(vec![])),
                // The message a document came in, for documents from mailboxes.
                "mail": r.get::<Option<String>, _>(11).map(|from| serde_json::json!({
                    "message_id": r.get::<Option<String>, _>(10),
                    "from": from,
                    "to": r.get::<Option<String>, _>(12),
                    "subject": r.get::<Option<String>, _>(13),
                    "date": r.get::<Option<String>, _>(14),
                    "account": r.get::<Option<String>, _>(15),
                })),
            })
        }))
    }
}

impl Store {
    /// Claims one particular queued run (`clerk bots run` executing in the foreground).
    pub async fn claim_run_by_id(&self, id: i64, owner: &str, lease_ms: i64) -> Result<Option<Run>> {
        let now = now_ms();
        let row = sqlx::query(
                "UPDATE runs SET state = 'running', lease_owner = $1, lease_until = $2, started_at = COALESCE(started_at, $3), updated_at = $3
                 WHERE id = $4 AND state = 'queued'
                 RETURNING id, bot, bot_version, document_id, trigger, CASE WHEN started_at = $3 THEN 0 ELSE 1 END, created_at, waiting_for, waiting_since",
            )
            .bind(owner)
            .bind(now + lease_ms)
            .bind(super::now())
            .bind(id)
            .fetch_all(&self.writer)
            .await?
            .into_iter()
            .next();
        Ok(row.map(|r| claimed(&r, owner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_run_whose_lease_expired_is_taken_back_and_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let run = NewRun { bot: "b", version: "v1", concurrency: 1, document_id: None, trigger: "manual", dedupe_key: None, by: None };
        let id = store.queue_run(&run).await.unwrap().unwrap();
        let first = store.claim_run("dead-process", 1).await.unwrap().expect("the queued run");
        assert_eq!((first.id, first.started), (id, false));
        // Under a live lease the run is nobody else's, and the bot is at its concurrency.
        store.queue_run(&run).await.unwrap().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let again = store.claim_run("daemon", 60_000).await.unwrap().expect("the expired run");
        assert_eq!(again.id, id, "the expired run comes first, before the queued one");
        assert!(again.started, "it resumes from its journal");
        assert!(store.claim_run("daemon", 60_000).await.unwrap().is_none(), "concurrency 1: the other waits");
    }
}
