//! The `clerk` command line: a thin layer over the library.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use clerk::config::Settings;
use clerk::read::pool::Readers;
use clerk::store::{ExceptionFilter, Guard, Store};
use clerk::{daemon, definitions, exceptions, pipeline};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// `println!` that ends the command quietly when stdout is closed (`clerk text … | head -1`)
/// instead of panicking on the broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("cannot write to stdout: {e}");
        }
    }};
}

mod cli;

#[derive(Parser)]
#[command(
    name = "clerk",
    version,
    about = "A back-office robot: takes documents from folders and mailboxes, reads and classifies them, runs bots that carry them into legacy systems, and queues what it cannot finish for a person."
)]
struct Cli {
    /// Settings file (default: ./clerk.toml, else /etc/clerk/clerk.toml, the first that exists).
    #[arg(long, global = true, env = "CLERK_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder: database and blob store (default ./var).
    #[arg(long, global = true, env = "CLERK_DATA")]
    data: Option<PathBuf>,
    /// The store: `postgres://…` to share the work between daemons, or `sqlite://FILE` (default:
    /// SQLite in the data folder).
    #[arg(long, global = true, env = "CLERK_STORE")]
    store: Option<String>,
    /// Definitions folder: document types and bots (default ./bots).
    #[arg(long, global = true, env = "CLERK_DEFINITIONS")]
    definitions: Option<PathBuf>,
    /// Log format: `text` (default) or `json`.
    #[arg(long, global = true, default_value = "text", env = "CLERK_LOG_FORMAT")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: watch the inboxes and mailboxes, process every document that arrives, run the bots.
    Serve {
        /// A folder to watch (repeatable; replaces the settings' inboxes).
        #[arg(long, env = "CLERK_INBOX", value_delimiter = ',')]
        inbox: Vec<PathBuf>,
        /// Where `/metrics`, `/healthz` and `/readyz` are served, `HOST:PORT` (replaces
        /// `[http] listen`; env CLERK_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Make the store the settings name (SQLite in the data folder, or a PostgreSQL database's
    /// tables) and say where it is; other commands never make one. Migrates an existing store.
    Init,
    /// Copy the store, consistently, while the daemon runs: SQLite's database and the blobs (or
    /// pg_dump of a PostgreSQL store) into DIR, a new or empty folder, with a note on restoring.
    Backup {
        /// A new or empty folder (writable by the store's owner: as root, clerk acts as the user
        /// that owns the data folder).
        dir: PathBuf,
    },
    /// Validate every definition file; print each problem as file:line:col: message.
    Check,
    /// Dry run: read and classify files without storing anything.
    Classify {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line per file (the same as `--format json`).
        #[arg(long)]
        json: bool,
        /// `text`, `json` (one object per line per file), or `invoice2data`: a JSON array of what
        /// invoice2data's `--output-format json` writes (`issuer`, `amount`, `date`, `invoice_number`,
        /// `currency`, `desc`, `lines`…, `template_name`), one entry per complete document; files
        /// that give none are named on stderr with the reason.
        #[arg(long, default_value = "text", value_parser = ["text", "json", "invoice2data"])]
        format: String,
        /// Per field the generic invoice reader filled: the value, how sure, the evidence (label,
        /// where the value stood, the checks it passed) and the other candidates. With `--json`,
        /// as `reading`.
        #[arg(long)]
        explain: bool,
    },
    /// Print the text clerk reads from files (what document type patterns match against).
    Text {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line per file: `file`, `media_type`, `pages` (each page's `text`,
        /// `ocr`, image size and OCR word boxes), or `error`.
        #[arg(long)]
        json: bool,
    },
    /// How a scanned batch splits into documents: the barcodes on each page, which pages make
    /// which document, which are dropped (`--out DIR` writes each document's PDF).
    Split(cli::split::SplitArgs),
    /// Stored documents.
    #[command(subcommand)]
    Documents(DocumentsCmd),
    /// Bots in the definitions folder.
    #[command(subcommand)]
    Bots(BotsCmd),
    /// Document types: `match` keywords learned from what agents filed.
    #[command(subcommand)]
    Doctypes(cli::doctypes::DoctypesCmd),
    /// Print the JSON Schema of definition files (for editor completion and checking).
    Schema,
    /// Print a reference page of docs/reference/ as Markdown: `cli`, `metrics` or `definitions`.
    #[command(hide = true)]
    Reference {
        #[arg(value_parser = ["cli", "metrics", "definitions"])]
        page: String,
    },
    /// The exception queue.
    #[command(subcommand)]
    Exceptions(ExceptionsCmd),
    /// Bot runs and their step-by-step journal.
    #[command(subcommand)]
    Runs(cli::runs::RunsCmd),
    /// Mailboxes clerk takes documents from.
    #[command(subcommand)]
    Mail(cli::mail::MailCmd),
    /// People who use the HTTP API and web pages, and their roles.
    #[command(subcommand)]
    Users(cli::users::UsersCmd),
    /// API tokens for scripts: create (with an expiry), list, revoke.
    #[command(subcommand)]
    Tokens(cli::users::TokensCmd),
    /// Who is signed in to the web pages; end a session or all of a user's.
    #[command(subcommand)]
    Sessions(cli::users::SessionsCmd),
    /// The audit trail, newest first: who did what and when (sign-ins, users, items, documents).
    Audit(cli::audit::AuditArgs),
    /// What agents taught clerk of each vendor's invoices (where their fields stand).
    #[command(subcommand)]
    Vendors(cli::vendors::VendorsCmd),
}

#[derive(Subcommand)]
enum DocumentsCmd {
    List {
        #[arg(long)]
        status: Option<clerk::states::DocumentStatus>,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write the document's original bytes, exactly as received, to a file or to stdout.
    Original {
        id: i64,
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BotsCmd {
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run a bot by hand. With --dry-run every step's request is rendered (secrets masked) and
    /// nothing is sent.
    Run {
        name: String,
        /// A stored document to run on.
        #[arg(long, conflicts_with = "file")]
        doc: Option<i64>,
        /// A file to read and classify first (nothing is stored).
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

/// What to do with a failed or escalated run.
#[derive(Args)]
#[group(id = "run_decision", multiple = false)]
struct RunDecision {
    /// Run the failed step again (an escalated run starts over; done side effects are not
    /// repeated, their idempotency keys are kept).
    #[arg(long)]
    retry: bool,
    /// Count the failed step as done and go on after it.
    #[arg(long = "continue")]
    proceed: bool,
    /// End the run.
    #[arg(long)]
    end: bool,
}

impl RunDecision {
    fn get(&self) -> Option<clerk::store::Decision> {
        use clerk::store::Decision;
        [(self.retry, Decision::Retry), (self.proceed, Decision::Continue), (self.end, Decision::End)]
            .into_iter()
            .find_map(|(set, d)| set.then_some(d))
    }
}

#[derive(Args)]
struct Agent {
    /// Who is acting (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    agent: Option<String>,
}

impl Agent {
    fn name(&self) -> String {
        self.agent.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "agent".into())
    }
}

#[derive(Subcommand)]
enum ExceptionsCmd {
    List {
        /// The documents' kinds, or a bot run's (business, system).
        #[arg(long)]
        kind: Option<clerk::states::ExceptionKind>,
        /// open (the default), claimed, resolved, rejected, or all.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Take an item so no one else works on it (for 30 minutes; claiming again renews it).
    Claim {
        id: i64,
        #[command(flatten)]
        agent: Agent,
    },
    /// Give back an item you claimed.
    Release {
        id: i64,
        #[command(flatten)]
        agent: Agent,
    },
    /// Mean an item for a user or an @group (`--to ''` for anyone).
    Assign {
        id: i64,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        agent: Agent,
    },
    /// A document's item: give the document its type (and fields); it is re-validated, then
    /// moves on. A run's item (business or system): --retry, --continue or --end the run.
    Resolve {
        id: i64,
        #[arg(long, required_unless_present = "run_decision")]
        doctype: Option<String>,
        #[command(flatten)]
        run_decision: RunDecision,
        /// A field value, `name=value` (repeatable).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        #[command(flatten)]
        agent: Agent,
    },
    /// Close the item without processing the document.
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        agent: Agent,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("starting the async runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CLERK_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The global flags that override the settings file (kept to read the settings again).
#[derive(Clone)]
struct Overrides {
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    definitions: Option<PathBuf>,
    store: Option<String>,
}

fn settings(o: &Overrides) -> anyhow::Result<Settings> {
    let mut s = Settings::load(o.config.as_deref())?;
    if let Some(d) = &o.data {
        s.data = d.clone();
    }
    if let Some(d) = &o.definitions {
        s.definitions = d.clone();
    }
    if let Some(u) = &o.store {
        s.store = Some(u.clone());
    }
    Ok(s)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        config: cli.config.clone(),
        data: cli.data.clone(),
        definitions: cli.definitions.clone(),
        store: cli.store.clone(),
    };
    let s = settings(&overrides)?;
    match cli.command {
        Command::Serve { inbox, listen } => {
            let flags = move |mut s: Settings| {
                if !inbox.is_empty() {
                    s.inbox = inbox.clone();
                }
                if let Some(listen) = &listen {
                    s.http.listen = listen.clone();
                }
                s
            };
            let s = flags(s);
            // SIGHUP reads the file again, with the same flags on top.
            daemon::serve(s, Box::new(move || settings(&overrides).map(&flags))).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init => {
            cli::init_store(&s).await?;
            let settings = s.file.as_ref().map(|f| format!(" (settings: {})", f.display())).unwrap_or_default();
            match &s.store {
                Some(url) => out!("the store {} is ready{settings}", clerk::store::redact(url)),
                None => out!("the store in {} is ready{settings}", s.data.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dir } => {
            let store = open_store(&s).await?;
            let made = clerk::backup::backup(&store, &dir).await?;
            out!("backed up to {}: {} and {} blob(s), {} byte(s)", dir.display(), made.database.display(), made.blobs, made.bytes);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let loaded = definitions::load_dir(&s.definitions, None);
            for p in &loaded.problems {
                out!("{p}");
            }
            let n = loaded.definitions.doctypes().len();
            let errors = loaded.problems.iter().filter(|p| !p.warning).count();
            let warnings = loaded.problems.len() - errors;
            eprintln!(
                "{} definition file(s) active, {n} document type(s), {} bot(s); {errors} error(s), {warnings} warning(s)",
                loaded.definitions.files.len(),
                loaded.definitions.bots().len()
            );
            Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Classify { files, json, format, explain } => {
            classify(&s, &files, if json { "json" } else { format.as_str() }, explain).await
        }
        Command::Text { files, json } => text(&s, &files, json).await,
        Command::Split(args) => cli::split::run(&s, args).await,
        Command::Reference { page } => {
            let text = match page.as_str() {
                "cli" => cli::reference::cli(&<Cli as clap::CommandFactory>::command()),
                "metrics" => cli::reference::metrics(),
                _ => cli::reference::definitions(&clerk::bots::schema::schema()),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            out!("{}", serde_json::to_string_pretty(&clerk::bots::schema::schema())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bots(BotsCmd::List { json }) => {
            let loaded = definitions::load_dir(&s.definitions, None);
            for p in loaded.problems.iter().filter(|p| !p.warning) {
                eprintln!("{p}");
            }
            let bots = loaded.definitions.bots();
            if json {
                let list: Vec<_> = bots
                    .iter()
                    .map(|b| serde_json::json!({
                        "name": b.name, "description": b.description, "file": b.file, "version": b.version,
                        "trigger": b.trigger, "concurrency": b.concurrency, "steps": b.steps.len(), "secrets": b.secrets,
                    }))
                    .collect();
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for b in bots {
                    let on = match &b.trigger {
                        clerk::bots::Trigger::Doctype { doctype, .. } => format!("on {doctype}"),
                        clerk::bots::Trigger::Schedule { cron } => format!("at \"{cron}\""),
                        clerk::bots::Trigger::Manual => "manual".into(),
                    };
                    out!("{:<28} {:<22} {} step(s)  {}", b.name, on, b.steps.len(), b.file.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bots(BotsCmd::Run { name, doc, file, dry_run, json }) => {
            bot_dry_run(&s, &name, doc, file, dry_run, json).await
        }
        Command::Documents(cmd) => documents(&s, cmd).await,
        Command::Exceptions(cmd) => exceptions_cmd(&s, cmd).await,
        Command::Runs(cmd) => cli::runs::run(&s, open_store(&s).await?, cmd).await,
        Command::Mail(cmd) => cli::mail::run(&s, cmd).await,
        Command::Doctypes(cmd) => cli::doctypes::run(&s, cmd).await,
        Command::Users(cmd) => cli::users::users(&s, cmd).await,
        Command::Tokens(cmd) => cli::users::tokens(&s, cmd).await,
        Command::Sessions(cmd) => cli::users::sessions(&s, cmd).await,
        Command::Audit(args) => cli::audit::run(&s, args).await,
        Command::Vendors(cmd) => cli::vendors::run(&s, cmd).await,
    }
}

/// Every file read by the reader pool, several at once, yielded in the order given.
fn read_all(
    readers: &Readers,
    files: Vec<PathBuf>,
) -> impl futures_util::Stream<Item = (PathBuf, Result<clerk::read::pool::Outcome, std::io::Error>, Instant)> + '_ {
    use futures_util::StreamExt;
    let parallel = readers.count();
    futures_util::stream::iter(files)
        .map(move |file| async move {
            let start = Instant::now();
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // The command's own arguments, on local disk: a stat here costs less than a hand-off
            // to the blocking pool.
            let outcome = match std::fs::metadata(&file) {
                Ok(_) => Ok(readers.read_file(&file, &name).await),
                Err(e) => Err(e),
            };
            (file, outcome, start)
        })
        .buffered(parallel)
}

async fn text(s: &Settings, files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    use clerk::read::pool::Outcome;
    use futures_util::StreamExt;
    let readers = Readers::new(s.reader_settings());
    let mut failed = false;
    let mut results = std::pin::pin!(read_all(&readers, expand(files)));
    while let Some((file, outcome, _)) = results.next().await {
        if json {
            let v = match &outcome {
                Ok(Outcome::Read(x)) => {
                    serde_json::json!({"file": file.to_string_lossy(), "media_type": x.media_type, "pages": x.pages})
                }
                Ok(Outcome::Unreadable(e) | Outcome::Failed(e)) => {
                    failed = true;
                    serde_json::json!({"file": file.to_string_lossy(), "error": e})
                }
                Ok(Outcome::Stopped | Outcome::Image(_) | Outcome::Part(_)) => continue,
                Err(e) => {
                    failed = true;
                    serde_json::json!({"file": file.to_string_lossy(), "error": format!("cannot read the file: {e}")})
                }
            };
            out!("{v}");
            continue;
        }
        match outcome {
            Ok(Outcome::Read(x)) => out!(
                "==> {} ({}, {} page(s){}) <==\n{}",
                file.display(),
                x.media_type,
                x.pages.len(),
                if x.ocr() { ", OCR" } else { "" },
                x.text()
            ),
            Ok(Outcome::Unreadable(e) | Outcome::Failed(e)) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
            }
            Ok(Outcome::Stopped | Outcome::Image(_) | Outcome::Part(_)) => failed = true,
            Err(e) => {
                eprintln!("{}: cannot read the file: {e}", file.display());
                failed = true;
            }
        }
    }
    readers.stop().await;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn classify(s: &Settings, files: &[PathBuf], format: &str, explain: bool) -> anyhow::Result<ExitCode> {
    use futures_util::StreamExt;
    let loaded = definitions::load_dir(&s.definitions, None);
    for p in &loaded.problems {
        eprintln!("{p}");
    }
    let classifier = loaded.definitions.classifier();
    let readers = Readers::new(s.reader_settings());
    let mut failed = false;
    let mut invoice2data: Vec<serde_json::Value> = vec![];
    let mut results = std::pin::pin!(read_all(&readers, expand(files)));
    while let Some((file, read, start)) = results.next().await {
        let file = &file;
        let classified = match read {
            Ok(read) => pipeline::classify_read(read, &classifier),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let millis = (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let outcome = &classified.outcome;
        if format == "invoice2data" {
            match &outcome.exception {
                None => {
                    let mut entry: serde_json::Map<String, serde_json::Value> =
                        outcome.fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    match outcome.doctype.as_deref().and_then(|t| classifier.get(t)).map(|t| &t.rules) {
                        Some(clerk::classify::doctype::Rules::Invoice2data(t)) => {
                            entry.insert("template_name".into(), t.template_name.clone().into());
                        }
                        _ => {
                            entry.insert("doctype".into(), outcome.doctype.clone().into());
                        }
                    }
                    invoice2data.push(serde_json::Value::Object(entry));
                }
                Some((k, r)) => eprintln!("{}: {}: {r}", file.display(), k.as_str()),
            }
        } else if format == "json" {
            // The API's report, with the time it took and, asked for, the reader's evidence.
            let mut v = serde_json::to_value(classified.report(&file.to_string_lossy(), &classifier))?;
            v["millis"] = millis.into();
            if explain {
                v["reading"] = serde_json::to_value(&outcome.reading)?;
            }
            out!("{v}");
        } else {
            match &outcome.exception {
                None => out!(
                    "{}: recognised {} {}",
                    file.display(),
                    outcome.doctype.as_deref().unwrap_or(""),
                    fields_line(&outcome.fields)
                ),
                Some((k, r)) => out!("{}: exception {}: {r}", file.display(), k.as_str()),
            }
            for (page, why) in &classified.unread {
                out!("  page {page} not read: {why}");
            }
            if let (true, Some(reading)) = (explain, &outcome.reading) {
                out!("{}", explain_reading(reading));
            }
        }
    }
    readers.stop().await;
    if format == "invoice2data" {
        // invoice2data writes its JSON with an indent of 4.
        let mut buf = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut buf, serde_json::ser::PrettyFormatter::with_indent(b"    "));
        serde::Serialize::serialize(&invoice2data, &mut ser)?;
        out!("{}", String::from_utf8_lossy(&buf));
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What the generic invoice reader found, a field a paragraph: value, confidence, evidence, and
/// the candidates it passed over.
fn explain_reading(reading: &clerk::classify::generic::Reading) -> String {
    let mut out = format!("  read as: {}\n", reading.kind_evidence);
    for (name, f) in &reading.fields {
        let sure = if f.sure { "sure" } else { "not sure" };
        out.push_str(&format!("  {name} = {} ({sure}, {:.0}%)\n    {}\n", f.value, f.confidence * 100.0, f.evidence));
        for c in &f.alternatives {
            out.push_str(&format!("    or {} ({:.0}%): {}\n", c.value, c.score * 100.0, c.evidence));
        }
    }
    if let Some(lines) = &reading.lines {
        let sure = if lines.sure { "sure" } else { "not sure" };
        out.push_str(&format!("  lines ({sure}, {:.0}%)\n    {}\n", lines.confidence * 100.0, lines.evidence));
        for l in &lines.rows {
            let part = |label: &str, v: &Option<String>| v.as_ref().map(|v| format!("{label}{v}"));
            let parts: Vec<String> = [
                part("", &l.position),
                part("", &l.item_name),
                part("qty ", &l.quantity),
                part("", &l.unit),
                part("at ", &l.unit_price),
                part("= ", &l.net_amount),
                part("VAT ", &l.tax_rate.as_ref().map(|r| format!("{r}%"))),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push_str(&format!("    {}\n", parts.join(" ")));
        }
    }
    out.trim_end().to_string()
}

async fn bot_dry_run(
    s: &Settings,
    name: &str,
    doc: Option<i64>,
    file: Option<PathBuf>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use clerk::bots::dry_run;
    let loaded = definitions::load_dir(&s.definitions, None);
    let bots = loaded.definitions.bots();
    let bot = bots.iter().find(|b| b.name == name).with_context(|| {
        let names: Vec<_> = bots.iter().map(|b| b.name.as_str()).collect();
        format!("no bot named `{name}` in {}; bots: {}", s.definitions.display(), names.join(", "))
    })?;
    if !dry_run {
        if file.is_some() {
            anyhow::bail!("--file is for dry runs; a real run works on a stored document (--doc ID)");
        }
        let store = open_store(s).await?;
        return cli::runs::run_now(s, store, bot.clone(), doc, json).await;
    }
    let doc_json = match (doc, file) {
        (Some(id), _) => {
            let store = open_store(s).await?;
            store.document_for_bot(id).await?.with_context(|| format!("document {id} does not exist"))?
        }
        (None, Some(path)) => {
            std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let readers = Readers::new(s.reader_settings());
            let classifier = loaded.definitions.classifier();
            let o = pipeline::classify_file(&path, &name, &readers, &classifier).await.outcome;
            readers.stop().await;
            dry_run::file_doc(&o, &name)
        }
        (None, None) => dry_run::no_doc(),
    };
    let run = dry_run::dry_run(bot, doc_json, s.secrets_file.as_deref()).map_err(anyhow::Error::msg)?;
    for name in &run.missing_secrets {
        eprintln!("warning: secret {name} is not set (CLERK_SECRET_{name} or the secrets file)");
    }
    let out = if json {
        serde_json::to_string_pretty(&run.steps_json())?
    } else {
        let mut text = format!("dry run of {} (version {}); nothing is sent\n", bot.name, bot.version);
        for r in &run.steps {
            let id = r.id.as_deref().map(|i| format!(" {i}")).unwrap_or_default();
            let cond = r.condition.as_deref().map(|c| format!(" if {c}")).unwrap_or_default();
            let kind = if r.block { "" } else { r.kind.as_str() };
            text.push_str(&format!("step {}{id}: {kind}{cond}\n", r.number));
            match &r.error {
                Some(e) => text.push_str(&format!("  error: {e}\n")),
                None if r.summary.as_object().is_some_and(|m| m.is_empty()) || r.summary.is_null() => {}
                None => text.push_str(&format!("  {}\n", r.summary)),
            }
        }
        run.redactor.redact(&text)
    };
    out!("{out}");
    Ok(if run.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Folders given on the command line stand for every file inside them, recursively.
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::read_dir(p) {
            Ok(entries) => {
                let mut inner: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                inner.sort();
                out.extend(expand(&inner));
            }
            Err(_) => out.push(p.clone()),
        }
    }
    out
}

fn fields_line(fields: &clerk::classify::Fields) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", clerk::classify::field_text(v))).collect::<Vec<_>>().join(" ")
}

async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    cli::open_store(s).await
}

async fn documents(s: &Settings, cmd: DocumentsCmd) -> anyhow::Result<ExitCode> {
    let store = open_store(s).await?;
    match cmd {
        DocumentsCmd::List { status, json } => {
            let docs = store.list_documents(&clerk::store::DocumentFilter { status, ..Default::default() }).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&docs)?);
            } else {
                for d in docs {
                    out!("{:>6}  {:<11} {:<16} {}", d.id, d.status, d.doctype.unwrap_or_default(), d.original_name);
                }
            }
        }
        DocumentsCmd::Original { id, out } => {
            let d = store.document(id).await?.with_context(|| format!("document {id} does not exist"))?;
            let bytes = store
                .blobs
                .read(&d.sha256)
                .await
                .with_context(|| format!("the original of document {id} is missing from the blob store"))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
        }
        DocumentsCmd::Show { id, json } => {
            let d = store.document(id).await?.with_context(|| format!("document {id} does not exist"))?;
            if json {
                out!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                out!("document {}: {} ({})", d.id, d.original_name, d.status);
                out!("  from {} at {}", d.source, d.received_at);
                out!("  {} bytes, {}, sha256 {}", d.size, d.media_type.as_deref().unwrap_or("unknown type"), d.sha256);
                if let Some(of) = d.duplicate_of {
                    out!("  duplicate of document {of}");
                }
                if let Some(t) = &d.doctype {
                    out!("  type {t}");
                }
                for (k, v) in &d.fields {
                    out!("  {k} = {}", clerk::classify::field_text(v));
                }
                for (k, v) in &d.problems {
                    out!("  {k}: {v}");
                }
                // An XML e-invoice has no page to look at: its data written out instead.
                if d.media_type.as_deref() == Some("application/xml") {
                    out!("  the e-invoice, written out:");
                    for line in d.text.as_deref().unwrap_or("").lines() {
                        out!("    {line}");
                    }
                }
                for e in &d.exceptions {
                    out!("  exception {} [{}] {}: {}", e.id, e.state, e.kind, e.reason);
                }
                for a in &d.audit {
                    out!("  {} {} {} {}", a.at, a.actor, a.action, a.detail);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn exceptions_cmd(s: &Settings, cmd: ExceptionsCmd) -> anyhow::Result<ExitCode> {
    let store = open_store(s).await?;
    match cmd {
        ExceptionsCmd::List { kind, state, json } => {
            let state = exceptions::state_choice(state.as_deref()).map_err(anyhow::Error::msg)?;
            let items = store.exceptions(&ExceptionFilter { kind, state, ..Default::default() }).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for e in items {
                    let about = match (e.run_id, e.document_id) {
                        (Some(r), _) => format!("run {r:<6}"),
                        (None, Some(d)) => format!("doc {d:<6} {}", e.original_name.as_deref().unwrap_or("")),
                        (None, None) => String::new(),
                    };
                    out!("{:>6}  {:<8} {:<12} {about}: {}", e.id, e.state, e.kind, e.reason);
                }
            }
        }
        ExceptionsCmd::Show { id, json } => {
            let e = store.exception(id).await?.with_context(|| format!("exception {id} does not exist"))?;
            let d = match e.document_id {
                Some(id) => store.document(id).await?,
                None => None,
            };
            let classifier = definitions::load_dir(&s.definitions, None).definitions.classifier();
            let suggestion = exceptions::suggestion(&store, &Default::default(), &classifier, &e).await;
            if json {
                let mut v = serde_json::to_value(&e)?;
                v["document"] = serde_json::to_value(&d)?;
                v["suggestion"] = serde_json::to_value(&suggestion)?;
                out!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                out!("exception {} [{}] {}: {}", e.id, e.state, e.kind, e.reason);
                if let Some(doc) = e.document_id {
                    out!("  document {doc} ({})", e.original_name.as_deref().unwrap_or(""));
                }
                if let Some(run) = e.run_id {
                    out!("  run {run} (`clerk runs show {run}`); decide with --retry, --continue or --end");
                }
                if let Some(detail) = &e.detail {
                    out!("  {detail}");
                }
                if let Some(c) = &e.claimed_by {
                    out!("  claimed by {c}");
                }
                if let Some(r) = &e.resolution {
                    out!("  {} by {}: {r}", e.state, e.resolved_by.as_deref().unwrap_or("?"));
                }
                if let Some(sg) = &suggestion {
                    let like: Vec<String> = sg.like.iter().map(|n| format!("#{}", n.document_id)).collect();
                    out!(
                        "  looks like {} ({:.0}% sure), like documents {} that agents filed so",
                        sg.doctype,
                        sg.confidence * 100.0,
                        like.join(", ")
                    );
                }
                if let Some(d) = d {
                    for (k, v) in &d.fields {
                        out!("  found {k} = {}", clerk::classify::field_text(v));
                    }
                    for (k, v) in &d.problems {
                        out!("  problem {k}: {v}");
                    }
                    let text = d.text.unwrap_or_default();
                    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(25).collect();
                    if !lines.is_empty() {
                        out!("  text:");
                        for l in lines {
                            out!("    {l}");
                        }
                    }
                }
            }
        }
        ExceptionsCmd::Claim { id, agent } => {
            exceptions::claim(&store, id, Guard { agent: &agent.name(), version: None }).await?;
            out!("exception {id} claimed by {}", agent.name());
        }
        ExceptionsCmd::Release { id, agent } => {
            exceptions::release(&store, id, Guard { agent: &agent.name(), version: None }).await?;
            out!("exception {id} released");
        }
        ExceptionsCmd::Assign { id, to, agent } => {
            let to = Some(to.as_str()).filter(|t| !t.is_empty());
            exceptions::assign(&store, id, Guard { agent: &agent.name(), version: None }, to).await?;
            out!("exception {id} assigned to {}", to.unwrap_or("anyone"));
        }
        ExceptionsCmd::Resolve { id, run_decision, agent, .. } if run_decision.get().is_some() => {
            // Whoever runs clerk on the store's machine can change the store: an admin.
            let run = exceptions::decide(
                &store,
                id,
                Guard { agent: &agent.name(), version: None },
                clerk::users::Role::Admin,
                run_decision.get().unwrap(),
            )
            .await?;
            out!("exception {id} resolved: run {run} is queued again (or ended); see `clerk runs show {run}`");
        }
        ExceptionsCmd::Resolve { id, doctype, fields, agent, .. } => {
            let doctype = doctype.unwrap_or_default();
            let mut overrides = BTreeMap::new();
            for f in fields {
                let (k, v) = f.split_once('=').with_context(|| format!("--field {f:?} must be NAME=VALUE"))?;
                overrides.insert(k.trim().to_string(), v.to_string());
            }
            let loaded = definitions::load_dir(&s.definitions, None);
            let classifier = loaded.definitions.classifier();
            let bots = loaded.definitions.bots();
            let fields = exceptions::resolve(
                &store,
                &classifier,
                id,
                Guard { agent: &agent.name(), version: None },
                &doctype,
                &overrides,
                &bots,
            )
            .await?;
            out!("exception {id} resolved: document is {doctype} {}", fields_line(&fields));
        }
        ExceptionsCmd::Reject { id, reason, agent } => {
            exceptions::reject(&store, id, Guard { agent: &agent.name(), version: None }, &reason).await?;
            out!("exception {id} rejected");
        }
    }
    Ok(ExitCode::SUCCESS)
}
