//! `clerk serve`: wires the inbox sources to the pipeline workers, reloads definitions when they
//! change, and shuts down on SIGINT/SIGTERM within seconds (readers are killed and their
//! documents re-queued; anything interrupted is re-run from its last committed state at the next
//! start).

use crate::runner::Runner;
use crate::config::Settings;
use crate::definitions;
use crate::definitions::Active;
use crate::pipeline::Pipeline;
use crate::read::pool::{self, Readers};
use crate::heartbeat;
use crate::store::{Backend, Store, Wakers};
use anyhow::Context;
use notify::Watcher;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use crate::http;
use crate::service::{self, Liveness};
use crate::shutdown::Shutdown;
use tokio::sync::Notify;

/// How long a stop waits for work in flight (bot steps, store writes) before it exits anyway;
/// systemd and the README promise a stop within 10 s.
const STOP_WITHIN: Duration = Duration::from_secs(7);

/// How the settings are read again on SIGHUP (the file, then the environment and flags on top).
pub type LoadSettings = Box<dyn Fn() -> anyhow::Result<Settings> + Send>;

pub async fn serve(settings: Settings, load: LoadSettings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data).with_context(|| format!("cannot create {}", settings.data.display()))?;
    let _lock = lock_data_dir(&settings.data)?;
    let store = Store::open_at(&settings.store_location()).await?;
    // Alone on its SQLite store, a starting daemon knows everything `running` was its own and
    // resumes it at once. Sharing PostgreSQL, it cannot tell: others' leases run out or are taken
    // back when their daemon stops beating (see `heartbeat`).
    if store.backend() == Backend::Sqlite {
        let orphans = store.requeue_orphans().await?;
        let orphan_runs = store.requeue_orphan_runs().await?;
        if orphans + orphan_runs > 0 {
            tracing::info!(jobs = orphans, runs = orphan_runs, "resuming work interrupted by the last stop");
        }
    }

    let loaded = definitions::load_dir(&settings.definitions, None);
    log_problems(&loaded.problems);
    let active = Arc::new(RwLock::new(Active::new(loaded.definitions)));
    tracing::info!(doctypes = active.read().unwrap().classifier.types().len(), dir = %settings.definitions.display(), "definitions loaded");

    let reader_settings = settings.reader_settings();
    if !pool::program_exists(&reader_settings.program) {
        anyhow::bail!(
            "the document reader {} is missing: install clerk-reader beside clerk, or set readers.program",
            reader_settings.program.display()
        );
    }
    let readers = Readers::new(reader_settings);
    let pipeline = Pipeline {
        store: store.clone(),
        active: active.clone(),
        readers: readers.clone(),
        wake: Arc::new(Notify::new()),
        runs_wake: Arc::new(Notify::new()),
        learner: Default::default(),
        split: Arc::new(settings.split.clone()),
    };
    let (stop, stop_rx) = Shutdown::new();
    let mut tasks = tokio::task::JoinSet::new();
    let liveness = Liveness::default();

    let service = http::Service {
        store: store.clone(),
        active: active.clone(),
        readers: readers.clone(),
        definitions: settings.definitions.clone(),
        secrets_file: settings.secrets_file.clone(),
        logins: Default::default(),
        previews: Default::default(),
        learner: pipeline.learner.clone(),
        trusted_proxies: settings.http.trusted_proxies.clone().into(),
        queue_sla: settings.queue.sla,
        retention: settings.retention.clone(),
        metrics_token: settings.http.metrics_token.as_deref().filter(|t| !t.is_empty()).map(Arc::from),
    };
    let addr = http::start(&settings.http, service, stop_rx.clone()).await?;
    tracing::info!(address = %addr, "serving /metrics, /healthz and /readyz on http://{addr}");

    // Work other daemons queue, and work taken back from daemons that died, wakes these loops.
    let wakers = Wakers { jobs: pipeline.wake.clone(), runs: pipeline.runs_wake.clone() };
    store.listen(wakers.clone(), stop_rx.clone());
    tasks.spawn(heartbeat::run(store.clone(), wakers, stop_rx.clone()));
    tasks.spawn(crate::retention::keep(store.clone(), settings.retention.clone(), stop_rx.clone()));

    let mut runner = Runner::new(store.clone(), active.clone(), settings.secrets_file.clone(), settings.max_runs);
    runner.wake = pipeline.runs_wake.clone();
    runner.liveness = liveness.clone();
    runner.record_versions().await;
    let in_force = active.read().unwrap().clone();
    record_in_force(&store, in_force).await;
    tasks.spawn(runner.clone().run(stop_rx.clone()));

    let _definitions_watcher = watch_definitions(settings.definitions.clone(), active.clone(), runner.clone());

    let mail_policy = crate::intake::mail::Policy::new(settings.mail.rules.clone(), settings.limits.limits());
    let shared = crate::intake::Shared {
        store: store.clone(),
        wake: pipeline.wake.clone(),
        readers: readers.clone(),
        mail_policy: mail_policy.clone(),
    };
    for source in crate::intake::sources(&settings, &shared) {
        let (name, stop) = (source.name(), stop_rx.clone());
        tasks.spawn(async move {
            if let Err(e) = source.run(stop).await {
                tracing::error!(source = name, error = %format!("{e:#}"), "a source stopped");
            }
        });
    }
    {
        let (pipeline, stop, workers, liveness) =
            (pipeline.clone(), stop_rx.clone(), settings.worker_count(), liveness.clone());
        tasks.spawn(async move {
            let wake = pipeline.wake.clone();
            let mut jobs = crate::lease::serve(pipeline, workers, wake, liveness, stop).await;
            while jobs.join_next().await.is_some() {}
        });
    }
    tracing::info!(workers = settings.worker_count(), "clerk is running");
    service::notify("READY=1");
    service::spawn_watchdog(liveness);

    let mut reloader = Reloader { started: settings.clone(), load, active: active.clone(), runner, readers: readers.clone(), mail_policy };
    wait_for_stop(&mut reloader).await;
    service::notify("STOPPING=1");
    tracing::info!("stopping: documents being read go back to the queue, bot steps in flight finish");
    stop.stop();
    // Reading can take minutes; a stop must not. Readers are killed and their documents given
    // back untouched, to be read again at the next start.
    readers.stop().await;
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_WITHIN, drain).await.is_err() {
        tracing::warn!("work still running after {} s; it resumes at the next start", STOP_WITHIN.as_secs());
    }
    Ok(())
}

