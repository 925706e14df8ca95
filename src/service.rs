//! Telling systemd how the daemon is (`sd_notify`): `READY=1` once it runs, `STOPPING=1` when it
//! stops, and `WATCHDOG=1` while the loops that matter are alive. Each such loop beats a
//! [`Liveness`] whenever it turns; a loop that stops turning stops the pings, and systemd
//! (`WatchdogSec=`) restarts the daemon. Without `NOTIFY_SOCKET` all of this is silent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loop that has not beaten for this long counts as stuck. Every watched loop turns at least
/// every few seconds when idle (its longest sleep) and while it waits for a free slot.
pub const STUCK_AFTER: Duration = Duration::from_secs(15);

/// Sends one notification; false when there is no socket (not run by systemd) or it failed.
pub fn notify(message: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return false };
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else { return false };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket.
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name).and_then(|a| socket.send_to_addr(message.as_bytes(), &a))
    } else {
        socket.send_to(message.as_bytes(), std::path::Path::new(&path))
    };
    sent.is_ok()
}

/// When each watched loop last turned.
#[derive(Clone, Default)]
pub struct Liveness(Arc<Mutex<BTreeMap<&'static str, Instant>>>);

impl Liveness {
    pub fn beat(&self, name: &'static str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(name, Instant::now());
    }

    /// The loops that have not beaten for `STUCK_AFTER`.
    pub fn stuck(&self) -> Vec<&'static str> {
        let beats = self.0.lock().unwrap_or_else(|e| e.into_inner());
        beats.iter().filter(|(_, at)| at.elapsed() > STUCK_AFTER).map(|(name, _)| *name).collect()
    }
}

/// Pings the watchdog at half the interval systemd asked for (`WATCHDOG_USEC`), only while no
/// watched loop is stuck. Nothing to do when systemd set no watchdog.
pub fn spawn_watchdog(liveness: Liveness) {
    let Some(interval) = std::env::var("WATCHDOG_USEC").ok().and_then(|v| v.parse::<u64>().ok()) else { return };
    if std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok()).is_some_and(|p| p != std::process::id()) {
        return;
    }
    let every = Duration::from_micros(interval / 2).max(Duration::from_millis(100));
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            tokio::time::sleep(every).await;
            let stuck = liveness.stuck();
            if stuck.is_empty() {
                notify("WATCHDOG=1");
                warned = false;
            } else if !warned {
                tracing::error!(loops = ?stuck, "a loop has not turned for {} s: no more watchdog pings, so systemd restarts clerk", STUCK_AFTER.as_secs());
                warned = true;
            }
        }
    });
}
