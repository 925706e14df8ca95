//! Bot files: validated by `clerk check` with every problem at file:line:col, listed by
//! `clerk bots list`, and described by the JSON Schema `clerk schema` prints.

mod support;
use std::process::Command;
use support::*;

fn clerk_in(defs: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(CLERK).args(args).arg("--definitions").arg(defs).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_bundled(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(repo().join("bots")).unwrap().flatten() {
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn the_bundled_bot_is_valid_and_listed() {
    let dir = with_bundled(&[]);
    let (ok, _, err) = clerk_in(dir.path(), &["check"]);
    assert!(ok, "{err}");
    let (ok, out, _) = clerk_in(dir.path(), &["bots", "list", "--json"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let bot = list.as_array().unwrap().iter().find(|b| b["name"] == "post-invoice-to-erp").expect("bundled bot listed");
    assert_eq!(bot["trigger"]["type"], "doctype");
    assert_eq!(bot["trigger"]["doctype"], "invoice");
    assert_eq!(bot["concurrency"], 4);
    assert_eq!(bot["version"].as_str().unwrap().len(), 16);
    let form_bot = list.as_array().unwrap().iter().find(|b| b["name"] == "key-in-credit-note").unwrap();
    assert_eq!(form_bot["secrets"][0], "ERP_PASSWORD");
    let nightly = list.as_array().unwrap().iter().find(|b| b["name"] == "nightly-erp-report").unwrap();
    assert_eq!(nightly["trigger"]["type"], "schedule");
}

#[test]
fn every_problem_in_a_bot_file_is_reported_at_its_place() {
    let bad = "\
bot: broken-bot
on: { doctype: purchase-order }
secrets: [ERP_PASSWORD]
steps:
  - id: login
    htp: { post: 'http://erp/login' }
  - id: fetch
    http: { get: '{{ env.ERP_URL }}/x', hedaers: { a: b } }
  - id: fetch
    http: { post: '{{ steps.nothere.id }}', put: '/y' }
  - set: { total: '{{ doc.fields.total | float }' }
  - escalate: 'Password is {{ secrets.OTHER }}'
  - sql: { url: '{{ env.DB }}', query: \"SELECT * FROM v WHERE iban = '{{ doc.fields.iban }}'\" }
  - http: { get: '{{ vars.total }}{{ nope.x }}' }
";
    let dir = with_bundled(&[("broken.yml", bad)]);
    let (ok, out, _) = clerk_in(dir.path(), &["check"]);
    assert!(!ok);
    let f = dir.path().join("broken.yml").display().to_string();
    let expect = [
        (format!("{f}:6:5:"), "unknown step kind `htp` (did you mean `http`?)"),
        (format!("{f}:8:41:"), "unknown key `hedaers` in `http` (did you mean `headers`?)"),
        (format!("{f}:9:9:"), "another step already has the id `fetch`"),
        (format!("{f}:10:11:"), "`http` needs exactly one of: get, post, put, patch, delete, head"),
        (format!("{f}:10:19:"), "`steps.nothere.id` refers to step `nothere`, but no earlier step has that id"),
        (format!("{f}:11:19:"), "template syntax error"),
        (format!("{f}:12:15:"), "reads secret `OTHER`, which the bot does not declare"),
        (format!("{f}:13:40:"), "an SQL `query` takes no templates"),
        (format!("{f}:14:18:"), "`nope.x` is not something a template can read"),
    ];
    for (place, text) in &expect {
        assert!(
            out.lines().any(|l| l.starts_with(place.as_str()) && l.contains(text)),
            "missing {place} {text:?} in:\n{out}"
        );
    }
    assert!(!out.lines().any(|l| l.contains("vars.total")), "a variable set by an earlier step is known:\n{out}");
    assert!(!out.contains("has no kind"), "one problem, one message:\n{out}");
}

#[test]
fn a_bot_on_an_unknown_document_type_is_an_error() {
    let dir =
        with_bundled(&[("po.yml", "bot: po-bot\non: { doctype: purchase-order }\nsteps:\n  - escalate: check it\n")]);
    let (ok, out, _) = clerk_in(dir.path(), &["check"]);
    assert!(!ok);
    let f = dir.path().join("po.yml").display().to_string();
    assert!(
        out.contains(&format!("{f}:1:6: bot `po-bot` runs on document type `purchase-order`, which no definition has")),
        "{out}"
    );
}

#[test]
fn a_schedule_must_be_a_valid_cron_line() {
    let dir =
        with_bundled(&[("nightly.yml", "bot: nightly\non: { schedule: '0 25 * * *' }\nsteps:\n  - escalate: x\n")]);
    let (ok, out, _) = clerk_in(dir.path(), &["check"]);
    assert!(!ok);
    assert!(out.contains("nightly.yml:2:17: `schedule`: `25` in the hour field is not a number from 0 to 23"), "{out}");
}

#[test]
fn the_schema_describes_every_step_kind() {
    let (ok, out, _) = clerk_in(&repo().join("bots"), &["schema"]);
    assert!(ok);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    let step = &schema["$defs"]["step"]["properties"];
    for kind in ["http", "soap", "sql", "file", "wait_until", "set", "foreach", "escalate", "id", "if", "then", "else"]
    {
        assert!(step.get(kind).is_some(), "schema lacks {kind}");
    }
    assert_eq!(step["http"]["properties"]["headers"]["type"], "object");
    assert_eq!(schema["$defs"]["bot"]["required"], serde_json::json!(["bot", "steps"]));
}

/// A definitions folder with a type whose fields carry whatever the document says, and a bot
/// that puts them into XML, a URL, a JSON body, a form and a header.
fn injection_setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = with_bundled(&[
        ("memo.yml", "doctype: memo\nmatch: { all: ['injection test'] }\nfields:\n  iban: 'IBAN: (.*)'\n  name: 'Name: (.*)'\n"),
        (
            "memo-bot.yml",
            "bot: memo-bot\non: { doctype: memo }\nsecrets: [ERP_PASSWORD]\nsteps:\n\
             \x20 - id: vendor\n    soap: { url: '{{ env.ERP_URL }}/soap', action: FindVendor, body: '<FindVendor><iban>{{ doc.fields.iban }}</iban></FindVendor>' }\n\
             \x20 - id: post\n    http:\n      post: '{{ env.ERP_URL }}/vendors/{{ doc.fields.name }}'\n      headers: { Authorization: 'Bearer {{ secrets.ERP_PASSWORD }}' }\n      form: { password: '{{ secrets.ERP_PASSWORD }}', name: '{{ doc.fields.name }}' }\n      json: { name: '{{ doc.fields.name }}', vendor: '{{ steps.vendor.id }}' }\n",
        ),
    ]);
    let doc = dir.path().join("memo.txt");
    std::fs::write(&doc, "injection test\nIBAN: </iban><admin>true</admin>\nName: a\"}/../x?y=1&z\n").unwrap();
    (dir, doc)
}

fn dry_run(defs: &std::path::Path, doc: &std::path::Path, json: bool) -> (bool, String) {
    let mut cmd = Command::new(CLERK);
    cmd.args(["bots", "run", "memo-bot", "--dry-run", "--definitions"]).arg(defs).arg("--file").arg(doc);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.env("ERP_URL", "http://127.0.0.1:9").env("CLERK_SECRET_ERP_PASSWORD", "pa ss/wörd").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn document_values_arrive_as_data_never_as_structure() {
    let (dir, doc) = injection_setup();
    let (ok, out) = dry_run(dir.path(), &doc, true);
    assert!(ok, "{out}");
    let steps: serde_json::Value = serde_json::from_str(&out).unwrap();
    let envelope = steps[0]["summary"]["envelope"].as_str().unwrap();
    assert!(envelope.contains("<iban>&lt;/iban&gt;&lt;admin&gt;true&lt;/admin&gt;</iban>"), "{envelope}");
    assert!(!envelope.contains("<admin>"), "{envelope}");
    let post = &steps[1]["summary"];
    assert_eq!(
        post["url"], "http://127.0.0.1:9/vendors/a%22%7D%2F..%2Fx%3Fy%3D1%26z",
        "trusted env as is, document value encoded"
    );
    assert_eq!(post["json"]["name"], "a\"}/../x?y=1&z", "a JSON string holding exactly the text");
    assert_eq!(post["json"]["vendor"], "<steps.vendor.id>", "outputs of steps not run are placeholders");
    assert_eq!(post["form"]["name"], "a\"}/../x?y=1&z");
}

#[test]
fn a_dry_run_never_shows_a_secret() {
    let (dir, doc) = injection_setup();
    for json in [false, true] {
        let (ok, out) = dry_run(dir.path(), &doc, json);
        assert!(ok, "{out}");
        for form in ["pa ss/wörd", "pa%20ss%2Fw%C3%B6rd", "pa+ss/wörd", "cGEgc3Mvd8O2cmQ="] {
            assert!(!out.contains(form), "secret shown as {form:?}:\n{out}");
        }
        assert!(out.contains("Bearer ***"), "{out}");
    }
}

#[test]
fn secrets_come_from_a_file_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, doc) = injection_setup();
    let file = dir.path().join("secrets.env");
    std::fs::write(&file, "# bot secrets\nERP_PASSWORD=from-the-file-42\n").unwrap();
    let run = || {
        Command::new(CLERK)
            .args(["bots", "run", "memo-bot", "--dry-run", "--definitions"])
            .arg(dir.path())
            .arg("--file")
            .arg(&doc)
            .env("ERP_URL", "http://127.0.0.1:9")
            .env("CLERK_SECRETS_FILE", &file)
            .env_remove("CLERK_SECRET_ERP_PASSWORD")
            .output()
            .unwrap()
    };
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("can be read by every user") && err.contains(&format!("chmod o= {}", file.display())), "{err}");
    assert!(!err.contains("from-the-file-42"));

    // Readable by this process's own group (root:clerk 0640 for the service) is fine.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Bearer ***") && !text.contains("from-the-file-42"), "{text}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not set"));
}

#[test]
fn a_dry_run_knows_the_run_a_step_names_its_file_after() {
    // The bundled delivery-note bot names its CSV after `run.id`: a dry run renders it as run 0.
    let out = Command::new(CLERK)
        .args(["bots", "run", "delivery-note-to-erp", "--dry-run", "--file"])
        .arg(repo().join("samples/delivery-note.txt"))
        .arg("--definitions")
        .arg(repo().join("bots"))
        .env("ERP_DATA", "/srv/erp")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("/srv/erp/drop/delivery-0.csv") && said.contains("DN-3310") && !said.contains("error"), "{said}");
}
