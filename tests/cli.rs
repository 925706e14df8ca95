//! The command line an agent and an ops engineer use: `classify` dry runs and the exception
//! queue's claim / resolve / reject.

mod support;
use serde_json::Value;
use std::process::Command;
use support::*;

#[test]
fn classify_json_is_one_object_per_file_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        sample("invoice-acme.pdf"),
        sample("invoice-acme-scan.png"),
        sample("letter-unknown.pdf"),
        sample("broken/encrypted.pdf"),
    ];
    let out = Command::new(CLERK)
        .args(["classify", "--json", "--definitions"])
        .arg(repo().join("bots"))
        .args(&files)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    for l in &lines {
        for key in ["file", "status", "doctype", "fields", "exception", "pages", "ocr", "millis"] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    assert_eq!(lines[0]["status"], "recognised");
    assert_eq!(lines[0]["doctype"], "invoice");
    assert_eq!(lines[0]["fields"]["total"], "509.76");
    assert_eq!(lines[0]["ocr"], false);
    assert_eq!(lines[0]["exception"], Value::Null);
    assert_eq!(lines[1]["ocr"], true);
    assert_eq!(lines[1]["fields"]["invoice_number"], "INV-2024-0042");
    assert_eq!(lines[2]["status"], "exception");
    assert_eq!(lines[2]["exception"]["kind"], "unrecognised");
    assert_eq!(lines[3]["exception"]["kind"], "unreadable");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "a dry run writes nothing");
}

#[test]
fn two_types_of_equal_priority_are_ambiguous_and_both_are_named() {
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(defs.path().join("a.yml"), "doctype: supplier-invoice\nmatch: { all: [invoice] }\n").unwrap();
    std::fs::write(defs.path().join("b.yml"), "doctype: acme-document\nmatch: { all: [acme] }\n").unwrap();
    let r = classify_json(defs.path(), defs.path(), &[sample("invoice-acme.pdf")]);
    assert_eq!(r[0]["exception"]["kind"], "ambiguous");
    let reason = r[0]["exception"]["reason"].as_str().unwrap();
    assert!(reason.contains("supplier-invoice") && reason.contains("acme-document"), "{reason}");
    // A higher priority settles it.
    std::fs::write(defs.path().join("b.yml"), "doctype: acme-document\npriority: 1\nmatch: { all: [acme] }\n").unwrap();
    let r = classify_json(defs.path(), defs.path(), &[sample("invoice-acme.pdf")]);
    assert_eq!(r[0]["doctype"], "acme-document");
}

