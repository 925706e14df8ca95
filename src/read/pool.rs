//! The pool of reader processes. Each document is read by a `clerk-reader` child process that the
//! pool starts on demand, reuses for the next documents, and stops after it has been idle a while
//! (an idle daemon holds no reader memory). The kernel enforces the limits per process: address
//! space (`limits.max_memory`, set before the reader starts) and CPU time (`limits.max_seconds`,
//! set by the reader before each document); the pool adds a wall-clock deadline. A reader that
//! crashes, overruns or is killed costs only the document it was reading, which becomes
//! unreadable with a sentence saying what happened; the next document gets a fresh reader.

use super::protocol::{self, Reply, Request};
use super::{Extracted, Limits};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{watch, Semaphore};

/// Wall-clock time a reader gets beyond `limits.max_seconds` of CPU before the pool kills it
/// (start-up, waiting for a core on a busy machine).
pub(super) const GRACE: Duration = Duration::from_secs(5);
/// Lines of a reader's stderr kept to explain its death.
const TAIL_LINES: usize = 30;

#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// The `clerk-reader` executable.
    pub program: PathBuf,
    /// Readers at once (documents read in parallel).
    pub count: usize,
    /// A reader idle this long exits.
    pub idle_timeout: Duration,
    /// A reader is replaced after this many documents (bounds what a leak or fragmentation costs).
    pub max_documents: u32,
    pub languages: String,
    pub limits: Limits,
    /// LibreOffice's `soffice`, to draw Office files as pages for people (`None`: not installed
    /// or turned off; such files are shown as their text).
    pub libreoffice: Option<PathBuf>,
}

impl ReaderSettings {
    /// `clerk-reader` beside the running executable (or one folder up, where test and benchmark
    /// binaries live), else from `PATH`.
    pub fn find_program() -> PathBuf {
        if let Some(p) = std::env::var_os("CLERK_READER") {
            return PathBuf::from(p);
        }
        if let Ok(exe) = std::env::current_exe() {
            for dir in exe.ancestors().skip(1).take(2) {
                let candidate = dir.join("clerk-reader");
                if candidate.is_file() {
                    return candidate;
                }
            }
        }
        PathBuf::from("clerk-reader")
    }
}

/// How reading one document ended.
#[derive(Debug)]
pub enum Outcome {
    Read(Extracted),
    /// The document cannot be read: a sentence for the agent.
    Unreadable(String),
    /// The pool is stopping; the document was not read and should be read again later.
    Stopped,
    /// No reader could be started (a broken installation, not the document's fault).
    Failed(String),
    /// A page drawn for people (`Readers::render_file`).
    Image(super::protocol::PageImage),
    /// Pages cut out of a PDF or TIFF into a file of their own (`Readers::part_file`).
    Part(Vec<u8>),
}

/// What a reader is asked to do with a document.
#[derive(Debug, Clone)]
enum Ask {
    Read { barcodes_on_text_pages: bool },
    /// A page (from 1), turned clockwise by degrees.
    Render(u32, u32),
    Part(Vec<u32>),
}

const READ: Ask = Ask::Read { barcodes_on_text_pages: false };

/// A handle to the pool; cheap to clone.
#[derive(Clone)]
pub struct Readers {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced by `reconfigure` (settings reloaded); each read takes a snapshot.
    settings: std::sync::RwLock<ReaderSettings>,
    slots: Semaphore,
    idle: Mutex<Vec<Reader>>,
    stop: watch::Sender<bool>,
    /// Readers replaced after a crash, a limit or a deadline.
    restarts: AtomicU64,
}

struct Reader {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_done: tokio::task::JoinHandle<()>,
    documents: u32,
    idle_since: Instant,
}

