//! `cargo bench --bench mail` — mail intake from a real Dovecot on loopback:
//!   1. messages with one PDF attachment taken per second (each stored as a document, the message
//!      marked seen), against a bare IMAP client fetching the same messages in the same run;
//!   2. append → document stored latency with IDLE, p50 and p95.

#[path = "../support/dovecot.rs"]
#[allow(dead_code)]
mod dovecot;

use clerk::store::Store;
use futures_util::StreamExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn message(n: usize, pdf: &[u8]) -> Vec<u8> {
    let mut pdf = pdf.to_vec();
    pdf.extend(format!("\n%message {n}\n").as_bytes());
    let b64 = clerk::bots::redact::base64(&pdf);
    let b64: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!(
        "From: billing@acme.example\r\nTo: ap@clerk.example\r\nSubject: Invoice {n}\r\nMessage-ID: <{n}@bench>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nattached\r\n--B\r\nContent-Type: application/pdf; name=\"inv-{n}.pdf\"\r\nContent-Disposition: attachment; filename=\"inv-{n}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        b64.join("\r\n")
    )
    .into_bytes()
}

fn append_all(dv: &dovecot::Dovecot, messages: &[Vec<u8>]) {
    for chunk in messages.chunks(50) {
        let cmds: Vec<Vec<u8>> = chunk
            .iter()
            .map(|m| {
                let mut c = format!("APPEND INBOX {{{}+}}\r\n", m.len()).into_bytes();
                c.extend(m);
                c
            })
            .collect();
        dv.session(&cmds);
    }
}

fn start_clerk(dir: &Path, port: u16) -> Proc {
    std::fs::create_dir_all(dir.join("defs")).unwrap();
    std::fs::write(
        dir.join("clerk.toml"),
        format!(
            "data = 'var'\ndefinitions = 'defs'\ninbox = ['inbox']\n[mail]\npoll_interval = '1s'\n[[mail.imap]]\nname = 'ap'\nhost = '127.0.0.1'\nport = {port}\ntls = 'plain'\nuser = 'clerk'\npassword_secret = 'MAIL'\n[[mail.rules]]\nname = 'invoices'\nattachment = ['*.pdf']\n"
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("serve")
        .current_dir(dir)
        .env("CLERK_SECRET_MAIL", dovecot::PASSWORD)
        .env("CLERK_LOG", "warn")
        .env("CLERK_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

async fn taken(store: &Store) -> i64 {
    store.mail_messages_taken().await.unwrap_or(0)
}

async fn open_store(dir: &Path) -> Store {
    loop {
        if dir.join("var/clerk.db").exists() {
            if let Ok(s) = Store::open(&dir.join("var")).await {
                return s;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The baseline: the same messages fetched by a plain IMAP client, bodies read and dropped.
async fn bare_fetch(port: u16, n: usize) -> Duration {
    let start = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    let mut s = client.login(dovecot::USER, dovecot::PASSWORD).await.map_err(|(e, _)| e).unwrap();
    s.examine("INBOX").await.unwrap();
    let mut got = 0;
    for from in (1..=n).step_by(50) {
        let set = format!("{from}:{}", (from + 49).min(n));
        let mut f = s.uid_fetch(&set, "(UID BODY.PEEK[])").await.unwrap();
        while let Some(m) = f.next().await {
            got += m.unwrap().body().map_or(0, |b| b.len().min(1));
        }
    }
    assert_eq!(got, n);
    start.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |n: &str| args.is_empty() || args.iter().any(|a| a == n);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pdf = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/invoice-acme.pdf")).unwrap();
    if run("1") {
        let n = 300;
        let dv = dovecot::start();
        let messages: Vec<Vec<u8>> = (0..n).map(|i| message(i, &pdf)).collect();
        append_all(&dv, &messages);
        let bare = rt.block_on(bare_fetch(dv.port, n));
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let _clerk = start_clerk(dir.path(), dv.port);
        let took = rt.block_on(async {
            let store = open_store(dir.path()).await;
            while (taken(&store).await as usize) < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            start.elapsed()
        });
        println!("1. {n} messages with one PDF attachment (~{} KB each) from Dovecot:", messages[0].len() / 1024);
        println!("   bare IMAP fetch          {:>6.0} messages/s", n as f64 / bare.as_secs_f64());
        println!(
            "   clerk (start-up included) {:>6.0} messages/s = {:.2}x (each stored as a document, marked seen)",
            n as f64 / took.as_secs_f64(),
            bare.as_secs_f64() / took.as_secs_f64()
        );
    }
    if run("2") {
        let dv = dovecot::start();
        let dir = tempfile::tempdir().unwrap();
        let _clerk = start_clerk(dir.path(), dv.port);
        let mut lat = rt.block_on(async {
            let store = open_store(dir.path()).await;
            // Connected and idling.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut lat = vec![];
            let mut appended = vec![];
            for i in 0..40 {
                let m = message(1000 + i, &pdf);
                let before = taken(&store).await;
                let t = Instant::now();
                append_all(&dv, &[m]);
                appended.push(t.elapsed().as_secs_f64() * 1000.0);
                while taken(&store).await == before {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            appended.sort_by(f64::total_cmp);
            eprintln!("   (the APPEND round trip alone: p50 {:.1} ms)", appended[appended.len() / 2]);
            lat
        });
        lat.sort_by(f64::total_cmp);
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
        println!("2. append → documents stored, with IDLE, {} messages one at a time:", lat.len());
        println!(
            "   p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (the APPEND itself included)",
            p(0.5),
            p(0.95),
            lat[lat.len() - 1]
        );
    }
}
