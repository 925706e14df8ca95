//! What the learner reads: the documents agents filed under a type (unrecognised or ambiguous
//! items they resolved), in the order they were filed, and for comparison every other typed
//! document. Texts are cut to the learner's limit in SQL, so a huge text never crosses the wire.

use super::{Result, Store};
/// How much of a document's text the learner reads (its first 64 KiB: where the vendor and the
/// kind of document show).
pub const MAX_TEXT: usize = 64 * 1024;
use sqlx::Row;

/// One filed document.
#[derive(Debug, Clone)]
pub struct Filed {
    pub document_id: i64,
    pub doctype: String,
    pub text: String,
    /// Where a reader of the filings stopped: (when the item was resolved, its id).
    pub cursor: (String, i64),
}

/// Agents filed these: items without a type (or with several) that a person resolved with one.
fn filed_sql(and: &str) -> String {
    format!(
        "SELECT d.id, d.doctype, substr(d.text, 1, {MAX_TEXT}), e.updated_at, e.id FROM exceptions e \
         JOIN documents d ON d.id = e.document_id \
         WHERE e.state = 'resolved' AND e.kind IN ('unrecognised', 'ambiguous') \
           AND d.doctype IS NOT NULL AND d.text IS NOT NULL {and}"
    )
}

fn filed(r: sqlx::any::AnyRow) -> Filed {
    Filed { document_id: r.get(0), doctype: r.get(1), text: r.get(2), cursor: (r.get(3), r.get(4)) }
}

impl Store {
    /// Documents filed after `after`, oldest first, at most `limit`.
    pub async fn filed_since(&self, after: &(String, i64), limit: i64) -> Result<Vec<Filed>> {
        let sql = filed_sql("AND (e.updated_at > $1 OR (e.updated_at = $1 AND e.id > $2)) ORDER BY e.updated_at, e.id LIMIT $3");
        let rows = sqlx::query(&sql).bind(&after.0).bind(after.1).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(filed).collect())
    }

    /// Where to start reading so that only the newest `newest` filings are read: the cursor of
    /// the filing just before them, or None when there are no more than that.
    pub async fn filed_start(&self, newest: i64) -> Result<Option<(String, i64)>> {
        let sql = filed_sql("ORDER BY e.updated_at DESC, e.id DESC LIMIT 1 OFFSET $1");
        let rows = sqlx::query(&sql).bind(newest).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().next().map(|r| filed(r).cursor))
    }

    /// The newest `limit` documents filed under `doctype`.
    pub async fn filed_as(&self, doctype: &str, limit: i64) -> Result<Vec<Filed>> {
        let sql = filed_sql("AND d.doctype = $1 ORDER BY e.updated_at DESC, e.id DESC LIMIT $2");
        let rows = sqlx::query(&sql).bind(doctype).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(filed).collect())
    }

    /// The texts of the newest `limit` documents with a type other than `doctype`, however
    /// they got it (by a rule or by an agent).
    pub async fn texts_of_other_types(&self, doctype: &str, limit: i64) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT substr(text, 1, {MAX_TEXT}) FROM documents \
             WHERE doctype IS NOT NULL AND doctype <> $1 AND text IS NOT NULL ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql).bind(doctype).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }
}
