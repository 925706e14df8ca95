//! Prometheus metrics, in the text exposition format. Events the daemon sees (a stage finished, a
//! step took so long, a reader was restarted) are counted here in memory; the state of the work
//! (queues, runs, open exceptions, mailboxes) is read from the store at each scrape
//! ([`crate::store::Gauges`]), so it is right whichever daemon did the work.

use crate::store::Gauges;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

/// Upper bounds of the duration buckets, in seconds: from a text PDF's milliseconds to OCR's
/// and a slow legacy system's minutes.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative), the last one for +Inf.
    counts: Vec<u64>,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// Adds one to a counter.
pub fn count(name: &'static str, pairs: &[(&'static str, &str)]) {
    add(name, pairs, 1);
}

/// Adds `n` to a counter.
pub fn add(name: &'static str, pairs: &[(&'static str, &str)], n: u64) {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    *r.counters.entry((name, labels(pairs))).or_default() += n;
}

/// Records a duration in a histogram.
pub fn observe(name: &'static str, pairs: &[(&'static str, &str)], seconds: f64) {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    let h = r.histograms.entry((name, labels(pairs))).or_default();
    if h.counts.is_empty() {
        h.counts = vec![0; BUCKETS.len() + 1];
    }
    let i = BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(BUCKETS.len());
    h.counts[i] += 1;
    h.sum += seconds;
}

/// What each family means, for `# HELP` (and its type).
pub const FAMILIES: &[(&str, &str, &str)] = &[
    ("clerk_documents_processed_total", "counter", "Documents this daemon finished a stage with, by outcome (recognised or the exception kind)."),
    ("clerk_stage_duration_seconds", "histogram", "Time a pipeline stage took for one document."),
    ("clerk_step_duration_seconds", "histogram", "Time a bot step took (one attempt), by bot and step kind."),
    ("clerk_runs_finished_total", "counter", "Bot runs this daemon finished, by bot and end state."),
    ("clerk_batches_split_total", "counter", "Scanned batches this daemon cut into documents by a split rule."),
    ("clerk_retention_removed_total", "counter", "What this daemon's retention passes removed: originals, documents, audit lines."),
    ("clerk_reader_restarts_total", "counter", "Reader processes replaced (crashed, over a limit, or retired)."),
    ("clerk_documents", "gauge", "Documents in the store, by status."),
    ("clerk_queue_depth", "gauge", "Pipeline jobs queued or running, by stage."),
    ("clerk_queue_oldest_seconds", "gauge", "Age of the oldest queued pipeline job, by stage."),
    ("clerk_runs", "gauge", "Bot runs in the store, by state."),
    ("clerk_exceptions_open", "gauge", "Exception items open or claimed, by kind."),
    ("clerk_exceptions_oldest_open_seconds", "gauge", "Age of the oldest open exception item, by kind."),
    ("clerk_mail_account_healthy", "gauge", "1 when the mailbox's last check succeeded, else 0."),
    ("clerk_target_down_seconds", "gauge", "How long a legacy system the bots reach has been down (refusing connections), by target; absent when it answers."),
    ("clerk_runs_waiting", "gauge", "Runs queued waiting for a legacy system that is down, by target."),
    ("clerk_exceptions_overdue", "gauge", "Exception items open or claimed past their document type's or bot's sla (or [queue] sla), by kind."),
];


/// The overdue gauge (counted from the definitions' SLAs, which the store does not know).
pub fn render_overdue(by_kind: &std::collections::BTreeMap<String, i64>) -> String {
    let mut out = String::new();
    header(&mut out, "clerk_exceptions_overdue");
    // Every kind, so an overdue count of 0 is a series too.
    for kind in crate::states::ExceptionKind::ALL.iter().map(|k| k.as_str()) {
        let n = by_kind.get(kind).copied().unwrap_or(0);
        let _ = writeln!(out, "clerk_exceptions_overdue{} {n}", label_text(&[("kind", kind.to_string())], None));
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn label_text(labels: &[(&str, String)], extra: Option<(&str, String)>) -> String {
    let all: Vec<String> = labels
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .chain(extra)
        .map(|(k, v)| format!("{k}=\"{}\"", escape(&v)))
        .collect();
    if all.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", all.join(","))
    }
}

fn header(out: &mut String, name: &str) {
    if let Some((_, kind, help)) = FAMILIES.iter().find(|(n, _, _)| *n == name) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "NaN".into()
    }
}

