//! Accounts as admins look after them and people use them: a password changed by its user ends
//! their other sessions, a reset by an admin ends all of them; tokens run out, are listed without
//! being shown and are revoked one by one; sessions are listed with where they came from and
//! ended. And the command line works on the store the settings name, never a new one it made.

mod support;

use serde_json::{json, Value};
use support::api::{bearer, call};
use support::{sha256_hex, Daemon, CLERK};

const PASSWORD: &str = "correct horse battery staple";

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A session cookie (`name=value`) and its CSRF token, or the status the sign-in got.
fn sign_in(addr: &str, name: &str, password: &str) -> Result<(String, String), u16> {
    let r = call(addr, "POST", "/api/v1/session", &[], Some(&json!({"name": name, "password": password})));
    if r.status != 200 {
        return Err(r.status);
    }
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    Ok((cookie, r.json()["csrf_token"].as_str().unwrap().to_string()))
}

fn me_status(addr: &str, cookie: &str) -> u16 {
    call(addr, "GET", "/api/v1/me", &[("Cookie", cookie)], None).status
}

fn add_user(d: &Daemon, name: &str, role: &str) {
    let out = d.clerk_with_stdin(&["users", "add", name, "--role", role, "--password-stdin"], PASSWORD);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_password_change_ends_the_users_other_sessions_and_a_reset_ends_them_all() {
    let d = Daemon::start();
    add_user(&d, "ann", "agent");
    let addr = d.http().trim_start_matches("http://").to_string();
    let (here, csrf) = sign_in(&addr, "ann", PASSWORD).unwrap();
    let (elsewhere, _) = sign_in(&addr, "ann", PASSWORD).unwrap();
    let change = |current: &str, new: &str| {
        let body = json!({"current": current, "new": new});
        call(&addr, "POST", "/api/v1/me/password", &[("Cookie", &here), ("X-CSRF-Token", &csrf)], Some(&body))
    };

    let wrong = change("not my password at all", "a new password of mine");
    assert_eq!(wrong.status, 403, "{wrong:?}");
    assert_eq!(wrong.json()["detail"], "the current password is wrong");
    let short = change(PASSWORD, "short");
    assert_eq!(short.status, 422, "{short:?}");
    assert!(short.json()["detail"].as_str().unwrap().contains("at least 12"), "{short:?}");
    assert_eq!(me_status(&addr, &elsewhere), 200, "refused changes end nothing");

    let done = change(PASSWORD, "a new password of mine");
    assert_eq!(done.status, 204, "{done:?}");
    assert_eq!(me_status(&addr, &here), 200, "the session it was changed from goes on");
    assert_eq!(me_status(&addr, &elsewhere), 401, "the other session has ended");
    assert_eq!(sign_in(&addr, "ann", PASSWORD), Err(401), "the old password is refused");
    let (third, _) = sign_in(&addr, "ann", "a new password of mine").expect("the new one works");

    // An admin's reset (a forgotten password) ends every session, the changer's too.
    let out = d.clerk_with_stdin(&["users", "password", "ann", "--password-stdin"], "set by the admin 2026");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!((me_status(&addr, &here), me_status(&addr, &third)), (401, 401));
    assert!(sign_in(&addr, "ann", "set by the admin 2026").is_ok());
    let out = d.clerk(&["users", "password", "nobody"]);
    assert!(!out.status.success() && text(&out).contains("no user named `nobody`"), "{}", text(&out));

    let audit = d.json(&["audit", "--json"]).to_string();
    assert!(audit.contains("password changed") && audit.contains("password reset"), "{audit}");
    assert!(!audit.contains("a new password of mine") && !audit.contains("set by the admin"), "no password in the audit trail");
}

#[test]
fn tokens_run_out_are_listed_without_being_shown_and_are_revoked_one_by_one() {
    let d = Daemon::start();
    add_user(&d, "ann", "admin");
    let addr = d.http().trim_start_matches("http://").to_string();
    let create = |args: &[&str]| {
        let out = d.clerk(&[&["tokens", "create", "ann"], args].concat());
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let nightly = create(&["--label", "nightly export", "--expires", "30d"]);
    let forever = create(&["--expires", "never"]);
    let plain = create(&[]);
    let bad = d.clerk(&["tokens", "create", "ann", "--expires", "2001-01-01"]);
    assert!(!bad.status.success() && text(&bad).contains("has passed"), "{}", text(&bad));

    let me = |token: &str| call(&addr, "GET", "/api/v1/me", &[("Authorization", &bearer(token))], None);
    assert_eq!(me(&nightly).status, 200);
    let list = d.json(&["tokens", "list", "--json"]);
    let listed = list.to_string();
    for t in [&nightly, &forever, &plain] {
        assert!(!listed.contains(t.as_str()), "a token is never shown again: {listed}");
    }
    let by_id = |token: &str| -> Value {
        let id = &sha256_hex(token.as_bytes())[..12];
        list.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap_or_else(|| panic!("{id} in {listed}")).clone()
    };
    let days_left = |t: &Value| {
        let until = chrono::DateTime::parse_from_rfc3339(t["expires"].as_str().unwrap()).unwrap();
        (until.signed_duration_since(chrono::Utc::now()).num_hours() + 12) / 24
    };
    let n = by_id(&nightly);
    assert_eq!((n["label"].as_str(), n["user"].as_str(), days_left(&n)), (Some("nightly export"), Some("ann"), 30));
    assert!(n["last_used"].is_string(), "its use is noted: {n}");
    assert_eq!(days_left(&by_id(&plain)), 90, "the default is 90 days");
    assert!(by_id(&forever)["expires"].is_null());
    assert!(by_id(&forever)["last_used"].is_null());

    // A token past its expiry is refused, and its user told why.
    let ran_out = "clerk_ranout0123456789";
    let store = d.store_location();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = clerk::store::Store::open_at(&store).await.unwrap();
        let past = chrono::Utc::now().timestamp_millis() - 60_000;
        assert!(store.add_token("ann", &sha256_hex(ran_out.as_bytes()), "old", Some(past), "test").await.unwrap());
    });
    let refused = me(ran_out);
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(refused.json()["detail"].as_str().unwrap().contains("ran out"), "{refused:?}");
    assert_eq!(d.json(&["tokens", "list", "--json", "--user", "ann"]).as_array().unwrap().iter().filter(|t| t["expired"] == true).count(), 1);

    // Revoked: that token at once, and no other.
    let id = &sha256_hex(nightly.as_bytes())[..12];
    let out = d.clerk(&["tokens", "revoke", id]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(me(&nightly).status, 401);
    assert_eq!(me(&plain).status, 200);
    let out = d.clerk(&["tokens", "revoke", id]);
    assert!(!out.status.success() && text(&out).contains("no token has the id"), "{}", text(&out));

    // Through the API too: an admin makes one (shown once), lists and revokes it.
    let admin = [("Authorization", bearer(&plain))];
    let admin: Vec<(&str, &str)> = admin.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let made = call(&addr, "POST", "/api/v1/tokens", &admin, Some(&json!({"user": "ann", "label": "ci", "expires": "1d"})));
    assert_eq!(made.status, 201, "{made:?}");
    let made = made.json();
    let ci = made["token"].as_str().unwrap().to_string();
    assert_eq!(me(&ci).status, 200);
    let gone = call(&addr, "DELETE", &format!("/api/v1/tokens/{}", made["summary"]["id"].as_str().unwrap()), &admin, None);
    assert_eq!(gone.status, 204, "{gone:?}");
    assert_eq!(me(&ci).status, 401);
    let audit = d.json(&["audit", "--json"]).to_string();
    assert!(audit.contains("token revoked"), "{audit}");
}

#[test]
fn admins_see_who_is_signed_in_from_where_and_end_a_session() {
    let d = Daemon::start();
    add_user(&d, "ann", "agent");
    add_user(&d, "bob", "admin");
    let addr = d.http().trim_start_matches("http://").to_string();
    let (ann1, _) = sign_in(&addr, "ann", PASSWORD).unwrap();
    let (ann2, _) = sign_in(&addr, "ann", PASSWORD).unwrap();
    let (bob, bob_csrf) = sign_in(&addr, "bob", PASSWORD).unwrap();

    let list = d.json(&["sessions", "list", "--json", "--user", "ann"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|s| s["user"] == "ann" && s["address"] == "127.0.0.1"), "{list:?}");

    // One of ann's sessions ended by the API; the other by the command line, with all of hers.
    let api = call(&addr, "GET", "/api/v1/sessions?user=ann", &[("Cookie", &bob)], None).json();
    assert_eq!(api.as_array().unwrap().len(), 2);
    let first = api[0]["id"].as_str().unwrap();
    let ended = call(&addr, "DELETE", &format!("/api/v1/sessions/{first}"), &[("Cookie", &bob), ("X-CSRF-Token", &bob_csrf)], None);
    assert_eq!(ended.status, 204, "{ended:?}");
    assert_eq!([me_status(&addr, &ann1), me_status(&addr, &ann2)].iter().filter(|s| **s == 401).count(), 1);
    let out = d.clerk(&["sessions", "end", "--user", "ann"]);
    assert!(out.status.success() && text(&out).contains("ended 1 session"), "{}", text(&out));
    assert_eq!((me_status(&addr, &ann1), me_status(&addr, &ann2), me_status(&addr, &bob)), (401, 401, 200));
    let out = d.clerk(&["sessions", "end", "0123456789ab"]);
    assert!(!out.status.success() && text(&out).contains("no session has the id"), "{}", text(&out));

    // Agents cannot see others' sessions.
    let (ann3, _) = sign_in(&addr, "ann", PASSWORD).unwrap();
    assert_eq!(call(&addr, "GET", "/api/v1/sessions", &[("Cookie", &ann3)], None).status, 403);
}

#[test]
fn no_command_makes_a_store_where_none_is_and_init_says_where_it_made_one() {
    let dir = tempfile::tempdir().unwrap();
    let clerk = |args: &[&str]| {
        std::process::Command::new(CLERK)
            .args(args)
            .current_dir(dir.path())
            .env_remove("CLERK_CONFIG")
            .env_remove("CLERK_DATA")
            .env_remove("CLERK_STORE")
            .env("CLERK_DEFINITIONS", support::repo().join("bots"))
            .output()
            .unwrap()
    };
    for args in [&["users", "add", "admin", "--role", "admin"][..], &["bots", "run", "post-invoice-to-erp", "--doc", "1"], &["users", "list"]] {
        let out = clerk(args);
        let said = text(&out);
        assert!(!out.status.success(), "{args:?}: {said}");
        assert!(said.contains("no clerk store in var"), "{args:?}: {said}");
        assert!(said.contains("clerk.toml") && said.contains("/etc/clerk/clerk.toml") && said.contains("clerk init"), "{said}");
        assert!(!dir.path().join("var").exists(), "{args:?} made a data folder");
    }
    let out = clerk(&["init"]);
    assert!(out.status.success() && text(&out).contains("the store in var is ready"), "{}", text(&out));
    assert!(dir.path().join("var/clerk.db").exists());
    let out = clerk(&["users", "add", "admin", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out));

    // A settings file in the folder is the one used, and named.
    std::fs::write(dir.path().join("clerk.toml"), "data = 'elsewhere'\n").unwrap();
    let out = clerk(&["users", "list"]);
    assert!(!out.status.success() && text(&out).contains("no clerk store in elsewhere") && text(&out).contains("the settings are clerk.toml"), "{}", text(&out));
}