impl Readers {
    /// A pool with no reader running yet. Call inside a tokio runtime (it starts the idle reaper).
    pub fn new(settings: ReaderSettings) -> Readers {
        let count = settings.count.max(1);
        let inner = Arc::new(Inner {
            settings: std::sync::RwLock::new(settings),
            slots: Semaphore::new(count),
            idle: Mutex::new(Vec::new()),
            stop: watch::channel(false).0,
            restarts: AtomicU64::new(0),
        });
        tokio::spawn(reap_idle(Arc::downgrade(&inner)));
        Readers { inner }
    }

    fn settings(&self) -> ReaderSettings {
        self.inner.settings.read().expect("reader settings lock").clone()
    }

    pub fn limits(&self) -> Limits {
        self.settings().limits
    }

    /// Readers at most at once (fixed until a restart).
    pub fn count(&self) -> usize {
        self.settings().count.max(1)
    }

    /// New settings (reloaded): documents read from now on get the new limits, languages and
    /// program; idle readers, started under the old ones, are stopped. The reader count is kept
    /// (true when it differs: it takes a restart).
    pub async fn reconfigure(&self, new: ReaderSettings) -> bool {
        let count_changed = new.count.max(1) != self.settings().count.max(1);
        let count = self.settings().count;
        *self.inner.settings.write().expect("reader settings lock") = ReaderSettings { count, ..new };
        let idle: Vec<Reader> = self.inner.idle.lock().expect("reader pool lock").drain(..).collect();
        for r in idle {
            r.kill().await;
        }
        count_changed
    }

    pub fn restarts(&self) -> u64 {
        self.inner.restarts.load(Ordering::Relaxed)
    }

    /// Reads one document held in memory.
    pub async fn read(&self, bytes: &[u8], name: &str) -> Outcome {
        let limits = self.limits();
        match super::precheck(bytes, bytes.len() as u64, name, &limits) {
            Err(e) => Outcome::Unreadable(e.0),
            Ok("text/plain") => plain_text(bytes),
            Ok(_) => self.read_in_reader(Body::Bytes(bytes), name, READ).await,
        }
    }

    /// Draws page `page` of a stored document as a PNG, turned clockwise by `turn` degrees, in a
    /// reader like every other parse of its bytes. `Err` is a sentence for the person looking.
    pub async fn render_file(&self, path: &Path, name: &str, page: u32, turn: u32) -> Result<super::protocol::PageImage, String> {
        match self.read_in_reader(Body::File(path), name, Ask::Render(page, turn)).await {
            Outcome::Image(image) => Ok(image),
            Outcome::Unreadable(reason) | Outcome::Failed(reason) => Err(reason),
            Outcome::Stopped => Err("clerk is stopping".into()),
            Outcome::Read(_) | Outcome::Part(_) => Err("the reader answered with something else than a page image".into()),
        }
    }

    /// A stored Office file (`media_type`, one LibreOffice lays out) as a PDF drawn by
    /// LibreOffice in a confined process of its own, taking a reader's slot while it runs. `Err`
    /// is a sentence for the person looking.
    pub async fn office_pdf(&self, path: &Path, media_type: &str) -> Result<Vec<u8>, String> {
        let mut stop = self.inner.stop.subscribe();
        let _permit = tokio::select! {
            p = self.inner.slots.acquire() => p.map_err(|_| "clerk is stopping".to_string())?,
            _ = stop.changed() => return Err("clerk is stopping".into()),
        };
        super::libreoffice::to_pdf(&self.settings(), path, media_type).await
    }

    /// Cuts `pages` (from 1, in this order) of a stored PDF or TIFF into a file of their own,
    /// of the same kind, their objects copied as they are (no image is decoded or encoded
    /// again). `Err` is a sentence.
    pub async fn part_file(&self, path: &Path, name: &str, pages: &[u32]) -> Result<Vec<u8>, String> {
        match self.read_in_reader(Body::File(path), name, Ask::Part(pages.to_vec())).await {
            Outcome::Part(pdf) => Ok(pdf),
            Outcome::Unreadable(reason) | Outcome::Failed(reason) => Err(reason),
            Outcome::Stopped => Err("clerk is stopping".into()),
            Outcome::Read(_) | Outcome::Image(_) => Err("the reader answered with something else than a PDF".into()),
        }
    }

