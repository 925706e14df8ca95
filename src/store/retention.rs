//! What the retention settings remove (see `crate::retention` for when): finished documents
//! whole, the originals of finished documents and mail messages, old audit lines, and the blobs
//! nothing keeps any more.
//!
//! A document is finished when it is settled (not on its way, no item waiting), none of its
//! items, runs or jobs is still open, and nothing about it changed since the cut-off — its
//! last touch counts, not its arrival, so a document an agent resolved today is kept as long
//! as one that went straight through today.

use super::{now, now_ms, Result, Store};
use sqlx::Row;

/// `d` is finished and untouched since `$1` (an RFC 3339 time).
const FINISHED: &str = "d.status NOT IN ('received', 'extracted', 'exception') AND d.updated_at < $1
    AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.document_id = d.id AND (e.state IN ('open', 'claimed') OR e.updated_at >= $1))
    AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.document_id = d.id AND (r.state IN ('queued', 'running', 'escalated', 'failed') OR r.updated_at >= $1))
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = d.id AND (j.state IN ('queued', 'running') OR j.updated_at >= $1))
    AND NOT EXISTS (SELECT 1 FROM documents p WHERE p.split_from = d.id AND (p.status IN ('received', 'extracted', 'exception') OR p.updated_at >= $1))";

/// A blob is wanted while a document or mail message that keeps its original names it.
const WANTED: &str = "(EXISTS (SELECT 1 FROM documents WHERE sha256 = $1 AND original_removed IS NULL)
    OR EXISTS (SELECT 1 FROM mail_messages WHERE sha256 = $1 AND original_removed IS NULL))";

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub originals: i64,
    pub documents: i64,
    pub audit: i64,
}

impl Removed {
    pub fn add(&mut self, other: Removed) {
        self.originals += other.originals;
        self.documents += other.documents;
        self.audit += other.audit;
    }
}

/// The last pass and what all passes removed, for the dashboard.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RetentionRecord {
    pub last_pass: String,
    pub last: Removed,
    pub total: Removed,
}

impl Store {
    /// Removes finished documents untouched since `cutoff`, among the next `limit` of them after
    /// id `after`, with their pages, items, runs and jobs (the audit trail keeps its lines: it
    /// has its own setting). A document another one still points at (a duplicate's first, a
    /// batch's parts) waits for it. Returns how many went, their blobs' hashes (for
    /// [`Store::drop_blob`]), and the last id looked at (none: there were no more).
    pub async fn remove_documents(&self, cutoff: &str, after: i64, limit: i64) -> Result<(i64, Vec<String>, Option<i64>)> {
        let rows = sqlx::query(&format!("SELECT d.id, d.sha256 FROM documents d WHERE d.id > $3 AND {FINISHED} ORDER BY d.id LIMIT $2"))
            .bind(cutoff)
            .bind(limit)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        let last = rows.last().map(|r| r.get::<i64, _>(0));
        let mut going: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // Keep any document a staying one points at; what is kept may free others to go later.
        loop {
            let ids: Vec<i64> = going.iter().map(|(id, _)| *id).collect();
            let mut held = Vec::new();
            for (id, _) in &going {
                let pointing: Vec<i64> = sqlx::query_scalar("SELECT id FROM documents WHERE duplicate_of = $1 OR split_from = $1")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?;
                if pointing.iter().any(|p| !ids.contains(p)) {
                    held.push(*id);
                }
            }
            if held.is_empty() {
                break;
            }
            going.retain(|(id, _)| !held.contains(id));
        }
        let mut tx = self.write_tx().await?;
        let mut removed = 0;
        // Parts and duplicates before what they point at.
        for (id, _) in going.iter().rev() {
            // Looked at again inside the transaction: an agent may have reopened it since.
            let still: Option<i64> = sqlx::query_scalar(&format!("SELECT d.id FROM documents d WHERE d.id = $2 AND {FINISHED}"))
                .bind(cutoff)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if still.is_none() {
                continue;
            }
            for sql in [
                "DELETE FROM run_steps WHERE run_id IN (SELECT id FROM runs WHERE document_id = $1)",
                "DELETE FROM runs WHERE document_id = $1",
                "DELETE FROM jobs WHERE document_id = $1",
                "DELETE FROM exceptions WHERE document_id = $1",
                "DELETE FROM pages WHERE document_id = $1",
                "DELETE FROM documents WHERE id = $1",
            ] {
                sqlx::query(sql).bind(id).execute(&mut *tx).await?;
            }
            removed += 1;
        }
        tx.commit().await?;
        Ok((removed, going.into_iter().map(|(_, sha)| sha).collect(), last))
    }

