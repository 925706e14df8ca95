//! The people surface, served on the daemon's listener: the HTTP API under `/api/v1` (described
//! by OpenAPI at `/api/v1/openapi.json`, generated from the handlers) for agents, ops and admins.
//! Handlers call the same use cases as the command line (`crate::exceptions`, `crate::users`).

pub mod api;
pub mod auth;
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
    /// Failed sign-ins, per user name and per client address.
    pub logins: Arc<auth::Limiter>,
    /// Pages drawn lately.
    pub previews: Arc<preview::Previews>,
}

impl Service {
    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("definitions lock").clone()
    }
}
