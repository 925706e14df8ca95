//! The legacy-ERP simulator (samples/legacy-erp) on a free loopback port, with a raw HTTP client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Erp {
    child: Child,
    pub port: u16,
    pub data: tempfile::TempDir,
    args: Vec<String>,
}

impl Drop for Erp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(extra: &[&str]) -> Erp {
    let data = tempfile::tempdir().unwrap();
    let args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    // Port 0: the simulator binds a port no other test can take first, and says which.
    let (child, port) = spawn(0, data.path(), &args);
    Erp { child, port, data, args }
}

/// Starts the simulator on `port` (0: any free one) and waits until it listens; returns the port
/// it announced.
fn spawn(port: u16, data: &std::path::Path, extra: &[String]) -> (Child, u16) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_legacy-erp"))
        .args(["--port", &port.to_string(), "--data"])
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // "legacy-erp listening on http://127.0.0.1:PORT", printed once it is bound (end of file if it
    // could not bind: it exits).
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let bound = line.trim().rsplit(':').next().and_then(|p| p.parse().ok());
    let Some(bound) = bound else {
        let _ = child.kill();
        panic!("the simulator did not start on port {port}: {line:?}");
    };
    // Whatever it prints later is read and dropped, so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, bound)
}

pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Erp {
    /// Takes the ERP down: connections are refused until `restart`.
    pub fn down(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and data (it reloads what it accepted before).
    pub fn restart(&mut self) {
        self.down();
        self.child = spawn(self.port, self.data.path(), &self.args).0;
    }

    /// One HTTP/1.1 request over a fresh connection; `Err` when the connection breaks mid-reply.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Reply, String> {
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

    pub fn received(&self) -> serde_json::Value {
        let r = self.request("GET", "/_received", &[], "").unwrap();
        let json = r.body.trim();
        serde_json::from_str(json).unwrap_or_else(|_| serde_json::from_str(dechunk(json).as_str()).unwrap())
    }
}

pub fn dechunk(body: &str) -> String {
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

impl Erp {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes fault mode while the ERP runs (`POST /_faults`).
    pub fn set_faults(&self, error_rate: f64, drop_rate: f64, slow_ms: u64) {
        let body = format!(r#"{{"error_rate":{error_rate},"drop_rate":{drop_rate},"slow_ms":{slow_ms}}}"#);
        let r = self.request("POST", "/_faults", &[("Content-Type", "application/json")], &body).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// What the ERP accepted through one channel (`api`, `form`, `csv`).
    pub fn received_on(&self, channel: &str) -> Vec<serde_json::Value> {
        self.received().as_array().unwrap().iter().filter(|r| r["channel"] == channel).cloned().collect()
    }
}
