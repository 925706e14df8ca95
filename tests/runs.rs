//! Bots running for real: the daemon carries documents into the legacy-ERP simulator over
//! loopback, journals every step, retries under faults, survives kill -9 without applying
//! anything twice, and keeps secrets out of everything it writes.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::erp::{start as start_erp, Erp};
use support::Daemon;

const PASSWORD: &str = "s3cr3t P@ss/word";

fn daemon_for(erp: &Erp) -> Daemon {
    Daemon::new("")
        .with_env("ERP_URL", &erp.url())
        .with_env("ERP_DATA", erp.data.path().to_str().unwrap())
        .with_env("CLERK_SECRET_ERP_PASSWORD", PASSWORD)
}

fn invoice(n: usize, iban: &str) -> String {
    format!("Invoice\nInvoice No: T-{n:04}\nDate: 2024-04-03\nIBAN {iban}\nTotal Due: EUR {n}.50\n")
}

const KNOWN_IBAN: &str = "DE89 3704 0044 0532 0130 00";

fn runs(d: &Daemon) -> Vec<Value> {
    if !d.has_store() {
        return vec![];
    }
    d.json(&["runs", "list", "--json", "--limit", "100000"]).as_array().unwrap().clone()
}

/// Waits until `n` runs exist and all have ended; returns them.
fn wait_runs(d: &Daemon, n: usize, timeout: Duration) -> Vec<Value> {
    let mut all = vec![];
    d.wait_until(&format!("{n} finished runs"), timeout, |d| {
        all = runs(d);
        all.len() >= n && all.iter().all(|r| !matches!(r["state"].as_str(), Some("queued" | "running")))
    });
    all
}

fn run_detail(d: &Daemon, id: i64) -> Value {
    d.json(&["runs", "show", &id.to_string(), "--json"])
}

/// Makes a bot's retries fast, for tests that provoke many.
fn quick_retries(d: &Daemon, file: &str) {
    let path = d.definitions.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "retry: { attempts: 5, backoff: 1s, max_backoff: 1m }",
        "retry: { attempts: 15, backoff: 20ms, max_backoff: 200ms }",
    );
    std::fs::write(path, text).unwrap();
}

