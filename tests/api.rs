//! The HTTP API under /api/v1, against a real daemon: every route in its OpenAPI document is
//! refused without credentials and to the roles below the one it names; two agents resolving one
//! item at once — one wins, the other is told the item changed; a browser session's changes need
//! its CSRF token; sign-in is rate-limited.

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use support::api::{bearer, call, Reply};
use support::Daemon;

const PASSWORD: &str = "correct horse battery staple";

/// A daemon with one user per role (and a token each), and an incomplete invoice in the queue.
struct Setup {
    d: Daemon,
    addr: String,
    tokens: std::collections::BTreeMap<String, String>,
}

fn setup(users: &[(&str, &str)]) -> Setup {
    setup_with(Daemon::start(), users)
}

fn setup_with(d: Daemon, users: &[(&str, &str)]) -> Setup {
    let mut tokens = std::collections::BTreeMap::new();
    for (name, role) in users {
        tokens.insert(name.to_string(), d.user_with_token(name, role, PASSWORD));
    }
    let addr = d.http().trim_start_matches("http://").to_string();
    Setup { d, addr, tokens }
}

impl Setup {
    fn as_user(&self, user: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let auth = bearer(&self.tokens[user]);
        call(&self.addr, method, path, &[("Authorization", &auth)], body)
    }
    /// Posts `body` as a file upload (`application/octet-stream`) as `user`.
    fn upload(&self, user: &str, path: &str, body: &[u8]) -> Reply {
        let auth = bearer(&self.tokens[user]);
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/octet-stream")];
        support::api::call_raw(&self.addr, "POST", path, &headers, body)
    }
    fn incomplete_invoice(&self) -> i64 {
        self.d.drop_sample("invoice-incomplete.pdf");
        self.d.wait_settled(1);
        let items = self.as_user("ann", "GET", "/api/v1/exceptions?kind=incomplete", None).json();
        items[0]["id"].as_i64().expect("an incomplete item")
    }
}

/// A daemon with `settings` whose invoice type has `sla: SLA`.
fn with_invoice_sla(settings: &str, sla: &str) -> Daemon {
    let mut d = Daemon::new(settings);
    let invoice = d.definitions.join("invoice.yml");
    let text = std::fs::read_to_string(&invoice).unwrap();
    std::fs::write(&invoice, format!("{text}\nsla: {sla}\n")).unwrap();
    d.spawn();
    d
}

fn role_rank(role: &str) -> usize {
    ["agent", "ops", "admin"].iter().position(|r| *r == role).unwrap_or_else(|| panic!("no role {role}"))
}

#[test]
fn every_route_refuses_strangers_and_lower_roles() {
    let s = setup(&[("ann", "agent"), ("olga", "ops"), ("ada", "admin")]);
    let id = s.incomplete_invoice();
    let api = call(&s.addr, "GET", "/api/v1/openapi.json", &[], None).json();
    let needs = regex::Regex::new(r"Needs\s+(the\s+(\w+)\s+role|no\s+role)").unwrap();
    let mut walked = 0;
    for (path, item) in api["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let text = format!("{} {}", op["summary"].as_str().unwrap_or(""), op["description"].as_str().unwrap_or(""));
            let caps = needs.captures(&text).unwrap_or_else(|| panic!("{method} {path} names no role: {text}"));
            let Some(role) = caps.get(2).map(|m| m.as_str()) else { continue };
            let url = path.replace("{id}", &id.to_string()).replace("{n}", "1");
            let method = method.to_uppercase();
            let body = (method == "POST").then(|| json!({}));
            let r = call(&s.addr, &method, &url, &[], body.as_ref());
            assert_eq!(r.status, 401, "{method} {path} without credentials: {r:?}");
            assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{method} {path}");
            let r = call(&s.addr, &method, &url, &[("Authorization", "Bearer clerk_not_a_token")], body.as_ref());
            assert_eq!(r.status, 401, "{method} {path} with an unknown token: {r:?}");
            for (user, user_role) in [("ann", "agent"), ("olga", "ops"), ("ada", "admin")] {
                let r = s.as_user(user, &method, &url, body.as_ref());
                if role_rank(user_role) < role_rank(role) {
                    assert_eq!(r.status, 403, "{method} {path} as {user_role}: {r:?}");
                    assert!(r.json()["detail"].as_str().unwrap().contains(&format!("needs the {role} role")), "{r:?}");
                } else {
                    assert!(![401, 403].contains(&r.status) && r.status < 500, "{method} {path} as {user_role}: {r:?}");
                }
            }
            walked += 1;
        }
    }
    assert!(walked >= 20, "only {walked} routes walked");
}

