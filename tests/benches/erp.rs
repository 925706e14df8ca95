//! Shared by the benchmarks: the legacy-ERP simulator on a free loopback port, and a child
//! process killed with its handle.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The simulator on `dir` with `extra` flags; its process and base URL.
pub fn start_erp(dir: &Path, extra: &[&str]) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_legacy-erp"))
        .args(["--port", &port.to_string(), "--data"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    (Proc(child), format!("http://127.0.0.1:{port}"))
}