    /// Reads a document as [`Readers::read_file`] does, with the barcodes of text-layer pages
    /// too (for splitting batches, whose rules look for them on every page).
    pub async fn read_file_with_barcodes(&self, path: &Path, name: &str) -> Outcome {
        self.read_file_asking(path, name, Ask::Read { barcodes_on_text_pages: true }).await
    }

    /// Reads one document from a file, which is streamed to the reader: the daemon never holds a
    /// large document in its own memory.
    pub async fn read_file(&self, path: &Path, name: &str) -> Outcome {
        self.read_file_asking(path, name, READ).await
    }

    async fn read_file_asking(&self, path: &Path, name: &str, ask: Ask) -> Outcome {
        let limits = self.limits();
        let failed = |e: std::io::Error| Outcome::Failed(format!("cannot read {}: {e}", path.display()));
        // Open, size and first bytes in one trip to the blocking pool (each trip is a thread
        // hand-off: three of them cost more than reading a small e-invoice).
        let owned = path.to_path_buf();
        let name_owned = name.to_string();
        let head = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, Vec<u8>, bool)> {
            use std::io::Read;
            let mut file = std::fs::File::open(owned)?;
            let size = file.metadata()?.len();
            let mut head = Vec::with_capacity(1024.min(size as usize));
            (&mut file).take(1024).read_to_end(&mut head)?;
            // A head that is nothing clerk knows may still be a PDF whose header comes later.
            let later = size > head.len() as u64
                && size <= limits.max_file_size
                && super::sniff(&head, &name_owned).is_none()
                && pdf_header_in(file, &head)?;
            Ok((size, head, later))
        })
        .await;
        let (size, head, later_pdf) = match head {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => return failed(e),
            Err(e) => return failed(std::io::Error::other(e)),
        };
        if later_pdf {
            return self.read_in_reader(Body::File(path), name, ask).await;
        }
        match super::precheck(&head, size, name, &limits) {
            Err(e) => Outcome::Unreadable(e.0),
            // Text needs the whole file to be told from junk; it is small or refused by size.
            Ok("text/plain") if size > head.len() as u64 => match tokio::fs::read(path).await {
                Ok(all) => self.read(&all, name).await,
                Err(e) => failed(e),
            },
            Ok("text/plain") => self.read(&head, name).await,
            Ok(_) => self.read_in_reader(Body::File(path), name, ask).await,
        }
    }

    async fn read_in_reader(&self, body: Body<'_>, name: &str, ask: Ask) -> Outcome {
        let settings = &self.settings();
        let limits = settings.limits;
        let mut stop = self.inner.stop.subscribe();
        if *stop.borrow() {
            return Outcome::Stopped;
        }
        let _permit = tokio::select! {
            p = self.inner.slots.acquire() => match p { Ok(p) => p, Err(_) => return Outcome::Stopped },
            _ = stop.changed() => return Outcome::Stopped,
        };
        let idle = self.inner.idle.lock().expect("reader pool lock").pop();
        // One that died while idle (killed from outside) must not take the blame for this document.
        let idle = idle.and_then(|mut r| match r.child.try_wait() {
            Ok(None) => Some(r),
            _ => {
                tracing::warn!("an idle reader had ended; starting a new one");
                None
            }
        });
        let mut reader = match idle {
            Some(r) => r,
            None => match spawn(settings).await {
                Ok(r) => r,
                Err(e) => {
                    return Outcome::Failed(format!("cannot start the reader {}: {e}", settings.program.display()))
                }
            },
        };
        reader.stderr.lock().expect("stderr tail").clear();
        let path = match &body {
            Body::File(path) => Some(path.to_path_buf()),
            Body::Bytes(_) => None,
        };
        let (render, turn, part, barcodes_on_text_pages) = match ask {
            Ask::Read { barcodes_on_text_pages } => (None, 0, None, barcodes_on_text_pages),
            Ask::Render(page, turn) => (Some(page), turn, None, false),
            Ask::Part(pages) => (None, 0, Some(pages), false),
        };
        let request = Request {
            name: name.to_string(),
            languages: settings.languages.clone(),
            limits,
            path,
            render,
            turn,
            part,
            barcodes_on_text_pages,
        };
        let deadline = Duration::from_secs(limits.max_seconds) + GRACE;
        enum End {
            Reply(std::io::Result<Reply>),
            Deadline,
            Stop,
        }
        let end = tokio::select! {
            r = tokio::time::timeout(deadline, exchange(&mut reader, &request, &body)) => match r {
                Ok(r) => End::Reply(r),
                Err(_) => End::Deadline,
            },
            _ = stop.changed() => End::Stop,
        };
        match end {
            End::Reply(Ok(reply)) => {
                reader.documents += 1;
                self.put_back(reader);
                match reply {
                    Reply::Read(x) => Outcome::Read(x),
                    Reply::Unreadable(reason) => Outcome::Unreadable(reason),
                    Reply::Image(image) => Outcome::Image(image),
                    Reply::Part(pdf) => Outcome::Part(pdf),
                }
            }
            End::Reply(Err(_)) => {
                self.inner.restarts.fetch_add(1, Ordering::Relaxed);
                let reason = reader.death_reason(&limits).await;
                tracing::warn!(file = name, reason, "a reader stopped on this document; it was replaced");
                Outcome::Unreadable(reason)
            }
            End::Deadline => {
                self.inner.restarts.fetch_add(1, Ordering::Relaxed);
                reader.kill().await;
                tracing::warn!(file = name, "a reader overran its time on this document; it was replaced");
                Outcome::Unreadable(over_time(&limits))
            }
            End::Stop => {
                reader.kill().await;
                Outcome::Stopped
            }
        }
    }

    /// Stops every reader now; documents being read come back as [`Outcome::Stopped`].
    pub async fn stop(&self) {
        let _ = self.inner.stop.send(true);
        self.inner.slots.close();
        let idle: Vec<Reader> = std::mem::take(&mut *self.inner.idle.lock().expect("reader pool lock"));
        for r in idle {
            r.kill().await;
        }
    }

    fn put_back(&self, reader: Reader) {
        let s = &self.settings();
        // A reader that grew large keeps that memory after the document; start a fresh one.
        let grown = reader.resident_bytes().is_some_and(|rss| rss > s.limits.max_memory / 2);
        if reader.documents >= s.max_documents || grown || *self.inner.stop.borrow() {
            tokio::spawn(reader.kill());
            return;
        }
        let mut reader = reader;
        reader.idle_since = Instant::now();
        self.inner.idle.lock().expect("reader pool lock").push(reader);
    }
}