#[test]
fn an_agent_claims_and_resolves_an_incomplete_invoice() {
    let d = Daemon::start();
    d.drop_sample("invoice-incomplete.pdf");
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(2);
    let open = d.json(&["exceptions", "list", "--state", "open", "--kind", "incomplete", "--json"]);
    assert_eq!(open.as_array().unwrap().len(), 1);
    let id = open[0]["id"].as_i64().unwrap().to_string();

    // The agent sees what was found and why the item is here.
    let shown = d.json(&["exceptions", "show", &id, "--json"]);
    assert_eq!(shown["document"]["fields"]["issue_date"], "2024-07-01");
    assert_eq!(shown["document"]["problems"]["invoice_number"], "not found in the text");
    // …and can fetch the original exactly as received.
    let original = d.dir.path().join("original.pdf");
    let doc_id = shown["document_id"].as_i64().unwrap().to_string();
    assert!(d.clerk(&["documents", "original", &doc_id, "--out", original.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read(&original).unwrap(), std::fs::read(sample("invoice-incomplete.pdf")).unwrap());

    let out = d.clerk(&["exceptions", "claim", &id, "--as", "alice"]);
    assert!(out.status.success());
    let out = d.clerk(&["exceptions", "claim", &id, "--as", "bob"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("claimed by alice"));
    // Only the one who claimed gives it back; it can be meant for a group meanwhile.
    assert!(!d.clerk(&["exceptions", "release", &id, "--as", "bob"]).status.success());
    assert!(d.clerk(&["exceptions", "release", &id, "--as", "alice"]).status.success());
    assert_eq!(d.json(&["exceptions", "show", &id, "--json"])["state"], "open");
    // A group is one some user belongs to.
    let out = d.clerk(&["exceptions", "assign", &id, "--to", "@billing", "--as", "alice"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no group `@billing`"), "{out:?}");
    let _ = d.clerk_with_stdin(&["users", "add", "carol", "--role", "agent", "--group", "billing", "--password-stdin"], "a long enough password");
    assert!(d.clerk(&["exceptions", "assign", &id, "--to", "@billing", "--as", "alice"]).status.success());
    assert_eq!(d.json(&["exceptions", "show", &id, "--json"])["assignee"], "@billing");
    let out = d.clerk(&["exceptions", "assign", &id, "--to", "nobody", "--as", "alice"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no user named `nobody`"), "{out:?}");
    assert!(d.clerk(&["exceptions", "claim", &id, "--as", "alice"]).status.success());
    // Held by alice, it is not bob's to assign elsewhere.
    let out = d.clerk(&["exceptions", "assign", &id, "--to", "@billing", "--as", "bob"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("claimed by alice"), "{out:?}");

    // An answer that still does not validate is refused and the item stays claimed.
    let out = d.clerk(&[
        "exceptions",
        "resolve",
        &id,
        "--doctype",
        "invoice",
        "--field",
        "invoice_number=U-17",
        "--as",
        "alice",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("total"), "{err}");
    assert_eq!(d.json(&["exceptions", "show", &id, "--json"])["state"], "claimed");

    let out = d.clerk(&[
        "exceptions",
        "resolve",
        &id,
        "--doctype",
        "invoice",
        "--field",
        "invoice_number=U-17",
        "--field",
        "total=1.250,00",
        "--as",
        "alice",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e = d.json(&["exceptions", "show", &id, "--json"]);
    assert_eq!(e["state"], "resolved");
    assert_eq!(e["resolved_by"], "alice");
    // The queue shows what waits, as the API and the pages do; `--state all` shows the rest.
    let listed = |args: &[&str]| -> Vec<i64> {
        let list = d.json(&[&["exceptions", "list", "--json"], args].concat());
        list.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
    };
    let resolved: i64 = id.parse().unwrap();
    assert!(!listed(&[]).contains(&resolved) && listed(&["--state", "all"]).contains(&resolved));
    assert_eq!(listed(&["--state", "resolved"]), [resolved]);
    let doc = d.document(e["document_id"].as_i64().unwrap());
    assert_eq!(doc["status"], "recognised");
    assert_eq!(doc["fields"]["total"], "1250.00");
    assert_eq!(doc["fields"]["invoice_number"], "U-17");
    assert_eq!(doc["fields"]["issue_date"], "2024-07-01", "fields found in the text are kept");
    let actions: Vec<&str> = doc["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    // Recognised now, the invoice is routed to the bot that books invoices (which may have run
    // already: no ERP answers here, so what follows is the run failing).
    assert_eq!(
        actions[..9],
        ["received", "exception:incomplete", "claimed", "released", "assigned", "claimed", "resolved", "recognised", "run queued"]
    );

    // Rejecting the other one.
    let other =
        d.json(&["exceptions", "list", "--kind", "unrecognised", "--json"])[0]["id"].as_i64().unwrap().to_string();
    let out =
        d.clerk(&["exceptions", "reject", &other, "--reason", "internal memo, not for accounting", "--as", "bob"]);
    assert!(out.status.success());
    assert_eq!(d.json(&["documents", "list", "--status", "rejected", "--json"]).as_array().unwrap().len(), 1);
    let out = d.clerk(&["exceptions", "resolve", &other, "--doctype", "invoice", "--as", "bob"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already rejected"));
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    // `clerk text … | head -1`: the pipe closes after one line; no panic, exit 0.
    let mut child = Command::new(CLERK)
        .arg("text")
        .args(["invoice-acme.pdf", "invoice-globex.pdf", "credit-note-acme.pdf"].map(sample))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let d = Daemon::start();
    let out = d.clerk(&["documents", "show", "999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("document 999 does not exist"));
    assert!(out.stdout.is_empty());
    let out = d.clerk(&["exceptions", "resolve", "1", "--doctype", "nope"]);
    assert!(!out.status.success());
}

/// `clerk classify --json` of `file` with the types in `defs` (and `extra` flags).
fn classify_file(defs: &std::path::Path, file: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(support::CLERK)
        .args(["classify", "--json"])
        .args(extra)
        .arg("--definitions")
        .arg(defs)
        .arg(file)
        .env("CLERK_LOG", "error")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The generic invoice reader explains itself: per field the value, whether it is sure, and the
/// evidence, on an invoice no template describes.
#[test]
fn classify_explain_shows_each_fields_evidence() {
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(
        defs.path().join("any.yml"),
        "doctype: any-invoice\nmatch: { any: [invoice] }\nextract: { reader: invoice, required: [invoice_number, total, currency] }\n",
    )
    .unwrap();
    let out = std::process::Command::new(support::CLERK)
        .args(["classify", "--explain", "--definitions"])
        .arg(defs.path())
        .arg(support::repo().join("samples/invoice-acme.pdf"))
        .env("CLERK_LOG", "error")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("recognised any-invoice"), "{text}");
    for line in [
        "  invoice_number = INV-2024-0042 (sure",
        "  total = 509.76 (sure, 100%)",
        "net + tax = total",
        "  iban = DE89370400440532013000 (sure",
        "  currency = EUR (sure",
        // The table of lines, checked against the net total.
        "  lines (sure, 97%)",
        "their amounts add up to the net total (424.80)",
        "    Paper A4 80g (box) qty 10 at 24.50 = 245.00",
        "    Toner cartridge TN-2420 qty 2 at 89.90 = 179.80",
    ] {
        assert!(text.contains(line), "expected {line:?} in:\n{text}");
    }
    // The type's fields carry them as an e-invoice's: an array of lines.
    assert!(text.contains(r#"lines=[{"item_name":"Paper A4 80g (box)","net_amount":"245.00","quantity":"10","unit_price":"24.50"}"#), "{text}");
    // In JSON, as `reading`, field by field.
    let explained = |name: &str| classify_file(defs.path(), &sample(name), &["--explain"]);
    let v = explained("invoice-globex.pdf");
    assert_eq!(v["status"], "recognised", "{v}");
    let total = &v["reading"]["fields"]["total"];
    assert_eq!((total["value"].as_str(), total["sure"].as_bool()), (Some("1234.56"), Some(true)), "{v}");
    // A total printed alone: nothing contradicts it, and the evidence says it was not checked.
    assert!(total["evidence"].as_str().unwrap().contains("no net or tax printed to check it against"), "{v}");

    // What the reader cannot find is said field by field.
    let v = explained("invoice-incomplete.pdf");
    assert_eq!(v["status"], "exception", "{v}");
    assert!(v["exception"]["reason"].as_str().unwrap().contains("invoice_number: not found in the text"), "{v}");
}

/// A type may require the lines: an invoice whose table adds up goes through, one with no table
/// is incomplete and says why.
#[test]
fn a_type_that_requires_the_lines_takes_an_invoice_whose_table_adds_up() {
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(
        defs.path().join("lines.yml"),
        "doctype: itemised\nmatch: { reader: invoice }\nextract: { reader: invoice, required: [invoice_number, total, lines] }\n",
    )
    .unwrap();
    let classify = |name: &str| classify_file(defs.path(), &sample(name), &[]);
    let v = classify("invoice-acme.pdf");
    assert_eq!(v["status"], "recognised", "{v}");
    assert_eq!(v["fields"]["lines"][1]["net_amount"], "179.80", "{v}");
    let v = classify("invoice-globex.pdf");
    assert_eq!(v["status"], "exception", "{v}");
    let reason = v["exception"]["reason"].as_str().unwrap();
    assert!(reason.contains("lines: no table of invoice lines found"), "{reason}");
}

/// The bundled invoice type takes what the reader reads as an invoice, in any of its languages,
/// with no keyword list: a German invoice is an invoice, the bundled credit note is not, and a
/// letter is neither — said in the exception's reason.
#[test]
fn the_bundled_invoice_type_knows_an_invoice_by_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let rechnung = dir.path().join("rechnung.txt");
    std::fs::write(
        &rechnung,
        "Muster GmbH                                   RECHNUNG\n\
         Rechnungsnummer:   RE-2024-0815\n\
         Rechnungsdatum:    12.03.2024\n\n\
         Nettobetrag        1.000,00 EUR\n\
         USt. 19 %            190,00 EUR\n\
         Gesamtbetrag       1.190,00 EUR\n",
    )
    .unwrap();
    let bots = support::repo().join("bots");
    let classify = |file: &std::path::Path| classify_file(&bots, file, &["--explain"]);
    let v = classify(&rechnung);
    assert_eq!((v["status"].as_str(), v["doctype"].as_str()), (Some("recognised"), Some("invoice")), "{v}");
    assert_eq!(v["fields"]["invoice_number"], "RE-2024-0815", "{v}");
    assert_eq!(v["fields"]["total"], "1190.00", "{v}");
    assert_eq!(v["reading"]["kind"], "invoice", "{v}");
    assert!(v["reading"]["kind_evidence"].as_str().unwrap().contains("Rechnungsnummer"), "{v}");

    let v = classify(&support::repo().join("samples/credit-note-acme.pdf"));
    assert_eq!(v["doctype"], "credit-note", "{v}");

    let v = classify(&support::repo().join("samples/letter-unknown.pdf"));
    assert_eq!(v["exception"]["kind"], "unrecognised", "{v}");
    let reason = v["exception"]["reason"].as_str().unwrap();
    assert!(reason.contains("the invoice reader: no invoice or credit note number or title"), "{reason}");
}

/// OCR speckles after a date: the date is read, and what was left beside it is said in `notes`.
#[test]
fn a_date_inside_ocr_noise_is_read_and_the_noise_reported() {
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(
        defs.path().join("receipt.yml"),
        "doctype: receipt\nmatch: { any: [receipt] }\nfields:\n  date: { regex: 'Date:\\s*(.+)$', type: date, required: true }\n  total: { regex: 'Total\\s*(.+)$', type: amount, required: true }\n",
    )
    .unwrap();
    let file = defs.path().join("receipt.txt");
    std::fs::write(&file, "RECEIPT 17\nDate: 2025-10-08 a . 7 .\nTotal EUR 12.50 '\n").unwrap();
    let v = classify_file(defs.path(), &file, &[]);
    assert_eq!(v["status"], "recognised", "{v}");
    assert_eq!(v["fields"]["date"], "2025-10-08", "{v}");
    assert_eq!(v["notes"]["date"], r#"read from "2025-10-08 a . 7 ."; ignored "a . 7 ." beside it"#, "{v}");
    assert_eq!(v["fields"]["total"], "12.50", "{v}");
    assert!(v["notes"]["total"].as_str().unwrap().contains(r#"ignored "'""#), "{v}");
}
