//! `cargo bench --bench invoice2data` — clerk against invoice2data 1.0.1 (the pinned pip install,
//! tests/oracle) with the 215 community templates loaded in both, in the same run, on one core
//! (this process and every child are pinned to CPU 0):
//!   1. start-up: `clerk check` (load and check every template) and `clerk classify` of one small
//!      text as whole processes; invoice2data importing itself and reading the templates (its own
//!      timer), and its whole process;
//!   2. steady state on 100 PDFs (texts generated from 100 templates' own regexes, typeset by
//!      ReportLab): files/s after start-up — clerk as (T(100 files) − T(1 file)) / 99 in two
//!      runs of `clerk classify`, invoice2data timed inside one process around `extract_data`
//!      with its pdftotext reader;
//!   3. the whole batch, start-up included: `clerk classify` against the `invoice2data` command
//!      on the same 100 files, wall time and peak memory (GNU time's maximum resident size).
//!
//! Each figure is the median of 3 runs.

#[path = "pin.rs"]
mod pin;
#[path = "../support/template_texts.rs"]
mod template_texts;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `cmd` under GNU time: (wall seconds, peak resident KB of it and its children).
fn timed(cmd: &mut Command) -> (f64, u64) {
    run_timed(cmd, true)
}

/// As `timed`, for a command whose exit status says something else (`clerk check` exits 1 on the
/// two templates invoice2data cannot run either).
fn timed_allowing_failure(cmd: &mut Command) -> (f64, u64) {
    run_timed(cmd, false)
}

fn run_timed(cmd: &mut Command, must_succeed: bool) -> (f64, u64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut t = Command::new("/usr/bin/time");
    t.args(["-f", "%M", "-o"]).arg(report.path()).arg(program).args(args);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            t.env(k, v);
        }
    }
    let start = Instant::now();
    let out = t.output().expect("GNU time (apt-get install time)");
    let wall = start.elapsed().as_secs_f64();
    assert!(!must_succeed || out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    let kb = std::fs::read_to_string(report.path()).unwrap_or_default().trim().lines().last().unwrap_or("0").parse().unwrap_or(0);
    (wall, kb)
}

fn clerk(templates: &Path, files: &[PathBuf]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clerk"));
    c.args(["classify", "--json", "--definitions"]).arg(templates).args(files).env("CLERK_LOG", "error");
    c
}

