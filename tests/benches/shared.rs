//! `cargo bench --bench shared` — clerk on a shared PostgreSQL store, each figure against a
//! baseline in the same run (real `clerk serve` processes, the machine's PostgreSQL, the
//! legacy-erp simulator on loopback):
//!   1. one daemon on SQLite vs one on PostgreSQL: documents/s (400 distinct text documents
//!      dropped at once, until every one is classified; the median of 9 alternated rounds, with the CPU time per document),
//!      runs/s (1,000 one-step runs against the ERP answering at once; 3 rounds), and claim
//!      latency (in process: claiming one ready job);
//!   2. 1, 2 and 3 daemons on PostgreSQL against an ERP answering in 50 ms, each daemon running
//!      at most 8 runs at once: runs/s, against N × one daemon's (target ≥ 0.8·N);
//!   3. idle CPU over 30 s of a daemon on PostgreSQL (waiting on LISTEN) beside one on SQLite.
//!
//! Pass section numbers to run only some: `cargo bench --bench shared -- 1`; set
//! `CLERK_BENCH_BIN` to measure another build's `clerk` (a baseline) with the same bench. The PostgreSQL
//! server is `CLERK_TEST_POSTGRES` (default postgres://postgres@127.0.0.1:5432/test); each
//! measurement gets a database of its own, dropped after.

#[path = "erp.rs"]
mod erp;
#[path = "proc_status.rs"]
mod proc_status;

use clerk::store::{Location, NewDocument, NewRun, Store};
use erp::{start_erp, Proc};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ONE_STEP: &str = r#"bot: one-step
on: manual
concurrency: 64
steps:
  - id: post
    http: { post: "{{ env.ERP_URL }}/api/invoices", json: { number: "{{ run.id }}", total: "1.00" }, expect: [200, 201] }
"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |n: &str| args.is_empty() || args.iter().any(|a| a == n);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if run("1") {
        rt.block_on(backends());
    }
    if run("2") {
        rt.block_on(scaling());
    }
    if run("3") {
        idle();
    }
}

