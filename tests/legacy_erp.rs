//! The legacy-ERP simulator that bots run against behaves like the old system it stands for.

mod support;

use std::time::{Duration, Instant};
use support::erp::{dechunk, start, Reply};

fn soap(iban: &str) -> String {
    format!("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><FindVendor><iban>{iban}</iban></FindVendor></soap:Body></soap:Envelope>")
}

#[test]
fn soap_vendor_lookup_with_real_faults() {
    let erp = start(&[]);
    let known = erp
        .request("POST", "/soap", &[("SOAPAction", "\"FindVendor\"")], &soap("DE89 3704 0044 0532 0130 00"))
        .unwrap();
    assert_eq!(known.status, 200);
    assert!(known.body.contains("<VendorId>V-1001</VendorId>"), "{}", known.body);
    let unknown =
        erp.request("POST", "/soap", &[("SOAPAction", "FindVendor")], &soap("FR7630006000011234567890189")).unwrap();
    assert!(!unknown.body.contains("VendorId"));
    let fault = erp.request("POST", "/soap", &[("SOAPAction", "DeleteEverything")], &soap("x")).unwrap();
    assert_eq!(fault.status, 500);
    assert!(fault.body.contains("<faultstring>Unknown SOAPAction 'DeleteEverything'</faultstring>"), "{}", fault.body);
}

fn hidden_token(html: &str) -> String {
    let at = html.find("name=\"csrf_token\" value=\"").expect("a CSRF field") + "name=\"csrf_token\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[test]
fn form_login_with_session_cookie_and_csrf_tokens() {
    let erp = start(&["--password", "pw"]);
    let page = erp.request("GET", "/login", &[], "").unwrap();
    let token = hidden_token(&page.body);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let bad = erp.request("POST", "/login", &form, &format!("csrf_token={token}&user=clerk&password=nope")).unwrap();
    assert_eq!(bad.status, 401);
    let stale = erp.request("POST", "/login", &form, &format!("csrf_token={token}&user=clerk&password=pw")).unwrap();
    assert_eq!(stale.status, 403, "a token is good for one submission");
    let token = hidden_token(&erp.request("GET", "/login", &[], "").unwrap().body);
    let ok = erp.request("POST", "/login", &form, &format!("csrf_token={token}&user=clerk&password=pw")).unwrap();
    assert_eq!(ok.status, 200);
    let cookie =
        ok.head.lines().find_map(|l| l.strip_prefix("set-cookie: ")).unwrap().split(';').next().unwrap().to_string();
    let no_session = erp.request("GET", "/invoices/new", &[], "").unwrap();
    assert_eq!(no_session.status, 302);
    let new = erp.request("GET", "/invoices/new", &[("Cookie", &cookie)], "").unwrap();
    let token = hidden_token(&new.body);
    let with = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie.as_str())];
    let saved = erp
        .request("POST", "/invoices", &with, &format!("csrf_token={token}&vendor=V-1001&number=INV%2F42&total=509.76"))
        .unwrap();
    assert!(saved.body.contains("Invoice saved as"), "{}", saved.body);
    let got = erp.received();
    assert_eq!(got[0]["channel"], "form");
    assert_eq!(got[0]["payload"]["number"], "INV/42");
    assert_eq!(got[0]["payload"]["entered_by"], "clerk");
}

#[test]
fn the_json_endpoint_applies_a_request_once_per_idempotency_key() {
    let erp = start(&[]);
    let h = [("Content-Type", "application/json"), ("Idempotency-Key", "run-7-step-4")];
    let first = erp.request("POST", "/api/invoices", &h, r#"{"number":"INV-1","total":"509.76"}"#).unwrap();
    let again = erp.request("POST", "/api/invoices", &h, r#"{"number":"INV-1","total":"509.76"}"#).unwrap();
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 200);
    let id = |r: &Reply| {
        serde_json::from_str::<serde_json::Value>(dechunk(&r.body).as_str())
            .or_else(|_| serde_json::from_str(&r.body))
            .unwrap()["id"]
            .clone()
    };
    assert_eq!(id(&first), id(&again));
    let other =
        erp.request("POST", "/api/invoices", &[("Idempotency-Key", "run-8-step-4")], r#"{"number":"INV-2"}"#).unwrap();
    assert_eq!(other.status, 201);
    assert_eq!(erp.received().as_array().unwrap().len(), 2);
}

#[test]
fn csv_files_dropped_in_the_folder_are_imported() {
    let erp = start(&[]);
    let drop = erp.data.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(drop.join("batch.tmp"), "number,total\nINV-1,10.00\nINV-2,20.00\n").unwrap();
    std::fs::rename(drop.join("batch.tmp"), drop.join("batch.csv")).unwrap();
    let start = Instant::now();
    while erp.received().as_array().unwrap().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "CSV not imported");
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = erp.received();
    assert_eq!(got[1]["payload"]["total"], "20.00");
    assert!(erp.data.path().join("imported/batch.csv").exists());
}

#[test]
fn fault_mode_gives_500s_and_dropped_connections() {
    let erp = start(&["--error-rate", "1"]);
    let r = erp.request("POST", "/api/invoices", &[("Idempotency-Key", "a")], "{}").unwrap();
    assert_eq!(r.status, 500);
    erp.set_faults(0.0, 1.0, 0);
    let dropped = erp.request("POST", "/api/invoices", &[("Idempotency-Key", "b")], r#"{"n":1}"#);
    assert!(dropped.is_err(), "the connection should break mid-response");
    // The ERP acted before the connection dropped; a retry with the same key gets that answer.
    erp.set_faults(0.0, 0.0, 0);
    let retry = erp.request("POST", "/api/invoices", &[("Idempotency-Key", "b")], r#"{"n":1}"#).unwrap();
    assert_eq!(retry.status, 200);
    assert_eq!(erp.received().as_array().unwrap().len(), 1);
}
