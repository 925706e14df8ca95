//! Several daemons on one PostgreSQL store: each file of a shared inbox is taken once, and the
//! job of a daemon killed mid-read is taken back by another.

mod support;

use std::time::{Duration, Instant};
use support::{Daemon, TestDatabase};

/// Drops `n` distinct small documents into `inbox`, each written whole then renamed in.
fn drop_distinct(inbox: &std::path::Path, n: usize) {
    for i in 0..n {
        let text = format!("Delivery note {i}\nOrder {}\nShipped: {} boxes\n", 70_000 + i, i % 9 + 1);
        let tmp = inbox.join(format!(".note-{i}.part"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, inbox.join(format!("note-{i}.txt"))).unwrap();
    }
}

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn three_daemons_share_one_inbox_and_take_each_file_once() {
    let db = TestDatabase::create();
    let inbox = tempfile::tempdir().unwrap();
    let mut daemons: Vec<Daemon> = (0..3).map(|_| Daemon::sharing(&db.url, inbox.path(), "")).collect();
    for d in &mut daemons {
        d.spawn();
    }
    drop_distinct(inbox.path(), 60);
    let docs = daemons[1].wait_settled(60);
    let mut names: Vec<&str> = docs.iter().map(|d| d["original_name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!((docs.len(), names.len()), (60, 60), "every file stored, and stored once");
    assert!(docs.iter().all(|d| d["status"] != "duplicate"));
    let left: Vec<_> = std::fs::read_dir(inbox.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "the inbox is emptied: {left:?}");
    // Every daemon beats its row.
    let beating = db.query("SELECT count(*) FROM daemons");
    assert_eq!(beating.trim(), "3");
    // Each document's job went through both stages and was completed once, by whoever held it.
    let jobs = db.query("SELECT count(*), count(DISTINCT document_id), min(stage), max(stage), min(state), max(state) FROM jobs");
    assert_eq!(jobs.trim(), "60|60|classify|classify|done|done");
}

#[test]
fn the_job_of_a_killed_daemon_is_taken_back_by_another() {
    let db = TestDatabase::create();
    let inbox = tempfile::tempdir().unwrap();
    let mut a = Daemon::sharing(&db.url, inbox.path(), "");
    a.spawn();
    // A scanned page takes seconds to read: A is killed while it reads.
    a.drop_sample("invoice-globex-scan.tiff");
    wait("A to claim the read", Duration::from_secs(30), || {
        !db.query("SELECT lease_owner FROM jobs WHERE stage = 'extract' AND state = 'running'").trim().is_empty()
    });
    let mut b = Daemon::sharing(&db.url, inbox.path(), "");
    b.spawn();
    a.kill9();
    let docs = b.wait_settled(1);
    assert_eq!(docs.len(), 1);
    assert!(b.log().contains("took back the work of daemons"), "B noticed A stopped beating");
    let doc = b.document(docs[0]["id"].as_i64().unwrap());
    assert_eq!(doc["status"], "recognised", "{doc}");
    assert_eq!(doc["fields"]["total"], "1234.56");
    assert_eq!(doc["pages"], 2);
    // One job, done through both stages; the lease A held was taken over (A's claim is seen
    // above), and B's read is the one recorded.
    let job = db.query("SELECT count(*), min(stage), min(state) FROM jobs");
    assert_eq!(job.trim(), "1|classify|done");
    let received = doc["audit"].as_array().unwrap().iter().filter(|a| a["action"] == "received").count();
    assert_eq!(received, 1);
}