#[test]
fn two_agents_resolving_one_item_at_once_one_wins_and_the_other_is_told_it_changed() {
    // No bot acts on the resolved invoice: a failed run would open an item on the document again,
    // which agents may then read (what the end of this test checks they may not, once closed).
    let mut d = Daemon::new("");
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).unwrap();
    d.spawn();
    let s = std::sync::Arc::new(setup_with(d, &[("ann", "agent"), ("bert", "agent")]));
    let id = s.incomplete_invoice();
    let shown = s.as_user("ann", "GET", &format!("/api/v1/exceptions/{id}"), None);
    assert_eq!(shown.status, 200);
    let version = shown.json()["version"].as_i64().unwrap();
    assert_eq!(shown.header("etag"), Some(format!("\"{version}\"").as_str()));

    let answer = json!({"doctype": "invoice", "fields": {"invoice_number": "U-17", "total": "1.250,00"}, "version": version});
    let both: Vec<Reply> = ["ann", "bert"]
        .map(|agent| {
            let (s, answer) = (s.clone(), answer.clone());
            std::thread::spawn(move || s.as_user(agent, "POST", &format!("/api/v1/exceptions/{id}/resolve"), Some(&answer)))
        })
        .map(|t| t.join().unwrap())
        .into_iter()
        .collect();
    let statuses: Vec<u16> = both.iter().map(|r| r.status).collect();
    assert!(statuses.contains(&200) && statuses.contains(&409), "{both:?}");
    let lost = both.iter().find(|r| r.status == 409).unwrap().json();
    let detail = lost["detail"].as_str().unwrap();
    assert!(detail.contains("changed since you loaded it") && detail.contains("resolved"), "{detail}");

    // Applied once: the document is recognised with the winner's answer, and the audit says who.
    let winner = ["ann", "bert"][statuses.iter().position(|s| *s == 200).unwrap()];
    let item = s.as_user(winner, "GET", &format!("/api/v1/exceptions/{id}"), None).json();
    assert_eq!(item["state"], "resolved");
    assert_eq!(item["resolved_by"], winner);
    // The winner reads the item they closed and its document; the other agent no longer does.
    let loser = ["ann", "bert"].into_iter().find(|a| *a != winner).unwrap();
    assert_eq!(s.as_user(loser, "GET", &format!("/api/v1/exceptions/{id}"), None).status, 404);
    let document = format!("/api/v1/documents/{}", item["document_id"]);
    assert_eq!(s.as_user(loser, "GET", &document, None).status, 404);
    assert_eq!(s.as_user(loser, "GET", &format!("{document}/original"), None).status, 404);
    let page = |who: &str| call(&s.addr, "GET", &format!("/items/{id}"), &[("Authorization", &bearer(&s.tokens[who]))], None).status;
    assert_eq!((page(loser), page(winner)), (404, 200), "the item page as well");
    let doc = s.as_user(winner, "GET", &document, None).json();
    assert!(doc.get("original_path").is_none(), "an agent is not shown the server's folders: {doc}");
    assert_eq!(doc["status"], "recognised");
    assert_eq!(doc["fields"]["invoice_number"], "U-17");
    let resolved: Vec<&Value> = doc["audit"].as_array().unwrap().iter().filter(|a| a["action"] == "resolved").collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["actor"], winner);
}

