//! From a raw e-mail to stored documents, whatever mailbox it came from. The raw message goes
//! into the blob store first; the message row and every document taken from it commit in one
//! transaction; the mailbox action (seen, move…) comes after, so a crash in between leaves a
//! `taken` row that tells the next start to apply the action only.

use crate::states::MessageState;
use super::mail::{self, Action, Rule};
use crate::read::Limits;
use crate::store::blobs::Stored;
use crate::store::{MailDocument, NewDocument, NewMessage, Store};

#[derive(Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Its documents are stored: apply `action` to the message, then mark it done.
    Taken { message: i64, action: Action },
    /// No rule matched: the message is left as it is (and counted).
    Unmatched,
    /// Nothing to do: seen before, or an exception that keeps the message's bytes.
    Done,
}

/// Takes an e-mail saved as a file into an inbox (`source`) as a mailbox takes a message under
/// the default rule: each attachment is a document (the invoice PDF it carries), and the text is
/// one when there is no attachment. `name` is the file's name, kept by an unreadable message.
pub async fn ingest_saved(store: &Store, limits: &Limits, source: &str, key: &str, name: &str, raw: &[u8]) -> anyhow::Result<Ingested> {
    let rule = Rule {
        name: "an e-mail saved into the inbox".into(),
        accounts: vec![],
        from: None,
        to: None,
        subject: None,
        body: None,
        attachment: vec![],
        max_age: None,
        take: vec![mail::Take::Attachments, mail::Take::Body],
        doctype: None,
        action: Action::Seen,
        proceed: false,
    };
    ingest(store, limits, &[rule], source, "inbox", key, raw, Some(name)).await
}

/// Takes one message found at (account, folder, key). `eml_name` names the message's own
/// document (default: from its subject).
#[allow(clippy::too_many_arguments)]
pub async fn ingest(
    store: &Store,
    limits: &Limits,
    rules: &[Rule],
    account: &str,
    folder: &str,
    key: &str,
    raw: &[u8],
    eml_name: Option<&str>,
) -> anyhow::Result<Ingested> {
    if let Some((id, state, rule)) = store.mail_message(account, folder, key).await? {
        return Ok(match state {
            // Stored before a restart; the action is still to do.
            MessageState::Taken => Ingested::Taken { message: id, action: action_of(rules, rule.as_deref()) },
            MessageState::Unmatched => Ingested::Unmatched,
            MessageState::Done | MessageState::Duplicate => Ingested::Done,
        });
    }
    let stored = store.blobs.put_bytes(raw).await?;
    let shown = format!("{account}/{folder}/{key}");
    // A document of the message's own bytes reuses their blob; a part's bytes get one of their own.
    let document =
        |n: usize, name: &str, blob: Option<Stored>, refused: Option<String>| -> anyhow::Result<MailDocument> {
            let blob = blob.unwrap_or_else(|| stored.clone());
            Ok(MailDocument {
                doc: NewDocument {
                    source: format!("mail:{account}"),
                    original_name: name.to_string(),
                    original_path: shown.clone(),
                    intake_key: format!("mail|{account}|{folder}|{key}|{n}"),
                    sha256: blob.sha256,
                    size: blob.size,
                    media_type: None,
                },
                refused,
            })
        };
    let mut msg = NewMessage {
        account,
        folder,
        key,
        message_id: None,
        sha256: &stored.sha256,
        from: "",
        to: "",
        subject: "",
        date: None,
        rule: None,
        // Malformed: recorded with its exception and left in the mailbox.
        state: MessageState::Done,
        doctype_hint: None,
    };
    let parsed = match mail::parse(raw) {
        Ok(p) => p,
        Err(reason) => {
            // The message itself becomes the exception item, its bytes kept.
            let name = eml_name.map(str::to_string).unwrap_or_else(|| format!("{key}.eml"));
            let doc = document(0, &name, None, Some(format!("unreadable e-mail: {reason}")))?;
            store.record_message(&msg, &[doc]).await?;
            return Ok(Ingested::Done);
        }
    };
    msg.message_id = parsed.message_id.as_deref();
    msg.from = &parsed.from;
    msg.to = &parsed.to;
    msg.subject = &parsed.subject;
    msg.date = parsed.date.as_deref();
    let eml_name = eml_name.map(str::to_string).unwrap_or_else(|| format!("{}.eml", file_name(&parsed.subject, key)));
    let Some(decision) = mail::decide(rules, account, &parsed, chrono::Utc::now().timestamp()) else {
        msg.state = MessageState::Unmatched;
        store.record_message(&msg, &[]).await?;
        tracing::info!(account, key, subject = parsed.subject, "no mail rule matches; message left in the mailbox");
        return Ok(Ingested::Unmatched);
    };
    msg.rule = Some(&decision.rule.name);
    msg.doctype_hint = decision.rule.doctype.as_deref();
    let action = decision.rule.action.clone();

    if store.mail_taken_elsewhere(account, parsed.message_id.as_deref(), &stored.sha256).await?.is_some() {
        // The same message under another key (UIDVALIDITY changed, or a copy): not again.
        msg.state = MessageState::Duplicate;
        let (id, _) = store.record_message(&msg, &[]).await?;
        return Ok(Ingested::Taken { message: id, action });
    }
    let mut docs = vec![];
    if parsed.encrypted {
        let reason = "the e-mail is encrypted (S/MIME or PGP) and clerk holds no key: ask the sender to send the documents unencrypted";
        docs.push(document(0, &eml_name, None, Some(reason.into()))?);
    } else {
        for &i in &decision.parts {
            let part = &parsed.parts[i];
            let refused = (part.bytes.len() as u64 > limits.max_file_size).then(|| {
                format!(
                    "the attachment {} is {} bytes, over the limit of {} (limits.max_file_size)",
                    part.name,
                    part.bytes.len(),
                    limits.max_file_size
                )
            });
            docs.push(document(docs.len() + 1, &part.name, Some(store.blobs.put_bytes(&part.bytes).await?), refused)?);
        }
        if decision.body && !parsed.text.trim().is_empty() {
            let name = format!("{}.txt", file_name(&parsed.subject, key));
            docs.push(document(docs.len() + 1, &name, Some(store.blobs.put_bytes(parsed.text.as_bytes()).await?), None)?);
        }
        if decision.eml {
            docs.push(document(0, &eml_name, None, None)?);
        }
        if docs.is_empty() {
            let reason = if parsed.parts.is_empty() && parsed.text.trim().is_empty() {
                "the e-mail is empty: no attachment and no text".to_string()
            } else {
                format!(
                    "mail rule `{}` matched, but the e-mail has nothing it takes (no matching attachment)",
                    decision.rule.name
                )
            };
            docs.push(document(0, &eml_name, None, Some(reason))?);
        }
    }
    // Exception items included: the message's bytes are kept with them, and the action applies.
    msg.state = MessageState::Taken;
    let (id, _) = store.record_message(&msg, &docs).await?;
    Ok(Ingested::Taken { message: id, action })
}

fn action_of(rules: &[Rule], name: Option<&str>) -> Action {
    rules.iter().find(|r| Some(r.name.as_str()) == name).map(|r| r.action.clone()).unwrap_or(Action::Seen)
}

/// A file name from a subject: what a person would call the document.
fn file_name(subject: &str, fallback: &str) -> String {
    let clean: String =
        subject.chars().map(|c| if c.is_alphanumeric() || " -_.".contains(c) { c } else { '_' }).take(80).collect();
    if clean.trim().is_empty() {
        fallback.to_string()
    } else {
        clean.trim().to_string()
    }
}
