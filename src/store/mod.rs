//! The store: SQLite (WAL) by default, PostgreSQL when several daemons share the work. All SQL
//! lives in this module, one file per table family, written once for both backends (sqlx's Any
//! driver, `$N` parameters); what differs is asked of [`Backend`]. No database type crosses its
//! boundary: callers see [`Store`]'s methods, [`Error`] and plain data.
//!
//! Statements with `RETURNING` are always read with `fetch_all`: sqlx stops stepping a statement
//! after the row `fetch_one`/`fetch_optional` wanted, and SQLite keeps the statement's write lock
//! until it is stepped to the end — an idle pooled connection would hold the database locked.

mod audit;
mod batch;
pub mod blobs;
mod daemons;
mod documents;
mod exceptions;
pub mod filed;
mod gauges;
mod in_force;
mod jobs;
pub mod mail;
mod migrations;
pub mod retention;
mod runs;
mod stages;
mod targets;
pub mod users;
mod vendors;
mod wake;

pub use audit::{AuditEntry, AuditFilter};
pub use daemons::{BEAT_EVERY_MS, STALE_AFTER_MS};
pub use documents::{ClassifyInput, Cut, Document, DocumentFilter, DocumentSummary, IntakeResult, NewDocument};
pub use exceptions::{ExceptionFilter, ExceptionItem, Guard, Neighbours, CLAIM_MS};
pub use filed::Filed;
pub use gauges::{Gauges, Waiting};
pub use jobs::{Job, Stage};
pub use mail::{AccountStatus, MailDocument, NewMessage};
pub use runs::{Decision, Journal, NewRun, Run, RunSummary, StepEnd, StepRecord};
pub use stages::{Classification, Extracted, Extraction, NewPart, Resolution};
pub use targets::{Outage, Probe};
pub use users::{SessionSummary, Sessions, TokenSummary, UserSummary};
pub use vendors::VendorSummary;
pub use wake::Wakers;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Where the store lives (settings `store`, `blobs` and `data`).
#[derive(Debug, Clone)]
pub struct Location {
    /// `postgres://…` (several daemons share it) or `sqlite://FILE`; `None`: SQLite in `data`.
    pub url: Option<String>,
    /// The daemon's own folder: the SQLite database by default, and the blob store (with
    /// PostgreSQL, its local cache of the blobs kept in the database).
    pub data: PathBuf,
    /// Blobs in this folder (shared storage) instead of in the database.
    pub blobs: Option<PathBuf>,
}

impl Location {
    /// The default: SQLite and blobs in `data`.
    pub fn local(data: &Path) -> Location {
        Location { url: None, data: data.to_path_buf(), blobs: None }
    }
}

/// The database behind the store. The SQL is shared (`$N` parameters, `ON CONFLICT`,
/// `RETURNING`); what differs is asked of this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// How a write transaction starts. SQLite: `BEGIN IMMEDIATE` takes the write lock up front
    /// (a deferred transaction that reads first and writes later cannot wait for the lock; SQLite
    /// fails it at once with "database is locked" to avoid a deadlock). PostgreSQL locks rows.
    fn begin(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Appended to the sub-select that picks a row to claim: on PostgreSQL concurrent claimers
    /// skip each other's rows instead of queueing on them; SQLite has one writer anyway.
    fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// PostgreSQL's URL, for the connection that LISTENs.
    url: Option<String>,
    /// For reads (SQLite in WAL mode: readers never wait for the writer).
    pool: AnyPool,
    /// Where every write goes. SQLite: one connection, since SQLite has one writer at a time
    /// anyway; queueing writers here, asynchronously, replaces SQLite's busy handler, which sleeps
    /// for milliseconds between attempts when connections compete for the lock. PostgreSQL: the
    /// same pool as reads.
    writer: AnyPool,
    /// Writes whose loss costs only work done again: a job's claim, its lease, a stage's results
    /// (lost, the job's lease runs out and the stage runs again; it reads the same original), an
    /// original's row in the database (the record naming it comes after, or it is taken again).
    /// PostgreSQL commits them without waiting for the WAL flush (`synchronous_commit = off`, a
    /// disk write per commit otherwise): a crash of the database server may lose the last of
    /// them, never leave half of one, and any later write that does wait flushes them too — so
    /// nothing kept can depend on one lost. The runner's claims do the same (`claim_run`); what
    /// clerk received, agents did and runs did waits for the disk. SQLite: the writer (its
    /// commits never wait for the disk in WAL mode, see `sqlite_pool`).
    redo: AnyPool,
    /// Group commit for the runner's many small journal writes and for intake (through `writer`).
    batch: batch::Batcher,
    /// Group commit for the pipeline's stage results (through `redo`).
    redo_batch: batch::Batcher,
    pub blobs: blobs::Blobs,
}

/// A store failure: the database could not be reached or refused a statement. Callers see this
/// type, never the database driver's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] sqlx::Error);