#[test]
fn a_stale_answer_is_refused_and_a_bad_one_explained() {
    let s = setup(&[("ann", "agent"), ("bert", "agent")]);
    let id = s.incomplete_invoice();
    let url = |what: &str| format!("/api/v1/exceptions/{id}/{what}");
    let v1 = s.as_user("ann", "GET", &format!("/api/v1/exceptions/{id}"), None).json()["version"].as_i64().unwrap();
    let claimed = s.as_user("bert", "POST", &url("claim"), Some(&json!({"version": v1})));
    assert_eq!(claimed.status, 200, "{claimed:?}");
    assert_eq!(claimed.json()["claimed_by"], "bert");
    // Ann still has version v1 open: her answer is refused, nothing applied.
    let stale = s.as_user("ann", "POST", &url("resolve"), Some(&json!({"doctype": "invoice", "version": v1})));
    assert_eq!(stale.status, 409, "{stale:?}");
    assert!(stale.json()["detail"].as_str().unwrap().contains("claimed by bert"), "{stale:?}");
    let v2 = claimed.json()["version"].as_i64().unwrap();
    // An answer that does not validate: 422 with the type's reason; an unknown type: 422; no such item: 404.
    let bad = s.as_user("bert", "POST", &url("resolve"), Some(&json!({"doctype": "invoice", "version": v2})));
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(bad.json()["detail"].as_str().unwrap().contains("invoice_number"), "{bad:?}");
    let unknown = s.as_user("bert", "POST", &url("resolve"), Some(&json!({"doctype": "receipt"})));
    assert_eq!(unknown.status, 422, "{unknown:?}");
    assert!(unknown.json()["detail"].as_str().unwrap().contains("known types"), "{unknown:?}");
    let missing = s.as_user("bert", "POST", "/api/v1/exceptions/999999/claim", None);
    assert_eq!(missing.status, 404, "{missing:?}");
    // If-Match works as the body's version does.
    let auth = bearer(&s.tokens["bert"]);
    let released = call(&s.addr, "POST", &url("release"), &[("Authorization", &auth), ("If-Match", &format!("\"{}\"", v2 - 1))], None);
    assert_eq!(released.status, 409, "{released:?}");
    let released = call(&s.addr, "POST", &url("release"), &[("Authorization", &auth), ("If-Match", &format!("\"{v2}\""))], None);
    assert_eq!(released.status, 200, "{released:?}");
    assert_eq!(released.json()["state"], "open");
    let rejected = s.as_user("ann", "POST", &url("reject"), Some(&json!({"reason": " "})));
    assert_eq!(rejected.status, 422, "{rejected:?}");
    let rejected = s.as_user("ann", "POST", &url("reject"), Some(&json!({"reason": "a duplicate sent by post"})));
    assert_eq!(rejected.status, 200, "{rejected:?}");
    let doc = rejected.json()["document_id"].clone();
    let history = s.as_user("ann", "GET", &format!("/api/v1/documents/{doc}"), None).json()["audit"].clone();
    let who: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["actor"] != "clerk")
        .map(|a| (a["actor"].as_str().unwrap().into(), a["action"].as_str().unwrap().into()))
        .collect();
    let expect = [("bert", "claimed"), ("bert", "released"), ("ann", "rejected")];
    assert_eq!(who, expect.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn a_browser_session_needs_its_csrf_token_and_sign_in_is_rate_limited() {
    let s = setup(&[("ann", "agent"), ("bob", "agent")]);
    let id = s.incomplete_invoice();
    let signed = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": PASSWORD})));
    assert_eq!(signed.status, 200, "{signed:?}");
    let cookie_line = signed.header("set-cookie").unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie_line.contains(attribute), "{cookie_line}");
    }
    let cookie = cookie_line.split(';').next().unwrap().to_string();
    let csrf = signed.json()["csrf_token"].as_str().unwrap().to_string();

    // Reading needs only the cookie; a change without the token (a forged form) is refused.
    let me = call(&s.addr, "GET", "/api/v1/me", &[("Cookie", &cookie)], None);
    assert_eq!(me.json()["name"], "ann");
    let claim = format!("/api/v1/exceptions/{id}/claim");
    let forged = call(&s.addr, "POST", &claim, &[("Cookie", &cookie)], None);
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(forged.json()["detail"].as_str().unwrap().contains("CSRF"), "{forged:?}");
    let wrong = call(&s.addr, "POST", &claim, &[("Cookie", &cookie), ("X-CSRF-Token", "0000")], None);
    assert_eq!(wrong.status, 403, "{wrong:?}");
    let item = s.as_user("ann", "GET", &format!("/api/v1/exceptions/{id}"), None).json();
    assert_eq!(item["state"], "open", "nothing applied by the refused requests");
    let ok = call(&s.addr, "POST", &claim, &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)], None);
    assert_eq!(ok.status, 200, "{ok:?}");

    // An answer carrying the CSRF token is kept by no cache.
    let me = call(&s.addr, "GET", "/api/v1/me", &[("Cookie", &cookie)], None);
    assert!(me.json()["csrf_token"].is_string() && me.header("cache-control") == Some("no-store"), "{:?}", me.headers);

    // Signing out ends the session on the server: the cookie is worth nothing after.
    let out = call(&s.addr, "DELETE", "/api/v1/session", &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)], None);
    assert_eq!(out.status, 204, "{out:?}");
    assert_eq!(call(&s.addr, "GET", "/api/v1/me", &[("Cookie", &cookie)], None).status, 401);

    // Five wrong passwords lock the name; the right one is then refused too, with a wait.
    for _ in 0..5 {
        let r = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": "guess guess guess"})));
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(r.json()["detail"], "wrong user name or password");
    }
    let locked = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": PASSWORD})));
    assert_eq!(locked.status, 429, "{locked:?}");
    assert!(locked.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() > 0), "{:?}", locked.headers);
    let unknown = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "nobody", "password": PASSWORD})));
    assert!(unknown.status == 401 || unknown.status == 429, "{unknown:?}");
    // The address is locked too, and a client cannot step around that by naming another
    // address in X-Forwarded-For: no proxy is trusted by default.
    let spoofed = call(
        &s.addr,
        "POST",
        "/api/v1/session",
        &[("X-Forwarded-For", "198.51.100.1")],
        Some(&json!({"name": "bob", "password": PASSWORD})),
    );
    assert_eq!(spoofed.status, 429, "{spoofed:?}");
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_the_one_limited_and_logged() {
    let s = setup_with(Daemon::start_with("[http]\ntrusted_proxies = ['127.0.0.0/8', '::1']\n"), &[("ann", "agent")]);
    let sign_in = |name: &str, password: &str, headers: &[(&str, &str)]| {
        call(&s.addr, "POST", "/api/v1/session", headers, Some(&json!({"name": name, "password": password})))
    };
    // Five names guessed from one client behind the proxy lock that client out…
    let mallory = [("X-Forwarded-For", "198.51.100.1, 203.0.113.5")];
    for guess in ["root", "admin", "test", "guest", "ann"] {
        assert_eq!(sign_in(guess, "guess guess guess", &mallory).status, 401);
    }
    let locked = sign_in("ann", PASSWORD, &[("X-Forwarded-For", "203.0.113.5")]);
    assert_eq!(locked.status, 429, "{locked:?}");
    // Five wrong passwords for ann from one client do not lock ann out elsewhere (anyone could
    // otherwise lock any user out)…
    for _ in 0..5 {
        assert_eq!(sign_in("ann", "guess guess guess", &[("X-Forwarded-For", "203.0.113.9")]).status, 401);
    }
    assert_eq!(sign_in("ann", PASSWORD, &[("X-Forwarded-For", "203.0.113.10")]).status, 200);
    // …and an account holder's own sign-ins between guesses do not clear the client's failures.
    let sprayer = [("X-Forwarded-For", "203.0.113.8")];
    for guess in ["root", "admin", "test", "guest"] {
        assert_eq!(sign_in(guess, "guess guess guess", &sprayer).status, 401);
        assert_eq!(sign_in("ann", PASSWORD, &sprayer).status, 200);
    }
    assert_eq!(sign_in("operator", "guess guess guess", &sprayer).status, 401);
    assert_eq!(sign_in("ann", PASSWORD, &sprayer).status, 429, "five failures from one client lock it");
    // …not everyone else behind the same proxy.
    let other = sign_in("ann", PASSWORD, &[("X-Forwarded-For", "203.0.113.6"), ("X-Forwarded-Proto", "https")]);
    assert_eq!(other.status, 200, "{other:?}");
    let cookie = other.header("set-cookie").unwrap();
    assert!(cookie.contains("; Secure"), "the client came over HTTPS: {cookie}");
    let plain = sign_in("ann", PASSWORD, &[("X-Forwarded-For", "203.0.113.7")]);
    assert!(!plain.header("set-cookie").unwrap().contains("Secure"), "{plain:?}");
    // The refusals name the client in the log (what fail2ban watches), not the proxy.
    let log = s.d.log();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("sign-in refused")).collect();
    assert_eq!(refused.iter().filter(|l| l.contains("client=203.0.113.5")).count(), 5, "{log}");
    assert!(refused.iter().all(|l| l.contains("client=203.0.113.") && !l.contains("198.51.100.1")), "{refused:#?}");
}

