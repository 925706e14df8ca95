//! legacy-erp: a small HTTP server that behaves like an old ERP, for clerk's bots to run against
//! in the demo and the tests.
//!
//!     legacy-erp --port 8089 --data ./var/erp [--password secret] [--error-rate 0.2] [--slow-ms 500] [--drop-rate 0.1] [--seed 7] [--close-kept-alive]
//!
//! - `POST /soap`, SOAPAction `FindVendor`: `<FindVendor><iban>…</iban></FindVendor>` answers the
//!   vendor's `<VendorId>`, or an empty response for an unknown IBAN; a malformed request or an
//!   unknown action is a real SOAP fault (HTTP 500, `<faultstring>`).
//! - A form-login web app: `GET /login` (a form with a hidden CSRF token), `POST /login`
//!   (sets a session cookie), `GET /invoices/new` (the invoice form, another CSRF token),
//!   `POST /invoices` (needs the session and the token), `GET /invoices/search?number=N`.
//! - `POST /api/invoices` (JSON) honours `Idempotency-Key`: a key seen before gets the first
//!   answer again and nothing is recorded twice. `POST /api/invoice-lines` books a line of one
//!   (`invoice: ID`); `POST /api/invoices/ID/post` posts it when its lines add up to its
//!   `lines_total` (422 with both sums otherwise).
//! - A CSV drop folder `DATA/drop`: `*.csv` files are imported (each row recorded) and moved to
//!   `DATA/imported`.
//! - Fault mode on the business endpoints: slow replies, 500s and dropped connections at set
//!   rates (deterministic for a seed); `POST /_faults` changes them while running.
//! - `--close-kept-alive`: a connection that has answered a request is closed, unanswered, when
//!   the next request arrives on it — what a server whose keep-alive timer fires just as a
//!   client reuses the connection does (Apache and Node.js close idle connections after 5 s).
//! - `GET /_received`: everything accepted, as JSON, so tests can count exactly-once.
//! - `POST /_vendors` adds a vendor; `/_echo` answers with the request as it arrived.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default, Clone, serde::Deserialize, serde::Serialize)]
struct Faults {
    error_rate: f64,
    drop_rate: f64,
    slow_ms: u64,
    #[serde(default)]
    close_kept_alive: bool,
}

#[derive(Default)]
struct Erp {
    password: String,
    vendors: HashMap<String, String>,
    sessions: HashMap<String, String>,
    csrf: HashMap<String, String>,
    received: Vec<Value>,
    idempotent: HashMap<String, Value>,
    next_id: u64,
    faults: Faults,
    rng: u64,
    data: PathBuf,
}

type Shared = Arc<Mutex<Erp>>;

impl Erp {
    fn random(&mut self) -> f64 {
        // xorshift: deterministic for a seed, good enough to spread faults.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 1_000_000) as f64 / 1_000_000.0
    }
    fn token(&mut self) -> String {
        format!("{:016x}", self.random().to_bits() ^ self.rng)
    }
    /// What an earlier run accepted (its journal), so a restarted ERP still knows every record
    /// and answers a key it applied before with that first answer, as a real system would.
    fn reload(&mut self) {
        let journal = std::fs::read_to_string(self.data.join("received.jsonl")).unwrap_or_default();
        for entry in journal.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
            self.next_id += 1;
            if let (Some(key), Some(id)) = (entry["idempotency_key"].as_str(), entry["id"].as_str()) {
                self.idempotent.insert(key.to_string(), json!({ "id": id, "status": "booked" }));
            }
            self.received.push(entry);
        }
    }
    fn record(&mut self, channel: &str, key: Option<&str>, payload: Value) -> String {
        self.next_id += 1;
        let id = format!("ERP-{}", self.next_id);
        let entry = json!({ "id": id, "channel": channel, "idempotency_key": key, "payload": payload });
        // One JSON line per accepted record, appended: the ERP's own journal.
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(self.data.join("received.jsonl"))
        {
            let _ = writeln!(f, "{entry}");
        }
        self.received.push(entry);
        id
    }
}

enum Fault {
    None,
    Error,
    Drop,
}

/// Applies fault mode to a business endpoint: maybe sleep, maybe fail.
async fn fault(erp: &Shared) -> Fault {
    let (slow, roll_err, roll_drop, f) = {
        let mut e = erp.lock().unwrap();
        let (a, b) = (e.random(), e.random());
        (e.faults.slow_ms, a, b, e.faults.clone())
    };
    if slow > 0 {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    if roll_drop < f.drop_rate {
        Fault::Drop
    } else if roll_err < f.error_rate {
        Fault::Error
    } else {
        Fault::None
    }
}

fn faulted(f: Fault) -> Option<Response> {
    match f {
        Fault::None => None,
        Fault::Error => Some((StatusCode::INTERNAL_SERVER_ERROR, "ERP internal error (fault mode)").into_response()),
        // Headers go out, then the body fails: the client sees the connection cut mid-response.
        Fault::Drop => Some(
            Response::builder()
                .status(200)
                .body(Body::from_stream(futures_util::stream::once(async {
                    Err::<Vec<u8>, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "dropped"))
                })))
                .unwrap(),
        ),
    }
}

