//! Content-addressed blob store: every original file, by SHA-256, on disk. A blob is written to a
//! temporary file, synced, then renamed into place, so a crash never leaves half a blob under a
//! real name.
//!
//! With a PostgreSQL store every daemon must read every blob, so each is also kept in the
//! database (`blobs` table) before the document that names it is recorded, or in the same
//! transaction; the folder is then this daemon's cache, filled from the database on a miss.
//! Readers always get a local file. Blob rows commit without waiting for the disk (the store's
//! `redo` pool): the record naming one waits, and takes it with it.

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

/// A small original kept on disk but not yet in the shared database (see
/// [`Blobs::put_for_record`]): its hash and bytes, or nothing left to do.
#[derive(Clone, Default)]
pub struct Unshared(pub(super) Option<(String, Vec<u8>)>);

impl Unshared {
    /// Keeps it in the shared database, in the caller's transaction.
    pub(super) async fn share(&self, c: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
        match &self.0 {
            Some((sha256, bytes)) => share_small(c, sha256, bytes).await,
            None => Ok(()),
        }
    }
}

/// A blob smaller than a chunk: the chunk and the row in one statement, one round trip (most
/// documents are far smaller than a chunk). Known already: both inserts do nothing but mark it
/// seen, so a retention pass leaves it (see `Store::drop_blob`).
async fn share_small(c: &mut sqlx::AnyConnection, sha256: &str, bytes: &[u8]) -> sqlx::Result<()> {
    sqlx::query(
        "WITH chunk AS (INSERT INTO blob_chunks (sha256, n, bytes) VALUES ($1, 0, $3) ON CONFLICT DO NOTHING)
         INSERT INTO blobs (sha256, size, bytes, seen) VALUES ($1, $2, $4, $5) ON CONFLICT (sha256) DO UPDATE SET seen = $5",
    )
    .bind(sha256)
    .bind(bytes.len() as i64)
    .bind(bytes)
    .bind(Vec::<u8>::new())
    .bind(super::now_ms())
    .execute(c)
    .await
    .map(|_| ())
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

    /// The folder the blobs are in (`xx/sha256`), with `tmp/` and `derived/` beside them.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the folder is only this daemon's cache of blobs kept in the database.
    pub fn is_cache(&self) -> bool {
        self.shared.is_some()
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
        let this = self.clone();
        let db = db.clone();
        let sha = sha256.to_string();
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(2);
        // Chunks stream from the database into the local writer: one chunk in memory at a time.
        let writer = tokio::task::spawn_blocking(move || this.write_local(ChannelReader::new(rx)));
        let sent = fetch_chunks(&db, &sha, &tx).await;
        if let Err(e) = &sent {
            let _ = tx.send(Err(std::io::Error::new(e.kind(), e.to_string()))).await;
        }
        drop(tx);
        let stored = writer.await??;
        sent?;
        if stored.sha256 != sha256 {
            let _ = std::fs::remove_file(self.local(&stored.sha256));
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("blob {sha256} read back from the store does not match its hash"),
            ));
        }
        Ok(path)
    }

    /// A file this daemon drew from blob `sha256` for people (LibreOffice's PDF of an Office
    /// file, `ext` "pdf"), when it has one: a cache beside the blobs, never shared, drawn again
    /// when missing.
    pub fn derived(&self, sha256: &str, ext: &str) -> Option<PathBuf> {
        Some(self.derived_path(sha256, ext)).filter(|p| p.is_file())
    }

    /// Keeps `bytes` as what was drawn from blob `sha256` (see [`Blobs::derived`]).
    pub async fn keep_derived(&self, sha256: &str, ext: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.derived_path(sha256, ext);
        tokio::fs::create_dir_all(self.root.join("derived")).await?;
        let tmp = tempfile_in(&self.root.join("tmp"))?;
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(path)
    }

    fn derived_path(&self, sha256: &str, ext: &str) -> PathBuf {
        self.root.join("derived").join(format!("{sha256}.{ext}"))
    }

    pub async fn read(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(sha256).await?).await
    }

    /// Stores what `reader` gives (a file being taken), hashing it on the way.
    pub async fn put(&self, reader: impl Read + Send + 'static) -> std::io::Result<Stored> {
        let (stored, unshared) = self.put_for_record(reader).await?;
        if let (Some(db), Some(_)) = (&self.shared, &unshared.0) {
            let mut c = db.acquire().await.map_err(std::io::Error::other)?;
            unshared.share(&mut c).await.map_err(std::io::Error::other)?;
        }
        Ok(stored)
    }

    /// Stores what `reader` gives on disk only, for a caller that records the document naming
    /// it next ([`Store::record_taken`]): a small original's row then rides in that record's
    /// transaction, a round trip and a commit fewer per file. A large one is shared at once.
    pub async fn put_for_record(&self, reader: impl Read + Send + 'static) -> std::io::Result<(Stored, Unshared)> {
        let this = self.clone();
        let stored = tokio::task::spawn_blocking(move || this.write_local(reader)).await??;
        if self.shared.is_none() {
            return Ok((stored, Unshared(None)));
        }
        if stored.size >= CHUNK as u64 {
            self.share(&stored).await?;
            return Ok((stored, Unshared(None)));
        }
        let bytes = tokio::fs::read(self.local(&stored.sha256)).await?;
        let unshared = Unshared(Some((stored.sha256.clone(), bytes)));
        Ok((stored, unshared))
    }

    pub async fn put_bytes(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        let stored = self.write_local(bytes)?;
        self.share(&stored).await?;
        Ok(stored)
    }

    /// Keeps the blob in the shared database, once.
    async fn share(&self, stored: &Stored) -> std::io::Result<()> {
        let Some(db) = &self.shared else { return Ok(()) };
        if stored.size < CHUNK as u64 {
            let bytes = tokio::fs::read(self.local(&stored.sha256)).await?;
            let mut c = db.acquire().await.map_err(std::io::Error::other)?;
            return share_small(&mut c, &stored.sha256, &bytes).await.map_err(std::io::Error::other);
        }
        // Found: marked seen, so a retention pass leaves it (see `Store::drop_blob`).
        let known: Vec<i64> = sqlx::query_scalar("UPDATE blobs SET seen = $2 WHERE sha256 = $1 RETURNING size")
            .bind(&stored.sha256)
            .bind(super::now_ms())
            .fetch_all(db)
            .await
            .map_err(std::io::Error::other)?;
        if !known.is_empty() {
            return Ok(());
        }
        // Every chunk and then the row, in one transaction: a row means the whole blob is there.
        let mut file = tokio::fs::File::open(self.local(&stored.sha256)).await?;
        let mut tx = db.begin().await.map_err(std::io::Error::other)?;
        let mut n = 0i64;
        loop {
            let chunk = read_chunk(&mut file).await?;
            if chunk.is_empty() && n > 0 {
                break;
            }
            let last = chunk.len() < CHUNK;
            sqlx::query("INSERT INTO blob_chunks (sha256, n, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(&stored.sha256)
                .bind(n)
                .bind(chunk)
                .execute(&mut *tx)
                .await
                .map_err(std::io::Error::other)?;
            n += 1;
            if last {
                break;
            }
        }
        sqlx::query("INSERT INTO blobs (sha256, size, bytes, seen) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO UPDATE SET seen = $4")
            .bind(&stored.sha256)
            .bind(stored.size as i64)
            .bind(Vec::<u8>::new())
            .bind(super::now_ms())
            .execute(&mut *tx)
            .await
            .map_err(std::io::Error::other)?;
        tx.commit().await.map_err(std::io::Error::other)?;
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
        // Found again: touched, so that a retention pass removing its twin's original leaves it
        // (see `set_aside`). Gone between the look and the touch: this copy takes its place.
        let found = dest.exists() && std::fs::File::options().write(true).open(&dest).and_then(|f| f.set_modified(std::time::SystemTime::now())).is_ok();
        if found {
            std::fs::remove_file(&tmp)?;
        } else {
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(Stored { sha256, size, head })
    }

    /// For removing a blob nothing keeps: moves it aside unless intake stored or found it within
    /// `grace_ms` (a twin arriving while its original goes). The caller asks the store again and
    /// then [`Blobs::settle`]s it. None: there is no such file, or it was found lately.
    pub async fn set_aside(&self, sha256: &str, grace_ms: i64) -> std::io::Result<Option<Aside>> {
        let (from, path) = (self.local(sha256), self.root.join("tmp").join(format!("removed-{sha256}")));
        let Some(touched) = modified(&from) else { return Ok(None) };
        if touched.elapsed().map_or(true, |a| (a.as_millis() as i64) < grace_ms) {
            return Ok(None);
        }
        match tokio::fs::rename(&from, &path).await {
            Ok(()) => Ok(Some(Aside { path, touched })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Puts a blob set aside back (`keep`, or intake found it between the look and the move), or
    /// removes it with the renditions drawn from it.
    pub async fn settle(&self, sha256: &str, aside: Aside, keep: bool) -> std::io::Result<()> {
        let dest = self.local(sha256);
        if keep || modified(&aside.path) != Some(aside.touched) {
            if dest.exists() {
                return tokio::fs::remove_file(&aside.path).await;
            }
            return tokio::fs::rename(&aside.path, &dest).await;
        }
        tokio::fs::remove_file(&aside.path).await?;
        if let Some(drawn) = self.derived(sha256, "pdf") {
            let _ = tokio::fs::remove_file(drawn).await;
        }
        Ok(())
    }

    /// This daemon's copy of a blob gone from the database (PostgreSQL), unless intake found it
    /// lately.
    pub async fn evict(&self, sha256: &str, grace_ms: i64) -> std::io::Result<()> {
        if let Some(aside) = self.set_aside(sha256, grace_ms).await? {
            self.settle(sha256, aside, false).await?;
        }
        Ok(())
    }

    /// The hashes of the blobs in this daemon's folder.
    pub fn local_hashes(&self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        for dir in std::fs::read_dir(&self.root)? {
            let dir = dir?;
            let name = dir.file_name().to_string_lossy().into_owned();
            if name.len() != 2 || !dir.file_type()?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(dir.path())? {
                let f = f?.file_name().to_string_lossy().into_owned();
                if f.len() == 64 && f.starts_with(&name) && f.bytes().all(|b| b.is_ascii_hexdigit()) {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }


}

/// A blob moved aside for removal, and when it was last stored or found before the move.
pub struct Aside {
    path: PathBuf,
    touched: std::time::SystemTime,
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Bytes per row of `blob_chunks`: small enough that a daemon holds little, large enough that a
/// big file is few rows.
const CHUNK: usize = 8 << 20;

async fn read_chunk(file: &mut tokio::fs::File) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut chunk = Vec::with_capacity(CHUNK);
    while chunk.len() < CHUNK {
        if file.read_buf(&mut chunk).await? == 0 {
            break;
        }
    }
    Ok(chunk)
}

/// Sends a blob's bytes in order: its chunks, or the one value of a row written before chunks.
async fn fetch_chunks(
    db: &AnyPool,
    sha256: &str,
    out: &tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
) -> std::io::Result<()> {
    let missing = || std::io::Error::new(std::io::ErrorKind::NotFound, format!("blob {sha256} is not in the store"));
    let legacy: Option<Vec<u8>> = sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1")
        .bind(sha256)
        .fetch_optional(db)
        .await
        .map_err(std::io::Error::other)?;
    let legacy = legacy.ok_or_else(missing)?;
    if !legacy.is_empty() {
        return out.send(Ok(legacy)).await.map_err(|_| missing());
    }
    // One chunk per query, so the database connection never buffers the whole file either.
    for n in 0i64.. {
        let chunk: Option<Vec<u8>> = sqlx::query_scalar("SELECT bytes FROM blob_chunks WHERE sha256 = $1 AND n = $2")
            .bind(sha256)
            .bind(n)
            .fetch_optional(db)
            .await
            .map_err(std::io::Error::other)?;
        match chunk {
            Some(bytes) => {
                if out.send(Ok(bytes)).await.is_err() {
                    return Err(std::io::Error::other("the local writer stopped"));
                }
            }
            None => break,
        }
    }
    Ok(())
}

/// A `Read` over chunks arriving from an async task.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    current: std::io::Cursor<Vec<u8>>,
}

impl ChannelReader {
    fn new(rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>) -> ChannelReader {
        ChannelReader { rx, current: std::io::Cursor::new(Vec::new()) }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.rx.blocking_recv() {
                Some(Ok(next)) => self.current = std::io::Cursor::new(next),
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{}-{n}.part", std::process::id())))
}
