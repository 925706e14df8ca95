//! `wait_until`: its step again and again until a condition on the step's `result` holds, for
//! legacy batch jobs that finish in their own time.

use crate::bots::kinds::{key, Act, BASE, Bind, Kind, Shape, TIMEOUT, Value};
use std::time::Duration;

pub const KIND: Kind = Kind {
    name: "wait_until",
    doc: "Repeat a step until a condition holds, for legacy batch jobs.",
    shape: Shape::Keys(&[
        key("step", Value::Step, "the step to repeat"),
        key("condition", Value::Template, "stop when this is true, e.g. \"{{ result.status == 'done' }}\""),
        key("every", Value::Duration, "pause between tries (default 5s)"),
        TIMEOUT,
    ]),
    required: &["step", "condition"],
    binds: &[Bind { key: None, default: "result" }],
    act: Act::WaitUntil,
    summary: |cfg, _, _| Ok(cfg.clone()),
    default_timeout: DEFAULT_WAIT,
    ..BASE
};

/// How long it waits in all when neither the step nor the bot says.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// The pause between tries when `every` is not given.
pub const EVERY: Duration = Duration::from_secs(5);
