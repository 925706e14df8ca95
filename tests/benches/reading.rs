//! `cargo bench --bench reading` — reading real files, against the tools a user would pick
//! instead, in the same run, on one core (this process and every child are pinned to CPU 0):
//!   1. text PDFs (../shared/corpora/pdf-samples when present, and the producer set's text PDFs):
//!      clerk's reader against `pdftotext -layout FILE -` run once per file, as the Python tools
//!      (invoice2data) run it;
//!   2. scanned pages (the producer set's image-only PDFs): clerk (render at 300 dpi + OCR)
//!      against `pdftoppm -r 300 -gray FILE | tesseract - -` with OMP_THREAD_LIMIT=1;
//!   3. the hostile set (tests/support/hostile.rs) dropped into a running `clerk serve`: wall time
//!      until every file is an exception, peak resident memory of the daemon and of its largest
//!      reader, and the daemon's memory once idle again;
//!   4. Office files (the producer set's office-*): clerk's reader per file against `docx2txt` and
//!      `odt2txt` once per file, and LibreOffice's own `soffice --convert-to txt` (csv for
//!      spreadsheets) for all files in one start, when installed;
//!   5. barcodes on the test batches' pages (tests/benches/barcode_pages.rs): clerk against the
//!      zxing-cpp Python package and `zbarimg`.
//!
//! Pass section numbers to run only some: `cargo bench --bench reading -- 1 2`.

#[path = "barcode_pages.rs"]
mod barcode_pages;
#[path = "daemon.rs"]
mod daemon;
#[path = "../support/hostile.rs"]
mod hostile;
#[path = "pin.rs"]
mod pin;
#[path = "proc_status.rs"]
mod proc_status;
use daemon::Daemon;

use clerk::read::pool::{Outcome, ReaderSettings, Readers};
use clerk::read::Limits;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readers(rt: &tokio::runtime::Runtime, count: usize, limits: Limits) -> Readers {
    let _guard = rt.enter();
    Readers::new(ReaderSettings {
        program: ReaderSettings::find_program(),
        count,
        idle_timeout: Duration::from_secs(600),
        max_documents: u32::MAX,
        languages: "eng".into(),
        limits,
        libreoffice: None,
    })
}

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pdf") && keep(&p.file_name().unwrap().to_string_lossy()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn main() {
    pin::to_one_core();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |n: &str| args.is_empty() || args.iter().any(|a| a == n);
    let rt = tokio::runtime::Runtime::new().unwrap();
    if run("1") {
        text_pdfs(&rt);
    }
    if run("2") {
        scans(&rt);
    }
    if run("3") {
        hostile_set();
    }
    if run("4") {
        office(&rt);
    }
    if run("5") {
        barcode_pages::run(&repo());
    }
}

fn office(rt: &tokio::runtime::Runtime) {
    println!("\n## 4. Office files, one core: clerk's reader vs docx2txt / odt2txt once per file, and LibreOffice");
    let dir = repo().join("tests/fixtures/producers");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("office-"))
        .collect();
    all.sort();
    let load = |keep: &dyn Fn(&str) -> bool| -> Vec<(PathBuf, Vec<u8>)> {
        all.iter()
            .filter(|p| keep(p.extension().unwrap().to_str().unwrap()))
            .map(|p| (p.clone(), std::fs::read(p).unwrap()))
            .collect()
    };
    let r = readers(rt, 1, Limits::default());
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    println!("| files | n | tool | tool median ms per file | clerk median ms per file | speed-up |\n|---|---|---|---|---|---|");
    for (label, kinds, program, after) in [
        ("Word (docx)", &["docx"][..], "docx2txt", &["-"][..]),
        ("OpenDocument (odt, ods)", &["odt", "ods"][..], "odt2txt", &[][..]),
    ] {
        let set = load(&|e| kinds.contains(&e));
        if set.is_empty() || Command::new(program).arg("--help").output().is_err() {
            println!("| {label} | {} | {program} not installed | | | |", set.len());
            continue;
        }
        clerk_times(rt, &r, &set);
        let clerk = best_of(5, || clerk_times(rt, &r, &set), sum);
        let tool = best_of(5, || command_times(&set, |p| {
            let mut c = Command::new(program);
            c.arg(p).args(after);
            c
        }), sum);
        let (cm, tm) = (median(&clerk), median(&tool));
        println!("| {label} | {} | {program} | {:.2} | {:.2} | {:.1}× |", set.len(), tm * 1e3, cm * 1e3, tm / cm);
    }
    let set = load(&|_| true);
    for (path, _) in &set {
        let outcome = rt.block_on(r.read_file(path, &path.file_name().unwrap().to_string_lossy()));
        assert!(matches!(&outcome, Outcome::Read(x) if !x.text().trim().is_empty()), "{}: not read", path.display());
    }
    let clerk = best_of(5, || clerk_times(rt, &r, &set), sum);
    let out = tempfile::tempdir().unwrap();
    let soffice = |kinds: &[&str], to: &str| -> Option<f64> {
        let files: Vec<&PathBuf> = set.iter().map(|(p, _)| p).filter(|p| kinds.contains(&p.extension().unwrap().to_str().unwrap())).collect();
        let t = Instant::now();
        let status = Command::new("soffice")
            .args(["--headless", "--convert-to", to, "--outdir"])
            .arg(out.path())
            .args(&files)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| t.elapsed().as_secs_f64() / files.len() as f64)
    };
    let writer = soffice(&["docx", "odt", "rtf", "html"], "txt:Text");
    let calc = soffice(&["xlsx", "ods"], "csv");
    match (writer, calc) {
        (Some(w), Some(c)) => println!(
            "| all Office fixtures | {} | soffice --convert-to (one start per format group, start-up included) | {:.0} (Writer) / {:.0} (Calc) | {:.2} | {:.0}× |",
            set.len(),
            w * 1e3,
            c * 1e3,
            median(&clerk) * 1e3,
            w.min(c) / median(&clerk)
        ),
        _ => println!("| all Office fixtures | {} | soffice not installed | | {:.2} | |", set.len(), median(&clerk) * 1e3),
    }
}

