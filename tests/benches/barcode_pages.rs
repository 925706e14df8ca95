//! Section 5 of `cargo bench --bench reading`: barcodes on scanned pages. The test batches
//! (tests/fixtures/batches) are rendered at 300 dpi gray by pdftoppm, as clerk's reader renders a
//! scan for OCR; each page is then searched by clerk's code (clerk-reader's `marks::look`: linear
//! codes at full resolution, matrix codes at half, patch codes, ink), by the zxing-cpp Python
//! package as a user would call it (`read_barcodes` with its defaults; and with clerk's options, to
//! show where the difference comes from), and by `zbarimg` once per page. Recall counts the codes
//! the batch generator printed (tests/producers/batches/make.sh) that each tool read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../../src/bin/clerk-reader/marks.rs"]
mod marks;

/// The codes each page carries, as the generator printed them: (batch, page) → text.
fn printed() -> BTreeMap<(&'static str, u32), &'static str> {
    let mut m = BTreeMap::new();
    for p in [2, 5] {
        m.insert(("patch-t", p), "T"); // the patch code itself
        m.insert(("fax-code39", p), "PATCHT");
    }
    for p in [2, 5, 7, 9, 14, 16] {
        m.insert(("symbologies", p), "SEPARATOR");
    }
    m.insert(("symbologies", 12), "4006381333931");
    for (p, asn) in [(1, "ASN00123"), (3, "ASN00124"), (7, "ASN00125")] {
        m.insert(("duplex-asn", p), asn);
    }
    m
}

struct Page {
    batch: &'static str,
    number: u32,
    png: PathBuf,
}

fn pages(dir: &Path, repo: &Path) -> Vec<Page> {
    let mut out = vec![];
    for batch in ["patch-t", "fax-code39", "symbologies", "duplex-asn", "blank-separated"] {
        let pdf = repo.join(format!("tests/fixtures/batches/{batch}.pdf"));
        let ok = Command::new("pdftoppm").args(["-r", "300", "-gray", "-png"]).arg(&pdf).arg(dir.join(batch)).status().unwrap();
        assert!(ok.success(), "pdftoppm {}", pdf.display());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    for png in files {
        let stem = png.file_stem().unwrap().to_string_lossy().into_owned();
        let (batch, number) = stem.rsplit_once('-').unwrap();
        let batch = ["patch-t", "fax-code39", "symbologies", "duplex-asn", "blank-separated"].into_iter().find(|b| *b == batch).unwrap();
        out.push(Page { batch, number: number.parse().unwrap(), png });
    }
    out
}

/// (median ms per page, codes read of those printed, other texts read) for one tool's results.
fn score(pages: &[Page], found: &[Vec<String>], ms: &[f64]) -> (f64, usize, usize) {
    let printed = printed();
    let (mut read, mut other) = (0, 0);
    for (page, texts) in pages.iter().zip(found) {
        let want = printed.get(&(page.batch, page.number));
        read += want.is_some_and(|w| texts.iter().any(|t| t == w)) as usize;
        other += texts.iter().filter(|t| Some(&t.as_str()) != want).count();
    }
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], read, other)
}

