//! Content-addressed blob store: every original file, by SHA-256, on disk. A blob is written to a
//! temporary file, synced, then renamed into place, so a crash never leaves half a blob under a
//! real name.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Blobs {
    root: PathBuf,
}

#[derive(Clone)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
    /// The first bytes, for sniffing the media type.
    pub head: Vec<u8>,
}

impl Blobs {
    pub fn open(root: PathBuf) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Blobs { root })
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Copies `reader` into the store while hashing it.
    pub fn put(&self, mut reader: impl Read) -> std::io::Result<Stored> {
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
        let dest = self.path(&sha256);
        std::fs::create_dir_all(dest.parent().expect("blob path has a parent"))?;
        if dest.exists() {
            std::fs::remove_file(&tmp)?;
        } else {
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(Stored { sha256, size, head })
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        self.put(bytes)
    }

    pub fn read(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(sha256))
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{}-{n}.part", std::process::id())))
}
