//! `clerk mail …`: mailboxes as the daemon last saw them.

use anyhow::Context;
use clap::Subcommand;
use clerk::config::Settings;
use clerk::intake::mail;
use futures_util::StreamExt;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum MailCmd {
    /// Each account's health and counts: messages taken, left unmatched, with exceptions.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Connect to an IMAP account, list its folders and what the rules would take from each
    /// watched folder. Changes nothing (messages are read with BODY.PEEK).
    Test { account: String },
}

pub async fn run(s: &Settings, cmd: MailCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        MailCmd::Test { account } => test(s, &account).await,
        MailCmd::Status { json } => {
            let store = super::open_store(s).await?;
            let accounts = store.mail_status().await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&accounts)?);
            } else if accounts.is_empty() {
                out!("no mail accounts have been checked (configure [[mail.maildir]] and run `clerk serve`)");
            }
            for a in accounts.iter().filter(|_| !json) {
                out!(
                    "{:<16} {:<8} {:<6} taken {} · unmatched {} · exceptions {} · documents {}  ({}, checked {})",
                    a.name,
                    a.kind,
                    a.health,
                    a.taken,
                    a.unmatched,
                    a.exceptions,
                    a.documents,
                    a.detail,
                    a.checked_at
                );
            }
            let healthy = accounts.iter().all(|a| a.health == "ok");
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

async fn test(s: &Settings, name: &str) -> anyhow::Result<ExitCode> {
    let account = s.mail.imap.iter().find(|a| a.name == name).with_context(|| {
        let names: Vec<_> = s.mail.imap.iter().map(|a| a.name.as_str()).collect();
        format!("no IMAP account `{name}` in the settings; accounts: {}", names.join(", "))
    })?;
    let mut session = clerk::intake::imap::connect(account, s.secrets_file.as_deref()).await?;
    out!("connected to {} as {}", account.host, account.user);
    let mut folders = vec![];
    {
        let mut list = session.list(Some(""), Some("*")).await?;
        while let Some(f) = list.next().await {
            folders.push(f?.name().to_string());
        }
    }
    out!("folders: {}", folders.join(", "));
    for folder in &account.folders {
        let mb = session.examine(folder).await.with_context(|| format!("cannot open {folder}"))?;
        out!("{folder}: {} message(s), UIDVALIDITY {}", mb.exists, mb.uid_validity.unwrap_or(0));
        if mb.exists == 0 {
            continue;
        }
        let mut fetched = session.fetch("1:*", "(UID BODY.PEEK[])").await?;
        while let Some(f) = fetched.next().await {
            let f = f?;
            let raw = f.body().unwrap_or_default();
            let line = match mail::parse(raw) {
                Err(e) => format!("exception: {e}"),
                Ok(m) => match mail::decide(&s.mail.rules, name, &m, chrono::Utc::now().timestamp()) {
                    None => format!("{:?} from {}: no rule matches (left as it is)", m.subject, m.from),
                    Some(d) => {
                        let names: Vec<&str> = d.parts.iter().map(|&i| m.parts[i].name.as_str()).collect();
                        format!(
                            "{:?} from {}: rule `{}` takes [{}], then {:?}",
                            m.subject,
                            m.from,
                            d.rule.name,
                            names.join(", "),
                            d.rule.action
                        )
                    }
                },
            };
            out!("  uid {}: {line}", f.uid.unwrap_or(0));
        }
    }
    let _ = session.logout().await;
    Ok(ExitCode::SUCCESS)
}
