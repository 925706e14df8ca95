//! Crash safety: `kill -9` in the middle of a batch, then a restart, finishes every document
//! exactly once with nothing lost.

mod support;
use std::collections::HashMap;
use std::time::Duration;
use support::*;

#[test]
fn kill_9_mid_batch_then_restart_stores_each_document_exactly_once() {
    let mut d = Daemon::start();
    let pdf = std::fs::read(sample("invoice-acme.pdf")).unwrap();
    let png = std::fs::read(sample("invoice-acme-scan.png")).unwrap();
    // Distinct files (so none is a duplicate of another): a comment after %%EOF, bytes after IEND.
    let mut expected: HashMap<String, String> = HashMap::new(); // sha256 -> name
    let mut files = vec![];
    for i in 0..60 {
        let (name, mut bytes) = match i % 10 {
            0 => (format!("scan-{i}.png"), png.clone()),
            _ => (format!("invoice-{i}.pdf"), pdf.clone()),
        };
        bytes.extend(format!("\n%batch item {i}\n").as_bytes());
        expected.insert(sha256_hex(&bytes), name.clone());
        files.push((name, bytes));
    }
    for (name, bytes) in &files[..30] {
        d.drop_file(name, bytes);
    }
    // Kill while the first half is being processed…
    d.wait_until("some documents to be stored", Duration::from_secs(60), |d| d.documents().len() >= 5);
    d.kill9();
    // …drop the rest while clerk is down, restart, and kill again mid-way.
    for (name, bytes) in &files[30..] {
        d.drop_file(name, bytes);
    }
    d.spawn();
    d.wait_until("more documents", Duration::from_secs(60), |d| d.documents().len() >= 35);
    d.kill9();
    d.spawn();
    let docs = d.wait_settled(files.len());

    let mut seen: HashMap<String, usize> = HashMap::new();
    for doc in &docs {
        let full = d.document(doc["id"].as_i64().unwrap());
        *seen.entry(full["sha256"].as_str().unwrap().to_string()).or_default() += 1;
        assert_eq!(full["status"], "recognised", "{full:#}");
        let recognised = full["audit"].as_array().unwrap().iter().filter(|a| a["action"] == "recognised").count();
        assert_eq!(recognised, 1, "classified exactly once: {full:#}");
        // (The bundled bots' runs fail here, with no ERP to talk to; only intake matters.)
        let intake_exceptions = full["exceptions"].as_array().unwrap().iter().filter(|e| e["run_id"].is_null()).count();
        assert_eq!(intake_exceptions, 0, "{full:#}");
    }
    assert_eq!(docs.len(), files.len(), "no document stored twice");
    for (sha, name) in &expected {
        assert_eq!(seen.get(sha), Some(&1), "{name} stored exactly once");
    }
    assert_eq!(std::fs::read_dir(&d.inbox).unwrap().count(), 0, "nothing left behind in the inbox");
}
