//! Rendering a bot's steps into the requests they would send. Values that come from documents
//! (and from legacy systems' responses) are data wherever they land: JSON bodies are built as JSON
//! values, form and query values are encoded by the client, and templates for XML and URLs escape
//! every value not marked trusted. Trusted are the bot's own configuration: `env`, `secrets` and
//! literal `vars`.

use super::{Bot, Step};
use minijinja::value::{Object, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a rendered string lands, which decides how untrusted values are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Plain data (a JSON string, a form or header value): no escaping, the carrier encodes it.
    Data,
    Xml,
    Url,
}

impl Place {
    fn name(self) -> &'static str {
        match self {
            Place::Data => "data",
            Place::Xml => "xml",
            Place::Url => "url",
        }
    }
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| match name {
        "xml" => AutoEscape::Custom("xml"),
        "url" => AutoEscape::Custom("url"),
        _ => AutoEscape::None,
    });
    env.set_formatter(|out, state, value| {
        let text = if value.is_none() { String::new() } else { value.to_string() };
        let escaped = match state.auto_escape() {
            _ if value.is_safe() => text,
            AutoEscape::Custom("xml") => xml_escape(&text),
            AutoEscape::Custom("url") => url_encode(&text),
            _ => text,
        };
        out.write_str(&escaped).map_err(minijinja::Error::from)
    });
    env
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value not known before the run (a step's output in a dry run): renders as `<steps.x.y>`.
#[derive(Debug)]
struct Placeholder(String);

impl Object for Placeholder {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from_object(Placeholder(format!("{}.{key}", self.0))))
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

/// What templates can read.
pub struct Context {
    pub doc: J,
    pub vars: BTreeMap<String, Value>,
    pub secrets: BTreeMap<String, String>,
    /// The process environment (shared: every run reads the same).
    pub env: Arc<BTreeMap<String, String>>,
    /// Outputs of steps that ran; `None` renders every step output as a placeholder (dry run).
    pub steps: Option<BTreeMap<String, J>>,
    pub locals: BTreeMap<String, Value>,
    /// `doc`, `secrets` and `env` as template values, built on first use: they do not change
    /// during a run, and converting them (the document's whole text, every environment
    /// variable) for each template would be most of a render's work.
    pub fixed: std::sync::OnceLock<[Value; 3]>,
}

impl Context {
    /// Sets `run`, what a template knows of the run it renders for (a dry run's id is 0).
    pub fn set_run(&mut self, id: i64, bot: &Bot, trigger: &str) {
        let run = serde_json::json!({ "id": id, "bot": bot.name, "version": bot.version, "trigger": trigger });
        self.locals.insert("run".into(), Value::from_serialize(run));
    }

    fn value(&self) -> Value {
        let [doc, secrets, env] = self
            .fixed
            .get_or_init(|| {
                let safe_map = |m: &BTreeMap<String, String>| {
                    Value::from_iter(m.iter().map(|(k, v)| (k.clone(), Value::from_safe_string(v.clone()))))
                };
                [Value::from_serialize(&self.doc), safe_map(&self.secrets), safe_map(&self.env)]
            })
            .clone();
        let steps = match &self.steps {
            Some(s) => Value::from_serialize(s),
            None => Value::from_object(Placeholder("steps".into())),
        };
        let mut root: BTreeMap<String, Value> = self.locals.clone();
        root.insert("doc".into(), doc);
        root.insert("vars".into(), Value::from_iter(self.vars.clone()));
        root.insert("secrets".into(), secrets);
        root.insert("env".into(), env);
        root.insert("steps".into(), steps);
        Value::from_iter(root)
    }
}

pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer { env: environment() }
    }
}

impl Renderer {
    /// Renders one template string for `place`.
    pub fn text(&self, src: &str, place: Place, ctx: &Context) -> Result<String, String> {
        if !src.contains("{{") && !src.contains("{%") {
            return Ok(src.to_string());
        }
        let tmpl = self.env.template_from_named_str(place.name(), src).map_err(|e| e.to_string())?;
        tmpl.render(ctx.value()).map_err(|e| self.describe_in(e, src, ctx))
    }

