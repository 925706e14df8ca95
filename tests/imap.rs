//! IMAP intake against a real Dovecot on loopback: appended messages become documents exactly
//! once, each rule's action is applied after the commit, unmatched mail is left unseen, IDLE
//! delivers new mail, a restart mid-batch and a UIDVALIDITY change duplicate nothing, and a server
//! that goes away is a health problem, not lost mail.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use support::dovecot::{self, Dovecot};
use support::*;

fn daemon_for(dv: &Dovecot) -> Daemon {
    daemon_with(dv, "")
}

/// `extra` goes before the mail settings (e.g. a `[limits]` table).
fn daemon_with(dv: &Dovecot, extra: &str) -> Daemon {
    Daemon::new(&mail_settings(dv, extra)).with_env("CLERK_SECRET_MAIL_AP", dovecot::PASSWORD)
}

fn mail_settings(dv: &Dovecot, extra: &str) -> String {
    format!(
        r#"{extra}
[mail]
poll_interval = "300ms"
[[mail.imap]]
name = "ap"
host = "127.0.0.1"
port = {port}
tls = "plain"
user = "{user}"
password_secret = "MAIL_AP"
[[mail.rules]]
name = "acme"
from = "@acme\\.example"
attachment = ["*.pdf"]
action = "move:Processed"
[[mail.rules]]
name = "scans"
subject = "^Scan"
action = "keyword:clerk"
[[mail.rules]]
name = "archive"
subject = "^Archive"
take = ["eml"]
action = "delete"
[[mail.rules]]
name = "batch"
subject = "^Batch"
"#,
        port = dv.port,
        user = dovecot::USER
    )
}

fn status(d: &Daemon) -> Value {
    if !d.has_store() {
        return Value::Null;
    }
    let out = d.clerk(&["mail", "status", "--json"]);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    all.as_array().and_then(|a| a.iter().find(|x| x["name"] == "ap").cloned()).unwrap_or(Value::Null)
}

fn text_attachment(n: usize) -> Vec<u8> {
    message(
        "scanner@clerk.example",
        &format!("Batch {n}"),
        "",
        &[(&format!("note-{n}.txt"), "text/plain", format!("Delivery Note No: DN-{n}\nDate: 02.04.2024\n").as_bytes())],
    )
}

#[test]
fn appended_messages_become_documents_once_and_each_action_applies() {
    let dv = dovecot::start();
    let pdf = std::fs::read(sample("invoice-acme.pdf")).unwrap();
    dv.append(
        "INBOX",
        &message(
            "Billing <billing@acme.example>",
            "Invoice 42",
            "attached",
            &[("inv-42.pdf", "application/pdf", &pdf)],
        ),
    );
    dv.append(
        "INBOX",
        &message("scanner@clerk.example", "Scan 7", "", &[("scan-7.txt", "text/plain", b"Delivery Note No: DN-7\n")]),
    );
    dv.append("INBOX", &message("x@y.example", "Archive me", "keep this", &[]));
    dv.append("INBOX", &message("friend@z.example", "Lunch?", "Friday?", &[]));
    let mut d = daemon_for(&dv);
    d.spawn();
    let docs = d.wait_settled(3);
    assert_eq!(docs.len(), 3, "{docs:#?}");
    let invoice = d.by_name("inv-42.pdf");
    assert_eq!(invoice["doctype"], "invoice");
    assert_eq!(invoice["sha256"], sha256_hex(&pdf));
    assert_eq!(invoice["mail"]["subject"], "Invoice 42");
    assert_eq!(invoice["source"], "mail:ap");
    d.wait_until("the actions", Duration::from_secs(15), |_| dv.messages("INBOX").len() == 2);
    // Moved (and marked seen), tagged, deleted; the unmatched message left unseen.
    let processed = dv.messages("Processed");
    assert_eq!(processed.len(), 1);
    assert!(processed[0].1.contains("\\Seen"), "{processed:?}");
    let inbox = dv.messages("INBOX");
    assert!(inbox.iter().any(|(_, f)| f.contains("clerk")), "the scan tagged: {inbox:?}");
    assert!(inbox.iter().any(|(_, f)| !f.contains("\\Seen") && !f.contains("clerk")), "lunch left unseen: {inbox:?}");
    let s = status(&d);
    assert_eq!(s["health"], "ok", "{s}");
    assert_eq!(s["taken"], 3);
    assert_eq!(s["unmatched"], 1);

    // IDLE: a message appended now arrives without waiting for a poll.
    d.wait_until("IDLE", Duration::from_secs(10), |d| status(d)["detail"].as_str().is_some_and(|x| x.contains("IDLE")));
    dv.append("INBOX", &text_attachment(1));
    d.wait_settled(4);

    // A restart takes nothing twice.
    d.stop();
    d.spawn();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(d.documents().len(), 4);
}

