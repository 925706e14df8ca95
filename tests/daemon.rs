//! The daemon's own behaviour: graceful stop, one daemon per data folder, JSON logs.

mod support;
use std::process::Command;
use support::*;

#[test]
fn sigterm_stops_cleanly_after_finishing_work() {
    let mut d = Daemon::start();
    d.drop_sample("invoice-acme-scan.png");
    d.wait_settled(1);
    let status = d.stop();
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
    let log = d.log();
    assert!(log.contains("stopping"), "{log}");
    assert!(!log.contains("LEAK"), "OCR engines are released on stop:\n{log}");
}

#[test]
fn a_second_daemon_on_the_same_data_is_refused() {
    let d = Daemon::start();
    let out = Command::new(CLERK).arg("serve").current_dir(d.dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another clerk is already running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let d = Daemon::start();
    let out = Command::new(CLERK)
        .args(["--log-format", "json", "classify", "--json"])
        .arg(sample("invoice-acme.pdf"))
        .current_dir(d.dir.path())
        .env("CLERK_LOG", "debug")
        .env("CLERK_DEFINITIONS", repo().join("bots"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().count() > 0, "debug logging printed nothing");
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some() && v.get("timestamp").is_some(), "{line}");
    }
}

#[test]
fn sigterm_under_load_stops_within_seconds_and_loses_nothing() {
    let mut d = Daemon::start_with("[readers]\ncount = 2\n");
    let scans = ["invoice-initech-scan.pdf", "invoice-acme-scan.png", "credit-note-acme-fax.pdf"];
    let n = 18;
    for i in 0..n {
        let name = scans[i % scans.len()];
        let mut bytes = std::fs::read(sample(name)).unwrap();
        bytes.extend_from_slice(format!("\n%load-{i}\n").as_bytes());
        d.drop_file(&format!("{i:02}-{name}"), &bytes);
    }
    // Stop while scans are being read (some done, most not).
    d.wait_until("the first scan to be read", std::time::Duration::from_secs(60), |d| {
        d.documents().iter().any(|x| x["status"] == "recognised")
    });
    let start = std::time::Instant::now();
    let status = d.stop();
    let took = start.elapsed();
    assert!(status.success(), "exit status {status:?}\n{}", d.log());
    assert!(took < std::time::Duration::from_secs(10), "SIGTERM took {took:?}\n{}", d.log());
    // Nothing lost: after a restart every scan is read, once, with no attempt wasted on the stop.
    d.spawn();
    let docs = d.wait_settled(n);
    assert_eq!(docs.len(), n, "each file stored once");
    for doc in &docs {
        assert_eq!(doc["status"], "recognised", "{doc}");
    }
    assert!(!d.log().contains("failed repeatedly"), "{}", d.log());
}

#[test]
fn a_broken_reader_installation_retries_each_document_exactly_as_configured_and_blames_no_file() {
    // `true` starts and exits at once without the reader's handshake: an installation problem,
    // not the document's fault.
    let d = Daemon::start_with("[readers]\nprogram = '/bin/true'\n");
    d.drop_sample("invoice-acme.pdf");
    d.wait_until("the document to be given up", std::time::Duration::from_secs(60), |d| {
        d.documents().iter().any(|x| x["status"] == "exception")
    });
    let doc = d.by_name("invoice-acme.pdf");
    let reason = doc["exceptions"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("failed 5 times") && reason.contains("cannot start the reader"), "{reason}");
    assert_eq!(d.log().matches("stage failed, will retry").count(), 4, "{}", d.log());
}

#[test]
fn sighup_reloads_the_settings_and_keeps_them_when_the_new_file_is_broken() {
    let d = Daemon::start_with("[limits]\nmax_file_size = '100MB'\n");
    let note = |n: usize| format!("Memo {n}\n{}\n", "The meeting notes follow. ".repeat(120));
    d.drop_file("before.txt", note(1).as_bytes());
    assert!(d.wait_settled(1)[0]["exceptions"].as_array().is_none_or(|e| e.iter().all(|x| x["kind"] != "unreadable")));
    let toml = d.dir.path().join("clerk.toml");
    let settings = std::fs::read_to_string(&toml).unwrap();
    // A lower size limit (applies at once) and another worker count (takes a restart).
    std::fs::write(&toml, format!("workers = 3\n{}", settings.replace("'100MB'", "'1KB'"))).unwrap();
    let hup = || assert!(Command::new("kill").args(["-HUP", &d.pid().to_string()]).status().unwrap().success());
    hup();
    d.wait_until("the settings reloaded", std::time::Duration::from_secs(20), |d| d.log().contains("settings reloaded"));
    assert!(d.log().contains("workers"), "the worker count is named as taking a restart");
    d.drop_file("after.txt", note(2).as_bytes());
    d.wait_settled(2);
    let after = d.by_name("after.txt");
    assert_eq!(after["exceptions"][0]["kind"], "unreadable", "{after}");
    assert!(after["exceptions"][0]["reason"].as_str().unwrap().contains("limits.max_file_size"), "{after}");

    // A broken file is refused with its reason; the settings in force stay.
    std::fs::write(&toml, settings.replace("'100MB'", "'lots'")).unwrap();
    hup();
    d.wait_until("the refusal", std::time::Duration::from_secs(20), |d| d.log().contains("settings were not reloaded"));
    assert!(d.log().contains("`lots` is not a size like 100MB"), "the log says why");
    // (The commands below read the file too; the daemon does not until the next SIGHUP.)
    std::fs::write(&toml, &settings).unwrap();
    d.drop_file("later.txt", note(3).as_bytes());
    d.wait_settled(3);
    assert_eq!(d.by_name("later.txt")["exceptions"][0]["kind"], "unreadable", "the 1KB limit is still in force");
}
