//! Bad input: each ends as an exception item with a reason a person understands, the original
//! bytes are kept, and the daemon keeps running and processing what comes after.

mod support;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;
use support::*;

fn reason_of(d: &Daemon, name: &str) -> (String, String) {
    let doc = d.by_name(name);
    assert_eq!(doc["status"], "exception", "{name}: {doc:#}");
    let e = &doc["exceptions"][0];
    (e["kind"].as_str().unwrap().to_string(), e["reason"].as_str().unwrap().to_string())
}

#[test]
fn broken_files_become_unreadable_exceptions_and_the_daemon_goes_on() {
    let mut d = Daemon::start();
    let cases = [
        ("empty.pdf", "empty (0 bytes)"),
        ("truncated.pdf", "damaged or truncated"),
        ("junk.pdf", "although its name ends in .pdf"),
        ("encrypted.pdf", "encrypted with a password"),
        ("huge-60000x60000.png", "60000×60000 pixels"),
        ("corrupt.tiff", "TIFF file is damaged or truncated"),
    ];
    for (name, _) in &cases {
        d.drop_sample(&format!("broken/{name}"));
    }
    d.wait_settled(cases.len());
    for (name, expected) in cases {
        let (kind, reason) = reason_of(&d, name);
        assert_eq!(kind, "unreadable", "{name}");
        assert!(reason.contains(expected), "{name}: {reason}");
        // The original bytes are kept.
        let doc = d.by_name(name);
        let bytes = std::fs::read(sample(&format!("broken/{name}"))).unwrap();
        assert_eq!(doc["sha256"], sha256_hex(&bytes).as_str());
        assert_eq!(doc["size"], bytes.len());
    }
    assert!(d.is_running());
    // …and still does its work.
    d.drop_sample("invoice-acme.pdf");
    d.wait_settled(cases.len() + 1);
    assert_eq!(d.by_name("invoice-acme.pdf")["status"], "recognised");
}

#[test]
fn a_symlink_is_recorded_not_followed() {
    let d = Daemon::start();
    let secret = d.dir.path().join("secret.txt");
    std::fs::write(&secret, "Invoice Total Due: EUR 1.00 — must never be read through a link").unwrap();
    std::os::unix::fs::symlink(&secret, d.inbox.join("link.pdf")).unwrap();
    d.wait_settled(1);
    let (kind, reason) = reason_of(&d, "link.pdf");
    assert_eq!(kind, "unreadable");
    assert!(reason.contains("symbolic link") && reason.contains("secret.txt"), "{reason}");
    let doc = d.by_name("link.pdf");
    assert!(doc["text"].is_null(), "the target was read: {doc:#}");
    assert!(secret.exists(), "the link's target is untouched");
    assert!(!d.inbox.join("link.pdf").exists(), "the link left the inbox");
}

#[test]
fn a_directory_is_reported_once_and_left_in_place() {
    let d = Daemon::start();
    let folder = d.inbox.join("scans-batch-7");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("page1.pdf"), std::fs::read(sample("invoice-acme.pdf")).unwrap()).unwrap();
    d.wait_settled(1);
    let (kind, reason) = reason_of(&d, "scans-batch-7");
    assert_eq!(kind, "unreadable");
    assert!(reason.contains("folder"), "{reason}");
    std::thread::sleep(Duration::from_millis(2500)); // two rescans
    assert_eq!(d.documents().len(), 1, "the folder is reported once");
    assert!(folder.join("page1.pdf").exists(), "nothing inside the folder is lost");
}

#[test]
fn a_non_utf8_file_name_is_taken_and_processed_on_its_content() {
    let d = Daemon::start();
    let name = std::ffi::OsStr::from_bytes(b"Rechnung-M\xfcller.pdf");
    std::fs::write(d.inbox.join(name), std::fs::read(sample("invoice-acme.pdf")).unwrap()).unwrap();
    let docs = d.wait_settled(1);
    assert_eq!(docs[0]["status"], "recognised");
    assert_eq!(docs[0]["original_name"], "Rechnung-M\u{fffd}ller.pdf");
    assert_eq!(std::fs::read_dir(&d.inbox).unwrap().count(), 0);
}

#[test]
fn an_oversized_file_is_refused_with_the_limit_named() {
    let d = Daemon::start_with("[limits]\nmax_file_size = '1KB'\n");
    d.drop_sample("invoice-acme.pdf"); // 1.1 KB
    d.wait_settled(1);
    let (kind, reason) = reason_of(&d, "invoice-acme.pdf");
    assert_eq!(kind, "unreadable");
    assert!(reason.contains("over the limit of 1024 bytes"), "{reason}");
}