/// One daemon per data folder: two would both think they own the SQLite store's running jobs.
pub fn lock_data_dir(data: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let path = data.join("clerk.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(_) => anyhow::bail!("another clerk is already running on {} (it holds {})", data.display(), path.display()),
    }
}

/// Reloads definitions when a file in the folder changes. A file with problems keeps its
/// previous good version; every problem is logged as `file:line:col: message`.
fn watch_definitions(
    dir: std::path::PathBuf,
    active: Arc<RwLock<Arc<Active>>>,
    runner: Runner,
) -> Option<notify::RecommendedWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Our own reads show up as access events; only changes matter.
        if res.is_ok_and(|e| {
            matches!(e.kind, notify::EventKind::Create(_) | notify::EventKind::Modify(_) | notify::EventKind::Remove(_))
        }) {
            let _ = tx.send(());
        }
    })
    .ok()?;
    if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::Recursive) {
        tracing::warn!(dir = %dir.display(), error = %e, "definitions will not be reloaded on change");
        return None;
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Editors write in several steps: let them finish.
            tokio::time::sleep(Duration::from_millis(200)).await;
            while rx.try_recv().is_ok() {}
            reload(&dir, &active, &runner).await;
        }
    });
    Some(watcher)
}

/// Loads the definitions again; a file with problems keeps its previous good version.
async fn reload(dir: &std::path::Path, active: &Arc<RwLock<Arc<Active>>>, runner: &Runner) {
    let previous = active.read().unwrap().definitions.clone();
    let dir = dir.to_path_buf();
    let Ok(loaded) = tokio::task::spawn_blocking(move || definitions::load_dir(&dir, Some(&previous))).await else {
        return;
    };
    log_problems(&loaded.problems);
    for f in &loaded.kept_previous {
        tracing::warn!(file = %f.display(), "keeping the previous version of this file until its problems are fixed");
    }
    let next = Active::new(loaded.definitions);
    tracing::info!(doctypes = next.classifier.types().len(), bots = next.definitions.bots().len(), "definitions reloaded");
    *active.write().unwrap() = next.clone();
    runner.record_versions().await;
    record_in_force(&runner.store, next).await;
}

