//! The two store backends are made from one list of migrations: the same tables, columns and
//! indexes on SQLite and on PostgreSQL (the rest of the suite runs on both, see tests/run.sh).

mod support;

use clerk::store::{Location, Store};
use sqlx::Row;
use support::TestDatabase;

#[tokio::test]
async fn both_backends_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap();
    let db = TestDatabase::create();
    let at = Location { url: Some(db.url.clone()), data: dir.path().join("pg"), blobs: None };
    Store::open_at(&at).await.unwrap();

    let sqlite = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("clerk.db").display())).await.unwrap();
    let lines = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<String> {
        rows.iter().map(|r| format!("{}|{}", r.get::<String, _>(0), r.get::<String, _>(1))).collect()
    };
    let columns = lines(
        sqlx::query(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '_sqlx_migrations' ORDER BY 1, 2",
        )
        .fetch_all(&sqlite)
        .await
        .unwrap(),
    );
    let indexes = lines(
        sqlx::query("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1, 2")
            .fetch_all(&sqlite)
            .await
            .unwrap(),
    );
    let versions = lines(
        sqlx::query("SELECT CAST(version AS TEXT), description FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&sqlite)
            .await
            .unwrap(),
    );
    let pg = |sql: &str| -> Vec<String> { db.query(sql).lines().map(str::to_string).collect() };
    assert_eq!(
        columns,
        pg("SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name != '_sqlx_migrations' ORDER BY 1, 2")
    );
    assert_eq!(
        indexes,
        pg("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'
            AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' ORDER BY 1, 2")
    );
    assert_eq!(versions, pg("SELECT version, description FROM _sqlx_migrations ORDER BY version"));
    assert!(columns.len() > 80 && versions.len() >= 5, "{columns:?} {versions:?}");
}
