//! Folder intake through a running daemon: every sample ends where a person would expect, the
//! original bytes are kept, duplicates are linked, and files are taken only when complete.

mod support;
use std::io::Write;
use std::time::Duration;
use support::*;

#[test]
fn every_sample_ends_in_the_right_place() {
    let d = Daemon::start();
    let samples = [
        ("invoice-acme.pdf", "recognised", Some("invoice")),
        ("invoice-globex.pdf", "recognised", Some("invoice")),
        ("invoice-acme-restricted.pdf", "recognised", Some("invoice")),
        ("invoice-acme-scan.png", "recognised", Some("invoice")),
        ("invoice-globex-scan.tiff", "recognised", Some("invoice")),
        ("invoice-initech-scan.pdf", "recognised", Some("invoice")),
        ("credit-note-acme.pdf", "recognised", Some("credit-note")),
        ("credit-note-acme-fax.pdf", "recognised", Some("credit-note")),
        ("delivery-note.txt", "recognised", Some("delivery-note")),
        ("invoice-incomplete.pdf", "exception", Some("invoice")),
        ("letter-unknown.pdf", "exception", None),
    ];
    for (name, _, _) in &samples {
        d.drop_sample(name);
    }
    d.wait_settled(samples.len());
    for (name, status, doctype) in samples {
        let doc = d.by_name(name);
        assert_eq!(doc["status"], status, "{name}: {doc:#}");
        assert_eq!(doc["doctype"].as_str(), doctype, "{name}: {doc:#}");
        // The original bytes are in the blob store, under their SHA-256.
        let bytes = std::fs::read(sample(name)).unwrap();
        let sha = sha256_hex(&bytes);
        assert_eq!(doc["sha256"], sha.as_str());
        assert_eq!(std::fs::read(d.data.join("blobs").join(&sha[..2]).join(&sha)).unwrap(), bytes);
    }
    assert!(!d.log().contains("ERROR"), "errors while taking a burst of files:\n{}", d.log());
    // The inbox is empty: every file left it after it was stored.
    assert_eq!(std::fs::read_dir(&d.inbox).unwrap().count(), 0);

    let acme = d.by_name("invoice-acme.pdf");
    assert_eq!(acme["fields"]["invoice_number"], "INV-2024-0042");
    assert_eq!(acme["fields"]["issue_date"], "2024-04-03");
    assert_eq!(acme["fields"]["total"], "509.76");
    assert_eq!(acme["fields"]["iban"], "DE89370400440532013000");
    assert_eq!(acme["ocr"], false);
    // OCR keeps word boxes, for highlighting fields on the page image.
    let png = d.by_name("invoice-acme-scan.png");
    let page = &png["page_details"][0];
    assert!(page["ocr"].as_bool().unwrap() && page["width"].as_i64().unwrap() > 1000, "{page}");
    let word = page["words"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["text"] == "INV-2024-0042")
        .expect("the invoice number's box");
    assert!(word["w"].as_i64().unwrap() > 0 && word["x"].as_i64().unwrap() < page["width"].as_i64().unwrap());
    let scan = d.by_name("invoice-initech-scan.pdf");
    assert_eq!(scan["ocr"], true);
    assert_eq!(scan["fields"]["total"], "2345.60");
    let fax = d.by_name("credit-note-acme-fax.pdf");
    assert_eq!(fax["ocr"], true, "a CCITT Group 4 scan is decoded and OCRed");
    assert_eq!(fax["fields"]["amount"], "89.90");
    let tiff = d.by_name("invoice-globex-scan.tiff");
    assert_eq!(tiff["pages"], 2, "both TIFF pages are read");
    assert_eq!(tiff["fields"]["total"], "1234.56");

    let incomplete = d.by_name("invoice-incomplete.pdf");
    let reason = incomplete["exceptions"][0]["reason"].as_str().unwrap();
    assert_eq!(incomplete["exceptions"][0]["kind"], "incomplete");
    assert!(reason.contains("invoice_number: not found"), "{reason}");
    // What stands by the total's label is said, not just that no total was found.
    let by_label = "total: its label \"Amount Due:\" is printed, but \"EUR to be confirmed\" by it is not an amount";
    assert!(reason.contains(by_label), "{reason}");
    let unknown = d.by_name("letter-unknown.pdf");
    assert_eq!(unknown["exceptions"][0]["kind"], "unrecognised");
}

#[test]
fn duplicates_are_recorded_and_linked_not_processed_twice() {
    let d = Daemon::start();
    d.drop_sample("invoice-acme.pdf");
    d.wait_settled(1);
    d.drop_file("copy-of-acme.pdf", &std::fs::read(sample("invoice-acme.pdf")).unwrap());
    let docs = d.wait_settled(2);
    let first = docs.iter().find(|x| x["original_name"] == "invoice-acme.pdf").unwrap()["id"].as_i64().unwrap();
    let copy = d.by_name("copy-of-acme.pdf");
    assert_eq!(copy["status"], "duplicate");
    assert_eq!(copy["duplicate_of"], first);
    assert!(copy["exceptions"].as_array().unwrap().is_empty());
    assert!(copy["fields"].as_object().unwrap().is_empty(), "a duplicate is not classified again");
}

