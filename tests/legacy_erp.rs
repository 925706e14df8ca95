//! The legacy-ERP simulator that bots run against behaves like the old system it stands for.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Erp {
    child: Child,
    port: u16,
    data: tempfile::TempDir,
}

impl Drop for Erp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(extra: &[&str]) -> Erp {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_legacy-erp"))
        .args(["--port", &port.to_string(), "--data"])
        .arg(data.path())
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "simulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Erp { child, port, data }
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Erp {
    /// One HTTP/1.1 request over a fresh connection; `Err` when the connection breaks mid-reply.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Reply, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").ok_or("no response head")?;
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no status")?;
        let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        if chunked && !body.ends_with("0\r\n\r\n") {
            return Err("connection closed mid-response".into());
        }
        Ok(Reply { status, head: head.to_string(), body: body.to_string() })
    }

    fn received(&self) -> serde_json::Value {
        let r = self.request("GET", "/_received", &[], "").unwrap();
        let json = r.body.trim();
        serde_json::from_str(json).unwrap_or_else(|_| serde_json::from_str(dechunk(json).as_str()).unwrap())
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

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
    erp.request(
        "POST",
        "/_faults",
        &[("Content-Type", "application/json")],
        r#"{"error_rate":0,"drop_rate":1,"slow_ms":0}"#,
    )
    .unwrap();
    let dropped = erp.request("POST", "/api/invoices", &[("Idempotency-Key", "b")], r#"{"n":1}"#);
    assert!(dropped.is_err(), "the connection should break mid-response");
    // The ERP acted before the connection dropped; a retry with the same key gets that answer.
    erp.request(
        "POST",
        "/_faults",
        &[("Content-Type", "application/json")],
        r#"{"error_rate":0,"drop_rate":0,"slow_ms":0}"#,
    )
    .unwrap();
    let retry = erp.request("POST", "/api/invoices", &[("Idempotency-Key", "b")], r#"{"n":1}"#).unwrap();
    assert_eq!(retry.status, 200);
    assert_eq!(erp.received().as_array().unwrap().len(), 1);
}
