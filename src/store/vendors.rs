//! What agents taught clerk of each vendor's invoices: the vendor's keys (VAT identifier, IBAN)
//! and per field where its value stands. Every daemon sharing the store reads the same.

use super::{now, Result, Store};
use crate::classify::generic::vendor::{Learned, Vendor};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// A vendor as `clerk vendors list` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VendorSummary {
    pub id: i64,
    pub name: String,
    pub keys: Vec<String>,
    /// The fields whose place was learned.
    pub fields: Vec<String>,
    pub updated_at: String,
}

/// `$1, $2, …` from `from` on, for `IN (…)`.
fn params(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The vendor any of `keys` names (the oldest when they name several).
async fn known(tx: &mut super::Tx, keys: &[String]) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT vendor_id FROM vendor_keys WHERE key IN ({}) ORDER BY vendor_id LIMIT 1",
        params(1, keys.len())
    );
    let mut q = sqlx::query(&sql);
    for k in keys {
        q = q.bind(k);
    }
    Ok(q.fetch_all(&mut **tx).await?.first().map(|r| r.get::<i64, _>(0)))
}

impl Store {
    /// The vendor most of `keys` name (the most recently taught on a tie), with what was learned.
    pub async fn vendor_for(&self, keys: &[String]) -> Result<Option<Vendor>> {
        if keys.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT k.vendor_id FROM vendor_keys k JOIN vendors v ON v.id = k.vendor_id WHERE k.key IN ({}) \
             GROUP BY k.vendor_id, v.updated_at ORDER BY COUNT(*) DESC, v.updated_at DESC LIMIT 1",
            params(1, keys.len())
        );
        let mut q = sqlx::query(&sql);
        for k in keys {
            q = q.bind(k);
        }
        match q.fetch_all(&self.pool).await?.first() {
            Some(r) => self.vendor(r.get(0)).await,
            None => Ok(None),
        }
    }

    pub async fn vendor(&self, id: i64) -> Result<Option<Vendor>> {
        let Some(row) =
            sqlx::query("SELECT name FROM vendors WHERE id = $1").bind(id).fetch_all(&self.pool).await?.pop()
        else {
            return Ok(None);
        };
        let keys = sqlx::query("SELECT key FROM vendor_keys WHERE vendor_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let rows = sqlx::query("SELECT field, spots, example, document_id, learned_by FROM vendor_fields WHERE vendor_id = $1 ORDER BY field")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let mut fields = BTreeMap::new();
        for r in rows {
            // Spots this version cannot read (written by a newer one) are skipped, not fatal.
            if let Ok(spots) = serde_json::from_str(&r.get::<String, _>(1)) {
                fields.insert(r.get(0), Learned { spots, example: r.get(2), document_id: r.get(3), by: r.get(4) });
            }
        }
        Ok(Some(Vendor { id, name: row.get(0), keys: keys.iter().map(|r| r.get(0)).collect(), fields }))
    }

    pub async fn vendors(&self) -> Result<Vec<VendorSummary>> {
        let rows =
            sqlx::query("SELECT id, name, updated_at FROM vendors ORDER BY name, id").fetch_all(&self.pool).await?;
        let keys = sqlx::query("SELECT vendor_id, key FROM vendor_keys ORDER BY key").fetch_all(&self.pool).await?;
        let fields =
            sqlx::query("SELECT vendor_id, field FROM vendor_fields ORDER BY field").fetch_all(&self.pool).await?;
        let of = |rows: &[sqlx::any::AnyRow], id: i64| -> Vec<String> {
            rows.iter().filter(|r| r.get::<i64, _>(0) == id).map(|r| r.get(1)).collect()
        };
        Ok(rows
            .iter()
            .map(|r| {
                let id: i64 = r.get(0);
                VendorSummary { id, name: r.get(1), keys: of(&keys, id), fields: of(&fields, id), updated_at: r.get(2) }
            })
            .collect())
    }

    /// Remembers where `fields` stood for the vendor `keys` name, learned from `document_id`
    /// as `by` resolved it; a vendor none of the keys names is added as `name`. Returns its id.
    pub async fn learn_vendor(
        &self,
        keys: &[String],
        name: &str,
        fields: &BTreeMap<String, Learned>,
        document_id: i64,
        by: &str,
    ) -> Result<i64> {
        let at = now();
        let mut tx = self.write_tx().await?;
        let id = match known(&mut tx, keys).await? {
            Some(id) => id,
            None => {
                let rows =
                    sqlx::query("INSERT INTO vendors (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id")
                        .bind(name)
                        .bind(&at)
                        .fetch_all(&mut *tx)
                        .await?;
                rows[0].get(0)
            }
        };
        for k in keys {
            sqlx::query("INSERT INTO vendor_keys (key, vendor_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(k)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // Another daemon may have added the same vendor meanwhile: its keys won; ours goes.
        let id = match known(&mut tx, keys).await? {
            Some(winner) if winner != id => {
                sqlx::query("DELETE FROM vendors WHERE id = $1").bind(id).execute(&mut *tx).await?;
                winner
            }
            _ => id,
        };
        sqlx::query("UPDATE vendors SET updated_at = $1 WHERE id = $2").bind(&at).bind(id).execute(&mut *tx).await?;
        for (field, l) in fields {
            sqlx::query(
                "INSERT INTO vendor_fields (vendor_id, field, spots, example, document_id, learned_by, learned_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (vendor_id, field) DO UPDATE SET \
                 spots = excluded.spots, example = excluded.example, document_id = excluded.document_id, \
                 learned_by = excluded.learned_by, learned_at = excluded.learned_at",
            )
            .bind(id)
            .bind(field)
            .bind(serde_json::to_string(&l.spots).expect("spots serialise"))
            .bind(&l.example)
            .bind(document_id)
            .bind(by)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        Store::audit(
            &mut *tx,
            Some(document_id),
            None,
            by,
            "vendor learned",
            &format!("vendor {id}: {}", names.join(", ")),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Forgets all that was learned of vendor `id`; false when there is no such vendor.
    pub async fn forget_vendor(&self, id: i64, by: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query("DELETE FROM vendors WHERE id = $1 RETURNING name").bind(id).fetch_all(&mut *tx).await?;
        let Some(row) = rows.first() else { return Ok(false) };
        let name: String = row.get(0);
        sqlx::query("DELETE FROM vendor_keys WHERE vendor_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM vendor_fields WHERE vendor_id = $1").bind(id).execute(&mut *tx).await?;
        Store::audit(&mut *tx, None, None, by, "vendor forgotten", &format!("vendor {id} ({name})")).await?;
        tx.commit().await?;
        Ok(true)
    }
}
