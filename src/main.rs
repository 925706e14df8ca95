//! The `clerk` command line: a thin layer over the library.

use clap::{Parser, Subcommand};
use clerk::config::Settings;
use clerk::store::Store;
use clerk::{daemon, definitions};
use std::path::PathBuf;
use std::process::ExitCode;

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
    Documents(cli::documents::DocumentsCmd),
    /// Bots in the definitions folder.
    #[command(subcommand)]
    Bots(cli::bots::BotsCmd),
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
    Exceptions(cli::exceptions::ExceptionsCmd),
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
            cli::read::classify(&s, &files, if json { "json" } else { format.as_str() }, explain).await
        }
        Command::Text { files, json } => cli::read::text(&s, &files, json).await,
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
        Command::Bots(cmd) => cli::bots::run(&s, cmd).await,
        Command::Documents(cmd) => cli::documents::run(&s, cmd).await,
        Command::Exceptions(cmd) => cli::exceptions::run(&s, cmd).await,
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







async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    cli::open_store(s).await
}




