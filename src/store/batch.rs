//! Group commit for small writes. Committing is what a write costs (SQLite: about 100 µs here, a
//! statement inside a transaction about 3 µs; PostgreSQL: a round trip each for `BEGIN` and
//! `COMMIT`, and a WAL flush), and the runner's journal, the intake and the pipeline's stages
//! make small writes from many tasks at once. Each write is queued to one task that runs whatever has
//! queued up as one transaction and answers every caller only after the commit, so each write is
//! exactly as durable as if it had committed alone.
//!
//! If a batch fails, its writes are tried again one transaction each, so a write that fails
//! fails alone.

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool};
use std::any::Any;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Answer = sqlx::Result<Box<dyn Any + Send>>;
/// One write: called with the batch's connection (inside its transaction); called again alone if
/// the batch fails, so it must not consume what it captured.
pub type Write = Arc<dyn for<'c> Fn(&'c mut AnyConnection) -> BoxFuture<'c, Answer> + Send + Sync>;

/// Most writes one transaction takes.
const MAX_BATCH: usize = 128;

#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<(Write, oneshot::Sender<Answer>)>,
}

impl Batcher {
    /// `begin`: how the backend starts a write transaction.
    pub fn start(writer: AnyPool, begin: &'static str) -> Batcher {
        let (queue, mut rx) = mpsc::unbounded_channel::<(Write, oneshot::Sender<Answer>)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(w) => batch.push(w),
                        Err(_) => break,
                    }
                }
                run_batch(&writer, begin, batch).await;
            }
        });
        Batcher { queue }
    }

    /// Runs `write` in the next batch; returns its result once the batch has committed.
    pub async fn write<T: Send + 'static>(
        &self,
        write: impl for<'c> Fn(&'c mut AnyConnection) -> BoxFuture<'c, sqlx::Result<T>> + Send + Sync + 'static,
    ) -> sqlx::Result<T> {
        let write: Write = Arc::new(move |c| {
            let f = write(c);
            Box::pin(async move { f.await.map(|v| Box::new(v) as Box<dyn Any + Send>) })
        });
        let (tx, rx) = oneshot::channel();
        self.queue.send((write, tx)).map_err(|_| sqlx::Error::PoolClosed)?;
        let answer = rx.await.map_err(|_| sqlx::Error::PoolClosed)??;
        Ok(*answer.downcast::<T>().expect("a batched write answers with its own type"))
    }
}

async fn run_batch(writer: &AnyPool, begin: &'static str, batch: Vec<(Write, oneshot::Sender<Answer>)>) {
    let together = async {
        let mut tx = writer.begin_with(begin).await?;
        let mut answers = Vec::with_capacity(batch.len());
        for (write, _) in &batch {
            answers.push(write(&mut tx).await?);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(answers)
    };
    match together.await {
        Ok(answers) => {
            for ((_, reply), answer) in batch.into_iter().zip(answers) {
                let _ = reply.send(Ok(answer));
            }
        }
        Err(_) if batch.len() > 1 => {
            for (write, reply) in batch {
                let alone = async {
                    let mut tx = writer.begin_with(begin).await?;
                    let answer = write(&mut tx).await?;
                    tx.commit().await?;
                    Ok(answer)
                };
                let _ = reply.send(alone.await);
            }
        }
        Err(e) => {
            if let Some((_, reply)) = batch.into_iter().next() {
                let _ = reply.send(Err(e));
            }
        }
    }
}
