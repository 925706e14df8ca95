//! Office files, HTML and mail as suppliers send them (tests/fixtures/producers/office-*, made
//! by tests/producers/office/make.sh: LibreOffice Writer and Calc, openpyxl, python-docx,
//! python-pptx, Python's email package), and an Outlook message: each recognised with its fields
//! through `clerk classify` and through the daemon, its text what docx2txt and odt2txt read, and
//! a spreadsheet's rows handed to a bot.

mod support;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

fn office_fixtures() -> Vec<PathBuf> {
    let dir = repo().join("tests/fixtures/producers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("office-"))
        .collect();
    files.sort();
    files
}

/// An Outlook message as Outlook stores one: MAPI properties as UTF-16 streams in a compound
/// file, the attachment in a storage of its own. No program on this machine writes `.msg`, so it
/// is laid out here by the format's specification ([MS-OXMSG]).
fn outlook_message(body: &str) -> Vec<u8> {
    use std::io::Write;
    let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let put = |file: &mut cfb::CompoundFile<_>, path: &str, bytes: &[u8]| {
        file.create_stream(path).unwrap().write_all(bytes).unwrap();
    };
    put(&mut file, "/__properties_version1.0", &[0u8; 32]);
    put(&mut file, "/__substg1.0_0037001F", &utf16("Invoice INV-7731"));
    put(&mut file, "/__substg1.0_0C1A001F", &utf16("Umbrella Office Supplies"));
    put(&mut file, "/__substg1.0_0C1F001F", &utf16("billing@umbrella.example"));
    put(&mut file, "/__substg1.0_0E04001F", &utf16("Accounts payable"));
    put(&mut file, "/__substg1.0_1000001F", &utf16(body));
    file.create_storage("/__attach_version1.0_#00000000").unwrap();
    put(&mut file, "/__attach_version1.0_#00000000/__substg1.0_3707001F", &utf16("terms.pdf"));
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// The invoice's text as the HTML says it, for the mail body.
fn invoice_text() -> String {
    let out = Command::new(CLERK).args(["text"]).arg(repo().join("tests/fixtures/producers/office-invoice.html")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_once("<==\n").map(|(_, t)| t.to_string()).unwrap_or(text)
}

fn assert_the_invoice(a: &Value) {
    let file = a["file"].as_str().unwrap_or("?");
    assert_eq!(a["status"], "recognised", "{file}: {a}");
    assert_eq!(a["doctype"], "invoice", "{file}");
    assert_eq!(a["fields"]["invoice_number"], "INV-7731", "{file}: {a}");
    assert_eq!(a["fields"]["total"], "163.03", "{file}: {a}");
    assert_eq!(a["fields"]["issue_date"], "2024-06-03", "{file}: {a}");
}

#[test]
fn every_office_producer_s_invoice_is_recognised_with_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = office_fixtures();
    let kinds = ["docx", "xlsx", "pptx", "odt", "ods", "rtf", "html", "eml"];
    for kind in kinds {
        assert!(files.iter().any(|f| f.extension().unwrap() == kind), "a fixture of each kind: {kind} missing in {files:?}");
    }
    let msg = dir.path().join("office-outlook.msg");
    std::fs::write(&msg, outlook_message(&invoice_text())).unwrap();
    files.push(msg);
    let answers = classify_json(&repo().join("bots"), dir.path(), &files);
    assert_eq!(answers.len(), files.len());
    for a in &answers {
        assert_the_invoice(a);
    }
}

/// Letters and digits in order: the tools lay whitespace, headings and cells out differently,
/// but must read the same characters in the same order.
fn characters(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// A tool's text of `file` on its standard output (`-` as `after` where the tool needs it).
fn tool(program: &str, file: &Path, after: &[&str]) -> Option<String> {
    let out = Command::new(program).arg(file).args(after).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_text_is_what_docx2txt_and_odt2txt_read() {
    if Command::new("odt2txt").arg("--version").output().is_err() || Command::new("docx2txt").arg("-h").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI must have docx2txt and odt2txt (tests/run.sh installs them)");
        eprintln!("skipped: docx2txt or odt2txt is not installed");
        return;
    }
    let mut compared = 0;
    for file in office_fixtures() {
        let oracle = match file.extension().unwrap().to_str().unwrap() {
            "docx" => tool("docx2txt", &file, &["-"]),
            "odt" | "ods" => tool("odt2txt", &file, &[]),
            _ => continue,
        }
        .unwrap();
        let out = Command::new(CLERK).args(["text", "--json"]).arg(&file).output().unwrap();
        let read: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        let ours: String = read["pages"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()).collect::<Vec<_>>().join("\n");
        assert_eq!(characters(&ours), characters(&oracle), "{}", file.display());
        compared += 1;
    }
    assert!(compared >= 4, "docx and OpenDocument fixtures compared: {compared}");
}

#[test]
fn office_files_through_the_daemon_are_recognised_and_a_sheet_s_rows_reach_a_bot() {
    let mut d = Daemon::new("");
    // Only this test's bot runs on invoices (the bundled one posts to an ERP).
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    let out = d.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        d.definitions.join("invoice-rows.yml"),
        format!(
            "bot: invoice-rows\non: {{ doctype: invoice, when: \"{{{{ doc.tables | length > 0 }}}}\" }}\nsteps:\n  - id: write\n    file:\n      write: \"{}/{{{{ doc.name }}}}.csv\"\n      columns: [label, value, sheets]\n      rows:\n        - {{ label: \"{{{{ doc.tables[0].rows[3][0] }}}}\", value: \"{{{{ doc.tables[0].rows[3][1] }}}}\", sheets: \"{{{{ doc.tables | length }}}}\" }}\n",
            out.display()
        ),
    )
    .unwrap();
    d.spawn();
    let files = office_fixtures();
    for f in &files {
        d.drop_file(f.file_name().unwrap().to_str().unwrap(), &std::fs::read(f).unwrap());
    }
    d.drop_file("office-outlook.msg", &outlook_message(&invoice_text()));
    let docs = d.wait_settled(files.len() + 1);
    for doc in &docs {
        let name = doc["original_name"].as_str().unwrap();
        assert_eq!(doc["status"], "recognised", "{name}: {doc}");
        let full = d.document(doc["id"].as_i64().unwrap());
        assert_eq!(full["fields"]["invoice_number"], "INV-7731", "{name}");
        assert_eq!(full["fields"]["total"], "163.03", "{name}");
    }
    // The workbook's first sheet, row 4: the label and the value beside it; two sheets.
    let written = out.join("office-openpyxl.xlsx.csv");
    d.wait_until("the bot's file", Duration::from_secs(60), |_| written.exists());
    let csv = std::fs::read_to_string(&written).unwrap();
    assert!(csv.contains("Invoice No:,INV-7731,2"), "{csv}");
}

#[test]
fn a_message_no_type_knows_goes_to_an_agent_who_sees_its_text() {
    let mut d = Daemon::new("");
    d.spawn();
    d.drop_file("letter.msg", &outlook_message("Dear customer,\nour office moves to Hafenstrasse 14 on 1 July.\nKind regards"));
    d.wait_settled(1);
    let item = d.exceptions().into_iter().next().expect("an exception item");
    assert_eq!(item["kind"], "unrecognised", "{item}");
    let html = d.item_page(&item);
    assert!(html.contains("class=\"rendering\"") && html.contains("our office moves to Hafenstrasse 14"), "{html}");
    assert!(html.contains("Attachments: terms.pdf"), "{html}");
}

/// Whether LibreOffice is here to draw Office files (CI installs it; a developer's machine may not).
fn libreoffice() -> bool {
    let here = Command::new("soffice").arg("--version").output().is_ok_and(|o| o.status.success());
    if !here {
        assert!(std::env::var("CI").is_err(), "LibreOffice (soffice) is missing on CI");
        eprintln!("skipped: LibreOffice (soffice) is not installed");
    }
    here
}

/// A letter no type knows, long enough for two pages, written by LibreOffice Writer as a .docx.
fn letter_docx(dir: &Path) -> PathBuf {
    let txt = dir.join("letter.txt");
    let mut text = String::from("Dear customer,\n\nour office moves to Hafenstrasse 14 on 1 July.\n\n");
    for n in 1..=90 {
        text.push_str(&format!("Paragraph {n}: from that day, parcels and visits go to the new address.\n"));
    }
    std::fs::write(&txt, text).unwrap();
    let out = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}/profile-writer", dir.display()))
        .args(["--headless", "--convert-to", "docx:MS Word 2007 XML", "--outdir"])
        .arg(dir)
        .arg(&txt)
        .output()
        .unwrap();
    let docx = dir.join("letter.docx");
    assert!(docx.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    docx
}

/// Pages of a PDF as poppler counts them.
fn pdf_pages(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&out.stdout);
    info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).expect("pdfinfo's page count")
}