#[test]
fn items_whose_type_names_no_sla_are_due_after_the_queues_default() {
    let s = setup_with(with_invoice_sla("[queue]\nsla = '50ms'\n", "1h"), &[("ann", "agent")]);
    s.d.drop_sample("letter-unknown.pdf");
    s.d.wait_settled(1);
    s.d.drop_sample("invoice-incomplete.pdf");
    s.d.wait_settled(2);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let items = s.as_user("ann", "GET", "/api/v1/exceptions", None).json();
    let by_kind = |k: &str| items.as_array().unwrap().iter().find(|i| i["kind"] == k).unwrap().clone();
    // The unrecognised letter has no type: the queue's default makes it overdue.
    assert_eq!(by_kind("unrecognised")["overdue"], true, "{items:#}");
    // The invoice's own SLA (an hour) wins over the default.
    assert_eq!(by_kind("incomplete")["overdue"], false, "{items:#}");
    assert!(by_kind("incomplete")["due_at"].is_string());
    let metrics = call(&s.addr, "GET", "/metrics", &[], None).body;
    assert!(metrics.contains("clerk_exceptions_overdue{kind=\"unrecognised\"} 1"), "{metrics}");
    assert!(metrics.contains("clerk_exceptions_overdue{kind=\"incomplete\"} 0"), "{metrics}");
}

