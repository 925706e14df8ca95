//! A real Dovecot (Debian's dovecot-imapd) on a free loopback port, with one user
//! (`clerk` / `secret`) whose mail is in a temporary folder; and a raw IMAP client for tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "clerk";
pub const PASSWORD: &str = "secret";

pub struct Dovecot {
    child: Option<Child>,
    pub port: u16,
    /// Implicit TLS port (only with `start_with_tls`); the plain port then offers STARTTLS.
    pub tls_port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn start() -> Dovecot {
    start_with(false)
}

/// With a certificate for 127.0.0.1 from a test CA (`ca()` is the CA's PEM): implicit TLS on
/// `tls_port`, STARTTLS on `port`.
pub fn start_with_tls() -> Dovecot {
    start_with(true)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_with(tls: bool) -> Dovecot {
    let dir = tempfile::tempdir().unwrap();
    let (port, tls_port) = (free_port(), if tls { free_port() } else { 0 });
    let d = dir.path();
    let ssl = if tls {
        // A CA, and a server certificate for 127.0.0.1 it signed (a CA certificate cannot serve
        // as the server's own).
        let openssl = |args: &[&str]| {
            let ok = Command::new("openssl").args(args).current_dir(d).stderr(Stdio::null()).status().unwrap();
            assert!(ok.success(), "openssl {args:?} failed");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=clerk test CA",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ]);
        std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ]);
        format!("ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n", d = d.display())
    } else {
        "ssl = no\n".to_string()
    };
    // Dovecot's processes run as its own users and must reach the mail folder.
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(d.join("home")).unwrap();
    Command::new("chown").args(["-R", "dovecot:dovecot"]).arg(d.join("home")).status().unwrap();
    std::fs::write(d.join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
    std::fs::write(
        d.join("dovecot.conf"),
        format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             {ssl}disable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:~/Maildir\n\
             first_valid_uid = 100\ndefault_internal_user = dovecot\ndefault_login_user = dovenull\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n  }}\n}}\n",
            d = d.display()
        ),
    )
    .unwrap();
    let mut dv = Dovecot { child: None, port, tls_port, dir };
    dv.spawn();
    dv
}

impl Dovecot {
    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.dir.path().join("run/master.pid"));
        let child = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(self.dir.path().join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dovecot (apt-get install dovecot-imapd)");
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(15), "dovecot did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
            // Its children (login and mail processes) go with the master; wait for the port.
            let start = Instant::now();
            while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("home").join(USER).join("Maildir")
    }

    /// Makes the server renumber INBOX (a new UIDVALIDITY), as after a mailbox rebuild.
    pub fn renumber_inbox(&mut self) {
        self.stop();
        std::fs::remove_file(self.maildir().join("dovecot-uidlist")).unwrap();
        self.spawn();
    }

    /// Logs in, runs `commands` (tagged in order), logs out; returns everything the server said.
    pub fn session(&self, commands: &[Vec<u8>]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        // Log in first: before login the server accepts only a small input buffer.
        s.write_all(format!("a0 LOGIN {USER} {PASSWORD}\r\n").as_bytes()).unwrap();
        let mut greeting = String::new();
        let mut byte = [0u8; 1];
        while !greeting.contains("a0 ") || !greeting.ends_with("\r\n") {
            if s.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            greeting.push(byte[0] as char);
        }
        assert!(greeting.contains("a0 OK"), "login failed: {greeting}");
        let mut out = vec![];
        for (i, c) in commands.iter().enumerate() {
            out.extend(format!("a{} ", i + 1).as_bytes());
            out.extend(c);
            out.extend(b"\r\n");
        }
        out.extend(b"zz LOGOUT\r\n");
        s.write_all(&out).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    }

    /// Appends a message (LITERAL+: no round trip).
    pub fn append(&self, folder: &str, raw: &[u8]) {
        let mut cmd = format!("APPEND {folder} {{{}+}}\r\n", raw.len()).into_bytes();
        cmd.extend(raw);
        let answer = self.session(&[cmd]);
        assert!(answer.contains("a1 OK"), "APPEND failed: {answer}");
    }

    /// (UID, flags) of every message in `folder`.
    pub fn messages(&self, folder: &str) -> Vec<(u32, String)> {
        let answer = self.session(&[format!("SELECT {folder}").into_bytes(), b"UID FETCH 1:* (FLAGS)".to_vec()]);
        answer
            .lines()
            .filter(|l| l.starts_with("* ") && l.contains(" FETCH "))
            .filter_map(|l| {
                let uid = l.split("UID ").nth(1)?.split([' ', ')']).next()?.parse().ok()?;
                let flags = l.split("FLAGS (").nth(1)?.split(')').next()?.to_string();
                Some((uid, flags))
            })
            .collect()
    }
}
