//! Learning each vendor from the agents, against a real daemon: an invoice from a vendor with no
//! template and labels the generic reader does not know goes to an agent with what it found; the
//! agent corrects two fields through the API; the same vendor's next invoice is read where the
//! agent showed them, is sure, and goes straight to its bot — also in a second daemon sharing the
//! PostgreSQL store. `clerk vendors` shows what was learned and forgets it.

mod support;

use serde_json::{json, Value};
use support::api::{bearer, call, Reply};
use support::{Daemon, TestDatabase};

/// Any vendor's invoice, read by the generic reader; booked by writing a CSV row.
const SUPPLIER_INVOICE: &str = "doctype: supplier-invoice\n\
description: Invoices from any vendor\n\
priority: 5\n\
match:\n  any: ['(?i)\\bbeleg\\b', '(?i)\\brechnung\\b']\n\
extract: { reader: invoice, required: [invoice_number, issue_date, total, iban] }\n";

const BOOK: &str = "bot: book-supplier-invoice\n\
on: { doctype: supplier-invoice }\n\
steps:\n  - id: book\n    file:\n      write: \"{{ env.BOOKED }}/{{ doc.id }}.csv\"\n      columns: [number, date, total, iban]\n      rows:\n        - { number: \"{{ doc.fields.invoice_number }}\", date: \"{{ doc.fields.issue_date }}\", total: \"{{ doc.fields.total }}\", iban: \"{{ doc.fields.iban }}\" }\n";

/// Kontor Nord's layout: its number stands after "Beleg", its total right of "Endsumme" with
/// the currency between — neither a label the generic reader knows.
fn kontor(number: &str, date: &str, total: &str) -> String {
    format!(
        "Kontor Nord GmbH · Kaistraße 4 · 24103 Kiel                  Beleg {number}\n\
         \n\
         Datum                 Leistung\n\
         {date}            Wartung der Anlage\n\
         \n\
         Abrechnung                                   Endsumme     EUR     {total}\n\
         \n\
         Zahlbar auf IBAN DE89 3704 0044 0532 0130 00\n"
    )
}

struct Setup {
    d: Daemon,
    addr: String,
    token: String,
    /// Where the bot books: one folder for daemons sharing a store (either may run the bot).
    booked: std::path::PathBuf,
}

fn daemon(d: Daemon, booked: &std::path::Path) -> Setup {
    let mut d = d.with_env("BOOKED", booked.to_str().unwrap());
    std::fs::write(d.definitions.join("supplier-invoice.yml"), SUPPLIER_INVOICE).unwrap();
    std::fs::write(d.definitions.join("book-supplier-invoice.yml"), BOOK).unwrap();
    d.spawn();
    let addr = d.http().trim_start_matches("http://").to_string();
    Setup { d, addr, token: String::new(), booked: booked.to_path_buf() }
}

impl Setup {
    fn with_agent(mut self) -> Setup {
        let out = self.d.clerk_with_stdin(
            &["users", "add", "ann", "--role", "admin", "--password-stdin"],
            "correct horse battery staple",
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        self.token = self.token_of("ann");
        self
    }
    fn token_of(&self, user: &str) -> String {
        let out = self.d.clerk(&["tokens", "create", user]);
        String::from_utf8_lossy(&out.stdout).split_whitespace().find(|w| w.starts_with("clerk_")).unwrap().to_string()
    }
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        call(&self.addr, method, path, &[("Authorization", &bearer(&self.token))], body)
    }
    fn item_of(&self, name: &str) -> Value {
        let doc = self.d.by_name(name);
        let items = self.call("GET", "/api/v1/exceptions?state=open&limit=500", None).json();
        let item = items.as_array().unwrap().iter().find(|i| i["document_id"] == doc["id"]).cloned();
        item.unwrap_or_else(|| panic!("no open item for {name}: {doc}"))
    }
    fn booked(&self, doc: &Value) -> Option<String> {
        std::fs::read_to_string(self.booked.join(format!("{}.csv", doc["id"]))).ok()
    }
    fn wait_booked(&self, doc: &Value) -> String {
        self.d
            .wait_until("the invoice to be booked", std::time::Duration::from_secs(30), |_| self.booked(doc).is_some());
        self.booked(doc).unwrap()
    }
}

/// The first invoice goes to an agent, who corrects the number and the total; returns the
/// vendor's id as `clerk vendors list` shows it.
fn teach(s: &Setup) -> i64 {
    s.d.drop_file("kontor-117.txt", kontor("2024/117", "03.04.2024", "1.190,00").as_bytes());
    s.d.wait_settled(1);
    let doc = s.d.by_name("kontor-117.txt");
    assert_eq!(doc["status"], "exception", "an unknown layout is not guessed through: {doc}");
    let item = s.item_of("kontor-117.txt");
    assert_eq!(item["kind"], "incomplete", "{item}");
    // The reader found what checks itself: the IBAN is preselected.
    assert_eq!(doc["fields"]["iban"], "DE89370400440532013000", "{doc}");
    let answer = json!({"doctype": "supplier-invoice", "fields": {"invoice_number": "2024/117", "total": "1190.00", "issue_date": "03.04.2024"}});
    let r = s.call("POST", &format!("/api/v1/exceptions/{}/resolve", item["id"]), Some(&answer));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(s.wait_booked(&doc).contains("2024/117"), "the corrected invoice is booked");

    let listed = s.d.json(&["vendors", "list", "--json"]);
    let vendors = listed.as_array().unwrap();
    assert_eq!(vendors.len(), 1, "{listed}");
    assert_eq!(vendors[0]["keys"], json!(["iban:DE89370400440532013000"]), "{listed}");
    // What she gave, and what the reader was sure of and she let stand (the IBAN, the currency).
    assert_eq!(vendors[0]["fields"], json!(["currency", "iban", "invoice_number", "issue_date", "total"]), "{listed}");
    vendors[0]["id"].as_i64().unwrap()
}

