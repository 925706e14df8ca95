//! Mail rules as the settings write them (`[[mail.rules]]`): which messages to take, what to take
//! from them, and what to do with them after. `crate::intake::mail` applies them.

use regex::Regex;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// What a mail rule takes from a matching message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Take {
    /// Attachments (parts with a file name, `Content-Disposition: attachment`).
    Attachments,
    /// Inline parts with a file name too (e.g. a scan pasted into the message).
    Inline,
    /// The message text as a document, when it has no attachment.
    Body,
    /// The whole message as an `.eml` document.
    Eml,
}

/// What happens to a message once its documents are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Mark it seen (Maildir: moved to `cur/` with the `S` flag).
    Seen,
    /// Add an IMAP keyword.
    Keyword(String),
    /// Move it to a folder (Maildir++: `.Folder`).
    Move(String),
    Delete,
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.split_once(':') {
            None if s == "seen" => Ok(Action::Seen),
            None if s == "delete" => Ok(Action::Delete),
            Some(("keyword", k)) if !k.is_empty() => Ok(Action::Keyword(k.to_string())),
            Some(("move", f)) if !f.is_empty() => Ok(Action::Move(f.to_string())),
            _ => Err(serde::de::Error::custom(format!(
                "`{s}` is not an action; use \"seen\", \"keyword:NAME\", \"move:FOLDER\" or \"delete\""
            ))),
        }
    }
}

/// A regex in the settings, checked when they are read.
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // Case-insensitive: addresses and subjects come in every case.
        Regex::new(&format!("(?i){s}"))
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("bad regex `{s}`: {e}")))
    }
}

/// A file-name pattern (`*.pdf`, `invoice-??.pdf`), case-insensitive.
#[derive(Debug, Clone)]
pub struct Glob(pub Regex);

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut re = String::from("(?i)^");
        for c in s.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Regex::new(&re).map(Glob).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Accounts the rule applies to (default: all).
    #[serde(default)]
    pub accounts: Vec<String>,
    pub from: Option<Pattern>,
    pub to: Option<Pattern>,
    pub subject: Option<Pattern>,
    pub body: Option<Pattern>,
    /// The message must have an attachment whose name matches one of these; only such
    /// attachments are taken.
    #[serde(default)]
    pub attachment: Vec<Glob>,
    /// Older messages are left alone.
    #[serde(default, deserialize_with = "opt_duration")]
    pub max_age: Option<Duration>,
    #[serde(default = "default_take")]
    pub take: Vec<Take>,
    /// Classify the documents as this type (still validated against it).
    pub doctype: Option<String>,
    #[serde(default = "default_action")]
    pub action: Action,
    /// Go on to the next rules after this one matched.
    #[serde(default, rename = "continue")]
    pub proceed: bool,
}

fn default_take() -> Vec<Take> {
    vec![Take::Attachments]
}

fn default_action() -> Action {
    Action::Seen
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    super::parse_duration(&s).map(Some).map_err(serde::de::Error::custom)
}