#[test]
fn bundled_bots_carry_the_samples_into_the_erp() {
    let erp = start_erp(&["--password", PASSWORD]);
    let mut d = daemon_for(&erp);
    d.spawn();
    d.drop_sample("invoice-acme.pdf");
    d.drop_sample("credit-note-acme.pdf");
    d.drop_sample("credit-note-acme-fax.pdf");
    d.drop_sample("delivery-note.txt");
    d.drop_file("invoice-unknown-vendor.txt", invoice(7, "FR76 3000 6000 0112 3456 7890 189").as_bytes());
    let all = wait_runs(&d, 5, Duration::from_secs(60));
    let state = |bot: &str| all.iter().find(|r| r["bot"] == bot).unwrap()["state"].as_str().unwrap().to_string();
    assert_eq!(state("key-in-credit-note"), "succeeded", "{all:#?}");
    assert_eq!(state("delivery-note-to-erp"), "succeeded", "{all:#?}");

    // The invoice is booked once through the JSON API, with the vendor found over SOAP.
    let api = erp.received_on("api");
    assert_eq!(api.len(), 1, "{api:#?}");
    assert_eq!(api[0]["payload"]["vendor"], "V-1001");
    assert_eq!(api[0]["payload"]["number"], "INV-2024-0042");
    assert_eq!(api[0]["payload"]["total"], "509.76");
    // The credit note was keyed into the web form after a login with CSRF tokens and a session;
    // its fax copy found it there and was not keyed in again.
    let form = erp.received_on("form");
    assert_eq!(form.len(), 1, "{form:#?}");
    assert_eq!(form[0]["payload"]["number"], "CN-0007");
    assert_eq!(form[0]["payload"]["entered_by"], "clerk");
    // The delivery note went through the CSV drop folder and was imported.
    let csv = erp.received_on("csv");
    assert_eq!(csv.len(), 1);
    assert_eq!(csv[0]["payload"]["number"], "DN-3310");

    // The unknown vendor escalated: a business exception an agent can act on.
    let escalated: Vec<&Value> = all.iter().filter(|r| r["state"] == "escalated").collect();
    assert_eq!(escalated.len(), 1, "{all:#?}");
    let run_id = escalated[0]["id"].as_i64().unwrap();
    let items = d.exceptions();
    let item = items.iter().find(|e| e["run_id"] == run_id).expect("a business exception for the run");
    assert_eq!(item["kind"], "business");
    assert!(item["reason"].as_str().unwrap().contains("FR7630006000011234567890189"), "{item}");

    // The agent creates the vendor in the ERP and retries: the run starts over and books it.
    erp.request(
        "POST",
        "/_vendors",
        &[("Content-Type", "application/json")],
        r#"{"iban":"FR7630006000011234567890189","id":"V-2001"}"#,
    )
    .unwrap();
    let out = d.clerk(&["exceptions", "resolve", &item["id"].to_string(), "--retry", "--as", "ana"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d.wait_until("the retried run to succeed", Duration::from_secs(30), |d| {
        run_detail(d, run_id)["state"] == "succeeded"
    });
    let api = erp.received_on("api");
    assert_eq!(api.len(), 2);
    assert_eq!(api[1]["payload"]["vendor"], "V-2001");
    let item = d.json(&["exceptions", "show", &item["id"].to_string(), "--json"]);
    assert_eq!(item["state"], "resolved");
    assert_eq!(item["resolved_by"], "ana");

    // The journal shows each step with what it sent and what it extracted.
    let credit: Vec<Value> = all
        .iter()
        .filter(|r| r["bot"] == "key-in-credit-note")
        .map(|r| run_detail(&d, r["id"].as_i64().unwrap()))
        .collect();
    let keyed = credit.iter().find(|r| r["steps"].as_array().unwrap().len() == 5).expect("one run keyed it in");
    let steps = keyed["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["state"] == "done"), "{keyed:#}");
    assert!(steps[0]["output"]["csrf"].as_str().is_some_and(|t| t.len() == 16), "{keyed:#}");
    assert_eq!(steps[4]["path"], "4.2");
    assert_eq!(steps[4]["output"]["erp_id"], form[0]["id"]);
    let found = credit.iter().find(|r| r["steps"].as_array().unwrap().len() == 3).expect("the other found it");
    assert_eq!(found["steps"][2]["output"]["erp_id"], form[0]["id"]);
}

#[test]
fn line_items_of_an_invoice2data_template_are_booked_one_by_one() {
    let erp = start_erp(&[]);
    let mut d = daemon_for(&erp);
    d.spawn();
    d.drop_sample("invoice-initrode.txt");
    let all = wait_runs(&d, 1, Duration::from_secs(60));
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["bot"], "book-initrode-lines");
    assert_eq!(all[0]["state"], "succeeded", "{all:#?}");
    // The document carries its line items as data, as the template's lines parser found them.
    let doc = d.document(1);
    assert_eq!(doc["doctype"], "initrode");
    let lines = doc["fields"]["lines"].as_array().expect("lines as a list");
    assert_eq!(lines.len(), 3, "{doc:#}");
    assert_eq!(lines[1]["name"], "TPS report covers");
    assert_eq!(lines[1]["qty"], 10);
    d.stop();

    let invoices = erp.received_on("api");
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    assert_eq!(invoices[0]["payload"]["number"], "IN-2024-117");
    assert_eq!(invoices[0]["payload"]["total"], 223.2);
    assert_eq!(invoices[0]["payload"]["date"], "2024-04-03");
    let booked = erp.received_on("lines");
    let summary: Vec<(String, String, String, String)> = booked
        .iter()
        .map(|l| {
            let p = &l["payload"];
            assert_eq!(p["invoice"], invoices[0]["id"]);
            let s = |k: &str| p[k].as_str().map(str::to_string).unwrap_or_else(|| p[k].to_string());
            (s("position"), s("code"), s("quantity"), s("unit_price"))
        })
        .collect();
    assert_eq!(
        summary,
        [("1", "PR-10", "2", "12.5"), ("2", "PR-22", "10", "1.2"), ("3", "SV-01", "1", "149.0")]
            .map(|(a, b, c, e)| (a.into(), b.into(), c.into(), e.into()))
            .to_vec()
    );

    // Run again by hand: every call has its idempotency key, so nothing is booked twice.
    let out = d.clerk(&["bots", "run", "book-initrode-lines", "--doc", "1", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(erp.received_on("api").len(), 1);
    assert_eq!(erp.received_on("lines").len(), 3);
}

#[test]
fn retries_under_fault_mode_book_every_invoice_once() {
    let erp = start_erp(&["--error-rate", "0.3", "--drop-rate", "0.15", "--seed", "11"]);
    let mut d = daemon_for(&erp);
    quick_retries(&d, "post-invoice-to-erp.yml");
    d.spawn();
    for n in 1..=20 {
        d.drop_file(&format!("inv-{n}.txt"), invoice(n, KNOWN_IBAN).as_bytes());
    }
    let all = wait_runs(&d, 20, Duration::from_secs(120));
    assert!(all.iter().all(|r| r["state"] == "succeeded"), "{all:#?}");
    let numbers: Vec<String> =
        erp.received_on("api").iter().map(|r| r["payload"]["number"].as_str().unwrap().to_string()).collect();
    assert_eq!(numbers.len(), 20, "each invoice booked exactly once: {numbers:?}");
    assert_eq!(numbers.iter().collect::<BTreeSet<_>>().len(), 20);
    // The faults really happened and were retried.
    let retried = all
        .iter()
        .map(|r| run_detail(&d, r["id"].as_i64().unwrap()))
        .filter(|r| r["steps"].as_array().unwrap().iter().any(|s| s["state"] == "failed"))
        .count();
    assert!(retried > 0, "fault mode caused no retries");
}

#[test]
fn a_step_that_keeps_failing_becomes_a_system_exception_and_4xx_is_not_retried() {
    let erp = start_erp(&["--error-rate", "1.0"]);
    let mut d = daemon_for(&erp);
    quick_retries(&d, "post-invoice-to-erp.yml");
    // A wrong password is a 401: retrying cannot help.
    d.env.retain(|(k, _)| k != "CLERK_SECRET_ERP_PASSWORD");
    d.env.push(("CLERK_SECRET_ERP_PASSWORD".into(), "wrong".into()));
    d.spawn();
    d.drop_file("inv.txt", invoice(1, KNOWN_IBAN).as_bytes());
    let all = wait_runs(&d, 1, Duration::from_secs(60));
    assert_eq!(all[0]["state"], "failed", "{all:#?}");
    let invoice_run = all[0].clone();
    let detail = run_detail(&d, invoice_run["id"].as_i64().unwrap());
    let attempts = detail["steps"].as_array().unwrap().iter().filter(|s| s["path"] == "1").count();
    assert_eq!(attempts, 15, "5xx retried up to the policy's attempts: {detail:#}");

    // The ERP recovers; the credit note's login is refused (401), which is not retried.
    erp.set_faults(0.0, 0.0, 0);
    d.drop_sample("credit-note-acme.pdf");
    let all = wait_runs(&d, 2, Duration::from_secs(60));
    let login_run = all.iter().find(|r| r["bot"] == "key-in-credit-note").unwrap();
    assert_eq!(login_run["state"], "failed");
    let detail = run_detail(&d, login_run["id"].as_i64().unwrap());
    let login_attempts = detail["steps"].as_array().unwrap().iter().filter(|s| s["path"] == "2").count();
    assert_eq!(login_attempts, 1, "a 401 is not retried: {detail:#}");
    assert!(detail["error"].as_str().unwrap().contains("401"), "{detail:#}");

    let items = d.exceptions();
    let system: Vec<&Value> = items.iter().filter(|e| e["kind"] == "system").collect();
    assert_eq!(system.len(), 2, "{items:#?}");
    let item = system.iter().find(|e| e["run_id"] == invoice_run["id"]).unwrap();
    assert!(item["reason"].as_str().unwrap().contains("500"), "{item}");
    assert_eq!(item["detail"]["step"], "1");
    assert_eq!(item["detail"]["response"]["status"], 500);

    // An agent cannot retry what a failed step did to a legacy system: that is an admin's call,
    // through the item or the runs list alike.
    let token = d.user_with_token("ann", "agent", "correct horse battery staple");
    let addr = d.http().trim_start_matches("http://").to_string();
    let auth = [("Authorization", format!("Bearer {token}"))];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let decide = support::api::call(&addr, "POST", &format!("/api/v1/exceptions/{}/decide", item["id"]), &auth, Some(&serde_json::json!({"decision": "retry"})));
    assert_eq!(decide.status, 403, "{decide:?}");
    assert!(decide.json()["detail"].as_str().unwrap().contains("needs the admin role"), "{decide:?}");
    assert_eq!(run_detail(&d, invoice_run["id"].as_i64().unwrap())["state"], "failed", "nothing was decided");

    // `clerk runs retry` runs the invoice's failed step again and the run completes.
    let out = d.clerk(&["runs", "retry", &invoice_run["id"].to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d.wait_until("the retried run", Duration::from_secs(30), |d| {
        run_detail(d, invoice_run["id"].as_i64().unwrap())["state"] == "succeeded"
    });
    assert_eq!(erp.received_on("api").len(), 1);
}

#[test]
fn kill_9_in_the_middle_of_100_runs_books_each_invoice_exactly_once() {
    // Slow replies keep runs in flight; dropped connections after the ERP acted are the case
    // idempotency keys exist for.
    let erp = start_erp(&["--slow-ms", "30", "--drop-rate", "0.1", "--seed", "5"]);
    let mut d = daemon_for(&erp);
    quick_retries(&d, "post-invoice-to-erp.yml");
    d.spawn();
    for n in 1..=100 {
        d.drop_file(&format!("inv-{n:03}.txt"), invoice(n, KNOWN_IBAN).as_bytes());
    }
    d.wait_until("some runs to finish", Duration::from_secs(60), |d| {
        runs(d).iter().filter(|r| r["state"] == "succeeded").count() >= 15
    });
    d.kill9();
    let before = erp.received_on("api").len();
    assert!(before < 100, "the kill came too late to interrupt anything ({before} booked)");
    d.spawn();
    d.wait_settled(100);
    let all = wait_runs(&d, 100, Duration::from_secs(180));
    assert!(
        all.iter().all(|r| r["state"] == "succeeded"),
        "{:#?}",
        all.iter().filter(|r| r["state"] != "succeeded").collect::<Vec<_>>()
    );
    let numbers: Vec<String> =
        erp.received_on("api").iter().map(|r| r["payload"]["number"].as_str().unwrap().to_string()).collect();
    let unique: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), 100, "every invoice booked");
    assert_eq!(numbers.len(), 100, "no invoice booked twice");
}

#[test]
fn secrets_never_reach_logs_run_records_or_errors() {
    let erp = start_erp(&["--password", PASSWORD]);
    let mut d = daemon_for(&erp);
    d.spawn();
    d.drop_sample("credit-note-acme.pdf");
    wait_runs(&d, 1, Duration::from_secs(60));
    // And a failing login: the secret must not leak through the error path either.
    erp.set_faults(1.0, 0.0, 0);
    let out = d.clerk(&["bots", "run", "key-in-credit-note", "--doc", "1", "--json"]);
    assert!(!out.status.success());
    let mut seen = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    seen += &d.log();
    for r in runs(&d) {
        seen += &run_detail(&d, r["id"].as_i64().unwrap()).to_string();
    }
    seen += &serde_json::to_string(&d.exceptions()).unwrap();
    // The store itself, byte for byte.
    seen += &String::from_utf8_lossy(&d.store_bytes());
    assert!(seen.contains("***"), "the password field is shown masked");
    let forms = [
        PASSWORD,
        &PASSWORD.replace(' ', "+"),
        "s3cr3t%20P%40ss%2Fword",
        "s3cr3t+P%40ss%2Fword",
        "czNjcjN0IFBAc3Mvd29yZA==",
    ];
    for form in forms {
        assert!(!seen.contains(form), "the secret appeared as {form:?}");
    }
}

#[test]
fn injection_strings_arrive_as_data() {
    let erp = start_erp(&[]);
    let d = daemon_for(&erp);
    std::fs::write(
        d.definitions.join("note.yml"),
        "doctype: note\nmatch: { all: ['Note'] }\nfields:\n  ref: { regex: 'Ref: (.+)$', required: true }\n",
    )
    .unwrap();
    std::fs::write(
        d.definitions.join("echo.yml"),
        r#"bot: echo
on: { doctype: note }
steps:
  - id: soap
    soap: { url: "{{ env.ERP_URL }}/_echo", action: Echo, body: "<FindVendor><iban>{{ doc.fields.ref }}</iban></FindVendor>" }
  - id: json
    http: { post: "{{ env.ERP_URL }}/_echo", json: { ref: "{{ doc.fields.ref }}", n: 1 } }
  - id: url
    http: { get: "{{ env.ERP_URL }}/_echo?ref={{ doc.fields.ref }}&fixed=1" }
  - id: xml
    http: { post: "{{ env.ERP_URL }}/_echo", xml: "<ref>{{ doc.fields.ref }}</ref>" }
"#,
    )
    .unwrap();
    let mut d = d;
    d.spawn();
    let evil = r#"</iban><admin>true</admin>"}&x=1"#;
    d.drop_file("note.txt", format!("Note\nRef: {evil}\n").as_bytes());
    let all = wait_runs(&d, 1, Duration::from_secs(60));
    assert_eq!(all[0]["state"], "succeeded", "{all:#?}");
    let detail = run_detail(&d, all[0]["id"].as_i64().unwrap());
    let output =
        |id: &str| detail["steps"].as_array().unwrap().iter().find(|s| s["step_id"] == id).unwrap()["output"].clone();
    // SOAP/XML: escaped, so the ERP parses one text node.
    let soap_body = output("soap")["body"]["body"].as_str().unwrap().to_string();
    assert!(
        soap_body.contains("<iban>&lt;/iban&gt;&lt;admin&gt;true&lt;/admin&gt;&quot;}&amp;x=1</iban>"),
        "{soap_body}"
    );
    assert!(!soap_body.contains("<admin>"));
    let xml_body = output("xml")["body"]["body"].as_str().unwrap().to_string();
    assert!(!xml_body.contains("<admin>"), "{xml_body}");
    // JSON: the whole string is one value.
    let sent: Value = serde_json::from_str(output("json")["body"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, serde_json::json!({ "ref": evil, "n": 1 }));
    // URL: percent-encoded, so no parameter is added.
    let query = output("url")["body"]["query"].as_str().unwrap().to_string();
    assert!(query.ends_with("&fixed=1") && !query.contains("&x=1"), "{query}");
}

#[test]
fn hot_reload_keeps_the_old_bot_version_when_the_new_file_is_broken() {
    let erp = start_erp(&[]);
    let mut d = daemon_for(&erp);
    d.spawn();
    let file = d.definitions.join("post-invoice-to-erp.yml");
    let good = std::fs::read_to_string(&file).unwrap();
    d.drop_file("a.txt", invoice(1, KNOWN_IBAN).as_bytes());
    let first = wait_runs(&d, 1, Duration::from_secs(60));
    let version = first[0]["bot_version"].as_str().unwrap().to_string();

    std::fs::write(&file, good.replace("  - id: post\n    http:", "  - id: post\n    htp:")).unwrap();
    d.wait_until("the broken file to be reported", Duration::from_secs(10), |d| {
        d.log().contains("keeping the previous version")
    });
    let line = good.lines().position(|l| l == "  - id: post").unwrap() + 2;
    let expected = format!("post-invoice-to-erp.yml:{line}:5: unknown step kind `htp` (did you mean `http`?)");
    assert!(d.log().contains(&expected), "{expected}\n{}", d.log());
    d.drop_file("b.txt", invoice(2, KNOWN_IBAN).as_bytes());
    let all = wait_runs(&d, 2, Duration::from_secs(60));
    assert!(all.iter().all(|r| r["state"] == "succeeded" && r["bot_version"] == version.as_str()), "{all:#?}");

    // A fixed file is a new version; new runs use it.
    std::fs::write(&file, good.replace("concurrency: 4", "concurrency: 2")).unwrap();
    d.wait_until("the new version to load", Duration::from_secs(10), |d| {
        d.log().matches("definitions reloaded").count() >= 2
    });
    d.drop_file("c.txt", invoice(3, KNOWN_IBAN).as_bytes());
    let all = wait_runs(&d, 3, Duration::from_secs(60));
    let newest = &all[0];
    assert_eq!(newest["state"], "succeeded");
    assert_ne!(newest["bot_version"], version.as_str());
    assert_eq!(erp.received_on("api").len(), 3);
}

#[test]
fn every_step_kind_in_a_manual_run_without_a_daemon() {
    let erp = start_erp(&[]);
    let mut d = daemon_for(&erp);
    let table = format!("clerk_kinds_{}", std::process::id());
    // tests/run.sh provides one (the machine's, or one it installs).
    let pg = std::env::var("CLERK_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let lite = format!("sqlite://{}/legacy.db?mode=rwc", d.dir.path().display());
    let out_dir = d.dir.path().join("out");
    // A table of this test's own, dropped by the bot's last step.
    std::fs::write(
        d.definitions.join("note.yml"),
        "doctype: note\nmatch: { all: ['Note'] }\nfields:\n  ref: { regex: 'Ref: (.+)$', required: true }\n",
    )
    .unwrap();
    std::fs::write(
        d.definitions.join("kinds.yml"),
        format!(
            r#"bot: kinds
on: manual
secrets: [ERP_PASSWORD]
steps:
  - set: {{ lines: [{{ sku: "A-1", qty: 2 }}, {{ sku: "B'2", qty: 1 }}] }}
  - id: pg_create
    sql: {{ url: "{pg}", query: "CREATE TABLE IF NOT EXISTS {table} (sku text, qty int, doc text)" }}
  - foreach:
      items: "{{{{ vars.lines }}}}"
      as: line
      steps:
        - sql: {{ url: "{pg}", query: "INSERT INTO {table} (sku, qty, doc) VALUES ($1, $2, $3)", params: ["{{{{ line.sku }}}}", "{{{{ line.qty }}}}", "{{{{ doc.fields.ref }}}}"] }}
  - id: pg_count
    sql: {{ url: "{pg}", query: "SELECT COUNT(*) AS n, MAX(doc) AS doc FROM {table} WHERE sku = $1", params: ["B'2"], extract: {{ n: "$.rows[0].n", doc: "$.rows[0].doc" }} }}
  - sql: {{ url: "{lite}", query: "CREATE TABLE IF NOT EXISTS v (iban TEXT, id TEXT)" }}
  - sql: {{ url: "{lite}", query: "INSERT INTO v VALUES (?, ?)", params: ["{{{{ doc.fields.ref }}}}", "V-9"] }}
  - id: lite
    sql: {{ url: "{lite}", query: "SELECT id FROM v WHERE iban = ?", params: ["{{{{ doc.fields.ref }}}}"], extract: {{ id: "$.rows[0].id" }} }}
  - id: upload
    http:
      post: "{{{{ env.ERP_URL }}}}/_echo"
      query: {{ q: "a b&c" }}
      headers: {{ X-Trace: "t-1" }}
      auth: {{ basic: [clerk, "{{{{ secrets.ERP_PASSWORD }}}}"] }}
      multipart: {{ file: "{{{{ doc.file }}}}", note: "{{{{ doc.fields.ref }}}}" }}
      expect: [200]
      extract: {{ trace: "$.headers.x-trace", type: "header:content-type", query: "regex:\"query\":\"([^\"]+)\"" }}
  - id: bearer
    http: {{ get: "{{{{ env.ERP_URL }}}}/_echo", auth: {{ bearer: tok-123 }}, extract: {{ auth: "$.headers.authorization" }} }}
  - id: fixed
    file: {{ write: "{out}/items.txt", format: fixed, columns: [sku, qty], widths: [6, 3], rows: "{{{{ vars.lines }}}}" }}
  - id: drop
    file: {{ write: "{{{{ env.ERP_DATA }}}}/drop/items-{{{{ run.id }}}}.csv", rows: "{{{{ vars.lines }}}}" }}
  - id: imported
    wait_until:
      step: {{ http: {{ get: "{{{{ env.ERP_URL }}}}/_received" }} }}
      condition: "{{{{ result.body | length >= 2 }}}}"
      every: 100ms
      timeout: 20s
  - sql: {{ url: "{pg}", query: "DROP TABLE {table}" }}
"#,
            out = out_dir.display()
        ),
    )
    .unwrap();
    let check = d.clerk(&["check"]);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    d.spawn();
    d.drop_file("note.txt", b"Note\nRef: DE-1'; DROP TABLE v; --\n");
    d.wait_settled(1);
    d.stop();

    // No daemon: `clerk bots run` executes the run itself.
    let out = d.clerk(&["bots", "run", "kinds", "--doc", "1", "--json"]);
    let run: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "{run:#}\n{}", String::from_utf8_lossy(&out.stderr));
    let steps = run["steps"].as_array().unwrap();
    let output = |id: &str| {
        steps.iter().find(|s| s["step_id"] == id).unwrap_or_else(|| panic!("no step {id}"))["output"].clone()
    };

    // SQL: values bound, never spliced (the quote in B'2 and the DROP in the reference are data).
    assert_eq!(output("pg_count")["n"], 1);
    assert_eq!(output("pg_count")["doc"], "DE-1'; DROP TABLE v; --");
    assert_eq!(output("lite")["id"], "V-9");
    assert_eq!(
        steps.iter().filter(|s| s["path"].as_str().unwrap().starts_with("3[")).count(),
        2,
        "one insert per line"
    );
    // HTTP: query encoded, headers, auth, multipart with the original file.
    let upload = output("upload");
    assert_eq!(upload["trace"], "t-1");
    assert_eq!(upload["query"], "q=a+b%26c");
    let echoed = upload["body"]["body"].as_str().unwrap();
    assert!(echoed.contains("filename=\"note.txt\"") && echoed.contains("Ref: DE-1'; DROP TABLE v; --"), "{echoed}");
    assert!(upload["body"]["headers"]["content-type"].as_str().unwrap().starts_with("multipart/form-data"));
    let upload_step = steps.iter().find(|s| s["step_id"] == "upload").unwrap();
    assert_eq!(upload_step["request"]["headers"]["Authorization"], "Basic ***");
    assert_eq!(output("bearer")["auth"], "Bearer tok-123");
    // Files: fixed-width written atomically; the CSV drop imported, which `wait_until` waited for.
    assert_eq!(std::fs::read_to_string(out_dir.join("items.txt")).unwrap(), "A-1   2  \nB'2   1  \n");
    assert!(output("imported")["tries"].as_i64().unwrap() >= 1);
    assert_eq!(erp.received_on("csv").len(), 2);
}

#[test]
fn a_scheduled_bot_runs_once_in_its_minute() {
    let erp = start_erp(&[]);
    let mut d = daemon_for(&erp);
    std::fs::write(
        d.definitions.join("every-minute.yml"),
        "bot: every-minute\non: { schedule: '* * * * *' }\nsteps:\n  - id: ping\n    http: { get: \"{{ env.ERP_URL }}/_echo\" }\n",
    )
    .unwrap();
    d.spawn();
    // The next minute boundary is at most 60 s away.
    d.wait_until("the scheduled run", Duration::from_secs(75), |d| runs(d).iter().any(|r| r["state"] == "succeeded"));
    std::thread::sleep(Duration::from_secs(2));
    let all = runs(&d);
    assert_eq!(all.len(), 1, "one run for the minute: {all:#?}");
    assert_eq!(all[0]["trigger"], "schedule");
    assert_eq!(all[0]["bot"], "every-minute");
}

#[test]
fn check_reports_bad_extractions_at_their_place() {
    let d = Daemon::new("");
    std::fs::write(
        d.definitions.join("bad-extract.yml"),
        "bot: bad-extract\non: manual\nsteps:\n  - http: { get: 'http://x', extract: { a: 'css:input[[', b: 'regex:(', c: 'jsonpath' } }\n",
    )
    .unwrap();
    let out = d.clerk(&["check"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bad-extract.yml:4:44: bad CSS selector"), "{text}");
    assert!(text.contains("bad-extract.yml:4:62: bad regex in `regex:(`: error: unclosed group"), "{text}");
    assert!(text.contains("bad-extract.yml:4:76: `jsonpath` is not an extraction"), "{text}");
}

#[test]
fn a_run_in_flight_finishes_on_the_version_it_started_with() {
    let erp = start_erp(&["--slow-ms", "1500"]);
    let mut d = daemon_for(&erp);
    d.spawn();
    let file = d.definitions.join("post-invoice-to-erp.yml");
    let old = std::fs::read_to_string(&file).unwrap();
    d.drop_file("a.txt", invoice(1, KNOWN_IBAN).as_bytes());
    d.wait_until("the run to start", Duration::from_secs(30), |d| runs(d).iter().any(|r| r["state"] == "running"));
    // Edited while the run waits on the slow vendor lookup: the new version names a field differently.
    std::fs::write(
        &file,
        old.replace("number: \"{{ doc.fields.invoice_number }}\"", "nummer: \"{{ doc.fields.invoice_number }}\""),
    )
    .unwrap();
    d.wait_until("the reload", Duration::from_secs(10), |d| d.log().matches("definitions reloaded").count() >= 1);
    d.drop_file("b.txt", invoice(2, KNOWN_IBAN).as_bytes());
    let all = wait_runs(&d, 2, Duration::from_secs(60));
    assert!(all.iter().all(|r| r["state"] == "succeeded"), "{all:#?}");
    assert_ne!(all[0]["bot_version"], all[1]["bot_version"]);
    let api = erp.received_on("api");
    let first = api.iter().find(|r| r["idempotency_key"].as_str().unwrap().ends_with("T-0001")).unwrap();
    let second = api.iter().find(|r| r["idempotency_key"].as_str().unwrap().ends_with("T-0002")).unwrap();
    assert_eq!(first["payload"]["number"], "T-0001", "the old version's payload: {first}");
    assert_eq!(second["payload"]["nummer"], "T-0002", "the new version's payload: {second}");
}