/// The vendor's next invoice, same layout, new values: read where the agent showed them, sure,
/// booked without a person.
fn next_goes_straight_through(s: &Setup, name: &str) {
    s.d.drop_file(name, kontor("2024/131", "17.05.2024", "238,00").as_bytes());
    s.d.wait_until("the next invoice to settle", std::time::Duration::from_secs(30), |d| {
        d.documents()
            .iter()
            .any(|x| x["original_name"] == name && x["status"] != "received" && x["status"] != "extracted")
    });
    let doc = s.d.by_name(name);
    assert_eq!(doc["status"], "recognised", "{doc}");
    assert_eq!(doc["fields"]["invoice_number"], "2024/131", "{doc}");
    assert_eq!(doc["fields"]["total"], "238.00", "{doc}");
    assert_eq!(doc["fields"]["issue_date"], "2024-05-17", "{doc}");
    let booked = s.wait_booked(&doc);
    assert!(booked.contains("2024/131,2024-05-17,238.00,DE89370400440532013000"), "{booked}");
}

#[test]
fn one_correction_teaches_the_vendor_and_its_next_invoice_goes_straight_to_its_bot() {
    let booked = tempfile::tempdir().unwrap();
    let s = daemon(Daemon::new(""), booked.path()).with_agent();
    let vendor = teach(&s);
    next_goes_straight_through(&s, "kontor-131.txt");

    // What was learned, in words, and the API says the same.
    let shown = s.d.clerk(&["vendors", "show", &vendor.to_string()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("invoice_number: after \"beleg\" in its cell"), "{shown}");
    assert!(shown.contains("total: two cells right of \"endsumme\""), "{shown}");
    assert!(shown.contains("shown by ann"), "{shown}");
    let api = s.call("GET", &format!("/api/v1/vendors/{vendor}"), None).json();
    assert_eq!(api["fields"]["total"]["spots"][0]["place"], "right_two", "{api}");
    assert_eq!(api["fields"]["total"]["example"], "1190.00", "{api}");

    // Forgotten, the vendor's next invoice is the generic reader's again: back to a person.
    let r = s.call("DELETE", &format!("/api/v1/vendors/{vendor}"), None);
    assert_eq!(r.status, 204, "{r:?}");
    assert!(s.d.json(&["vendors", "list", "--json"]).as_array().unwrap().is_empty());
    s.d.drop_file("kontor-140.txt", kontor("2024/140", "20.06.2024", "99,00").as_bytes());
    s.d.wait_settled(3);
    assert_eq!(s.d.by_name("kontor-140.txt")["status"], "exception");
    let trail = s.d.clerk(&["audit", "--action", "vendor forgotten"]);
    assert!(String::from_utf8_lossy(&trail.stdout).contains("ann"), "{trail:?}");
}

#[test]
fn a_daemon_sharing_the_postgresql_store_reads_the_vendor_as_taught() {
    let db = TestDatabase::create();
    let inbox_a = tempfile::tempdir().unwrap();
    let inbox_b = tempfile::tempdir().unwrap();
    let booked = tempfile::tempdir().unwrap();
    let a = daemon(Daemon::sharing(&db.url, inbox_a.path(), ""), booked.path()).with_agent();
    teach(&a);
    // B shares the store but not the inbox: the invoice arrives at B only.
    let b = daemon(Daemon::sharing(&db.url, inbox_b.path(), ""), booked.path());
    next_goes_straight_through(&b, "kontor-131.txt");
}

#[test]
fn a_value_the_agent_types_is_checked_by_the_fields_kind() {
    let booked = tempfile::tempdir().unwrap();
    let s = daemon(Daemon::new(""), booked.path()).with_agent();
    s.d.drop_file("kontor-117.txt", kontor("2024/117", "03.04.2024", "1.190,00").as_bytes());
    s.d.wait_settled(1);
    let item = s.item_of("kontor-117.txt");
    let answer = json!({"doctype": "supplier-invoice", "fields": {"invoice_number": "2024/117", "total": "soon", "issue_date": "03.04.2024"}});
    let r = s.call("POST", &format!("/api/v1/exceptions/{}/check", item["id"]), Some(&answer)).json();
    assert_eq!(r["valid"], false, "{r}");
    assert!(r["problems"]["total"].as_str().unwrap().contains("\"soon\" is not an amount"), "{r}");
    // Nothing is learned from an answer that is refused.
    let r = s.call("POST", &format!("/api/v1/exceptions/{}/resolve", item["id"]), Some(&answer));
    assert_eq!(r.status, 422, "{r:?}");
    assert!(s.d.json(&["vendors", "list", "--json"]).as_array().unwrap().is_empty());
}