impl Error {
    /// The statement carried text the database cannot hold: PostgreSQL refuses a NUL character
    /// in text (SQLSTATE 22021), where SQLite keeps it. A fault of the value, not of the store.
    pub fn is_unstorable_text(&self) -> bool {
        match &self.0 {
            sqlx::Error::Database(e) => {
                e.code().is_some_and(|c| c == "22021" || c == "22P05") || e.message().contains("invalid byte sequence")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub type Tx = sqlx::Transaction<'static, Any>;

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The one row an `INSERT … RETURNING` gave (read with `fetch_all`, see the module docs).
fn returned<T>(rows: Vec<T>) -> sqlx::Result<T> {
    rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)
}

/// A unix-ms time (a deadline, an expiry) as people read it, RFC 3339 to the second.
pub fn time_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Opens (creating if needed) the default store in `data_dir`: `clerk.db` and `blobs/`.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Store> {
        Store::open_at(&Location::local(data_dir)).await
    }

    /// Opens the store at `at`, creating and migrating it as needed.
    pub async fn open_at(at: &Location) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        std::fs::create_dir_all(&at.data)
            .with_context(|| format!("cannot create the data folder {}", at.data.display()))?;
        let url = match &at.url {
            Some(u) => u.clone(),
            None => sqlite_url(&at.data.join("clerk.db")),
        };
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!(
                "store `{}`: clerk stores in SQLite (sqlite://FILE) or PostgreSQL (postgres://…)",
                redact(&url)
            );
        };
        let options = AnyConnectOptions::from_str(&url).with_context(|| format!("store `{}`", redact(&url)))?;
        let (pool, writer, redo) = match backend {
            Backend::Sqlite => {
                let writer =
                    sqlite_pool(1).acquire_timeout(Duration::from_secs(120)).connect_with(options.clone()).await;
                let writer = writer.with_context(|| format!("cannot open the database {}", redact(&url)))?;
                migrations::run(backend, &writer).await?;
                let pool = sqlite_pool(8).connect_with(options).await;
                (pool.with_context(|| format!("cannot open the database {}", redact(&url)))?, writer.clone(), writer)
            }
            Backend::Postgres => {
                let options_again = options.clone();
                let pool = AnyPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .with_context(|| format!("cannot connect to the store {}", redact(&url)))?;
                migrations::run(backend, &pool).await?;
                // Per daemon: 10 + 8 connections and the one that listens.
                let redo = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|c, _| Box::pin(async move { c.execute("SET synchronous_commit = off").await.map(|_| ()) }))
                    .connect_with(options_again)
                    .await
                    .with_context(|| format!("cannot connect to the store {}", redact(&url)))?;
                (pool.clone(), pool, redo)
            }
        };
        let blobs = match (backend, &at.blobs) {
            (_, Some(dir)) => blobs::Blobs::open(dir.clone(), None),
            (Backend::Sqlite, None) => blobs::Blobs::open(at.data.join("blobs"), None),
            (Backend::Postgres, None) => blobs::Blobs::open(at.data.join("blobs"), Some(redo.clone())),
        }
        .context("cannot open the blob store")?;
        let batch = batch::Batcher::start(writer.clone(), backend.begin());
        let redo_batch = batch::Batcher::start(redo.clone(), backend.begin());
        let url = (backend == Backend::Postgres).then_some(url);
        Ok(Store { backend, url, pool, writer, redo, batch, redo_batch, blobs })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite: writes a consistent copy of the whole database to `file` (a new file), while
    /// the daemon goes on writing (`VACUUM INTO` reads one snapshot).
    pub async fn snapshot_into(&self, file: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO $1").bind(file.display().to_string()).execute(&self.pool).await?;
        Ok(())
    }

    /// PostgreSQL's URL (None for SQLite).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// A write transaction (see [`Backend::begin`]).
    async fn write_tx(&self) -> Result<Tx> {
        Ok(self.writer.begin_with(self.backend.begin()).await?)
    }

    /// A transaction of writes the store may lose in a crash and redo (see `Store::redo`).
    async fn redo_tx(&self) -> Result<Tx> {
        Ok(self.redo.begin_with(self.backend.begin()).await?)
    }

    /// Whether writes that follow from one another are worth chaining into one statement (a
    /// data-modifying `WITH`): on PostgreSQL every statement is a round trip, and the server's
    /// CPU per statement is what the pipeline's pace comes down to on a small machine. SQLite
    /// has neither the round trip nor the `WITH`: there they stay one statement each.
    pub(super) fn chains_writes(tx: &sqlx::AnyConnection) -> bool {
        tx.backend_name() == "PostgreSQL"
    }

    /// Records one line of the audit trail about a run (and its document).
    pub(super) async fn audit_run<'e, E: Executor<'e, Database = Any>>(
        exec: E,
        document_id: Option<i64>,
        run_id: i64,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        Store::audit_line(exec, [document_id, None, Some(run_id)], actor, action, detail).await
    }

    /// Records one line of the audit trail.
    pub(super) async fn audit<'e, E: Executor<'e, Database = Any>>(
        exec: E,
        document_id: Option<i64>,
        exception_id: Option<i64>,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        Store::audit_line(exec, [document_id, exception_id, None], actor, action, detail).await
    }

    /// One audit line about a document, an item and a run (each if any).
    async fn audit_line<'e, E: Executor<'e, Database = Any>>(
        exec: E,
        [document_id, exception_id, run_id]: [Option<i64>; 3],
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, document_id, exception_id, run_id, actor, action, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(now())
        .bind(document_id)
        .bind(exception_id)
        .bind(run_id)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .execute(exec)
        .await?;
        Ok(())
    }
}

/// SQLite pools: the pragmas every connection needs.
fn sqlite_pool(connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(connections).after_connect(|c, _| {
        Box::pin(async move {
            // WAL: readers never wait for the writer. NORMAL in WAL mode survives a process crash
            // (kill -9) losing nothing committed; only a power cut may lose the last transactions.
            c.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON")
                .await?;
            Ok(())
        })
    })
}

/// `sqlite://` URL of a file, created when missing (`%`, `?` and `#` escaped: the driver decodes).
fn sqlite_url(file: &Path) -> String {
    let path = file.display().to_string().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
    format!("sqlite://{path}?mode=rwc")
}

/// A store URL fit for messages: without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
