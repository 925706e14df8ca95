//! The legacy-ERP simulator (samples/legacy-erp) on a free loopback port, with a raw HTTP client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    // The port is free when picked but may be taken before the simulator binds it (tests start
    // servers side by side): a simulator that could not bind has exited; pick another port.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = spawn(port, data.path(), &args);
        std::thread::sleep(Duration::from_millis(100));
        if matches!(child.try_wait(), Ok(None)) {
            return Erp { child, port, data, args };
        }
    }
    panic!("the simulator could not bind a port five times");
}

fn spawn(port: u16, data: &std::path::Path, extra: &[String]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_legacy-erp"))
        .args(["--port", &port.to_string(), "--data"])
        .arg(data)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "simulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
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
        self.child = spawn(self.port, self.data.path(), &self.args);
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
