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
    /// `[http] metrics_token`: lets a scraper on another machine read `/metrics`.
    pub metrics_token: Option<Arc<str>>,
}

impl Service {
    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("definitions lock").clone()
    }

    /// One item with its due time (see `crate::exceptions::deadlines`); a 404 when there is none.
    pub async fn item(&self, id: i64) -> Result<crate::store::ExceptionItem, problem::Problem> {
        let item = self.store.exception(id).await?.ok_or_else(|| problem::Problem::not_found(format!("exception {id} does not exist")))?;
        let mut one = [item];
        self.deadlines(&mut one);
        let [item] = one;
        Ok(item)
    }

    /// Sets the items' due times (see `crate::exceptions::deadlines`).
    pub fn deadlines(&self, items: &mut [crate::store::ExceptionItem]) {
        crate::exceptions::deadlines(items, &self.active(), self.queue_sla);
    }

    /// Open and claimed items past their SLA, by kind.
    pub async fn overdue_by_kind(&self) -> Result<std::collections::BTreeMap<String, i64>, crate::store::Error> {
        crate::exceptions::overdue_by_kind(&self.store, &self.active(), self.queue_sla).await
    }

    /// The learner's suggestion for an item (see `crate::exceptions::suggestion`).
    pub async fn suggestion(&self, item: &crate::store::ExceptionItem) -> Option<crate::learn::Suggestion> {
        crate::exceptions::suggestion(&self.store, &self.learner, &self.active().classifier, item).await
    }

    /// The learner's suggestions for a page of items, in their order.
    pub async fn suggestions(&self, items: &[crate::store::ExceptionItem]) -> Vec<Option<crate::learn::Suggestion>> {
        crate::exceptions::suggestions(&self.store, &self.learner, &self.active().classifier, items).await
    }
}