/// Each file read by one warm reader, in order, from its file as the daemon reads a blob;
/// per-file seconds.
fn clerk_times(rt: &tokio::runtime::Runtime, r: &Readers, files: &[(PathBuf, Vec<u8>)]) -> Vec<f64> {
    files
        .iter()
        .map(|(path, _)| {
            let name = path.file_name().unwrap().to_string_lossy();
            let t = Instant::now();
            let outcome = rt.block_on(r.read_file(path, &name));
            let s = t.elapsed().as_secs_f64();
            if let Outcome::Failed(e) = outcome {
                panic!("{}: {e}", path.display());
            }
            s
        })
        .collect()
}

fn command_times(files: &[(PathBuf, Vec<u8>)], command: impl Fn(&Path) -> Command) -> Vec<f64> {
    files
        .iter()
        .map(|(path, _)| {
            let t = Instant::now();
            let status = command(path).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
            let s = t.elapsed().as_secs_f64();
            assert!(status.code().is_some(), "{} was killed", path.display());
            s
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> Vec<T>, total: impl Fn(&[T]) -> f64) -> Vec<T> {
    let mut best: Option<(f64, Vec<T>)> = None;
    for _ in 0..n {
        let v = f();
        let t = total(&v);
        if best.as_ref().is_none_or(|(b, _)| t < *b) {
            best = Some((t, v));
        }
    }
    best.unwrap().1
}

fn text_pdfs(rt: &tokio::runtime::Runtime) {
    println!("\n## 1. Text PDFs, one core: clerk's reader vs `pdftotext -layout` once per file");
    let mut corpus: Vec<(PathBuf, Vec<u8>)> = vec![];
    let samples = repo().join("../shared/corpora/pdf-samples");
    let mut sets =
        vec![("producer set (text PDFs)", files(&repo().join("tests/fixtures/producers"), |n| n.starts_with("text-")))];
    if samples.is_dir() {
        // Those with a text layer (pdftotext finds some text), as the parity test counts them.
        let with_text = files(&samples, |_| true)
            .into_iter()
            .filter(|p| {
                let out = Command::new("pdftotext").arg(p).arg("-").output().unwrap();
                out.status.success()
                    && String::from_utf8_lossy(&out.stdout).chars().filter(|c| !c.is_whitespace()).count() >= 8
            })
            .collect();
        sets.insert(0, ("pdf-samples (with a text layer)", with_text));
    } else {
        println!("(../shared/corpora/pdf-samples is absent: producer set only)");
    }
    let r = readers(rt, 1, Limits::default());
    println!("| files | n | pdftotext total ms | clerk total ms | speed-up (total) | median per file: pdftotext ms / clerk ms | speed-up (median) |\n|---|---|---|---|---|---|---|");
    for (label, set) in sets {
        let set: Vec<(PathBuf, Vec<u8>)> = set.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect();
        corpus.extend(set.iter().cloned());
        report(label, rt, &r, &set);
    }
    if corpus.len() > 3 {
        // The one file that dominates the totals (the longest for pdftotext), left out.
        let times = command_times(&corpus, pdftotext);
        let slowest = (0..corpus.len()).max_by(|&a, &b| times[a].total_cmp(&times[b])).unwrap();
        let name = corpus[slowest].0.file_name().unwrap().to_string_lossy().into_owned();
        let rest: Vec<_> = corpus.iter().enumerate().filter(|(i, _)| *i != slowest).map(|(_, f)| f.clone()).collect();
        report(&format!("all but the slowest for pdftotext ({name})"), rt, &r, &rest);
    }
}

fn pdftotext(p: &Path) -> Command {
    let mut c = Command::new("pdftotext");
    c.arg("-layout").arg(p).arg("-");
    c
}

fn report(label: &str, rt: &tokio::runtime::Runtime, r: &Readers, set: &[(PathBuf, Vec<u8>)]) {
    clerk_times(rt, r, set); // warm: the reader is started and the files are in the page cache
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let clerk = best_of(3, || clerk_times(rt, r, set), sum);
    let poppler = best_of(3, || command_times(set, pdftotext), sum);
    if std::env::var_os("CLERK_BENCH_DETAIL").is_some() {
        for (i, (p, _)) in set.iter().enumerate() {
            println!("  {:>8.3} ms pdftotext {:>8.3} ms clerk  {}", poppler[i] * 1e3, clerk[i] * 1e3, p.display());
        }
    }
    let (ct, pt) = (sum(&clerk), sum(&poppler));
    let (cm, pm) = (median(&clerk), median(&poppler));
    println!(
        "| {label} | {} | {:.1} | {:.1} | {:.1}× | {:.2} / {:.2} | {:.1}× |",
        set.len(),
        pt * 1e3,
        ct * 1e3,
        pt / ct,
        pm * 1e3,
        cm * 1e3,
        pm / cm
    );
}

fn scans(rt: &tokio::runtime::Runtime) {
    println!("\n## 2. Scanned pages, one core: clerk (render 300 dpi + OCR) vs `pdftoppm -r 300 -gray | tesseract` (OMP_THREAD_LIMIT=1)");
    let set: Vec<(PathBuf, Vec<u8>)> = files(&repo().join("tests/fixtures/producers"), |n| {
        n.starts_with("scan-") && !n.contains("tesseract") && !n.contains("ocrmypdf")
    })
    .into_iter()
    .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
    .collect();
    let r = readers(rt, 1, Limits::default());
    clerk_times(rt, &r, &set[..1]); // warm: the reader loads its OCR engine once
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let clerk = best_of(2, || clerk_times(rt, &r, &set), sum);
    let baseline = best_of(
        2,
        || {
            command_times(&set, |p| {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg("pdftoppm -r 300 -gray \"$1\" | tesseract - - -l eng")
                    .arg("sh")
                    .arg(p)
                    .env("OMP_THREAD_LIMIT", "1");
                c
            })
        },
        sum,
    );
    println!("| pages | pdftoppm + tesseract ms/page | clerk ms/page | clerk ÷ baseline |\n|---|---|---|---|");
    let n = set.len() as f64;
    println!(
        "| {} | {:.0} | {:.0} | {:.2}× |",
        set.len(),
        sum(&baseline) / n * 1e3,
        sum(&clerk) / n * 1e3,
        sum(&clerk) / sum(&baseline)
    );
}

fn hostile_set() {
    println!("\n## 3. The hostile set dropped into a running `clerk serve` (default limits, two readers)");
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    for e in std::fs::read_dir(repo().join("bots")).unwrap().flatten() {
        if !std::fs::read_to_string(e.path()).unwrap_or_default().starts_with("bot:") {
            std::fs::copy(e.path(), definitions.join(e.file_name())).unwrap();
        }
    }
    std::fs::write(dir.path().join("clerk.toml"), "[readers]\ncount = 2\nidle_timeout = '2s'\n").unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    let d = Daemon::start(dir, &definitions);
    let pid = d.child.id();
    let idle_before = d.rss_kb();
    let set = hostile::all();
    let total: usize = set.iter().map(|(_, b)| b.len()).sum();
    let t = Instant::now();
    for (name, bytes) in &set {
        std::fs::write(d.dir.path().join("inbox").join(name), bytes).unwrap();
    }
    let (mut daemon_peak, mut reader_peak) = (0, 0);
    loop {
        daemon_peak = daemon_peak.max(d.rss_kb());
        for c in proc_status::children(pid) {
            reader_peak = reader_peak.max(proc_status::rss_kb(c));
        }
        let settled =
            d.query("SELECT CAST(COUNT(*) AS TEXT) FROM documents WHERE status IN ('recognised','exception')");
        if settled.parse::<usize>().unwrap_or(0) >= set.len() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(600), "the hostile set did not settle");
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = t.elapsed();
    let exceptions = d.query("SELECT CAST(COUNT(*) AS TEXT) FROM documents WHERE status = 'exception'");
    // Readers exit after the idle timeout; the daemon alone is left.
    std::thread::sleep(Duration::from_secs(4));
    let idle_after = d.rss_kb();
    let readers_left = proc_status::children(pid).len();
    println!("| files | MB | exceptions | wall s | daemon RSS MB: idle before / peak / idle after | largest reader RSS MB (limit) | readers left when idle |\n|---|---|---|---|---|---|---|");
    println!(
        "| {} | {:.1} | {exceptions} | {:.1} | {:.1} / {:.1} / {:.1} | {:.0} ({}) | {readers_left} |",
        set.len(),
        total as f64 / 1e6,
        wall.as_secs_f64(),
        idle_before as f64 / 1024.0,
        daemon_peak as f64 / 1024.0,
        idle_after as f64 / 1024.0,
        reader_peak as f64 / 1024.0,
        Limits::default().max_memory >> 20
    );
}