#[test]
fn an_office_file_an_agent_opens_is_drawn_page_for_page_as_libreoffice_lays_it_out() {
    if !libreoffice() {
        return;
    }
    let mut d = Daemon::new("");
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    d.spawn();
    let docx = letter_docx(d.dir.path());
    // The oracle: LibreOffice's own PDF of the same file, counted by poppler.
    let oracle = d.dir.path().join("oracle");
    let out = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}/profile-oracle", d.dir.path().display()))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&oracle)
        .arg(&docx)
        .output()
        .unwrap();
    let expected = pdf_pages(&oracle.join("letter.pdf"));
    assert!(expected >= 2, "the letter should run over two pages: {}", String::from_utf8_lossy(&out.stderr));

    d.drop_file("letter.docx", &std::fs::read(&docx).unwrap());
    for name in ["office-openpyxl.xlsx", "office-python-pptx.pptx"] {
        d.drop_file(name, &std::fs::read(repo().join("tests/fixtures/producers").join(name)).unwrap());
    }
    d.wait_settled(3);
    let item = d.exceptions().into_iter().find(|i| i["kind"] == "unrecognised").expect("the letter's item");
    let html = d.item_page(&item).replace("&#x2f;", "/");
    let doc = item["document_id"].as_i64().unwrap();
    let shown = (1..=20).filter(|n| html.contains(&format!("/api/v1/documents/{doc}/pages/{n}/image"))).count();
    assert_eq!(shown, expected, "page images on the item page: {html}\n{}", d.log());
    assert!(!html.contains("class=\"rendering\""), "drawn, not shown as text: {html}");

    // Each page as a PNG the size of the page LibreOffice laid out (A4 or Letter, in points).
    let token = d.user_with_token("ops-pages", "ops", "pw-ops-pages-1");
    let auth = format!("Bearer {token}");
    let addr = d.http().trim_start_matches("http://").to_string();
    for n in 1..=expected {
        let r = api::call(&addr, "GET", &format!("/api/v1/documents/{doc}/pages/{n}/image"), &[("Authorization", &auth)], None);
        assert_eq!(r.status, 200, "page {n}: {r:?}");
        assert_eq!(r.header("content-type"), Some("image/png"));
        let width: f64 = r.header("x-page-width-pt").unwrap().parse().unwrap();
        assert!((594.0..=613.0).contains(&width), "page {n} is {width} pt wide");
    }
    // A workbook and a presentation are drawn too, though they went straight through (ops may
    // look at any document).
    for name in ["office-openpyxl.xlsx", "office-python-pptx.pptx"] {
        let doc = d.by_name(name);
        let r = api::call(&addr, "GET", &format!("/api/v1/documents/{}/pages/1/image", doc["id"]), &[("Authorization", &auth)], None);
        assert_eq!(r.status, 200, "{name}: {r:?}");
        assert!(image::load_from_memory(&r.bytes).is_ok(), "{name}: a PNG");
    }
    assert!(!d.log().contains("did not convert"), "{}", d.log());
}

