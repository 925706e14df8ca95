//! E-invoices: every XML of the EN 16931 examples and the XRechnung conformance suite read as an
//! independent reader (lxml + XPath, tests/oracle/einvoice/read.py, pinned venv) reads it, field
//! for field; the UBL and CII copies of each business case agree wherever their data does;
//! mutated copies name the rule they break; hostile XML ends as an `unreadable` sentence through
//! `clerk classify` and through the daemon, which goes on.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{classify_json, corpus, files_under, repo, sample, Daemon};

fn by_file(answers: Vec<Value>) -> BTreeMap<String, Value> {
    answers.into_iter().map(|a| (a["file"].as_str().unwrap().to_string(), a)).collect()
}

fn oracle(files: &[PathBuf]) -> BTreeMap<String, Value> {
    let venv = support::venv("einvoice-oracle", "tests/oracle/einvoice/requirements.txt");
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/oracle/einvoice/read.py"))
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["file"].as_str().unwrap().to_string(), v["fields"].clone()))
        .collect()
}

fn corpus_files(test: &str) -> Option<Vec<PathBuf>> {
    let dir = corpus(test, "einvoice")?;
    Some(files_under(&dir, "xml"))
}

#[test]
fn every_corpus_invoice_reads_as_an_independent_reader_reads_it() {
    let Some(files) = corpus_files("every_corpus_invoice_reads_as_an_independent_reader_reads_it") else { return };
    assert!(files.len() >= 100, "{} XML files", files.len());
    let tmp = tempfile::tempdir().unwrap();
    let clerk = by_file(classify_json(&repo().join("bots"), tmp.path(), &files));
    let lxml = oracle(&files);
    let (mut fields, mut lines) = (0, 0);
    for f in &files {
        let f = f.to_str().unwrap();
        let (ours, theirs) = (&clerk[f], &lxml[f]);
        let doctype = ours["doctype"].as_str().unwrap_or("");
        assert!(doctype == "e-invoice" || doctype == "e-credit-note", "{f}: {ours}");
        assert_eq!(doctype == "e-credit-note", theirs["credit_note"] == true, "{f}");
        let ours = ours["fields"].as_object().unwrap();
        let theirs = theirs.as_object().unwrap();
        for key in ours.keys().chain(theirs.keys()) {
            assert_eq!(ours.get(key), theirs.get(key), "{f}: field {key}");
        }
        fields += theirs.len();
        lines += theirs["lines"].as_array().unwrap().len();
    }
    println!("{} files, {fields} fields and {lines} lines equal", files.len());
}

