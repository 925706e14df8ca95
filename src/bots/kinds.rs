//! What a step kind is made of, and the keys every step may carry. The kinds themselves are in
//! `bots/steps/`, one file each, listed in `steps::KINDS`.

/// What a key's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// Text, which may contain `{{ … }}` templates.
    Template,
    /// A mapping of names to templates (headers, form fields…).
    Map,
    /// Any YAML value; strings in it are templates (a JSON body).
    Any,
    /// A list of values.
    List,
    Duration,
    Bool,
    Integer,
    /// A list of nested steps.
    Steps,
    /// One nested step.
    Step,
}

#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub value: Value,
    pub doc: &'static str,
}

/// A step kind: everything about it in one value, declared in the kind's own file under
/// `bots/steps/` and registered in [`super::steps::KINDS`]. Decoding and `clerk check`, the JSON
/// Schema, the reference page, dry runs and the runner all read it from there; none names a
/// kind.
pub struct Kind {
    pub name: &'static str,
    pub doc: &'static str,
    /// What the kind's key holds.
    pub shape: Shape,
    /// Exactly one of these keys must be present (e.g. the HTTP method).
    pub one_of: &'static [&'static str],
    /// These keys must be present.
    pub required: &'static [&'static str],
    /// Names the steps inside this one may read (`foreach`: the item; `wait_until`: the result).
    pub binds: &'static [Bind],
    /// Keys that take no templates, each with the reason a person is told.
    pub literal: &'static [(&'static str, &'static str)],
    /// How a run carries it out.
    pub act: Act,
    /// What a dry run shows of the step: its request, rendered, or what it would do.
    pub summary: Summary,
    /// The step reaches a web application: the run's cookie jar is journaled after it.
    pub keeps_cookies: bool,
    /// An attempt's deadline when the step and its bot set none.
    pub default_timeout: std::time::Duration,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// What a kind's key holds.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A mapping of these keys.
    Keys(&'static [Key]),
    /// One template: the message of `escalate`.
    Message,
    /// A mapping of variable names to values: `set`.
    Variables,
}

impl Shape {
    pub fn keys(self) -> Option<&'static [Key]> {
        match self {
            Shape::Keys(keys) => Some(keys),
            Shape::Message | Shape::Variables => None,
        }
    }
}

/// A name the steps inside a step may read: the value of `key` in its configuration, or
/// `default`.
#[derive(Debug, Clone, Copy)]
pub struct Bind {
    pub key: Option<&'static str>,
    pub default: &'static str,
}

/// How a run carries a step out. Calls are attempts the runner retries and journals; the rest
/// are the run's own control flow, each one arm of the runner's `match` (a new one will not
/// compile until it has its arm).
#[derive(Clone, Copy)]
pub enum Act {
    /// One attempt at a legacy system.
    Call(Call),
    /// Sets variables from its templates.
    Set,
    /// Repeats its step until a condition holds.
    WaitUntil,
    /// Runs its steps once per item of a list.
    Foreach,
    /// Stops the run and asks a person.
    Escalate,
}

/// One attempt of a calling step: its configuration (templates not yet rendered) and the run.
pub type Call = for<'a, 'e> fn(&'a serde_json::Value, &'a mut super::steps::Env<'e>) -> futures_util::future::BoxFuture<'a, super::steps::Result>;

/// A dry run's view of a step, rendered against the document.
pub type Summary = fn(&serde_json::Value, &super::render::Renderer, &super::render::Context) -> Result<serde_json::Value, String>;

/// The usual deadline of one attempt.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a kind leaves as most kinds have it (`Kind { name, doc, shape, act, summary, ..BASE }`):
/// no key required or exclusive, nothing bound, every key a template, no cookies, the usual
/// deadline.
pub const BASE: Kind = Kind {
    name: "",
    doc: "",
    shape: Shape::Keys(&[]),
    one_of: &[],
    required: &[],
    binds: &[],
    literal: &[],
    act: Act::Set,
    summary: |_, _, _| Ok(serde_json::Value::Null),
    keeps_cookies: false,
    default_timeout: DEFAULT_TIMEOUT,
};



pub const fn key(name: &'static str, value: Value, doc: &'static str) -> Key {
    Key { name, value, doc }
}

pub const EXTRACT: Key = key("extract", Value::Map, "name → where to find a value in the response: `$.json.path`, `//xpath`, `css:selector@attr`, `header:Name` or `regex:pattern`");
pub const TIMEOUT: Key = key("timeout", Value::Duration, "give up an attempt after this long (e.g. 30s)");

/// Keys every step may carry besides its kind.
pub const STEP_KEYS: &[Key] = &[
    key("id", Value::Template, "name of the step; later steps read its results as steps.<id>"),
    key("if", Value::Template, "run the step only when this is true"),
    key("then", Value::Steps, "with `if` and no kind: steps to run when true"),
    key("else", Value::Steps, "with `if` and no kind: steps to run when false"),
    key("retry", Value::Any, "this step's retry policy (see the bot's `retry`)"),
    TIMEOUT,
];

/// The kind named `name` (a step's key), if there is one.
pub fn kind(name: &str) -> Option<&'static Kind> {
    super::steps::KINDS.iter().copied().find(|k| k.name == name)
}
