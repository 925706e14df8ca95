//! The exception queue: items an agent claims and resolves or rejects. Every state change is
//! guarded by the item's current state (no resolving what someone else rejected) and audited.

use super::{now, Result, Store};
use crate::classify::ExceptionKind;
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionItem {
    pub id: i64,
    /// The document, for intake exceptions and runs on a document.
    pub document_id: Option<i64>,
    /// The run, for business (`escalate`) and system (a step failed) exceptions.
    pub run_id: Option<i64>,
    pub kind: String,
    pub reason: String,
    pub state: String,
    pub claimed_by: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub original_name: Option<String>,
    /// For run exceptions: the step, its last request and response (secrets masked).
    pub detail: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    pub kind: Option<String>,
    pub state: Option<String>,
    pub document_id: Option<i64>,
    pub run_id: Option<i64>,
}

impl Store {
    pub(super) async fn open_exception(
        tx: &mut Transaction<'_, Any>,
        document_id: i64,
        kind: ExceptionKind,
        reason: &str,
    ) -> Result<i64> {
        Store::open_run_exception(tx, Some(document_id), None, kind, reason, None).await
    }

    /// Queues an exception for a run (and its document, if it has one).
    pub(super) async fn open_run_exception(
        tx: &mut Transaction<'_, Any>,
        document_id: Option<i64>,
        run_id: Option<i64>,
        kind: ExceptionKind,
        reason: &str,
        detail: Option<&serde_json::Value>,
    ) -> Result<i64> {
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO exceptions (document_id, run_id, kind, reason, detail, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(document_id)
        .bind(run_id)
        .bind(kind.as_str())
        .bind(reason)
        .bind(detail.map(|d| d.to_string()))
        .bind(&t)
        .bind(&t)
        .fetch_all(&mut **tx)
            .await
            .and_then(super::returned)?;
        Store::audit(&mut **tx, document_id, Some(id), "clerk", &format!("exception:{}", kind.as_str()), reason)
            .await?;
        Ok(id)
    }

    pub async fn exceptions(&self, f: &ExceptionFilter) -> Result<Vec<ExceptionItem>> {
        let rows = sqlx::query(
            "SELECT e.id, e.document_id, e.kind, e.reason, e.state, e.claimed_by, e.resolved_by, e.resolution, d.original_name, e.created_at, e.updated_at, e.run_id, e.detail
             FROM exceptions e LEFT JOIN documents d ON d.id = e.document_id
             WHERE ($1 IS NULL OR e.kind = $1) AND ($2 IS NULL OR e.state = $2) AND ($3 IS NULL OR e.document_id = $3) AND ($4 IS NULL OR e.run_id = $4)
             ORDER BY e.id",
        )
        .bind(&f.kind)
        .bind(&f.state)
        .bind(f.document_id)
        .bind(f.run_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| row_to_item(&r)).collect())
    }

    pub async fn exception(&self, id: i64) -> Result<Option<ExceptionItem>> {
        let row = sqlx::query(
            "SELECT e.id, e.document_id, e.kind, e.reason, e.state, e.claimed_by, e.resolved_by, e.resolution, d.original_name, e.created_at, e.updated_at, e.run_id, e.detail
             FROM exceptions e LEFT JOIN documents d ON d.id = e.document_id WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_item))
    }

    /// Claims an open item (or re-claims one the same agent holds). Returns the state it was in
    /// when the claim failed.
    pub async fn claim_exception(&self, id: i64, agent: &str) -> Result<Result<(), String>> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query(
            "UPDATE exceptions SET state = 'claimed', claimed_by = $1, updated_at = $2
             WHERE id = $3 AND (state = 'open' OR (state = 'claimed' AND claimed_by = $4))
             RETURNING document_id",
        )
        .bind(agent)
        .bind(now())
        .bind(id)
        .bind(agent)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .next();
        match r {
            Some(row) => {
                Store::audit(&mut *tx, row.get(0), Some(id), agent, "claimed", "").await?;
                tx.commit().await?;
                Ok(Ok(()))
            }
            None => Ok(Err(self.describe_state(id).await?)),
        }
    }

    /// Closes an item as resolved or rejected, in the caller's transaction (resolving also
    /// updates the document). Only an open item, or one claimed by `agent`, can be closed.
    pub(super) async fn close_exception(
        tx: &mut Transaction<'_, Any>,
        id: i64,
        agent: &str,
        state: &str,
        resolution: &str,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE exceptions SET state = $1, resolved_by = $2, resolution = $3, updated_at = $4
             WHERE id = $5 AND (state = 'open' OR (state = 'claimed' AND claimed_by = $6))
             RETURNING document_id",
        )
        .bind(state)
        .bind(agent)
        .bind(resolution)
        .bind(now())
        .bind(id)
        .bind(agent)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .next();
        match r {
            Some(row) => {
                Store::audit(&mut **tx, row.get(0), Some(id), agent, state, resolution).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// "it does not exist" / "it is claimed by NAME" / "it is already resolved", for errors.
    pub async fn describe_state(&self, id: i64) -> Result<String> {
        Ok(match self.exception(id).await? {
            None => format!("exception {id} does not exist"),
            Some(e) if e.state == "claimed" => {
                format!("exception {id} is claimed by {}", e.claimed_by.unwrap_or_default())
            }
            Some(e) => format!("exception {id} is already {}", e.state),
        })
    }
}

fn row_to_item(r: &sqlx::any::AnyRow) -> ExceptionItem {
    ExceptionItem {
        id: r.get(0),
        document_id: r.get(1),
        kind: r.get(2),
        reason: r.get(3),
        state: r.get(4),
        claimed_by: r.get(5),
        resolved_by: r.get(6),
        resolution: r.get(7),
        original_name: r.get(8),
        created_at: r.get(9),
        updated_at: r.get(10),
        run_id: r.get(11),
        detail: r.get::<Option<String>, _>(12).and_then(|d| serde_json::from_str(&d).ok()),
    }
}
