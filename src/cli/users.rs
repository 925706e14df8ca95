//! `clerk users …` and `clerk tokens …`: who may use the HTTP API and web pages.

use clap::Subcommand;
use clerk::config::Settings;
use clerk::users::{self, Role};
use std::io::Read;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Add a user. The password is read from stdin with --password-stdin; otherwise one is
    /// generated and printed once.
    Add {
        name: String,
        /// agent (works the exception queue), ops (also documents, definitions, dry runs) or
        /// admin (also retries and ends runs, manages users).
        #[arg(long)]
        role: String,
        #[arg(long)]
        password_stdin: bool,
        /// A group the user belongs to (items can be assigned to @group); repeatable.
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Change a user's role or groups, or disable (sessions end at once, tokens are refused) or
    /// enable them. The last enabled admin cannot be disabled or demoted.
    Set {
        name: String,
        #[arg(long)]
        role: Option<String>,
        /// The user's groups, replacing the ones they had (repeatable; `--group ''` for none).
        #[arg(long = "group")]
        groups: Option<Vec<String>>,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
    /// Users with their roles (never their passwords).
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum TokensCmd {
    /// Create an API token for a user (`Authorization: Bearer …`); printed once, kept as a hash.
    Create { user: String },
}

pub async fn users(s: &Settings, cmd: UsersCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_or_create_store(s).await?;
    match cmd {
        UsersCmd::Add { name, role, password_stdin, groups } => {
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            let password = if password_stdin {
                let mut p = String::new();
                std::io::stdin().read_to_string(&mut p)?;
                Some(p.trim_end_matches(['\n', '\r']).to_string())
            } else {
                None
            };
            match users::add(&store, &name, role, password.as_deref(), &groups, &operator()).await? {
                Some(generated) => out!("added {name} ({}); password (shown once): {generated}", role.as_str()),
                None => out!("added {name} ({})", role.as_str()),
            }
        }
        UsersCmd::Set { name, role, groups, disable, enable } => {
            let role = role.map(|r| Role::parse(&r)).transpose().map_err(anyhow::Error::msg)?;
            let groups: Option<Vec<String>> = groups.map(|g| g.into_iter().filter(|g| !g.is_empty()).collect());
            let disabled = (disable || enable).then_some(disable);
            users::change(&store, &name, role, groups.as_deref(), disabled, &operator()).await?;
            out!("changed {name}");
        }
        UsersCmd::List { json } => {
            let list = store.users().await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                out!("no users (add one with `clerk users add NAME --role admin`)");
            }
            for u in list.iter().filter(|_| !json) {
                let disabled = if u.disabled { " (disabled)" } else { "" };
                out!("{:<24} {:<6} {} token(s), added {}{disabled}", u.name, u.role, u.tokens, u.created_at);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Who runs the command, for the audit trail.
fn operator() -> String {
    std::env::var("USER").unwrap_or_else(|_| "clerk".into())
}

pub async fn tokens(s: &Settings, cmd: TokensCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_or_create_store(s).await?;
    match cmd {
        TokensCmd::Create { user } => {
            let token = users::create_token(&store, &user).await?;
            out!("{token}");
            eprintln!("the token for {user}: keep it now, clerk keeps only its hash");
        }
    }
    Ok(ExitCode::SUCCESS)
}
