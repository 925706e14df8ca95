//! Mail messages and mailbox health. A message's documents, and the row saying it was taken,
//! commit in one transaction; the mailbox action (mark seen, move…) comes after, and the row's
//! `taken` state tells a restart that only the action is left to do.

use crate::states::MessageState;
use super::{now, IntakeResult, NewDocument, Result, Store};
use serde::Serialize;
use sqlx::Row;

/// A message about to be recorded; its raw bytes are already in the blob store.
pub struct NewMessage<'a> {
    pub account: &'a str,
    pub folder: &'a str,
    pub key: &'a str,
    pub message_id: Option<&'a str>,
    pub sha256: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub date: Option<&'a str>,
    pub rule: Option<&'a str>,
    pub state: MessageState,
    pub doctype_hint: Option<&'a str>,
}

/// A document from a message, with the reason it goes straight to the queue, if it does.
pub struct MailDocument {
    pub doc: NewDocument,
    pub refused: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountStatus {
    pub name: String,
    pub kind: String,
    pub health: String,
    pub detail: String,
    pub checked_at: String,
    /// Messages whose documents were stored.
    pub taken: i64,
    /// Messages no rule matched (left in the mailbox).
    pub unmatched: i64,
    /// Messages with a document on the exception queue (malformed, encrypted, empty, too large…).
    pub exceptions: i64,
    pub documents: i64,
}

impl Store {
    /// (id, state, rule) of the message found at (account, folder, key), if clerk has seen it.
    pub async fn mail_message(
        &self,
        account: &str,
        folder: &str,
        key: &str,
    ) -> Result<Option<(i64, MessageState, Option<String>)>> {
        let row = sqlx::query("SELECT id, state, rule FROM mail_messages WHERE account = $1 AND folder = $2 AND key = $3")
            .bind(account)
            .bind(folder)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    /// A message with this Message-ID and content taken before under another key (an IMAP
    /// UIDVALIDITY change, a copy in another folder): its id.
    pub async fn mail_taken_elsewhere(
        &self,
        account: &str,
        message_id: Option<&str>,
        sha256: &str,
    ) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT id FROM mail_messages WHERE account = $1 AND message_id IS NOT DISTINCT FROM $2 AND sha256 = $3 AND state IN ('taken', 'done') ORDER BY id LIMIT 1",
        )
        .bind(account)
        .bind(message_id)
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await
        .map_err(Into::into)
    }

    /// Records a message and its documents in one transaction. Returns the message's id and the
    /// documents' intake results.
    pub async fn record_message(
        &self,
        m: &NewMessage<'_>,
        documents: &[MailDocument],
    ) -> Result<(i64, Vec<IntakeResult>)> {
        let mut tx = self.write_tx().await?;
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO mail_messages (account, folder, key, message_id, sha256, from_addr, to_addr, subject, date, rule, state, documents, received_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(m.account)
        .bind(m.folder)
        .bind(m.key)
        .bind(m.message_id)
        .bind(m.sha256)
        .bind(m.from)
        .bind(m.to)
        .bind(m.subject)
        .bind(m.date)
        .bind(m.rule)
        .bind(m.state)
        .bind(documents.len() as i64)
        .bind(&t)
        .bind(&t)
        .fetch_all(&mut *tx)
            .await
            .and_then(super::returned)?;
        let mut results = vec![];
        for d in documents {
            let r = Store::record_in(&mut tx, &d.doc, d.refused.as_deref()).await?;
            let doc_id = match r {
                IntakeResult::Received(i) | IntakeResult::AlreadyTaken(i) => i,
                IntakeResult::Duplicate { id, .. } => id,
            };
            sqlx::query("UPDATE documents SET mail_id = $1, doctype_hint = $2 WHERE id = $3")
                .bind(id)
                .bind(m.doctype_hint)
                .bind(doc_id)
                .execute(&mut *tx)
                .await?;
            results.push(r);
        }
        tx.commit().await?;
        Ok((id, results))
    }

    pub async fn set_message_state(&self, id: i64, state: MessageState) -> Result<()> {
        sqlx::query("UPDATE mail_messages SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(state)
            .bind(now())
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn set_account_health(&self, name: &str, kind: &str, healthy: bool, detail: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO mail_accounts (name, kind, health, detail, checked_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET kind = $2, health = $3, detail = $4, checked_at = $5",
        )
        .bind(name)
        .bind(kind)
        .bind(if healthy { "ok" } else { "error" })
        .bind(detail)
        .bind(now())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn mail_status(&self) -> Result<Vec<AccountStatus>> {
        let rows = sqlx::query(
            "SELECT a.name, a.kind, a.health, a.detail, a.checked_at,
                    (SELECT COUNT(*) FROM mail_messages m WHERE m.account = a.name AND m.state IN ('taken', 'done')),
                    (SELECT COUNT(*) FROM mail_messages m WHERE m.account = a.name AND m.state = 'unmatched'),
                    (SELECT COUNT(DISTINCT d.mail_id) FROM documents d JOIN mail_messages m ON m.id = d.mail_id
                     WHERE m.account = a.name AND d.status = 'exception'),
                    (SELECT CAST(COALESCE(SUM(documents), 0) AS BIGINT) FROM mail_messages m WHERE m.account = a.name)
             FROM mail_accounts a ORDER BY a.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AccountStatus {
                name: r.get(0),
                kind: r.get(1),
                health: r.get(2),
                detail: r.get(3),
                checked_at: r.get(4),
                taken: r.get(5),
                unmatched: r.get(6),
                exceptions: r.get(7),
                documents: r.get(8),
            })
            .collect())
    }
}

impl Store {
    /// (UIDVALIDITY, last UID taken) of an IMAP folder.
    pub async fn imap_folder(&self, account: &str, folder: &str) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query("SELECT uidvalidity, last_uid FROM mail_folders WHERE account = $1 AND folder = $2")
            .bind(account)
            .bind(folder)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    pub async fn set_imap_folder(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: i64,
        last_uid: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mail_folders (account, folder, uidvalidity, last_uid) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, folder) DO UPDATE SET uidvalidity = $3, last_uid = $4",
        )
        .bind(account)
        .bind(folder)
        .bind(uidvalidity)
        .bind(last_uid)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Messages whose documents are stored but whose mailbox action was not applied (a stop came
    /// in between): (id, key, rule).
    pub async fn messages_taken(
        &self,
        account: &str,
        folder: &str,
    ) -> Result<Vec<(i64, String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT id, key, rule FROM mail_messages WHERE account = $1 AND folder = $2 AND state = 'taken' ORDER BY id",
        )
        .bind(account)
        .bind(folder)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// Messages taken from any mailbox so far (for the benchmark's progress).
    pub async fn mail_messages_taken(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_messages WHERE state IN ('taken', 'done')")
            .fetch_one(&self.pool)
            .await?)
    }
}
