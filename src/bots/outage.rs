//! Waiting for a legacy system that is down. Legacy systems restart every night; a system that
//! refuses connections is down, not wrong, so its runs wait for it instead of spending the
//! attempts meant for errors it answers with:
//!
//! - a step that cannot connect journals a `waiting` row (no attempt), marks the system down in
//!   the store and gives its run back to the queue until the system's next probe;
//! - one waiting run at a time probes the system, on a backoff from the bot's `retry.backoff`
//!   doubling to its `retry.max_backoff`, with jitter; a probe that gets any answer ends the
//!   outage and wakes every run waiting for it, in every daemon on the store;
//! - a run that has waited longer than its bot's `retry.while_down` (default 4 h) fails with a
//!   sentence naming the system and since when it is down.

use super::RetryPolicy;
use std::time::Duration;

/// How long a probe is a run's own: if its daemon dies mid-probe, another run probes after this.
pub const PROBE_LEASE_MS: i64 = 60_000;

/// The wait before the next probe after `probes` failed ones: the bot's backoff doubled per
/// probe up to its max_backoff, at a random point in the upper half (so the daemons' runs do not
/// all come back at the same instant).
pub fn probe_delay(policy: &RetryPolicy, probes: i64) -> i64 {
    let exp = policy.backoff.saturating_mul(1u32 << probes.clamp(0, 20) as u32).min(policy.max_backoff);
    exp.mul_f64(0.5 + rand::random::<f64>() * 0.5).as_millis().max(100) as i64
}

/// Runs waiting for the same probe come back spread over a second after it.
pub fn spread() -> i64 {
    rand::random::<u64>() as i64 % 1000
}

/// Whether a run that has waited since `since_ms` has waited long enough.
pub fn given_up(policy: &RetryPolicy, since_ms: i64, now_ms: i64) -> bool {
    now_ms - since_ms >= policy.while_down.as_millis() as i64
}

/// Why a run stopped waiting.
pub fn gave_up(target: &str, reason: &str, down_since_ms: i64, policy: &RetryPolicy) -> String {
    let since = chrono::DateTime::from_timestamp_millis(down_since_ms).unwrap_or_default();
    format!(
        "{target} has been down since {} ({reason}); the bot waits for a system at most {} (retry.while_down)",
        since.format("%Y-%m-%d %H:%M:%S UTC"),
        human(policy.while_down)
    )
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_back_off_to_the_bots_cap() {
        let p = RetryPolicy { backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(60), ..Default::default() };
        for _ in 0..50 {
            assert!((500..=1000).contains(&probe_delay(&p, 0)));
            assert!((4000..=8000).contains(&probe_delay(&p, 3)));
            assert!((30_000..=60_000).contains(&probe_delay(&p, 12)));
        }
        assert!(given_up(&p, 0, 4 * 3600 * 1000));
        assert!(!given_up(&p, 0, 4 * 3600 * 1000 - 1));
        assert_eq!(human(p.while_down), "4h");
    }
}
