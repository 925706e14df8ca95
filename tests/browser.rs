//! The web app in a real headless Chromium: an agent signs in, opens an incomplete invoice from
//! the queue, sees the page with the found fields boxed, corrects the fields with the keyboard and
//! resolves, and the bot books the invoice in the legacy-ERP simulator; an agent's correction of
//! an unseen vendor's invoice teaches clerk that vendor, whose next invoice is booked with no
//! person; an admin retries a failed run; an agent can neither retry runs nor manage users.

mod support;

use std::time::Duration;
use support::erp::{self, Erp};
use support::webdriver::{self, Browser};
use support::Daemon;

const ERP_PASSWORD: &str = "s3cr3t P@ss/word";
const PASSWORD: &str = "correct horse battery staple";
/// A vendor the ERP simulator knows.
const KNOWN_IBAN: &str = "DE89 3704 0044 0532 0130 00";
const ENTER: &str = "\u{E007}";

fn daemon_for(erp: &Erp) -> Daemon {
    let mut d = Daemon::new("")
        .with_env("ERP_URL", &erp.url())
        .with_env("ERP_DATA", erp.data.path().to_str().unwrap())
        .with_env("CLERK_SECRET_ERP_PASSWORD", ERP_PASSWORD);
    // A run against a dead ERP gives up waiting for it in a second, not in hours.
    let bot = d.definitions.join("post-invoice-to-erp.yml");
    let text = std::fs::read_to_string(&bot).unwrap().replace(
        "retry: { attempts: 5, backoff: 1s, max_backoff: 1m }",
        "retry: { attempts: 3, backoff: 50ms, max_backoff: 200ms, while_down: 1s }",
    );
    std::fs::write(bot, text).unwrap();
    d.spawn();
    for (name, role) in [("ann", "agent"), ("ada", "admin")] {
        let out = d.clerk_with_stdin(&["users", "add", name, "--role", role, "--password-stdin"], PASSWORD);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    d
}

fn sign_in(b: &Browser, base: &str, name: &str, then: &str) {
    b.go(&format!("{base}{then}"));
    assert!(b.url().contains("/login?next="), "a stranger is sent to sign in: {}", b.url());
    b.type_into(&b.find("input[name=name]"), name);
    b.type_into(&b.find("input[name=password]"), PASSWORD);
    b.click(&b.find("form.login button[type=submit]"));
    // The sign-in page's own address (`/login?next=/queue`) ends with `then` too: wait until
    // the browser has left it and the signed-in page is drawn.
    b.wait_for("the page after signing in", |b| {
        let url = b.url();
        !url.contains("/login") && url.ends_with(then)
    });
    b.find("#sign-out");
}

fn visible_input(b: &Browser, field: &str) -> webdriver::Element {
    b.find(&format!("fieldset.fields:not([hidden]) input[name={field}]"))
}

#[test]
fn an_agent_clears_an_incomplete_invoice_with_the_keyboard_and_the_bot_books_it() {
    if !webdriver::available() {
        eprintln!("skipped: chromium and chromium-driver are not installed");
        return;
    }
    let erp = erp::start(&["--password", ERP_PASSWORD]);
    let d = daemon_for(&erp);
    d.drop_sample("invoice-incomplete.pdf");
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(2);
    let base = d.http();
    let b = Browser::start();
    sign_in(&b, &base, "ann", "/queue");

    // The queue lists both items; j moves to the invoice, Enter opens it.
    let rows = b.text("table.queue tbody");
    assert!(rows.contains("invoice-incomplete.pdf") && rows.contains("letter-unknown.pdf"), "{rows}");
    let invoice_row = if b.text("table.queue tbody tr:first-child").contains("invoice-incomplete") { "" } else { "j" };
    b.press(invoice_row);
    b.press(ENTER);
    b.wait_for("the item page", |b| b.url().contains("/items/"));
    assert!(b.text("h1").contains("incomplete"), "{}", b.text("h1"));

    // The page image, drawn by a reader, with the issue date the reader found boxed on it.
    b.wait_for("the page image", |b| {
        b.script("return [...document.querySelectorAll('.sheet img')].every(i => i.complete && i.naturalWidth > 500)") == true
    });
    assert!(!b.all(".sheet img").is_empty());
    let date_box = b.find(".mark[data-field=issue_date]");
    // Drawn where the date is: in the page's upper part, left half, and a visible size.
    let placed = b.script(
        "const m = document.querySelector('.mark[data-field=issue_date]').getBoundingClientRect();
         const p = document.querySelector('.sheet img').getBoundingClientRect();
         return [(m.left - p.left) / p.width, (m.top - p.top) / p.height, m.width, m.height]",
    );
    let [x, y, w, h] = [0, 1, 2, 3].map(|i| placed[i].as_f64().unwrap());
    assert!(x > 0.05 && x < 0.5 && y > 0.05 && y < 0.4 && w > 20.0 && h > 5.0, "the date's box is at {placed}");
    let _ = date_box;
    // The reasons are in plain words beside the fields.
    assert!(b.text("fieldset.fields:not([hidden])").contains("not found in the text"), "{}", b.text("main"));

    // c claims; the fields are typed, validated as typed, and Enter resolves and moves on.
    b.press("c");
    b.wait_for("the claim", |b| b.text("#banner").contains("Claimed"));
    assert_eq!(b.text("#state"), "claimed by ann");
    b.type_into(&visible_input(&b, "invoice_number"), "U-17");
    let total = visible_input(&b, "total");
    b.clear(&total);
    b.type_into(&total, "1.250,00");
    let iban = visible_input(&b, "iban");
    b.type_into(&iban, KNOWN_IBAN);
    b.wait_for("the answer to validate", |b| b.text("#check").contains("valid"));
    if let Ok(dir) = std::env::var("CLERK_SCREENSHOTS") {
        b.script("window.scrollTo(0, 0); document.activeElement.blur(); return true");
        b.screenshot(&std::path::Path::new(&dir).join("item.png"));
        b.click(&iban);
    }
    let here = b.url();
    b.type_into(&iban, ENTER);
    b.wait_for("the next item after resolving", |b| b.url() != here);
    assert!(b.text("h1").contains("unrecognised"), "Enter moved on to the next item: {}", b.text("h1"));

    // Resolved by ann, once; the bot books the invoice in the ERP with her corrections.
    let items = d.exceptions();
    let item = items.iter().find(|e| e["kind"] == "incomplete").unwrap();
    assert_eq!(item["state"], "resolved", "{item}");
    assert_eq!(item["resolved_by"], "ann");
    d.wait_until("the invoice booked", Duration::from_secs(60), |_| !erp.received_on("api").is_empty());
    let booked = erp.received_on("api");
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(booked[0]["payload"]["number"], "U-17");
    assert_eq!(booked[0]["payload"]["total"], "1250.00");
}

/// A vendor with no template, whose number and date stand by labels the generic reader does not
/// know ("Our ref.", "Issued"); the ERP knows its IBAN.
fn nordwind(number: &str, date: &str, total: &str) -> String {
    format!(
        "Nordwind Trading Ltd · 4 Harbour Road · Leith                    INVOICE\n\n\
         Our ref.          {number}\n\
         Issued            {date}\n\n\
         Consulting and travel                                         {total}\n\n\
         {:>45}   EUR    {total}\n\n\
         Please pay to IBAN {KNOWN_IBAN}\n",
        "Total due:"
    )
}

#[test]
fn an_agent_teaches_a_vendor_on_the_item_page_and_its_next_invoice_is_booked_with_no_person() {
    if !webdriver::available() {
        eprintln!("skipped: chromium and chromium-driver are not installed");
        return;
    }
    let erp = erp::start(&["--password", ERP_PASSWORD]);
    let d = daemon_for(&erp);
    d.drop_file("nordwind-117.txt", nordwind("NW-2024-0117", "03.04.2024", "1,190.00").as_bytes());
    d.wait_settled(1);
    let doc = d.by_name("nordwind-117.txt");
    assert_eq!(doc["status"], "exception", "{doc}");
    let item = d.exceptions().into_iter().find(|e| e["document_id"] == doc["id"]).unwrap();
    let base = d.http();
    let b = Browser::start();
    sign_in(&b, &base, "ann", &format!("/items/{}", item["id"]));

    // The total was found but not sure: it stands in the form, marked, for the agent to confirm.
    let total = visible_input(&b, "total");
    assert_eq!(b.attribute(&total, "value").as_deref(), Some("1190.00"));
    assert!(b.text("fieldset.fields:not([hidden])").contains("not sure"), "{}", b.text("main"));
    // She claims, types the two fields the reader could not find, leaves the total as it is,
    // and resolves with Enter.
    b.press("c");
    b.wait_for("the claim", |b| b.text("#banner").contains("Claimed"));
    b.type_into(&visible_input(&b, "invoice_number"), "NW-2024-0117");
    let date = visible_input(&b, "issue_date");
    b.type_into(&date, "03.04.2024");
    b.wait_for("the answer to validate", |b| b.text("#check").contains("valid"));
    let here = b.url();
    b.type_into(&date, ENTER);
    b.wait_for("the queue after resolving", |b| b.url() != here);
    d.wait_until("the first invoice booked", Duration::from_secs(60), |_| erp.received_on("api").len() == 1);

    // The vendor's next invoice: same layout, new values, booked by the bot with no item.
    d.drop_file("nordwind-131.txt", nordwind("NW-2024-0131", "17.05.2024", "238.00").as_bytes());
    d.wait_settled(2);
    let next = d.by_name("nordwind-131.txt");
    assert_eq!(next["status"], "recognised", "{next}");
    d.wait_until("the next invoice booked", Duration::from_secs(60), |_| erp.received_on("api").len() == 2);
    let booked = erp.received_on("api");
    let payload = &booked[1]["payload"];
    assert_eq!((payload["number"].as_str(), payload["date"].as_str(), payload["total"].as_str()),
        (Some("NW-2024-0131"), Some("2024-05-17"), Some("238.00")), "{booked:#?}");
    assert_eq!(d.exceptions().len(), 1, "only the first invoice needed a person");
}

#[test]
fn an_admin_retries_a_failed_run_and_an_agent_cannot() {
    if !webdriver::available() {
        eprintln!("skipped: chromium and chromium-driver are not installed");
        return;
    }
    let mut erp = erp::start(&["--password", ERP_PASSWORD]);
    erp.down();
    let d = daemon_for(&erp);
    d.drop_sample("invoice-acme.pdf");
    let mut run = serde_json::Value::Null;
    d.wait_until("the run to fail", Duration::from_secs(60), |d| {
        let runs = d.json(&["runs", "list", "--json"]);
        run = runs.as_array().and_then(|r| r.first().cloned()).unwrap_or_default();
        run["state"] == "failed"
    });
    let id = run["id"].as_i64().unwrap();
    erp.restart();
    let base = d.http();
    let b = Browser::start();

    // An agent: no runs page, and the API refuses the retry and user management.
    sign_in(&b, &base, "ann", "/queue");
    b.go(&format!("{base}/runs/{id}"));
    assert!(b.text("body").contains("needs the ops role"), "{}", b.text("body"));
    let csrf = "document.querySelector('meta[name=csrf-token]')?.content || ''";
    b.go(&format!("{base}/queue"));
    let tried = b.script(&format!(
        "const t = {csrf}; return Promise.all([
            fetch('/api/v1/runs/{id}/retry', {{method: 'POST', headers: {{'X-CSRF-Token': t}}}}).then(r => r.status),
            fetch('/api/v1/users', {{method: 'POST', headers: {{'X-CSRF-Token': t, 'Content-Type': 'application/json'}},
                body: JSON.stringify({{name: 'mallory', role: 'admin'}})}}).then(r => r.status),
        ])"
    ));
    assert_eq!(tried, serde_json::json!([403, 403]));
    assert_eq!(d.json(&["runs", "show", &id.to_string(), "--json"])["state"], "failed");
    b.click(&b.find("#sign-out"));
    b.wait_for("signing out", |b| b.url().contains("/login"));

    // An admin: the journal step by step, and Retry.
    sign_in(&b, &base, "ada", &format!("/runs/{id}"));
    let journal = b.text("table.steps");
    assert!(journal.contains("vendor") && journal.contains("waiting"), "{journal}");
    let error = b.text("p.error");
    assert!(error.contains("has been down since") && error.contains("connection refused"), "{error}");
    b.click(&b.find("[data-run=retry]"));
    d.wait_until("the retried run to succeed", Duration::from_secs(60), |d| {
        d.json(&["runs", "show", &id.to_string(), "--json"])["state"] == "succeeded"
    });
    let booked = erp.received_on("api");
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(booked[0]["payload"]["number"], "INV-2024-0042");
}

