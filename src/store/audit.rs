//! Reading the audit trail: every change people and clerk made, newest first — including what
//! belongs to no document (sign-ins, refused sign-ins, users added and changed, tokens).

use super::{Result, Store};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: a user's name, or `clerk`.
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub document_id: Option<i64>,
    pub exception_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// At or after this time (RFC 3339 UTC, as stored).
    pub since: Option<String>,
    /// Only entries older than this one (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn audit_trail(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, detail, document_id, exception_id FROM audit
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR at >= $3)
               AND ($4 IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5",
        )
        .bind(&f.actor)
        .bind(&f.action)
        .bind(&f.since)
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                detail: r.get(4),
                document_id: r.get(5),
                exception_id: r.get(6),
            })
            .collect())
    }
}
