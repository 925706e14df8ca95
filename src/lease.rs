//! The one loop that serves every leased queue (pipeline jobs, bot runs): claim an item while a
//! slot is free, process it in a task of its own, and when nothing is due sleep until new work
//! is announced, the next item comes due, or the stop is requested.

use crate::service::Liveness;
use crate::shutdown::Shutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

/// A queue of leased items.
pub trait Queue: Clone + Send + Sync + 'static {
    type Item: Send + 'static;
    /// For the logs.
    const NAME: &'static str;
    /// The longest idle sleep: work another process queued is seen at least this often.
    const MAX_IDLE: Duration;
    /// Whether items are limited per group (a bot's concurrency), so that one finishing may make
    /// a queued one claimable: then the loop looks again. Otherwise a finish makes nothing
    /// claimable, and looking would cost an empty claim per item whenever the queue runs dry.
    const GROUP_LIMITS: bool;

    /// Takes the next item that is due, under a lease.
    fn claim(&self) -> impl Future<Output = anyhow::Result<Claimed<Self::Item>>> + Send;
    /// When the next queued item comes due (ms since the epoch), if any is queued.
    fn next_due_ms(&self) -> impl Future<Output = Option<i64>> + Send;
    fn process(&self, item: Self::Item, stop: Shutdown) -> impl Future<Output = ()> + Send;
}

/// A claim's answer: the item it took, if any, and what it read of the queue's next item.
pub struct Claimed<T> {
    pub item: Option<T>,
    pub next: Next,
}

/// When the queue's next item (after the one claimed) comes due, as a claim that read it with
/// its own statement says: the loop then knows whether to claim again or to sleep, without
/// spending an empty claim and a look at the queue to learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The claim did not look: claim again at once, and ask the queue when idle.
    Unknown,
    /// Nothing else is queued.
    Nothing,
    /// Another item is queued, due at this time (ms since the epoch).
    DueAt(i64),
}

/// How often a loop waiting for a free slot still says it is alive.
const BEAT_WHILE_FULL: Duration = Duration::from_secs(2);

/// Serves `queue` with at most `slots` items in flight until the stop is requested; returns the
/// tasks still in flight, for the caller to drain within its own deadline. Each turn of the loop
/// beats `liveness` (the systemd watchdog's view of it).
pub async fn serve<Q: Queue>(
    queue: Q,
    slots: usize,
    wake: Arc<Notify>,
    liveness: Liveness,
    mut stop: Shutdown,
) -> JoinSet<()> {
    let slots = Arc::new(Semaphore::new(slots.max(1)));
    let mut tasks = JoinSet::new();
    loop {
        liveness.beat(Q::NAME);
        if stuck_for_test(Q::NAME) {
            // The watchdog test: this loop stops turning (it still honours the stop).
            stop.requested().await;
            break;
        }
        while tasks.try_join_next().is_some() {}
        let permit = loop {
            tokio::select! {
                p = slots.clone().acquire_owned() => break Some(p.expect("the semaphore is never closed")),
                _ = tokio::time::sleep(BEAT_WHILE_FULL) => liveness.beat(Q::NAME),
                _ = stop.requested() => break None,
            }
        };
        let Some(permit) = permit else { break };
        let next = match queue.claim().await {
            Ok(Claimed { item: Some(item), next }) => {
                let (queue, stop, wake) = (queue.clone(), stop.clone(), wake.clone());
                tasks.spawn(async move {
                    queue.process(item, stop).await;
                    drop(permit);
                    // A free slot the loop sees by itself; a group below its limit again it
                    // must be told of.
                    if Q::GROUP_LIMITS {
                        wake.notify_one();
                    }
                });
                match next {
                    Next::DueAt(due) if due > crate::store::now_ms() => next,
                    Next::Nothing => next,
                    // More may be due: claim again.
                    _ => continue,
                }
            }
            Ok(Claimed { item: None, next }) => {
                drop(permit);
                next
            }
            Err(e) => {
                drop(permit);
                tracing::error!(queue = Q::NAME, error = %format!("{e:#}"), "cannot claim work");
                Next::Unknown
            }
        };
        let due = match next {
            Next::Unknown => queue.next_due_ms().await,
            Next::Nothing => None,
            Next::DueAt(due) => Some(due),
        };
        let wait = match due {
            Some(due) => Duration::from_millis((due - crate::store::now_ms()).clamp(10, Q::MAX_IDLE.as_millis() as i64) as u64),
            None => Q::MAX_IDLE,
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.requested() => break,
        }
    }
    tasks
}

/// `CLERK_TEST_STICK=jobs` makes that queue's loop stop turning once it has started, so a test
/// can see the watchdog give up on it. Not a setting: nothing but a test sets it.
fn stuck_for_test(queue: &str) -> bool {
    std::env::var("CLERK_TEST_STICK").is_ok_and(|v| v == queue)
}
