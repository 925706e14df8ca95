//! The store: SQLite (WAL) by default. All SQL lives in this module, one file per table family,
//! so a PostgreSQL backend can be added under the same API without touching the stages. No
//! database type crosses its boundary: callers see [`Store`]'s methods, [`Error`] and plain data.
//!
//! Statements with `RETURNING` are always read with `fetch_all`: sqlx stops stepping a statement
//! after the row `fetch_one`/`fetch_optional` wanted, and SQLite keeps the statement's write lock
//! until it is stepped to the end — an idle pooled connection would hold the database locked.

mod batch;
pub mod blobs;
mod documents;
mod exceptions;
mod gauges;
mod jobs;
mod mail;
mod runs;
mod stages;

pub use documents::{Document, DocumentSummary, IntakeResult, NewDocument};
pub use exceptions::{ExceptionFilter, ExceptionItem};
pub use gauges::Gauges;
pub use jobs::{Job, Stage};
pub use mail::{AccountStatus, MailDocument, NewMessage};
pub use stages::{Extraction, Resolution};
pub use runs::{Decision, Journal, NewRun, Run, RunSummary, StepEnd, StepRecord};

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub struct Store {
    /// For reads (WAL: readers never wait for the writer).
    pool: SqlitePool,
    /// The one connection every write goes through. SQLite has one writer at a time anyway;
    /// queueing writers here, asynchronously, replaces SQLite's busy handler, which sleeps for
    /// milliseconds between attempts when connections compete for the lock.
    writer: SqlitePool,
    /// Group commit for the runner's many small journal writes (through `writer`).
    batch: batch::Batcher,
    pub blobs: blobs::Blobs,
}

/// A store failure: the database could not be reached or refused a statement. Callers see this
/// type, never the database driver's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] sqlx::Error);

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The one row an `INSERT … RETURNING` gave (read with `fetch_all`, see the module docs).
fn returned<T>(rows: Vec<T>) -> sqlx::Result<T> {
    rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`: `clerk.db` and `blobs/`.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
        let db = data_dir.join("clerk.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives a process crash (kill -9) losing nothing committed;
            // only a power cut may lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open the database {}", db.display()))?;
        sqlx::migrate!("src/store/migrations").run(&writer).await.context("cannot migrate the database")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {}", db.display()))?;
        let blobs = blobs::Blobs::open(data_dir.join("blobs")).context("cannot open the blob store")?;
        let batch = batch::Batcher::start(writer.clone());
        Ok(Store { pool, writer, batch, blobs })
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes the write lock up front: a deferred
    /// transaction that reads first and writes later cannot wait for the lock (SQLite would fail it
    /// at once with "database is locked" to avoid a deadlock).
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Records one line of the audit trail.
    pub(super) async fn audit<'e, E: sqlx::SqliteExecutor<'e>>(
        exec: E,
        document_id: Option<i64>,
        exception_id: Option<i64>,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, document_id, exception_id, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(now())
        .bind(document_id)
        .bind(exception_id)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .execute(exec)
        .await?;
        Ok(())
    }
}
