//! The daemon's stop request, one value every loop holds: a loop checks it between units of work
//! and awaits it wherever it sleeps, so SIGTERM reaches all of them at once.

use tokio::sync::watch;

/// A loop's view of the stop request. Clones are cheap; all see the same request.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// What requests the stop (held by whoever handles the signals).
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> (StopHandle, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (StopHandle(tx), Shutdown(rx))
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once a stop is requested (at once if it already was, or if the handle is gone).
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

impl StopHandle {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_request_even_if_made_before_it_waits() {
        let (handle, shutdown) = Shutdown::new();
        let mut a = shutdown.clone();
        assert!(!a.is_requested());
        handle.stop();
        let mut b = shutdown.clone();
        a.requested().await;
        b.requested().await;
        assert!(b.is_requested());
    }
}