fn server() -> String {
    std::env::var("CLERK_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn psql(sql: &str) {
    let ok = Command::new("psql").args([&server(), "-qAtX", "-c", sql]).stdout(Stdio::null()).status().unwrap();
    assert!(ok.success(), "psql {sql}");
}

/// A fresh PostgreSQL database, dropped with the value.
struct Database {
    name: String,
    url: String,
}
impl Database {
    fn create(tag: &str) -> Database {
        let name = format!("clerk_bench_{tag}_{}", std::process::id());
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        psql(&format!("CREATE DATABASE {name}"));
        let base = server();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        Database { name, url }
    }
}
impl Drop for Database {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn erp_answering_in(dir: &Path, slow_ms: u64) -> (Proc, String) {
    start_erp(dir, &["--slow-ms", &slow_ms.to_string()])
}

/// The `clerk` this bench starts: this build's, or `CLERK_BENCH_BIN` (to measure another build
/// against this one in the same script).
fn clerk_binary() -> String {
    std::env::var("CLERK_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_clerk").to_string())
}

/// One `clerk serve` on folders of its own, storing at `store` (None: SQLite in its folder).
struct Node {
    dir: tempfile::TempDir,
    proc: Proc,
}

impl Node {
    fn start(store: Option<&str>, definitions: &Path, erp: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        let log = std::fs::File::create(dir.path().join("clerk.log")).unwrap();
        let mut cmd = Command::new(clerk_binary());
        cmd.args(["serve", "--definitions"])
            .arg(definitions)
            .current_dir(dir.path())
            .env("CLERK_LOG", "warn,clerk::daemon=info")
            .env("CLERK_LISTEN", "127.0.0.1:0")
            .env("CLERK_MAX_RUNS", std::env::var("BENCH_MAX_RUNS").unwrap_or("8".into()))
            .env("ERP_URL", erp)
            .stderr(log);
        if let Some(url) = store {
            cmd.env("CLERK_STORE", url);
        }
        let node = Node { proc: Proc(cmd.spawn().unwrap()), dir };
        let start = Instant::now();
        while !std::fs::read_to_string(node.dir.path().join("clerk.log")).unwrap_or_default().contains("clerk is running") {
            assert!(start.elapsed() < Duration::from_secs(30), "clerk serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }
    fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }
    fn location(&self, store: Option<&str>) -> Location {
        Location { url: store.map(str::to_string), data: self.dir.path().join("var"), blobs: None }
    }
    fn cpu_seconds(&self) -> f64 {
        proc_status::cpu_seconds(self.proc.0.id())
    }
}

fn definitions() -> (tempfile::TempDir, std::sync::Arc<clerk::bots::Bot>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one-step.yml"), ONE_STEP).unwrap();
    let loaded = clerk::definitions::load_dir(dir.path(), None);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let bot = loaded.definitions.bots()[0].clone();
    (dir, bot)
}

async fn queue_runs(store: &Store, bot: &clerk::bots::Bot, n: usize) {
    let run = NewRun {
        bot: &bot.name,
        version: &bot.version,
        concurrency: bot.concurrency,
        document_id: None,
        trigger: "manual",
        dedupe_key: None,
        by: None,
    };
    let runs: Vec<NewRun> = (0..n).map(|_| run.clone()).collect();
    store.queue_runs(&runs).await.unwrap();
}

/// Waits until `n` runs have ended; all must have succeeded.
async fn runs_done(store: &Store, n: usize) {
    loop {
        let counts = store.run_counts().await.unwrap();
        let ended: i64 = counts.iter().filter(|(s, _)| s != "queued" && s != "running").map(|(_, c)| c).sum();
        if ended as usize >= n {
            assert!(counts.iter().all(|(s, _)| s == "succeeded"), "runs did not all succeed: {counts:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How fast one daemon went, and the CPU time the whole machine spent per item meanwhile (the
/// daemon, its database server, its readers): the steadier figure of the two where the
/// machine's pace moves from run to run.
#[derive(Clone, Copy)]
struct Pace {
    per_s: f64,
    cpu_ms: f64,
}

/// The machine's busy and total CPU time so far, in jiffies (`/proc/stat`).
fn cpu_jiffies() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let v: Vec<f64> = stat.lines().next().unwrap().split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
    let idle = v[3] + v[4];
    (v.iter().sum::<f64>() - idle, v.iter().sum())
}

/// Times `work` over `n` items: items/s and CPU ms per item.
async fn pace(n: usize, work: impl std::future::Future<Output = ()>) -> Pace {
    let jiffy_ms = 1000.0 / 100.0; // USER_HZ
    let (busy0, _) = cpu_jiffies();
    let start = Instant::now();
    work.await;
    let secs = start.elapsed().as_secs_f64();
    let (busy1, _) = cpu_jiffies();
    Pace { per_s: n as f64 / secs, cpu_ms: (busy1 - busy0) * jiffy_ms / n as f64 }
}

/// One fresh daemon on `store`: `n` distinct small texts, written whole and renamed into its
/// inbox at once, until every one is classified.
async fn documents(store: Option<&str>, erp: &str, n: usize) -> Pace {
    let (defs, _) = definitions();
    let node = Node::start(store, defs.path(), erp);
    let db = Store::open_at(&node.location(store)).await.unwrap();
    let staging = node.dir.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for i in 0..n {
        std::fs::write(staging.join(format!("note-{i}.txt")), format!("Delivery note {i}\nOrder {}\n", 50_000 + i)).unwrap();
    }
    pace(n, async {
        for i in 0..n {
            let name = format!("note-{i}.txt");
            std::fs::rename(staging.join(&name), node.inbox().join(&name)).unwrap();
        }
        loop {
            let counts = db.count_by_status().await.unwrap();
            let total: i64 = counts.values().sum();
            let busy = counts.get("received").copied().unwrap_or(0) + counts.get("extracted").copied().unwrap_or(0);
            if total >= n as i64 && busy == 0 {
                break;
            }
            // Looked at lightly: on PostgreSQL the look costs the machine's CPU too.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await
}

/// One fresh daemon on `store`: `n` one-step runs queued at once, the ERP answering at once.
async fn runs(store: Option<&str>, erp: &str, n: usize) -> Pace {
    let (defs, bot) = definitions();
    let node = Node::start(store, defs.path(), erp);
    let db = Store::open_at(&node.location(store)).await.unwrap();
    pace(n, async {
        queue_runs(&db, &bot, n).await;
        runs_done(&db, n).await;
    })
    .await
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// "median (lowest–highest)".
fn summary(v: &[f64], digits: usize) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.digits$} ({lo:.digits$}–{hi:.digits$})", median(v.to_vec()))
}

/// `rounds` paired measurements, SQLite then PostgreSQL (a fresh database each) in each round,
/// so a slow spell of the machine weighs on both alike; prints the table rows: the pace, each
/// round's ratio, and CPU per item.
async fn alternated<F, Fut>(rounds: usize, what: &str, item: &str, measure: F)
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Pace>,
{
    let (mut sqlite, mut pg) = (vec![], vec![]);
    for round in 0..rounds {
        sqlite.push(measure(None).await);
        let db = Database::create(&format!("one{round}"));
        pg.push(measure(Some(db.url.clone())).await);
    }
    let per_s = |v: &[Pace]| v.iter().map(|p| p.per_s).collect::<Vec<_>>();
    let cpu = |v: &[Pace]| v.iter().map(|p| p.cpu_ms).collect::<Vec<_>>();
    let ratio = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).map(|(a, b)| b / a).collect::<Vec<_>>();
    println!(
        "| {what}/s ({rounds} rounds) | {} | {} | **{}×** |",
        summary(&per_s(&sqlite), 0),
        summary(&per_s(&pg), 0),
        summary(&ratio(per_s(&sqlite), per_s(&pg)), 2)
    );
    println!(
        "| … CPU per {item}, the whole machine | {} ms | {} ms | {}× |",
        summary(&cpu(&sqlite), 2),
        summary(&cpu(&pg), 2),
        summary(&ratio(cpu(&sqlite), cpu(&pg)), 2)
    );
}

/// p50 and p95 of claiming one ready job (the daemon's own claim, in process), in ms.
async fn claim_latency(store: Option<&str>) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let at = Location { url: store.map(str::to_string), data: dir.path().to_path_buf(), blobs: None };
    let db = Store::open_at(&at).await.unwrap();
    let n = 500;
    for i in 0..n {
        let doc = NewDocument {
            source: "bench".into(),
            original_name: format!("{i}.txt"),
            original_path: format!("/bench/{i}.txt"),
            intake_key: format!("bench|{i}"),
            sha256: format!("{i:064x}"),
            size: 1,
            media_type: Some("text/plain".into()),
        };
        db.record_intake(&doc).await.unwrap();
    }
    let mut took = vec![];
    for i in 0..n {
        let start = Instant::now();
        let job = db.claim(&format!("bench/{i}"), 60_000).await.unwrap();
        took.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(job.is_some());
    }
    took.sort_by(f64::total_cmp);
    (took[n / 2], took[n * 95 / 100])
}

/// Rounds of each measure of section 1: one daemon's pace moves by a fifth from run to run on
/// this machine, so one round's ratio says little and the median of several says it.
const ROUNDS: usize = 9;

async fn backends() {
    let erp_dir = tempfile::tempdir().unwrap();
    let (_erp, erp) = erp_answering_in(erp_dir.path(), 0);
    println!("## 1. one daemon: SQLite vs PostgreSQL (alternated rounds: median (lowest–highest))\n");
    println!("| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---|---|---|");
    let erp = &erp;
    let what = "documents (400 texts dropped at once, until classified)";
    alternated(ROUNDS, what, "document", |url| async move { documents(url.as_deref(), erp, 400).await }).await;
    let what = "runs (1,000 one-step runs, ERP answering at once)";
    alternated(3, what, "run", |url| async move { runs(url.as_deref(), erp, 1000).await }).await;
    let (s50, s95) = claim_latency(None).await;
    let pg = Database::create("claim");
    let (p50, p95) = claim_latency(Some(&pg.url)).await;
    println!("| claim latency, one ready job, p50 / p95 | {s50:.2} / {s95:.2} ms | {p50:.2} / {p95:.2} ms | {:.2}× |", p50 / s50);
    println!();
}

async fn scaling() {
    let erp_dir = tempfile::tempdir().unwrap();
    let (_erp, erp) = erp_answering_in(erp_dir.path(), 50);
    let (defs, bot) = definitions();
    println!("## 2. daemons on one PostgreSQL, ERP answering in 50 ms, 8 runs at once per daemon\n");
    println!("| daemons | runs/s | against N × one daemon | target |\n|---|---|---|---|");
    let mut one = 0.0;
    for n in 1..=3 {
        let pg = Database::create(&format!("scale{n}"));
        let nodes: Vec<Node> = (0..n).map(|_| Node::start(Some(&pg.url), defs.path(), &erp)).collect();
        let db = Store::open_at(&nodes[0].location(Some(&pg.url))).await.unwrap();
        let runs = 600 * n;
        let start = Instant::now();
        queue_runs(&db, &bot, runs).await;
        runs_done(&db, runs).await;
        let per_s = runs as f64 / start.elapsed().as_secs_f64();
        if n == 1 {
            one = per_s;
        }
        let ratio = per_s / (one * n as f64);
        println!("| {n} | {per_s:.0} | {ratio:.2}× | ≥ 0.80× |");
        drop(nodes);
    }
    println!();
}

fn idle() {
    let erp_dir = tempfile::tempdir().unwrap();
    let (_erp, erp) = erp_answering_in(erp_dir.path(), 0);
    let (defs, _) = definitions();
    let pg = Database::create("idle");
    let on_pg = Node::start(Some(&pg.url), defs.path(), &erp);
    let on_sqlite = Node::start(None, defs.path(), &erp);
    std::thread::sleep(Duration::from_secs(2));
    let (pg0, sqlite0, t0) = (on_pg.cpu_seconds(), on_sqlite.cpu_seconds(), Instant::now());
    std::thread::sleep(Duration::from_secs(30));
    let secs = t0.elapsed().as_secs_f64();
    let pct = |cpu: f64| cpu / secs * 100.0;
    println!("## 3. idle daemons, 30 s\n");
    println!("| store | CPU |\n|---|---|");
    println!("| PostgreSQL (waiting on LISTEN) | {:.2}% of one core |", pct(on_pg.cpu_seconds() - pg0));
    println!("| SQLite | {:.2}% of one core |", pct(on_sqlite.cpu_seconds() - sqlite0));
    println!();
}

