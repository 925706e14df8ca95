//! This daemon among the daemons sharing a store: its name, the lease owner names derived from
//! it, and the loop that beats its row and takes back the work of daemons that stopped beating
//! (see `store::daemons`).

use crate::shutdown::Shutdown;
use crate::store::{Store, Wakers, BEAT_EVERY_MS};
use std::sync::LazyLock;
use std::time::Duration;

static HOST: LazyLock<String> = LazyLock::new(|| {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
});

/// `host:pid:start`: unique among daemons on many machines, and new at every start, so a
/// restarted daemon's predecessor is recognised as gone and its claims taken back, not inherited.
static DAEMON: LazyLock<String> =
    LazyLock::new(|| format!("{}:{}:{}", *HOST, std::process::id(), crate::store::now_ms()));

pub fn daemon_id() -> &'static str {
    &DAEMON
}

/// The lease owner for one of this daemon's claimers: `DAEMON/what`.
pub fn owner(what: &str) -> String {
    format!("{}/{what}", daemon_id())
}

/// Beats until `stop`, then leaves the table. Each beat also looks for silent daemons; when one
/// is found its work becomes claimable, and the local loops are woken to claim it.
pub async fn run(store: Store, wake: Wakers, mut stop: Shutdown) {
    let mut failing = false;
    loop {
        match store.beat(daemon_id(), &HOST, std::process::id()).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("the store answers again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot reach the store to say this daemon is alive; retrying");
            }
            Err(_) => {}
        }
        match store.reap_silent_daemons().await {
            Ok(gone) if !gone.is_empty() => {
                tracing::info!(daemons = ?gone, "took back the work of daemons that stopped answering");
                wake.jobs.notify_one();
                wake.runs.notify_one();
            }
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(BEAT_EVERY_MS as u64)) => {}
            _ = stop.requested() => break,
        }
    }
    let _ = store.leave(daemon_id()).await;
}

/// How long a named lease (one mailbox poller) lasts without renewal.
const NAMED_LEASE_MS: i64 = 30_000;

/// Waits until this daemon holds the named lease: at once when no other daemon does, or when
/// the one that does stops renewing it (it died, or its heartbeat was reaped). False when the stop
/// comes first.
pub async fn take_lease(store: &Store, name: &str, stop: &mut Shutdown) -> bool {
    let owner = owner("leases");
    let mut said = false;
    loop {
        match store.hold_lease(name, &owner, NAMED_LEASE_MS).await {
            Ok(true) => return true,
            Ok(false) if !said => {
                said = true;
                tracing::info!(lease = name, "another daemon serves this; standing by to take over");
            }
            Ok(false) => {}
            Err(e) => tracing::debug!(lease = name, error = %e, "cannot ask the store for the lease"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(NAMED_LEASE_MS as u64 / 3)) => {}
            _ = stop.requested() => return false,
        }
    }
}

/// Runs `work` while renewing the named lease; `None` when the lease was lost first (another
/// daemon holds it now, or the store was unreachable for as long as the lease lasts), and `work`
/// is dropped then.
pub async fn holding<F: std::future::Future>(store: &Store, name: &str, work: F) -> Option<F::Output> {
    let owner = owner("leases");
    let renew = async {
        let mut held_until = crate::store::now_ms() + NAMED_LEASE_MS;
        loop {
            tokio::time::sleep(Duration::from_millis(NAMED_LEASE_MS as u64 / 3)).await;
            match store.hold_lease(name, &owner, NAMED_LEASE_MS).await {
                Ok(true) => held_until = crate::store::now_ms() + NAMED_LEASE_MS,
                Ok(false) => return,
                Err(_) if crate::store::now_ms() >= held_until => return,
                Err(_) => {}
            }
        }
    };
    tokio::select! {
        out = work => Some(out),
        _ = renew => None,
    }
}

/// Gives the named lease up (stopping), so another daemon takes over at once.
pub async fn release_lease(store: &Store, name: &str) {
    let _ = store.release_lease(name, &owner("leases")).await;
}