/// What a reader is given: bytes in memory (sent through the pipe), or a file of a known size
/// (its path; the reader reads it).
enum Body<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Whether a PDF header stands in the rest of `file` (after `head`), read a mebibyte at a time.
fn pdf_header_in(mut file: std::fs::File, head: &[u8]) -> std::io::Result<bool> {
    use std::io::Read;
    // Each chunk starts with the last bytes of the one before, so a header across the seam is seen.
    const OVERLAP: usize = 8;
    let mut buf = head[head.len().saturating_sub(OVERLAP)..].to_vec();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            return Ok(false);
        }
        buf.extend_from_slice(&chunk[..n]);
        if super::pdf_header_later(&buf) {
            return Ok(true);
        }
        buf.drain(..buf.len().saturating_sub(OVERLAP));
    }
}

fn plain_text(bytes: &[u8]) -> Outcome {
    // Checked as UTF-8 already; nothing to parse.
    let text = String::from_utf8_lossy(bytes).into_owned();
    let page = super::Page { number: 1, text, ..Default::default() };
    Outcome::Read(Extracted { media_type: "text/plain".into(), pages: vec![page], einvoice: None, tables: vec![] })
}

async fn exchange(reader: &mut Reader, request: &Request, body: &Body<'_>) -> std::io::Result<Reply> {
    match body {
        Body::Bytes(bytes) => {
            reader.stdin.write_all(&protocol::encode_request_head(request, bytes.len() as u64)).await?;
            reader.stdin.write_all(bytes).await?;
        }
        // The reader opens the file itself.
        Body::File(..) => reader.stdin.write_all(&protocol::encode_request_head(request, 0)).await?,
    }
    reader.stdin.flush().await?;
    let mut len = [0u8; 8];
    reader.stdout.read_exact(&mut len).await?;
    let len = u64::from_le_bytes(len);
    if len > protocol::max_reply(&request.limits) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "reply too large"));
    }
    let mut body = vec![0; len as usize];
    reader.stdout.read_exact(&mut body).await?;
    protocol::decode_reply(&body)
}

