//! `clerk backup DIR`: a consistent copy of a store that a restore starts from, made while the
//! daemon runs. SQLite: one snapshot of the database (`clerk.db`), then the blobs it names. A
//! blob is written before the row that names it (see `store::blobs`) and never changed, so
//! every blob the snapshot names is on disk when the copy is made; blobs newer than the
//! snapshot come along and are harmless. PostgreSQL: `pg_dump`'s custom format, which holds the
//! blobs too unless they are in a folder of their own (`blobs = DIR`), copied the same way.

use crate::store::{Backend, Store};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// What a backup holds.
#[derive(Debug, Default)]
pub struct Made {
    pub database: PathBuf,
    pub blobs: u64,
    pub bytes: u64,
}

pub async fn backup(store: &Store, dir: &Path) -> anyhow::Result<Made> {
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        anyhow::bail!("{} is not empty: a backup goes into a new or empty folder", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make the backup folder {}", dir.display()))?;
    let database = match store.backend() {
        Backend::Sqlite => {
            let file = dir.join("clerk.db");
            store.snapshot_into(&file).await.context("cannot copy the database")?;
            file
        }
        Backend::Postgres => {
            let file = dir.join("clerk.pgdump");
            pg_dump(store.url().unwrap_or_default(), &file)?;
            file
        }
    };
    let mut made = Made { database, ..Made::default() };
    if !store.blobs.is_cache() {
        copy_blobs(store.blobs.root(), &dir.join("blobs"), &mut made)?;
    }
    std::fs::write(dir.join("BACKUP.txt"), note(store.backend(), &made))?;
    Ok(made)
}

/// Runs `pg_dump` (PostgreSQL's client tools must be installed; the dump is as consistent as
/// one transaction).
fn pg_dump(url: &str, file: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(file)
        .arg(url)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!("pg_dump is not installed: a PostgreSQL store is copied with PostgreSQL's client tools (apt-get install postgresql-client)")
            }
            _ => anyhow::anyhow!("cannot run pg_dump: {e}"),
        })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!("pg_dump failed: {}", crate::store::redact(why.trim()));
    }
    Ok(())
}

/// Copies the blob files (`xx/sha256`), not the temporary files or the derived renditions
/// (those are made again on demand).
fn copy_blobs(from: &Path, to: &Path, made: &mut Made) -> anyhow::Result<()> {
    let Ok(prefixes) = std::fs::read_dir(from) else { return Ok(()) };
    for prefix in prefixes.flatten() {
        let name = prefix.file_name();
        let name = name.to_string_lossy();
        if name.len() != 2 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        std::fs::create_dir_all(to.join(&*name))?;
        for blob in std::fs::read_dir(prefix.path())?.flatten() {
            let target = to.join(&*name).join(blob.file_name());
            made.bytes += std::fs::copy(blob.path(), &target)
                .with_context(|| format!("cannot copy the blob {}", blob.path().display()))?;
            made.blobs += 1;
        }
    }
    Ok(())
}

/// The folder's own note: what it is and how it is restored.
fn note(backend: Backend, made: &Made) -> String {
    let restore = match backend {
        Backend::Sqlite => "Restore: stop clerk; put clerk.db and blobs/ into the data folder (removing clerk.db-wal and\nclerk.db-shm there); give them to the service's user; start clerk. See operations.md, \"Backup and restore\".",
        Backend::Postgres => "Restore: stop every clerk daemon; pg_restore --no-owner --dbname URL clerk.pgdump into an\nempty database (and blobs/ into the blobs folder, if there is one); start clerk. See operations.md.",
    };
    format!(
        "clerk backup made {} by clerk {}\n{} blob(s), {} byte(s) of originals.\n{restore}\n",
        crate::store::now(),
        env!("CARGO_PKG_VERSION"),
        made.blobs,
        made.bytes
    )
}