#[test]
fn a_file_is_taken_only_when_its_writer_closes_it() {
    let d = Daemon::start();
    let path = d.inbox.join("slow-writer.pdf");
    let bytes = std::fs::read(sample("invoice-acme.pdf")).unwrap();
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&bytes[..bytes.len() / 2]).unwrap();
    f.flush().unwrap();
    // Longer than the stability delay and past a rescan: the open writer is what holds it back.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(d.documents().is_empty(), "taken while still being written");
    assert!(path.exists());
    f.write_all(&bytes[bytes.len() / 2..]).unwrap();
    drop(f);
    let docs = d.wait_settled(1);
    assert_eq!(docs[0]["status"], "recognised", "{docs:?}");
    assert_eq!(d.document(docs[0]["id"].as_i64().unwrap())["size"], bytes.len());
}

#[test]
fn temporary_and_hidden_files_are_left_alone() {
    let d = Daemon::start();
    for name in ["download.pdf.part", "upload.tmp", "~$report.docx", ".hidden.pdf"] {
        d.drop_file(name, b"not yet");
    }
    d.drop_sample("invoice-acme.pdf");
    d.wait_settled(1);
    std::thread::sleep(Duration::from_millis(1500)); // past a rescan
    assert_eq!(d.documents().len(), 1);
    for name in ["download.pdf.part", "upload.tmp", "~$report.docx", ".hidden.pdf"] {
        assert!(d.inbox.join(name).exists(), "{name} was taken");
    }
}

#[test]
fn files_waiting_before_start_are_taken() {
    let mut d = Daemon::start();
    d.stop();
    d.drop_sample("invoice-acme.pdf");
    d.drop_sample("letter-unknown.pdf");
    d.spawn();
    let docs = d.wait_settled(2);
    assert_eq!(docs.len(), 2);
}

#[test]
fn polling_mode_takes_files_once_stable() {
    let d = Daemon::start_with("[intake]\nmode = 'poll'\npoll_interval = '100ms'\nstable_delay = '500ms'\n");
    let path = d.inbox.join("share.pdf");
    let bytes = std::fs::read(sample("invoice-acme.pdf")).unwrap();
    let mut f = std::fs::File::create(&path).unwrap();
    // A writer on a network share that keeps appending, slower than the poll interval.
    for chunk in bytes.chunks(bytes.len() / 4 + 1) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(d.documents().is_empty(), "taken while the writer was still appending");
    }
    drop(f);
    let docs = d.wait_settled(1);
    assert_eq!(docs[0]["status"], "recognised");
    assert_eq!(docs[0]["size"], bytes.len());
}

/// An e-mail saved into an inbox (as Python's email package writes one, with the invoice PDF
/// attached) is taken apart as a mailbox's message is: the attachment is the document, read and
/// recognised with the message beside it; a saved file that is no e-mail ends as an item under
/// its own name.
#[test]
fn an_e_mail_saved_into_an_inbox_gives_its_attachments() {
    let mut d = Daemon::new("");
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    d.spawn();
    let pdf = repo().join("tests/fixtures/producers/text-libreoffice.pdf");
    let eml = d.dir.path().join("saved.eml");
    let script = format!(
        "from email.message import EmailMessage\n\
         m = EmailMessage()\n\
         m['From'] = 'Umbrella Billing <billing@umbrella.example>'\n\
         m['To'] = 'ap@clerk.example'\n\
         m['Subject'] = 'Your invoice INV-7731'\n\
         m.set_content('Dear customer,\\nplease find our invoice attached.\\n')\n\
         m.add_attachment(open({pdf:?}, 'rb').read(), maintype='application', subtype='pdf', filename='INV-7731.pdf')\n\
         open({eml:?}, 'wb').write(bytes(m))\n",
        pdf = pdf.to_str().unwrap(),
        eml = eml.to_str().unwrap()
    );
    let out = std::process::Command::new("python3").arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dropped = d.drop_file("saved.eml", &std::fs::read(&eml).unwrap());
    d.drop_file("notes.eml", b"just some notes, saved with the wrong name\n");
    let docs = d.wait_settled(2);
    let names: Vec<&str> = docs.iter().map(|doc| doc["original_name"].as_str().unwrap()).collect();
    assert!(names.contains(&"INV-7731.pdf") && names.contains(&"notes.eml"), "{names:?}");
    let invoice = d.document(d.by_name("INV-7731.pdf")["id"].as_i64().unwrap());
    assert_eq!(invoice["status"], "recognised", "{invoice:#}");
    assert_eq!(invoice["fields"]["invoice_number"], "INV-7731");
    assert_eq!(invoice["mail"]["subject"], "Your invoice INV-7731", "{invoice:#}");
    assert!(!dropped.exists(), "the saved e-mail is taken out of the inbox");
    let notes = d.exceptions().into_iter().find(|i| i["document_id"] == d.by_name("notes.eml")["id"]).expect("an item");
    assert!(notes["reason"].as_str().unwrap().contains("unreadable e-mail"), "{notes}");
}
