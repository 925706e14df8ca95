//! `cargo bench --bench pipeline` — the figures the README reports, each as a ratio against a
//! baseline measured in the same run:
//!   1. extract + classify throughput of text PDFs on one core with 1, 50 and 200 document types
//!      (baseline: 1 type);
//!   2. OCR time per page against the `tesseract` command on the same image, and the speed-up
//!      when several scans wait (both cores busy);
//!   3. drop → classified latency through a running daemon, p50/p95;
//!   4. resident memory of the daemon, idle and with 10,000 documents waiting; its idle CPU;
//!   5. a `/metrics` scrape (it counts overdue items), the queue page and an item page with
//!      50,000 items in the exception queue (baseline: the same daemon with 10).
//!
//! Pass section numbers to run only some: `cargo bench --bench pipeline -- 1 3`.

#[path = "daemon.rs"]
mod daemon;
#[path = "proc_status.rs"]
mod proc_status;
use daemon::Daemon;

use clerk::definitions;
use clerk::read::pool::{Outcome, ReaderSettings, Readers};
use clerk::read::{Extracted, Limits};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("samples").join(name)).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |n: &str| args.is_empty() || args.iter().any(|a| a == n);
    if run("1") {
        throughput();
    }
    if run("2") {
        ocr();
    }
    if run("3") {
        latency();
    }
    if run("4") {
        memory();
    }
    if run("5") {
        scrape();
    }
}

/// `n` document types: the bundled three plus synthetic per-vendor invoice types, each with four
/// fields, the way a real deployment grows one type per supplier.
fn write_types(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for name in ["invoice.yml", "credit-note.yml", "delivery-note.yml"].iter().take(n) {
        std::fs::copy(repo().join("bots").join(name), dir.join(name)).unwrap();
    }
    for i in 3..n {
        let yaml = format!(
            "doctype: vendor-{i}\npriority: 20\nmatch:\n  all: ['vendor {i} (?:ltd|gmbh|inc)', 'invoice']\n  any: ['total due', 'amount due']\n  none: ['credit note']\n\
             fields:\n  invoice_number: {{ regex: 'Invoice (?:No|Number)[.:#]*\\s*(\\S+)', required: true }}\n  date: {{ regex: 'Date:\\s*(.+?)\\s*$', type: date }}\n\
             \x20 total: {{ regex: 'Total Due:\\s*(?:[A-Z]{{3}}\\s+)?(\\S.*?)\\s*$', type: amount, required: true }}\n  iban: {{ regex: 'IBAN\\s*([A-Z]{{2}}[0-9]{{2}}[A-Z0-9 ]{{10,40}})', type: iban }}\n"
        );
        std::fs::write(dir.join(format!("vendor-{i}.yml")), yaml).unwrap();
    }
}

/// One reader process, as the daemon runs them (the reader sets OMP_THREAD_LIMIT=1 for tesseract).
fn one_reader(rt: &tokio::runtime::Runtime) -> Readers {
    let _guard = rt.enter();
    Readers::new(reader_settings(1))
}

fn reader_settings(count: usize) -> ReaderSettings {
    ReaderSettings {
        program: ReaderSettings::find_program(),
        count,
        idle_timeout: Duration::from_secs(600),
        max_documents: u32::MAX,
        languages: "eng".into(),
        limits: Limits::default(),
        libreoffice: None,
    }
}

fn read(rt: &tokio::runtime::Runtime, readers: &Readers, bytes: &[u8], name: &str) -> Extracted {
    match rt.block_on(readers.read(bytes, name)) {
        Outcome::Read(x) => x,
        other => panic!("{name}: {other:?}"),
    }
}

