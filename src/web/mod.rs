//! The people surface, served on the daemon's listener: the HTTP API under `/api/v1` (described
//! by OpenAPI at `/api/v1/openapi.json`, generated from the handlers) for agents, ops and admins.
//! Handlers call the same use cases as the command line (`crate::exceptions`, `crate::users`).

pub mod api;
pub mod auth;
pub mod client;
pub mod highlight;
pub mod pages;
pub mod preview;
pub mod problem;

use crate::definitions::Active;
use crate::read::pool::Readers;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub active: Arc<RwLock<Arc<Active>>>,
    pub readers: Readers,
    /// The definitions folder, to report every problem in it as `clerk check` does.
    pub definitions: PathBuf,
    /// Where bots' secrets are, for dry runs (they are masked in what is shown).
    pub secrets_file: Option<PathBuf>,
    /// Failed sign-ins, per user name and per client address.
    pub logins: Arc<auth::Limiter>,
    /// Pages drawn lately.
    pub previews: Arc<preview::Previews>,
    /// What agents filed, for the type suggested on an item.
    pub learner: Arc<crate::learn::Learner>,
    /// Reverse proxies whose forwarding headers name the client (see `client`).
    pub trusted_proxies: Arc<[crate::config::Network]>,
    /// The SLA of items whose type or bot names none (`[queue] sla`).
    pub queue_sla: Option<std::time::Duration>,
    /// `[retention]`, shown on the dashboard.
    pub retention: crate::config::RetentionSettings,
    /// `[http] metrics_token`: lets a scraper on another machine read `/metrics`.
    pub metrics_token: Option<Arc<str>>,
}

impl Service {
    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("definitions lock").clone()
    }

    /// The queue as this daemon sees it, with the definitions `active` (see
    /// `crate::exceptions::Queue`).
    pub fn queue<'a>(&'a self, active: &'a Active) -> crate::exceptions::Queue<'a> {
        crate::exceptions::Queue { store: &self.store, active, learner: &self.learner, sla: self.queue_sla }
    }
}
