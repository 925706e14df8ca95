//! `clerk audit`: the audit trail, newest first.

use clap::Args;
use clerk::audit::{AuditError, AuditQuery};
use clerk::config::Settings;
use std::process::ExitCode;

#[derive(Args)]
pub struct AuditArgs {
    /// Only what this user (or `clerk`) did.
    #[arg(long)]
    actor: Option<String>,
    /// Only this action, e.g. "signed in", "sign-in refused", "user changed", "resolved".
    #[arg(long)]
    action: Option<String>,
    /// Only entries since a time (2026-12-01T08:00:00Z), a day (2026-12-01) or a while ago (24h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Only entries older than the entry with this id (the next page).
    #[arg(long)]
    before: Option<i64>,
    /// At most this many (1–1000).
    #[arg(long, default_value_t = 100)]
    limit: i64,
    #[arg(long)]
    json: bool,
}

pub async fn run(s: &Settings, a: AuditArgs) -> anyhow::Result<ExitCode> {
    let store = super::open_store(s).await?;
    let q = AuditQuery { actor: a.actor, action: a.action, since: a.since, before: a.before, limit: Some(a.limit) };
    let entries = match clerk::audit::trail(&store, &q).await {
        Ok(entries) => entries,
        Err(AuditError::Invalid(why)) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(2));
        }
        Err(AuditError::Db(e)) => return Err(e.into()),
    };
    if a.json {
        out!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    for e in &entries {
        let on = match (e.exception_id, e.document_id) {
            (Some(item), _) => format!("  (item {item})"),
            (None, Some(doc)) => format!("  (document {doc})"),
            (None, None) => String::new(),
        };
        let detail = if e.detail.is_empty() { String::new() } else { format!(": {}", e.detail) };
        out!("{}  #{}  {}  {}{detail}{on}", &e.at[..19.min(e.at.len())], e.id, e.actor, e.action);
    }
    if entries.is_empty() {
        eprintln!("nothing recorded that matches");
    }
    Ok(ExitCode::SUCCESS)
}
