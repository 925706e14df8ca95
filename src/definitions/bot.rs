//! Decoding a `bot:` definition: every key checked against the step-kind table, every template
//! parsed and its references resolved, each problem at its `file:line:col`.

use super::doctype::is_identifier;
use super::yaml::{Node, Value};
use super::Diagnostics;
use crate::bots::kinds::{self, Kind, Shape, STEP_KEYS};
use crate::bots::steps::KINDS;
use crate::bots::template::{self, Scope};
use crate::bots::{Bot, RetryPolicy, Step, Trigger};
use crate::config::parse_duration;
use minijinja::Environment;
use std::time::Duration;

const KEYS: &[&str] = &["bot", "description", "on", "concurrency", "retry", "timeout", "secrets", "vars", "steps", "sla"];

pub fn decode(doc: &Node, version: &str, diag: &mut Diagnostics) -> Option<Bot> {
    let before = diag.errors();
    diag.unknown_keys(doc, "a bot", KEYS);
    let env = template::environment();
    let name_node = doc.get("bot")?;
    let name = match name_node.as_str() {
        Some(n) if is_identifier(n) => n.to_string(),
        _ => {
            diag.error(name_node.pos, "`bot` must be a name of letters, digits, `_`, `-` or `.`");
            String::new()
        }
    };
    let mut scope = Scope::default();
    for s in doc.get("secrets").map(Node::items).unwrap_or_default() {
        match s.as_str() {
            Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') => {
                scope.secrets.insert(n.to_string());
            }
            _ => diag.error(
                s.pos,
                "a secret's name is upper-case letters, digits and `_` (it is read from CLERK_SECRET_<NAME>)",
            ),
        }
    }
    let mut vars = serde_json::Map::new();
    if let Some(v) = doc.get("vars") {
        match v.as_map() {
            Some(entries) => {
                for (k, val) in entries {
                    check_templates(&env, val, &scope, diag);
                    let key = k.as_str().unwrap_or("").to_string();
                    scope.vars.insert(key.clone());
                    vars.insert(key, to_json(val));
                }
            }
            None => diag.error(v.pos, "`vars` must be a mapping of names to values"),
        }
    }
    let trigger = decode_trigger(doc, &env, &scope, diag);
    let concurrency = doc.get("concurrency").map(|c| integer(c, "concurrency", 1, 1000, diag)).unwrap_or(1) as u32;
    let retry = doc.get("retry").map(|r| decode_retry(r, diag)).unwrap_or_default();
    let sla = doc.get("sla").map(|n| super::sla(n, diag));
    let steps = match doc.get("steps") {
        Some(s) if s.as_seq().is_some() => decode_steps(s, &env, &mut scope, diag),
        Some(s) => {
            diag.error(s.pos, format!("`steps` must be a list of steps, found {}", s.kind_name()));
            vec![]
        }
        None => {
            diag.error(doc.pos, format!("bot `{name}` has no `steps:`"));
            vec![]
        }
    };
    (diag.errors() == before).then(|| Bot {
        name,
        description: doc.get("description").and_then(Node::as_str).map(str::to_string),
        file: diag.file.to_path_buf(),
        version: version.to_string(),
        trigger,
        concurrency,
        retry,
        secrets: scope.secrets.iter().cloned().collect(),
        vars,
        steps,
        defined_at: (name_node.pos.line, name_node.pos.col),
        sla,
    })
}

fn integer(node: &Node, what: &str, min: i64, max: i64, diag: &mut Diagnostics) -> i64 {
    match node.as_str().and_then(|s| s.parse::<i64>().ok()) {
        Some(n) if (min..=max).contains(&n) => n,
        _ => {
            diag.error(node.pos, format!("`{what}` must be a whole number from {min} to {max}"));
            min
        }
    }
}