/// Tells commands which definitions are in force (see `Active::in_force`).
async fn record_in_force(store: &crate::store::Store, now: Arc<Active>) {
    if let Err(e) = now.record(store).await {
        tracing::warn!(error = %e, "cannot record the definitions in force; commands may check against an older set");
    }
}

fn log_problems(problems: &[definitions::Problem]) {
    for p in problems {
        if p.warning {
            tracing::warn!("{p}");
        } else {
            tracing::error!("{p}");
        }
    }
}

/// What SIGHUP reloads: the definitions, and the settings that can change while clerk runs.
struct Reloader {
    /// The settings clerk started with: what a restart-only setting is compared against.
    started: Settings,
    load: LoadSettings,
    active: Arc<RwLock<Arc<Active>>>,
    runner: Runner,
    readers: Readers,
    mail_policy: crate::intake::mail::Policy,
}

impl Reloader {
    async fn reload(&mut self) {
        reload(&self.started.definitions, &self.active, &self.runner).await;
        let new = match (self.load)() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "the settings were not reloaded; the running ones stay in force");
                return;
            }
        };
        let old = &self.started;
        let differ = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
        let restart_only = [
            ("data", differ(&old.data, &new.data)),
            ("store", differ(&old.store, &new.store)),
            ("blobs", differ(&old.blobs, &new.blobs)),
            ("definitions", differ(&old.definitions, &new.definitions)),
            ("inbox", differ(&old.inbox, &new.inbox)),
            ("workers", old.workers != new.workers),
            ("max_runs", old.max_runs != new.max_runs),
            ("intake", differ(&old.intake, &new.intake)),
            ("mail accounts", differ(&(&old.mail.maildir, &old.mail.imap, old.mail.poll_interval), &(&new.mail.maildir, &new.mail.imap, new.mail.poll_interval))),
            ("readers.count", old.readers.count != new.readers.count),
            ("http", differ(&old.http, &new.http)),
            ("queue", differ(&old.queue, &new.queue)),
            ("retention", differ(&old.retention, &new.retention)),
            ("split", differ(&old.split, &new.split)),
        ];
        let pending: Vec<&str> = restart_only.iter().filter(|(_, changed)| *changed).map(|(name, _)| *name).collect();
        if !pending.is_empty() {
            tracing::warn!(settings = %pending.join(", "), "changed in the settings; these take effect when clerk restarts");
        }
        self.readers.reconfigure(new.reader_settings()).await;
        self.mail_policy.replace(new.mail.rules.clone(), new.limits.limits());
        self.runner.set_secrets_file(new.secrets_file.clone());
        tracing::info!("settings reloaded: limits, OCR languages and reader settings, mail rules and the secrets file are in force");
    }
}

/// Waits for SIGINT or SIGTERM; SIGHUP meanwhile reloads the definitions and settings
/// (`systemctl reload`).
async fn wait_for_stop(reloader: &mut Reloader) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing SIGTERM handler");
    let mut hup = signal(SignalKind::hangup()).expect("installing SIGHUP handler");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the definitions and settings");
                service::notify("RELOADING=1");
                reloader.reload().await;
                service::notify("READY=1");
            }
        }
    }
}