fn main() {
    pin::to_one_core();
    let templates = repo().join("tests/fixtures/invoice2data-templates");
    let setup = Command::new("bash").arg(repo().join("tests/oracle/setup.sh")).output().unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let python = PathBuf::from(String::from_utf8_lossy(&setup.stdout).trim());
    let invoice2data_cmd = python.with_file_name("invoice2data");

    let work = tempfile::tempdir().unwrap();
    let texts = template_texts::write_texts(&templates, work.path());
    let texts: Vec<PathBuf> = texts.into_iter().take(100).collect();
    let pdf_dir = work.path().join("pdf");
    let st = Command::new(&python).arg(repo().join("tests/oracle/typeset.py")).arg(&pdf_dir).args(&texts).status().unwrap();
    assert!(st.success());
    let pdfs: Vec<PathBuf> = texts.iter().map(|t| pdf_dir.join(format!("{}.pdf", t.file_stem().unwrap().to_string_lossy()))).collect();
    println!("{} templates; {} PDFs typeset by ReportLab from texts generated from their regexes; one core\n", 215, pdfs.len());

    // 1. Start-up.
    let tiny = work.path().join("tiny.txt");
    std::fs::write(&tiny, "nothing to see\n").unwrap();
    let (mut check, mut check_kb, mut one, mut one_kb, mut i2d, mut i2d_wall, mut i2d_kb) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clerk"));
        c.args(["check", "--definitions"]).arg(&templates).env("CLERK_LOG", "error");
        let (w, kb) = timed_allowing_failure(&mut c);
        check.push(w * 1000.0);
        check_kb.push(kb as f64 / 1024.0);
        let (w, kb) = timed(&mut clerk(&templates, std::slice::from_ref(&tiny)));
        one.push(w * 1000.0);
        one_kb.push(kb as f64 / 1024.0);
        let report = tempfile::NamedTempFile::new().unwrap();
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"]).arg(report.path()).arg(&python).arg(repo().join("tests/oracle/invoice2data_bench.py")).arg(&templates);
        let start = Instant::now();
        let out = c.output().unwrap();
        i2d_wall.push(start.elapsed().as_secs_f64() * 1000.0);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        i2d.push(v["startup"].as_f64().unwrap() * 1000.0);
        i2d_kb.push(std::fs::read_to_string(report.path()).unwrap().trim().parse::<f64>().unwrap_or(0.0) / 1024.0);
    }
    println!("| start-up, 215 templates | clerk | invoice2data 1.0.1 | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| load every template (`clerk check`; invoice2data: import + read_templates) | {:.0} ms, peak {:.1} MB | {:.0} ms, peak {:.1} MB | {:.1}× faster |",
        median(check.clone()),
        median(check_kb),
        median(i2d.clone()),
        median(i2d_kb),
        median(i2d) / median(check)
    );
    println!(
        "| whole process to a first result (`clerk classify` one small text, with its reader; python start-up to templates read) | {:.0} ms, peak {:.1} MB | {:.0} ms | {:.1}× faster |",
        median(one.clone()),
        median(one_kb),
        median(i2d_wall.clone()),
        median(i2d_wall) / median(one)
    );

    // 2 and 3. Steady state and the whole batch.
    let mut c1 = vec![];
    let mut c100 = vec![];
    let mut c100_kb = vec![];
    let mut i_steady = vec![];
    let mut i_batch = vec![];
    let mut i_batch_kb = vec![];
    let mut recognised = (0, 0);
    for _ in 0..3 {
        c1.push(timed(&mut clerk(&templates, &pdfs[..1])).0);
        let out = clerk(&templates, &pdfs).output().unwrap();
        recognised.0 = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("\"status\":\"recognised\"")).count();
        let (w, kb) = timed(&mut clerk(&templates, &pdfs));
        c100.push(w);
        c100_kb.push(kb as f64 / 1024.0);
        let out = Command::new(&python)
            .arg(repo().join("tests/oracle/invoice2data_bench.py"))
            .arg(&templates)
            .args(&pdfs)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        i_steady.push(v["files"].as_f64().unwrap() / v["files_seconds"].as_f64().unwrap());
        recognised.1 = v["recognised"].as_u64().unwrap_or(0) as usize;
        let out_json = work.path().join("i2d-out");
        let (w, kb) = timed(
            Command::new(&invoice2data_cmd)
                .args(["--input-reader", "pdftotext", "--exclude-built-in-templates", "--output-format", "json", "--output-name"])
                .arg(&out_json)
                .arg("--template-folder")
                .arg(&templates)
                .args(&pdfs),
        );
        i_batch.push(w);
        i_batch_kb.push(kb as f64 / 1024.0);
    }
    let n = pdfs.len() as f64;
    let clerk_steady = (n - 1.0) / (median(c100.clone()) - median(c1)).max(1e-6);
    println!("\n| 100 PDFs | clerk | invoice2data 1.0.1 | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| steady state, after start-up | {clerk_steady:.0} files/s | {:.1} files/s | {:.1}× |",
        median(i_steady.clone()),
        clerk_steady / median(i_steady)
    );
    println!(
        "| whole batch, start-up included | {:.2} s | {:.2} s | {:.1}× |",
        median(c100.clone()),
        median(i_batch.clone()),
        median(i_batch) / median(c100)
    );
    println!("| peak memory, whole batch | {:.1} MB (clerk and its reader) | {:.1} MB | |", median(c100_kb), median(i_batch_kb));
    println!("| documents recognised with all required fields | {} | {} | |", recognised.0, recognised.1);
}
