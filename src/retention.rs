//! Retention: what clerk took is removed once it is finished and past the `[retention]`
//! settings — originals (the record stays), documents whole, audit lines. A pass runs soon after
//! the daemon starts and then every `every`; with several daemons on one store, one of them at a
//! time (a named lease). Each pass works in bounded batches, so a first pass over years of
//! documents does not hold the store for long, and it is logged and recorded for the dashboard.

use crate::config::RetentionSettings;
use crate::shutdown::Shutdown;
use crate::store::retention::Removed;
use crate::store::Store;
use std::time::Duration;

/// Documents (or originals) handled per transaction.
const BATCH: i64 = 200;
/// A blob intake stored or found again this lately is left: a twin of a removed original may be
/// on its way in. Never longer than the retention itself (a blob stored when its document came
/// is as old as the document).
const BLOB_GRACE_MS: i64 = 10 * 60_000;

fn blob_grace(settings: &RetentionSettings) -> i64 {
    let shortest = [settings.originals, settings.documents].into_iter().flatten().min();
    shortest.map_or(BLOB_GRACE_MS, |d| (d.as_millis().min(i64::MAX as u128) as i64).min(BLOB_GRACE_MS))
}

/// The time `age` ago, as the store writes times.
fn cutoff(age: Duration) -> String {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    let at = chrono::Utc::now().checked_sub_signed(age).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One pass: everything past the settings goes, batch by batch (each batch's blobs with it),
/// until nothing is left or the stop is requested.
pub async fn pass(store: &Store, settings: &RetentionSettings, stop: &Shutdown) -> Result<Removed, crate::store::Error> {
    let mut removed = Removed::default();
    let grace = blob_grace(settings);
    if let Some(age) = settings.documents {
        let (cut, mut after) = (cutoff(age), 0);
        // Forward through the ids: documents held back (another points at them) are passed by.
        loop {
            let (n, shas, last) = store.remove_documents(&cut, after, BATCH).await?;
            removed.documents += n;
            drop_blobs(store, shas, grace).await?;
            match last {
                Some(last) if !stop.is_requested() => after = last,
                _ => break,
            }
        }
    }
    if let Some(age) = settings.originals {
        let cut = cutoff(age);
        loop {
            let (n, shas) = store.remove_originals(&cut, BATCH).await?;
            let more = !shas.is_empty();
            removed.originals += n;
            drop_blobs(store, shas, grace).await?;
            if !more || stop.is_requested() {
                break;
            }
        }
    }
    if let Some(age) = settings.audit {
        let cut = cutoff(age);
        loop {
            let n = store.remove_audit(&cut, 50 * BATCH).await?;
            removed.audit += n;
            if n == 0 || stop.is_requested() {
                break;
            }
        }
    }
    Ok(removed)
}

/// Removes the blobs of `hashes` that nothing keeps any more.
async fn drop_blobs(store: &Store, mut hashes: Vec<String>, grace_ms: i64) -> Result<(), crate::store::Error> {
    hashes.sort();
    hashes.dedup();
    for sha in &hashes {
        store.drop_blob(sha, grace_ms).await?;
    }
    Ok(())
}

/// Runs a pass soon after the start and then every `settings.every`, until the stop.
pub async fn keep(store: Store, settings: RetentionSettings, mut stop: Shutdown) {
    if !settings.removes_anything() {
        return;
    }
    let owner = crate::heartbeat::owner("retention");
    let mut wait = Duration::from_secs(5);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.requested() => return,
        }
        wait = settings.every;
        // Every daemon drops its own copies of blobs another daemon's pass removed.
        if let Err(e) = store.sweep_blob_cache(blob_grace(&settings)).await {
            tracing::warn!(error = %e, "retention: this daemon's copies of removed originals were not looked at");
        }
        // One daemon at a time; the lease outlives a pass's usual length and is renewed each one.
        match store.hold_lease("retention", &owner, settings.every.as_millis().min(i64::MAX as u128) as i64).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "retention: cannot reach the store; trying again later");
                continue;
            }
        }
        match pass(&store, &settings, &stop).await {
            Ok(removed) => {
                for (what, n) in [("originals", removed.originals), ("documents", removed.documents), ("audit", removed.audit)] {
                    crate::metrics::add("clerk_retention_removed_total", &[("what", what)], n.max(0) as u64);
                }
                if removed != Removed::default() {
                    tracing::info!(originals = removed.originals, documents = removed.documents, audit = removed.audit, "retention: removed what was past its time");
                }
                if let Err(e) = store.record_retention(removed).await {
                    tracing::warn!(error = %e, "retention: the pass's figures were not recorded");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention: the pass stopped; it goes on at the next one"),
        }
    }
}
