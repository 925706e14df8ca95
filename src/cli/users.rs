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
    /// Set a user's password (an admin's reset: for a forgotten one, or one that may be known to
    /// others). Read from stdin with --password-stdin; otherwise one is generated and printed
    /// once. The user's sessions end; their tokens stay (`clerk tokens revoke`).
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum TokensCmd {
    /// Create an API token for a user (`Authorization: Bearer …`); printed once, kept as a hash.
    Create {
        user: String,
        /// What the token is for, to tell it apart in `tokens list`.
        #[arg(long, default_value = "")]
        label: String,
        /// When it stops working: 90d, 12w, 24h, a day (2027-06-30), or never.
        #[arg(long, default_value = "90d")]
        expires: String,
    },
    /// Tokens (never the tokens themselves): id, user, label, when made, when they run out, last use.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once, by the id `tokens list` shows.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub enum SessionsCmd {
    /// Browser sessions that are signed in: id, user, since when, until when, from where.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// End a session (by the id `sessions list` shows), or all of a user's: they must sign in again.
    End {
        #[arg(required_unless_present = "user", conflicts_with = "user")]
        id: Option<String>,
        #[arg(long)]
        user: Option<String>,
    },
}

pub async fn users(s: &Settings, cmd: UsersCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_store(s).await?;
    match cmd {
        UsersCmd::Add { name, role, password_stdin, groups } => {
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            let password = password_stdin.then(read_password).transpose()?;
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
        UsersCmd::Password { name, password_stdin } => {
            let password = password_stdin.then(read_password).transpose()?;
            match users::reset_password(&store, &name, password.as_deref(), &operator()).await? {
                Some(generated) => out!("the password of {name} is set (shown once): {generated}"),
                None => out!("the password of {name} is set"),
            }
            eprintln!("{name}'s sessions have ended");
        }
        UsersCmd::List { json } => {
            show(&store.users().await?, json, "no users (add one with `clerk users add NAME --role admin`)", |u| {
                let disabled = if u.disabled { " (disabled)" } else { "" };
                format!("{:<24} {:<6} {} token(s), added {}{disabled}", u.name, u.role, u.tokens, u.created_at)
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A list as JSON, or a line each (`none` when it is empty).
fn show<T: serde::Serialize>(list: &[T], json: bool, none: &str, line: impl Fn(&T) -> String) -> anyhow::Result<()> {
    if json {
        out!("{}", serde_json::to_string_pretty(list)?);
    } else if list.is_empty() {
        out!("{none}");
    }
    for item in list.iter().filter(|_| !json) {
        out!("{}", line(item));
    }
    Ok(())
}

/// A password from stdin, without the line's end.
fn read_password() -> anyhow::Result<String> {
    let mut p = String::new();
    std::io::stdin().read_to_string(&mut p)?;
    Ok(p.trim_end_matches(['\n', '\r']).to_string())
}

/// Who runs the command, for the audit trail.
fn operator() -> String {
    std::env::var("USER").unwrap_or_else(|_| "clerk".into())
}

pub async fn tokens(s: &Settings, cmd: TokensCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_store(s).await?;
    match cmd {
        TokensCmd::Create { user, label, expires } => {
            let expires = users::token_expiry(&expires).map_err(anyhow::Error::msg)?;
            let token = users::create_token(&store, &user, &label, expires, &operator()).await?;
            out!("{token}");
            let until = match expires {
                Some(ms) => format!("it works until {}", clerk::store::time_of(ms)),
                None => "it never runs out (revoke it with `clerk tokens revoke`)".into(),
            };
            eprintln!("the token for {user}: keep it now, clerk keeps only its hash; {until}");
        }
        TokensCmd::List { user, json } => {
            show(&store.tokens(user.as_deref()).await?, json, "no tokens (create one with `clerk tokens create USER`)", |t| {
                let expires = match (&t.expires, t.expired) {
                    (Some(e), true) => format!("ran out {e}"),
                    (Some(e), false) => format!("until {e}"),
                    (None, _) => "never runs out".into(),
                };
                let used = t.last_used.as_deref().map(|u| format!(", last used {u}")).unwrap_or_else(|| ", never used".into());
                format!("{}  {:<16} {:<24} made {}, {expires}{used}", t.id, t.user, t.label, t.created_at)
            })?;
        }
        TokensCmd::Revoke { id } => match store.revoke_token(&id, &operator()).await? {
            Some(user) => out!("revoked {user}'s token {id}"),
            None => anyhow::bail!("no token has the id `{id}` (`clerk tokens list` shows them)"),
        },
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sessions(s: &Settings, cmd: SessionsCmd) -> anyhow::Result<ExitCode> {
    use clerk::store::Sessions;
    let store = super::open_store(s).await?;
    match cmd {
        SessionsCmd::List { user, json } => {
            show(&store.sessions(user.as_deref()).await?, json, "nobody is signed in", |x| {
                format!("{}  {:<16} since {} until {} from {}", x.id, x.user, x.started, x.expires, x.address)
            })?;
        }
        SessionsCmd::End { id, user } => {
            let which = match (&id, &user) {
                (Some(id), _) => Sessions::One(id),
                (None, Some(user)) => Sessions::OfUser(user),
                (None, None) => unreachable!("clap requires one"),
            };
            let ended = store.end_sessions(which, &operator()).await?;
            match (ended, id) {
                (0, Some(id)) => anyhow::bail!("no session has the id `{id}` (`clerk sessions list` shows them)"),
                (n, _) => out!("ended {n} session(s)"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