fn soap_fault(code: &str, text: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

async fn soap(State(erp): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = faulted(fault(&erp).await) {
        return r;
    }
    let action = headers.get("soapaction").and_then(|v| v.to_str().ok()).unwrap_or("").trim_matches('"').to_string();
    if action != "FindVendor" {
        return soap_fault("Client", &format!("Unknown SOAPAction '{action}'"));
    }
    if !body.contains("Envelope") {
        return soap_fault("Client", "Request is not a SOAP envelope");
    }
    let Some(iban) = between(&body, "<iban>", "</iban>") else {
        return soap_fault("Client", "FindVendor needs an <iban>");
    };
    let iban: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    let vendor = erp.lock().unwrap().vendors.get(&iban).cloned();
    let inner = vendor.map(|v| format!("<VendorId>{v}</VendorId>")).unwrap_or_default();
    let body = format!(
        "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><FindVendorResponse>{inner}</FindVendorResponse></soap:Body></soap:Envelope>"
    );
    ([("content-type", "text/xml; charset=utf-8")], body).into_response()
}

fn session(erp: &Erp, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get("cookie")?.to_str().ok()?;
    let sid = cookies.split(';').find_map(|c| c.trim().strip_prefix("erp_session="))?;
    erp.sessions.get(sid).cloned()
}

fn form_page(title: &str, action: &str, token: &str, fields: &[&str]) -> Html<String> {
    let inputs: String = fields.iter().map(|f| format!("<label>{f} <input name=\"{f}\"></label>")).collect();
    Html(format!(
        "<html><head><title>{title}</title></head><body><form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">{inputs}<button>Save</button></form></body></html>"
    ))
}

async fn login_page(State(erp): State<Shared>) -> Html<String> {
    let mut e = erp.lock().unwrap();
    let token = e.token();
    e.csrf.insert(token.clone(), "login".into());
    form_page("ERP login", "/login", &token, &["user", "password"])
}

fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn login(State(erp): State<Shared>, body: String) -> Response {
    if let Some(r) = faulted(fault(&erp).await) {
        return r;
    }
    let form = parse_form(&body);
    let mut e = erp.lock().unwrap();
    let token_ok = form.get("csrf_token").is_some_and(|t| e.csrf.remove(t).is_some());
    if !token_ok {
        return (StatusCode::FORBIDDEN, "CSRF token missing or stale").into_response();
    }
    if form.get("password") != Some(&e.password) {
        return (StatusCode::UNAUTHORIZED, Html("<p class=\"error\">Wrong user or password</p>")).into_response();
    }
    let sid = e.token();
    e.sessions.insert(sid.clone(), form.get("user").cloned().unwrap_or_default());
    ([("set-cookie", format!("erp_session={sid}; Path=/; HttpOnly"))], Html("<p>Welcome</p>")).into_response()
}

async fn invoice_page(State(erp): State<Shared>, headers: HeaderMap) -> Response {
    let mut e = erp.lock().unwrap();
    if session(&e, &headers).is_none() {
        return (StatusCode::FOUND, [("location", "/login")]).into_response();
    }
    let token = e.token();
    e.csrf.insert(token.clone(), "invoice".into());
    form_page("New invoice", "/invoices", &token, &["vendor", "number", "total"]).into_response()
}

async fn invoice_form(State(erp): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = faulted(fault(&erp).await) {
        return r;
    }
    let form = parse_form(&body);
    let mut e = erp.lock().unwrap();
    let Some(user) = session(&e, &headers) else {
        return (StatusCode::FOUND, [("location", "/login")]).into_response();
    };
    if form.get("csrf_token").is_none_or(|t| e.csrf.remove(t).is_none()) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or stale").into_response();
    }
    let mut payload: serde_json::Map<String, Value> =
        form.into_iter().filter(|(k, _)| k != "csrf_token").map(|(k, v)| (k, Value::from(v))).collect();
    payload.insert("entered_by".into(), Value::from(user));
    let id = e.record("form", None, Value::Object(payload));
    Html(format!("<p>Invoice saved as <span id=\"erp-id\">{id}</span></p>")).into_response()
}

