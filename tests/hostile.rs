//! The hostile set (tests/support/hostile.rs: nesting, bombs, cycles, huge coordinates, broken
//! CMaps, a huge `W` array, a million pages, lying headers, garbage behind every image decoder)
//! through `clerk classify` and through a running daemon mixed with good documents: every hostile
//! file ends as an exception with a sentence, every good one is recognised, the daemon never
//! restarts, and memory stays within the limits.

#[path = "benches/proc_status.rs"]
mod proc_status;
mod support;
use proc_status::{children, rss_kb};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const LIMITS: &str = "[limits]\nmax_seconds = '30s'\nmax_memory = '1GB'\n";
const MAX_MEMORY: u64 = 1 << 30;

/// A reason an agent can act on: a sentence, none of a library's internals.
fn assert_sentence(file: &str, reason: &str) {
    let jargon = [
        "panicked",
        "lopdf",
        "poppler",
        "TessBaseApi",
        "Multiband",
        "please open an issue",
        "Error(",
        "os error",
        "bits per component",
        "RUST_BACKTRACE",
        "{",
        "exit code",
    ];
    assert!(reason.split_whitespace().count() >= 5, "{file}: not a sentence: {reason:?}");
    for j in jargon {
        assert!(!reason.contains(j), "{file}: the reason shows internals ({j}): {reason:?}");
    }
}

#[test]
fn every_hostile_file_is_an_exception_with_a_sentence_through_classify() {
    let dir = tempfile::tempdir().unwrap();
    let names = hostile::write_all(&dir.path().join("hostile"));
    std::fs::write(dir.path().join("clerk.toml"), LIMITS).unwrap();
    let answers = classify_json(&repo().join("bots"), dir.path(), &["hostile".into()]);
    assert_eq!(answers.len(), names.len(), "one answer per hostile file");
    for a in &answers {
        let file = a["file"].as_str().unwrap();
        assert_eq!(a["status"], "exception", "{file}: {a}");
        assert_sentence(file, a["exception"]["reason"].as_str().unwrap());
    }
    // The precise reasons, for the classes that have one.
    let reason = |name: &str| {
        answers.iter().find(|a| a["file"].as_str().unwrap().ends_with(name)).unwrap()["exception"]["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (name, expected) in [
        ("million-pages.pdf", "1000000 pages, over the limit of 500 (limits.max_pages)"),
        ("flate-bomb.pdf", "decompress to more than 256 MiB (limits.max_decoded)"),
        ("flate-twice.pdf", "decompress to more than 256 MiB (limits.max_decoded)"),
        ("q-bomb.pdf", "more than 10,000 levels deep"),
        ("form-fanout.pdf", "operators (limits.max_operators)"),
        ("tounicode-ranges.pdf", "ToUnicode table"),
        // An image is read row by row at the page's resolution, so its claimed size costs
        // nothing; the few bytes behind it draw a blank page.
        ("image-100000x100000.pdf", "no text could be read"),
        ("image-flate-bomb.pdf", "no text could be read"),
        ("png-60000x60000.png", "60000×60000 pixels"),
        ("tiff-100000x100000.tiff", "100000×100000 pixels"),
        ("truncated-half.pdf", "damaged or truncated"),
        ("zip-bomb.xlsx", "decompress to more than 256 MiB (limits.max_decoded)"),
        ("10000-sheets.xlsx", "10000 sheets, over the limit of 500 (limits.max_pages)"),
        ("billion-laughs.docx", "declares a DOCTYPE"),
        ("deep.rtf", "more than 10000 levels deep"),
        ("deep.html", "more than 4096 levels deep"),
    ] {
        let r = reason(name);
        assert!(r.contains(expected), "{name}: {r}");
    }
}

/// Inputs the fuzzer (tests/fuzz/run.sh) found slow or crashing, each kept as a test: read
/// through `clerk classify`, each ends within its limits with a sentence, and none needs the
/// kernel to stop it.
#[test]
fn what_the_fuzzer_found_ends_as_an_exception_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clerk.toml"), LIMITS).unwrap();
    let found: Vec<_> = std::fs::read_dir(repo().join("tests/fuzz/regressions"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    assert!(!found.is_empty(), "tests/fuzz/regressions holds the fuzzer's findings");
    for a in classify_json(&repo().join("bots"), dir.path(), &found) {
        let file = a["file"].as_str().unwrap();
        if a["status"] == "exception" {
            let reason = a["exception"]["reason"].as_str().unwrap();
            assert_sentence(file, reason);
            assert!(!reason.contains("limits.max_seconds"), "{file}: only the time limit stopped it: {reason}");
        }
    }
    // A form tree of a few operators per form (which poppler's own abort check never sees).
    let answers = classify_json(
        &repo().join("bots"),
        dir.path(),
        &[repo().join("tests/fuzz/regressions/form-fanout-few-operators.pdf")],
    );
    assert!(answers[0]["exception"]["reason"].as_str().unwrap().contains("limits.max_operators"), "{}", answers[0]);
}

/// Peak resident memory of the daemon and of any one of its reader processes, sampled.
struct MemoryWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, u64)>,
}

