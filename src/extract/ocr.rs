//! OCR on a pool of blocking threads, one per core, each keeping its tesseract engine loaded
//! (loading one costs more than reading a page). Engines load on first use, so an idle daemon
//! holds no OCR memory. Pages of one document are spread over all threads.

use super::{Page, Unreadable, Word};
use image::GrayImage;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

struct Job {
    image: GrayImage,
    reply: mpsc::Sender<Result<(String, Vec<Word>), String>>,
}

/// A handle to the OCR threads; cheap to clone. When the last handle goes, the threads finish
/// their page and exit, releasing their engines (tesseract complains of leaks otherwise).
#[derive(Clone)]
pub struct Ocr {
    pool: Arc<Pool>,
    pub languages: String,
}

struct Pool {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        drop(self.tx.lock().map(|mut tx| tx.take()));
        if let Ok(mut threads) = self.threads.lock() {
            for t in threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}

impl Ocr {
    /// Starts `threads` OCR threads (0 = one per core) for `languages` (tesseract's `eng+deu` form).
    pub fn start(threads: usize, languages: &str) -> Ocr {
        let threads =
            if threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { threads };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..threads)
            .map(|i| {
                let rx = rx.clone();
                let languages = languages.to_string();
                std::thread::Builder::new()
                    .name(format!("ocr-{i}"))
                    .spawn(move || worker(rx, languages))
                    .expect("spawning an OCR thread")
            })
            .collect();
        let pool = Pool { tx: Mutex::new(Some(tx)), threads: Mutex::new(handles) };
        Ocr { pool: Arc::new(pool), languages: languages.to_string() }
    }

    /// OCRs every page image, in parallel across the pool, and returns them in order.
    pub fn pages(&self, images: Vec<GrayImage>) -> Result<Vec<Page>, Unreadable> {
        let not_running = || Unreadable("the OCR engine is not running".into());
        let tx = self.pool.tx.lock().map_err(|_| not_running())?.clone().ok_or_else(not_running)?;
        let mut pending = Vec::new();
        for image in images {
            let (w, h) = image.dimensions();
            let (reply, rx) = mpsc::channel();
            tx.send(Job { image, reply }).map_err(|_| not_running())?;
            pending.push((w, h, rx));
        }
        let mut pages = Vec::new();
        for (i, (width, height, rx)) in pending.into_iter().enumerate() {
            let (text, words) = rx
                .recv()
                .map_err(|_| Unreadable("the OCR engine stopped while reading this page".into()))?
                .map_err(|e| Unreadable(format!("OCR failed on page {}: {e}", i + 1)))?;
            pages.push(Page { number: i as u32 + 1, text, ocr: true, width, height, words });
        }
        Ok(pages)
    }
}

/// Tesseract parallelises each page with OpenMP (up to 4 threads per engine). With one engine
/// per core that only oversubscribes the cores, and spinning OpenMP threads make a page several
/// times slower on a small machine (measured: 3.6 s instead of 0.6 s on 2 cores). libgomp reads
/// `OMP_THREAD_LIMIT` once, when it is loaded — before `main` — and offers no call to lower the
/// limit later, so a process that will OCR re-executes itself once with the variable set.
/// Call this first thing in `main`; it returns only when the limit is in force (or cannot be set).
pub fn limit_openmp_threads() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let err = std::process::Command::new("/proc/self/exe").arg0(argv0).args(args).env("OMP_THREAD_LIMIT", "1").exec();
    tracing::warn!(error = %err, "cannot limit OpenMP threads; OCR may be slower");
}

fn worker(rx: Arc<Mutex<mpsc::Receiver<Job>>>, languages: String) {
    let mut engine: Option<tesseract::Tesseract> = None;
    loop {
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let result = recognise(&mut engine, &languages, &job.image);
        let _ = job.reply.send(result);
    }
}

fn recognise(
    engine: &mut Option<tesseract::Tesseract>,
    languages: &str,
    image: &GrayImage,
) -> Result<(String, Vec<Word>), String> {
    let tess = match engine.take() {
        Some(t) => t,
        None => tesseract::Tesseract::new(None, Some(languages)).map_err(|e| {
            format!("cannot load tesseract for languages {languages:?}: {e} (is tesseract-ocr-{languages} installed?)")
        })?,
    };
    let (w, h) = image.dimensions();
    let mut tess = tess
        .set_frame(image.as_raw(), w as i32, h as i32, 1, w as i32)
        .map_err(|e| e.to_string())?
        .set_source_resolution(300)
        .recognize()
        .map_err(|e| e.to_string())?;
    let text = tess.get_text().map_err(|e| e.to_string())?;
    let tsv = tess.get_tsv_text(0).map_err(|e| e.to_string())?;
    *engine = Some(tess);
    Ok((text, parse_tsv(&tsv)))
}

/// Tesseract's TSV: level, page, block, par, line, word, left, top, width, height, conf, text.
fn parse_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 12 || cols[0] != "5" || cols[11].trim().is_empty() {
                return None;
            }
            let n = |i: usize| cols[i].parse::<u32>().ok();
            Some(Word {
                x: n(6)?,
                y: n(7)?,
                w: n(8)?,
                h: n(9)?,
                conf: cols[10].parse().unwrap_or(0.0),
                text: cols[11].to_string(),
            })
        })
        .collect()
}