/// `GET /invoices/search?number=N` (logged in): the keyed-in invoices with that number, as an
/// HTML table, so a bot can check before keying one in twice.
async fn invoice_search(State(erp): State<Shared>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let e = erp.lock().unwrap();
    if session(&e, &headers).is_none() {
        return (StatusCode::FOUND, [("location", "/login")]).into_response();
    }
    let query = parse_form(uri.query().unwrap_or(""));
    let number = query.get("number").cloned().unwrap_or_default();
    let rows: String = e
        .received
        .iter()
        .filter(|r| r["channel"] == "form" && r["payload"]["number"] == number.as_str())
        .map(|r| {
            format!(
                "<tr><td class=\"id\">{}</td><td class=\"number\">{}</td></tr>",
                r["id"].as_str().unwrap_or(""),
                number
            )
        })
        .collect();
    Html(format!("<html><body><table id=\"results\">{rows}</table></body></html>")).into_response()
}

async fn api_invoice(State(erp): State<Shared>, headers: HeaderMap, body: String) -> Response {
    api_record(erp, headers, body, "api").await
}

/// One line item of an invoice booked through `/api/invoices` (`{"invoice": id, ...}`).
async fn api_invoice_line(State(erp): State<Shared>, headers: HeaderMap, body: String) -> Response {
    api_record(erp, headers, body, "lines").await
}

/// Posts a booked invoice, as an ERP's "post" or "release" does: only when the lines booked for
/// it (`/api/invoice-lines` with `invoice: ID`) add up to its `lines_total`, to the cent. 422 with
/// both sums otherwise; posting twice answers the first posting again.
async fn api_post_invoice(State(erp): State<Shared>, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    use rust_decimal::Decimal;
    let mut e = erp.lock().unwrap();
    let Some(invoice) = e.received.iter().find(|r| r["id"] == id.as_str() && r["channel"] == "api").cloned() else {
        return (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no invoice {id}") }))).into_response();
    };
    if e.received.iter().any(|r| r["channel"] == "posted" && r["payload"]["invoice"] == id.as_str()) {
        return (StatusCode::OK, Json(json!({ "id": id, "status": "posted" }))).into_response();
    }
    let amount = |v: &Value| match v {
        Value::String(s) => s.trim().parse::<Decimal>().ok(),
        Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    };
    let Some(expected) = amount(&invoice["payload"]["lines_total"]) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": "the invoice has no lines_total to check its lines against" })))
            .into_response();
    };
    let lines: Vec<&Value> =
        e.received.iter().filter(|r| r["channel"] == "lines" && r["payload"]["invoice"] == id.as_str()).collect();
    let sum: Option<Decimal> = lines.iter().map(|l| amount(&l["payload"]["amount"])).sum();
    match sum {
        Some(sum) if sum == expected => {
            let n = lines.len();
            e.record("posted", None, json!({ "invoice": id, "lines": n, "lines_total": expected.to_string() }));
            (StatusCode::OK, Json(json!({ "id": id, "status": "posted", "lines": n }))).into_response()
        }
        Some(sum) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": format!("the {} lines sum to {sum}; the invoice's lines_total is {expected}", lines.len()) })),
        )
            .into_response(),
        None => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": "a line's amount is not a number" }))).into_response(),
    }
}

async fn api_record(erp: Shared, headers: HeaderMap, body: String, channel: &str) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    // A retried request with a key already applied gets the first answer, faults or not: the
    // point of the key is that the ERP acted once.
    if let Some(k) = &key {
        if let Some(first) = erp.lock().unwrap().idempotent.get(k).cloned() {
            return (StatusCode::OK, Json(first)).into_response();
        }
    }
    let f = fault(&erp).await;
    let payload: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": format!("invalid JSON: {e}") }))).into_response()
        }
    };
    if matches!(f, Fault::Error) {
        return faulted(f).unwrap();
    }
    let answer = {
        let mut e = erp.lock().unwrap();
        let id = e.record(channel, key.as_deref(), payload);
        let answer = json!({ "id": id, "status": "booked" });
        if let Some(k) = key {
            e.idempotent.insert(k, answer.clone());
        }
        answer
    };
    // A dropped connection after the ERP acted: exactly the case idempotency keys exist for.
    if matches!(f, Fault::Drop) {
        return faulted(Fault::Drop).unwrap();
    }
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn received(State(erp): State<Shared>) -> Json<Value> {
    Json(Value::Array(erp.lock().unwrap().received.clone()))
}

/// Creates a vendor (`{"iban": …, "id": …}`), as an agent would in the ERP's own screens.
async fn add_vendor(State(erp): State<Shared>, Json(v): Json<Value>) -> Json<Value> {
    let (iban, id) = (v["iban"].as_str().unwrap_or(""), v["id"].as_str().unwrap_or(""));
    erp.lock().unwrap().vendors.insert(iban.replace(' ', ""), id.to_string());
    Json(v)
}

