//! A legacy system that goes down, restarts, or closes kept-alive connections under a request:
//! runs wait for a system that refuses connections (no attempt spent, the wait shown on the run,
//! in the metrics and on the dashboard) and go on when it is back; a request whose connection
//! died before any answer is sent again at once on a new one; nothing is booked twice.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::erp::{start as start_erp, Erp};
use support::Daemon;

const KNOWN_IBAN: &str = "DE89 3704 0044 0532 0130 00";

fn invoice(n: usize) -> String {
    format!("Invoice\nInvoice No: W-{n:04}\nDate: 2024-04-03\nIBAN {KNOWN_IBAN}\nTotal Due: EUR {n}.50\n")
}

fn daemon_for(erp: &Erp) -> Daemon {
    Daemon::new("").with_env("ERP_URL", &erp.url()).with_env("ERP_DATA", erp.data.path().to_str().unwrap())
}

/// Sets the bundled invoice bot's retry policy.
fn invoice_bot_retry(d: &Daemon, retry: &str) {
    let path = d.definitions.join("post-invoice-to-erp.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("retry: { attempts: 5, backoff: 1s, max_backoff: 1m }", retry);
    assert!(text.contains(retry), "the bundled bot's retry line changed");
    std::fs::write(path, text).unwrap();
}

fn the_run(d: &Daemon) -> Value {
    let runs = d.json(&["runs", "list", "--json"]);
    let id = runs.as_array().and_then(|r| r.first()).map(|r| r["id"].as_i64().unwrap());
    match id {
        Some(id) => d.json(&["runs", "show", &id.to_string(), "--json"]),
        None => Value::Null,
    }
}

fn metrics(d: &Daemon) -> String {
    support::api::call(d.http().trim_start_matches("http://"), "GET", "/metrics", &[], None).body
}

#[test]
fn a_system_killed_mid_request_and_back_30_s_later_is_waited_for_and_books_once() {
    // Every answer takes 6 s, so the kill lands in the middle of the first request even when
    // seeing that the step started takes the test a few seconds (a loaded machine: with 2 s, the
    // kill once cut the answer itself, which rightly counts as an attempt).
    let mut erp = start_erp(&["--slow-ms", "6000"]);
    let mut d = daemon_for(&erp);
    // The probes back off to 5 s here (the bundled 1 m would only make the test longer).
    invoice_bot_retry(&d, "retry: { attempts: 5, backoff: 1s, max_backoff: 5s }");
    d.spawn();
    d.drop_file("inv.txt", invoice(1).as_bytes());
    d.wait_until("the run to start its first step", Duration::from_secs(30), |d| {
        the_run(d)["steps"].as_array().is_some_and(|s| !s.is_empty())
    });
    std::thread::sleep(Duration::from_millis(500));
    erp.down();
    let killed = Instant::now();
    let target = erp.url();

    // The run waits for the ERP, and says so; the metrics show it down.
    let mut run = Value::Null;
    d.wait_until("the run to wait for the ERP", Duration::from_secs(30), |d| {
        run = the_run(d);
        run["waiting"]["target"] == target.as_str()
    });
    assert_eq!(run["state"], "queued", "{run:#}");
    let message = run["waiting"]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("waiting for {target}, down since ")), "{message}");
    // Killed mid-request, the system either refuses the resent request's connection or, still
    // going down, drops it unanswered too: both say it is down.
    assert!(
        message.contains("(connection refused)") || message.contains("(two connections closed in a row before any answer)"),
        "{message}"
    );
    let text = String::from_utf8(d.clerk(&["runs", "show", &run["id"].to_string()]).stdout).unwrap();
    assert!(text.contains(&format!("waiting for {target}")), "{text}");
    let m = metrics(&d);
    assert!(m.contains(&format!("clerk_target_down_seconds{{target=\"{target}\"}}")), "{m}");
    assert!(m.contains(&format!("clerk_runs_waiting{{target=\"{target}\"}} 1")), "{m}");

    // Back after 30 s.
    std::thread::sleep(Duration::from_secs(30).saturating_sub(killed.elapsed()));
    erp.restart();
    erp.set_faults(0.0, 0.0, 0);
    d.wait_until("the run to succeed", Duration::from_secs(60), |d| {
        run = the_run(d);
        run["state"] == "succeeded"
    });

    // No attempt was spent on the outage: the vendor step has waiting rows and one try, attempt 1.
    let steps = run["steps"].as_array().unwrap();
    let vendor: Vec<&Value> = steps.iter().filter(|s| s["path"] == "1").collect();
    let states: Vec<&str> = vendor.iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states.last(), Some(&"done"), "{run:#}");
    assert!(states[..states.len() - 1].iter().all(|s| *s == "waiting"), "{states:?}\n{run:#}");
    assert!(states.len() >= 3, "it was probed while down: {states:?}");
    assert!(vendor.iter().all(|s| s["attempt"] == 1), "{vendor:#?}");
    assert!(steps.iter().all(|s| s["state"] != "failed"), "{run:#}");
    assert_eq!(run["waiting"], Value::Null);
    // Booked once; the ERP is no longer shown down.
    let booked = erp.received_on("api");
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(booked[0]["payload"]["number"], "W-0001");
    assert!(!metrics(&d).contains("clerk_target_down_seconds{"), "the outage is over");
}

