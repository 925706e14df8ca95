//! Shared by the benchmarks: a real `clerk serve` on a temporary folder.
#![allow(dead_code)]

use super::proc_status;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: std::process::Child,
}

impl Daemon {
    /// `clerk serve` in `dir` (inbox `dir/inbox`, data `dir/var`) on the definitions in `definitions`.
    pub fn start(dir: tempfile::TempDir, definitions: &Path) -> Daemon {
        Daemon::start_on(dir, definitions, "127.0.0.1:0")
    }
    /// The same, its HTTP listener on `listen`.
    pub fn start_on(dir: tempfile::TempDir, definitions: &Path, listen: &str) -> Daemon {
        let log = std::fs::File::create(dir.path().join("clerk.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_clerk"))
            .args(["serve", "--definitions"])
            .arg(definitions)
            .current_dir(dir.path())
            .env("CLERK_LOG", "warn")
            .env("CLERK_LISTEN", listen)
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Daemon { dir, child };
        let start = Instant::now();
        while !d.dir.path().join("var/clerk.db").exists() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(500));
        d
    }
    /// A token of a new agent, for the API and the pages.
    pub fn agent_token(&self) -> String {
        let clerk = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_clerk")).args(args).current_dir(self.dir.path()).output().unwrap();
            assert!(out.status.success(), "clerk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        clerk(&["users", "add", "bench", "--role", "agent"]);
        let out = clerk(&["tokens", "create", "bench"]);
        out.split_whitespace().find(|w| w.starts_with("clerk_")).expect("a token").to_string()
    }
    pub fn rss_kb(&self) -> u64 {
        proc_status::rss_kb(self.child.id())
    }
    pub fn cpu_seconds(&self) -> f64 {
        proc_status::cpu_seconds(self.child.id())
    }
    pub fn query(&self, sql: &str) -> String {
        self.on_store(true, |pool| async move {
            let v: Option<String> = sqlx::query_scalar(sql).fetch_optional(&pool).await.unwrap().flatten();
            v.unwrap_or_default()
        })
    }
    /// Changes the store under the running daemon (to set up a state quicker than the pipeline).
    pub fn execute(&self, sql: &str) {
        self.on_store(false, |pool| async move {
            sqlx::query(sql).execute(&pool).await.unwrap();
        })
    }
    // sqlite3 may not be installed; reach the store through sqlx instead.
    fn on_store<T, F: std::future::Future<Output = T>>(&self, read_only: bool, work: impl FnOnce(sqlx::SqlitePool) -> F) -> T {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(self.dir.path().join("var/clerk.db"))
                .read_only(read_only)
                .busy_timeout(Duration::from_secs(30));
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            let out = work(pool.clone()).await;
            pool.close().await;
            out
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
