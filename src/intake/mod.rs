//! Sources of documents. Each source hands files to [`take`], which guarantees the order that
//! makes intake lossless: bytes into the blob store, then the document row committed, and only
//! then the file removed from the inbox.

pub mod folder;
pub mod imap;
pub mod mail;
pub mod maildir;
pub mod messages;

use crate::config::Settings;
use crate::shutdown::Shutdown;
use crate::store::{IntakeResult, NewDocument, Store};
use futures_util::future::BoxFuture;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

/// Where documents come from: a watched folder, a Maildir, an IMAP account. Each runs until the
/// stop, taking what arrives through [`take`] (or a mail message's through `messages`); the
/// daemon starts every one [`sources`] makes and knows none of their kinds. A new kind of
/// source is a module here and a line in `sources`.
pub trait Source: Send {
    /// What it is, for the log: `inbox /srv/scans`, `imap accounts`.
    fn name(&self) -> String;
    /// Runs until the stop; an error ends this source only (the daemon logs it).
    fn run(self: Box<Self>, stop: Shutdown) -> BoxFuture<'static, anyhow::Result<()>>;
}

/// What the sources share: the store, the pipeline's wake-up, the readers (for the limits in
/// force), the mail rules in force.
#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    /// Sources call `notify_one` after they queue work: the jobs loop may be between an empty
    /// claim and its wait, and a `notify_waiters` then would be lost until the loop's next look.
    pub wake: Arc<tokio::sync::Notify>,
    pub readers: crate::read::pool::Readers,
    pub mail_policy: mail::Policy,
}

/// Every source the settings name.
pub fn sources(settings: &Settings, shared: &Shared) -> Vec<Box<dyn Source>> {
    let mut out: Vec<Box<dyn Source>> = vec![];
    for dir in &settings.inbox {
        out.push(Box::new(folder::FolderSource {
            dir: dir.clone(),
            settings: settings.intake.clone(),
            store: shared.store.clone(),
            wake: shared.wake.clone(),
            readers: shared.readers.clone(),
        }));
    }
    for account in &settings.mail.maildir {
        out.push(Box::new(maildir::MaildirSource {
            account: account.clone(),
            policy: shared.mail_policy.clone(),
            store: shared.store.clone(),
            poll_interval: settings.mail.poll_interval,
            wake: shared.wake.clone(),
        }));
    }
    for account in &settings.mail.imap {
        out.push(Box::new(imap::ImapSource {
            account: account.clone(),
            policy: shared.mail_policy.clone(),
            store: shared.store.clone(),
            poll_interval: settings.mail.poll_interval,
            secrets_file: settings.secrets_file.clone(),
            wake: shared.wake.clone(),
        }));
    }
    out
}

/// Names that are never taken: partial downloads, editor and Office lock files, hidden files.
pub fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with("~$")
        || name.ends_with(".part")
        || name.ends_with(".tmp")
        || name.ends_with(".crdownload")
        || name.ends_with('~')
}

/// Whether a process on this machine holds `meta`'s file open for writing (found through
/// /proc, as `fuser` does). A scan uses it so that a writer pausing longer than the stability
/// delay is not cut off; writers on other machines (network shares) are only seen through the
/// stability delay.
pub fn open_for_writing(meta: &std::fs::Metadata) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else { return false };
    for proc in procs.flatten() {
        let pid = proc.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let same = std::fs::metadata(fd.path()).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
            if !same {
                continue;
            }
            let info = std::fs::read_to_string(proc.path().join("fdinfo").join(fd.file_name())).unwrap_or_default();
            let flags =
                info.lines().find_map(|l| l.strip_prefix("flags:")).and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
            // O_ACCMODE: 1 = O_WRONLY, 2 = O_RDWR.
            if flags.is_some_and(|f| f & 3 != 0) {
                return true;
            }
        }
    }
    false
}

/// What happened to one path.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    Stored(IntakeResult),
    /// An e-mail saved into the inbox, taken apart as a mailbox's message is.
    Message(messages::Ingested),
    /// Not taken now (changed while being read, vanished, or not a file clerk handles).
    Skipped(&'static str),
}