fn duration(node: &Node, what: &str, diag: &mut Diagnostics) -> Duration {
    match node.as_str().map(parse_duration) {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            diag.error(node.pos, format!("`{what}`: {e}"));
            Duration::ZERO
        }
        None => {
            diag.error(node.pos, format!("`{what}` must be a duration like 500ms, 2s or 5m"));
            Duration::ZERO
        }
    }
}

fn decode_retry(node: &Node, diag: &mut Diagnostics) -> RetryPolicy {
    let mut r = RetryPolicy::default();
    if node.as_map().is_none() {
        diag.error(node.pos, "`retry` must be a mapping: { attempts: 5, backoff: 2s, max_backoff: 5m, while_down: 4h }");
        return r;
    }
    diag.unknown_keys(node, "`retry`", &["attempts", "backoff", "max_backoff", "while_down"]);
    if let Some(a) = node.get("attempts") {
        r.attempts = integer(a, "retry.attempts", 1, 100, diag) as u32;
    }
    if let Some(b) = node.get("backoff") {
        r.backoff = duration(b, "retry.backoff", diag);
    }
    if let Some(m) = node.get("max_backoff") {
        r.max_backoff = duration(m, "retry.max_backoff", diag);
    }
    if let Some(w) = node.get("while_down") {
        r.while_down = duration(w, "retry.while_down", diag);
    }
    r
}

fn decode_trigger(doc: &Node, env: &Environment<'static>, scope: &Scope, diag: &mut Diagnostics) -> Trigger {
    let Some(on) = doc.get("on") else { return Trigger::Manual };
    if on.as_str() == Some("manual") {
        return Trigger::Manual;
    }
    if on.as_map().is_none() {
        diag.error(on.pos, "`on` must be `manual`, `{ doctype: NAME }` or `{ schedule: \"0 2 * * *\" }`");
        return Trigger::Manual;
    }
    diag.unknown_keys(on, "`on`", &["doctype", "when", "schedule", "manual"]);
    if let Some(d) = on.get("doctype") {
        let when = on.get("when").and_then(Node::as_str).map(str::to_string);
        if let Some(w) = on.get("when") {
            check_templates(env, w, scope, diag);
        }
        return Trigger::Doctype { doctype: d.as_str().unwrap_or("").to_string(), when };
    }
    if let Some(s) = on.get("schedule") {
        let cron = s.as_str().unwrap_or("").to_string();
        if let Err(e) = check_cron(&cron) {
            diag.error(s.pos, format!("`schedule`: {e}"));
        }
        if on.get("when").is_some() {
            diag.error(on.pos, "`when` applies to `doctype` triggers only");
        }
        return Trigger::Schedule { cron };
    }
    if on.get("manual").is_none() {
        diag.error(on.pos, "`on` needs `doctype`, `schedule` or `manual`");
    }
    Trigger::Manual
}

fn check_cron(cron: &str) -> Result<(), String> {
    crate::bots::cron::parse(cron).map(|_| ())
}

fn decode_steps(list: &Node, env: &Environment<'static>, scope: &mut Scope, diag: &mut Diagnostics) -> Vec<Step> {
    list.as_seq().unwrap_or_default().iter().filter_map(|s| decode_step(s, env, scope, diag)).collect()
}

