//! The runner: claims queued runs, walks their steps, journals every attempt, retries what may
//! pass with exponential backoff and jitter (honouring `Retry-After`), and ends each run as
//! succeeded, skipped, escalated (a business exception) or failed (a system exception).
//!
//! Resuming is re-walking: a run claimed again (after a crash, a long retry wait or an agent's
//! decision) walks its steps from the top, skipping every step the journal records as done —
//! their outputs are read back from the journal, so conditions and loops take the same turns.

use crate::bots::cookies::Jar;
use crate::bots::redact::Redactor;
use crate::bots::render::{Context, Renderer};
use crate::bots::steps::{self, Done, Failure};
use crate::bots::kinds::Act;
use crate::bots::{Bot, RetryPolicy, Step, Trigger};
use crate::states::{ExceptionKind, RunState, StepState};
use crate::definitions::Active;
use crate::lease::{Claimed, Next};
use crate::store::{NewRun, Run, StepEnd, Store};
use minijinja::value::Value;
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use crate::shutdown::Shutdown;
use tokio::sync::Notify;

pub const LEASE_MS: i64 = 60_000;
/// Retry waits longer than this give the run back to the queue instead of holding a slot.
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Runner {
    pub store: Store,
    pub active: Arc<RwLock<Arc<Active>>>,
    /// Replaced when the settings are reloaded; each run reads the file it names.
    secrets_file: Arc<std::sync::RwLock<Option<PathBuf>>>,
    pub wake: Arc<Notify>,
    pub owner: String,
    /// Runs executing at once, across bots (each bot is further bounded by its `concurrency`).
    pub max_runs: usize,
    /// Where the run loop says it is alive (the systemd watchdog).
    pub liveness: crate::service::Liveness,
    http: crate::bots::transport::Clients,
    sql: Arc<steps::sql::Pools>,
    /// Bot versions runs started with, kept after a reload changed the file.
    versions: Arc<Mutex<Versions>>,
    /// Shared by all runs: templates compile per render, the environment is read once.
    renderer: Arc<Renderer>,
    env: Arc<BTreeMap<String, String>>,
    /// Systems known down (this daemon's findings, and the store's every heartbeat), so that a
    /// step reaching one ends its outage without a store read per step.
    down: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// (bot name, version) → the bot as it was at that version.
type Versions = HashMap<(String, String), Arc<Bot>>;

/// Why a walk stopped before the end.
enum Stop {
    Escalate {
        path: String,
        message: String,
    },
    Failed {
        path: String,
        step: String,
        failure: Box<Failure>,
    },
    /// Given back to the queue (a long retry wait, or the daemon is stopping).
    Deferred,
    Store(crate::store::Error),
}

impl From<crate::store::Error> for Stop {
    fn from(e: crate::store::Error) -> Self {
        Stop::Store(e)
    }
}

/// Runs are a leased queue: claimed while a `max_runs` slot is free; idle, the runner wakes for
/// new runs (this daemon's or another process's, e.g. `clerk bots run`), a retry coming due, or
/// a slot freeing up for a bot at its concurrency.
impl crate::lease::Queue for Runner {
    type Item = Run;
    const NAME: &'static str = "runs";
    const MAX_IDLE: Duration = Duration::from_secs(1);
    const GROUP_LIMITS: bool = true;

    async fn claim(&self) -> anyhow::Result<Claimed<Run>> {
        let item = self.store.claim_run(&self.owner, LEASE_MS).await?;
        // A bot at its concurrency may hold back runs that are due: the claim cannot tell.
        Ok(Claimed { item, next: Next::Unknown })
    }
    async fn next_due_ms(&self) -> Option<i64> {
        self.store.next_run_due_ms().await.ok().flatten()
    }
    async fn process(&self, run: Run, stop: Shutdown) {
        self.execute(run, stop).await
    }
}

impl Runner {
    pub fn new(
        store: Store,
        active: Arc<RwLock<Arc<Active>>>,
        secrets_file: Option<PathBuf>,
        max_runs: usize,
    ) -> Runner {
        let http = crate::bots::transport::Clients::new();
        Runner {
            store,
            active,
            secrets_file: Arc::new(std::sync::RwLock::new(secrets_file)),
            wake: Arc::new(Notify::new()),
            owner: crate::heartbeat::owner("runner"),
            max_runs,
            liveness: Default::default(),
            http,
            sql: Arc::default(),
            versions: Arc::default(),
            renderer: Arc::default(),
            env: Arc::new(std::env::vars().collect()),
            down: Arc::default(),
        }
    }

    fn is_down(&self, target: &str) -> bool {
        self.down.lock().unwrap().contains(target)
    }

    /// The secrets file runs read from now on (settings reloaded).
    pub fn set_secrets_file(&self, file: Option<PathBuf>) {
        *self.secrets_file.write().expect("secrets file lock") = file;
    }

    /// Records the source of every active bot's version (at start and after each reload).
    pub async fn record_versions(&self) {
        let files = self.active.read().unwrap().definitions.files.clone();
        let bots: Vec<_> = files.values().flat_map(|f| f.bots.iter().map(move |b| (b.clone(), f.source.clone()))).collect();
        for (bot, bytes) in bots {
            let file = bot.file.display().to_string();
            if let Err(e) = self.store.record_bot_version(&bot.name, &bot.version, &file, &bytes).await {
                tracing::warn!(bot = bot.name, error = %e, "cannot record the bot's version");
            }
            self.versions.lock().unwrap().insert((bot.name.clone(), bot.version.clone()), bot.clone());
        }
    }

    /// Claims and executes runs until `stop`; then lets the runs in flight reach a safe point.
    pub async fn run(self, stop: Shutdown) {
        let heartbeat = {
            let (store, owner, down) = (self.store.clone(), self.owner.clone(), self.down.clone());
            tokio::spawn(async move {
                loop {
                    if let Ok(targets) = store.targets_down().await {
                        *down.lock().unwrap() = targets.into_iter().map(|o| o.target).collect();
                    }
                    tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 3)).await;
                    let _ = store.extend_run_leases(&owner, LEASE_MS).await;
                }
            })
        };
        let schedule = tokio::spawn(self.clone().schedule(stop.clone()));
        let (max_runs, wake) = (self.max_runs, self.wake.clone());
        let liveness = self.liveness.clone();
        let mut tasks = crate::lease::serve(self, max_runs, wake, liveness, stop).await;
        let drain = async {
            while tasks.join_next().await.is_some() {}
            let _ = schedule.await;
        };
        if tokio::time::timeout(Duration::from_secs(20), drain).await.is_err() {
            tracing::warn!("runs still in flight; they resume at the next start");
        }
        heartbeat.abort();
    }

    /// Queues scheduled runs, once per bot and matching minute (UTC).
    async fn schedule(self, mut stop: Shutdown) {
        loop {
            let now = chrono::Utc::now();
            let next_minute = 60_000 - (now.timestamp_millis() % 60_000);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(next_minute as u64 + 50)) => {}
                _ = stop.requested() => return,
            }
            let minute = chrono::Utc::now();
            let bots = self.active.read().unwrap().definitions.bots();
            for bot in bots {
                let Trigger::Schedule { cron } = &bot.trigger else { continue };
                if !crate::bots::cron::parse(cron).is_ok_and(|s| s.matches(minute)) {
                    continue;
                }
                let key = format!("schedule:{}:{}", bot.name, minute.format("%Y-%m-%dT%H:%M"));
                let run = NewRun {
                    bot: &bot.name,
                    version: &bot.version,
                    concurrency: bot.concurrency,
                    document_id: None,
                    trigger: "schedule",
                    dedupe_key: Some(key),
                    by: None,
                };
                match self.store.queue_run(&run).await {
                    Ok(Some(id)) => tracing::info!(bot = bot.name, run_id = id, "scheduled run queued"),
                    Ok(None) => {}
                    Err(e) => tracing::error!(bot = bot.name, error = %e, "cannot queue the scheduled run"),
                }
            }
            self.wake.notify_one();
        }
    }

    /// The bot a run started with: from memory, or from the store's copy of that version.
    async fn bot(&self, run: &Run) -> Result<Arc<Bot>, String> {
        let key = (run.bot.clone(), run.version.clone());
        if let Some(b) = self.versions.lock().unwrap().get(&key) {
            return Ok(b.clone());
        }
        let current = self.active.read().unwrap().definitions.bots();
        if let Some(b) = current.into_iter().find(|b| b.name == run.bot && b.version == run.version) {
            self.versions.lock().unwrap().insert(key, b.clone());
            return Ok(b);
        }
        let (file, source) = self
            .store
            .bot_version_source(&run.bot, &run.version)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("version {} of bot `{}` is no longer known", run.version, run.bot))?;
        let (loaded, problems) = crate::definitions::load_file(std::path::Path::new(&file), &source);
        let bot = loaded
            .and_then(|f| f.bots.into_iter().find(|b| b.name == run.bot))
            .ok_or_else(|| format!("version {} of bot `{}` no longer loads: {problems:?}", run.version, run.bot))?;
        self.versions.lock().unwrap().insert(key, bot.clone());
        Ok(bot)
    }

    /// Executes one claimed run to its end, or to a point where it is given back to the queue.
    #[tracing::instrument(skip_all, fields(run_id = run.id, bot = run.bot))]
    pub async fn execute(&self, run: Run, stop: Shutdown) {
        if self.still_waiting(&run).await {
            return;
        }
        let mut redactor = Redactor::new([]);
        let result = self.walk_run(&run, stop, &mut redactor).await;
        let end = match &result {
            Ok(None) => Some(RunState::Succeeded),
            Ok(Some(_)) => Some(RunState::Skipped),
            Err(Stop::Escalate { .. }) => Some(RunState::Escalated),
            Err(Stop::Failed { .. }) => Some(RunState::Failed),
            Err(Stop::Deferred | Stop::Store(_)) => None,
        };
        if let Some(state) = end {
            crate::metrics::count("clerk_runs_finished_total", &[("bot", &run.bot), ("state", state.as_str())]);
        }
        let finished = match result {
            Ok(None) => {
                tracing::info!("run succeeded");
                self.store.finish_run(&run, RunState::Succeeded, None, None, None).await
            }
            Ok(Some(reason)) => {
                tracing::info!(reason, "run skipped");
                self.store.finish_run(&run, RunState::Skipped, Some(&reason), None, None).await
            }
            Err(Stop::Deferred) => Ok(true),
            Err(Stop::Escalate { path, message }) => {
                let message = redactor.redact(&message);
                tracing::info!(step = path, message, "run escalated");
                let detail = json!({ "step": path });
                self.store
                    .finish_run(
                        &run,
                        RunState::Escalated,
                        Some(&message),
                        Some(&path),
                        Some((ExceptionKind::Business, &message, &detail)),
                    )
                    .await
            }
            Err(Stop::Failed { path, step, failure }) => {
                let error = redactor.redact(&format!("step {step} failed: {}", failure.message));
                tracing::warn!(step = path, error, "run failed");
                let detail = json!({
                    "step": path,
                    "request": mask(&redactor, &failure.request),
                    "response": mask(&redactor, &failure.response),
                });
                self.store
                    .finish_run(
                        &run,
                        RunState::Failed,
                        Some(&error),
                        Some(&path),
                        Some((ExceptionKind::System, &error, &detail)),
                    )
                    .await
            }
            Err(Stop::Store(e)) => {
                // The journal could not be written: give the run back to resume shortly from its
                // last recorded step (the heartbeat would keep its lease alive otherwise). If even
                // that fails, it resumes at the next start.
                tracing::error!(error = %e, "run interrupted: the store could not be written; it will resume");
                self.store.defer_run(&run, crate::store::now_ms() + 5_000).await.map(|_| true)
            }
        };
        match finished {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the run's lease was lost; another worker owns it now"),
            Err(e) => tracing::error!(error = %e, "cannot record the end of the run; it will resume"),
        }
    }

    /// A run that waits for a system that is down goes on only when the system is up again, when
    /// it takes the system's next probe, or when it has waited as long as its bot allows (its
    /// step then fails for good on the next refusal). Otherwise it is given back until the probe
    /// after the next, without a journal row. `true`: given back.
    async fn still_waiting(&self, run: &Run) -> bool {
        let Some((target, since)) = &run.waiting_for else { return false };
        let outage = match self.store.take_probe(target, crate::bots::outage::PROBE_LEASE_MS).await {
            Ok(crate::store::Probe::Wait(o)) => o,
            Ok(_) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read whether the system is still down; trying it");
                return false;
            }
        };
        let policy = match self.bot(run).await {
            Ok(bot) => bot.retry.clone(),
            Err(_) => return false,
        };
        if crate::bots::outage::given_up(&policy, *since, crate::store::now_ms()) {
            return false;
        }
        let at = outage.next_probe_ms + crate::bots::outage::spread();
        if let Err(e) = self.store.wait_for_target(run, target, *since, at).await {
            tracing::warn!(error = %e, "cannot give the waiting run back; it resumes when its lease runs out");
        }
        true
    }

    /// `Ok(None)`: every step ran. `Ok(Some(reason))`: the run's `when` is false.
    async fn walk_run(
        &self,
        run: &Run,
        stop: Shutdown,
        redactor: &mut Redactor,
    ) -> Result<Option<String>, Stop> {
        let fail = |message: String| Stop::Failed {
            path: "0".into(),
            step: "start".into(),
            failure: Box::new(Failure::fatal(message)),
        };
        let bot = self.bot(run).await.map_err(fail)?;
        let secrets_file = self.secrets_file.read().expect("secrets file lock").clone();
        let (secrets, missing) = crate::secrets::resolve(&bot.secrets, secrets_file.as_deref()).map_err(fail)?;
        if !missing.is_empty() {
            return Err(fail(format!(
                "secret(s) {} not set: set CLERK_SECRET_<NAME> or add them to the secrets file",
                missing.join(", ")
            )));
        }
        *redactor = Redactor::new(secrets.values().map(String::as_str));
        let doc = match run.document_id {
            Some(id) => self.store.document_for_bot(id).await?.unwrap_or(J::Null),
            None => J::Null,
        };
        let original = match (&doc, bot_uploads_file(&bot.steps)) {
            (J::Object(d), true) => {
                let sha = d["sha256"].as_str().unwrap_or("").to_string();
                let bytes =
                    self.store.blobs.read(&sha).await.map_err(|e| fail(format!("cannot read the document's file: {e}")))?;
                Some((d["file"].as_str().unwrap_or("document").to_string(), Arc::new(bytes)))
            }
            _ => None,
        };
        // A run claimed for the first time has no journal yet.
        let journal = if run.started { self.store.journal(run.id).await? } else { Default::default() };
        let renderer = &*self.renderer;
        let mut ctx = Context {
            doc,
            vars: BTreeMap::new(),
            secrets,
            env: self.env.clone(),
            steps: Some(journal.steps.clone().into_iter().collect()),
            locals: BTreeMap::new(),
            fixed: Default::default(),
        };
        ctx.set_run(run.id, &bot, &run.trigger);
        for (k, v) in &bot.vars {
            let value = match v {
                J::String(s) if !s.contains("{{") => Value::from_safe_string(s.clone()),
                other => Value::from_serialize(renderer.json(other, &ctx).map_err(|e| fail(format!("vars.{k}: {e}")))?),
            };
            ctx.vars.insert(k.clone(), value);
        }
        for (k, v) in &journal.vars {
            ctx.vars.insert(k.clone(), Value::from_serialize(v));
        }
        if !run.started {
            if let Trigger::Doctype { when: Some(when), .. } = &bot.trigger {
                match renderer.condition(when, &ctx) {
                    Ok(true) => {}
                    Ok(false) => return Ok(Some(format!("`when: {when}` is false for this document"))),
                    Err(e) => return Err(fail(format!("`when: {when}`: {e}"))),
                }
            }
        }
        let cookies: Jar = journal.cookies.clone().and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default();
        let waiting = run.waiting_for.clone();
        let mut walk =
            Walk { runner: self, run, bot: &bot, renderer, ctx, cookies, journal, redactor, original, stop, waiting };
        walk.steps(&bot.steps, "").await?;
        Ok(None)
    }
}