/// The exposition: this daemon's counters and histograms, the store's gauges, and
/// `reader_restarts` (the reader pool keeps its own count).
pub fn render(gauges: &Gauges, reader_restarts: u64) -> String {
    let mut out = String::new();
    {
        let r = registry().lock().unwrap_or_else(|e| e.into_inner());
        let mut last = "";
        for ((name, labels), v) in &r.counters {
            if *name != last {
                header(&mut out, name);
                last = name;
            }
            let _ = writeln!(out, "{name}{} {v}", label_text(labels, None));
        }
        last = "";
        for ((name, labels), h) in &r.histograms {
            if *name != last {
                header(&mut out, name);
                last = name;
            }
            let mut cumulative = 0;
            for (i, c) in h.counts.iter().enumerate() {
                cumulative += c;
                let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| number(*b));
                let _ = writeln!(out, "{name}_bucket{} {cumulative}", label_text(labels, Some(("le", le))));
            }
            let _ = writeln!(out, "{name}_sum{} {}", label_text(labels, None), number(h.sum));
            let _ = writeln!(out, "{name}_count{} {cumulative}", label_text(labels, None));
        }
    }
    header(&mut out, "clerk_reader_restarts_total");
    let _ = writeln!(out, "clerk_reader_restarts_total {reader_restarts}");

    let gauge = |out: &mut String, name: &str, rows: Vec<(Labels, f64)>| {
        header(out, name);
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{} {}", label_text(&labels, None), number(v));
        }
    };
    let one = |k: &'static str, v: &str| vec![(k, v.to_string())];
    gauge(&mut out, "clerk_documents", gauges.documents_by_status.iter().map(|(s, n)| (one("status", s), *n as f64)).collect());
    gauge(&mut out, "clerk_queue_depth", gauges.jobs_by_stage.iter().map(|(s, n, _)| (one("stage", s), *n as f64)).collect());
    gauge(&mut out, "clerk_queue_oldest_seconds", gauges.jobs_by_stage.iter().map(|(s, _, a)| (one("stage", s), *a)).collect());
    gauge(&mut out, "clerk_runs", gauges.runs_by_state.iter().map(|(s, n)| (one("state", s), *n as f64)).collect());
    gauge(&mut out, "clerk_exceptions_open", gauges.exceptions_open.iter().map(|(k, n, _)| (one("kind", k), *n as f64)).collect());
    gauge(
        &mut out,
        "clerk_exceptions_oldest_open_seconds",
        gauges.exceptions_open.iter().map(|(k, _, a)| (one("kind", k), *a)).collect(),
    );
    gauge(
        &mut out,
        "clerk_mail_account_healthy",
        gauges
            .mail_accounts
            .iter()
            .map(|(n, k, ok)| (vec![("account", n.clone()), ("kind", k.clone())], *ok as u8 as f64))
            .collect(),
    );
    let now = crate::store::now_ms();
    let down = &gauges.targets_down;
    gauge(
        &mut out,
        "clerk_target_down_seconds",
        down.iter().map(|o| (one("target", &o.target), (now - o.down_since_ms) as f64 / 1000.0)).collect(),
    );
    gauge(&mut out, "clerk_runs_waiting", down.iter().map(|o| (one("target", &o.target), o.waiting_runs as f64)).collect());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        observe("clerk_step_duration_seconds", &[("bot", "a\"b"), ("kind", "http")], 0.02);
        observe("clerk_step_duration_seconds", &[("bot", "a\"b"), ("kind", "http")], 3.0);
        let text = render(&Gauges::default(), 0);
        assert!(text.contains("clerk_step_duration_seconds_bucket{bot=\"a\\\"b\",kind=\"http\",le=\"0.025\"} 1"), "{text}");
        assert!(text.contains("clerk_step_duration_seconds_bucket{bot=\"a\\\"b\",kind=\"http\",le=\"5\"} 2"), "{text}");
        assert!(text.contains("clerk_step_duration_seconds_bucket{bot=\"a\\\"b\",kind=\"http\",le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("clerk_step_duration_seconds_count{bot=\"a\\\"b\",kind=\"http\"} 2"), "{text}");
    }
}