/// A stand-in for LibreOffice that does what a hostile file could make it do: write outside its
/// folder, then hang. It is confined (the write fails) and stopped at the deadline, with a
/// sentence for the agent, who sees the file's text; the daemon goes on.
#[test]
fn libreoffice_writes_only_in_its_own_folder_and_is_stopped_at_the_deadline() {
    if !libreoffice() {
        return;
    }
    // Outside /tmp, which LibreOffice does not see (it gets one of its own).
    let outside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let escaped = outside.path().join("escaped");
    let fake = outside.path().join("soffice");
    std::fs::write(&fake, format!("#!/bin/sh\necho fake LibreOffice started >&2\necho out > {}\nexec sleep 3600\n", escaped.display())).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut d = Daemon::new(&format!("[readers]\nlibreoffice = '{}'\n[limits]\nmax_seconds = '2s'\n", fake.display()));
    d.spawn();
    let docx = letter_docx(d.dir.path());
    d.drop_file("letter.docx", &std::fs::read(&docx).unwrap());
    d.wait_settled(1);
    let item = d.exceptions().into_iter().next().expect("the letter's item");
    let html = d.item_page(&item);
    assert!(html.contains("LibreOffice did not finish drawing this file within 2 seconds"), "{html}");
    assert!(html.contains("class=\"rendering\"") && html.contains("our office moves to Hafenstrasse 14"), "{html}");
    assert!(!escaped.exists(), "LibreOffice wrote outside its folder");
    let log = d.log();
    assert!(log.contains("fake LibreOffice started") && log.contains("Permission denied"), "{log}");
    // Nothing of it is left running.
    let running = std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
        std::fs::read(p.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x003600\x00")
    });
    assert!(!running, "LibreOffice's processes were left running");
    // A second look does not start it again: the sentence is remembered.
    let html = d.item_page(&item);
    assert!(html.contains("did not finish drawing"), "{html}");
    assert_eq!(d.log().matches("fake LibreOffice started").count(), 1, "started once for two looks");
    assert!(d.is_running());
}

#[test]
fn without_libreoffice_an_office_file_is_shown_as_its_text_with_a_sentence() {
    let mut d = Daemon::new("[readers]\nlibreoffice = ''\n");
    d.spawn();
    let dir = tempfile::tempdir().unwrap();
    let bytes = if libreoffice() {
        std::fs::read(letter_docx(dir.path())).unwrap()
    } else {
        return;
    };
    d.drop_file("letter.docx", &bytes);
    d.wait_settled(1);
    let item = d.exceptions().into_iter().next().expect("the letter's item");
    let html = d.item_page(&item);
    assert!(html.contains("LibreOffice is not installed on this server"), "{html}");
    assert!(html.contains("our office moves to Hafenstrasse 14"), "{html}");
}
