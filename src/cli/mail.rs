//! `clerk mail …`: mailboxes as the daemon last saw them.

use clap::Subcommand;
use clerk::store::Store;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum MailCmd {
    /// Each account's health and counts: messages taken, left unmatched, with exceptions.
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(store: Store, cmd: MailCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        MailCmd::Status { json } => {
            let accounts = store.mail_status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else if accounts.is_empty() {
                println!("no mail accounts have been checked (configure [[mail.maildir]] and run `clerk serve`)");
            }
            for a in accounts.iter().filter(|_| !json) {
                println!(
                    "{:<16} {:<8} {:<6} taken {} · unmatched {} · exceptions {} · documents {}  ({}, checked {})",
                    a.name, a.kind, a.health, a.taken, a.unmatched, a.exceptions, a.documents, a.detail, a.checked_at
                );
            }
            let healthy = accounts.iter().all(|a| a.health == "ok");
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
