//! Settings: defaults that work with no file at all (run from the repository root: definitions in
//! `./bots`, intake `./inbox`, data `./var`), an optional `clerk.toml`, then environment variables
//! and command-line flags on top.

pub mod mail_rules;

use crate::read::pool::ReaderSettings;
use crate::read::Limits;
use anyhow::Context;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The daemon's own folder: the SQLite database and the blob store by default.
    pub data: PathBuf,
    /// The store's URL: `postgres://…` for several daemons sharing the work, or `sqlite://FILE`
    /// (default: SQLite in `data`).
    pub store: Option<String>,
    /// Blobs in this folder (shared storage) instead of in the store's database (PostgreSQL) or
    /// `data` (SQLite).
    pub blobs: Option<PathBuf>,
    /// Definition files (document types).
    pub definitions: PathBuf,
    /// Folders watched for new documents.
    pub inbox: Vec<PathBuf>,
    /// Concurrent pipeline workers (0 = two per core, four with PostgreSQL: OCR waits must not
    /// stall text PDFs, and on PostgreSQL a worker spends most of a text document waiting on
    /// round trips; OCR itself is bounded by the readers).
    pub workers: usize,
    /// `NAME=value` lines for bots' secrets; must be readable by its owner only.
    pub secrets_file: Option<PathBuf>,
    /// Bot runs executing at once, across all bots (each bot also has its own `concurrency`).
    /// Runs mostly wait on legacy systems, so this is far above the core count.
    pub max_runs: usize,
    pub intake: IntakeSettings,
    pub mail: MailSettings,
    pub ocr: OcrSettings,
    pub readers: ReadersSettings,
    pub limits: LimitSettings,
    pub http: HttpSettings,
    pub queue: QueueSettings,
    pub retention: RetentionSettings,
    /// How scanned batches are split into documents; none when absent. `clerk split FILE`
    /// shows what a rule makes of a batch.
    pub split: SplitSettings,
    /// The file these settings were read from (none: defaults and environment only).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// Where the settings are looked for when none is named (`--config`, `CLERK_CONFIG`): the
/// current folder's, then the installed package's.
pub const SETTINGS_FILES: [&str; 2] = ["clerk.toml", "/etc/clerk/clerk.toml"];

/// `[split]`: a rule for every inbox and mailbox, and `[split.sources]` per inbox folder (by its
/// path) or mail account (by its name), which replaces it there:
///
/// ```toml
/// [split]
/// at = ["patch-t"]
/// [split.sources]
/// "/srv/scans/mailroom" = { at = ["asn:ASN"], drop_blank = true }
/// "accounts" = { at = [] }   # a mailbox whose files are never split
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitSettings {
    pub at: Vec<crate::split::Separator>,
    pub keep_separators: bool,
    pub drop_blank: bool,
    pub blank_ink: Option<f32>,
    pub sources: std::collections::BTreeMap<String, crate::split::Rule>,
}

impl SplitSettings {
    /// Whether any source's batches are split (else the daemon need not ask where a file came from).
    pub fn is_configured(&self) -> bool {
        !self.at.is_empty() || self.drop_blank || !self.sources.is_empty()
    }

    /// The rule for documents from `source` (`folder:PATH`, `mail:ACCOUNT`); `None` when they
    /// are not split (no separator and blank pages kept).
    pub fn rule_for(&self, source: &str) -> Option<crate::split::Rule> {
        let key = source.strip_prefix("folder:").or_else(|| source.strip_prefix("mail:")).unwrap_or(source);
        let rule = match self.sources.get(key) {
            Some(r) => r.clone(),
            None => crate::split::Rule {
                at: self.at.clone(),
                keep_separators: self.keep_separators,
                drop_blank: self.drop_blank,
                blank_ink: self.blank_ink.unwrap_or(crate::split::Rule::new(vec![]).blank_ink),
            },
        };
        (!rule.at.is_empty() || rule.drop_blank).then_some(rule)
    }
}