fn bot_uploads_file(steps: &[Step]) -> bool {
    steps.iter().any(|s| {
        s.config.get("multipart").is_some_and(|m| m.to_string().contains("doc.file"))
            || bot_uploads_file(&s.then)
            || bot_uploads_file(&s.otherwise)
            || bot_uploads_file(&s.body)
    })
}

fn mask(r: &Redactor, v: &J) -> J {
    serde_json::from_str(&r.redact(&v.to_string())).unwrap_or(J::Null)
}

/// One run's walk through its steps.
struct Walk<'a> {
    runner: &'a Runner,
    run: &'a Run,
    bot: &'a Bot,
    renderer: &'a Renderer,
    ctx: Context,
    cookies: Jar,
    journal: crate::store::Journal,
    redactor: &'a Redactor,
    original: Option<(String, Arc<Vec<u8>>)>,
    stop: Shutdown,
    /// The system this run waited for (down) and since when, until a step reaches it.
    waiting: Option<(String, i64)>,
}

impl Walk<'_> {
    fn steps<'s>(
        &'s mut self,
        steps: &'s [Step],
        prefix: &'s str,
    ) -> futures_util::future::BoxFuture<'s, Result<(), Stop>> {
        Box::pin(async move {
            for (i, step) in steps.iter().enumerate() {
                let path = format!("{prefix}{}", i + 1);
                self.step(step, &path).await?;
            }
            Ok(())
        })
    }

    fn condition(&self, src: &str, path: &str) -> Result<bool, Stop> {
        self.renderer.condition(src, &self.ctx).map_err(|e| Stop::Failed {
            path: path.into(),
            step: path.into(),
            failure: Box::new(Failure::fatal(format!("`if: {src}`: {e}"))),
        })
    }

    fn name(step: &Step, path: &str) -> String {
        match &step.id {
            Some(id) => format!("{path} ({id})"),
            None => format!("{path} ({})", step.kind_name()),
        }
    }

    async fn step(&mut self, step: &Step, path: &str) -> Result<(), Stop> {
        let Some(kind) = step.kind else {
            // An `if` block.
            let cond = step.condition.as_deref().unwrap_or("false");
            return if self.condition(cond, path)? {
                self.steps(&step.then, &format!("{path}.")).await
            } else {
                self.steps(&step.otherwise, &format!("{path}.else.")).await
            };
        };
        if self.journal.done.contains(path) {
            return Ok(());
        }
        if let Some(cond) = &step.condition {
            if !self.condition(cond, path)? {
                let store = &self.runner.store;
                store.step_skipped(self.run, path, step.id.as_deref(), kind.name, step.line).await?;
                return Ok(());
            }
        }
        match kind.act {
            Act::Escalate => {
                let message = steps::escalate::message(&step.config, self.renderer, &self.ctx).map_err(|e| Stop::Failed {
                    path: path.into(),
                    step: Self::name(step, path),
                    failure: Box::new(Failure::fatal(e)),
                })?;
                let store = &self.runner.store;
                let row = store.step_started(self.run, path, step.id.as_deref(), kind.name, step.line, 1).await?;
                let end = StepEnd {
                    state: StepState::Escalated,
                    request: &J::Null,
                    response: &J::Null,
                    output: None,
                    error: Some(&self.redactor.redact(&message)),
                    duration_ms: 0,
                };
                store.step_finished(row, end, None).await?;
                Err(Stop::Escalate { path: path.into(), message })
            }
            Act::Foreach => {
                let items = steps::foreach::items(&step.config, self.renderer, &self.ctx).map_err(|e| Stop::Failed {
                    path: path.into(),
                    step: Self::name(step, path),
                    failure: Box::new(Failure::fatal(format!("items: {e}"))),
                })?;
                let name = steps::foreach::name(&step.config);
                for (n, item) in items.into_iter().enumerate() {
                    self.ctx.locals.insert(name.clone(), Value::from_serialize(&item));
                    self.ctx.locals.insert("loop_index".into(), Value::from(n + 1));
                    self.steps(&step.body, &format!("{path}[{}].", n + 1)).await?;
                }
                self.ctx.locals.remove(&name);
                Ok(())
            }
            Act::Call(_) | Act::Set | Act::WaitUntil => self.attempts(step, path).await,
        }
    }

    /// Runs a step that acts, with its retry policy, journaling every attempt.
    async fn attempts(&mut self, step: &Step, path: &str) -> Result<(), Stop> {
        let policy = step.retry.clone().unwrap_or_else(|| self.bot.retry.clone());
        let store = self.runner.store.clone();
        let (mut failures, mut attempt) = self.journal.attempts.get(path).copied().unwrap_or_default();
        loop {
            attempt += 1;
            let row = store.step_started(self.run, path, step.id.as_deref(), step.kind_name(), step.line, attempt).await?;
            let started = Instant::now();
            let result = self.act(step, path).await;
            let ms = started.elapsed().as_millis() as i64;
            let down = match &result {
                Err(f) => f.down.clone(),
                Ok(_) => None,
            };
            // A system known down answered (the one this run waited for, or any that answered
            // a step): it is up, and every run waiting for it goes on.
            let up = match (&result, &self.waiting) {
                (Err(_), _) if down.is_some() => None,
                (_, Some((target, _))) => Some(target.clone()),
                (Ok(done), None) => done.target.clone().filter(|t| self.runner.is_down(t)),
                (Err(_), None) => None,
            };
            if let Some(target) = up {
                let woken = store.target_up(&target).await?;
                tracing::info!(target, woken, "the system is back; the runs waiting for it go on");
                self.runner.down.lock().unwrap().remove(&target);
                self.waiting = None;
                self.runner.wake.notify_one();
            }
            if let (Err(f), Some(down)) = (&result, down) {
                return self.wait_for(step, path, row, &policy, f, *down, ms).await;
            }
            crate::metrics::observe(
                "clerk_step_duration_seconds",
                &[("bot", &self.run.bot), ("kind", step.kind_name())],
                started.elapsed().as_secs_f64(),
            );
            match result {
                Ok(done) => {
                    let output = J::Object(done.output);
                    if let Some(id) = &step.id {
                        self.ctx.steps.get_or_insert_with(BTreeMap::new).insert(id.clone(), output.clone());
                    }
                    if step.kind.is_some_and(|k| matches!(k.act, Act::Set)) {
                        for (k, v) in output.as_object().into_iter().flatten() {
                            self.ctx.vars.insert(k.clone(), Value::from_serialize(v));
                        }
                    }
                    let cookies = step
                        .kind
                        .is_some_and(|k| k.keeps_cookies)
                        .then(|| serde_json::to_value(&self.cookies).unwrap_or_default());
                    let r = self.redactor;
                    let end = StepEnd {
                        state: StepState::Done,
                        request: &mask(r, &done.request),
                        response: &mask(r, &done.response),
                        output: Some(&mask(r, &output)),
                        error: None,
                        duration_ms: ms,
                    };
                    store.step_finished(row, end, cookies.as_ref()).await?;
                    self.journal.done.insert(path.to_string());
                    return Ok(());
                }
                Err(f) => {
                    failures += 1;
                    let r = self.redactor;
                    let error = r.redact(&f.message);
                    let end = StepEnd {
                        state: StepState::Failed,
                        request: &mask(r, &f.request),
                        response: &mask(r, &f.response),
                        output: None,
                        error: Some(&error),
                        duration_ms: ms,
                    };
                    store.step_finished(row, end, None).await?;
                    if !f.retryable || failures >= policy.attempts as i64 {
                        let f = Failure { message: format!("{} (attempt {attempt})", f.message), ..f };
                        return Err(Stop::Failed {
                            path: path.into(),
                            step: Self::name(step, path),
                            failure: Box::new(f),
                        });
                    }
                    let delay = backoff(&policy, failures, f.retry_after);
                    tracing::info!(
                        step = path,
                        attempt,
                        error,
                        retry_in_ms = delay.as_millis() as u64,
                        "step failed; retrying"
                    );
                    if delay > LONGEST_SLEEP {
                        store.defer_run(self.run, crate::store::now_ms() + delay.as_millis() as i64).await?;
                        return Err(Stop::Deferred);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.stop.requested() => {
                            store.defer_run(self.run, crate::store::now_ms() + delay.as_millis() as i64).await?;
                            return Err(Stop::Deferred);
                        }
                    }
                }
            }
        }
    }

    /// A step could not reach its system: journaled as `waiting` (no attempt), the system marked
    /// down, and the run given back until its next probe, unless it has waited its bot's
    /// `while_down` already (see `bots::outage`).
    #[allow(clippy::too_many_arguments)]
    async fn wait_for(
        &mut self,
        step: &Step,
        path: &str,
        row: i64,
        policy: &RetryPolicy,
        f: &Failure,
        down: steps::Down,
        ms: i64,
    ) -> Result<(), Stop> {
        let store = self.runner.store.clone();
        let r = self.redactor;
        let end = StepEnd {
            state: StepState::Waiting,
            request: &mask(r, &f.request),
            response: &mask(r, &f.response),
            output: None,
            error: Some(&r.redact(&f.message)),
            duration_ms: ms,
        };
        store.step_finished(row, end, None).await?;
        let now = crate::store::now_ms();
        let (since, probing) = match &self.waiting {
            Some((t, since)) if *t == down.target => (*since, true),
            _ => (now, false),
        };
        let outage =
            store.target_down(&down.target, &down.reason, probing, |p| crate::bots::outage::probe_delay(policy, p)).await?;
        self.runner.down.lock().unwrap().insert(down.target.clone());
        if crate::bots::outage::given_up(policy, since, now) {
            let message = crate::bots::outage::gave_up(&down.target, &down.reason, outage.down_since_ms, policy);
            return Err(Stop::Failed {
                path: path.into(),
                step: Self::name(step, path),
                failure: Box::new(Failure { message, ..Failure::fatal("") }),
            });
        }
        tracing::info!(step = path, target = down.target, reason = down.reason, "the system is down; the run waits for it");
        let at = outage.next_probe_ms + crate::bots::outage::spread();
        store.wait_for_target(self.run, &down.target, since, at).await?;
        Err(Stop::Deferred)
    }

    /// One attempt of one step.
    async fn act(&mut self, step: &Step, path: &str) -> steps::Result {
        let Some(kind) = step.kind else { return Err(Failure::fatal("an `if` block is no step to repeat")) };
        let timeout = step.timeout.or_else(|| duration(&step.config, "timeout")).unwrap_or(kind.default_timeout);
        let call = match kind.act {
            Act::Call(call) => call,
            Act::Set => {
                let values = steps::set::values(&step.config, self.renderer, &self.ctx)
                    .map_err(|e| Failure::fatal(format!("template: {e}")))?;
                return Ok(Done { output: values, ..Done::default() });
            }
            Act::WaitUntil => return self.wait_until(step, path, timeout).await,
            Act::Foreach | Act::Escalate => {
                return Err(Failure::fatal(format!("a `{}` step cannot be repeated by `wait_until`", kind.name)))
            }
        };
        let mut env = steps::Env {
            renderer: self.renderer,
            ctx: &self.ctx,
            http: &self.runner.http,
            sql: &self.runner.sql,
            cookies: &mut self.cookies,
            idempotency_key: format!("clerk-{}-{}-{path}", self.run.created_ms, self.run.id),
            original: self.original.clone(),
            timeout,
        };
        let cfg = &step.config;
        // A hard bound over the kind's own timeouts (redirect chains, slow bodies).
        let work = call(cfg, &mut env);
        match tokio::time::timeout(timeout + Duration::from_secs(5), work).await {
            Ok(r) => r,
            Err(_) => Err(Failure::transient(format!("no answer within {timeout:?}"))),
        }
    }

    /// Repeats the inner step until the condition holds for its output (`result`).
    async fn wait_until(&mut self, step: &Step, path: &str, timeout: Duration) -> steps::Result {
        let Some(inner) = step.body.first() else { return Err(Failure::fatal("`wait_until` needs a `step`")) };
        let every = duration(&step.config, "every").unwrap_or(steps::wait_until::EVERY);
        let condition = step.config.get("condition").and_then(J::as_str).unwrap_or("false").to_string();
        let deadline = Instant::now() + timeout;
        let mut tries = 0;
        loop {
            tries += 1;
            let done = Box::pin(self.act(inner, &format!("{path}.1"))).await;
            // An inner failure that may pass is one more poll; one that will not ends the wait.
            match done {
                Ok(done) => {
                    let result = J::Object(done.output.clone());
                    self.ctx.locals.insert("result".into(), Value::from_serialize(&result));
                    let holds = self.renderer.condition(&condition, &self.ctx);
                    self.ctx.locals.remove("result");
                    match holds {
                        Ok(true) => {
                            let mut output = done.output;
                            output.insert("tries".into(), J::from(tries));
                            return Ok(Done { output, ..done });
                        }
                        Ok(false) => {}
                        Err(e) => return Err(Failure::fatal(format!("condition: {e}"))),
                    }
                }
                Err(f) if !f.retryable => return Err(f),
                Err(_) => {}
            }
            if Instant::now() + every > deadline {
                return Err(Failure::fatal(format!("`{condition}` did not hold within {timeout:?} ({tries} tries)")));
            }
            tokio::time::sleep(every).await;
        }
    }
}

fn duration(cfg: &J, key: &str) -> Option<Duration> {
    cfg.get(key).and_then(J::as_str).and_then(|s| crate::config::parse_duration(s).ok())
}

/// Exponential backoff with jitter (a random point in the upper half of the interval, so many
/// runs failing together do not retry together), never sooner than the server's `Retry-After`.
pub fn backoff(policy: &RetryPolicy, failures: i64, retry_after: Option<Duration>) -> Duration {
    let exp = policy.backoff.saturating_mul(1u32 << (failures - 1).clamp(0, 20) as u32).min(policy.max_backoff);
    let jittered = exp.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    match retry_after {
        Some(ra) => jittered.max(ra.min(Duration::from_secs(3600))),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let p = RetryPolicy { attempts: 9, backoff: Duration::from_secs(2), max_backoff: Duration::from_secs(10), ..Default::default() };
        for _ in 0..50 {
            let first = backoff(&p, 1, None);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2), "{first:?}");
            let third = backoff(&p, 3, None);
            assert!(third >= Duration::from_secs(4) && third <= Duration::from_secs(8), "{third:?}");
            assert!(backoff(&p, 8, None) <= Duration::from_secs(10));
            assert!(backoff(&p, 1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        }
    }
}