fn decode_step(node: &Node, env: &Environment<'static>, scope: &mut Scope, diag: &mut Diagnostics) -> Option<Step> {
    let Some(entries) = node.as_map() else {
        diag.error(
            node.pos,
            format!("a step must be a mapping like `- http: {{ get: URL }}`, found {}", node.kind_name()),
        );
        return None;
    };
    let step_keys: Vec<&str> = STEP_KEYS.iter().map(|k| k.name).collect();
    let mut kind: Option<(&Node, &'static Kind)> = None;
    let mut unknown_kind = false;
    for (k, _) in entries {
        let key = k.as_str().unwrap_or("");
        if step_keys.contains(&key) {
            continue;
        }
        match kinds::kind(key) {
            Some(found) => match kind {
                Some((first, _)) => diag.error(
                    k.pos,
                    format!("a step has one kind, but this one has `{}` and `{key}`", first.as_str().unwrap_or("")),
                ),
                None => kind = Some((k, found)),
            },
            None => {
                let all: Vec<&str> = KINDS.iter().map(|k| k.name).chain(step_keys.iter().copied()).collect();
                let hint = super::closest(key, &all).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
                diag.error(k.pos, format!("unknown step kind `{key}`{hint}; step kinds are: {}", names.join(", ")));
                unknown_kind = true;
            }
        }
    }
    let id = node.get("id").and_then(|i| match i.as_str() {
        Some(s) if is_identifier(s) && !s.contains('.') && !s.contains('-') => Some(s.to_string()),
        _ => {
            diag.error(i.pos, "a step `id` is letters, digits and `_` (templates read it as steps.<id>)");
            None
        }
    });
    if let Some(id) = &id {
        if scope.steps.contains(id) {
            diag.error(node.get("id").unwrap().pos, format!("another step already has the id `{id}`"));
        }
    }
    let condition = node.get("if").map(|c| {
        check_templates(env, c, scope, diag);
        c.as_str().unwrap_or("").to_string()
    });
    let retry = node.get("retry").map(|r| decode_retry(r, diag));
    let timeout = node.get("timeout").map(|t| duration(t, "timeout", diag));
    let (then_node, else_node) = (node.get("then"), node.get("else"));
    let mut step = Step {
        id: id.clone(),
        condition,
        kind: None,
        config: serde_json::Value::Null,
        then: vec![],
        otherwise: vec![],
        body: vec![],
        retry,
        timeout,
        line: node.pos.line,
    };
    match kind {
        None if then_node.is_some() || else_node.is_some() => {
            if step.condition.is_none() {
                diag.error(node.pos, "`then`/`else` need an `if:` condition");
            }
            // An `if` block: no kind.
            // Names set inside a branch are visible after it (the branch may run).
            step.then = then_node.map(|t| decode_steps(t, env, scope, diag)).unwrap_or_default();
            step.otherwise = else_node.map(|e| decode_steps(e, env, scope, diag)).unwrap_or_default();
        }
        None if unknown_kind => return None,
        None => {
            let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
            diag.error(node.pos, format!("this step has no kind; give it one of: {} (or `if` with `then`)", names.join(", ")));
            return None;
        }
        Some((key, k)) => {
            if then_node.is_some() || else_node.is_some() {
                diag.error(key.pos, format!("`then`/`else` go on an `if` step without a kind, not on `{}`", k.name));
            }
            let value = node.get(k.name).expect("kind key present");
            step.kind = Some(k);
            (step.config, step.body) = decode_kind(k, value, env, scope, diag);
        }
    }
    if let Some(id) = id {
        scope.steps.insert(id);
    }
    Some(step)
}

fn decode_kind(
    k: &Kind,
    value: &Node,
    env: &Environment<'static>,
    scope: &mut Scope,
    diag: &mut Diagnostics,
) -> (serde_json::Value, Vec<Step>) {
    let mut body = vec![];
    match k.shape {
        Shape::Message => {
            if value.as_str().is_none() {
                diag.error(value.pos, format!("`{}` takes the message for the agent, e.g. {}: \"No vendor with IBAN {{{{ doc.fields.iban }}}}\"", k.name, k.name));
            }
            check_templates(env, value, scope, diag);
        }
        Shape::Variables => match value.as_map() {
            Some(entries) => {
                for (name, v) in entries {
                    check_templates(env, v, scope, diag);
                    scope.vars.insert(name.as_str().unwrap_or("").to_string());
                }
            }
            None => diag.error(value.pos, format!("`{}` takes a mapping of variable names to values", k.name)),
        },
        Shape::Keys(keys) => {
            if value.as_map().is_none() {
                diag.error(
                    value.pos,
                    format!(
                        "`{}` takes a mapping of: {}",
                        k.name,
                        keys.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                    ),
                );
                return (serde_json::Value::Null, body);
            }
            let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
            diag.unknown_keys(value, &format!("`{}`", k.name), &names);
            let present: Vec<&str> = k.one_of.iter().copied().filter(|n| value.get(n).is_some()).collect();
            if !k.one_of.is_empty() && present.len() != 1 {
                diag.error(value.pos, format!("`{}` needs exactly one of: {}", k.name, k.one_of.join(", ")));
            }
            for r in k.required {
                if value.get(r).is_none() {
                    diag.error(value.pos, format!("`{}` needs `{r}`", k.name));
                }
            }
            // What the steps inside may read: the loop's item, a polled step's result…
            let mut inner = scope.clone();
            for bind in k.binds {
                let named = bind.key.and_then(|key| value.get(key)).and_then(Node::as_str);
                inner.locals.insert(named.unwrap_or(bind.default).to_string());
            }
            for (key, v) in value.as_map().unwrap_or_default() {
                let Some(spec) = keys.iter().find(|s| Some(s.name) == key.as_str()) else { continue };
                match spec.value {
                    kinds::Value::Steps => {
                        if v.as_seq().is_some() {
                            body = decode_steps(v, env, &mut inner, diag);
                        } else {
                            diag.error(v.pos, format!("`{}` must be a list of steps", spec.name));
                        }
                    }
                    kinds::Value::Step => {
                        body.extend(decode_step(v, env, &mut inner.clone(), diag));
                    }
                    kinds::Value::Duration => {
                        duration(v, spec.name, diag);
                    }
                    kinds::Value::Map if v.as_map().is_none() => {
                        diag.error(v.pos, format!("`{}` must be a mapping", spec.name))
                    }
                    kinds::Value::Map if spec.name == "extract" => {
                        for (_, expr) in v.as_map().unwrap_or_default() {
                            if let Err(e) = crate::bots::extract::check(expr.as_str().unwrap_or("")) {
                                diag.error(expr.pos, e);
                            }
                        }
                    }
                    kinds::Value::List if v.as_seq().is_none() => {
                        diag.error(v.pos, format!("`{}` must be a list", spec.name))
                    }
                    _ => check_templates(env, v, &inner, diag),
                }
            }
            for (key, why) in k.literal {
                if let Some(v) = value.get(key).filter(|v| v.as_str().is_some_and(|t| t.contains("{{"))) {
                    diag.error(v.pos, *why);
                }
            }
            // Variables set inside a loop body stay visible after it.
            scope.vars.extend(inner.vars);
            scope.steps.extend(inner.steps);
        }
    }
    (to_json(value), body)
}

/// Checks every string inside `node` as a template.
fn check_templates(env: &Environment<'static>, node: &Node, scope: &Scope, diag: &mut Diagnostics) {
    match &node.value {
        Value::Scalar { text, .. } => {
            for problem in template::check(env, text, scope) {
                diag.error(node.pos, problem);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| check_templates(env, i, scope, diag)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| check_templates(env, v, scope, diag)),
        Value::Null => {}
    }
}

/// YAML → JSON, typing unquoted scalars (numbers, booleans) the way YAML does.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Scalar { text, quoted: true } => J::String(text.clone()),
        Value::Scalar { text, quoted: false } => match text.as_str() {
            "true" | "True" => J::Bool(true),
            "false" | "False" => J::Bool(false),
            t => t
                .parse::<i64>()
                .map(J::from)
                .ok()
                .or_else(|| t.parse::<f64>().ok().filter(|f| f.is_finite()).map(J::from))
                .unwrap_or_else(|| J::String(t.to_string())),
        },
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            J::Object(entries.iter().map(|(k, v)| (k.as_str().unwrap_or("").to_string(), to_json(v))).collect())
        }
    }
}
