//! Users, roles and API tokens from the command line: passwords kept only as argon2id hashes,
//! tokens only as their SHA-256, and every bad input refused with a sentence.

mod support;

use support::{sha256_hex, Daemon};

fn text(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn users_are_added_with_a_role_and_listed_without_their_passwords() {
    let d = Daemon::new("");
    let out = d.clerk_with_stdin(&["users", "add", "alice", "--role", "agent", "--password-stdin"], "correct horse battery staple\n");
    assert!(out.status.success(), "{:?}", text(&out));
    let out = d.clerk(&["users", "add", "bob", "--role", "admin"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    let generated = stdout.rsplit("(shown once): ").next().unwrap().trim().to_string();
    assert!(generated.len() >= 32, "a generated password is printed once: {stdout}");

    let list = d.json(&["users", "list", "--json"]);
    let people: Vec<(&str, &str)> =
        list.as_array().unwrap().iter().map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap())).collect();
    assert_eq!(people, [("alice", "agent"), ("bob", "admin")]);
    let listed = list.to_string();
    assert!(!listed.contains("argon2") && !listed.contains("password"), "{listed}");

    let stored = String::from_utf8_lossy(&d.store_bytes()).into_owned();
    // (SQLite's write-ahead log may hold a page twice: count is no measure there.)
    assert!(stored.contains("$argon2id$v=19$"), "kept as argon2id hashes");
    assert!(!stored.contains("correct horse battery staple") && !stored.contains(&generated), "no password in the store");
}

#[test]
fn bad_users_are_refused_with_a_sentence() {
    let d = Daemon::new("");
    let refused = |args: &[&str], stdin: &str, says: &str| {
        let out = d.clerk_with_stdin(args, stdin);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    refused(&["users", "add", "carol", "--role", "root"], "", "roles are agent, ops and admin");
    refused(&["users", "add", "carol", "--role", "ops", "--password-stdin"], "short\n", "too short");
    refused(&["users", "add", "carol smith", "--role", "ops"], "", "is not a user name");
    assert!(d.clerk(&["users", "add", "carol", "--role", "ops"]).status.success());
    refused(&["users", "add", "carol", "--role", "admin"], "", "exists already");
    assert_eq!(d.json(&["users", "list", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn an_api_token_is_shown_once_and_kept_as_its_hash() {
    let d = Daemon::new("");
    assert!(d.clerk(&["users", "add", "script", "--role", "ops"]).status.success());
    let out = d.clerk(&["tokens", "create", "script"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    let token = stdout.trim();
    assert!(token.starts_with("clerk_") && token.len() == 6 + 64, "{token}");
    let stored = String::from_utf8_lossy(&d.store_bytes()).into_owned();
    assert!(!stored.contains(token), "the token itself is not stored");
    assert!(stored.contains(&sha256_hex(token.as_bytes())), "its hash is");
    assert_eq!(d.json(&["users", "list", "--json"])[0]["tokens"], 1);

    let out = d.clerk(&["tokens", "create", "nobody"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("there is no user named `nobody`"));
}