#[test]
fn an_agent_splits_a_document_the_batch_rule_cut_too_long_on_its_item_page() {
    if !webdriver::available() {
        eprintln!("skipped: chromium and chromium-driver are not installed");
        return;
    }
    // Only sheets reading SEPARATOR split, so the EAN-13 sheet's neighbours stay one document;
    // with no invoice type loaded, every document cut waits for an agent.
    let mut d = Daemon::new("[split]\nat = [\"barcode:SEPARATOR\"]\n");
    for f in ["invoice.yml", "post-invoice-to-erp.yml"] {
        std::fs::remove_file(d.definitions.join(f)).unwrap();
    }
    d.spawn();
    let out = d.clerk_with_stdin(&["users", "add", "ann", "--role", "agent", "--password-stdin"], PASSWORD);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let batch = support::repo().join("tests/fixtures/batches/symbologies.pdf");
    d.drop_file("mailroom.pdf", &std::fs::read(batch).unwrap());
    d.wait_settled(8);
    let long = d.documents().into_iter().find(|doc| d.document(doc["id"].as_i64().unwrap())["split_pages"] == "10-13").unwrap();
    let item = d.exceptions().into_iter().find(|e| e["document_id"] == long["id"]).unwrap();
    let b = Browser::start();
    sign_in(&b, &d.http(), "ann", &format!("/items/{}", item["id"]));
    assert!(b.text("#boundary").contains("page(s) 10-13"), "{}", b.text("#boundary"));
    b.script("document.getElementById('split-after').value = '2'");
    b.click(&b.find("#split"));
    b.wait_for("the queue after the split", |b| b.url().ends_with("/queue"));
    d.wait_settled(10);
    let cut: Vec<String> = d
        .documents()
        .iter()
        .map(|doc| d.document(doc["id"].as_i64().unwrap()))
        .filter(|doc| doc["split_from"].is_i64() && doc["status"] != "replaced")
        .map(|doc| doc["split_pages"].as_str().unwrap().to_string())
        .collect();
    assert!(cut.contains(&"10-11".to_string()) && cut.contains(&"12-13".to_string()), "{cut:?}");
    let replaced = d.document(long["id"].as_i64().unwrap());
    assert_eq!(replaced["status"], "replaced");
    assert_eq!(replaced["exceptions"][0]["state"], "replaced", "the item closed with its document");
}
