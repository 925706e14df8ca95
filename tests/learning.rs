//! Learning from agents, against a real daemon: documents no rule recognises are filed by an agent
//! through the API; the next one like them is shown with the type they were filed under and a
//! confidence (on the item in the API and on its page), and is not classified by it — unless the
//! type says `auto_apply`. `clerk doctypes suggest` turns the filed documents into `match`
//! keywords, and with those in the definition the next such document is recognised by the rules.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::api::{bearer, call, Reply};
use support::Daemon;

/// A type whose rules do not know Acme's German letters.
const SUPPLIER_LETTER: &str = "doctype: supplier-letter\n\
description: Letters from suppliers\n\
match:\n  any: ['\\bSupplier letter\\b']\n\
fields:\n  reference: { regex: 'Referenz:\\s*(\\S+)', required: true }\n";

fn acme(n: u32) -> String {
    let items = ["Schrauben M4", "Muttern M4", "Unterlegscheiben", "Dübel 8 mm", "Winkel verzinkt"];
    format!(
        "ACME Widgets GmbH · Industriestraße 12 · 70173 Stuttgart\n\nRechnung an Kundennummer 4711\n\
         Referenz: R-{n}\nLieferdatum: 0{n}.03.2026\n\nPos. Artikel Menge Preis\n1 {} {} Stück {},00 EUR\n\n\
         Bitte überweisen Sie den Betrag innerhalb von 14 Tagen auf unser Konto\n\
         IBAN DE89 3704 0044 0532 0130 00 · Sparkasse Stuttgart\nUSt-IdNr. DE123456789\n",
        items[n as usize % items.len()],
        n * 10,
        n * 7
    )
}

const MEMO: &str = "Team lunch on Friday at noon in the canteen. Bring a salad or dessert to share.\n";

struct Setup {
    d: Daemon,
    addr: String,
    token: String,
}

fn setup(definition: &str) -> Setup {
    let mut d = Daemon::new("");
    std::fs::write(d.definitions.join("supplier-letter.yml"), definition).unwrap();
    d.spawn();
    let out = d.clerk_with_stdin(&["users", "add", "ann", "--role", "agent", "--password-stdin"], "correct horse battery staple");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = d.clerk(&["tokens", "create", "ann"]);
    let token = String::from_utf8_lossy(&out.stdout).split_whitespace().find(|w| w.starts_with("clerk_")).unwrap().to_string();
    let addr = d.http().trim_start_matches("http://").to_string();
    Setup { d, addr, token }
}

impl Setup {
    fn get(&self, path: &str) -> Reply {
        call(&self.addr, "GET", path, &[("Authorization", &bearer(&self.token))], None)
    }
    fn post(&self, path: &str, body: &Value) -> Reply {
        call(&self.addr, "POST", path, &[("Authorization", &bearer(&self.token))], Some(body))
    }
    /// The open item of the document named `name`.
    fn item_of(&self, name: &str) -> Value {
        let doc = self.d.by_name(name);
        let items = self.get("/api/v1/exceptions?state=open&limit=500").json();
        let item = items.as_array().unwrap().iter().find(|i| i["document_id"] == doc["id"]).cloned();
        let item = item.unwrap_or_else(|| panic!("no open item for {name}: {doc}"));
        self.get(&format!("/api/v1/exceptions/{}", item["id"])).json()
    }
    /// Letters 1..=n arrive and an agent files each as a supplier letter; then letter n+1 and
    /// a memo arrive. The filed documents' ids.
    fn file_letters_then_one_more(&self, n: u32) -> Vec<i64> {
        for i in 1..=n {
            self.d.drop_file(&format!("acme-{i}.txt"), acme(i).as_bytes());
        }
        self.d.wait_settled(n as usize);
        let filed = (1..=n).map(|i| self.file(i)).collect();
        self.d.drop_file(&format!("acme-{}.txt", n + 1), acme(n + 1).as_bytes());
        self.d.drop_file("memo.txt", MEMO.as_bytes());
        self.d.wait_settled(n as usize + 2);
        filed
    }

    /// An agent files the letter `n` as a supplier letter.
    fn file(&self, n: u32) -> i64 {
        let item = self.item_of(&format!("acme-{n}.txt"));
        assert_eq!(item["kind"], "unrecognised", "{item}");
        let r = self.post(&format!("/api/v1/exceptions/{}/resolve", item["id"]), &json!({"doctype": "supplier-letter"}));
        assert_eq!(r.status, 200, "{r:?}");
        item["document_id"].as_i64().unwrap()
    }
}

