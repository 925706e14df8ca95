//! Wake-ups across daemons. A transaction that makes work for other daemons (a job queued, a run
//! queued, a dead daemon's work taken back) sends `NOTIFY` on PostgreSQL, delivered when it
//! commits; every daemon LISTENs and wakes the loop that claims that work. Polling stays as the
//! fallback (the lease loops look at least every few seconds), for notifications lost while the
//! listening connection was down. SQLite has one daemon: its wake-ups stay in-process.

use super::{Result, Store};
use crate::shutdown::Shutdown;
use sqlx::postgres::PgListener;
use sqlx::AnyConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const CHANNEL: &str = "clerk";

/// Which loop a notification wakes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Work {
    Jobs,
    Runs,
}

impl Work {
    /// The notification's payload.
    fn as_str(self) -> &'static str {
        match self {
            Work::Jobs => "jobs",
            Work::Runs => "runs",
        }
    }
}

/// The loops a notification wakes.
#[derive(Clone)]
pub struct Wakers {
    pub jobs: Arc<Notify>,
    pub runs: Arc<Notify>,
}

impl Wakers {
    fn all(&self) {
        self.jobs.notify_one();
        self.runs.notify_one();
    }
}

impl Store {
    /// Tells every daemon, at commit, that there is `work` to claim.
    pub(super) async fn notify(tx: &mut AnyConnection, work: Work) -> Result<()> {
        if tx.backend_name() == "PostgreSQL" {
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(work.as_str()).execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// `insert` (an `INSERT … RETURNING …` that makes `work`) as a statement that also tells
    /// every daemon, at commit, when it inserted a row: on PostgreSQL the notification rides in
    /// the same statement, a round trip fewer per job than a `NOTIFY` of its own.
    pub(super) fn announcing(tx: &AnyConnection, insert: &str, work: Work) -> String {
        match tx.backend_name() {
            "PostgreSQL" => format!(
                "WITH made AS ({insert}) SELECT made.* FROM made CROSS JOIN (SELECT {}::text) announced",
                Store::notify_expr(work)
            ),
            _ => insert.to_string(),
        }
    }

    /// The SQL expression that tells every daemon, at commit, that there is `work` (PostgreSQL),
    /// for a statement that chains its writes (see [`Store::chains_writes`]).
    pub(super) fn notify_expr(work: Work) -> String {
        format!("pg_notify('{CHANNEL}', '{}')", work.as_str())
    }

    pub(super) async fn notify_work(tx: &mut AnyConnection) -> Result<()> {
        Store::notify(tx, Work::Jobs).await?;
        Store::notify(tx, Work::Runs).await
    }

    /// Listens for other daemons' notifications until `stop` (PostgreSQL; nothing to do on
    /// SQLite). A lost connection is made again; since notifications sent meanwhile are lost,
    /// every loop is woken then to look for itself.
    pub fn listen(&self, wake: Wakers, mut stop: Shutdown) {
        let Some(url) = self.url.clone() else { return };
        tokio::spawn(async move {
            let mut listener: Option<PgListener> = None;
            loop {
                if stop.is_requested() {
                    return;
                }
                let Some(l) = listener.as_mut() else {
                    match connect(&url).await {
                        Ok(l) => {
                            listener = Some(l);
                            wake.all();
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "cannot listen for other daemons' work; polling meanwhile");
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                                _ = stop.requested() => return,
                            }
                        }
                    }
                    continue;
                };
                let got = tokio::select! {
                    got = l.try_recv() => got,
                    _ = stop.requested() => return,
                };
                match got {
                    Ok(Some(n)) if n.payload() == "runs" => wake.runs.notify_one(),
                    Ok(Some(_)) => wake.jobs.notify_one(),
                    // The connection dropped; the next call connects again.
                    Ok(None) => wake.all(),
                    Err(_) => listener = None,
                }
            }
        });
    }
}

async fn connect(url: &str) -> sqlx::Result<PgListener> {
    let mut l = PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}