/// Starts a reader and waits until it says it is ready.
async fn spawn(settings: &ReaderSettings) -> std::io::Result<Reader> {
    let mut cmd = Command::new(&settings.program);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Tesseract's OpenMP would spin threads on every core for each page; readers are the
        // parallelism. One malloc arena keeps the address space near what is really used.
        .env("OMP_THREAD_LIMIT", "1")
        .env("MALLOC_ARENA_MAX", "1")
        .kill_on_drop(true);
    confine(&mut cmd, vec![(libc::RLIMIT_AS, settings.limits.max_memory)]);
    let mut child = cmd.spawn()?;
    let stdin = child.stdin.take().expect("piped");
    // A document crosses the pipe in 1 MiB steps instead of 64 KiB ones: fewer switches between
    // the daemon and the reader (best effort; the kernel may allow less).
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a pipe this process owns.
        unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
    }
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let pid = child.id().unwrap_or(0);
    let stderr_done = tokio::spawn(collect_stderr(stderr, tail.clone(), pid));
    let mut reader =
        Reader { child, stdin, stdout, stderr: tail, stderr_done, documents: 0, idle_since: Instant::now() };
    let mut hello = [0u8; 8];
    let ready = tokio::time::timeout(Duration::from_secs(10), reader.stdout.read_exact(&mut hello)).await;
    if !matches!(ready, Ok(Ok(_))) || &hello != protocol::READY {
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut reader.stderr_done).await;
        let said: Vec<String> = reader.stderr.lock().expect("stderr tail").iter().cloned().collect();
        reader.kill().await;
        return Err(std::io::Error::other(format!(
            "it did not start as a clerk reader{}",
            if said.is_empty() { String::new() } else { format!(" ({})", said.join("; ")) }
        )));
    }
    tracing::debug!(pid, "reader started");
    Ok(reader)
}

