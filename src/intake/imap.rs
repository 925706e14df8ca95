//! IMAP mailboxes. Each account keeps one connection: every watched folder is read from the UID
//! after the last one taken (UIDVALIDITY and UID are kept in the store, so a restart neither takes
//! a message twice nor misses one; a changed UIDVALIDITY re-reads the folder and recognises what
//! was taken by Message-ID and content). Messages are fetched with BODY.PEEK (nothing is marked
//! by reading), stored, and only then marked, moved or deleted as their rule says. Between reads
//! the connection waits in IDLE when the server offers it. When the server goes away the account
//! is unhealthy (`clerk mail status`, the logs) and clerk reconnects with backoff.

use crate::states::MessageState;
use super::mail::{Action, Policy};
use super::messages::{ingest, Ingested};
use crate::config::{ImapAccount, ImapTls};
use crate::store::Store;
use anyhow::Context;
use futures_util::StreamExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use crate::heartbeat;
use crate::shutdown::Shutdown;
use tokio::sync::Notify;

type Session = async_imap::Session<Stream>;

pub struct ImapSource {
    pub account: ImapAccount,
    pub policy: Policy,
    pub store: Store,
    /// Folders are re-read this often when IDLE is not used (several folders, or no server support).
    pub poll_interval: Duration,
    pub secrets_file: Option<PathBuf>,
    pub wake: Arc<Notify>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl crate::intake::Source for ImapSource {
    fn name(&self) -> String {
        format!("imap {}", self.account.name)
    }
    fn run(self: Box<Self>, stop: Shutdown) -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> {
        // It reports its own troubles (the account's health) and runs until the stop.
        Box::pin(async move {
            (*self).run(stop).await;
            Ok(())
        })
    }
}

impl ImapSource {
    /// Serves the account until `stop`. Of several daemons configured with the same account,
    /// one reads it at a time (a named lease); another takes over when that one dies.
    pub async fn run(self, mut stop: Shutdown) {
        let lease = format!("imap:{}", self.account.name);
        let mut backoff = Duration::from_secs(1);
        loop {
            if !heartbeat::take_lease(&self.store, &lease, &mut stop).await {
                return;
            }
            match heartbeat::holding(&self.store, &lease, self.serve(&mut stop, &mut backoff)).await {
                Some(Ok(())) => {
                    heartbeat::release_lease(&self.store, &lease).await;
                    return;
                }
                None => {
                    tracing::info!(account = self.account.name, "another daemon took over this account");
                    continue;
                }
                Some(Err(e)) => {
                    let detail = format!("{e:#}");
                    tracing::warn!(
                        account = self.account.name,
                        error = detail,
                        retry_in_s = backoff.as_secs(),
                        "IMAP account unavailable"
                    );
                    let _ = self.store.set_account_health(&self.account.name, "imap", false, &detail).await;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.requested() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection's life: connect, read every folder, wait, repeat. `Ok` when stopped.
    async fn serve(&self, stop: &mut Shutdown, backoff: &mut Duration) -> anyhow::Result<()> {
        let mut session = connect(&self.account, self.secrets_file.as_deref()).await?;
        *backoff = Duration::from_secs(1);
        let idle = self.account.idle && session.capabilities().await.context("CAPABILITY")?.has_str("IDLE");
        tracing::info!(account = self.account.name, idle, "IMAP account connected");
        loop {
            let mut taken = 0;
            for folder in &self.account.folders {
                taken += self.sync(&mut session, folder).await.with_context(|| format!("folder {folder}"))?;
            }
            let how = if idle { "IDLE" } else { "polling" };
            let detail = format!("connected ({how}); {taken} message(s) taken in the last pass");
            self.store.set_account_health(&self.account.name, "imap", true, &detail).await?;
            if stop.is_requested() {
                let _ = session.logout().await;
                return Ok(());
            }
            if idle {
                // Wait in the first folder; others are re-read when IDLE times out. Settings
                // refuse an account without folders, so there is a first.
                let Some(first) = self.account.folders.first() else { return Ok(()) };
                session.select(first).await?;
                let wait = if self.account.folders.len() > 1 { self.poll_interval } else { Duration::from_secs(600) };
                let mut handle = session.idle();
                handle.init().await.context("IDLE")?;
                let stopped = {
                    let (fut, interrupt) = handle.wait_with_timeout(wait);
                    tokio::pin!(fut);
                    let stopped = tokio::select! {
                        r = &mut fut => { r.context("IDLE")?; false }
                        _ = stop.requested() => true,
                    };
                    drop(interrupt);
                    stopped
                };
                session = handle.done().await.context("ending IDLE")?;
                if stopped {
                    let _ = session.logout().await;
                    return Ok(());
                }
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = stop.requested() => { let _ = session.logout().await; return Ok(()); }
                }
            }
        }
    }

    /// Takes every new message of `folder`; returns how many were taken.
    async fn sync(&self, session: &mut Session, folder: &str) -> anyhow::Result<usize> {
        let account = &self.account.name;
        let mailbox = session.select(folder).await.context("SELECT")?;
        let uidvalidity = mailbox.uid_validity.unwrap_or(0) as i64;
        let mut last_uid = match self.store.imap_folder(account, folder).await? {
            Some((uv, last)) if uv == uidvalidity => last,
            Some((uv, _)) => {
                tracing::warn!(account, folder, old = uv, new = uidvalidity, "UIDVALIDITY changed: reading the folder again, recognising taken messages by Message-ID and content");
                0
            }
            None => 0,
        };
        self.store.set_imap_folder(account, folder, uidvalidity, last_uid).await?;
        // Actions a stop interrupted: the documents are stored, the mark or move is not.
        for (id, key, rule) in self.store.messages_taken(account, folder).await? {
            if let Some(uid) = key.strip_prefix(&format!("{uidvalidity}/")) {
                let action = self.policy.current().rules.iter().find(|r| Some(&r.name) == rule.as_ref()).map(|r| r.action.clone());
                apply(session, uid, &action.unwrap_or(Action::Seen)).await?;
            }
            self.store.set_message_state(id, MessageState::Done).await?;
        }
        let mut uids: Vec<u32> = session
            .uid_search(format!("UID {}:*", last_uid + 1))
            .await
            .context("UID SEARCH")?
            .into_iter()
            .filter(|&u| u as i64 > last_uid)
            .collect();
        uids.sort_unstable();
        let mut taken = 0;
        for chunk in uids.chunks(50) {
            let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let mut messages = vec![];
            {
                let mut fetched = session.uid_fetch(&set, "(UID BODY.PEEK[])").await.context("UID FETCH")?;
                while let Some(f) = fetched.next().await {
                    let f = f.context("UID FETCH")?;
                    if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                        messages.push((uid, body.to_vec()));
                    }
                }
            }
            messages.sort_by_key(|(uid, _)| *uid);
            for (uid, raw) in messages {
                let key = format!("{uidvalidity}/{uid}");
                let policy = self.policy.current();
                match ingest(&self.store, &policy.limits, &policy.rules, account, folder, &key, &raw, None).await? {
                    Ingested::Taken { message, action } => {
                        apply(session, &uid.to_string(), &action).await?;
                        self.store.set_message_state(message, MessageState::Done).await?;
                        self.wake.notify_one();
                        taken += 1;
                    }
                    Ingested::Unmatched | Ingested::Done => {}
                }
                last_uid = last_uid.max(uid as i64);
                self.store.set_imap_folder(account, folder, uidvalidity, last_uid).await?;
            }
        }
        Ok(taken)
    }
}

/// Marks, tags, moves or deletes message `uid` of the selected folder.
async fn apply(session: &mut Session, uid: &str, action: &Action) -> anyhow::Result<()> {
    async fn store_flags(session: &mut Session, uid: &str, flags: &str) -> anyhow::Result<()> {
        let mut s = session.uid_store(uid, format!("+FLAGS.SILENT ({flags})")).await.context("UID STORE")?;
        while let Some(r) = s.next().await {
            r.context("UID STORE")?;
        }
        Ok(())
    }
    match action {
        Action::Seen => store_flags(session, uid, "\\Seen").await,
        Action::Keyword(k) => store_flags(session, uid, k).await,
        Action::Move(folder) => {
            // The folder is created on first use; an "already exists" answer is fine.
            let _ = session.create(folder).await;
            store_flags(session, uid, "\\Seen").await?;
            session.uid_mv(uid, folder).await.with_context(|| format!("UID MOVE to {folder}"))
        }
        Action::Delete => {
            store_flags(session, uid, "\\Deleted").await?;
            let s = session.uid_expunge(uid).await.context("UID EXPUNGE")?;
            let mut s = std::pin::pin!(s);
            while let Some(r) = s.next().await {
                r.context("UID EXPUNGE")?;
            }
            Ok(())
        }
    }
}

/// Connects and logs in (`clerk mail test` uses it too).
pub async fn connect(account: &ImapAccount, secrets_file: Option<&std::path::Path>) -> anyhow::Result<Session> {
    let (found, missing) = crate::secrets::resolve(std::slice::from_ref(&account.password_secret), secrets_file)
        .map_err(anyhow::Error::msg)?;
    if !missing.is_empty() {
        anyhow::bail!(
            "the password secret {} is not set (CLERK_SECRET_{} or the secrets file)",
            account.password_secret,
            account.password_secret
        );
    }
    let password = found.into_values().next().unwrap_or_default();
    let port = account.port.unwrap_or(if account.tls == ImapTls::Tls { 993 } else { 143 });
    let tcp = tokio::time::timeout(Duration::from_secs(15), TcpStream::connect((account.host.as_str(), port)))
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {}:{port} within 15 s", account.host))?
        .with_context(|| format!("cannot connect to {}:{port}", account.host))?;
    let stream = match account.tls {
        ImapTls::Plain => Stream::Plain(tcp),
        ImapTls::Tls => Stream::Tls(Box::new(tls(tcp, account).await?)),
        ImapTls::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await?.context("the server closed the connection")?;
            client.run_command_and_check_ok("STARTTLS", None).await.context("STARTTLS")?;
            Stream::Tls(Box::new(tls(client.into_inner(), account).await?))
        }
    };
    let mut client = async_imap::Client::new(stream);
    if account.tls != ImapTls::Starttls {
        client.read_response().await?.context("the server closed the connection before its greeting")?;
    }
    let session = client
        .login(&account.user, &password)
        .await
        .map_err(|(e, _)| anyhow::anyhow!("login as {} refused: {e}", account.user))?;
    Ok(session)
}

async fn tls(tcp: TcpStream, account: &ImapAccount) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    let host = account.host.as_str();
    let mut roots = tokio_rustls::rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(ca) = &account.ca_file {
        let certs = CertificateDer::pem_file_iter(ca)
            .with_context(|| format!("cannot read ca_file {}", ca.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("ca_file {} is not PEM certificates", ca.display()))?;
        for cert in certs {
            roots.add(cert).with_context(|| format!("a certificate in {} is not usable", ca.display()))?;
        }
    }
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())?;
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.context("TLS handshake")
}

/// A plain or TLS connection.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
