//! The definition files in force, as the last daemon to load them recorded them (see
//! `definitions_in_force` in the migrations).

use super::{now, Result, Store};
use sqlx::Row;

impl Store {
    /// Records `files` (path, version, bytes) as the set in force: files no longer in it are
    /// forgotten, changed ones replaced, unchanged ones left as they are.
    pub async fn record_in_force(&self, files: Vec<(String, String, std::sync::Arc<[u8]>)>) -> Result<()> {
        let known: Vec<(String, String)> =
            sqlx::query_as("SELECT file, version FROM definitions_in_force").fetch_all(&self.pool).await?;
        // Worked out before the awaits (iterator closures held across them trip rustc's Send check).
        let gone: Vec<&String> = known.iter().filter(|(f, _)| !files.iter().any(|(g, _, _)| g == f)).map(|(f, _)| f).collect();
        let changed: Vec<&(String, String, std::sync::Arc<[u8]>)> =
            files.iter().filter(|(f, v, _)| !known.iter().any(|(g, w)| g == f && w == v)).collect();
        let mut tx = self.write_tx().await?;
        for file in gone {
            sqlx::query("DELETE FROM definitions_in_force WHERE file = $1").bind(file).execute(&mut *tx).await?;
        }
        let t = now();
        for (file, version, source) in changed {
            sqlx::query(
                "INSERT INTO definitions_in_force (file, version, source, loaded_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (file) DO UPDATE SET version = $2, source = $3, loaded_at = $4",
            )
            .bind(file)
            .bind(version)
            .bind(&source[..])
            .bind(&t)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The files in force (path, bytes); none when no daemon has loaded definitions yet.
    pub async fn in_force(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query("SELECT file, source FROM definitions_in_force ORDER BY file").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
