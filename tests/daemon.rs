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
