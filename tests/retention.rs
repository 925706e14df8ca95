//! `[retention]`: what is finished and past its time goes — originals (the record stays),
//! documents whole, audit lines — and nothing that still waits for a person; a file arriving
//! again after its twin's original went keeps its own; the dashboard says what is kept how long
//! and what the last pass removed. On SQLite and on PostgreSQL.

mod support;

use std::time::Duration;
use support::{api, Daemon};

/// Whether blob `sha256` is still in the store (the blobs folder, or PostgreSQL's table).
fn blob_kept(d: &Daemon, sha256: &str) -> bool {
    match &d.database {
        Some(db) => db.query(&format!("SELECT count(*) FROM blobs WHERE sha256 = '{sha256}'")).trim() == "1",
        None => d.data.join("blobs").join(&sha256[..2]).join(sha256).exists(),
    }
}

/// A daemon with `retention` settings that has read a delivery note (recognised, finished) and
/// an unknown letter (an item waits), without bots: they would run against an ERP that is not
/// there, and their failed runs would keep the documents waiting for a person.
fn with_two_documents(retention: &str) -> (Daemon, serde_json::Value, serde_json::Value) {
    let mut d = Daemon::new(&format!("[retention]\n{retention}every = '1s'\n"));
    for bot in ["post-invoice-to-erp.yml", "delivery-note-to-erp.yml"] {
        std::fs::remove_file(d.definitions.join(bot)).ok();
    }
    d.spawn();
    d.drop_sample("delivery-note.txt");
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(2);
    let (done, waiting) = (d.by_name("delivery-note.txt"), d.by_name("letter-unknown.pdf"));
    assert_eq!(done["status"], "recognised", "{done}");
    assert_eq!(waiting["status"], "exception", "{waiting}");
    (d, done, waiting)
}

fn dashboard(d: &Daemon) -> String {
    let (name, password) = ("admin-for-retention", "pw-admin-for-retention-1");
    let _ = d.clerk_with_stdin(&["users", "add", name, "--role", "admin", "--password-stdin"], password);
    let addr = d.http().trim_start_matches("http://").to_string();
    let signed = api::call(&addr, "POST", "/api/v1/session", &[], Some(&serde_json::json!({"name": name, "password": password})));
    assert_eq!(signed.status, 200, "{signed:?}");
    let cookie = signed.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let page = api::call(&addr, "GET", "/dashboard", &[("Cookie", &cookie)], None);
    assert_eq!(page.status, 200, "{page:?}");
    page.body
}

#[test]
fn finished_originals_go_the_record_stays_and_waiting_ones_are_kept() {
    let (mut d, done, waiting) = with_two_documents("originals = '4s'\n");
    let done_id = done["id"].as_i64().unwrap();
    d.wait_until("the finished document's original to go", Duration::from_secs(30), |d| {
        !d.document(done_id)["original_removed"].is_null()
    });
    let shown = d.document(done_id);
    let sha = shown["sha256"].as_str().unwrap().to_string();
    // The record stays: its type, fields and text; the original is gone, and said so.
    assert_eq!(shown["doctype"], done["doctype"]);
    assert!(!shown["text"].as_str().unwrap_or_default().trim().is_empty(), "{shown}");
    // The blob goes in the same pass, just after the record says so.
    d.wait_until("the removed original's blob to go", Duration::from_secs(10), |d| !blob_kept(d, &sha));
    let out = d.clerk(&["documents", "original", &done_id.to_string()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("removed on") && said.contains("retention"), "{said}");

    // What waits for a person keeps its original, however old.
    let waiting = d.document(waiting["id"].as_i64().unwrap());
    assert!(waiting["original_removed"].is_null(), "{waiting}");
    assert!(blob_kept(&d, waiting["sha256"].as_str().unwrap()));

    let page = dashboard(&d);
    assert!(page.contains("Originals: <b>4 seconds once finished</b>"), "{page}");
    assert!(page.contains("Documents: <b>kept for good</b>"), "{page}");
    assert!(page.contains("id=\"retention-record\""), "{page}");
    let addr = d.http().trim_start_matches("http://").to_string();
    let metrics = api::call(&addr, "GET", "/metrics", &[], None).body;
    assert!(metrics.contains("clerk_retention_removed_total{what=\"originals\"} 1\n"), "{metrics}");

    // The same bytes arriving again have an original of their own.
    let again = std::fs::read(support::sample("delivery-note.txt")).unwrap();
    d.drop_file("delivery-note-again.txt", &again);
    d.wait_settled(3);
    // Stopped before a pass could count the twin finished for 4 s too.
    d.stop();
    let twin = d.by_name("delivery-note-again.txt");
    let copy = d.dir.path().join("twin");
    let out = d.clerk(&["documents", "original", &twin["id"].to_string(), "--out", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&copy).unwrap(), again);
}

#[test]
fn finished_documents_go_whole_and_the_audit_trail_by_its_own_setting() {
    let (mut d, done, waiting) = with_two_documents("documents = '2s'\naudit = '15s'\n");
    let (done_id, waiting_id) = (done["id"].as_i64().unwrap(), waiting["id"].as_i64().unwrap());
    let sha = d.document(done_id)["sha256"].as_str().unwrap().to_string();
    d.wait_until("the finished document to go", Duration::from_secs(30), |d| {
        d.documents().iter().all(|doc| doc["id"].as_i64() != Some(done_id))
    });
    d.wait_until("the removed document's blob to go", Duration::from_secs(10), |d| !blob_kept(d, &sha));
    // The waiting one stays, with its item.
    assert!(d.documents().iter().any(|doc| doc["id"].as_i64() == Some(waiting_id)));
    assert!(d.exceptions().iter().any(|i| i["document_id"].as_i64() == Some(waiting_id) && i["state"] == "open"));
    // The audit trail still tells what happened to the removed document, until its own time.
    let trail = |d: &Daemon| d.json(&["audit", "--json", "--limit", "1000"]);
    let about_done = |t: &serde_json::Value| t.as_array().unwrap().iter().filter(|l| l["document_id"].as_i64() == Some(done_id)).count();
    assert!(about_done(&trail(&d)) > 0, "{}", trail(&d));
    d.wait_until("the audit lines past 15 s to go", Duration::from_secs(60), |d| about_done(&trail(d)) == 0);
    d.stop();
}

#[test]
fn a_document_another_points_at_waits_for_it() {
    let (mut d, done, _) = with_two_documents("documents = '3s'\n");
    let first = done["id"].as_i64().unwrap();
    // The same bytes again, later: a duplicate pointing at the first, younger than it.
    std::thread::sleep(Duration::from_secs(2));
    d.drop_file("delivery-note-again.txt", &std::fs::read(support::sample("delivery-note.txt")).unwrap());
    d.wait_settled(3);
    let twin = d.by_name("delivery-note-again.txt");
    assert_eq!(twin["status"], "duplicate", "{twin}");
    let twin = twin["id"].as_i64().unwrap();
    let ids = |d: &Daemon| d.documents().iter().filter_map(|doc| doc["id"].as_i64()).collect::<Vec<_>>();
    d.wait_until("the duplicate and then its first to go", Duration::from_secs(40), |d| {
        let left = ids(d);
        assert!(left.contains(&first) || !left.contains(&twin), "the first went while its duplicate still points at it");
        !left.contains(&first)
    });
    assert!(!d.log().contains("the pass stopped"), "{}", d.log());
    d.stop();
}