    /// Renders a JSON body: a string that is exactly one `{{ expression }}` keeps the expression's
    /// type (number, bool, list…); other strings are rendered; everything stays JSON data.
    pub fn json(&self, value: &J, ctx: &Context) -> Result<J, String> {
        Ok(match value {
            J::String(s) => match single_expression(s) {
                Some(expr) => {
                    let e = self.env.compile_expression(expr).map_err(describe)?;
                    let v = e.eval(ctx.value()).map_err(|e| self.describe_in(e, expr, ctx))?;
                    match v.downcast_object_ref::<Placeholder>() {
                        Some(p) => J::String(format!("<{}>", p.0)),
                        None => serde_json::to_value(&v).unwrap_or_else(|_| J::String(v.to_string())),
                    }
                }
                None => J::String(self.text(s, Place::Data, ctx)?),
            },
            J::Array(items) => J::Array(items.iter().map(|i| self.json(i, ctx)).collect::<Result<_, _>>()?),
            J::Object(m) => {
                J::Object(m.iter().map(|(k, v)| Ok((k.clone(), self.json(v, ctx)?))).collect::<Result<_, String>>()?)
            }
            other => other.clone(),
        })
    }

    /// Evaluates a condition template (`"{{ doc.fields.total | float > 0 }}"`).
    pub fn condition(&self, src: &str, ctx: &Context) -> Result<bool, String> {
        let expr = single_expression(src).unwrap_or(src);
        let e = self.env.compile_expression(expr).map_err(describe)?;
        Ok(e.eval(ctx.value()).map_err(|e| self.describe_in(e, expr, ctx))?.is_true())
    }

    /// An error from rendering `src`. minijinja says only "undefined value"; the dotted names in
    /// `src` are tried one by one to say which (`env.ERP_URL is not set`).
    fn describe_in(&self, e: minijinja::Error, src: &str, ctx: &Context) -> String {
        if e.kind() == minijinja::ErrorKind::UndefinedError {
            static NAMES: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            // A dotted path or a bare name, not a filter (after `|`) nor inside a string.
            let names = NAMES.get_or_init(|| {
                regex::Regex::new(r#"\|\s*\w+|"[^"]*"|'[^']*'|([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"#).unwrap()
            });
            const WORDS: [&str; 10] = ["and", "or", "not", "in", "is", "if", "else", "true", "false", "none"];
            let value = ctx.value();
            let code = if src.contains("{{") || src.contains("{%") { template_code(src) } else { src.to_string() };
            for c in names.captures_iter(&code) {
                let Some(name) = c.get(1).map(|m| m.as_str()) else { continue };
                if WORDS.contains(&name) {
                    continue;
                }
                let Ok(expr) = self.env.compile_expression(name) else { continue };
                match expr.eval(value.clone()) {
                    Ok(v) if v.is_undefined() => return undefined(name),
                    Err(e) if e.kind() == minijinja::ErrorKind::UndefinedError => return undefined(name),
                    _ => {}
                }
            }
        }
        describe(e)
    }
}

/// The code inside a template's `{{ }}` and `{% %}` blocks, literal text left out.
fn template_code(src: &str) -> String {
    let mut out = String::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let close = if rest[start..].starts_with("{{") { "}}" } else { "%}" };
        let Some(end) = rest[start + 2..].find(close) else { break };
        out.push_str(&rest[start + 2..start + 2 + end]);
        out.push(' ');
        rest = &rest[start + 2 + end + 2..];
    }
    out
}

fn undefined(name: &str) -> String {
    let root = name.split(['.', '[', '|', ' ']).next().unwrap_or(name);
    let leaf = name.strip_prefix(root).unwrap_or("").trim_start_matches('.');
    match root {
        "env" if !leaf.is_empty() => format!("{name} is not set: the environment variable {leaf} is missing"),
        "secrets" if !leaf.is_empty() => format!("{name} is not set: declare the secret and set CLERK_SECRET_{leaf}"),
        _ => format!("{name} is undefined"),
    }
}

