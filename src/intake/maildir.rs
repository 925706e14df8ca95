//! Maildir folders as a local mail source. A message delivered into `new/` is taken per the mail
//! rules; after its documents are stored it moves to `cur/` with the flags the action calls for
//! (`S` for seen), into a Maildir++ subfolder (`.Folder/cur/`) for `move:Folder`, or is deleted.
//! A message no rule matches stays in `new/`, recorded once and counted.

use crate::states::MessageState;
use super::mail::{Action, Policy};
use super::messages::{ingest, Ingested};
use crate::config::MaildirAccount;
use crate::store::Store;
use notify::Watcher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use crate::heartbeat;
use crate::shutdown::Shutdown;
use tokio::sync::Notify;

pub struct MaildirSource {
    pub account: MaildirAccount,
    pub policy: Policy,
    pub store: Store,
    pub poll_interval: Duration,
    /// Wakes pipeline workers after documents are queued.
    pub wake: Arc<Notify>,
}

/// The unique part of a Maildir file name (the flags after `:` change; the name before does not).
fn key(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

impl crate::intake::Source for MaildirSource {
    fn name(&self) -> String {
        format!("maildir {}", self.account.name)
    }
    fn run(self: Box<Self>, stop: Shutdown) -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> {
        // It reports its own troubles (the account's health) and runs until the stop.
        Box::pin(async move {
            (*self).run(stop).await;
            Ok(())
        })
    }
}

impl MaildirSource {
    pub async fn run(self, mut stop: Shutdown) {
        let new = self.account.path.join("new");
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let _watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
            if e.is_ok() {
                let _ = tx.send(());
            }
        })
        .and_then(|mut w| w.watch(&new, notify::RecursiveMode::NonRecursive).map(|_| w))
        .ok();
        tracing::info!(account = self.account.name, path = %self.account.path.display(), "watching Maildir");
        // Of several daemons watching the same Maildir (a shared mount), one reads it at a time.
        let lease = format!("maildir:{}", self.account.name);
        loop {
            if !heartbeat::take_lease(&self.store, &lease, &mut stop).await {
                return;
            }
            let stopped = heartbeat::holding(&self.store, &lease, self.serve(&mut stop, &mut events)).await;
            if stopped.is_some() {
                heartbeat::release_lease(&self.store, &lease).await;
                return;
            }
            tracing::info!(account = self.account.name, "another daemon took over this Maildir");
        }
    }

    /// Scans at every change and poll interval until `stop`.
    async fn serve(&self, stop: &mut Shutdown, events: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
        loop {
            let (healthy, detail) = match self.scan().await {
                Ok(n) => (true, format!("{n} message(s) taken in the last scan")),
                Err(e) => {
                    tracing::warn!(account = self.account.name, error = %format!("{e:#}"), "Maildir scan failed");
                    (false, format!("{e:#}"))
                }
            };
            let _ = self.store.set_account_health(&self.account.name, "maildir", healthy, &detail).await;
            tokio::select! {
                _ = stop.requested() => return,
                _ = events.recv() => tokio::time::sleep(Duration::from_millis(50)).await,
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
            while events.try_recv().is_ok() {}
        }
    }

    /// Takes every message in `new/`; returns how many were taken.
    pub async fn scan(&self) -> anyhow::Result<usize> {
        let root = &self.account.path;
        let new = root.join("new");
        let mut names: Vec<String> = std::fs::read_dir(&new)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e} (is it a Maildir?)", new.display()))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        let mut taken = 0;
        for name in names {
            let path = new.join(&name);
            // Known keys are settled without reading the file again.
            let known = self.store.mail_message(&self.account.name, "INBOX", key(&name)).await?;
            if matches!(&known, Some((_, state, _)) if *state != MessageState::Taken) {
                continue;
            }
            let raw = match std::fs::read(&path) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let policy = self.policy.current();
            let result = ingest(&self.store, &policy.limits, &policy.rules, &self.account.name, "INBOX", key(&name), &raw, None).await?;
            if let Ingested::Taken { message, action } = result {
                apply(root, &path, &name, &action)?;
                self.store.set_message_state(message, MessageState::Done).await?;
                self.wake.notify_one();
                taken += 1;
            }
        }
        Ok(taken)
    }
}

/// Moves a message out of `new/` as `action` says.
fn apply(root: &Path, path: &Path, name: &str, action: &Action) -> anyhow::Result<()> {
    let seen_name = with_flag(name, 'S');
    let target: Option<PathBuf> = match action {
        Action::Seen => Some(root.join("cur").join(&seen_name)),
        // Maildir has no keywords of its own (Dovecot keeps them in a side file): seen is the
        // closest mark that keeps the message out of `new/`.
        Action::Keyword(_) => Some(root.join("cur").join(&seen_name)),
        Action::Move(folder) => {
            let sub = root.join(format!(".{folder}"));
            for d in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(sub.join(d))?;
            }
            Some(sub.join("cur").join(&seen_name))
        }
        Action::Delete => None,
    };
    match target {
        Some(t) => {
            std::fs::create_dir_all(t.parent().expect("cur/ has a parent"))?;
            std::fs::rename(path, t)?;
        }
        None => std::fs::remove_file(path)?,
    }
    Ok(())
}

/// `name:2,FLAGS` with `flag` added (flags stay sorted, as the Maildir spec asks).
fn with_flag(name: &str, flag: char) -> String {
    let (base, flags) = match name.split_once(":2,") {
        Some((b, f)) => (b, f.to_string()),
        None => (key(name), String::new()),
    };
    let mut flags: Vec<char> = flags.chars().chain([flag]).collect();
    flags.sort();
    flags.dedup();
    format!("{base}:2,{}", flags.into_iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn flags_are_added_sorted() {
        assert_eq!(super::with_flag("1700000000.M1P2.host", 'S'), "1700000000.M1P2.host:2,S");
        assert_eq!(super::with_flag("1700000000.M1P2.host:2,RF", 'S'), "1700000000.M1P2.host:2,FRS");
        assert_eq!(super::with_flag("x:2,S", 'S'), "x:2,S");
    }
}