/// The daemon's HTTP listener: the web app, the API, `/metrics`, `/healthz`, `/readyz`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// `HOST:PORT` (port 0: any free port, written to the log).
    pub listen: String,
    /// Reverse proxies (addresses or networks, `10.0.0.0/8`) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed. Without them the client is the connection's peer and the
    /// headers are ignored: anyone could write them.
    pub trusted_proxies: Vec<Network>,
    /// What a scraper from another machine sends as `Authorization: Bearer …` for `/metrics`,
    /// which names bots and mailboxes; without it `/metrics` answers only on this machine.
    pub metrics_token: Option<String>,
    /// How long a client may take to send a request's headers (a slow or silent client would
    /// otherwise hold a connection, and a task, for ever).
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: "127.0.0.1:7420".into(),
            trusted_proxies: vec![],
            metrics_token: None,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// An address or a network in CIDR notation (`192.168.0.0/16`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        // An IPv4 client seen through an IPv6 socket is written ::ffff:a.b.c.d.
        let ip = match ip {
            V6(v6) => v6.to_ipv4_mapped().map(V4).unwrap_or(ip),
            v4 => v4,
        };
        let keep = |bits: u32| if self.prefix == 0 { 0 } else { u128::MAX << (bits - u32::from(self.prefix)) };
        match (self.addr, ip) {
            (V4(net), V4(ip)) => {
                let mask = keep(32) as u32;
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (V6(net), V6(ip)) => {
                let mask = keep(128);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        let bad = || format!("`{s}` is not an address or a network like 10.0.0.0/8");
        let (addr, prefix) = s.trim().split_once('/').map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(Network { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Network, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The exception queue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// How long an item may wait when its document type or bot names no `sla` of its own (and
    /// for items with neither: unreadable, unrecognised, ambiguous documents). None: no deadline.
    #[serde(deserialize_with = "optional_duration")]
    pub sla: Option<Duration>,
}

/// `[retention]`: how long what clerk took is kept once it is finished (no item waits, no run
/// is open, nothing changed since). Each is a duration (`400d`, `7y`) or `never` (the default:
/// nothing is removed).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// The files as received (and mail messages' raw form): removed, the document's record
    /// (text, fields, pages, audit) kept.
    #[serde(deserialize_with = "duration_or_never")]
    pub originals: Option<Duration>,
    /// Documents whole: the record, its items and runs, and the original.
    #[serde(deserialize_with = "duration_or_never")]
    pub documents: Option<Duration>,
    /// Lines of the audit trail.
    #[serde(deserialize_with = "duration_or_never")]
    pub audit: Option<Duration>,
    /// How often a pass looks (the first soon after the daemon starts).
    #[serde(deserialize_with = "duration")]
    pub every: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings { originals: None, documents: None, audit: None, every: Duration::from_secs(3600) }
    }
}

impl RetentionSettings {
    /// Whether anything is ever removed.
    pub fn removes_anything(&self) -> bool {
        self.originals.is_some() || self.documents.is_some() || self.audit.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntakeMode {
    /// inotify: a file is taken when its writer closes it.
    Watch,
    /// For network shares where inotify sees nothing: a file is taken once its size and mtime
    /// have been stable for `stable_delay`.
    Poll,
}

/// Mailboxes and the rules that decide what clerk takes from them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    pub maildir: Vec<MaildirAccount>,
    pub imap: Vec<ImapAccount>,
    /// Evaluated in order; the first that matches wins unless it says `continue = true`.
    pub rules: Vec<mail_rules::Rule>,
    /// How often Maildir folders are looked at (they are also watched).
    #[serde(deserialize_with = "duration")]
    pub poll_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    /// TLS from the first byte (port 993).
    Tls,
    /// Plain connection upgraded with STARTTLS (port 143).
    Starttls,
    /// No encryption: only when asked, e.g. a server on loopback.
    Plain,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapAccount {
    pub name: String,
    pub host: String,
    /// Default: 993 with `tls`, 143 otherwise.
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: ImapTls,
    pub user: String,
    /// The secret holding the password (CLERK_SECRET_<NAME> or the secrets file).
    pub password_secret: String,
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    /// Use IMAP IDLE when the server offers it (else the folder is polled).
    #[serde(default = "default_true")]
    pub idle: bool,
    /// PEM certificates to trust besides the public roots (a company CA, a self-signed server).
    pub ca_file: Option<PathBuf>,
}

fn default_tls() -> ImapTls {
    ImapTls::Tls
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".into()]
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaildirAccount {
    /// The account's name, used by rules and shown by `clerk mail status`.
    pub name: String,
    /// The Maildir (with `new/`, `cur/`, `tmp/`).
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeSettings {
    pub mode: IntakeMode,
    #[serde(deserialize_with = "duration")]
    pub poll_interval: Duration,
    /// How long size and mtime must stay unchanged before a file found by polling or a rescan is
    /// taken (a writer may still hold it open).
    #[serde(deserialize_with = "duration")]
    pub stable_delay: Duration,
    /// Safety-net rescan in watch mode, for events the kernel dropped.
    #[serde(deserialize_with = "duration")]
    pub rescan_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OcrSettings {
    /// Tesseract languages, `eng` or `eng+deu`.
    pub languages: String,
    /// Older name of `readers.count`, still read when that is not set.
    pub threads: usize,
}

/// The reader processes that parse documents (see `read::pool`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadersSettings {
    /// Documents read at once, each in its own process (0 = one per core).
    pub count: usize,
    /// A reader idle this long exits (an idle daemon holds no reader memory).
    #[serde(deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// A reader is replaced after this many documents.
    pub max_documents: u32,
    /// The `clerk-reader` executable (default: beside `clerk`).
    pub program: Option<PathBuf>,
    /// LibreOffice's `soffice`, which draws Office files as pages for agents (default: `soffice`
    /// on PATH when installed; `""` turns it off and such files are shown as their text).
    pub libreoffice: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    #[serde(deserialize_with = "bytes")]
    pub max_file_size: u64,
    pub max_pages: usize,
    pub max_pixels: u64,
    /// Memory (address space) of a reader process, e.g. `1GB`.
    #[serde(deserialize_with = "bytes")]
    pub max_memory: u64,
    /// Processing time for one document, e.g. `120s`.
    #[serde(deserialize_with = "duration")]
    pub max_seconds: Duration,
    /// Drawing operators on one PDF page.
    pub max_operators: u64,
    /// Decoded size of one PDF page's drawing instructions, e.g. `256MB`.
    #[serde(deserialize_with = "bytes")]
    pub max_decoded: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data: "var".into(),
            store: None,
            blobs: None,
            definitions: "bots".into(),
            inbox: vec!["inbox".into()],
            workers: 0,
            secrets_file: None,
            max_runs: 64,
            intake: IntakeSettings::default(),
            mail: MailSettings::default(),
            ocr: OcrSettings::default(),
            readers: ReadersSettings::default(),
            limits: LimitSettings::default(),
            http: HttpSettings::default(),
            queue: QueueSettings::default(),
            retention: RetentionSettings::default(),
            split: SplitSettings::default(),
            file: None,
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings { maildir: vec![], imap: vec![], rules: vec![], poll_interval: Duration::from_secs(2) }
    }
}

impl Default for IntakeSettings {
    fn default() -> Self {
        IntakeSettings {
            mode: IntakeMode::Watch,
            poll_interval: Duration::from_secs(2),
            stable_delay: Duration::from_secs(2),
            rescan_interval: Duration::from_secs(60),
        }
    }
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings { languages: "eng".into(), threads: 0 }
    }
}

impl Default for ReadersSettings {
    fn default() -> Self {
        ReadersSettings { count: 0, idle_timeout: Duration::from_secs(30), max_documents: 500, program: None, libreoffice: None }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        let l = Limits::default();
        LimitSettings {
            max_file_size: l.max_file_size,
            max_pages: l.max_pages,
            max_pixels: l.max_pixels,
            max_memory: l.max_memory,
            max_seconds: Duration::from_secs(l.max_seconds),
            max_operators: l.max_operators,
            max_decoded: l.max_decoded,
        }
    }
}

impl LimitSettings {
    pub fn limits(&self) -> Limits {
        Limits {
            max_file_size: self.max_file_size,
            max_pages: self.max_pages,
            max_pixels: self.max_pixels,
            max_memory: self.max_memory,
            max_seconds: self.max_seconds.as_secs().max(1),
            max_operators: self.max_operators,
            max_decoded: self.max_decoded,
        }
    }
}

impl Settings {
    /// Reads `path`, or the first of [`SETTINGS_FILES`] that exists, or nothing; then applies
    /// `CLERK_*` environment variables for the nested settings (the top-level ones are CLI flags
    /// with env fallbacks, see `main.rs`).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => SETTINGS_FILES.iter().map(Path::new).find(|f| f.exists()).map(Path::to_path_buf),
        };
        let mut s = match &file {
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the settings file {}", f.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
            }
            None => Settings::default(),
        };
        s.file = file.clone();
        s.apply_env(|k| std::env::var(k).ok())?;
        s.validate().map_err(|e| match &file {
            Some(f) => anyhow::anyhow!("{}: {e}", f.display()),
            None => anyhow::anyhow!("{e}"),
        })?;
        Ok(s)
    }

    /// What the types alone cannot say.
    fn validate(&self) -> anyhow::Result<()> {
        for a in &self.mail.imap {
            if a.folders.is_empty() {
                anyhow::bail!(
                    "mail.imap account `{}` has `folders = []`: name at least one folder to read, e.g. folders = [\"INBOX\"]",
                    a.name
                );
            }
        }
        if self.limits.max_memory < 64 << 20 {
            anyhow::bail!("limits.max_memory must be at least 64MB: a reader needs that much to read anything");
        }
        Ok(())
    }

    /// Where the store lives.
    pub fn store_location(&self) -> crate::store::Location {
        crate::store::Location { url: self.store.clone(), data: self.data.clone(), blobs: self.blobs.clone() }
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("CLERK_LISTEN") {
            self.http.listen = v;
        }
        if let Some(v) = var("CLERK_SECRETS_FILE") {
            self.secrets_file = Some(v.into());
        }
        if let Some(v) = var("CLERK_OCR_LANGUAGES") {
            self.ocr.languages = v;
        }
        if let Some(v) = var("CLERK_OCR_THREADS") {
            self.ocr.threads = v.parse().context("CLERK_OCR_THREADS must be a number")?;
        }
        if let Some(v) = var("CLERK_READERS") {
            self.readers.count = v.parse().context("CLERK_READERS must be a number")?;
        }
        if let Some(v) = var("CLERK_READER") {
            self.readers.program = Some(PathBuf::from(v));
        }
        if let Some(v) = var("CLERK_MAX_MEMORY") {
            self.limits.max_memory = parse_bytes(&v).map_err(|e| anyhow::anyhow!("CLERK_MAX_MEMORY: {e}"))?;
        }
        if let Some(v) = var("CLERK_MAX_SECONDS") {
            self.limits.max_seconds = parse_duration(&v).map_err(|e| anyhow::anyhow!("CLERK_MAX_SECONDS: {e}"))?;
        }
        if let Some(v) = var("CLERK_MAX_RUNS") {
            self.max_runs = v.parse().context("CLERK_MAX_RUNS must be a number")?;
        }
        if let Some(v) = var("CLERK_WORKERS") {
            self.workers = v.parse().context("CLERK_WORKERS must be a number")?;
        }
        if let Some(v) = var("CLERK_INTAKE_MODE") {
            self.intake.mode = match v.as_str() {
                "watch" => IntakeMode::Watch,
                "poll" => IntakeMode::Poll,
                _ => anyhow::bail!("CLERK_INTAKE_MODE must be `watch` or `poll`"),
            };
        }
        if let Some(v) = var("CLERK_STABLE_DELAY") {
            self.intake.stable_delay = parse_duration(&v).map_err(|e| anyhow::anyhow!("CLERK_STABLE_DELAY: {e}"))?;
        }
        if let Some(v) = var("CLERK_POLL_INTERVAL") {
            self.intake.poll_interval = parse_duration(&v).map_err(|e| anyhow::anyhow!("CLERK_POLL_INTERVAL: {e}"))?;
        }
        Ok(())
    }

    /// The reader pool these settings describe.
    pub fn reader_settings(&self) -> ReaderSettings {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let count = match (self.readers.count, self.ocr.threads) {
            (0, 0) => cores,
            (0, n) | (n, _) => n,
        };
        ReaderSettings {
            program: self.readers.program.clone().unwrap_or_else(ReaderSettings::find_program),
            count,
            idle_timeout: self.readers.idle_timeout,
            max_documents: self.readers.max_documents.max(1),
            languages: self.ocr.languages.clone(),
            limits: self.limits.limits(),
            libreoffice: match &self.readers.libreoffice {
                Some(p) if p.as_os_str().is_empty() => None,
                Some(p) => Some(p.clone()),
                None => Some(PathBuf::from("soffice")).filter(|p| crate::read::pool::program_exists(p)),
            },
        }
    }

    pub fn worker_count(&self) -> usize {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let on_postgres = self.store.as_deref().is_some_and(|u| u.starts_with("postgres"));
        match self.workers {
            0 if on_postgres => 4 * cores,
            0 => 2 * cores,
            n => n,
        }
    }
}

/// `250ms`, `2s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 500ms, 2s or 5m"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        "w" => n * 7.0 * 86400.0,
        "y" => n * 365.0 * 86400.0,
        other => return Err(format!("unknown duration unit `{other}` in `{s}`; use ms, s, m, h, d, w or y")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is too long a duration"))
}

/// `100MB`, `512KiB`, `1GB`, or a bare number of bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a size like 100MB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "kib" | "k" => 1 << 10,
        "mb" | "mib" | "m" => 1 << 20,
        "gb" | "gib" | "g" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` in `{s}`; use KB, MB or GB")),
    };
    Ok(n * mult)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrText {
    Num(u64),
    Text(String),
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Num(n) => Ok(Duration::from_secs(n)),
        NumOrText::Text(s) => parse_duration(&s).map_err(serde::de::Error::custom),
    }
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

fn duration_or_never<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Text(s) if s.trim() == "never" => Ok(None),
        NumOrText::Num(n) => Ok(Some(Duration::from_secs(n))),
        NumOrText::Text(s) => parse_duration(&s).map(Some).map_err(|e| serde::de::Error::custom(format!("{e}, or never"))),
    }
}

fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Num(n) => Ok(n),
        NumOrText::Text(s) => parse_bytes(&s).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_env_layer_over_defaults() {
        let mut s: Settings =
            toml::from_str("inbox = ['a', 'b']\n[intake]\nstable_delay = '500ms'\n[limits]\nmax_file_size = '10MB'\n")
                .unwrap();
        assert_eq!(s.inbox.len(), 2);
        assert_eq!(s.intake.stable_delay, Duration::from_millis(500));
        assert_eq!(s.limits.max_file_size, 10 << 20);
        let bad: Settings =
            toml::from_str("[[mail.imap]]\nname = 'ap'\nhost = 'h'\nuser = 'u'\npassword_secret = 'P'\nfolders = []\n")
                .unwrap();
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("`ap`") && e.contains("folders = []"), "{e}");
        assert_eq!(s.definitions, PathBuf::from("bots"));
        s.apply_env(|k| (k == "CLERK_INTAKE_MODE").then(|| "poll".to_string())).unwrap();
        assert_eq!(s.intake.mode, IntakeMode::Poll);
    }

    #[test]
    fn unknown_keys_are_errors_with_a_position() {
        let err = toml::from_str::<Settings>("inbx = ['a']\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        assert!(err.contains("inbx"), "{err}");
    }

    #[test]
    fn proxies_are_addresses_or_networks_and_the_queue_has_a_default_sla() {
        let s: Settings =
            toml::from_str("[http]\ntrusted_proxies = ['10.1.0.0/16', '::1']\n[queue]\nsla = '8h'\n").unwrap();
        let [net, v6] = [s.http.trusted_proxies[0], s.http.trusted_proxies[1]];
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.1".parse().unwrap()), "IPv4 seen through an IPv6 socket");
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(v6.contains("::1".parse().unwrap()) && !v6.contains("::2".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<Network>().unwrap().contains("203.0.113.9".parse().unwrap()));
        assert_eq!(s.queue.sla, Some(Duration::from_secs(8 * 3600)));
        assert_eq!(Settings::default().queue.sla, None);
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x"] {
            let err = toml::from_str::<Settings>(&format!("[http]\ntrusted_proxies = ['{bad}']\n")).unwrap_err().to_string();
            assert!(err.contains(bad) && err.contains("line 2"), "{err}");
        }
    }
}
