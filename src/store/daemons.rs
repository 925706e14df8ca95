//! Daemons sharing a store: each beats its row in `daemons` every few seconds. When a daemon stops
//! beating (killed, its machine gone, cut off from the store), any other takes its work back at
//! once: the jobs and runs it held become claimable and its named leases free, instead of waiting
//! for each lease to run out. A daemon that was only cut off finds its claims gone: completion is
//! guarded by the claim (see `jobs`), so nothing is done twice.
//!
//! Lease owners are `DAEMON/…` (see `crate::lease::owner`), so a daemon's claims are found by
//! their prefix.

use super::{now, now_ms, Result, Store};

/// A daemon's work is taken back after this long without a beat (a beat is every
/// `BEAT_EVERY`; three in a row missed).
pub const STALE_AFTER_MS: i64 = 15_000;
pub const BEAT_EVERY_MS: i64 = 5_000;

impl Store {
    /// Records that `daemon` is alive.
    pub async fn beat(&self, daemon: &str, host: &str, pid: u32) -> Result<()> {
        sqlx::query(
            "INSERT INTO daemons (id, host, pid, started_at, last_seen) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET last_seen = $5",
        )
        .bind(daemon)
        .bind(host)
        .bind(pid as i64)
        .bind(now())
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Takes back the work of every daemon silent for `STALE_AFTER_MS` and forgets it; returns
    /// their names. Any daemon may do this; doing it twice changes nothing.
    pub async fn reap_silent_daemons(&self) -> Result<Vec<String>> {
        let silent: Vec<String> = sqlx::query_scalar("SELECT id FROM daemons WHERE last_seen < $1")
            .bind(now_ms() - STALE_AFTER_MS)
            .fetch_all(&self.pool)
            .await?;
        for daemon in &silent {
            let mut tx = self.write_tx().await?;
            let prefix = format!("{daemon}/");
            for sql in [
                "UPDATE jobs SET lease_until = 0 WHERE state = 'running' AND substr(lease_owner, 1, length($1)) = $1",
                "UPDATE runs SET lease_until = 0 WHERE state = 'running' AND substr(lease_owner, 1, length($1)) = $1",
                "DELETE FROM leases WHERE substr(owner, 1, length($1)) = $1",
            ] {
                sqlx::query(sql).bind(&prefix).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM daemons WHERE id = $1").bind(daemon).execute(&mut *tx).await?;
            Store::notify_work(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(silent)
    }

    /// A daemon stopping cleanly leaves the table (what it held it has given back already).
    pub async fn leave(&self, daemon: &str) -> Result<()> {
        sqlx::query("DELETE FROM daemons WHERE id = $1").bind(daemon).execute(&self.writer).await?;
        Ok(())
    }

    /// Daemons beating now, for status and tests: (id, last seen ms ago).
    pub async fn daemons(&self) -> Result<Vec<(String, i64)>> {
        let now = now_ms();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT id, last_seen FROM daemons ORDER BY id").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id, seen)| (id, now - seen)).collect())
    }

    /// Takes or keeps the named lease (one IMAP poller per folder, say) for `lease_ms`; false
    /// while another owner holds it.
    pub async fn hold_lease(&self, name: &str, owner: &str, lease_ms: i64) -> Result<bool> {
        let now = now_ms();
        let rows: Vec<(String,)> = sqlx::query_as(
            "INSERT INTO leases (name, owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = $2, lease_until = $3
             WHERE leases.owner = $2 OR leases.lease_until < $4
             RETURNING owner",
        )
        .bind(name)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_all(&self.writer)
        .await?;
        Ok(!rows.is_empty())
    }

    /// Gives a named lease up (the daemon is stopping).
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2").bind(name).bind(owner).execute(&self.writer).await?;
        Ok(())
    }
}
