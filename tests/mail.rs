//! Mail intake from Maildir folders: every attachment a rule takes becomes a document exactly
//! once, the message moves on only after its documents are stored, unmatched mail is left and
//! counted, and bad mail ends on the exception queue with its bytes kept.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

const RULES: &str = r#"
[mail]
poll_interval = "200ms"
[[mail.maildir]]
name = "ap"
path = "mail/ap"
[[mail.rules]]
name = "acme-invoices"
from = "@acme\\.example"
attachment = ["*.pdf"]
doctype = "invoice"
action = "move:Processed"
[[mail.rules]]
name = "e-invoices"
attachment = ["*.xml"]
[[mail.rules]]
name = "scans"
subject = "^Scan"
take = ["attachments", "inline"]
[[mail.rules]]
name = "notes"
subject = "^Note"
take = ["body"]
[[mail.rules]]
name = "archive"
subject = "^Archive"
take = ["eml"]
action = "delete"
[[mail.rules]]
name = "forwarded"
subject = "^Fwd"
"#;

fn maildir(d: &Daemon) -> PathBuf {
    let root = d.dir.path().join("mail/ap");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    root
}

fn start() -> (Daemon, PathBuf) {
    let mut d = Daemon::new(&format!("[limits]\nmax_file_size = \"200KB\"\n{RULES}"));
    let root = maildir(&d);
    d.spawn();
    (d, root)
}

/// Delivers a message the way an MDA does: written to tmp/, renamed into new/.
fn deliver(root: &std::path::Path, name: &str, raw: &[u8]) {
    let tmp = root.join("tmp").join(name);
    std::fs::write(&tmp, raw).unwrap();
    std::fs::rename(&tmp, root.join("new").join(name)).unwrap();
}