#[test]
fn a_kept_alive_connection_the_server_closed_costs_no_attempt() {
    // The ERP closes every connection that answered before when the next request arrives on it.
    let erp = start_erp(&["--close-kept-alive"]);
    let mut d = daemon_for(&erp);
    // Steps that may not be sent twice (no idempotency key) never reuse a connection.
    std::fs::write(
        d.definitions.join("plain-posts.yml"),
        "bot: plain-posts\non: manual\nsteps:\n  - id: look\n    http: { get: \"{{ env.ERP_URL }}/_echo\" }\n  - id: send\n    http: { post: \"{{ env.ERP_URL }}/_echo\", body: x, idempotency_key: false }\n  - id: again\n    http: { post: \"{{ env.ERP_URL }}/_echo\", body: y, idempotency_key: false }\n",
    )
    .unwrap();
    d.spawn();
    d.drop_file("inv.txt", invoice(2).as_bytes());
    let mut run = Value::Null;
    d.wait_until("the invoice's run to succeed", Duration::from_secs(30), |d| {
        run = the_run(d);
        run["state"] == "succeeded"
    });
    // Two requests on one kept-alive connection: the second (the booking) met the closed one
    // and was sent again on a new connection, as its first and only attempt.
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "each step once: {run:#}");
    assert!(steps.iter().all(|s| s["attempt"] == 1 && s["state"] == "done"), "{run:#}");
    let post = &steps[1];
    assert!(post["response"]["resent"].as_str().is_some_and(|r| r.contains("new connection")), "{post:#}");
    assert_eq!(erp.received_on("api").len(), 1);

    let out = d.clerk(&["bots", "run", "plain-posts", "--json"]);
    let manual: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manual["state"], "succeeded", "{manual:#}");
    let steps = manual["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{manual:#}");
    assert!(steps.iter().all(|s| s["attempt"] == 1 && s["state"] == "done"), "{manual:#}");
    for s in &steps[1..] {
        assert!(s["response"]["resent"].is_null(), "sent once, on a connection of its own: {s:#}");
    }
}

#[test]
fn a_run_waits_for_a_down_system_only_as_long_as_its_bot_says() {
    let mut erp = start_erp(&[]);
    erp.down();
    let mut d = daemon_for(&erp);
    invoice_bot_retry(&d, "retry: { attempts: 5, backoff: 200ms, max_backoff: 500ms, while_down: 3s }");
    d.spawn();
    d.drop_file("inv.txt", invoice(3).as_bytes());
    let mut run = Value::Null;
    d.wait_until("the run to give up", Duration::from_secs(60), |d| {
        run = the_run(d);
        run["state"] == "failed"
    });
    let error = run["error"].as_str().unwrap();
    let target = erp.url();
    assert!(
        error.contains(&format!("{target} has been down since "))
            && error.contains("(connection refused); the bot waits for a system at most 3s (retry.while_down)"),
        "{error}"
    );
    // It waited, probing, and spent no attempt on it.
    let steps = run["steps"].as_array().unwrap();
    assert!(steps.len() >= 3 && steps.iter().all(|s| s["state"] == "waiting" && s["attempt"] == 1), "{run:#}");
    // A system exception an admin can retry once the ERP is back.
    let items = d.exceptions();
    let item = items.iter().find(|e| e["run_id"] == run["id"]).expect("a system exception");
    assert_eq!(item["kind"], "system");
    erp.restart();
    let out = d.clerk(&["runs", "retry", &run["id"].to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d.wait_until("the retried run", Duration::from_secs(30), |d| the_run(d)["state"] == "succeeded");
    assert_eq!(erp.received_on("api").len(), 1);
}
