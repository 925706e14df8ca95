//! A fuzz pass over the HTTP API: schemathesis (pinned, from PyPI) generates requests from the
//! OpenAPI document — valid, edge-case and malformed — against a daemon with items, documents and
//! runs in it, as an admin (every route open to it) and as an agent; no request may get a 500.

mod support;

use std::process::Command;
use support::{repo, Daemon};

fn schemathesis() -> String {
    let setup = Command::new("bash").arg(repo().join("tests/fuzz/setup.sh")).output().unwrap();
    assert!(setup.status.success(), "building the schemathesis venv: {}", String::from_utf8_lossy(&setup.stderr));
    String::from_utf8(setup.stdout).unwrap().trim().to_string()
}

#[test]
fn no_generated_request_gets_a_server_error() {
    let st = schemathesis();
    let mut d = Daemon::start();
    for (name, role) in [("ada", "admin"), ("ann", "agent")] {
        let out = d.clerk_with_stdin(&["users", "add", name, "--role", role, "--password-stdin"], "correct horse battery staple");
        assert!(out.status.success());
    }
    d.drop_sample("invoice-incomplete.pdf");
    d.drop_sample("letter-unknown.pdf");
    d.drop_sample("invoice-acme.pdf");
    d.wait_settled(3);
    let base = d.http();
    let tested_line = regex::Regex::new(r"Tested: (\d+)").unwrap();
    for user in ["ada", "ann"] {
        let out = d.clerk(&["tokens", "create", user]);
        let token = String::from_utf8_lossy(&out.stdout).split_whitespace().find(|w| w.starts_with("clerk_")).unwrap().to_string();
        let run = Command::new(&st)
            .args(["run", &format!("{base}/api/v1/openapi.json"), "--checks", "not_a_server_error"])
            .args(["--max-examples", "25", "--seed", "1", "--no-color"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .env("SCHEMATHESIS_HOOKS", "")
            // Its cache of findings goes to the test's folder, not the repository.
            .current_dir(d.dir.path())
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "as {user}:\n{report}\n{}", String::from_utf8_lossy(&run.stderr));
        let tested: usize = tested_line.captures(&report).map_or(0, |c| c[1].parse().unwrap());
        assert!(tested >= 20, "as {user}: every operation tested:\n{report}");
        assert!(d.is_running(), "the daemon survived the fuzz pass");
    }
}