/// What every process that parses a document gets before it starts: `limits` (resource, value),
/// no core file, a process group of its own (a Ctrl-C at the terminal reaches the daemon, which
/// stops its children itself; a deadline kills the whole group), and death with the daemon, even
/// after `kill -9`.
pub(super) fn confine(cmd: &mut Command, limits: Vec<(libc::__rlimit_resource_t, u64)>) {
    // SAFETY: only async-signal-safe calls (setrlimit, setpgid, prctl) between fork and exec;
    // `limits` was allocated before the fork and is only read.
    unsafe {
        cmd.pre_exec(move || {
            for &(resource, value) in &limits {
                limit(resource, value)?;
            }
            limit(libc::RLIMIT_CORE, 0)?;
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let l = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
    if unsafe { libc::setrlimit(resource, &l) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The reader's stderr (library warnings, its own messages) goes to the log at debug level; the
/// last lines are kept to tell an out-of-memory death from a crash.
async fn collect_stderr(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>, pid: u32) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(mut line)) = lines.next_line().await {
        tracing::debug!(target: "clerk::reader", pid, "{line}");
        if line.len() > 500 {
            let cut = (0..=500).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
            line.truncate(cut);
        }
        let mut t = tail.lock().expect("stderr tail");
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(line);
    }
}

impl Reader {
    async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    fn resident_bytes(&self) -> Option<u64> {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.child.id()?)).ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }

    /// What ended a reader that stopped answering, in words for the agent.
    async fn death_reason(mut self, limits: &Limits) -> String {
        let status = match tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => {
                let _ = self.child.start_kill();
                self.child.wait().await.ok()
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.stderr_done).await;
        let tail: Vec<String> = self.stderr.lock().expect("stderr tail").iter().cloned().collect();
        use std::os::unix::process::ExitStatusExt;
        let signal = status.and_then(|s| s.signal());
        tracing::debug!(?status, stderr = ?tail, "reader ended");
        if signal == Some(libc::SIGXCPU) {
            return over_time(limits);
        }
        if tail.iter().any(|l| mentions_memory(l)) {
            return format!(
                "clerk stopped reading this file: it needed more than {} of memory (limits.max_memory)",
                human_bytes(limits.max_memory)
            );
        }
        match (signal, status.and_then(|s| s.code())) {
            (Some(sig), _) => format!(
                "clerk stopped reading this file: the reader crashed on it ({}); the file is damaged or made to attack PDF readers",
                signal_name(sig)
            ),
            (None, Some(code)) => format!("clerk stopped reading this file: the reader ended unexpectedly on it (exit code {code})"),
            (None, None) => "clerk stopped reading this file: the reader ended unexpectedly on it".into(),
        }
    }
}

fn mentions_memory(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    ["out of memory", "memory allocation of", "bad_alloc", "cannot allocate memory"].iter().any(|m| l.contains(m))
}

fn over_time(limits: &Limits) -> String {
    format!("clerk stopped reading this file: it took more than {} s (limits.max_seconds)", limits.max_seconds)
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "segmentation fault".into(),
        libc::SIGABRT => "aborted".into(),
        libc::SIGBUS => "bus error".into(),
        libc::SIGFPE => "arithmetic error".into(),
        libc::SIGILL => "illegal instruction".into(),
        libc::SIGKILL => "killed".into(),
        libc::SIGSYS => "a forbidden system call".into(),
        n => format!("signal {n}"),
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            let v = n as f64 / size as f64;
            return if v.fract() == 0.0 { format!("{v:.0} {unit}") } else { format!("{v:.1} {unit}") };
        }
    }
    format!("{n} bytes")
}

/// Stops readers that have been idle longer than `idle_timeout`; ends with the pool.
async fn reap_idle(inner: Weak<Inner>) {
    loop {
        let pause = match inner.upgrade() {
            Some(i) => (i.settings.read().expect("reader settings lock").idle_timeout / 2).clamp(Duration::from_millis(100), Duration::from_secs(5)),
            None => return,
        };
        tokio::time::sleep(pause).await;
        let Some(inner) = inner.upgrade() else { return };
        let timeout = inner.settings.read().expect("reader settings lock").idle_timeout;
        let expired: Vec<Reader> = {
            let mut idle = inner.idle.lock().expect("reader pool lock");
            let (old, keep) = idle.drain(..).partition(|r: &Reader| r.idle_since.elapsed() >= timeout);
            *idle = keep;
            old
        };
        for r in expired {
            tracing::debug!(pid = r.child.id(), "reader idle; stopping it");
            r.kill().await;
        }
    }
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("settings", &self.settings()).finish()
    }
}

/// True when `path` names an executable reader (for a clear error at start-up).
pub fn program_exists(path: &Path) -> bool {
    path.is_file()
        || std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(path).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(human_bytes(300 << 20), "300 MiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }

    #[test]
    fn memory_deaths_are_told_from_crashes() {
        assert!(mentions_memory("memory allocation of 1099511627776 bytes failed"));
        assert!(mentions_memory("Out of memory"));
        assert!(mentions_memory("terminate called after throwing an instance of 'std::bad_alloc'"));
        assert!(!mentions_memory("Syntax Error: bad object"));
    }
}