/// Takes one entry of an inbox. Regular files are stored and removed; symlinks and folders are
/// recorded as unreadable exceptions (links are not followed: an inbox writer must not be able to
/// make clerk read any file the daemon can read).
pub async fn take(store: &Store, source: &str, path: &Path, limits: &crate::read::Limits) -> anyhow::Result<Taken> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if ignored(&name) {
        return Ok(Taken::Skipped("ignored name"));
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Taken::Skipped("vanished")),
        Err(e) => return Err(e.into()),
    };
    let shown = path.to_string_lossy().into_owned();
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(path).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
        let stored = store.blobs.put_bytes(target.as_bytes()).await?;
        let doc = NewDocument {
            source: source.to_string(),
            intake_key: format!("link|{name}|{}|{}", meta.ino(), meta.mtime_nsec()),
            original_name: name,
            original_path: shown.clone(),
            sha256: stored.sha256,
            size: stored.size,
            media_type: Some("inode/symlink".into()),
        };
        let reason = format!("a symbolic link (to {target}) was dropped into the inbox; clerk does not follow links — put the file itself there");
        let r = store.record_refused(&doc, &reason).await?;
        // The link itself is recorded (its target is kept as the blob); the target is untouched.
        let _ = std::fs::remove_file(path);
        return Ok(Taken::Stored(r));
    }
    if ft.is_dir() {
        let stored = store.blobs.put_bytes(b"").await?;
        let doc = NewDocument {
            source: source.to_string(),
            // Reported once per folder, however long it stays.
            intake_key: format!("dir|{name}|{}", meta.ino()),
            original_name: name,
            original_path: shown.clone(),
            sha256: stored.sha256,
            size: 0,
            media_type: Some("inode/directory".into()),
        };
        let reason = "a folder was dropped into the inbox; clerk takes files, not folders — move the files inside it into the inbox itself (the folder was left where it is)";
        return Ok(Taken::Stored(store.record_refused(&doc, reason).await?));
    }
    if !ft.is_file() {
        return Ok(Taken::Skipped("not a regular file"));
    }
    // The same on every daemon watching a shared folder (an NFS or SMB mount's device number and
    // mount point differ between machines; the name, the server's inode, mtime and size do not),
    // so a file two daemons see is taken by one: the store refuses a second record of a key.
    let intake_key = format!(
        "file|{name}|{}|{}|{}",
        meta.ino(),
        meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
        meta.len()
    );
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Taken::Skipped("vanished")),
        Err(e) => return Err(anyhow::anyhow!("cannot open {shown}: {e}")),
    };
    let (stored, original) = store.blobs.put_for_record(file).await?;
    // A writer that was still appending shows as a size or mtime change: take it later, whole.
    match std::fs::symlink_metadata(path) {
        Ok(after)
            if after.len() == meta.len()
                && after.mtime_nsec() == meta.mtime_nsec()
                && after.mtime() == meta.mtime()
                && stored.size == meta.len() => {}
        _ => return Ok(Taken::Skipped("changed while being read")),
    }
    let media_type = crate::read::sniff(&stored.head, &path.to_string_lossy());
    if media_type == Some(crate::read::office::EML) && stored.size <= limits.max_file_size {
        let raw = store.blobs.read(&stored.sha256).await?;
        let taken = messages::ingest_saved(store, limits, source, &intake_key, &name, &raw).await?;
        remove_taken(path, &shown);
        return Ok(Taken::Message(taken));
    }
    let doc = NewDocument {
        source: source.to_string(),
        original_name: name,
        original_path: shown.clone(),
        intake_key,
        sha256: stored.sha256,
        size: stored.size,
        media_type: media_type.map(str::to_string),
    };
    let result = store.record_taken(&doc, original).await?;
    remove_taken(path, &shown);
    Ok(Taken::Stored(result))
}

/// Removes a file whose documents are recorded.
fn remove_taken(path: &Path, shown: &str) {
    let removed = match std::fs::remove_file(path) {
        // Another daemon watching the same folder removed it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    };
    if let Err(e) = removed {
        // Recorded but not removed (a read-only share): the intake key stops a second take.
        tracing::warn!(path = %shown, error = %e, "stored the document but cannot remove it from the inbox");
    }
}
