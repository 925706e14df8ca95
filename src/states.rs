//! Every state and kind a stored row can be in, as types: the store reads and writes them, the
//! API's OpenAPI document lists their values, the command line parses them (a typo lists the
//! valid ones), and templates see their names. Each is kept as its name in a TEXT column, so
//! the schema needs no change to add one, and a value the code does not know is an error where
//! it is read, not a silent mismatch.

use std::fmt;

/// An enum kept as text: its names, its parser and its column type for the store.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema, clap::ValueEnum)]
        // Every name is its variant's, in lower case (OpenAPI takes the names from this, not
        // from per-variant renames; a test checks the two agree).
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* #[value(name = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("`{s}` is not a {}; {}s are {}", $what, $what, [$($text),+].join(", "))),
                }
            }
        }

        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }
    };
}

text_enum! {
    /// Where a document is: on its way, done (recognised, or an exception item waits), or set
    /// aside.
    DocumentStatus, "document status" {
        /// Taken and stored; not read yet.
        Received = "received",
        /// Read; not classified yet.
        Extracted = "extracted",
        Recognised = "recognised",
        /// An exception item waits for a person.
        Exception = "exception",
        /// The same bytes arrived before; linked to the first.
        Duplicate = "duplicate",
        Rejected = "rejected",
        /// A scanned batch cut into documents of its own.
        Split = "split",
        /// A part an agent cut again: its pages are in other parts now.
        Replaced = "replaced",
    }
}

text_enum! {
    /// Where an exception item is in a person's hands.
    ItemState, "state" {
        Open = "open",
        Claimed = "claimed",
        Resolved = "resolved",
        Rejected = "rejected",
        /// Its document was cut again by an agent: the new parts have items of their own.
        Replaced = "replaced",
    }
}

impl ItemState {
    /// Still waiting for someone.
    pub fn is_waiting(self) -> bool {
        matches!(self, ItemState::Open | ItemState::Claimed)
    }
}

text_enum! {
    /// Why an item is on the exception queue.
    ExceptionKind, "kind" {
        /// No text could be read (empty, damaged, encrypted, over a limit, no text after OCR).
        Unreadable = "unreadable",
        /// Read, but no document type matched.
        Unrecognised = "unrecognised",
        /// Two types matched equally, or the file reads as two documents.
        Ambiguous = "ambiguous",
        /// A required field is missing or invalid.
        Incomplete = "incomplete",
        /// A bot's `escalate` step: the business case needs a person.
        Business = "business",
        /// A bot step failed after its retries (the legacy system is down, rejected the request…).
        System = "system",
    }
}

impl ExceptionKind {
    /// The kinds a bot run raises (the others are a document's).
    pub fn is_run(self) -> bool {
        matches!(self, ExceptionKind::Business | ExceptionKind::System)
    }
}

text_enum! {
    /// Where a bot run is.
    RunState, "run state" {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        /// Its `when` condition did not hold: nothing was done.
        Skipped = "skipped",
        /// An `escalate` step stopped it: a business item waits.
        Escalated = "escalated",
        /// A step failed after its retries: a system item waits.
        Failed = "failed",
        /// A person ended it.
        Ended = "ended",
    }
}

impl RunState {
    /// Stopped, waiting for a person's decision (retry, continue, end).
    pub fn is_stopped(self) -> bool {
        matches!(self, RunState::Escalated | RunState::Failed)
    }
}

/// What a person decides for a stopped run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run the failed step again (for an escalation: the whole run again).
    Retry,
    /// Count the failed step as done and go on after it.
    Continue,
    /// Stop the run for good.
    End,
}

/// How a stopped run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunChange {
    /// Queued again from its first step (an escalated run: the person settled the case); steps
    /// that acted keep their idempotency keys, so nothing is done twice.
    StartOver,
    /// Queued again at the failed step, its attempts counted afresh.
    RetryStep,
    /// Queued again after the failed step, which the journal records as skipped.
    SkipStep,
    /// Ended for good.
    End,
}

impl Decision {
    /// What the decision does to a run stopped in `state`, and how the audit trail says it;
    /// none for a run that is not stopped (it waits for no decision).
    pub fn change_for(self, state: RunState) -> Option<(RunChange, &'static str)> {
        if !state.is_stopped() {
            return None;
        }
        Some(match (self, state) {
            (Decision::End, _) => (RunChange::End, "ended the run"),
            (Decision::Retry, RunState::Escalated) => (RunChange::StartOver, "restarted the run"),
            (Decision::Retry, _) => (RunChange::RetryStep, "retried the failed step"),
            (Decision::Continue, _) => (RunChange::SkipStep, "continued after the failed step"),
        })
    }
}

text_enum! {
    /// One attempt of a step, in the run's journal.
    StepState, "step state" {
        Started = "started",
        Done = "done",
        Failed = "failed",
        /// Its `if` did not hold.
        Skipped = "skipped",
        /// An `escalate` step: the run stopped there for a person.
        Escalated = "escalated",
        /// Given back to the queue: the legacy system it needs is down.
        Waiting = "waiting",
    }
}

text_enum! {
    /// Where a mail message is: its documents taken (the action on the mailbox still to do),
    /// done, or matched by no rule (left in the mailbox).
    MessageState, "message state" {
        Taken = "taken",
        Done = "done",
        Unmatched = "unmatched",
        /// The same message seen under another key (a copy, or UIDVALIDITY changed): not again.
        Duplicate = "duplicate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stopped_run_is_decided_and_an_escalated_one_retried_starts_over() {
        for s in RunState::ALL.iter().filter(|s| !s.is_stopped()) {
            assert_eq!(Decision::Retry.change_for(*s), None, "{s}");
        }
        let change = |d: Decision, s| d.change_for(s).map(|(c, _)| c);
        assert_eq!(change(Decision::Retry, RunState::Escalated), Some(RunChange::StartOver));
        assert_eq!(change(Decision::Retry, RunState::Failed), Some(RunChange::RetryStep));
        assert_eq!(change(Decision::Continue, RunState::Failed), Some(RunChange::SkipStep));
        assert_eq!(change(Decision::End, RunState::Escalated), Some(RunChange::End));
    }

    #[test]
    fn a_state_reads_back_as_itself_and_a_typo_names_the_valid_ones() {
        for s in RunState::ALL {
            assert_eq!(s.as_str().parse::<RunState>(), Ok(*s));
        }
        let e = "succeded".parse::<RunState>().unwrap_err();
        assert!(e.contains("not a run state") && e.contains("succeeded, skipped"), "{e}");
        fn same<T: serde::Serialize + std::fmt::Display>(all: &[T]) {
            for v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(v.to_string()));
            }
        }
        same(DocumentStatus::ALL);
        same(ItemState::ALL);
        same(ExceptionKind::ALL);
        same(RunState::ALL);
        same(StepState::ALL);
        same(MessageState::ALL);
    }
}