#[test]
fn the_type_agents_gave_similar_documents_is_suggested_and_not_applied() {
    let s = setup(SUPPLIER_LETTER);
    let filed = s.file_letters_then_one_more(2);
    // Not applied: the type has no auto_apply, so the letter waits for an agent.
    let doc = s.d.by_name("acme-3.txt");
    assert_eq!((doc["status"].as_str(), doc["doctype"].as_str()), (Some("exception"), None), "{doc}");
    let item = s.item_of("acme-3.txt");
    let suggestion = &item["suggestion"];
    assert_eq!(suggestion["doctype"], "supplier-letter", "{item}");
    let confidence = suggestion["confidence"].as_f64().unwrap();
    assert!((0.5..1.0).contains(&confidence), "{suggestion}");
    let like: Vec<i64> = suggestion["like"].as_array().unwrap().iter().map(|n| n["document_id"].as_i64().unwrap()).collect();
    assert_eq!(like.len(), 2, "{suggestion}");
    assert!(like.iter().all(|d| filed.contains(d)), "{like:?} {filed:?}");
    // Nothing filed is like a memo: no suggestion rather than a guess.
    let memo = s.item_of("memo.txt");
    assert!(memo["suggestion"].is_null(), "{memo}");

    // The queue shows it as well, in the API's list and on the queue page.
    let listed = s.get("/api/v1/exceptions?kind=unrecognised").json();
    let row = |id: &Value| listed.as_array().unwrap().iter().find(|i| &i["id"] == id).unwrap().clone();
    assert_eq!(row(&item["id"])["suggestion"], *suggestion, "{listed:#}");
    assert!(row(&memo["id"])["suggestion"].is_null(), "{listed:#}");
    let queue = s.get("/queue").body;
    let cell = format!(r#"<td class="suggestion">supplier-letter {:.0}%</td>"#, confidence * 100.0);
    assert_eq!(queue.matches(&cell).count(), 1, "{queue}");
    assert_eq!(queue.matches(r#"<td class="suggestion"></td>"#).count(), 1, "the memo has none: {queue}");

    // The command line shows the same.
    let out = s.d.clerk(&["exceptions", "show", &item["id"].to_string()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("looks like supplier-letter ("), "{said}");

    // The item page preselects the suggestion with the fields it finds, and says so.
    let page = s.get(&format!("/items/{}", item["id"]));
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("Looks like <b>supplier-letter</b>"), "{}", page.body);
    assert!(page.body.contains(r#"<option value="supplier-letter" selected>"#), "{}", page.body);
    assert!(page.body.contains(r#"value="R-3""#), "the reference the suggested type finds: {}", page.body);

    // Ops ask which keywords would have recognised the filed letters.
    let out = s.d.clerk(&["doctypes", "suggest", "supplier-letter"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("2 document(s) agents filed under it") && said.contains("in 2 of 2 filed"), "{said}");
    assert!(said.contains("recognise 0 of the 2 filed"), "{said}");
    let proposal = s.d.json(&["doctypes", "suggest", "supplier-letter", "--json"]);
    let patterns: Vec<String> = proposal["proposal"]["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["pattern"].as_str().unwrap().to_string())
        .collect();
    assert!(!patterns.is_empty(), "{proposal}");
    assert_eq!(proposal["proposal"]["regex_catches"]["filed"], 2, "{proposal}");

    // With the keywords in the definition, the next letter is recognised by the rules.
    let any: Vec<String> = patterns.iter().map(|p| format!("'{}'", p.replace('\'', "''"))).collect();
    let widened = SUPPLIER_LETTER.replace("any: ['\\bSupplier letter\\b']", &format!("any: ['\\bSupplier letter\\b', {}]", any.join(", ")));
    std::fs::write(s.d.definitions.join("supplier-letter.yml"), widened).unwrap();
    s.d.wait_until("the widened definition to load", Duration::from_secs(20), |d| d.log().contains("definitions reloaded"));
    s.d.drop_file("acme-4.txt", acme(4).as_bytes());
    s.d.wait_settled(5);
    let doc = s.d.document(s.d.by_name("acme-4.txt")["id"].as_i64().unwrap());
    assert_eq!((doc["status"].as_str(), doc["doctype"].as_str()), (Some("recognised"), Some("supplier-letter")), "{doc}");
    assert_eq!(doc["fields"]["reference"], "R-4");
}

#[test]
fn a_type_with_auto_apply_takes_documents_the_learner_is_sure_of() {
    let s = setup(&format!("{SUPPLIER_LETTER}auto_apply: 0.6\n"));
    let filed = s.file_letters_then_one_more(3);
    let doc = s.d.document(s.d.by_name("acme-4.txt")["id"].as_i64().unwrap());
    assert_eq!((doc["status"].as_str(), doc["doctype"].as_str()), (Some("recognised"), Some("supplier-letter")), "{doc}");
    assert_eq!(doc["fields"]["reference"], "R-4", "fields are extracted as for any document of the type");
    let audit = doc["audit"].to_string();
    assert!(audit.contains("as supplier-letter (learned:"), "the audit says why: {audit}");
    assert!(filed.iter().any(|id| audit.contains(&format!("#{id}"))), "and like which filed documents: {audit}");
    // The memo is like nothing filed: it stays in the queue.
    assert_eq!(s.d.by_name("memo.txt")["status"], "exception");
}

#[test]
fn an_auto_apply_that_is_not_a_confidence_is_refused_with_its_place() {
    let d = Daemon::new("");
    std::fs::write(d.definitions.join("supplier-letter.yml"), format!("{SUPPLIER_LETTER}auto_apply: yes\n")).unwrap();
    let out = d.clerk(&["check"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("supplier-letter.yml:7:13: `auto_apply` must be a confidence from 0.5 to below 1"), "{said}");
}
