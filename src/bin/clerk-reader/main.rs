//! clerk-reader: reads documents for the clerk daemon, one at a time, in a process of its own.
//!
//! The daemon starts a few of these (`src/read/pool.rs`) and sends each a document over stdin;
//! the reader answers on stdout with pages of text and word boxes, or a sentence saying why the
//! file cannot be read. Everything that parses untrusted bytes (poppler for PDFs, the image
//! decoders, tesseract) runs here, under limits: the daemon caps the address space before exec,
//! the reader caps its own CPU time before each document, cannot open a network connection,
//! write a file or start a program (landlock and seccomp where the kernel has them), and checks
//! the cheaper limits (pages, pixels, operators per page) itself so most hostile files end with a
//! precise reason before the kernel has to step in.
//!
//! It is a separate executable, not a mode of `clerk`, so the daemon never maps poppler or
//! tesseract at all: a smaller resident daemon, and the GPL-licensed poppler stays in a program
//! that talks to clerk over a pipe.

mod image;
mod marks;
mod ocr;
mod part;
mod pdf;
mod sandbox;
mod tiff_part;

use clerk::read::protocol::{self, Reply, Request};
use clerk::read::{Extracted, Page, Unreadable};
use ::image::ImageEncoder;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    if std::env::args().nth(1).is_some_and(|a| a == "--version") {
        println!("clerk-reader {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if std::env::args().nth(1).is_some_and(|a| a == "--libreoffice") {
        return libreoffice(std::env::args_os().skip(2).collect());
    }
    sandbox::enter();
    keep_freed_memory();
    pdf::init();
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    if output.write_all(protocol::READY).and_then(|_| output.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    let mut engine = ocr::Engine::default();
    serve(&mut input, &mut output, &mut engine)
}

/// `--libreoffice SOFFICE WORK NAME`: converts the file NAME in the folder WORK to a PDF in
/// WORK/out with LibreOffice, confined first (`sandbox::confine_libreoffice`) and then replaced
/// by LibreOffice, which keeps the confinement; the pool set its limits before. LibreOffice
/// starts programs and opens local sockets, so the reader's seccomp filter is not applied here.
fn libreoffice(args: Vec<std::ffi::OsString>) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let [soffice, work, name] = args.as_slice() else {
        eprintln!("usage: clerk-reader --libreoffice SOFFICE WORK NAME");
        return ExitCode::FAILURE;
    };
    let work = sandbox::confine_libreoffice(std::path::Path::new(work));
    let profile = format!("-env:UserInstallation=file://{}", work.join("profile").display());
    let error = std::process::Command::new(soffice)
        .arg(profile)
        .args(["--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault", "--convert-to", "pdf", "--outdir"])
        .arg(work.join("out"))
        .arg(work.join(name))
        .env("HOME", &work)
        .env("TMPDIR", work.join("tmp"))
        // The daemon's own folder may be hidden under the new /tmp.
        .current_dir(&work)
        .exec();
    eprintln!("clerk-reader: cannot start LibreOffice ({}): {error}", std::path::Path::new(soffice).display());
    ExitCode::FAILURE
}

/// Buffers of a document's size (its bytes, its text) are allocated for every document; glibc
/// maps each one over 128 KiB afresh and returns it on free, so every document paid a page fault
/// per 4 KiB twice over. Kept in the heap instead, the pages are reused. The address-space limit
/// still bounds the reader, and the pool replaces a reader whose resident size grew large.
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

