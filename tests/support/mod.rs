//! Shared test harness: a real `clerk serve` on temporary folders, driven through its CLI.
#![allow(dead_code)]

pub mod api;
pub mod dovecot;
pub mod erp;
pub mod webdriver;
pub mod hostile;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const CLERK: &str = env!("CARGO_BIN_EXE_clerk");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    repo().join("samples").join(name)
}

/// `../shared/corpora/pdf-samples`, the real-world PDFs read in place.
pub fn pdf_samples(test: &str) -> Option<PathBuf> {
    corpus(test, "pdf-samples")
}

/// `../shared/corpora/NAME`, read in place. A fresh clone elsewhere has no `../shared`: the test
/// that needs it says it is skipped, except under CI (`CI=true`), where a missing corpus is a
/// failure.
pub fn corpus(test: &str, name: &str) -> Option<PathBuf> {
    let dir = repo().join("../shared/corpora").join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {} is missing, and CI must run this test", dir.display());
    }
    eprintln!("skipped {test}: {} is absent (it is not part of the repository)", dir.display());
    None
}

/// A pinned Python tool's venv (tests/support/venv.sh NAME REQUIREMENTS), built once.
pub fn venv(name: &str, requirements: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("tests/support/venv.sh"))
        .arg(name)
        .arg(repo().join(requirements))
        .output()
        .unwrap();
    assert!(out.status.success(), "venv {name}: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// `clerk classify --json` on the definitions in `definitions`, run in `dir` (where a clerk.toml
/// may set limits): one answer per file.
pub fn classify_json(definitions: &Path, dir: &Path, files: &[PathBuf]) -> Vec<Value> {
    let out = Command::new(CLERK)
        .args(["classify", "--json", "--definitions"])
        .arg(definitions)
        .args(files)
        .current_dir(dir)
        .env("CLERK_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every file under `dir` whose name ends in `ext`, sorted.
pub fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The PostgreSQL server the tests use (`tests/run.sh` sets it; the machine's by default).
pub fn postgres_url() -> String {
    std::env::var("CLERK_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// With `CLERK_TEST_STORE=postgres` (the second pass of `tests/run.sh`) every daemon stores in
/// a PostgreSQL database of its own instead of SQLite in its data folder.
pub fn on_postgres() -> bool {
    std::env::var("CLERK_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// A fresh, empty PostgreSQL database on the test server, dropped with the value.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("clerk_t{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        psql(&format!("CREATE DATABASE {name}"));
        let base = postgres_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').expect("a database in CLERK_TEST_POSTGRES")]);
        TestDatabase { url, name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

impl TestDatabase {
    /// Runs one statement in this database: its rows, one per line, columns split by `|`.
    pub fn query(&self, sql: &str) -> String {
        psql_at(&self.url, sql)
    }
}

/// Runs one statement on the test server's own database.
pub fn psql(sql: &str) -> String {
    psql_at(&postgres_url(), sql)
}

fn psql_at(url: &str, sql: &str) -> String {
    let out = Command::new("psql").args([url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql]).output().expect("psql");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub inbox: PathBuf,
    pub data: PathBuf,
    pub definitions: PathBuf,
    /// Environment for the daemon and for `clerk` commands (ERP_URL, CLERK_SECRET_…).
    pub env: Vec<(String, String)>,
    child: Option<Child>,
    /// The PostgreSQL store's URL (`None`: SQLite in `data`).
    pub store: Option<String>,
    /// The daemon's own PostgreSQL database, when the suite runs on PostgreSQL (dropped last).
    pub database: Option<TestDatabase>,
}

impl Daemon {
    /// A daemon over fresh folders, with the bundled definitions copied in and `extra_settings`
    /// appended to its clerk.toml.
    pub fn start_with(extra_settings: &str) -> Daemon {
        let mut d = Daemon::new(extra_settings);
        d.spawn();
        d
    }

    /// Like `start_with`, without starting: set `env` or change definitions first, then `spawn`.
    pub fn new(extra_settings: &str) -> Daemon {
        let database = on_postgres().then(TestDatabase::create);
        let store = database.as_ref().map(|db| db.url.clone());
        let mut d = Daemon::over(store.as_deref(), None, extra_settings);
        d.database = database;
        d
    }

    /// A daemon of several sharing one PostgreSQL store (`url`) and one inbox folder.
    pub fn sharing(url: &str, inbox: &Path, extra_settings: &str) -> Daemon {
        Daemon::over(Some(url), Some(inbox), extra_settings)
    }

    /// Fresh folders; the store at `url` (default SQLite in the data folder); the inbox `inbox`
    /// (default a fresh one).
    fn over(url: Option<&str>, inbox: Option<&Path>, extra_settings: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let definitions = dir.path().join("definitions");
        std::fs::create_dir_all(&definitions).unwrap();
        for e in std::fs::read_dir(repo().join("bots")).unwrap().flatten() {
            // Not the bundled scheduled bots (the nightly report runs at 02:00): a test daemon
            // running at their hour would get a run, and an item, that no test asked for.
            if std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("schedule:")) {
                continue;
            }
            std::fs::copy(e.path(), definitions.join(e.file_name())).unwrap();
        }
        let settings = format!(
            "data = 'var'\ndefinitions = 'definitions'\ninbox = ['inbox']\n[intake]\nstable_delay = '300ms'\nrescan_interval = '1s'\npoll_interval = '100ms'\n{extra_settings}"
        );
        let settings = if extra_settings.contains("[intake]") {
            // The extra block replaces the default intake section.
            format!("data = 'var'\ndefinitions = 'definitions'\ninbox = ['inbox']\n{extra_settings}")
        } else {
            settings
        };
        let inbox = inbox.map(Path::to_path_buf).unwrap_or_else(|| dir.path().join("inbox"));
        let settings = settings.replace("inbox = ['inbox']", &format!("inbox = ['{}']", inbox.display()));
        let settings = match url {
            Some(url) => format!("store = '{url}'\n{settings}"),
            None => settings,
        };
        std::fs::write(dir.path().join("clerk.toml"), settings).unwrap();
        let d = Daemon {
            store: url.map(str::to_string),
            database: None,
            inbox,
            data: dir.path().join("var"),
            definitions,
            dir,
            env: vec![],
            child: None,
        };
        std::fs::create_dir_all(&d.inbox).unwrap();
        // As the package's first start does: commands never make a store themselves.
        let out = d.clerk(&["init"]);
        assert!(out.status.success(), "clerk init: {}", String::from_utf8_lossy(&out.stderr));
        d
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Daemon {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn start() -> Daemon {
        Daemon::start_with("")
    }

    pub fn spawn(&mut self) {
        self.spawn_again();
        // Ready when the store exists and the inbox watch is set up.
        self.wait_until("the daemon to start", Duration::from_secs(30), |d| d.log().contains("clerk is running"));
    }

    /// Starts the daemon (again, after a kill) without waiting for it: it may not start at all
    /// while its store is down.
    pub fn spawn_again(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap();
        let child = Command::new(CLERK)
            .arg("serve")
            .current_dir(self.dir.path())
            .env("CLERK_LOG", "info,clerk=debug,sqlx=warn,lopdf=error")
            // Tests run daemons side by side: each on a free port (see `http`).
            .env("CLERK_LISTEN", "127.0.0.1:0")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting clerk serve");
        self.child = Some(child);
    }

    /// The base URL of the running daemon's HTTP listener, as its log announced it.
    pub fn http(&self) -> String {
        let log = self.log();
        let at = log.rfind("on http://").expect("the daemon announced its HTTP listener");
        let addr: String = log[at + 3..].chars().take_while(|c| !c.is_whitespace() && *c != '"').collect();
        addr
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("clerk.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the daemon abruptly, as a crash or `kill -9` would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Stops the daemon with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("daemon running");
        Command::new("kill").arg("-TERM").arg(c.id().to_string()).status().unwrap();
        c.wait().unwrap()
    }

    /// The daemon's process id (it must not change: the daemon never restarts).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Where this daemon's store is, to open it from a test.
    pub fn store_location(&self) -> clerk::store::Location {
        clerk::store::Location { url: self.store.clone(), data: self.data.clone(), blobs: None }
    }

    /// Runs a `clerk` command against this daemon's store.
    pub fn clerk(&self, args: &[&str]) -> Output {
        Command::new(CLERK)
            .args(args)
            .current_dir(self.dir.path())
            .env("CLERK_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    /// Runs a `clerk` command with `input` on its stdin.
    pub fn clerk_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(CLERK)
            .args(args)
            .current_dir(self.dir.path())
            .env("CLERK_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Adds a user with `role` and `password` and returns an API token of theirs.
    pub fn user_with_token(&self, name: &str, role: &str, password: &str) -> String {
        let out = self.clerk_with_stdin(&["users", "add", name, "--role", role, "--password-stdin"], password);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = self.clerk(&["tokens", "create", name]);
        String::from_utf8_lossy(&out.stdout).split_whitespace().find(|w| w.starts_with("clerk_")).expect("a token").to_string()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.clerk(args);
        assert!(out.status.success(), "clerk {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("clerk {args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Whether the daemon has made its store yet (commands refuse to make one).
    pub fn has_store(&self) -> bool {
        match &self.store {
            Some(_) => self.log().contains("clerk is running"),
            None => self.data.join("clerk.db").exists(),
        }
    }

    /// Everything the store holds, as bytes: the SQLite files, or a dump of the database.
    pub fn store_bytes(&self) -> Vec<u8> {
        match &self.store {
            Some(url) => Command::new("pg_dump").args(["--data-only", url]).output().expect("pg_dump").stdout,
            None => ["clerk.db", "clerk.db-wal"]
                .iter()
                .flat_map(|f| std::fs::read(self.data.join(f)).unwrap_or_default())
                .collect(),
        }
    }

    pub fn documents(&self) -> Vec<Value> {
        if !self.has_store() {
            return vec![];
        }
        self.json(&["documents", "list", "--json"]).as_array().unwrap().clone()
    }

    pub fn document(&self, id: i64) -> Value {
        self.json(&["documents", "show", &id.to_string(), "--json"])
    }

    /// Every item, whatever its state (the command's default is the open ones).
    pub fn exceptions(&self) -> Vec<Value> {
        self.json(&["exceptions", "list", "--state", "all", "--json"]).as_array().unwrap().clone()
    }

    /// Copies a file into the inbox the way most programs write: create, write, close.
    pub fn drop_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.inbox.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn drop_sample(&self, name: &str) -> PathBuf {
        let bytes = std::fs::read(sample(name)).unwrap();
        let file_name = Path::new(name).file_name().unwrap().to_str().unwrap();
        self.drop_file(file_name, &bytes)
    }

    pub fn wait_until(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}\n--- daemon log ---\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `n` documents exist and none is still in progress; returns them.
    pub fn wait_settled(&self, n: usize) -> Vec<Value> {
        let mut docs = vec![];
        self.wait_until(&format!("{n} settled documents"), Duration::from_secs(120), |d| {
            docs = d.documents();
            docs.len() >= n && docs.iter().all(|doc| !matches!(doc["status"].as_str(), Some("received" | "extracted")))
        });
        docs
    }

    /// The settled document whose original name is `name`.
    pub fn by_name(&self, name: &str) -> Value {
        let docs = self.documents();
        let summary = docs
            .iter()
            .find(|d| d["original_name"] == name)
            .unwrap_or_else(|| panic!("no document named {name}: {docs:?}"));
        self.document(summary["id"].as_i64().unwrap())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Base64 in 76-character lines, as MIME has it.
pub fn base64(bytes: &[u8]) -> String {
    let b = clerk::bots::redact::base64(bytes);
    b.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n")
}

/// A multipart message with a text body and attachments (name, content type, bytes).
pub fn message(from: &str, subject: &str, body: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: ap@clerk.example\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    );
    for (name, ctype, bytes) in attachments {
        m.push_str(&format!(
            "--XX\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(bytes)
        ));
    }
    m.push_str("--XX--\r\n");
    m.into_bytes()
}

impl Daemon {
    /// The item page of exception item `item` as an agent sees it (an agent `agent-for-pages` is
    /// added on first use and signed in).
    pub fn item_page(&self, item: &Value) -> String {
        let (name, password) = ("agent-for-pages", "pw-agent-for-pages-1");
        let _ = self.clerk_with_stdin(&["users", "add", name, "--role", "agent", "--password-stdin"], password);
        let addr = self.http().trim_start_matches("http://").to_string();
        let signed =
            api::call(&addr, "POST", "/api/v1/session", &[], Some(&serde_json::json!({"name": name, "password": password})));
        assert_eq!(signed.status, 200, "{signed:?}");
        let cookie = signed.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
        let page = api::call(&addr, "GET", &format!("/items/{}", item["id"]), &[("Cookie", &cookie)], None);
        assert_eq!(page.status, 200, "{page:?}");
        page.body
    }
}
