//! Legacy systems found down, shared by every daemon on the store (migration 0013). The rules of
//! waiting are the runner's (`bots::outage`); this is their bookkeeping: which system is down
//! since when, who may try it next and when, and which runs wait for it.

use super::{now, now_ms, Result, Run, Store};
use serde::Serialize;
use sqlx::Row;

/// A system that could not be reached.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outage {
    pub target: String,
    /// Unix ms of the first failure.
    pub down_since_ms: i64,
    /// The last failure's reason.
    pub error: String,
    /// Unix ms before which no run tries the system.
    pub next_probe_ms: i64,
    /// Runs queued waiting for it.
    pub waiting_runs: i64,
}

/// What a run that waited for a system may do now.
#[derive(Debug)]
pub enum Probe {
    /// The system is no longer known to be down.
    Up,
    /// This run tries it (nobody else will until the probe's lease runs out).
    Mine,
    /// Another run tries it first; wait.
    Wait(Outage),
}

const COLUMNS: &str = "target, down_since, error, next_probe, \
     (SELECT COUNT(*) FROM runs r WHERE r.waiting_for = targets.target AND r.state = 'queued')";

fn outage(r: &sqlx::any::AnyRow) -> Outage {
    Outage { target: r.get(0), down_since_ms: r.get(1), error: r.get(2), next_probe_ms: r.get(3), waiting_runs: r.get(4) }
}

impl Store {
    /// Records that `target` could not be reached. The first failure starts the outage; the
    /// failure of a probe (or of any try once the probe was due) moves the next probe out by
    /// `delay(probes so far)`; other failures (runs that tried before they knew) leave the
    /// schedule as it is.
    pub async fn target_down(
        &self,
        target: &str,
        error: &str,
        prober: bool,
        delay: impl Fn(i64) -> i64,
    ) -> Result<Outage> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO targets (target, down_since, error, probes, next_probe, checked_at) VALUES ($1, $2, $3, 0, $4, $2)
             ON CONFLICT (target) DO NOTHING",
        )
        .bind(target)
        .bind(now)
        .bind(error)
        .bind(now + delay(0))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let row = sqlx::query("SELECT probes, next_probe FROM targets WHERE target = $1")
            .bind(target)
            .fetch_one(&mut *tx)
            .await?;
        let (probes, next_probe): (i64, i64) = (row.get(0), row.get(1));
        if !inserted && (prober || next_probe <= now) {
            sqlx::query("UPDATE targets SET probes = probes + 1, next_probe = $2, error = $3, checked_at = $4 WHERE target = $1")
                .bind(target)
                .bind(now + delay(probes + 1))
                .bind(error)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        } else if !inserted {
            sqlx::query("UPDATE targets SET error = $2, checked_at = $3 WHERE target = $1")
                .bind(target)
                .bind(error)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM targets WHERE target = $1"))
            .bind(target)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(outage(&row))
    }

    /// Takes the next probe of `target` when it is due (for `lease_ms`, after which another run
    /// may take it if this one never reports).
    pub async fn take_probe(&self, target: &str, lease_ms: i64) -> Result<Probe> {
        let now = now_ms();
        let taken = sqlx::query("UPDATE targets SET next_probe = $2 WHERE target = $1 AND next_probe <= $3")
            .bind(target)
            .bind(now + lease_ms)
            .bind(now)
            .execute(&self.writer)
            .await?;
        if taken.rows_affected() > 0 {
            return Ok(Probe::Mine);
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM targets WHERE target = $1"))
            .bind(target)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Probe::Wait(outage(&r)),
            None => Probe::Up,
        })
    }

    /// `target` answered: it is no longer down, and every run waiting for it is due now.
    /// Returns how many runs were woken.
    pub async fn target_up(&self, target: &str) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM targets WHERE target = $1").bind(target).execute(&mut *tx).await?;
        let woken = sqlx::query(
            "UPDATE runs SET run_after = $2, updated_at = $3 WHERE waiting_for = $1 AND state = 'queued'",
        )
        .bind(target)
        .bind(now_ms())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(woken.rows_affected())
    }

    /// Gives a running run back to the queue until `at_ms`, waiting for `target` (down), which
    /// it has waited for since `since_ms`.
    pub async fn wait_for_target(&self, run: &Run, target: &str, since_ms: i64, at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET state = 'queued', run_after = $1, lease_owner = NULL, updated_at = $2, waiting_for = $3, waiting_since = $4
             WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
        )
        .bind(at_ms)
        .bind(now())
        .bind(target)
        .bind(since_ms)
        .bind(run.id)
        .bind(&run.owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Every system known to be down, the longest-down first.
    pub async fn targets_down(&self) -> Result<Vec<Outage>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM targets ORDER BY down_since, target"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(outage).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_probe_at_a_time_and_an_answer_ends_the_outage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let t = "http://erp.example:80";
        assert!(matches!(store.take_probe(t, 60_000).await.unwrap(), Probe::Up));
        let first = store.target_down(t, "connection refused", false, |p| 1000 << p).await.unwrap();
        assert_eq!(first.error, "connection refused");
        assert!(first.next_probe_ms >= first.down_since_ms + 1000);
        // Another run that tried before it knew leaves the schedule alone.
        let again = store.target_down(t, "connection refused", false, |p| 1000 << p).await.unwrap();
        assert_eq!((again.down_since_ms, again.next_probe_ms), (first.down_since_ms, first.next_probe_ms));
        // Not due yet: wait.
        assert!(matches!(store.take_probe(t, 60_000).await.unwrap(), Probe::Wait(_)));
        // The probe's failure doubles the wait.
        let probed = store.target_down(t, "connection refused", true, |p| 1000 << p).await.unwrap();
        assert!(probed.next_probe_ms >= probed.down_since_ms + 2000, "{probed:?}");
        assert_eq!(store.targets_down().await.unwrap().len(), 1);
        store.target_up(t).await.unwrap();
        assert!(store.targets_down().await.unwrap().is_empty());
        assert!(matches!(store.take_probe(t, 60_000).await.unwrap(), Probe::Up));
    }
}