fn serve(input: &mut impl Read, output: &mut impl Write, engine: &mut ocr::Engine) -> ExitCode {
    loop {
        let (request, mut bytes) = match protocol::read_request(input, u64::MAX) {
            Ok(Some(r)) => r,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("clerk-reader: bad request from the daemon: {e}");
                return ExitCode::FAILURE;
            }
        };
        sandbox::limit_cpu_for_next(request.limits.max_seconds);
        if let Some(path) = &request.path {
            bytes = match read_file(path, request.limits.max_file_size) {
                Ok(b) => b,
                Err(reason) => {
                    if send(output, &Reply::Unreadable(reason), request.limits.max_file_size).is_err() {
                        return ExitCode::FAILURE;
                    }
                    continue;
                }
            };
        }
        // A bug in clerk's own code must cost this document only, with a sentence; the engine
        // may be in any state afterwards, so it is dropped.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match (request.render, &request.part) {
            (Some(page), _) => render(&bytes, &request, page).map(Reply::Image),
            (None, Some(pages)) => cut(&bytes, &request, pages).map(Reply::Part),
            (None, None) => read(&bytes, &request, engine).map(Reply::Read),
        }));
        let reply = match result {
            Ok(Ok(x)) => x,
            Ok(Err(u)) => Reply::Unreadable(u.0),
            Err(_) => {
                *engine = ocr::Engine::default();
                Reply::Unreadable(
                    "clerk could not read this file: the reader failed on it (an internal error, logged)".into(),
                )
            }
        };
        if send(output, &reply, request.limits.max_file_size).is_err() {
            return ExitCode::FAILURE;
        }
    }
}

fn send(output: &mut impl Write, reply: &Reply, max_file_size: u64) -> std::io::Result<()> {
    output.write_all(&protocol::encode_reply(reply, max_file_size))?;
    output.flush()
}

