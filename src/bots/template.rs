//! Checking templates before anything runs: syntax, and that every name a template reads exists
//! at that point of the bot (an earlier step, a declared secret, a variable set before).

use minijinja::{Environment, UndefinedBehavior};
use std::collections::BTreeSet;

/// What a template may refer to at one point of a bot.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub steps: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub vars: BTreeSet<String>,
    /// Loop variables (`foreach … as`) and `result` inside `wait_until`.
    pub locals: BTreeSet<String>,
}

/// Roots every template can read.
pub const ROOTS: &[&str] = &["doc", "vars", "secrets", "env", "steps", "run"];

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Problems with `source` as a template in `scope`, each a sentence.
pub fn check(env: &Environment<'static>, source: &str, scope: &Scope) -> Vec<String> {
    if !source.contains("{{") && !source.contains("{%") {
        return vec![];
    }
    let tmpl = match env.template_from_str(source) {
        Ok(t) => t,
        Err(e) => {
            let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
            return vec![format!("template syntax error: {}{detail}", e.kind())];
        }
    };
    let mut problems = vec![];
    for var in tmpl.undeclared_variables(true) {
        let mut parts = var.split('.');
        let root = parts.next().unwrap_or("");
        let second = parts.next();
        if scope.locals.contains(root) {
            continue;
        }
        match (root, second) {
            ("steps", Some(id)) if !scope.steps.contains(id) => problems.push(match scope.steps.is_empty() {
                true => format!("`{var}` refers to step `{id}`, but no earlier step has that id"),
                false => format!(
                    "`{var}` refers to step `{id}`, but no earlier step has that id (earlier: {})",
                    scope.steps.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            }),
            ("secrets", Some(name)) if !scope.secrets.contains(name) => {
                problems.push(format!("`{var}` reads secret `{name}`, which the bot does not declare in `secrets:`"))
            }
            ("vars", Some(name)) if !scope.vars.contains(name) => problems.push(format!(
                "`{var}` reads variable `{name}`, which is not set in `vars:` or by an earlier `set` step"
            )),
            (r, _) if !ROOTS.contains(&r) => problems.push(format!(
                "`{var}` is not something a template can read; use one of: {}",
                ROOTS
                    .iter()
                    .chain(scope.locals.iter().map(String::as_str).collect::<Vec<_>>().iter())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => {}
        }
    }
    problems
}