#[test]
fn the_examples_break_no_rule_but_where_their_data_does() {
    let Some(files) = corpus_files("the_examples_break_no_rule_but_where_their_data_does") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let answers = classify_json(&repo().join("bots"), tmp.path(), &files);
    let stopped: Vec<(String, String)> = answers
        .iter()
        .filter(|a| !a["exception"].is_null())
        .map(|a| {
            let name = Path::new(a["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (name, a["exception"]["reason"].as_str().unwrap_or(&a["exception"].to_string()).to_string())
        })
        .collect();
    // One example asks for a SEPA transfer (means 58) to the placeholder account
    // DK1212341234123412, which fails ISO 13616: no bank would execute it.
    assert_eq!(stopped.len(), 1, "{stopped:#?}");
    assert_eq!(stopped[0].0, "CII_example5.xml");
    assert!(stopped[0].1.contains("IBAN: IBAN DK1212341234123412 fails its ISO 13616 check digits"), "{}", stopped[0].1);
}

/// A business case's UBL and CII copies: every difference clerk shows between them is one the
/// independent reader shows too (the suite's data differs in a few places), amounts by value.
#[test]
fn ubl_and_cii_of_a_business_case_differ_only_where_their_data_does() {
    let Some(files) = corpus_files("ubl_and_cii_of_a_business_case_differ_only_where_their_data_does") else { return };
    let files: Vec<PathBuf> =
        files.into_iter().filter(|f| f.to_string_lossy().contains("-INVOICE_")).collect();
    let tmp = tempfile::tempdir().unwrap();
    let clerk: BTreeMap<String, Value> =
        by_file(classify_json(&repo().join("bots"), tmp.path(), &files)).into_iter().map(|(k, v)| (k, v["fields"].clone())).collect();
    let lxml = oracle(&files);
    let differing = |all: &BTreeMap<String, Value>, ubl: &str, cii: &str| -> Vec<String> {
        let (a, b) = (all[ubl].as_object().unwrap(), all[cii].as_object().unwrap());
        let mut keys: Vec<String> = a.keys().chain(b.keys()).filter(|k| *k != "syntax").cloned().collect();
        keys.sort();
        keys.dedup();
        keys.into_iter().filter(|k| !same(a.get(k), b.get(k))).collect()
    };
    let (mut pairs, mut equal) = (0, 0);
    for ubl in clerk.keys().filter(|f| f.ends_with("_ubl.xml")) {
        let cii = ubl.replace("_ubl.xml", "_uncefact.xml");
        if !clerk.contains_key(&cii) {
            continue;
        }
        pairs += 1;
        let ours = differing(&clerk, ubl, &cii);
        assert_eq!(ours, differing(&lxml, ubl, &cii), "{ubl}");
        equal += ours.is_empty() as usize;
    }
    assert!(pairs >= 30, "{pairs} pairs");
    println!("{pairs} business cases in both syntaxes: {equal} equal in every field, the rest differ in their data as the independent reader sees it too");
}

/// Equal as data: amounts by value ("100.00" is "100.0000"), objects and lists member by member.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::String(x)), Some(Value::String(y))) => {
            x == y || matches!((x.parse::<rust_decimal::Decimal>(), y.parse::<rust_decimal::Decimal>()), (Ok(p), Ok(q)) if p == q)
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(Some(p), Some(q))),
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            x.keys().chain(y.keys()).all(|k| same(x.get(k), y.get(k)))
        }
        (a, b) => a == b,
    }
}