/// Answers with the request exactly as it arrived (method, raw query, headers, body), so tests
/// can see what a bot sent byte for byte.
async fn echo(method: axum::http::Method, uri: axum::http::Uri, headers: HeaderMap, body: String) -> Json<Value> {
    let headers: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| (k.as_str().to_string(), Value::from(v.to_str().unwrap_or("")))).collect();
    Json(
        json!({ "method": method.as_str(), "path": uri.path(), "query": uri.query(), "headers": headers, "body": body }),
    )
}

async fn set_faults(State(erp): State<Shared>, Json(f): Json<Faults>) -> Json<Faults> {
    erp.lock().unwrap().faults = f.clone();
    Json(f)
}

/// Imports CSV files dropped into DATA/drop (header row, then one invoice a row).
async fn csv_importer(erp: Shared, data: PathBuf) {
    let (drop, done) = (data.join("drop"), data.join("imported"));
    let _ = std::fs::create_dir_all(&drop);
    let _ = std::fs::create_dir_all(&done);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(entries) = std::fs::read_dir(&drop) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "csv") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let header: Vec<&str> = lines.next().unwrap_or("").split(',').map(str::trim).collect();
            for line in lines {
                let row: serde_json::Map<String, Value> =
                    header.iter().zip(line.split(',')).map(|(k, v)| (k.to_string(), Value::from(v.trim()))).collect();
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                erp.lock().unwrap().record("csv", Some(&file), Value::Object(row));
            }
            let _ = std::fs::rename(&path, done.join(path.file_name().unwrap()));
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port").and_then(|p| p.parse().ok()).unwrap_or(8089);
    let data = PathBuf::from(arg(&args, "--data").unwrap_or_else(|| "var/legacy-erp".into()));
    std::fs::create_dir_all(&data).expect("creating the data folder");
    let rate = |n: &str| arg(&args, n).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let erp = Erp {
        password: arg(&args, "--password").unwrap_or_else(|| "secret".into()),
        vendors: [("DE89370400440532013000", "V-1001"), ("GB29NWBK60161331926819", "V-1002")]
            .into_iter()
            .map(|(i, v)| (i.to_string(), v.to_string()))
            .collect(),
        faults: Faults {
            error_rate: rate("--error-rate"),
            drop_rate: rate("--drop-rate"),
            slow_ms: arg(&args, "--slow-ms").and_then(|v| v.parse().ok()).unwrap_or(0),
            close_kept_alive: args.iter().any(|a| a == "--close-kept-alive"),
        },
        rng: arg(&args, "--seed").and_then(|v| v.parse().ok()).unwrap_or(0x9e3779b97f4a7c15) | 1,
        data: data.clone(),
        ..Erp::default()
    };
    let mut erp = erp;
    erp.reload();
    let shared: Shared = Arc::new(Mutex::new(erp));
    tokio::spawn(csv_importer(shared.clone(), data));
    let app = Router::new()
        .route("/soap", post(soap))
        .route("/login", get(login_page).post(login))
        .route("/invoices/new", get(invoice_page))
        .route("/invoices", post(invoice_form))
        .route("/invoices/search", get(invoice_search))
        .route("/api/invoices", post(api_invoice))
        .route("/api/invoice-lines", post(api_invoice_line))
        .route("/api/invoices/{id}/post", post(api_post_invoice))
        .route("/_received", get(received))
        .route("/_faults", post(set_faults))
        .route("/_vendors", post(add_vendor))
        .route("/_echo", axum::routing::any(echo))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("binding the port");
    println!("legacy-erp listening on http://{}", listener.local_addr().unwrap());
    serve(listener, app, shared).await;
}

/// HTTP/1.1 with keep-alive, one task per connection; each connection counts the requests it
/// answered, for `--close-kept-alive`.
async fn serve(listener: tokio::net::TcpListener, app: Router, erp: Shared) {
    use std::sync::atomic::{AtomicU64, Ordering};
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (app, erp) = (hyper_util::service::TowerToHyperService::new(app.clone()), erp.clone());
        tokio::spawn(async move {
            let answered = Arc::new(AtomicU64::new(0));
            let service = hyper::service::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
                let reused = answered.fetch_add(1, Ordering::SeqCst) > 0;
                let close = reused && erp.lock().unwrap().faults.close_kept_alive;
                let answer = (!close).then(|| hyper::service::Service::call(&app, req));
                async move {
                    match answer {
                        // An error from the service closes the connection without an answer.
                        None => Err::<Response, std::io::Error>(std::io::Error::other("kept-alive connection closed")),
                        Some(a) => Ok(a.await.unwrap_or_else(|never| match never {})),
                    }
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}
