//! What `/metrics` reads from the store at each scrape: counts and ages that are the store's
//! state, so they are right across restarts and across daemons sharing one store.

use super::{now_ms, Result, Store};
use sqlx::Row;

/// A label set's value: how many, and for queues the age of the oldest in seconds.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub documents_by_status: Vec<(String, i64)>,
    /// Stage → (queued or running jobs, age of the oldest queued one in seconds).
    pub jobs_by_stage: Vec<(String, i64, f64)>,
    pub runs_by_state: Vec<(String, i64)>,
    /// Kind → (open or claimed items, age of the oldest in seconds).
    pub exceptions_open: Vec<(String, i64, f64)>,
    /// Account name, kind, healthy.
    pub mail_accounts: Vec<(String, String, bool)>,
    /// Legacy systems found down.
    pub targets_down: Vec<super::Outage>,
}

/// Waiting items of one kind whose run's bot and document's type are these.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub kind: String,
    pub bot: Option<String>,
    pub doctype: Option<String>,
    /// How many were created before each cutoff asked for, in its order.
    pub older: Vec<i64>,
}

/// Seconds since an RFC 3339 time, 0 when it cannot be read.
fn age(stamp: Option<String>) -> f64 {
    stamp
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| ((now_ms() - t.timestamp_millis()) as f64 / 1000.0).max(0.0))
        .unwrap_or(0.0)
}

impl Store {
    pub async fn gauges(&self) -> Result<Gauges> {
        let pairs = |rows: Vec<sqlx::any::AnyRow>| rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let documents_by_status = pairs(
            sqlx::query("SELECT status, COUNT(*) FROM documents GROUP BY status ORDER BY status").fetch_all(&self.pool).await?,
        );
        let runs_by_state =
            pairs(sqlx::query("SELECT state, COUNT(*) FROM runs GROUP BY state ORDER BY state").fetch_all(&self.pool).await?);
        let jobs_by_stage = sqlx::query(
            "SELECT stage, COUNT(*), MIN(CASE WHEN state = 'queued' THEN created_at END) FROM jobs
             WHERE state IN ('queued', 'running') GROUP BY stage ORDER BY stage",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), age(r.get(2))))
        .collect();
        let exceptions_open = sqlx::query(
            "SELECT kind, COUNT(*), MIN(created_at) FROM exceptions WHERE state IN ('open', 'claimed')
             GROUP BY kind ORDER BY kind",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), age(r.get(2))))
        .collect();
        let mail_accounts = sqlx::query("SELECT name, kind, health FROM mail_accounts ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get::<String, _>(2) == "ok"))
            .collect();
        let targets_down = self.targets_down().await?;
        Ok(Gauges { documents_by_status, jobs_by_stage, runs_by_state, exceptions_open, mail_accounts, targets_down })
    }

    /// Documents received since `since` (RFC 3339), by hour (`YYYY-MM-DDTHH`) and status.
    pub async fn documents_by_hour(&self, since: &str) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT substr(received_at, 1, 13), status, COUNT(*) FROM documents WHERE received_at >= $1
             GROUP BY substr(received_at, 1, 13), status ORDER BY 1, 2",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// Open and claimed items created before each of `cutoffs` (RFC 3339), counted by kind and
    /// by the bot and document type that decide their SLA: one pass over the items older than the
    /// latest cutoff, and a few rows back however long the queue is.
    pub async fn waiting_before(&self, cutoffs: &[String]) -> Result<Vec<Waiting>> {
        let Some(latest) = cutoffs.iter().max() else { return Ok(vec![]) };
        let counts: String = (0..cutoffs.len())
            .map(|i| format!(", CAST(SUM(CASE WHEN e.created_at < ${} THEN 1 ELSE 0 END) AS BIGINT)", i + 2))
            .collect();
        let sql = format!(
            "SELECT e.kind, r.bot, d.doctype{counts} FROM exceptions e
               LEFT JOIN documents d ON d.id = e.document_id LEFT JOIN runs r ON r.id = e.run_id
             WHERE e.state IN ('open', 'claimed') AND e.created_at < $1
             GROUP BY e.kind, r.bot, d.doctype"
        );
        let query = cutoffs.iter().fold(sqlx::query(&sql).bind(latest), |q, c| q.bind(c));
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| Waiting {
                kind: r.get(0),
                bot: r.get(1),
                doctype: r.get(2),
                older: (0..cutoffs.len()).map(|i| r.get(i + 3)).collect(),
            })
            .collect())
    }

    /// Exception items queued since `since` (RFC 3339) for documents, and documents received.
    pub async fn exception_rate_since(&self, since: &str) -> Result<(i64, i64)> {
        let items: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT document_id) FROM exceptions WHERE created_at >= $1 AND run_id IS NULL",
        )
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let docs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE received_at >= $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok((items, docs))
    }
}
