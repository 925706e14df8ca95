//! Command-line pieces too large for main.rs.

pub mod audit;
pub mod doctypes;
pub mod mail;
pub mod runs;
pub mod split;
pub mod users;
pub mod vendors;

use clerk::config::Settings;
use clerk::store::Store;

/// The store a command reads: it must exist already (a SQLite file is not created by a typo'd
/// `--data`; a PostgreSQL store is made by `clerk serve` too, and is migrated on open).
pub async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    if s.store.is_none() && !s.data.join("clerk.db").exists() {
        anyhow::bail!("no clerk store in {} (run `clerk serve` first, or pass --data or --store)", s.data.display());
    }
    Store::open_at(&s.store_location()).await
}

/// The store, made when it does not exist yet (users are added before the first start).
pub async fn open_or_create_store(s: &Settings) -> anyhow::Result<Store> {
    Store::open_at(&s.store_location()).await
}