fn status(d: &Daemon) -> Value {
    d.json(&["mail", "status", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "ap")
        .cloned()
        .unwrap_or(Value::Null)
}

fn files(dir: PathBuf) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn an_attached_invoice_becomes_a_document_once_and_the_message_moves_on() {
    let (mut d, root) = start();
    let pdf = std::fs::read(sample("invoice-acme.pdf")).unwrap();
    let raw = message(
        "Billing <billing@acme.example>",
        "Invoice INV-2024-0042",
        "Please find attached.",
        &[("INV-2024-0042.pdf", "application/pdf", &pdf)],
    );
    deliver(&root, "1700000000.M1.host", &raw);
    let docs = d.wait_settled(1);
    let doc = d.document(docs[0]["id"].as_i64().unwrap());
    assert_eq!(doc["status"], "recognised", "{doc:#}");
    assert_eq!(doc["doctype"], "invoice");
    assert_eq!(doc["original_name"], "INV-2024-0042.pdf");
    assert_eq!(doc["source"], "mail:ap");
    assert_eq!(doc["sha256"], sha256_hex(&pdf));
    assert_eq!(doc["mail"]["from"], "Billing <billing@acme.example>");
    assert_eq!(doc["mail"]["subject"], "Invoice INV-2024-0042");
    assert_eq!(doc["mail"]["message_id"], "Invoice-INV-2024-0042@test");
    // The action after the commit: moved to the Processed folder, marked seen.
    d.wait_until("the message to move", Duration::from_secs(10), |_| files(root.join("new")).is_empty());
    assert_eq!(files(root.join(".Processed/cur")), vec!["1700000000.M1.host:2,S"]);
    assert_eq!(status(&d)["taken"], 1);

    // The same message delivered again under the same name, across a restart: not taken twice.
    d.stop();
    deliver(&root, "1700000000.M1.host", &raw);
    d.spawn();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.documents().len(), 1, "no second document");
    // Bots see the message: doc.mail in templates.
    std::fs::write(
        d.definitions.join("mail-bot.yml"),
        "bot: mail-bot\non: manual\nsteps:\n  - http: { post: 'http://127.0.0.1:9/x', json: { from: '{{ doc.mail.from }}', subject: '{{ doc.mail.subject }}' } }\n",
    )
    .unwrap();
    let out = d.clerk(&["bots", "run", "mail-bot", "--doc", &docs[0]["id"].to_string(), "--dry-run", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Billing <billing@acme.example>") && text.contains("Invoice INV-2024-0042"), "{text}");
}

#[test]
fn an_xrechnung_attached_as_xml_is_recognised_and_booked_with_its_lines() {
    let erp = support::erp::start(&[]);
    let mut d = Daemon::new(&format!("[limits]\nmax_file_size = \"200KB\"\n{RULES}")).with_env("ERP_URL", &erp.url());
    let root = maildir(&d);
    d.spawn();
    let xml = std::fs::read(sample("e-invoice-xrechnung.xml")).unwrap();
    let raw = message(
        "ACME Billing <billing@acme.example>",
        "Rechnung XR-2025-0117",
        "Anbei unsere Rechnung als XRechnung.",
        &[("XR-2025-0117.xml", "application/xml", &xml)],
    );
    deliver(&root, "1700000001.M2.host", &raw);
    let docs = d.wait_settled(1);
    let doc = d.document(docs[0]["id"].as_i64().unwrap());
    assert_eq!(doc["status"], "recognised", "{doc:#}");
    assert_eq!(doc["doctype"], "e-invoice");
    assert_eq!(doc["media_type"], "application/xml");
    assert_eq!(doc["fields"]["invoice_number"], "XR-2025-0117");
    assert_eq!(doc["fields"]["seller_vat_id"], "DE136695976");
    assert_eq!(doc["fields"]["amount_due"], "349.04");
    assert_eq!(doc["sha256"], sha256_hex(&xml));

    // The bundled bot books it with its two lines, and the ERP posts it: the lines add up.
    d.wait_until("the invoice posted", Duration::from_secs(60), |_| !erp.received_on("posted").is_empty());
    let invoices = erp.received_on("api");
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    let inv = &invoices[0]["payload"];
    assert_eq!((inv["vendor"].as_str(), inv["number"].as_str(), inv["total"].as_str()), (Some("V-1001"), Some("XR-2025-0117"), Some("349.04")));
    assert_eq!((inv["date"].as_str(), inv["lines_total"].as_str(), inv["buyer_reference"].as_str()), (Some("2025-10-08"), Some("293.31"), Some("04011000-12345-34")));
    let lines: Vec<Value> = erp.received_on("lines").into_iter().map(|l| l["payload"].clone()).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!((lines[0]["code"].as_str(), lines[0]["quantity"].as_str(), lines[0]["amount"].as_str()), (Some("PAP-A4-80"), Some("40"), Some("174.00")));
    assert_eq!((lines[1]["description"].as_str(), lines[1]["unit_price"].as_str(), lines[1]["amount"].as_str()), (Some("Toner cartridge, black"), Some("39.77"), Some("119.31")));
    assert_eq!(erp.received_on("posted")[0]["payload"]["lines"], 2);
}

#[test]
fn mail_no_rule_matches_is_left_in_place_and_counted() {
    let (d, root) = start();
    deliver(&root, "1700000001.M2.host", &message("someone@elsewhere.example", "Lunch?", "Are you free?", &[]));
    d.wait_until("the message to be counted", Duration::from_secs(10), |d| {
        d.has_store() && status(d)["unmatched"] == 1
    });
    assert_eq!(files(root.join("new")), vec!["1700000001.M2.host"], "left as it was");
    assert!(d.documents().is_empty());
    assert_eq!(status(&d)["health"], "ok");
}

#[test]
fn bodies_inline_parts_whole_messages_and_forwarded_mail() {
    let (d, root) = start();
    // A note in the message text (quoted-printable, Latin-1), taken as a text document.
    let note = b"From: ops@clerk.example\r\nSubject: Note about delivery\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDelivery Note No: DN-77 gepr=FCft\r\nDate: 02.04.2024\r\n";
    deliver(&root, "1.note", note);
    // A scan pasted inline.
    let png = std::fs::read(sample("invoice-acme-scan.png")).unwrap();
    let inline = format!(
        "From: scanner@clerk.example\r\nSubject: Scan from MFP\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=R\r\n\r\n--R\r\nContent-Type: text/html\r\n\r\n<p>scan</p>\r\n--R\r\nContent-Type: image/png; name=\"scan.png\"\r\nContent-Disposition: inline; filename=\"scan.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--R--\r\n",
        base64(&png)
    );
    deliver(&root, "2.inline", inline.as_bytes());
    // The whole message kept as .eml, then deleted from the mailbox.
    deliver(&root, "3.archive", &message("x@y.example", "Archive this", "keep", &[]));
    // A forwarded message whose PDF is inside the attached message/rfc822.
    let pdf = std::fs::read(sample("invoice-globex.pdf")).unwrap();
    let inner = message("billing@globex.example", "Invoice 7781", "attached", &[("7781.pdf", "application/pdf", &pdf)]);
    let fwd = format!(
        "From: boss@clerk.example\r\nSubject: Fwd: Invoice 7781\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=F\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--F\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--F--\r\n",
        String::from_utf8(inner).unwrap()
    );
    deliver(&root, "4.fwd", fwd.as_bytes());
    d.wait_settled(4);
    let by = |name: &str| d.by_name(name);
    let note_doc = by("Note about delivery.txt");
    assert_eq!(note_doc["doctype"], "delivery-note", "{note_doc:#}");
    assert!(note_doc["text"].as_str().unwrap().contains("geprüft"));
    assert_eq!(by("scan.png")["sha256"], sha256_hex(&png));
    let eml = by("Archive this.eml");
    assert!(eml["size"].as_i64().unwrap() > 100);
    assert_eq!(by("7781.pdf")["doctype"], "invoice");
    d.wait_until("the archive message to be deleted", Duration::from_secs(10), |_| {
        !files(root.join("cur")).iter().any(|f| f.starts_with("3.archive"))
            && !files(root.join("new")).iter().any(|f| f.starts_with("3.archive"))
    });
    assert!(files(root.join("cur")).iter().any(|f| f == "1.note:2,S"), "{:?}", files(root.join("cur")));
}

#[test]
fn bad_mail_ends_on_the_exception_queue_with_its_bytes_kept() {
    let (mut d, root) = start();
    let junk: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
    deliver(&root, "1.junk", &junk);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 256) as u8).collect();
    deliver(
        &root,
        "2.big",
        &message("billing@acme.example", "Invoice big", "", &[("big.pdf", "application/pdf", &big)]),
    );
    let smime = b"From: billing@acme.example\r\nSubject: Scan encrypted\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n";
    deliver(&root, "3.smime", smime);
    deliver(
        &root,
        "4.empty",
        b"From: scanner@clerk.example\r\nSubject: Scan\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n",
    );
    let docs = d.wait_settled(4);
    assert!(d.is_running());
    let reasons: Vec<String> = d.exceptions().iter().map(|e| e["reason"].as_str().unwrap().to_string()).collect();
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("unreadable e-mail: the message has none of the headers"), "{reasons:#?}");
    assert!(has("the attachment big.pdf is 300000 bytes, over the limit"), "{reasons:#?}");
    assert!(has("encrypted (S/MIME or PGP)"), "{reasons:#?}");
    assert!(has("the e-mail is empty"), "{reasons:#?}");
    // The junk message's bytes are kept, exactly.
    let junk_doc = docs.iter().find(|d| d["original_name"] == "1.junk.eml").expect("the junk message as a document");
    let out = d.clerk(&["documents", "original", &junk_doc["id"].to_string()]);
    assert_eq!(out.stdout, junk);
    assert_eq!(status(&d)["exceptions"], 4);
    d.stop();
}
