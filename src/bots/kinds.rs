//! The one list of step kinds and their keys. Validation (`clerk check`), the JSON Schema
//! (`clerk schema`) and the documentation are all generated from it, so they cannot disagree.

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

pub struct Key {
    pub name: &'static str,
    pub value: Value,
    pub doc: &'static str,
}

pub struct Kind {
    pub name: &'static str,
    pub doc: &'static str,
    /// `None`: the kind's value is a single template (`escalate: "message"`).
    pub keys: Option<&'static [Key]>,
    /// Exactly one of these keys must be present (e.g. the HTTP method).
    pub one_of: &'static [&'static str],
    /// These keys must be present.
    pub required: &'static [&'static str],
}

const fn key(name: &'static str, value: Value, doc: &'static str) -> Key {
    Key { name, value, doc }
}

const EXTRACT: Key = key("extract", Value::Map, "name → where to find a value in the response: `$.json.path`, `//xpath`, `css:selector@attr`, `header:Name` or `regex:pattern`");
const TIMEOUT: Key = key("timeout", Value::Duration, "give up an attempt after this long (e.g. 30s)");

pub const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head"];

pub const KINDS: &[Kind] = &[
    Kind {
        name: "http",
        doc: "An HTTP request to a legacy system (REST, form-based web apps).",
        keys: Some(&[
            key("get", Value::Template, "URL to GET"),
            key("post", Value::Template, "URL to POST to"),
            key("put", Value::Template, "URL to PUT to"),
            key("patch", Value::Template, "URL to PATCH"),
            key("delete", Value::Template, "URL to DELETE"),
            key("head", Value::Template, "URL to HEAD"),
            key("headers", Value::Map, "request headers"),
            key("query", Value::Map, "query parameters (percent-encoded)"),
            key("json", Value::Any, "a JSON body; document values land as JSON values"),
            key("form", Value::Map, "an application/x-www-form-urlencoded body"),
            key("xml", Value::Template, "an XML body; document values are XML-escaped"),
            key("body", Value::Template, "a raw body"),
            key(
                "multipart",
                Value::Map,
                "a multipart/form-data body; `{{ doc.file }}` is the document's original file",
            ),
            key("auth", Value::Map, "`basic: [user, password]` or `bearer: token`"),
            key("expect", Value::List, "accepted status codes (default: any 2xx)"),
            key(
                "idempotency_key",
                Value::Template,
                "Idempotency-Key header value (default: derived from run and step; `false` sends none)",
            ),
            EXTRACT,
            TIMEOUT,
        ]),
        one_of: HTTP_METHODS,
        required: &[],
    },
    Kind {
        name: "soap",
        doc: "A SOAP call: the body is wrapped in an envelope; a SOAP fault is an error carrying its fault string.",
        keys: Some(&[
            key("url", Value::Template, "endpoint URL"),
            key("action", Value::Template, "SOAPAction"),
            key("body", Value::Template, "the XML inside <soap:Body>; document values are XML-escaped"),
            key("headers", Value::Map, "extra HTTP headers"),
            EXTRACT,
            TIMEOUT,
        ]),
        one_of: &[],
        required: &["url", "action", "body"],
    },
    Kind {
        name: "sql",
        doc: "A statement against a legacy database (PostgreSQL, MySQL, SQLite); values only as bind parameters.",
        keys: Some(&[
            key("url", Value::Template, "database URL, e.g. postgres://… (usually from env or secrets)"),
            key("query", Value::Template, "the SQL, with $1, $2… (or ?) placeholders; no templates inside"),
            key("params", Value::List, "bind parameters, in order"),
            EXTRACT,
            TIMEOUT,
        ]),
        one_of: &[],
        required: &["url", "query"],
    },
    Kind {
        name: "file",
        doc: "Write a CSV, fixed-width or JSON file into a drop folder atomically, or wait for and read a result file.",
        keys: Some(&[
            key("write", Value::Template, "path of the file to write (written to a temporary name, then renamed)"),
            key("format", Value::Template, "csv, fixed or json"),
            key("rows", Value::Any, "the rows to write (a list of mappings)"),
            key("columns", Value::List, "column order (csv, fixed)"),
            key("widths", Value::List, "column widths (fixed)"),
            key("wait_for", Value::Template, "path of a result file to wait for and read"),
            EXTRACT,
            TIMEOUT,
        ]),
        one_of: &["write", "wait_for"],
        required: &[],
    },
    Kind {
        name: "wait_until",
        doc: "Repeat a step until a condition holds, for legacy batch jobs.",
        keys: Some(&[
            key("step", Value::Step, "the step to repeat"),
            key("condition", Value::Template, "stop when this is true, e.g. \"{{ result.status == 'done' }}\""),
            key("every", Value::Duration, "pause between tries (default 5s)"),
            TIMEOUT,
        ]),
        one_of: &[],
        required: &["step", "condition"],
    },
    Kind {
        name: "set",
        doc: "Set variables: name → value (templates allowed).",
        keys: None,
        one_of: &[],
        required: &[],
    },
    Kind {
        name: "foreach",
        doc: "Run steps once per item of a list (e.g. invoice lines); `loop_index` is the item's position, from 1.",
        keys: Some(&[
            key("items", Value::Template, "the list, e.g. \"{{ doc.fields.lines }}\""),
            key("as", Value::Template, "the loop variable's name (default `item`)"),
            key("steps", Value::Steps, "the steps to run for each item"),
        ]),
        one_of: &[],
        required: &["items", "steps"],
    },
    Kind {
        name: "escalate",
        doc: "Stop the run and put a business exception on the queue with this message.",
        keys: None,
        one_of: &[],
        required: &[],
    },
];

/// Keys every step may carry besides its kind.
pub const STEP_KEYS: &[Key] = &[
    key("id", Value::Template, "name of the step; later steps read its results as steps.<id>"),
    key("if", Value::Template, "run the step only when this is true"),
    key("then", Value::Steps, "with `if` and no kind: steps to run when true"),
    key("else", Value::Steps, "with `if` and no kind: steps to run when false"),
    key("retry", Value::Any, "this step's retry policy (see the bot's `retry`)"),
    TIMEOUT,
];

pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}
