//! `cargo bench --bench runner` — the bot runner's figures for the README, each against a
//! baseline in the same run, all against the legacy-erp simulator on loopback:
//!   1. runner overhead per step: runs of a one-step bot (POST JSON with an Idempotency-Key, each
//!      run and step journaled) against the same requests sent by a bare reqwest loop with the
//!      same concurrency;
//!   2. end-to-end runs/s of a 3-step bot (SOAP lookup, condition, POST), against the bare loop
//!      sending the same two requests;
//!   3. resident memory of `clerk serve` idle and with 1,000 runs waiting on a slow endpoint.
//!
//! Pass section numbers to run only some: `cargo bench --bench runner -- 1`.

#[path = "erp.rs"]
mod erp;
#[path = "proc_status.rs"]
mod proc_status;

use clerk::runner::Runner;
use clerk::definitions;
use clerk::definitions::Active;
use clerk::store::{NewRun, Store};
use erp::{start_erp, Proc};
use proc_status::rss_kb;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 8;
/// Every bare request gets a key of its own, as every run's step does (a repeated key would be
/// answered from the ERP's idempotency cache without doing the work).
static KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |n: &str| args.is_empty() || args.iter().any(|a| a == n);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if run("1") {
        rt.block_on(overhead());
    }
    if run("2") {
        rt.block_on(three_steps());
    }
    if run("3") {
        memory();
    }
}

const ONE_STEP: &str = r#"bot: one-step
on: manual
concurrency: 8
steps:
  - id: post
    http: { post: "{{ env.ERP_URL }}/api/invoices", json: { number: "{{ run.id }}", total: "1.00" }, expect: [200, 201] }
"#;

const THREE_STEPS: &str = r#"bot: three-steps
on: manual
concurrency: 8
vars: { iban: DE89370400440532013000 }
steps:
  - id: vendor
    soap: { url: "{{ env.ERP_URL }}/soap", action: FindVendor, body: "<FindVendor><iban>{{ vars.iban }}</iban></FindVendor>", extract: { id: "//VendorId" } }
  - if: "{{ not steps.vendor.id }}"
    then:
      - escalate: "no vendor"
  - id: post
    http: { post: "{{ env.ERP_URL }}/api/invoices", json: { vendor: "{{ steps.vendor.id }}", number: "{{ run.id }}" }, expect: [200, 201] }
"#;