#[test]
fn items_past_their_types_sla_are_overdue_in_the_api_the_queue_and_the_metrics() {
    let d = with_invoice_sla("", "50ms");
    let token = d.user_with_token("ann", "agent", PASSWORD);
    let addr = d.http().trim_start_matches("http://").to_string();
    // The letter (no type, so no SLA) comes first; the invoice after it.
    d.drop_sample("letter-unknown.pdf");
    d.wait_settled(1);
    d.drop_sample("invoice-incomplete.pdf");
    d.wait_settled(2);
    std::thread::sleep(std::time::Duration::from_millis(200));

    let items = call(&addr, "GET", "/api/v1/exceptions", &[("Authorization", &bearer(&token))], None).json();
    let by_kind = |k: &str| items.as_array().unwrap().iter().find(|i| i["kind"] == k).unwrap().clone();
    assert_eq!(by_kind("incomplete")["overdue"], true, "{items:#}");
    assert!(by_kind("incomplete")["due_at"].is_string());
    assert_eq!(by_kind("unrecognised")["overdue"], false);
    assert!(by_kind("unrecognised")["due_at"].is_null());

    let metrics = call(&addr, "GET", "/metrics", &[], None).body;
    assert!(metrics.contains("clerk_exceptions_overdue{kind=\"incomplete\"} 1"), "{metrics}");
    assert!(metrics.contains("clerk_exceptions_overdue{kind=\"unrecognised\"} 0"), "{metrics}");

    // The queue page puts the overdue item first and marks it.
    let signed = call(&addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": PASSWORD})));
    let cookie = signed.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let reply = call(&addr, "GET", "/queue", &[("Cookie", &cookie)], None);
    // Pages are not sniffed for another type, nor named to other sites.
    assert_eq!((reply.header("x-content-type-options"), reply.header("referrer-policy")), (Some("nosniff"), Some("same-origin")));
    let page = reply.body;
    let (invoice_at, letter_at) = (page.find("invoice-incomplete.pdf").unwrap(), page.find("letter-unknown.pdf").unwrap());
    assert!(invoice_at < letter_at, "overdue first");
    assert_eq!(page.matches("class=\"late\">overdue").count(), 1, "{page}");

    // The dashboard counts it, with the day's exception rate.
    let dashboard = call(&addr, "GET", "/dashboard", &[("Cookie", &cookie)], None).body;
    assert!(dashboard.contains(r#"<b id="overdue">1</b>"#), "{dashboard}");
    assert!(dashboard.contains(r#"<b id="rate">100.0%</b> (2 of 2 documents)"#), "{dashboard}");

    // A bad sla is a definition problem with its place, on the command line and on the
    // definitions page (ops; an agent is refused).
    std::fs::write(d.definitions.join("memo.yml"), "doctype: memo\nmatch: { any: ['MEMO'] }\nsla: soon\n").unwrap();
    let out = d.clerk(&["check"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("memo.yml:3:6: `sla`"), "{said}");
    let refused = call(&addr, "GET", "/definitions", &[("Cookie", &cookie)], None);
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(d.clerk_with_stdin(&["users", "add", "olga", "--role", "ops", "--password-stdin"], PASSWORD).status.success());
    let signed = call(&addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "olga", "password": PASSWORD})));
    let ops = signed.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let page = call(&addr, "GET", "/definitions", &[("Cookie", &ops)], None).body;
    assert!(page.contains("memo.yml:3:6: `sla`"), "{page}");
    assert!(page.contains("<td>invoice</td>"), "the loaded types are listed: {page}");

    // An invoice with no number goes to a person; its item page shows the lines the reader read
    // from its table, for the agent to check beside the page.
    d.drop_file(
        "harbour.txt",
        b"Harbour Supplies Ltd                                  INVOICE\n\
          Date: 03.04.2024\n\n\
          Description              Qty      Unit price        Amount\n\
          Rope, 20 m                 2           45.00         90.00\n\
          Fenders                    4           12.50         50.00\n\n\
                                     Net total          140.00\n\
                                     VAT 20%             28.00\n\
                                     Total              168.00 EUR\n",
    );
    d.wait_settled(3);
    let doc = d.by_name("harbour.txt");
    assert_eq!(doc["status"], "exception", "{doc}");
    let items = call(&addr, "GET", "/api/v1/exceptions", &[("Authorization", &bearer(&token))], None).json();
    let item = items.as_array().unwrap().iter().find(|i| i["document_id"] == doc["id"]).unwrap().clone();
    let page = call(&addr, "GET", &format!("/items/{}", item["id"]), &[("Cookie", &cookie)], None).body;
    let lines = &page[page.find(r#"id="read-lines""#).expect("the lines as read")..];
    let lines = &lines[..lines.find("</section>").unwrap()];
    assert!(lines.contains("<td>Rope, 20 m</td><td>2 </td><td>45.00</td><td>90.00</td>"), "{lines}");
    assert!(lines.contains("<td>Fenders</td><td>4 </td><td>12.50</td><td>50.00</td>"), "{lines}");
}

#[test]
fn ops_try_a_file_against_the_definitions_and_nothing_is_kept() {
    // Uploads are spooled to temporary files: give the daemon its own temporary folder to look in.
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Daemon::new("[limits]\nmax_file_size = '1MB'\n").with_env("TMPDIR", tmp.path().to_str().unwrap());
    d.spawn();
    let s = setup_with(d, &[("ann", "agent"), ("olga", "ops")]);
    let bytes = std::fs::read(support::sample("invoice-acme.pdf")).unwrap();
    let try_as = |user: &str, name: &str, body: &[u8]| s.upload(user, &format!("/api/v1/classify?name={name}"), body);
    let r = try_as("olga", "invoice-acme.pdf", &bytes);
    assert_eq!(r.status, 200, "{r:?}");
    let found = r.json();
    assert_eq!(found["doctype"], "invoice", "{found:#}");
    assert_eq!(found["fields"]["invoice_number"], "INV-2024-0042");
    assert!(found["exception"].is_null());
    // A broken file is an answer with a reason, not an error.
    let r = try_as("olga", "broken.pdf", &bytes[..bytes.len() / 3]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["exception"]["kind"], "unreadable", "{r:?}");
    assert_eq!(r.json()["status"], "exception", "the same report `clerk classify --json` prints");
    assert_eq!(try_as("ann", "invoice-acme.pdf", &bytes).status, 403);
    // A file over limits.max_file_size is refused from its declared length, before it is sent.
    let mut conn = std::net::TcpStream::connect(&s.addr).unwrap();
    let auth = bearer(&s.tokens["olga"]);
    let head = format!(
        "POST /api/v1/classify?name=big.pdf HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("over the limit of 1048576 bytes (limits.max_file_size)"), "{answer}");
    // Nothing was stored, and no upload is left in the temporary folder.
    assert_eq!(s.d.documents().len(), 0);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().starts_with("clerk-upload-")), "{left:?}");
}

#[test]
fn ops_dry_run_a_bot_on_an_uploaded_file_with_secrets_masked() {
    const SECRET: &str = "hunter2-very-secret";
    let mut d = Daemon::new("").with_env("CLERK_SECRET_ERP_PASSWORD", SECRET).with_env("ERP_URL", "http://erp.invalid");
    d.spawn();
    let s = setup_with(d, &[("ann", "agent"), ("olga", "ops")]);
    let bytes = std::fs::read(support::sample("credit-note-acme.pdf")).unwrap();
    let dry_run = |user: &str, bot: &str, body: &[u8]| s.upload(user, &format!("/api/v1/bots/{bot}/dry-run?name=cn.pdf"), body);
    let r = dry_run("olga", "key-in-credit-note", &bytes);
    assert_eq!(r.status, 200, "{r:?}");
    let run = r.json();
    assert_eq!(run["document"]["type"], "credit-note", "{run:#}");
    assert_eq!(run["failed"], false, "{run:#}");
    let steps = run["steps"].as_array().unwrap();
    let login = steps.iter().find(|st| st["id"] == "login").expect("the login step");
    assert!(login["summary"].to_string().contains("http://erp.invalid/login"), "{login}");
    assert!(!r.body.contains(SECRET), "the secret is masked: {}", r.body);
    assert!(run["missing_secrets"].as_array().unwrap().is_empty());
    // No document: the steps render against an empty one.
    let r = dry_run("olga", "key-in-credit-note", b"");
    assert_eq!((r.status, r.json()["document"]["type"].clone()), (200, Value::Null), "{r:?}");
    assert_eq!(dry_run("olga", "no-such-bot", &bytes).status, 404);
    assert_eq!(dry_run("ann", "key-in-credit-note", &bytes).status, 403);
    assert_eq!(s.d.documents().len(), 0, "nothing is kept");
}

#[test]
fn admins_change_roles_and_disable_users_but_not_the_last_admin() {
    let s = setup(&[("ann", "agent"), ("ada", "admin")]);
    let change = |who: &str, name: &str, body: Value| s.as_user(who, "PATCH", &format!("/api/v1/users/{name}"), Some(&body));
    // A session of ann's, to see it end.
    let signed = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": PASSWORD})));
    let cookie = signed.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert_eq!(call(&s.addr, "GET", "/api/v1/exceptions", &[("Cookie", &cookie)], None).status, 200);

    assert_eq!(change("ann", "ann", json!({"role": "admin"})).status, 403, "an agent cannot promote herself");
    let r = change("ada", "ann", json!({"role": "ops", "groups": ["@billing"]}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!((r.json()["role"].clone(), r.json()["groups"].clone()), (json!("ops"), json!(["billing"])));
    assert_eq!(s.as_user("ann", "GET", "/api/v1/documents", None).status, 200, "ops read documents");

    let r = change("ada", "ann", json!({"disabled": true}));
    assert_eq!((r.status, r.json()["disabled"].clone()), (200, json!(true)), "{r:?}");
    assert_eq!(s.as_user("ann", "GET", "/api/v1/exceptions", None).status, 401, "her token is refused");
    assert_eq!(call(&s.addr, "GET", "/api/v1/exceptions", &[("Cookie", &cookie)], None).status, 401, "her session ended");
    let again = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": PASSWORD})));
    assert_eq!(again.status, 401, "and she cannot sign in: {again:?}");
    assert_eq!(change("ada", "ann", json!({"disabled": false})).status, 200);
    assert_eq!(s.as_user("ann", "GET", "/api/v1/exceptions", None).status, 200, "enabled again");

    let r = change("ada", "ada", json!({"role": "agent"}));
    assert_eq!(r.status, 409, "the last admin stays: {r:?}");
    assert!(r.json()["detail"].as_str().unwrap().contains("no enabled admin"), "{r:?}");
    assert_eq!(change("ada", "nobody", json!({"disabled": true})).status, 404);
    assert_eq!(change("ada", "ann", json!({"role": "boss"})).status, 422);
    let users = s.d.json(&["users", "list", "--json"]);
    assert_eq!(users.as_array().unwrap().iter().find(|u| u["name"] == "ada").unwrap()["role"], "admin");
}

#[test]
fn admins_read_the_audit_trail_with_sign_ins_and_user_changes() {
    let s = setup(&[("ann", "agent"), ("ada", "admin")]);
    let sign_in = |name: &str, password: &str| {
        call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": name, "password": password})))
    };
    let ada = sign_in("ada", PASSWORD).header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let ann = sign_in("ann", PASSWORD).header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    assert_eq!(sign_in("ann", "guess guess guess").status, 401);
    let r = s.as_user("ada", "PATCH", "/api/v1/users/ann", Some(&json!({"role": "ops"})));
    assert_eq!(r.status, 200, "{r:?}");

    // Newest first: the change, the refused sign-in with where it came from, the sign-in.
    let audit = |query: &str| s.as_user("ada", "GET", &format!("/api/v1/audit{query}"), None);
    let all = audit("").json();
    let entries = all.as_array().unwrap();
    let said: Vec<(String, String)> = entries
        .iter()
        .take(3)
        .map(|e| (e["actor"].as_str().unwrap().to_string(), e["action"].as_str().unwrap().to_string()))
        .collect();
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(said, pairs(&[("ada", "user changed"), ("ann", "sign-in refused"), ("ann", "signed in")]), "{all:#}");
    assert!(entries[0]["detail"].as_str().unwrap().contains("ann"), "{all:#}");
    assert_eq!(entries[1]["detail"], "from 127.0.0.1", "{all:#}");
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // Filters: who, what, since when; and paging back.
    let anns = audit("?actor=ann").json();
    assert!(anns.as_array().unwrap().iter().all(|e| e["actor"] == "ann") && anns.as_array().unwrap().len() == 2, "{anns:#}");
    assert_eq!(audit("?action=sign-in%20refused").json().as_array().unwrap().len(), 1);
    assert_eq!(audit("?since=1h").json().as_array().unwrap().len(), entries.len());
    assert!(audit("?since=2999-01-01").json().as_array().unwrap().is_empty());
    let bad = audit("?since=yesterday");
    assert_eq!(bad.status, 422, "{bad:?}");
    assert!(bad.json()["detail"].as_str().unwrap().contains("`since` must be"), "{bad:?}");
    let first = audit("?limit=1").json();
    let next = audit(&format!("?limit=1&before={}", first[0]["id"])).json();
    assert_eq!((first[0]["id"].as_i64(), next[0]["id"].as_i64()), (Some(ids[0]), Some(ids[1])));
    assert_eq!(s.as_user("ann", "GET", "/api/v1/audit", None).status, 403, "ops may not read it");

    // The command line and the admin's page show the same.
    let out = s.d.clerk(&["audit", "--actor", "ann"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("ann  sign-in refused: from 127.0.0.1"), "{said}");
    let out = s.d.clerk(&["audit", "--since", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`since` must be"));
    let page = call(&s.addr, "GET", "/audit?actor=ann", &[("Cookie", &ada)], None);
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.body.matches("<td>sign-in refused</td>").count(), 1, "{}", page.body);
    assert!(!page.body.contains("<td>user changed</td>"), "filtered to ann: {}", page.body);
    assert!(page.body.contains(r#"<a href="/audit""#), "admins have the link: {}", page.body);
    let queue = call(&s.addr, "GET", "/queue", &[("Cookie", &ann)], None).body;
    assert!(!queue.contains(r#"<a href="/audit""#), "others do not: {queue}");
    assert_eq!(call(&s.addr, "GET", "/audit", &[("Cookie", &ann)], None).status, 403);
}

#[test]
fn a_nul_character_in_a_filter_or_a_value_is_refused_with_a_reason_never_a_server_error() {
    // Found by the schemathesis pass: PostgreSQL cannot hold a NUL in text, and that was a 500.
    let s = setup(&[("ann", "agent"), ("ada", "admin")]);
    let id = s.incomplete_invoice();
    let tries = [
        s.as_user("ann", "GET", "/api/v1/exceptions?assignee=a%00b", None),
        s.as_user("ann", "POST", &format!("/api/v1/exceptions/{id}/reject"), Some(&json!({"reason": "dup\u{0}licate"}))),
        s.as_user("ada", "POST", "/api/v1/users", Some(&json!({"name": "eve\u{0}", "role": "agent"}))),
        s.as_user("ada", "GET", "/api/v1/audit?actor=%00", None),
        call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann\u{0}", "password": PASSWORD}))),
    ];
    for r in &tries {
        assert!(r.status < 500, "{r:?}");
        if r.status == 422 {
            assert!(!r.json()["detail"].as_str().unwrap().is_empty(), "a refusal says why: {r:?}");
        }
    }
    // A kind is one of a list: a NUL is no kind, on either store.
    let kind = s.as_user("ann", "GET", "/api/v1/exceptions?kind=%00", None);
    assert_eq!(kind.status, 400, "{kind:?}");
    assert!(kind.json()["detail"].as_str().unwrap().contains("expected one of `unreadable`"), "{kind:?}");
    if support::on_postgres() {
        // Where the store cannot hold it, the value is refused with that reason, and nothing changed.
        for r in &tries[..2] {
            assert_eq!(r.status, 422, "{r:?}");
            assert!(r.json()["detail"].as_str().unwrap().contains("NUL character"), "{r:?}");
        }
        let item = s.as_user("ann", "GET", &format!("/api/v1/exceptions/{id}"), None).json();
        assert_eq!(item["state"], "open", "{item}");
    }
}

#[test]
fn a_long_queue_is_shown_a_page_at_a_time_with_its_counts_and_each_item_knows_its_neighbours() {
    let s = setup(&[("ann", "agent")]);
    for i in 0..205 {
        s.d.drop_file(&format!("memo-{i:03}.txt"), format!("MEMO {i}\nThe coffee machine is broken again.\n").as_bytes());
    }
    s.d.wait_until("205 items", std::time::Duration::from_secs(120), |_| {
        s.as_user("ann", "GET", "/api/v1/exceptions?limit=500", None).json().as_array().unwrap().len() == 205
    });
    let ids: Vec<i64> = s.as_user("ann", "GET", "/api/v1/exceptions?limit=500", None).json().as_array().unwrap()
        .iter().map(|i| i["id"].as_i64().unwrap()).collect();
    // The page as a browser reads its links (the templates escape `/` and `&`).
    let page = |path: &str| s.as_user("ann", "GET", path, None).body.replace("&#x2f;", "/").replace("&amp;", "&");

    let first = page("/queue");
    assert!(first.contains("unrecognised: <b>205</b>"), "every open item is counted, not only this page's: {first}");
    assert!(first.contains("Items 1–200 of 205"), "{first}");
    assert_eq!(first.matches("<tr data-href=").count(), 200);
    assert!(first.contains(r#"<a rel="next" href="/queue?state=open&page=2">"#), "{first}");
    assert!(!first.contains(r#"rel="prev""#));
    let second = page("/queue?state=open&page=2");
    assert!(second.contains("Items 201–205 of 205"), "{second}");
    assert_eq!(second.matches("<tr data-href=").count(), 5);
    assert!(second.contains(&format!(r#"<tr data-href="/items/{}""#, ids[204])));
    assert!(second.contains(r#"<a rel="prev" href="/queue?state=open&page=1">"#), "{second}");
    assert!(!second.contains(r#"rel="next""#));
    let beyond = page("/queue?page=9");
    assert!(beyond.contains("No items on this page: there are 205."), "{beyond}");

    // j/k and "resolve and next" go to the neighbours in the open queue; the last one's next
    // is the first again.
    let neighbours = |id: i64| {
        let body = page(&format!("/items/{id}"));
        let attr = |name: &str| {
            let at = body.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            body[at..].split('"').next().unwrap().to_string()
        };
        (attr("data-prev"), attr("data-next"))
    };
    assert_eq!(neighbours(ids[0]), (String::new(), ids[1].to_string()));
    assert_eq!(neighbours(ids[100]), (ids[99].to_string(), ids[101].to_string()));
    assert_eq!(neighbours(ids[204]), (ids[203].to_string(), ids[0].to_string()));
    // An item another agent resolved is no one's neighbour any more.
    let resolved = s.as_user("ann", "POST", &format!("/api/v1/exceptions/{}/reject", ids[101]), Some(&json!({"reason": "not ours"})));
    assert_eq!(resolved.status, 200, "{resolved:?}");
    assert_eq!(neighbours(ids[100]), (ids[99].to_string(), ids[102].to_string()));
}

/// `/metrics` names bots and mailboxes: it answers on this machine, and elsewhere only to a
/// scraper that sends the token set as `[http] metrics_token`.
#[test]
fn metrics_answer_on_this_machine_or_with_the_token() {
    let d = Daemon::start_with("[http]\ntrusted_proxies = ['127.0.0.0/8', '::1']\nmetrics_token = 'scrape-me-please'\n");
    let addr = d.http().trim_start_matches("http://").to_string();
    let get = |headers: &[(&str, &str)]| call(&addr, "GET", "/metrics", headers, None);
    assert_eq!(get(&[]).status, 200, "a scraper on this machine");
    let remote = ("X-Forwarded-For", "198.51.100.7");
    let refused = get(&[remote]);
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(refused.body.contains("metrics_token") && !refused.body.contains("clerk_"), "{}", refused.body);
    assert_eq!(get(&[remote, ("Authorization", "Bearer wrong")]).status, 401);
    let scraped = get(&[remote, ("Authorization", "Bearer scrape-me-please")]);
    assert_eq!(scraped.status, 200, "{scraped:?}");
    assert!(scraped.body.contains("clerk_"), "{}", scraped.body);
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let d = Daemon::start_with("[http]\nheader_timeout = '1s'\n");
    let addr = d.http().trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: clerk\r\nX-Slow: ").unwrap();
    // Without a deadline the server would wait for the rest for ever; this read would then fail
    // with its own timeout instead of seeing the server close the connection.
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let closed = slow.read_to_end(&mut got);
    assert!(closed.is_ok(), "the server held the connection open: {closed:?}");
    // Others are served meanwhile and after.
    assert_eq!(call(&addr, "GET", "/healthz", &[], None).status, 200);
}

#[test]
fn errors_the_framework_answers_are_problem_documents_and_pages_answer_errors_as_pages() {
    let s = setup(&[("ann", "agent")]);
    let auth = bearer(&s.tokens["ann"]);
    let raw = |content_type: &str, body: &[u8]| {
        let headers = [("Authorization", auth.as_str()), ("Content-Type", content_type)];
        support::api::call_raw(&s.addr, "POST", "/api/v1/me/password", &headers, body)
    };
    let cases = [
        (raw("application/json", b"{not json"), 400, "malformed"),
        (raw("text/plain", b"{}"), 415, "Content-Type: application/json"),
        (raw("application/json", br#"{"current": 1}"#), 422, "does not fit this route"),
        (s.as_user("ann", "PUT", "/api/v1/me", None), 405, "does not take that method"),
    ];
    for (reply, status, says) in cases {
        assert_eq!(reply.status, status, "{reply:?}");
        assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{reply:?}");
        let detail = reply.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains(says) && !detail.contains("Failed to"), "{detail}");
    }

    // An agent's browser asking for the audit page gets a page that says why, not JSON.
    let signed = call(&s.addr, "POST", "/api/v1/session", &[], Some(&json!({"name": "ann", "password": PASSWORD})));
    let cookie = signed.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let page = call(&s.addr, "GET", "/audit", &[("Cookie", &cookie)], None);
    assert_eq!(page.status, 403, "{page:?}");
    assert!(page.header("content-type").unwrap().starts_with("text/html"), "{:?}", page.headers);
    assert!(page.body.contains("this needs the admin role"), "{}", page.body);
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
}