impl MemoryWatch {
    fn start(pid: u32) -> MemoryWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut daemon, mut reader) = (0, 0);
            while !flag.load(Ordering::Relaxed) {
                daemon = daemon.max(rss_kb(pid));
                for c in children(pid) {
                    reader = reader.max(rss_kb(c));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (daemon * 1024, reader * 1024)
        });
        MemoryWatch { stop, thread }
    }

    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[test]
fn the_daemon_survives_the_hostile_set_mixed_with_good_documents() {
    let mut d = Daemon::new(&format!("[readers]\ncount = 2\n{LIMITS}"));
    // Document types only: no bot runs against a legacy system that is not there.
    for e in std::fs::read_dir(&d.definitions).unwrap().flatten() {
        if std::fs::read_to_string(e.path()).unwrap().starts_with("bot:") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    d.spawn();
    let pid = d.pid();
    let watch = MemoryWatch::start(pid);
    let good = [
        "invoice-acme.pdf",
        "invoice-globex.pdf",
        "credit-note-acme.pdf",
        "invoice-acme-restricted.pdf",
        "invoice-initech-scan.pdf",
        "credit-note-acme-fax.pdf",
        "invoice-acme-scan.png",
        "invoice-globex-scan.tiff",
    ];
    let mut good_names = vec![];
    for i in 0..50 {
        let name = good[i % good.len()];
        let mut bytes = std::fs::read(sample(name)).unwrap();
        // Unique content (trailing bytes every reader ignores), so none is a duplicate.
        bytes.extend_from_slice(format!("\n%clerk-test-{i}\n").as_bytes());
        let unique = format!("{i:02}-{name}");
        d.drop_file(&unique, &bytes);
        good_names.push(unique);
    }
    let hostile = hostile::all();
    for (name, bytes) in &hostile {
        d.drop_file(name, bytes);
    }
    let docs = d.wait_settled(good_names.len() + hostile.len());
    let (daemon_peak, reader_peak) = watch.finish();
    assert!(d.is_running(), "the daemon stopped\n{}", d.log());
    assert_eq!(d.pid(), pid, "the daemon restarted");
    assert_eq!(d.log().matches("clerk is running").count(), 1, "the daemon started more than once");
    for name in &good_names {
        let doc = docs.iter().find(|x| x["original_name"] == name.as_str()).unwrap();
        assert_eq!(doc["status"], "recognised", "{name}: {doc}");
    }
    for (name, _) in &hostile {
        let doc = d.by_name(name);
        assert_eq!(doc["status"], "exception", "{name}: {doc:#}");
        assert_sentence(name, doc["exceptions"][0]["reason"].as_str().unwrap());
    }
    eprintln!("peak resident memory: daemon {} MiB, largest reader {} MiB", daemon_peak >> 20, reader_peak >> 20);
    assert!(daemon_peak < 200 << 20, "the daemon grew to {} MiB", daemon_peak >> 20);
    assert!(reader_peak <= MAX_MEMORY, "a reader grew past its limit: {} MiB", reader_peak >> 20);
}

#[test]
fn a_reader_that_crashes_costs_only_its_document() {
    // The reader crashes (SIGSEGV) on any document named *boom*, as a decoder bug would.
    let mut d = Daemon::new("[readers]\ncount = 1\n").with_env("CLERK_READER_CRASH_ON", "boom");
    d.spawn();
    let pid = d.pid();
    d.drop_file("boom-invoice.pdf", &std::fs::read(sample("invoice-acme.pdf")).unwrap());
    for name in ["invoice-globex.pdf", "credit-note-acme.pdf", "invoice-acme-scan.png"] {
        d.drop_sample(name);
    }
    d.wait_settled(4);
    let doc = d.by_name("boom-invoice.pdf");
    assert_eq!(doc["status"], "exception");
    let reason = doc["exceptions"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("the reader crashed on it (segmentation fault)"), "{reason}");
    assert_sentence("boom-invoice.pdf", reason);
    for name in ["invoice-globex.pdf", "credit-note-acme.pdf", "invoice-acme-scan.png"] {
        assert_eq!(d.by_name(name)["status"], "recognised", "{name} was blamed for the crash");
    }
    assert!(d.is_running());
    assert_eq!(d.pid(), pid, "the daemon restarted");
}