#[test]
fn a_restart_in_the_middle_of_a_batch_takes_each_message_exactly_once() {
    let dv = dovecot::start();
    for n in 0..40 {
        dv.append("INBOX", &text_attachment(n));
    }
    let mut d = daemon_for(&dv);
    d.spawn();
    d.wait_until("part of the batch", Duration::from_secs(60), |d| d.documents().len() >= 5);
    d.kill9();
    let before = d.documents().len();
    assert!(before < 40, "the kill came after the whole batch ({before})");
    d.spawn();
    let docs = d.wait_settled(40);
    let mut names: HashMap<String, usize> = HashMap::new();
    for doc in &docs {
        *names.entry(doc["original_name"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(docs.len(), 40, "no message taken twice");
    assert!(names.values().all(|&n| n == 1), "{names:?}");
    d.wait_until("every message marked", Duration::from_secs(20), |_| {
        dv.messages("INBOX").iter().all(|(_, f)| f.contains("\\Seen"))
    });
}

#[test]
fn a_uidvalidity_change_duplicates_nothing() {
    let mut dv = dovecot::start();
    dv.append(
        "INBOX",
        &message("scanner@clerk.example", "Scan 1", "", &[("a.txt", "text/plain", b"Delivery Note No: DN-1\n")]),
    );
    dv.append(
        "INBOX",
        &message("scanner@clerk.example", "Scan 2", "", &[("b.txt", "text/plain", b"Delivery Note No: DN-2\n")]),
    );
    let mut d = daemon_for(&dv);
    d.spawn();
    d.wait_settled(2);
    d.wait_until("both tagged", Duration::from_secs(10), |_| {
        dv.messages("INBOX").iter().all(|(_, f)| f.contains("clerk"))
    });
    d.stop();
    // The server renumbers the folder (new UIDVALIDITY); the messages are still there.
    dv.renumber_inbox();
    dv.append(
        "INBOX",
        &message("scanner@clerk.example", "Scan 3", "", &[("c.txt", "text/plain", b"Delivery Note No: DN-3\n")]),
    );
    d.spawn();
    let docs = d.wait_settled(3);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(d.documents().len(), 3, "the two known messages were recognised, the new one taken: {docs:#?}");
}

#[test]
fn a_server_that_goes_away_is_a_health_problem_and_no_mail_is_lost() {
    let mut dv = dovecot::start();
    let mut d = daemon_for(&dv);
    d.spawn();
    d.wait_until("connected", Duration::from_secs(10), |d| status(d)["health"] == "ok");
    dv.stop();
    d.wait_until("the account unhealthy", Duration::from_secs(20), |d| status(d)["health"] == "error");
    let out = d.clerk(&["mail", "status"]);
    assert!(!out.status.success(), "an unhealthy account fails `mail status`");
    assert!(d.is_running(), "the daemon keeps running");
    dv.spawn();
    dv.append("INBOX", &text_attachment(9));
    // Reconnects (backoff) and takes what arrived.
    d.wait_settled(1);
    d.wait_until("healthy again", Duration::from_secs(70), |d| status(d)["health"] == "ok");
}

#[test]
fn mail_test_shows_what_the_rules_would_take_and_changes_nothing() {
    let dv = dovecot::start();
    let pdf = std::fs::read(sample("invoice-acme.pdf")).unwrap();
    dv.append("INBOX", &message("billing@acme.example", "Invoice 1", "", &[("inv-1.pdf", "application/pdf", &pdf)]));
    dv.append("INBOX", &message("friend@z.example", "Lunch?", "Friday?", &[]));
    let d = daemon_for(&dv);
    let out = d.clerk(&["mail", "test", "ap"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("INBOX: 2 message(s)"), "{text}");
    assert!(text.contains("rule `acme` takes [inv-1.pdf]"), "{text}");
    assert!(text.contains("\"Lunch?\" from friend@z.example: no rule matches"), "{text}");
    assert!(dv.messages("INBOX").iter().all(|(_, f)| !f.contains("\\Seen")), "nothing marked");
}

#[test]
fn tls_and_starttls_connections_verify_the_server() {
    let dv = dovecot::start_with_tls();
    dv.append("INBOX", &text_attachment(1));
    let account = |name: &str, port: u16, tls: &str, ca: bool| {
        let ca = if ca { format!("ca_file = \"{}\"\n", dv.ca().display()) } else { String::new() };
        format!(
            "[[mail.imap]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\nuser = \"{}\"\npassword_secret = \"MAIL_AP\"\n{ca}",
            dovecot::USER
        )
    };
    let settings = [
        account("implicit", dv.tls_port, "tls", true),
        account("upgraded", dv.port, "starttls", true),
        account("untrusted", dv.tls_port, "tls", false),
    ]
    .join("");
    let d = Daemon::new(&settings).with_env("CLERK_SECRET_MAIL_AP", dovecot::PASSWORD);
    for name in ["implicit", "upgraded"] {
        let out = d.clerk(&["mail", "test", name]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("INBOX: 1 message(s)"), "{name}: {text}");
    }
    let out = d.clerk(&["mail", "test", "untrusted"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("TLS handshake") && err.to_lowercase().contains("certificate"), "{err}");
    // Dovecot saw TLS on both: its log records each login as secured by TLS.
    assert!(dv.log().matches("TLS").count() >= 2, "{}", dv.log());
}

#[test]
fn bad_mail_over_imap_ends_on_the_exception_queue_and_the_daemon_goes_on() {
    let dv = dovecot::start();
    // Junk with no mail headers, an attachment over the size limit, S/MIME, and an empty scan.
    dv.append("INBOX", b"\x01\x02\x03 this is not an e-mail at all \xff\xfe\r\n");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    dv.append("INBOX", &message("billing@acme.example", "Invoice big", "", &[("big.pdf", "application/pdf", &big)]));
    dv.append(
        "INBOX",
        b"From: scanner@clerk.example\r\nSubject: Scan encrypted\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n",
    );
    dv.append(
        "INBOX",
        b"From: scanner@clerk.example\r\nSubject: Scan\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n",
    );
    let mut d = daemon_with(&dv, "[limits]\nmax_file_size = \"200KB\"");
    d.spawn();
    d.wait_settled(4);
    assert!(d.is_running());
    let reasons: Vec<String> = d.exceptions().iter().map(|e| e["reason"].as_str().unwrap().to_string()).collect();
    for needle in ["unreadable e-mail", "over the limit", "encrypted (S/MIME or PGP)", "the e-mail is empty"] {
        assert!(reasons.iter().any(|r| r.contains(needle)), "{needle}: {reasons:#?}");
    }
    assert_eq!(status(&d)["exceptions"], 4);
}

#[test]
fn daemons_sharing_a_store_read_a_mailbox_one_at_a_time_and_take_over() {
    let db = TestDatabase::create();
    let dv = dovecot::start();
    for n in 0..40 {
        dv.append("INBOX", &text_attachment(n));
    }
    let inboxes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let sharing = |inbox: &tempfile::TempDir| {
        Daemon::sharing(&db.url, inbox.path(), &mail_settings(&dv, "")).with_env("CLERK_SECRET_MAIL_AP", dovecot::PASSWORD)
    };
    let (mut a, mut b) = (sharing(&inboxes[0]), sharing(&inboxes[1]));
    a.spawn();
    a.wait_until("A to read the mailbox", Duration::from_secs(30), |d| d.log().contains("IMAP account connected"));
    b.spawn();
    b.wait_until("B to stand by", Duration::from_secs(30), |d| d.log().contains("standing by to take over"));
    b.wait_until("part of the batch", Duration::from_secs(60), |d| d.documents().len() >= 5);
    a.kill9();
    let docs = b.wait_settled(40);
    assert!(b.log().contains("IMAP account connected"), "B took the mailbox over");
    let mut names: HashMap<String, usize> = HashMap::new();
    for doc in &docs {
        *names.entry(doc["original_name"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(docs.len(), 40, "no message taken twice");
    assert!(names.values().all(|&n| n == 1), "{names:?}");
    b.wait_until("every message marked", Duration::from_secs(30), |_| {
        dv.messages("INBOX").iter().all(|(_, f)| f.contains("\\Seen"))
    });
}
