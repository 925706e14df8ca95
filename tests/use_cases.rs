//! One set of use cases behind the command line, the API and the pages: an item reads the same
//! and is hidden alike wherever it is opened; commands check against the definitions the daemon
//! has in force, not against a file half edited on disk; a bot started by hand from the API runs
//! like one started from the command line, audited under who started it.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::api::call;
use support::Daemon;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn addr(d: &Daemon) -> String {
    d.http().trim_start_matches("http://").to_string()
}

/// A daemon with `settings` and without the bundled bots that post to an ERP (none runs here),
/// started; `more` is written into its definitions first.
fn started(settings: &str, more: &[(&str, &str)]) -> Daemon {
    let mut d = Daemon::new(settings);
    for bot in ["post-invoice-to-erp.yml", "delivery-note-to-erp.yml"] {
        std::fs::remove_file(d.definitions.join(bot)).ok();
    }
    for (name, text) in more {
        std::fs::write(d.definitions.join(name), text).unwrap();
    }
    d.spawn();
    d
}

fn item_of(d: &Daemon, name: &str) -> Value {
    let doc = d.by_name(name);
    d.exceptions().into_iter().find(|i| i["document_id"] == doc["id"]).unwrap_or_else(|| panic!("no item for {name}"))
}

#[test]
fn an_item_reads_the_same_and_is_hidden_alike_everywhere() {
    let mut d = started("[queue]\nsla = '4h'\n", &[]);
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(1);
    let item = item_of(&d, "letter-unknown.pdf");
    let id = item["id"].to_string();
    let (ann, bob) = (d.user_with_token("ann", "agent", "pw-ann-agent-1"), d.user_with_token("bob", "agent", "pw-bob-agent-1"));
    let admin = d.user_with_token("root-admin", "admin", "pw-root-admin-1");
    let a = addr(&d);

    // The due time is the same from the command line and the API.
    let by_cli = d.json(&["exceptions", "show", &id, "--json"]);
    let by_api = call(&a, "GET", &format!("/api/v1/exceptions/{id}"), &[("Authorization", &bearer(&ann))], None);
    assert_eq!(by_api.status, 200, "{by_api:?}");
    let by_api: Value = serde_json::from_str(&by_api.body).unwrap();
    assert!(by_cli["due_at"].is_string(), "{by_cli}");
    assert_eq!(by_cli["due_at"], by_api["due_at"]);

    // Ann files it; Bob, another agent, no longer sees it — not in the API, not as a page.
    let answer = json!({"doctype": "delivery-note", "fields": {"delivery_note_number": "DN-1"}});
    let r = call(&a, "POST", &format!("/api/v1/exceptions/{id}/resolve"), &[("Authorization", &bearer(&ann))], Some(&answer));
    assert_eq!(r.status, 200, "{r:?}");
    let r = call(&a, "GET", &format!("/api/v1/exceptions/{id}"), &[("Authorization", &bearer(&bob))], None);
    assert_eq!(r.status, 404, "another agent reads a closed item: {r:?}");
    let r = call(&a, "GET", &format!("/api/v1/exceptions/{id}"), &[("Authorization", &bearer(&ann))], None);
    assert_eq!(r.status, 200, "the agent who closed it: {r:?}");
    let r = call(&a, "GET", &format!("/api/v1/exceptions/{id}"), &[("Authorization", &bearer(&admin))], None);
    assert_eq!(r.status, 200, "an admin: {r:?}");
    d.stop();
}

#[test]
fn commands_check_answers_against_the_definitions_in_force() {
    let mut d = started("", &[]);
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(1);
    let id = item_of(&d, "letter-unknown.pdf")["id"].to_string();

    // An edit with a mistake: the daemon keeps the type's last good version.
    let file = d.definitions.join("delivery-note.yml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, good.replace("fields:", "fields: [")).unwrap();
    d.wait_until("the daemon to keep the previous version", Duration::from_secs(20), |d| {
        d.log().contains("keeping the previous version of this file")
    });
    let check = d.clerk(&["check"]);
    assert!(!check.status.success(), "the folder has a mistake, and check says so");

    let out = d.clerk(&["exceptions", "resolve", &id, "--doctype", "delivery-note", "--field", "delivery_note_number=DN-7"]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "resolving against the type in force: {said}");
    let doc = d.document(d.by_name("letter-unknown.pdf")["id"].as_i64().unwrap());
    assert_eq!(doc["doctype"], "delivery-note", "{doc}");
    assert_eq!(doc["fields"]["delivery_note_number"], "DN-7", "{doc}");
    d.stop();
}

#[test]
fn a_bot_started_from_the_api_runs_and_is_audited_under_who_started_it() {
    let bot = "bot: note-number\ndescription: Reads the note's number\non: manual\nsteps:\n  - set: { number: '{{ doc.fields.delivery_note_number }}' }\n";
    let mut d = started("", &[("note-number.yml", bot)]);
    d.drop_sample("delivery-note.txt");
    d.wait_settled(1);
    let doc = d.by_name("delivery-note.txt")["id"].as_i64().unwrap();
    let (agent, admin) = (d.user_with_token("ann", "agent", "pw-ann-agent-1"), d.user_with_token("root-admin", "admin", "pw-root-admin-1"));
    let a = addr(&d);
    let path = "/api/v1/bots/note-number/runs";
    let r = call(&a, "POST", path, &[("Authorization", &bearer(&agent))], Some(&json!({"document": doc})));
    assert_eq!(r.status, 403, "{r:?}");
    let r = call(&a, "POST", "/api/v1/bots/no-such-bot/runs", &[("Authorization", &bearer(&admin))], Some(&json!({})));
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.body.contains("note-number"), "the bots in force are named: {r:?}");

    let r = call(&a, "POST", path, &[("Authorization", &bearer(&admin))], Some(&json!({"document": doc})));
    assert_eq!(r.status, 202, "{r:?}");
    let run = serde_json::from_str::<Value>(&r.body).unwrap()["run"].as_i64().unwrap();
    d.wait_until("the daemon to run it", Duration::from_secs(60), |d| {
        let shown = d.json(&["runs", "show", &run.to_string(), "--json"]);
        !matches!(shown["state"].as_str(), Some("queued" | "running"))
    });
    let shown = d.json(&["runs", "show", &run.to_string(), "--json"]);
    assert_eq!(shown["trigger"], "manual", "{shown}");
    assert_eq!(shown["document_id"], doc, "{shown}");
    assert_eq!(shown["state"], "succeeded", "{shown}");
    assert!(shown["steps"].to_string().contains("DN-3310"), "the step read the document: {shown}");
    let trail = d.json(&["audit", "--json", "--actor", "root-admin", "--action", "run queued"]);
    assert!(trail.as_array().unwrap().iter().any(|l| l["detail"].as_str().unwrap_or_default().contains("note-number")), "{trail}");
    d.stop();
}