/// Pages of a PDF or TIFF batch as a file of their own, of the same kind.
fn cut(bytes: &[u8], request: &Request, pages: &[u32]) -> Result<Vec<u8>, Unreadable> {
    // Fault injection for the test of a kill while a batch is cut: each part takes this many
    // milliseconds longer, so the kill lands while the daemon is cutting, whatever the machine.
    if let Some(ms) = std::env::var("CLERK_READER_SLOW_PART").ok().and_then(|s| s.parse().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    match clerk::read::precheck(bytes, bytes.len() as u64, &request.name, &request.limits)? {
        "application/pdf" => part::cut(bytes, pages),
        "image/tiff" => tiff_part::cut(bytes, pages, request.limits.max_pages),
        _ => Err(Unreadable("clerk cuts batches that are PDFs or TIFFs; this file is neither".into())),
    }
}

/// The document named by the daemon, refused past the size limit before it is read.
fn read_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, String> {
    let unreadable = |e: std::io::Error| {
        eprintln!("clerk-reader: {}: {e}", path.display());
        "clerk could not open the stored file to read it (see the log)".to_string()
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    if size > max {
        return Err(format!("the file is {size} bytes, over the limit of {max} bytes (limits.max_file_size)"));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max).read_to_end(&mut bytes).map_err(unreadable)?;
    Ok(bytes)
}

/// Draws one page for people: at most 1600 pixels wide, as a PNG.
fn render(bytes: &[u8], request: &Request, page: u32) -> Result<protocol::PageImage, Unreadable> {
    let limits = &request.limits;
    let deadline = Instant::now() + Duration::from_secs(limits.max_seconds);
    let media_type = clerk::read::precheck(bytes, bytes.len() as u64, &request.name, limits)?;
    let (gray, width_pt, height_pt, pages) = match media_type {
        "application/pdf" => pdf::preview(bytes, page, limits, deadline)?,
        "text/plain" => return Err(Unreadable("a text file has no page image; see its text".into())),
        "application/xml" => return Err(Unreadable("an XML e-invoice has no page image; see its rendering".into())),
        t if clerk::read::office::TYPES.contains(&t) => {
            return Err(Unreadable("clerk shows Office files, HTML and e-mails as their text; open the original to see its layout".into()))
        }
        _ => {
            let images = image::decode_all(bytes, media_type, limits)?;
            let count = images.len();
            let img = images
                .into_iter()
                .nth(page.max(1) as usize - 1)
                .filter(|_| page > 0)
                .ok_or_else(|| Unreadable(format!("the image has {count} page(s); there is no page {page}")))?;
            let (w, h) = img.dimensions();
            let pt = |px: u32| px as f64 * 72.0 / ocr::IMAGE_DPI;
            (img, pt(w), pt(h), count as u32)
        }
    };
    // As OCR read it: the word boxes of a page read turned are on the turned page.
    let (gray, width_pt, height_pt) = match request.turn {
        90 => (::image::imageops::rotate90(&gray), height_pt, width_pt),
        180 => (::image::imageops::rotate180(&gray), width_pt, height_pt),
        270 => (::image::imageops::rotate270(&gray), height_pt, width_pt),
        _ => (gray, width_pt, height_pt),
    };
    let mut gray = gray;
    if gray.width() > 1600 {
        let h = (gray.height() as u64 * 1600 / gray.width() as u64).max(1) as u32;
        gray = ::image::imageops::resize(&gray, 1600, h, ::image::imageops::FilterType::Triangle);
    }
    let mut png = Vec::new();
    ::image::codecs::png::PngEncoder::new(&mut png)
        .write_image(gray.as_raw(), gray.width(), gray.height(), ::image::ExtendedColorType::L8)
        .map_err(|e| Unreadable(format!("page {page} could not be drawn: {e}")))?;
    Ok(protocol::PageImage { png, width_pt, height_pt, pages })
}

fn read(bytes: &[u8], request: &Request, engine: &mut ocr::Engine) -> Result<Extracted, Unreadable> {
    // Fault injection for the tests of what a crash costs: a document whose name contains this
    // string crashes the reader as a bug in a decoder would.
    if std::env::var("CLERK_READER_CRASH_ON").is_ok_and(|s| !s.is_empty() && request.name.contains(&s)) {
        // SAFETY: restores the default action (std's handler only looks for stack overflows)
        // and raises the signal in this process, which ends it.
        unsafe {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
            libc::raise(libc::SIGSEGV);
        }
    }
    let limits = &request.limits;
    let deadline = Instant::now() + Duration::from_secs(limits.max_seconds);
    let media_type = clerk::read::precheck(bytes, bytes.len() as u64, &request.name, limits)?;
    engine.languages(&request.languages);
    if media_type == "application/xml" {
        let invoice = clerk::read::einvoice::parse(bytes)?;
        let text = clerk::invoice::render::text(&invoice);
        let page = Page { number: 1, text, ..Page::default() };
        let einvoice = clerk::read::EInvoice { invoice, source: "xml".into(), relationship: None };
        return Ok(Extracted { media_type: media_type.to_string(), pages: vec![page], einvoice: Some(Box::new(einvoice)), tables: vec![] });
    }
    if clerk::read::office::TYPES.contains(&media_type) {
        let office = clerk::read::office::read(bytes, media_type, limits)?;
        return Ok(Extracted { media_type: office.media_type.to_string(), pages: office.pages, einvoice: None, tables: office.tables });
    }
    let mut einvoice = None;
    let pages = match media_type {
        "application/pdf" => {
            let (pages, embedded) = pdf::read(bytes, limits, deadline, engine, request.barcodes_on_text_pages)?;
            einvoice = embedded.map(Box::new);
            pages
        }
        "text/plain" => vec![Page { number: 1, text: String::from_utf8_lossy(bytes).into_owned(), ..Page::default() }],
        _ => {
            let images = image::decode_all(bytes, media_type, limits)?;
            let mut pages = Vec::with_capacity(images.len());
            for (i, img) in images.into_iter().enumerate() {
                let (img, dpi) = image::fit_for_ocr(img, ocr::IMAGE_DPI, limits);
                let (w, h) = img.dimensions();
                let mut page = engine.page(i as u32 + 1, img.as_raw(), w, h, w, dpi)?;
                marks::look(&mut page, img.as_raw(), w, h, dpi);
                pages.push(page);
            }
            pages
        }
    };
    Ok(Extracted { media_type: media_type.to_string(), pages, einvoice, tables: vec![] })
}
