//! Office files drawn as a PDF by LibreOffice, so an agent sees a Word letter or an Excel sheet
//! laid out as its sender saw it. LibreOffice parses the untrusted file, so it runs as a reader
//! does: a process of its own under the same limits (address space, CPU time, a wall-clock
//! deadline, a cap on the size of files it writes), started through `clerk-reader
//! --libreoffice`, which confines it before it becomes LibreOffice (namespaces of its own: no
//! network, its own `/tmp`; landlock: writes only in its work folder). Each conversion gets a
//! fresh folder and profile: nothing a hostile file does to LibreOffice's state outlives it. The
//! PDF it writes is then drawn by a reader like any other PDF.

use super::pool::{confine, ReaderSettings, GRACE};
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

/// What LibreOffice lays out (e-mails and archives it cannot).
pub fn lays_out(media_type: &str) -> bool {
    use super::office::*;
    [DOCX, XLSX, PPTX, ODT, ODS, ODP, RTF, HTML].contains(&media_type)
}

/// The largest PDF LibreOffice may write: a page of a spreadsheet is small, and a bomb that
/// lays out into millions of pages stops here (RLIMIT_FSIZE) rather than filling the disk.
const MAX_PDF: u64 = 256 << 20;

/// The file at `path` (of `media_type`, one [`lays_out`]) as a PDF. `Err` is a sentence for the
/// person looking at the item.
pub async fn to_pdf(settings: &ReaderSettings, path: &Path, media_type: &str) -> Result<Vec<u8>, String> {
    let Some(soffice) = &settings.libreoffice else {
        return Err("LibreOffice is not installed on this server, so this file is shown as its text \
                    (install libreoffice-writer-nogui, libreoffice-calc-nogui and libreoffice-impress-nogui \
                    to see its pages)"
            .into());
    };
    let failed = |e: std::io::Error| format!("LibreOffice could not be started to draw this file: {e}");
    let work = tempfile::Builder::new().prefix("clerk-libreoffice-").tempdir().map_err(failed)?;
    for dir in ["out", "tmp", "profile"] {
        std::fs::create_dir(work.path().join(dir)).map_err(failed)?;
    }
    // LibreOffice picks its import filter by the file's extension as much as by its bytes.
    let name = format!("document.{}", super::office::extension(media_type));
    tokio::fs::copy(path, work.path().join(&name)).await.map_err(failed)?;

    let limits = settings.limits;
    let mut cmd = Command::new(&settings.program);
    cmd.arg("--libreoffice").arg(soffice).arg(work.path()).arg(&name);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // Its own process group: the whole of LibreOffice (oosplash and soffice.bin) is killed at
    // the deadline.
    confine(
        &mut cmd,
        vec![
            (libc::RLIMIT_AS, limits.max_memory),
            (libc::RLIMIT_CPU, limits.max_seconds.max(1)),
            (libc::RLIMIT_FSIZE, MAX_PDF),
        ],
    );
    let mut child = cmd.spawn().map_err(failed)?;
    let group = child.id().unwrap_or(0) as i32;
    let mut stderr = child.stderr.take().expect("piped");
    let said = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut text = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut text).await;
        String::from_utf8_lossy(&text).into_owned()
    });
    let deadline = Duration::from_secs(limits.max_seconds) + GRACE;
    let status = tokio::time::timeout(deadline, child.wait()).await;
    // Whatever LibreOffice left running (a hung soffice.bin after oosplash ended) goes with it.
    if group > 0 {
        // SAFETY: signals the process group this conversion started, and nothing else.
        unsafe { libc::killpg(group, libc::SIGKILL) };
    }
    let status = match status {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(failed(e)),
        Err(_) => {
            let _ = child.kill().await;
            let said = tokio::time::timeout(Duration::from_secs(1), said).await.ok().and_then(Result::ok).unwrap_or_default();
            tracing::warn!(stderr = %said.trim(), "LibreOffice was stopped at its deadline");
            return Err(format!(
                "LibreOffice did not finish drawing this file within {} seconds (limits.max_seconds); it is shown as its text",
                limits.max_seconds
            ));
        }
    };
    let said = said.await.unwrap_or_default();
    let pdf = work.path().join("out/document.pdf");
    match tokio::fs::read(&pdf).await {
        Ok(bytes) if status.success() && bytes.starts_with(b"%PDF-") => Ok(bytes),
        _ => {
            tracing::warn!(status = %status, stderr = %said.trim(), "LibreOffice did not convert a file");
            Err(why_not(status, &said, media_type))
        }
    }
}

/// A sentence for a conversion that wrote no PDF.
fn why_not(status: std::process::ExitStatus, said: &str, media_type: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let what = match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) => "it ran out of time (limits.max_seconds)".to_string(),
        Some(libc::SIGXFSZ) => format!("the PDF it wrote grew past {}", super::pool::human_bytes(MAX_PDF)),
        Some(libc::SIGSEGV) | Some(libc::SIGABRT) | Some(libc::SIGBUS) if said.contains("alloc") => {
            "it ran out of memory (limits.max_memory)".to_string()
        }
        Some(sig) => format!("it crashed (signal {sig})"),
        // LibreOffice says "Error: source file could not be loaded" and exits 0 or 1 when no
        // filter takes the file, or when the application for it (Impress) is not installed.
        None if said.contains("no export filter") || said.contains("could not be loaded") => format!(
            "LibreOffice cannot open it{}",
            if media_type == super::office::PPTX || media_type == super::office::ODP {
                " (is libreoffice-impress-nogui installed?)"
            } else {
                " (the file is damaged or not what its name says)"
            }
        ),
        None => "it wrote no PDF".to_string(),
    };
    format!("this file could not be drawn as pages: {what}; it is shown as its text")
}