/// The bundled sample with one change.
fn mutated(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let xml = std::fs::read_to_string(sample("e-invoice-xrechnung.xml")).unwrap();
    assert!(xml.contains(from), "{from}");
    let path = dir.join(name);
    std::fs::write(&path, xml.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn a_changed_copy_names_the_rule_it_breaks_and_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let files = vec![
        sample("e-invoice-xrechnung.xml"),
        mutated(d, "total.xml", "<ram:GrandTotalAmount>349.04", "<ram:GrandTotalAmount>349.14"),
        mutated(d, "number.xml", "<ram:ID>XR-2025-0117</ram:ID>", ""),
        mutated(d, "line.xml", "<ram:LineTotalAmount>119.31</ram:LineTotalAmount>", "<ram:LineTotalAmount>119.36</ram:LineTotalAmount>"),
        mutated(d, "tax.xml", "<ram:CalculatedAmount>55.73", "<ram:CalculatedAmount>57.73"),
        mutated(d, "currency.xml", "<ram:InvoiceCurrencyCode>EUR", "<ram:InvoiceCurrencyCode>EUX"),
        mutated(d, "iban.xml", "DE89370400440532013000", "DE89370400440532013001"),
        mutated(d, "date.xml", "20251008", "2025-10-08"),
    ];
    let answers = by_file(classify_json(&repo().join("bots"), d, &files));
    let reason = |name: &str| {
        let a = answers.iter().find(|(f, _)| f.ends_with(name)).unwrap().1;
        a["exception"]["reason"].as_str().map(str::to_string).unwrap_or_else(|| a["exception"].to_string())
    };
    let good = &answers[sample("e-invoice-xrechnung.xml").to_str().unwrap()];
    assert!(good["exception"].is_null(), "{good}");
    assert_eq!(good["fields"]["total"], "349.04");
    assert!(reason("total.xml").contains("BR-CO-15: total 349.14 is not net 293.31 + tax 55.73 = 349.04"), "{}", reason("total.xml"));
    assert!(reason("number.xml").contains("BR-02: the invoice has no invoice number (BT-1)"), "{}", reason("number.xml"));
    let line = reason("line.xml");
    assert!(line.contains("BR-CO-10: the sum of line net amounts 293.31 is not the lines' sum 293.36"), "{line}");
    let tax = reason("tax.xml");
    assert!(tax.contains("BR-CO-14: tax total 55.73 is not the VAT breakdown's sum 57.73"), "{tax}");
    assert!(tax.contains("BR-CO-17: VAT amount 57.73 of breakdown 1 is not 293.31 × 19% = 55.7289"), "{tax}");
    assert!(reason("currency.xml").contains("BR-CL-04: currency EUX is not an ISO 4217 code"), "{}", reason("currency.xml"));
    assert!(reason("iban.xml").contains("IBAN: IBAN DE89370400440532013001 fails its ISO 13616 check digits"), "{}", reason("iban.xml"));
    let date = reason("date.xml");
    assert!(date.contains("issue_date \"2025-10-08 (format 102)\" is not in the format") && date.contains("BR-03"), "{date}");
}

/// Hostile XML files, written into `dir`: (name, what the sentence must say).
fn hostile(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let laughs = {
        let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
            s.push_str(&format!(" <!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
        }
        s.push_str("]>\n<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\">&lol9;</rsm:CrossIndustryInvoice>\n");
        s
    };
    let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE Invoice [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><ID>&x;</ID></Invoice>\n";
    let remote = "<?xml version=\"1.0\"?>\n<!DOCTYPE Invoice SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>\n";
    let deep = format!("<?xml version=\"1.0\"?>{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let quadratic = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"{}\">]><x>{}</x>",
        "a".repeat(50_000),
        "&a;".repeat(50_000)
    );
    vec![
        (write("laughs.xml", laughs.into_bytes()), "document type"),
        (write("xxe.xml", xxe.as_bytes().to_vec()), "document type"),
        (write("remote-dtd.xml", remote.as_bytes().to_vec()), "document type"),
        (write("quadratic.xml", quadratic.into_bytes()), "document type"),
        (write("deep.xml", deep.into_bytes()), "nests elements more than 100 deep"),
        (write("broken.xml", b"<?xml version=\"1.0\"?><Invoice><ID>1</Invoice>".to_vec()), "not well-formed"),
        (
            write("wrong-namespace.xml", b"<?xml version=\"1.0\"?><Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-3\"/>".to_vec()),
            "is in namespace \"urn:oasis:names:specification:ubl:schema:xsd:Invoice-3\", not in urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        ),
        (write("catalog.xml", b"<?xml version=\"1.0\"?><catalog><book/></catalog>".to_vec()), "not an e-invoice: its root element is <catalog>"),
    ]
}

#[test]
fn hostile_xml_is_unreadable_with_a_sentence_through_classify() {
    let dir = tempfile::tempdir().unwrap();
    let cases = hostile(dir.path());
    // 200 MB: over the file size limit, refused before a byte is parsed.
    let big = dir.path().join("big.xml");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(b"<?xml version=\"1.0\"?><Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><Note>").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"</Note></Invoice>").unwrap();
    }
    let mut files: Vec<PathBuf> = cases.iter().map(|(p, _)| p.clone()).collect();
    files.push(big.clone());
    let answers = by_file(classify_json(&repo().join("bots"), dir.path(), &files));
    for (path, says) in &cases {
        let a = &answers[path.to_str().unwrap()];
        assert_eq!(a["exception"]["kind"], "unreadable", "{}: {a}", path.display());
        let reason = a["exception"]["reason"].as_str().unwrap();
        assert!(reason.contains(says), "{}: {reason}", path.display());
    }
    let a = &answers[big.to_str().unwrap()];
    assert!(a["exception"]["reason"].as_str().unwrap().contains("over the limit"), "{a}");
}

#[test]
fn the_daemon_recognises_an_e_invoice_and_shrugs_off_hostile_xml() {
    let mut d = Daemon::new("");
    d.spawn();
    let dir = tempfile::tempdir().unwrap();
    let cases = hostile(dir.path());
    for (p, _) in &cases {
        d.drop_file(p.file_name().unwrap().to_str().unwrap(), &std::fs::read(p).unwrap());
    }
    d.drop_sample("e-invoice-xrechnung.xml");
    let docs = d.wait_settled(cases.len() + 1);
    let invoice = d.by_name("e-invoice-xrechnung.xml");
    assert_eq!(invoice["doctype"], "e-invoice", "{invoice:#}");
    assert_eq!(invoice["status"], "recognised", "{invoice:#}");
    assert_eq!(invoice["fields"]["total"], "349.04");
    assert_eq!(invoice["fields"]["lines"].as_array().unwrap().len(), 2);
    // `clerk documents show` writes the XML out for people: seller, buyer, lines, totals, payment.
    let shown = String::from_utf8(d.clerk(&["documents", "show", &invoice["id"].to_string()]).stdout).unwrap();
    for part in ["INVOICE XR-2025-0117", "Seller: ACME Supplies Ltd", "Buyer: Initech GmbH", "Toner cartridge, black (TON-K-207)", "Total: 349.04 EUR", "Pay to IBAN DE89370400440532013000"] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    let items = d.exceptions();
    for (p, says) in &cases {
        let name = p.file_name().unwrap().to_str().unwrap();
        let doc = docs.iter().find(|x| x["original_name"] == name).unwrap_or_else(|| panic!("{name}: {docs:#?}"));
        let item = items.iter().find(|e| e["document_id"] == doc["id"]).unwrap_or_else(|| panic!("{name}: {items:#?}"));
        assert_eq!(item["kind"], "unreadable", "{name}: {item}");
        assert!(item["reason"].as_str().unwrap().contains(says), "{name}: {item}");
    }
    // Still serving, and the original bytes are kept.
    assert!(d.is_running());
    let again = std::fs::read_to_string(sample("e-invoice-xrechnung.xml")).unwrap().replace("XR-2025-0117", "XR-2025-0118");
    d.drop_file("again.xml", again.as_bytes());
    d.wait_until("the next e-invoice", Duration::from_secs(30), |d| d.documents().len() == cases.len() + 2);
}


/// `tests/oracle/einvoice/make_pdfs.py`: each CII XML attached to a page drawn from its data, by
/// the `factur-x` package and by `drafthorse`.
fn make_pdfs(out: &Path, xmls: &[PathBuf], extra: &[&str]) -> Vec<PathBuf> {
    let venv = support::venv("einvoice-oracle", "tests/oracle/einvoice/requirements.txt");
    let run = std::process::Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/oracle/einvoice/make_pdfs.py"))
        .args(extra)
        .arg(out)
        .args(xmls)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    files_under(out, "pdf")
}

#[test]
fn a_pdf_carrying_an_invoice_reads_as_its_xml_whoever_attached_it() {
    let Some(files) = corpus_files("a_pdf_carrying_an_invoice_reads_as_its_xml_whoever_attached_it") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut xmls: Vec<PathBuf> = files.into_iter().filter(|f| !f.to_string_lossy().ends_with("_ubl.xml")).collect();
    xmls.push(sample("e-invoice-xrechnung.xml"));
    let pdfs = make_pdfs(&tmp.path().join("pdf"), &xmls, &[]);
    let mut all = xmls.clone();
    all.extend(pdfs.iter().cloned());
    let answers = by_file(classify_json(&repo().join("bots"), tmp.path(), &all));
    let stem = |p: &str| {
        let name = Path::new(p).file_name().unwrap().to_string_lossy().into_owned();
        [".facturx.pdf", ".drafthorse.pdf", ".xml"].iter().fold(name, |n, s| n.strip_suffix(s).map(str::to_string).unwrap_or(n))
    };
    let xml_of: BTreeMap<String, &Value> = xmls.iter().map(|x| (stem(x.to_str().unwrap()), &answers[x.to_str().unwrap()])).collect();
    let mut read = 0;
    for pdf in &pdfs {
        let ours = &answers[pdf.to_str().unwrap()];
        let Some(xml) = xml_of.get(&stem(pdf.to_str().unwrap())) else { continue };
        if xml["fields"]["syntax"] != "CII" {
            continue; // UBL is not carried in PDFs
        }
        assert_eq!(ours["doctype"], xml["doctype"], "{}: {ours}", pdf.display());
        assert_eq!(ours["fields"], xml["fields"], "{}", pdf.display());
        // The page shows the XML's number and total: the same outcome as the XML's.
        assert_eq!(ours["exception"], xml["exception"], "{}", pdf.display());
        read += 1;
    }
    assert!(read >= 60, "{read} PDFs");
    println!("{read} PDFs from two embedders read as their XML");
}

#[test]
fn a_pdf_whose_printed_total_differs_from_its_xml_goes_to_a_person_with_both() {
    let tmp = tempfile::tempdir().unwrap();
    let pdfs = make_pdfs(&tmp.path().join("pdf"), &[sample("e-invoice-xrechnung.xml")], &["--total", "394.00"]);
    assert_eq!(pdfs.len(), 2);
    for a in classify_json(&repo().join("bots"), tmp.path(), &pdfs) {
        assert_eq!(a["doctype"], "e-invoice", "{a}");
        assert_eq!(a["exception"]["kind"], "incomplete", "{a}");
        let reason = a["exception"]["reason"].as_str().unwrap();
        assert!(reason.contains("PRINTED: the XML says total 349.04 EUR; the printed invoice shows 394.00"), "{reason}");
        assert_eq!(a["fields"]["total"], "349.04", "the XML's value stands until an agent decides");
    }
}

#[test]
fn an_agent_sees_the_xmls_data_and_a_rendering_instead_of_a_page() {
    let mut d = Daemon::new("");
    d.spawn();
    let dir = tempfile::tempdir().unwrap();
    let broken = mutated(dir.path(), "total.xml", "<ram:GrandTotalAmount>349.04", "<ram:GrandTotalAmount>349.14");
    d.drop_file("total.xml", &std::fs::read(broken).unwrap());
    d.wait_settled(1);
    let item = d.exceptions().into_iter().find(|e| e["kind"] == "incomplete").expect("an incomplete item");
    let html = d.item_page(&item);
    // The XML's data: parties, number, lines, tax breakdown, totals; the rule on the total field.
    assert!(html.contains("id=\"einvoice\"") && html.contains("E-invoice: CII"), "{html}");
    assert!(html.contains("ACME Supplies Ltd (DE136695976) → Initech GmbH"), "{html}");
    assert!(html.contains("<td>Toner cartridge, black <small>TON-K-207</small></td><td>3 H87</td><td>39.77</td><td>119.31</td>"), "{html}");
    assert!(html.contains("<td>S</td><td>19%</td><td>293.31</td><td>55.73</td>"), "{html}");
    assert!(html.contains("BR-CO-15: total 349.14 is not net 293.31 + tax 55.73 = 349.04"), "{html}");
    // No page image for an XML: its rendering, seller, buyer, lines and totals.
    assert!(html.contains("id=\"rendering\"") && !html.contains("/pages/1/image"), "{html}");
    assert!(html.contains("INVOICE XR-2025-0117") && html.contains("Pay to IBAN DE89370400440532013000"), "{html}");
}

/// tests/fixtures/einvoice: the samples as LibreOffice (PDF/A-3) with the factur-x package, qpdf
/// (the name tree only, no /AF) and pypdf attach them; ZUGFeRD 1.0 among them. Each reads as its
/// XML, and the XML as the independent reader reads it.
#[test]
fn pdfs_from_other_producers_and_zugferd_1_read_as_their_xml() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = files_under(&repo().join("tests/fixtures/einvoice"), "pdf");
    assert_eq!(fixtures.len(), 4, "{fixtures:?}");
    let xmls = [sample("e-invoice-xrechnung.xml"), sample("e-invoice-zugferd1.xml")];
    let mut all: Vec<PathBuf> = xmls.to_vec();
    all.extend(fixtures.iter().cloned());
    let answers = by_file(classify_json(&repo().join("bots"), tmp.path(), &all));
    let lxml = oracle(&xmls);
    for x in &xmls {
        let ours = &answers[x.to_str().unwrap()];
        assert!(ours["exception"].is_null(), "{ours}");
        assert_eq!(&ours["fields"], &lxml[x.to_str().unwrap()], "{}", x.display());
    }
    assert_eq!(answers[xmls[1].to_str().unwrap()]["fields"]["syntax"], "ZUGFeRD 1.0");
    for pdf in &fixtures {
        let name = pdf.file_name().unwrap().to_string_lossy();
        let xml = if name.starts_with("zugferd1") { &xmls[1] } else { &xmls[0] };
        let (ours, theirs) = (&answers[pdf.to_str().unwrap()], &answers[xml.to_str().unwrap()]);
        assert!(ours["exception"].is_null(), "{name}: {ours}");
        assert_eq!(ours["doctype"], "e-invoice", "{name}");
        assert_eq!(ours["fields"], theirs["fields"], "{name}");
    }
}