fn throughput() {
    println!("\n## 1. Text PDF extract + classify, one core");
    let docs: Vec<(&str, Vec<u8>)> = [
        "invoice-acme.pdf",
        "invoice-globex.pdf",
        "credit-note-acme.pdf",
        "invoice-incomplete.pdf",
        "letter-unknown.pdf",
    ]
    .iter()
    .map(|n| (*n, sample(n)))
    .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let readers = one_reader(&rt);
    let mut baseline = 0.0;
    println!("| document types | documents/s | vs 1 type |\n|---|---|---|");
    for n in [1, 50, 200] {
        let dir = tempfile::tempdir().unwrap();
        write_types(dir.path(), n);
        let loaded = definitions::load_dir(dir.path(), None);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        let classifier = loaded.definitions.classifier();
        assert_eq!(classifier.types().len(), n);
        let run = |count: usize| {
            let start = Instant::now();
            for i in 0..count {
                let (name, bytes) = &docs[i % docs.len()];
                let x = read(&rt, &readers, bytes, name);
                std::hint::black_box(classifier.classify(&x.text()));
            }
            start.elapsed()
        };
        run(50); // warm-up: lazy regex DFAs fill their caches
        let count = 2000;
        let rate = count as f64 / run(count).as_secs_f64();
        if n == 1 {
            baseline = rate;
        }
        println!("| {n} | {rate:.0} | {:.2}× |", rate / baseline);
    }
    // The real-world set: the invoice2data community templates (matched by their keywords).
    let corpus = repo().join("tests/fixtures/invoice2data-templates");
    if corpus.exists() {
        let classifier = definitions::load_dir(&corpus, None).definitions.classifier();
        let count = 1000;
        let start = Instant::now();
        for i in 0..count {
            let (name, bytes) = &docs[i % docs.len()];
            let x = read(&rt, &readers, bytes, name);
            std::hint::black_box(classifier.classify(&x.text()));
        }
        let rate = count as f64 / start.elapsed().as_secs_f64();
        println!("| {} invoice2data templates | {rate:.0} | {:.2}× |", classifier.types().len(), rate / baseline);
    }
}

