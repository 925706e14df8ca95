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

/// Originals in PostgreSQL go in 8 MiB chunks (no value near PostgreSQL's 1 GB limit, no whole
/// file in a daemon's memory), and a daemon with an empty cache reads them back byte for byte —
/// also a blob written whole by a version before chunks.
#[tokio::test]
async fn originals_in_postgresql_are_kept_in_chunks_and_read_back_whole() {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| Location { url: Some(db.url.clone()), data: dir.path().join(name), blobs: None };
    let taker = Store::open_at(&at("taker")).await.unwrap();
    // 20 MiB + 5 bytes that do not repeat, so a chunk out of order or missing changes the hash.
    let mut bytes = Vec::with_capacity((20 << 20) + 5);
    let mut x = 0x9e3779b97f4a7c15u64;
    while bytes.len() < (20 << 20) + 5 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(x as u8);
    }
    let stored = taker.blobs.put(std::io::Cursor::new(bytes.clone())).await.unwrap();
    assert_eq!(stored.size, bytes.len() as u64);
    let chunks = db.query(&format!("SELECT count(*), sum(length(bytes)) FROM blob_chunks WHERE sha256 = '{}'", stored.sha256));
    assert_eq!(chunks.trim(), format!("3|{}", bytes.len()));
    // Storing it again (another daemon took the same file) adds nothing.
    taker.blobs.put(std::io::Cursor::new(bytes.clone())).await.unwrap();
    assert_eq!(db.query("SELECT count(*) FROM blob_chunks").trim(), "3");

    let reader = Store::open_at(&at("reader")).await.unwrap();
    assert_eq!(reader.blobs.read(&stored.sha256).await.unwrap(), bytes);
    let empty = taker.blobs.put_bytes(b"").await.unwrap();
    assert_eq!(reader.blobs.read(&empty.sha256).await.unwrap(), b"");

    // A blob kept whole in `blobs.bytes` by an earlier version.
    let old = b"an original stored before chunks";
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(old))
    };
    db.query(&format!("INSERT INTO blobs (sha256, size, bytes) VALUES ('{sha}', {}, '\\x{}')", old.len(), hex::encode(old)));
    assert_eq!(reader.blobs.read(&sha).await.unwrap(), old);
    let missing = reader.blobs.read(&"0".repeat(64)).await.unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");
}
