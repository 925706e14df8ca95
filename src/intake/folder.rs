//! Watched folders. In watch mode a file is taken the moment its writer closes it (inotify
//! close-write) or it is renamed into the folder; a scan at start-up and a periodic rescan catch
//! anything the kernel did not report. In poll mode (network shares, where inotify sees nothing)
//! a file is taken once its size and mtime have been stable for `stable_delay`.

use super::{take, Taken};
use crate::config::{IntakeMode, IntakeSettings};
use crate::store::{IntakeResult, Store};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use crate::shutdown::Shutdown;
use tokio::sync::{mpsc, Notify};

pub struct FolderSource {
    pub dir: PathBuf,
    pub settings: IntakeSettings,
    pub store: Store,
    /// Wakes pipeline workers after a document is queued.
    pub wake: Arc<Notify>,
    /// The readers, for the limits as currently set (an e-mail saved into the inbox is taken
    /// apart here, within `max_file_size`).
    pub readers: crate::read::pool::Readers,
}

/// How many files are taken at once. Most of a take is waiting — on the disk's sync, on the
/// store's round trips (PostgreSQL's over the network) — so a few overlap well.
const TAKING: usize = 4;

/// The takes under way: a path is not taken twice at once (an event and a scan may both
/// name it), and no more than [`TAKING`] run together.
struct Takes {
    tasks: tokio::task::JoinSet<()>,
    busy: Arc<std::sync::Mutex<std::collections::HashSet<PathBuf>>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Takes {
    fn new() -> Takes {
        Takes { tasks: Default::default(), busy: Default::default(), slots: Arc::new(tokio::sync::Semaphore::new(TAKING)) }
    }

    async fn start(&mut self, source: &Arc<FolderSource>, path: PathBuf) {
        while self.tasks.try_join_next().is_some() {}
        if !self.busy.lock().expect("takes lock").insert(path.clone()) {
            return;
        }
        let slot = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (source, busy) = (source.clone(), self.busy.clone());
        self.tasks.spawn(async move {
            source.take_logged(&path).await;
            busy.lock().expect("takes lock").remove(&path);
            drop(slot);
        });
    }

    fn is_busy(&self, path: &Path) -> bool {
        self.busy.lock().expect("takes lock").contains(path)
    }
}

/// A file's size and mtime, and since when they have been so.
struct Seen {
    size: u64,
    mtime: (i64, i64),
    since: Instant,
}

impl super::Source for FolderSource {
    fn name(&self) -> String {
        format!("inbox {}", self.dir.display())
    }
    fn run(self: Box<Self>, stop: Shutdown) -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> {
        Box::pin((*self).run(stop))
    }
}

impl FolderSource {
    fn source(&self) -> String {
        format!("folder:{}", self.dir.display())
    }

    pub async fn run(self, mut shutdown: Shutdown) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let this = Arc::new(self);
        let mut takes = Takes::new();
        let result = this.watch_and_take(&mut shutdown, &mut takes).await;
        // A take under way finishes (each is short); one cut off would be taken again anyway.
        takes.tasks.join_all().await;
        result
    }

