//! Content-addressed blob store: every original file, by SHA-256, on disk. A blob is written to a
//! temporary file, synced, then renamed into place, so a crash never leaves half a blob under a
//! real name.
//!
//! With a PostgreSQL store every daemon must read every blob, so each is also kept in the
//! database (`blobs` table) before the document that names it is recorded; the folder is then
//! this daemon's cache, filled from the database on a miss. Readers always get a local file.

use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Blobs {
    root: PathBuf,
    /// The database every daemon reads blobs from (PostgreSQL without `blobs = DIR`).
    shared: Option<AnyPool>,
}

#[derive(Clone)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
    /// The first bytes, for sniffing the media type.
    pub head: Vec<u8>,
}

impl Blobs {
    pub fn open(root: PathBuf, shared: Option<AnyPool>) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Blobs { root, shared })
    }

    fn local(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// A local file holding the blob (fetched from the database first when it is shared there and
    /// this daemon has not seen it).
    pub async fn path(&self, sha256: &str) -> std::io::Result<PathBuf> {
        let path = self.local(sha256);
        let Some(db) = &self.shared else { return Ok(path) };
        if path.exists() {
            return Ok(path);
        }
        let bytes: Option<Vec<u8>> = sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(db)
            .await
            .map_err(std::io::Error::other)?;
        let bytes = bytes.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("blob {sha256} is not in the store"))
        })?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write_local(std::io::Cursor::new(bytes))).await??;
        Ok(path)
    }

    pub async fn read(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(sha256).await?).await
    }

    /// Stores what `reader` gives (a file being taken), hashing it on the way.
    pub async fn put(&self, reader: impl Read + Send + 'static) -> std::io::Result<Stored> {
        let this = self.clone();
        let stored = tokio::task::spawn_blocking(move || this.write_local(reader)).await??;
        self.share(&stored).await?;
        Ok(stored)
    }

    pub async fn put_bytes(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        let stored = self.write_local(bytes)?;
        self.share(&stored).await?;
        Ok(stored)
    }

    /// Keeps the blob in the shared database, once.
    async fn share(&self, stored: &Stored) -> std::io::Result<()> {
        let Some(db) = &self.shared else { return Ok(()) };
        let known: Option<i64> = sqlx::query_scalar("SELECT size FROM blobs WHERE sha256 = $1")
            .bind(&stored.sha256)
            .fetch_optional(db)
            .await
            .map_err(std::io::Error::other)?;
        if known.is_some() {
            return Ok(());
        }
        let bytes = tokio::fs::read(self.local(&stored.sha256)).await?;
        sqlx::query("INSERT INTO blobs (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
            .bind(&stored.sha256)
            .bind(stored.size as i64)
            .bind(bytes)
            .execute(db)
            .await
            .map_err(std::io::Error::other)?;
        Ok(())
    }

    /// Copies `reader` into the local folder while hashing it.
    fn write_local(&self, mut reader: impl Read) -> std::io::Result<Stored> {
        let tmp = tempfile_in(&self.root.join("tmp"))?;
        let mut file = std::fs::File::create(&tmp)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        let mut head = Vec::new();
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            if head.len() < 1024 {
                head.extend_from_slice(&buf[..n.min(1024 - head.len())]);
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])?;
            size += n as u64;
        }
        file.sync_all()?;
        drop(file);
        let sha256 = hex::encode(hasher.finalize());
        let dest = self.local(&sha256);
        std::fs::create_dir_all(dest.parent().expect("blob path has a parent"))?;
        if dest.exists() {
            std::fs::remove_file(&tmp)?;
        } else {
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(Stored { sha256, size, head })
    }

}

fn tempfile_in(dir: &Path) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{}-{n}.part", std::process::id())))
}
