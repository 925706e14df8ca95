//! clerk as a service: `/healthz`, `/readyz`, `/metrics` (Prometheus text that moves when
//! documents flow), and systemd's notify protocol (READY, watchdog pings that stop when the
//! pipeline loop is stuck, STOPPING) on a real datagram socket standing in for systemd.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};
use support::*;

/// A plain HTTP/1.1 GET: (status, body).
fn get(base: &str, path: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// Parses the Prometheus text format strictly enough to fail on anything a scraper rejects:
/// every sample is `name{label="value",…} number` of a family declared by `# TYPE`.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let sample = regex::Regex::new(r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$"#).unwrap();
    let mut types = BTreeMap::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let c = sample.captures(line).unwrap_or_else(|| panic!("not a Prometheus sample: {line:?}"));
        let name = &c[1];
        let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).filter(|f| types.get(*f).is_some_and(|k| k == "histogram")).unwrap_or(name);
        assert!(types.contains_key(family), "{name} has no # TYPE");
        let value: f64 = c[3].parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        out.insert(format!("{name}{}", c.get(2).map_or("", |m| m.as_str())), value);
    }
    out
}

#[test]
fn health_readiness_and_metrics_that_move_when_documents_flow() {
    let mut d = Daemon::start();
    let base = d.http();
    assert_eq!(get(&base, "/healthz"), (200, "ok\n".to_string()));
    let (status, body) = get(&base, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("document types"), "{body}");

    let (status, before) = get(&base, "/metrics");
    assert_eq!(status, 200);
    let before = parse_metrics(&before);
    let recognised = r#"clerk_documents_processed_total{outcome="recognised"}"#;
    assert_eq!(before.get(recognised), None, "nothing processed yet");

    d.drop_file("invoice-acme.pdf", &std::fs::read(sample("invoice-acme.pdf")).unwrap());
    d.drop_file("letter-unknown.pdf", &std::fs::read(sample("letter-unknown.pdf")).unwrap());
    d.wait_until("both documents to be processed", Duration::from_secs(60), |d| {
        let m = parse_metrics(&get(&d.http(), "/metrics").1);
        m.get(recognised).copied().unwrap_or(0.0) >= 1.0
            && m.get(r#"clerk_documents_processed_total{outcome="unrecognised"}"#).copied().unwrap_or(0.0) >= 1.0
    });
    let after = parse_metrics(&get(&base, "/metrics").1);
    assert_eq!(after[r#"clerk_stage_duration_seconds_count{stage="extract"}"#], 2.0);
    assert_eq!(after[r#"clerk_stage_duration_seconds_count{stage="classify"}"#], 2.0);
    assert_eq!(after[r#"clerk_stage_duration_seconds_bucket{stage="extract",le="+Inf"}"#], 2.0);
    assert!(after[r#"clerk_documents{status="recognised"}"#] >= 1.0, "{after:?}");
    assert_eq!(after[r#"clerk_exceptions_open{kind="unrecognised"}"#], 1.0);
    assert!(after.contains_key(r#"clerk_exceptions_oldest_open_seconds{kind="unrecognised"}"#));
    assert!(after.contains_key("clerk_reader_restarts_total"));
    d.stop();
}

/// Receives notifications until `until` holds for the messages so far or `timeout` passes.
fn receive(socket: &UnixDatagram, timeout: Duration, mut until: impl FnMut(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut got = vec![];
    let mut buf = [0u8; 512];
    while Instant::now() < deadline && !until(&got) {
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// A daemon run as systemd would, with a 1 s watchdog: the socket stands in for systemd.
fn under_systemd(extra: &[(&str, &str)]) -> (tempfile::TempDir, UnixDatagram, Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut d = Daemon::new("").with_env("NOTIFY_SOCKET", path.to_str().unwrap()).with_env("WATCHDOG_USEC", "1000000");
    for (k, v) in extra {
        d = d.with_env(k, v);
    }
    d.spawn();
    (dir, socket, d)
}

#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    let (_dir, socket, mut d) = under_systemd(&[]);
    let got = receive(&socket, Duration::from_secs(10), |m| m.iter().filter(|x| *x == "WATCHDOG=1").count() >= 3);
    assert_eq!(got.first().map(String::as_str), Some("READY=1"), "{got:?}");
    assert!(got.iter().filter(|x| *x == "WATCHDOG=1").count() >= 3, "{got:?}");
    d.stop();
    let got = receive(&socket, Duration::from_secs(10), |m| m.iter().any(|x| x == "STOPPING=1"));
    assert!(got.iter().any(|x| x == "STOPPING=1"), "{got:?}");
}

#[test]
fn a_stuck_pipeline_loop_stops_the_watchdog_pings() {
    let (_dir, socket, mut d) = under_systemd(&[("CLERK_TEST_STICK", "jobs")]);
    // The loop beat once when it started; the watchdog keeps pinging until that beat is older
    // than clerk's stuck limit (15 s), then systemd would restart the daemon.
    let got = receive(&socket, Duration::from_secs(5), |_| false);
    assert!(got.iter().any(|x| x == "WATCHDOG=1"), "pings while the beat is fresh: {got:?}");
    let _ = receive(&socket, Duration::from_secs(14), |_| false);
    let silent = receive(&socket, Duration::from_secs(4), |m| m.iter().any(|x| x == "WATCHDOG=1"));
    assert!(!silent.iter().any(|x| x == "WATCHDOG=1"), "pings went on for a stuck loop: {silent:?}");
    assert!(d.log().contains("no more watchdog pings"), "{}", d.log());
    d.stop();
}

#[test]
fn the_unit_file_is_a_hardened_notify_service() {
    let unit = repo().join("systemd/clerk.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in ["Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict", "NoNewPrivileges=yes"] {
        assert!(text.contains(line), "the unit lacks {line}");
    }
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian's systemd package; tests/run.sh installs it)");
    let report = String::from_utf8_lossy(&out.stdout);
    let level: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for clerk.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}{}", String::from_utf8_lossy(&out.stderr)));
    // systemd calls 0–2 "OK"; a minimal unit is 9.2 ("UNSAFE").
    assert!(level <= 2.0, "exposure {level}: {report}");
}