    async fn watch_and_take(self: &Arc<Self>, shutdown: &mut Shutdown, takes: &mut Takes) -> anyhow::Result<()> {
        let (tx, mut events) = mpsc::unbounded_channel::<PathBuf>();
        // Keep the watcher alive for as long as the loop runs.
        let _watcher = match self.settings.mode {
            IntakeMode::Watch => Some(self.watch(tx)?),
            IntakeMode::Poll => None,
        };
        let tick = match self.settings.mode {
            IntakeMode::Watch => {
                self.settings.rescan_interval.min(self.settings.stable_delay).max(Duration::from_millis(100))
            }
            IntakeMode::Poll => self.settings.poll_interval,
        };
        tracing::info!(dir = %self.dir.display(), mode = ?self.settings.mode, "watching inbox");
        let mut seen: HashMap<PathBuf, Seen> = HashMap::new();
        let mut last_rescan = Instant::now() - self.settings.rescan_interval;
        let mut next = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.requested() => return Ok(()),
                Some(path) = events.recv() => {
                    match std::fs::symlink_metadata(&path) {
                        // A folder may still be filling: report it once it has settled.
                        Ok(m) if m.is_dir() => {
                            seen.entry(path).or_insert(Seen { size: m.len(), mtime: (m.mtime(), m.mtime_nsec()), since: Instant::now() });
                        }
                        _ => {
                            seen.remove(&path);
                            takes.start(self, path).await;
                        }
                    }
                }
                _ = tokio::time::sleep_until(next) => {
                    next = tokio::time::Instant::now() + tick;
                    // In watch mode the scan only looks at files already waiting (start-up), files
                    // whose events were lost (rescan), or that are still settling.
                    let full = self.settings.mode == IntakeMode::Poll || last_rescan.elapsed() >= self.settings.rescan_interval || !seen.is_empty();
                    if full {
                        if last_rescan.elapsed() >= self.settings.rescan_interval { last_rescan = Instant::now(); }
                        self.scan(&mut seen, takes).await;
                    }
                }
            }
        }
    }

    fn watch(&self, tx: mpsc::UnboundedSender<PathBuf>) -> anyhow::Result<notify::RecommendedWatcher> {
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            let ready = matches!(
                event.kind,
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                    | EventKind::Modify(ModifyKind::Name(RenameMode::To))
                    | EventKind::Modify(ModifyKind::Name(RenameMode::Both))
                    | EventKind::Create(CreateKind::Any | CreateKind::Other | CreateKind::Folder)
            );
            if ready {
                // For a rename both paths are reported; the destination is the last.
                if let Some(p) = event.paths.last() {
                    let _ = tx.send(p.clone());
                }
            } else if matches!(event.kind, EventKind::Create(CreateKind::File)) {
                // A new file: wait for close-write, except for symlinks, which are never written.
                if let Some(p) = event.paths.last() {
                    if std::fs::symlink_metadata(p).map(|m| m.file_type().is_symlink()).unwrap_or(false) {
                        let _ = tx.send(p.clone());
                    }
                }
            }
        })?;
        watcher.watch(&self.dir, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    }

    /// Takes every entry whose size and mtime have been stable for `stable_delay`.
    async fn scan(self: &Arc<Self>, seen: &mut HashMap<PathBuf, Seen>, takes: &mut Takes) {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, "cannot list inbox");
                return;
            }
        };
        let mut present = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if takes.is_busy(&path) {
                present.push(path);
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            present.push(path.clone());
            let (size, mtime) = (meta.len(), (meta.mtime(), meta.mtime_nsec()));
            let stable = match seen.get(&path) {
                Some(s) if s.size == size && s.mtime == mtime => s.since.elapsed() >= self.settings.stable_delay,
                _ => {
                    // A file untouched for longer than the delay needs no further wait.
                    let age = meta.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or_default();
                    seen.insert(path.clone(), Seen { size, mtime, since: Instant::now() });
                    age >= self.settings.stable_delay
                }
            };
            if stable && meta.is_file() && super::open_for_writing(&meta) {
                // Still open by a local writer that paused: its close-write event will come.
                seen.insert(path.clone(), Seen { size, mtime, since: Instant::now() });
            } else if stable {
                seen.remove(&path);
                takes.start(self, path).await;
            }
        }
        seen.retain(|p, _| present.contains(p));
    }

    async fn take_logged(&self, path: &Path) {
        match take(&self.store, &self.source(), path, &self.readers.limits()).await {
            Ok(Taken::Stored(r)) => {
                match r {
                    IntakeResult::Received(id) => {
                        tracing::info!(doc_id = id, path = %path.display(), "received")
                    }
                    IntakeResult::Duplicate { id, of } => {
                        tracing::info!(doc_id = id, duplicate_of = of, path = %path.display(), "duplicate")
                    }
                    IntakeResult::AlreadyTaken(id) => {
                        tracing::debug!(doc_id = id, path = %path.display(), "already taken")
                    }
                }
                self.wake.notify_one();
            }
            Ok(Taken::Message(taken)) => {
                tracing::info!(path = %path.display(), ?taken, "received an e-mail; its documents are queued");
                self.wake.notify_one();
            }
            Ok(Taken::Skipped(why)) => tracing::debug!(path = %path.display(), why, "skipped"),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %format!("{e:#}"), "cannot take file; will retry at the next scan")
            }
        }
    }
}
