//! A real headless Chromium driven over the W3C WebDriver protocol (Debian's `chromium` and
//! `chromium-driver`), spoken directly with the suite's own HTTP client: what fantoccini or
//! thirtyfour would send, without their dependency tree.

use super::api::{call, Reply};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

/// A found element's WebDriver reference.
pub struct Element(Value);

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Whether the browser is installed (tests/run.sh installs it; a test without it is skipped,
/// and fails under CI=true).
pub fn available() -> bool {
    let here = std::path::Path::new("/usr/bin/chromedriver").exists() && std::path::Path::new("/usr/bin/chromium").exists();
    if !here && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromium and chromium-driver are not installed (tests/run.sh installs them)");
    }
    here
}

impl Browser {
    pub fn start() -> Browser {
        // Port 0: chromedriver binds a port no other test can take first, and says which.
        let mut driver = Command::new("/usr/bin/chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let mut out = std::io::BufReader::new(driver.stdout.take().unwrap());
        let mut port = None;
        let mut said = String::new();
        while port.is_none() {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut out, &mut line).unwrap() == 0 {
                panic!("chromedriver did not start: {said}");
            }
            // "ChromeDriver was started successfully on port 41533."
            port = line.trim().strip_suffix('.').and_then(|l| l.rsplit(' ').next()).and_then(|p| p.parse::<u16>().ok())
                .filter(|_| line.contains("started successfully"));
            said.push_str(&line);
        }
        // Whatever it prints later is read and dropped, so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = format!("127.0.0.1:{}", port.unwrap());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]
            }
        }}});
        let r = call(&addr, "POST", "/session", &[], Some(&caps));
        assert_eq!(r.status, 200, "a browser session: {r:?}");
        let session = r.json()["value"]["sessionId"].as_str().unwrap().to_string();
        Browser { driver, addr, session }
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let path = format!("/session/{}{path}", self.session);
        let body = body.cloned().or_else(|| (method == "POST").then(|| json!({})));
        call(&self.addr, method, &path, &[], body.as_ref())
    }

    fn value(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let r = self.send(method, path, body);
        assert_eq!(r.status, 200, "{method} {path}: {r:?}");
        r.json()["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.value("POST", "/url", Some(&json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.value("GET", "/url", None).as_str().unwrap().to_string()
    }

    /// The first element matching a CSS selector, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.send("POST", "/element", Some(&json!({"using": "css selector", "value": css})));
            if r.status == 200 {
                return Element(r.json()["value"].clone());
            }
            assert!(Instant::now() < deadline, "no element {css} on {}: {}", self.url(), self.text("body"));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn all(&self, css: &str) -> Vec<Element> {
        let v = self.value("POST", "/elements", Some(&json!({"using": "css selector", "value": css})));
        v.as_array().unwrap().iter().cloned().map(Element).collect()
    }

    fn id(e: &Element) -> String {
        e.0[ELEMENT].as_str().unwrap_or_else(|| panic!("not an element: {}", e.0)).to_string()
    }

    pub fn click(&self, e: &Element) {
        self.value("POST", &format!("/element/{}/click", Browser::id(e)), None);
    }

    /// Types into an element as a keyboard would (`\u{E007}` is Enter).
    pub fn type_into(&self, e: &Element, text: &str) {
        self.value("POST", &format!("/element/{}/value", Browser::id(e)), Some(&json!({ "text": text })));
    }

    pub fn clear(&self, e: &Element) {
        self.value("POST", &format!("/element/{}/clear", Browser::id(e)), None);
    }

    /// Presses keys on the page itself (the shortcuts), not in a field.
    pub fn press(&self, keys: &str) {
        let mut actions = vec![];
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.value("POST", "/actions", Some(&json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})));
    }

    pub fn text(&self, css: &str) -> String {
        let r = self.send("POST", "/element", Some(&json!({"using": "css selector", "value": css})));
        if r.status != 200 {
            return String::new();
        }
        let e = Element(r.json()["value"].clone());
        self.value("GET", &format!("/element/{}/text", Browser::id(&e)), None).as_str().unwrap_or("").to_string()
    }

    pub fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.value("GET", &format!("/element/{}/attribute/{name}", Browser::id(e)), None).as_str().map(str::to_string)
    }

    /// Runs a script in the page (`arguments` empty); for async work, return a Promise.
    pub fn script(&self, source: &str) -> Value {
        self.value("POST", "/execute/sync", Some(&json!({ "script": source, "args": [] })))
    }

    pub fn wait_for(&self, what: &str, mut done: impl FnMut(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what} on {}: {}", self.url(), self.text("body"));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn screenshot(&self, path: &std::path::Path) {
        use std::io::Write;
        let b64 = self.value("GET", "/screenshot", None);
        let bytes = base64_decode(b64.as_str().unwrap());
        std::fs::File::create(path).unwrap().write_all(&bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.send("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !matches!(c, b'=' | b'\n' | b'\r')).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, c)| n | (value(*c) as u32) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}
