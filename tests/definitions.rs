//! Definition files: `clerk check` reports every problem as file:line:col, the bundled ones are
//! valid, and a running daemon reloads them, keeping the previous good version of a broken file.

mod support;
use std::process::Command;
use std::time::Duration;
use support::*;

fn check(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(CLERK).args(["check", "--definitions"]).arg(dir).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn bundled_definitions_are_valid() {
    let (ok, out) = check(&repo().join("bots"));
    assert!(ok, "{out}");
}

#[test]
fn check_reports_every_problem_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "doctype: invoice\n\
         priority: high\n\
         match:\n  all: ['invoice(']\n  anyy: ['x']\n\
         fields:\n  total: { regex: 'Total: (\\S+)', type: money2, required: maybe }\n  date: { regex: 'D (.*)', date_formats: ['%Q'] }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("syntax.yaml"), "doctype: x\nmatch: [a, b\n").unwrap();
    std::fs::write(dir.path().join("good.yml"), "doctype: receipt\nmatch: { all: [receipt] }\n").unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok);
    let bad = dir.path().join("bad.yml").display().to_string();
    let expect = [
        format!("{bad}:2:11: `priority` must be a whole number"),
        format!("{bad}:4:9: invalid regular expression in `match.all`"),
        format!("{bad}:5:3: unknown key `anyy` in `match` (did you mean `any`?)"),
        format!("{bad}:7:41: unknown field type `money2`"),
        format!("{bad}:7:59: `required` must be true or false"),
        format!("{bad}:8:43: `%Q` is not a date format"),
        format!("{bad}:8:42: `date_formats` only applies to fields of `type: date`"),
    ];
    for e in &expect {
        assert!(out.lines().any(|l| l.starts_with(e.as_str())), "missing {e:?} in:\n{out}");
    }
    let syntax = dir.path().join("syntax.yaml").display().to_string();
    assert!(out.lines().any(|l| l.starts_with(&format!("{syntax}:3:1: YAML syntax error"))), "{out}");
    assert!(!out.contains("good.yml"), "{out}");
}

#[test]
fn barcode_rules_and_fields_are_checked_like_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("asn.yml"),
        "doctype: archived\n\
         match: { barcode: '^ASN(' }\n\
         fields:\n  asn: { barcode: 'ASN\\d+', regex: 'x' }\n  box: { type: string }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("good.yml"), "doctype: filed\nmatch: { barcode: '^ASN\\d+$' }\nfields:\n  asn: { barcode: '^ASN\\d+$' }\n").unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok);
    let f = dir.path().join("asn.yml").display().to_string();
    for e in [
        format!("{f}:2:19: invalid regular expression in `match.barcode`"),
        format!("{f}:4:19: field `asn` reads either the text (`regex:`) or a barcode (`barcode:`), not both"),
        format!("{f}:5:8: field `box` has no `regex:` (or `barcode:`"),
    ] {
        assert!(out.lines().any(|l| l.starts_with(e.as_str())), "missing {e:?} in:\n{out}");
    }
    assert!(!out.contains("good.yml"), "{out}");
}

#[test]
fn duplicate_type_names_are_reported_at_both_places() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), "doctype: invoice\nmatch: { all: [invoice] }\n").unwrap();
    std::fs::write(dir.path().join("b.yml"), "\ndoctype: invoice\nmatch: { all: [bill] }\n").unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok);
    let a = dir.path().join("a.yml").display().to_string();
    assert!(out.contains(&format!("b.yml:2:10: document type `invoice` is already defined at {a}:1:10")), "{out}");
}

#[test]
fn hot_reload_applies_good_edits_and_keeps_the_previous_version_of_a_broken_file() {
    let d = Daemon::start();
    // The bundled types, and one more once the memo type is added.
    let log = d.log();
    let at = log.find("doctypes=").unwrap() + "doctypes=".len();
    let bundled: usize = log[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
    let memo = "doctype: memo\nmatch: { all: ['summer party'] }\n";
    std::fs::write(d.definitions.join("memo.yml"), memo).unwrap();
    let more = format!("doctypes={}", bundled + 1);
    d.wait_until("the reload", Duration::from_secs(10), |d| d.log().contains(&more));
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(1);
    assert_eq!(d.by_name("letter-unknown.pdf")["doctype"], "memo");

    // A broken edit: reported with its place, and the old version keeps working.
    std::fs::write(d.definitions.join("memo.yml"), "doctype: memo\nmatch: { all: ['summer party('] }\n").unwrap();
    d.wait_until("the broken file to be reported", Duration::from_secs(10), |d| {
        d.log().contains("memo.yml:2:16: invalid regular expression")
    });
    assert!(d.log().contains("keeping the previous version"));
    d.drop_file(
        "letter-again.pdf",
        &[std::fs::read(sample("letter-unknown.pdf")).unwrap(), b"\n%again\n".to_vec()].concat(),
    );
    d.wait_settled(2);
    assert_eq!(d.by_name("letter-again.pdf")["doctype"], "memo");
}

#[test]
fn a_bad_generic_reader_setting_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("any.yml"),
        "doctype: any-invoice\nmatch: { any: [invoice] }\nextract:\n  reader: invoices\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fields.yml"),
        "doctype: other\nmatch: { any: [bill] }\nextract:\n  reader: invoice\n  required: [total, totl]\n  sure: 0.9\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("kind.yml"), "doctype: bill\nmatch:\n  reader: receipt\n").unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok);
    let any = dir.path().join("any.yml").display().to_string();
    let fields = dir.path().join("fields.yml").display().to_string();
    let kind = dir.path().join("kind.yml").display().to_string();
    for expected in [
        format!("{kind}:3:11: `reader` takes `invoice` or `credit-note`"),
        format!("{any}:4:11: `reader` must be `invoice`"),
        format!("{fields}:5:21: the invoice reader fills invoice_number, issue_date"),
        format!("{fields}:6:3: unknown key `sure` in `extract`"),
    ] {
        assert!(out.contains(&expected), "expected {expected:?} in:\n{out}");
    }
}