fn describe(e: minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

#[cfg(test)]
mod undefined_tests {
    use super::*;

    #[test]
    fn an_undefined_value_is_named() {
        let r = Renderer::default();
        let ctx = Context {
            doc: J::Null,
            vars: BTreeMap::new(),
            secrets: BTreeMap::new(),
            env: Arc::new(BTreeMap::new()),
            steps: Some(BTreeMap::new()),
            locals: BTreeMap::new(),
            fixed: Default::default(),
        };
        let e = r.text("{{ env.ERP_URL }}/soap", Place::Data, &ctx).unwrap_err();
        assert!(e.contains("env.ERP_URL is not set") && e.contains("ERP_URL"), "{e}");
        let e = r.condition("{{ vars.limit > 3 }}", &ctx).unwrap_err();
        assert!(e.contains("vars.limit"), "{e}");
    }
}

/// `"{{ expr }}"` → `expr`, when the string is exactly one expression.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

/// One step as it would be sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rendered {
    /// `1`, `3.1` (inside a block)…
    pub number: String,
    pub id: Option<String>,
    /// The kind's name; `if` for an `if` block.
    pub kind: String,
    /// An `if` block (its steps follow it).
    #[serde(skip)]
    pub block: bool,
    pub condition: Option<String>,
    /// The request, or what the step would do, ready to show.
    pub summary: J,
    pub error: Option<String>,
}

/// Renders every step of `bot` without running anything (a dry run): step outputs are
/// placeholders, conditions are shown rather than evaluated.
pub fn dry_run(bot: &Bot, ctx: &mut Context) -> Vec<Rendered> {
    let r = Renderer::default();
    for (k, v) in &bot.vars {
        let rendered = match v {
            J::String(s) if !s.contains("{{") => Value::from_safe_string(s.clone()),
            other => r.json(other, ctx).map(|j| Value::from_serialize(&j)).unwrap_or(Value::UNDEFINED),
        };
        ctx.vars.insert(k.clone(), rendered);
    }
    let mut out = vec![];
    render_steps(&r, &bot.steps, "", ctx, &mut out);
    out
}

fn render_steps(r: &Renderer, steps: &[Step], prefix: &str, ctx: &mut Context, out: &mut Vec<Rendered>) {
    for (i, step) in steps.iter().enumerate() {
        let number = format!("{prefix}{}", i + 1);
        let summary = summarise(r, step, ctx);
        out.push(Rendered {
            number: number.clone(),
            id: step.id.clone(),
            kind: step.kind_name().to_string(),
            block: step.kind.is_none(),
            condition: step.condition.clone(),
            error: summary.as_ref().err().cloned(),
            summary: summary.unwrap_or(J::Null),
        });
        if step.kind.is_some_and(|k| matches!(k.act, super::kinds::Act::Set)) {
            // Later steps read what `set` sets.
            for (k, v) in step.config.as_object().into_iter().flatten() {
                let v = r.json(v, ctx).map(|j| Value::from_serialize(&j)).unwrap_or(Value::UNDEFINED);
                ctx.vars.insert(k.clone(), v);
            }
        }
        render_steps(r, &step.then, &format!("{number}."), ctx, out);
        if !step.otherwise.is_empty() {
            render_steps(r, &step.otherwise, &format!("{number}.else."), ctx, out);
        }
    }
}

/// `cfg[key]` rendered as text for `place`; `None` when the key is absent.
pub fn text_of(r: &Renderer, cfg: &J, key: &str, place: Place, ctx: &Context) -> Result<Option<String>, String> {
    cfg.get(key).map(|v| r.text(&json_text(v), place, ctx)).transpose()
}

fn json_text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A mapping of names to templates, rendered (headers, form fields…); `None` when absent.
pub fn map_of(r: &Renderer, cfg: &J, key: &str, ctx: &Context) -> Result<Option<J>, String> {
    let Some(m) = cfg.get(key).and_then(J::as_object) else { return Ok(None) };
    let mut out = serde_json::Map::new();
    for (k, v) in m {
        out.insert(k.clone(), J::String(r.text(&json_text(v), Place::Data, ctx)?));
    }
    Ok(Some(J::Object(out)))
}

/// What a dry run shows of a step: its kind's summary (an `if` block shows nothing itself).
fn summarise(r: &Renderer, step: &Step, ctx: &Context) -> Result<J, String> {
    match step.kind {
        Some(kind) => (kind.summary)(&step.config, r, ctx),
        None => Ok(J::Object(Default::default())),
    }
}

pub fn soap_envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}