fn ocr() {
    println!("\n## 2. OCR per page against the tesseract command (same PNG, 200 dpi A4)");
    let png = repo().join("samples/invoice-acme-scan.png");
    let bytes = std::fs::read(&png).unwrap();
    let runs = 5;
    let cli = |omp: Option<&str>| {
        let mut total = Duration::ZERO;
        for _ in 0..runs {
            let mut c = Command::new("tesseract");
            c.arg(&png).arg("-").arg("-l").arg("eng").stdout(Stdio::null()).stderr(Stdio::null());
            // This process runs with OMP_THREAD_LIMIT=1 (see main); the default run gets none.
            match omp {
                Some(v) => c.env("OMP_THREAD_LIMIT", v),
                None => c.env_remove("OMP_THREAD_LIMIT"),
            };
            let t = Instant::now();
            assert!(c.status().unwrap().success());
            total += t.elapsed();
        }
        total / runs
    };
    let cli_default = cli(None);
    let cli_single = cli(Some("1"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let readers = one_reader(&rt);
    // Warm: the engine loads on first use and then stays loaded.
    read(&rt, &readers, &bytes, "scan.png");
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(read(&rt, &readers, &bytes, "scan.png"));
    }
    let clerk = t.elapsed() / runs;
    println!("| | ms per page | clerk ÷ this |\n|---|---|---|");
    println!("| clerk (decode PNG + OCR, warm engine, 1 thread) | {:.0} | |", ms(clerk));
    println!(
        "| `tesseract img.png -` (default, OpenMP) | {:.0} | {:.2}× |",
        ms(cli_default),
        ratio(clerk, cli_default)
    );
    println!("| `OMP_THREAD_LIMIT=1 tesseract img.png -` | {:.0} | {:.2}× |", ms(cli_single), ratio(clerk, cli_single));

    let cores = std::thread::available_parallelism().unwrap().get();
    println!("\nSeveral scans waiting: 4 pages, 1 reader vs one per core ({cores} cores)");
    let pool = |count: usize| {
        let _guard = rt.enter();
        Readers::new(reader_settings(count))
    };
    let time_four = |pool: &Readers| {
        // Warm every reader first: each loads its engine once.
        rt.block_on(futures_util::future::join_all((0..pool.count()).map(|_| pool.read(&bytes, "scan.png"))));
        let t = Instant::now();
        rt.block_on(futures_util::future::join_all((0..4).map(|_| pool.read(&bytes, "scan.png"))));
        t.elapsed()
    };
    let serial = time_four(&pool(1));
    let parallel = time_four(&pool(cores));
    println!("| readers | 4 pages, ms | speed-up |\n|---|---|---|");
    println!("| 1 | {:.0} | 1.00× |", ms(serial));
    println!("| one per core | {:.0} | {:.2}× |", ms(parallel), ratio(serial, parallel));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn latency() {
    println!("\n## 3. Drop → classified latency through the running daemon (text PDF, one at a time)");
    let d = Daemon::start(tempfile::tempdir().unwrap(), &repo().join("bots"));
    let pdf = sample("invoice-acme.pdf");
    let mut lat = vec![];
    for i in 0..100 {
        let mut bytes = pdf.clone();
        bytes.extend(format!("\n%{i}\n").as_bytes());
        let dropped = chrono::Utc::now();
        std::fs::write(d.dir.path().join(format!("inbox/lat-{i}.pdf")), &bytes).unwrap();
        let name = format!("lat-{i}.pdf");
        let start = Instant::now();
        loop {
            let done = d.query(&format!("SELECT updated_at FROM documents WHERE original_name = '{name}' AND status IN ('recognised','exception')"));
            if !done.is_empty() {
                let t = chrono::DateTime::parse_from_rfc3339(&done).unwrap();
                lat.push((t.with_timezone(&chrono::Utc) - dropped).num_microseconds().unwrap() as f64 / 1000.0);
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "document {name} not classified");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!("| documents | p50 ms | p95 ms | max ms |\n|---|---|---|---|");
    println!("| {} | {:.1} | {:.1} | {:.1} |", lat.len(), p(0.5), p(0.95), lat[lat.len() - 1]);
}

fn memory() {
    println!("\n## 4. Resident memory of `clerk serve`");
    let d = Daemon::start(tempfile::tempdir().unwrap(), &repo().join("bots"));
    std::thread::sleep(Duration::from_secs(2));
    let idle = d.rss_kb();
    // Idle CPU: what its loops cost while nothing arrives (they sleep until woken, a retry is
    // due, or their longest idle sleep — 5 s for jobs, 1 s for runs — passes).
    let (cpu0, t0) = (d.cpu_seconds(), Instant::now());
    std::thread::sleep(Duration::from_secs(30));
    let idle_cpu = (d.cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    drop(d);

    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let n = 10_000;
    for i in 0..n {
        std::fs::write(
            inbox.join(format!("note-{i}.txt")),
            format!("DELIVERY NOTE\nDelivery Note No: DN-{i}\nDate: 2024-04-02\n"),
        )
        .unwrap();
    }
    let d = Daemon::start(dir, &repo().join("bots"));
    let mut peak = 0;
    let mut waiting_at_peak = String::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let rss = d.rss_kb();
        if rss > peak {
            peak = rss;
            let taken = std::fs::read_dir(d.dir.path().join("inbox")).map(|r| r.count()).unwrap_or(0);
            let queued = d.query("SELECT CAST(COUNT(*) AS TEXT) FROM jobs WHERE state IN ('queued','running')");
            waiting_at_peak = format!("{taken} in the inbox, {queued} queued");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("| state | RSS MB |\n|---|---|");
    println!("| idle | {:.1} |", idle as f64 / 1024.0);
    println!("| idle CPU over 30 s | {idle_cpu:.2}% of one core |");
    println!("| {n} documents waiting (peak over 20 s; {waiting_at_peak}) | {:.1} |", peak as f64 / 1024.0);
}

fn scrape() {
    println!("\n## 5. What the queue costs to look at, against its length: a `/metrics` scrape, the queue page, an item page");
    let definitions = tempfile::tempdir().unwrap();
    write_types(definitions.path(), 3);
    let invoice = definitions.path().join("invoice.yml");
    let yaml = std::fs::read_to_string(&invoice).unwrap();
    std::fs::write(&invoice, format!("{yaml}\nsla: 4h\n")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clerk.toml"), "[queue]\nsla = \"1h\"\n").unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    // Memos no type matches (due after the queue's hour) and invoices without a total (due after
    // the invoice type's four hours), through the whole pipeline.
    let drop = |inbox: &Path, range: std::ops::Range<usize>| {
        for i in range {
            let text = if i % 2 == 0 {
                format!("MEMO {i}\nThe coffee machine is broken again.\n")
            } else {
                format!("INVOICE\nInvoice No: B-{i}\nDate: 2024-04-02\nTotal due:\n")
            };
            std::fs::write(inbox.join(format!("item-{i}.txt")), text).unwrap();
        }
    };
    drop(&dir.path().join("inbox"), 0..10);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = Daemon::start_on(dir, definitions.path(), &format!("127.0.0.1:{port}"));
    let queued = |n: usize| {
        let t = Instant::now();
        while d.query("SELECT CAST(COUNT(*) AS TEXT) FROM exceptions") != n.to_string() {
            assert!(t.elapsed() < Duration::from_secs(300), "the {n} items did not arrive");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    queued(10);
    let auth = format!("Authorization: Bearer {}", d.agent_token());
    let item = format!("/items/{}", d.query("SELECT CAST(MIN(id) + 5 AS TEXT) FROM exceptions"));
    let measure = || [("/metrics", None), ("/queue", Some(auth.as_str())), (item.as_str(), Some(auth.as_str()))].map(|(path, header)| timings(port, path, header));
    let few = measure();
    // A queue nobody cleared: 20,000 items, their ages spread over two days.
    let n = 20_000;
    drop(&d.dir.path().join("inbox"), 10..n);
    queued(n);
    d.execute("UPDATE exceptions SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (id * 9) || ' seconds')");
    let many = measure();
    let waiting = d.query("SELECT CAST(COUNT(*) AS TEXT) FROM exceptions WHERE state = 'open'");
    println!("| items waiting | `/metrics` p50 / p95 ms | queue page p50 / p95 ms | item page p50 / p95 ms |\n|---|---|---|---|");
    for (n, t) in [("10", few), (waiting.as_str(), many)] {
        let [m, q, i] = t.map(|(p50, p95)| format!("{:.1} / {:.1}", ms(p50), ms(p95)));
        println!("| {n} | {m} | {q} | {i} |");
    }
    let metrics = get(port, "/metrics", None);
    let overdue: Vec<&str> = metrics.lines().filter(|l| l.starts_with("clerk_exceptions_overdue{") && !l.ends_with(" 0")).collect();
    println!("{}", overdue.join(", "));
    let [m, q, i] = [0, 1, 2].map(|k| ratio(many[k].0, few[k].0));
    println!("ratios {waiting} / 10 items (p50): metrics {m:.1}×, queue page {q:.1}×, item page {i:.1}×");
}

/// p50 and p95 of 30 GETs of `path`, after three to warm up.
fn timings(port: u16, path: &str, header: Option<&str>) -> (Duration, Duration) {
    let mut took: Vec<Duration> = (0..33)
        .map(|_| {
            let t = Instant::now();
            assert!(!get(port, path, header).is_empty(), "{path} answered nothing");
            t.elapsed()
        })
        .skip(3)
        .collect();
    took.sort();
    (took[took.len() / 2], took[took.len() * 95 / 100])
}

/// The body of a plain HTTP/1.0 GET on the loopback (empty unless the answer is 200).
fn get(port: u16, path: &str, header: Option<&str>) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let header = header.map(|h| format!("{h}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{header}\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") => body.to_string(),
        _ => String::new(),
    }
}