/// Queues `n` manual runs of `bot` in one transaction.
async fn enqueue(store: &Store, bot: &clerk::bots::Bot, n: usize) {
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

/// Queues `n` runs of the bot in `yaml` and times the runner through all of them.
async fn time_runner(yaml: &str, n: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let defs = dir.path().join("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("bot.yml"), yaml).unwrap();
    let loaded = definitions::load_dir(&defs, None);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let bot = loaded.definitions.bots()[0].clone();
    let store = Store::open(&dir.path().join("var")).await.unwrap();
    enqueue(&store, &bot, n).await;
    let active = Arc::new(RwLock::new(Active::new(loaded.definitions)));
    let runner = Runner::new(store.clone(), active, None, CONCURRENCY);
    let (stop, stop_rx) = clerk::shutdown::Shutdown::new();
    let start = Instant::now();
    let task = tokio::spawn(runner.run(stop_rx));
    loop {
        let counts = store.run_counts().await.unwrap();
        let finished: i64 = counts.iter().filter(|(s, _)| s != "queued" && s != "running").map(|(_, c)| c).sum();
        if finished as usize >= n {
            let failed: Vec<_> = counts.iter().filter(|(s, _)| s != "succeeded").collect();
            assert!(failed.is_empty(), "runs did not all succeed: {counts:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = start.elapsed();
    stop.stop();
    task.await.unwrap();
    took
}

/// The same requests from `CONCURRENCY` tasks with a plain client: `requests(client, i)` sends
/// request group `i`.
async fn time_bare<F, Fut>(n: usize, requests: F) -> Duration
where
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut tasks = vec![];
    for t in 0..CONCURRENCY {
        let (client, requests) = (client.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            for i in (t..n).step_by(CONCURRENCY) {
                requests(client.clone(), i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

async fn post_invoice(client: &reqwest::Client, url: &str, i: usize, body: serde_json::Value) {
    let r = client
        .post(format!("{url}/api/invoices"))
        .header("Idempotency-Key", format!("bare-{i}-{}", KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    r.bytes().await.unwrap();
}

async fn overhead() {
    // An ERP answering at once shows the runner's whole cost; one taking 10 ms per request (fast,
    // for a legacy system) shows what that cost means in practice.
    for slow_ms in [0, 10] {
        overhead_at(slow_ms).await;
    }
}

async fn overhead_at(slow_ms: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (_erp, url) = start_erp(dir.path(), &["--slow-ms", &slow_ms.to_string()]);
    std::env::set_var("ERP_URL", &url);
    let n = if slow_ms == 0 { 2000 } else { 400 };
    // Warm up both paths (connections, the database file), then measure each twice, interleaved.
    time_runner(ONE_STEP, 100).await;
    let bare = |u: String| {
        move |c: reqwest::Client, i: usize| {
            let u = u.clone();
            async move { post_invoice(&c, &u, i, serde_json::json!({ "number": i.to_string(), "total": "1.00" })).await }
        }
    };
    time_bare(100, bare(url.clone())).await;
    let mut best = (Duration::MAX, Duration::MAX);
    for _ in 0..2 {
        best.0 = best.0.min(time_bare(n, bare(url.clone())).await);
        best.1 = best.1.min(time_runner(ONE_STEP, n).await);
    }
    let (bare_rps, runner_rps) = (n as f64 / best.0.as_secs_f64(), n as f64 / best.1.as_secs_f64());
    println!("1. runner overhead, one-step bot, {n} runs, concurrency {CONCURRENCY}, ERP answering in {slow_ms} ms:");
    println!("   bare reqwest loop   {bare_rps:>7.0} requests/s");
    println!(
        "   clerk runner        {runner_rps:>7.0} runs/s = {:.2}x the bare loop ({:.0} µs of journal and templates per run)",
        runner_rps / bare_rps,
        (best.1.as_secs_f64() - best.0.as_secs_f64()) / n as f64 * 1e6
    );
}

async fn three_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (_erp, url) = start_erp(dir.path(), &[]);
    std::env::set_var("ERP_URL", &url);
    let n = 1000;
    time_runner(THREE_STEPS, 50).await;
    let bare = |u: String| {
        move |c: reqwest::Client, i: usize| {
            let u = u.clone();
            async move {
                let envelope =
                    clerk::bots::render::soap_envelope("<FindVendor><iban>DE89370400440532013000</iban></FindVendor>");
                let r = c
                    .post(format!("{u}/soap"))
                    .header("SOAPAction", "\"FindVendor\"")
                    .header("Content-Type", "text/xml; charset=utf-8")
                    .body(envelope)
                    .send()
                    .await
                    .unwrap();
                let text = r.text().await.unwrap();
                let vendor = text.split("<VendorId>").nth(1).and_then(|t| t.split('<').next()).unwrap().to_string();
                post_invoice(&c, &u, i, serde_json::json!({ "vendor": vendor, "number": i.to_string() })).await
            }
        }
    };
    time_bare(50, bare(url.clone())).await;
    let mut best = (Duration::MAX, Duration::MAX);
    for _ in 0..2 {
        best.0 = best.0.min(time_bare(n, bare(url.clone())).await);
        best.1 = best.1.min(time_runner(THREE_STEPS, n).await);
    }
    let (bare_rps, runner_rps) = (n as f64 / best.0.as_secs_f64(), n as f64 / best.1.as_secs_f64());
    println!("2. 3-step bot (SOAP lookup, condition, POST), {n} runs, concurrency {CONCURRENCY}:");
    println!("   bare reqwest loop   {bare_rps:>7.0} lookups+posts/s");
    println!("   clerk runner        {runner_rps:>7.0} runs/s = {:.2}x the bare loop", runner_rps / bare_rps);
}

fn memory() {
    let dir = tempfile::tempdir().unwrap();
    let (_erp, url) = start_erp(&dir.path().join("erp"), &["--slow-ms", "20000"]);
    let defs = dir.path().join("defs");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("bot.yml"), ONE_STEP.replace("concurrency: 8", "concurrency: 1000")).unwrap();
    let data = dir.path().join("var");
    let clerk = PathBuf::from(env!("CARGO_BIN_EXE_clerk"));
    let daemon = Command::new(&clerk)
        .args(["--data"])
        .arg(&data)
        .arg("--definitions")
        .arg(&defs)
        .args(["serve", "--inbox"])
        .arg(dir.path().join("inbox"))
        .env("ERP_URL", &url)
        .env("CLERK_MAX_RUNS", "1000")
        .env("CLERK_LOG", "warn")
        .env("CLERK_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Proc(daemon);
    let pid = daemon.0.id();
    std::thread::sleep(Duration::from_secs(3));
    let idle = rss_kb(pid);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let loaded = definitions::load_dir(&defs, None);
        let bot = loaded.definitions.bots()[0].clone();
        let store = Store::open(&data).await.unwrap();
        enqueue(&store, &bot, 1000).await;
        // All 1,000 claimed and waiting on the slow endpoint.
        loop {
            let counts = store.run_counts().await.unwrap();
            if counts.iter().any(|(s, c)| s == "running" && *c == 1000) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut peak = 0;
    for _ in 0..20 {
        peak = peak.max(rss_kb(pid));
        std::thread::sleep(Duration::from_millis(250));
    }
    println!("3. resident memory of clerk serve:");
    println!("   idle                               {:>6.1} MB", idle as f64 / 1024.0);
    println!(
        "   1,000 runs waiting on a slow ERP   {:>6.1} MB (+{:.1} KB per run)",
        peak as f64 / 1024.0,
        (peak.saturating_sub(idle)) as f64 / 1000.0
    );
}