    /// Marks the originals of up to `limit` finished documents untouched since `cutoff`, and of
    /// mail messages done since then, as removed. Returns how many and their hashes, for
    /// [`Store::drop_blob`].
    pub async fn remove_originals(&self, cutoff: &str, limit: i64) -> Result<(i64, Vec<String>)> {
        let t = now();
        let mut tx = self.write_tx().await?;
        let docs = sqlx::query(&format!(
            "UPDATE documents SET original_removed = $3 WHERE id IN
               (SELECT d.id FROM documents d WHERE d.original_removed IS NULL AND {FINISHED} ORDER BY d.id LIMIT $2)
             RETURNING sha256"
        ))
        .bind(cutoff)
        .bind(limit)
        .bind(&t)
        .fetch_all(&mut *tx)
        .await?;
        // A message's documents have originals of their own; its raw form goes once it is done.
        let mail = sqlx::query(
            "UPDATE mail_messages SET original_removed = $3 WHERE id IN
               (SELECT id FROM mail_messages WHERE original_removed IS NULL AND state <> 'taken' AND updated_at < $1 ORDER BY id LIMIT $2)
             RETURNING sha256",
        )
        .bind(cutoff)
        .bind(limit)
        .bind(&t)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let hashes: Vec<String> = docs.iter().chain(&mail).map(|r| r.get(0)).collect();
        Ok((docs.len() as i64, hashes))
    }

    /// Removes up to `limit` of the audit lines written before `cutoff`; returns how many.
    pub async fn remove_audit(&self, cutoff: &str, limit: i64) -> Result<i64> {
        let done = sqlx::query("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY id LIMIT $2)")
            .bind(cutoff)
            .bind(limit)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() as i64)
    }

    /// Removes blob `sha256` when nothing keeps it and intake has not found it lately (within
    /// `grace_ms`): from the database (PostgreSQL) and from this daemon's folder. True when it
    /// went.
    pub async fn drop_blob(&self, sha256: &str, grace_ms: i64) -> Result<bool> {
        let wanted = || async {
            let w = sqlx::query(&format!("SELECT 1 WHERE {WANTED}")).bind(sha256).fetch_all(&self.pool).await?;
            Ok::<_, super::Error>(!w.is_empty())
        };
        if self.blobs.is_cache() {
            // The row and its chunks go in one transaction, the check in the same statement:
            // intake's upsert of a blob it finds again either comes first (then `seen` is
            // recent and the row stays) or waits for this and writes the blob anew.
            let mut tx = self.write_tx().await?;
            let gone = sqlx::query(&format!("DELETE FROM blobs WHERE sha256 = $1 AND (seen IS NULL OR seen < $2) AND NOT {WANTED}"))
                .bind(sha256)
                .bind(now_ms() - grace_ms)
                .execute(&mut *tx)
                .await?;
            if gone.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM blob_chunks WHERE sha256 = $1").bind(sha256).execute(&mut *tx).await?;
            tx.commit().await?;
            let _ = self.blobs.evict(sha256, grace_ms).await;
            return Ok(true);
        }
        if wanted().await? {
            return Ok(false);
        }
        // Moved aside first, then asked again: a document recorded meanwhile keeps it.
        let Some(aside) = self.blobs.set_aside(sha256, grace_ms).await.map_err(|e| super::Error(sqlx::Error::Io(e)))? else {
            return Ok(false);
        };
        let keep = wanted().await?;
        self.blobs.settle(sha256, aside, keep).await.map_err(|e| super::Error(sqlx::Error::Io(e)))?;
        Ok(!keep)
    }

    /// On PostgreSQL, this daemon's copies of blobs gone from the database (another daemon's
    /// pass removed them): dropped too. Returns how many.
    pub async fn sweep_blob_cache(&self, grace_ms: i64) -> Result<i64> {
        if !self.blobs.is_cache() {
            return Ok(0);
        }
        let mut dropped = 0;
        for sha in self.blobs.local_hashes().map_err(|e| super::Error(sqlx::Error::Io(e)))? {
            let kept: Vec<i64> = sqlx::query_scalar("SELECT size FROM blobs WHERE sha256 = $1").bind(&sha).fetch_all(&self.pool).await?;
            if kept.is_empty() && self.blobs.evict(&sha, grace_ms).await.is_ok() {
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    /// Adds a pass's figures to the record.
    pub async fn record_retention(&self, removed: Removed) -> Result<()> {
        sqlx::query(
            "INSERT INTO retention (id, last_pass, originals, documents, audit, total_originals, total_documents, total_audit)
             VALUES (1, $1, $2, $3, $4, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET last_pass = $1, originals = $2, documents = $3, audit = $4,
               total_originals = retention.total_originals + $2, total_documents = retention.total_documents + $3,
               total_audit = retention.total_audit + $4",
        )
        .bind(now())
        .bind(removed.originals)
        .bind(removed.documents)
        .bind(removed.audit)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The retention record; none before the first pass.
    pub async fn retention(&self) -> Result<Option<RetentionRecord>> {
        let row = sqlx::query(
            "SELECT last_pass, originals, documents, audit, total_originals, total_documents, total_audit FROM retention WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| RetentionRecord {
            last_pass: r.get(0),
            last: Removed { originals: r.get(1), documents: r.get(2), audit: r.get(3) },
            total: Removed { originals: r.get(4), documents: r.get(5), audit: r.get(6) },
        }))
    }
}