pub fn run(repo: &Path) {
    println!("\n## 5. Barcodes on scanned pages (300 dpi), one core: clerk vs zxing-cpp (Python) and zbarimg");
    let dir = tempfile::tempdir().unwrap();
    let pages = pages(dir.path(), repo);
    let total = printed().len();
    let images: Vec<image::GrayImage> = pages.iter().map(|p| image::open(&p.png).unwrap().to_luma8()).collect();

    // clerk: the page image is in memory already (the reader drew it for OCR); best of 3.
    let mut clerk_ms = vec![f64::MAX; pages.len()];
    let mut clerk_found = vec![vec![]; pages.len()];
    for _ in 0..3 {
        for (i, img) in images.iter().enumerate() {
            let mut page = clerk::read::Page::default();
            let t = Instant::now();
            marks::look(&mut page, img.as_raw(), img.width(), img.height(), 300.0);
            clerk_ms[i] = clerk_ms[i].min(t.elapsed().as_secs_f64() * 1e3);
            clerk_found[i] = page.barcodes.into_iter().map(|b| b.value).collect();
        }
    }
    let mut rows = vec![("clerk (linear full, matrix half, patch codes, ink)", score(&pages, &clerk_found, &clerk_ms), "")];

    // zxing-cpp's Python package: one process, times taken inside it per page; best of 3.
    let venv = Command::new("bash")
        .arg(repo.join("tests/support/venv.sh"))
        .args(["barcodes-oracle"])
        .arg(repo.join("tests/benches/barcodes/requirements.txt"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(venv) = venv {
        let mut best: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let (mut default_found, mut same_found) = (vec![], vec![]);
        for _ in 0..3 {
            let out = Command::new(venv.join("bin/python"))
                .arg("-W")
                .arg("ignore")
                .arg(repo.join("tests/benches/barcodes/read.py"))
                .args(pages.iter().map(|p| &p.png))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let lines: Vec<serde_json::Value> =
                String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            let texts = |k: &str| -> Vec<Vec<String>> {
                lines.iter().map(|l| l[k].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()).collect()
            };
            (default_found, same_found) = (texts("default"), texts("clerk_options"));
            for key in ["load", "default_read", "clerk_options_read"] {
                let ms: Vec<f64> = lines.iter().map(|l| l[key].as_f64().unwrap() * 1e3).collect();
                let slot = best.entry(key).or_insert_with(|| vec![f64::MAX; ms.len()]);
                for (b, m) in slot.iter_mut().zip(ms) {
                    *b = b.min(m);
                }
            }
        }
        let load: Vec<f64> = best["load"].clone();
        let with_load: Vec<f64> = best["default_read"].iter().zip(&load).map(|(r, l)| r + l).collect();
        rows.push(("zxing-cpp 3.1.1 (Python), defaults", score(&pages, &default_found, &best["default_read"]), "read only"));
        rows.push(("zxing-cpp 3.1.1 (Python), defaults", score(&pages, &default_found, &with_load), "PNG load + read"));
        rows.push(("zxing-cpp 3.1.1 (Python), clerk's formats, no inverted", score(&pages, &same_found, &best["clerk_options_read"]), "read only"));
    } else {
        println!("(the zxing-cpp Python package could not be installed: no comparison with it)");
    }

    // zbarimg, once per page (a process each, as a script would call it); best of 3.
    if Command::new("zbarimg").arg("--version").output().is_ok() {
        let mut ms = vec![f64::MAX; pages.len()];
        let mut found = vec![vec![]; pages.len()];
        for _ in 0..3 {
            for (i, p) in pages.iter().enumerate() {
                let t = Instant::now();
                let out = Command::new("zbarimg").args(["--quiet", "--raw"]).arg(&p.png).output().unwrap();
                ms[i] = ms[i].min(t.elapsed().as_secs_f64() * 1e3);
                found[i] = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
            }
        }
        rows.push(("zbarimg (zbar-tools)", score(&pages, &found, &ms), "PNG load + read, a process per page"));
    } else {
        println!("(zbarimg is not installed: apt-get install zbar-tools)");
    }

    println!("{} pages, {total} codes printed (2 of them Kodak patch codes, which only clerk reads)\n", pages.len());
    println!("| tool | measured | median ms per page | codes read | other texts read | clerk faster by |\n|---|---|---|---|---|---|");
    let clerk = rows[0].1 .0;
    for (tool, (median, read, other), what) in &rows {
        let what = if what.is_empty() { "search on the drawn page" } else { what };
        println!("| {tool} | {what} | {median:.1} | {read} of {total} | {other} | {:.1}× |", median / clerk);
    }
}
