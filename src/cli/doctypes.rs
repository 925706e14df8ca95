//! `clerk doctypes suggest TYPE`: the `match` keywords the documents agents filed under a type
//! propose, each with what it would catch, so ops can widen the type's rules with evidence.

use clap::Subcommand;
use clerk::classify::doctype::Rules;
use clerk::config::Settings;
use clerk::definitions;
use clerk::learn::keywords;
use std::process::ExitCode;

/// How many documents are compared at most: the newest filed ones, and the newest of other types.
const FILED: i64 = 2_000;
const OTHERS: i64 = 5_000;

#[derive(Subcommand)]
pub enum DoctypesCmd {
    /// Propose `match` keywords for TYPE from the documents agents filed under it, with how many
    /// filed documents and how many documents of other types each would catch.
    Suggest {
        doctype: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(s: &Settings, cmd: DoctypesCmd) -> anyhow::Result<ExitCode> {
    let DoctypesCmd::Suggest { doctype, json } = cmd;
    let store = super::open_store(s).await?;
    let filed = store.filed_as(&doctype, FILED).await?;
    let others = store.texts_of_other_types(&doctype, OTHERS).await?;
    let loaded = definitions::load_dir(&s.definitions, None);
    let classifier = loaded.definitions.classifier();
    let classifier = &classifier;
    let ty = classifier.get(&doctype).cloned();
    let filed_texts: Vec<&str> = filed.iter().map(|f| f.text.as_str()).collect();
    // What the rules in force make of the filed documents now (agents filed them because, at the
    // time, no rule recognised them).
    let recognised = filed_texts
        .iter()
        .filter(|t| classifier.matching(t).iter().any(|m| m.name == doctype))
        .count();
    let other_texts: Vec<&str> = others.iter().map(String::as_str).collect();
    let proposal = keywords::propose(&filed_texts, &other_texts);
    let template = matches!(ty.as_deref().map(|t| &t.rules), Some(Rules::Invoice2data(_)));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "doctype": doctype,
                "loaded": ty.is_some(),
                "template": template,
                "recognised_by_rules_now": recognised,
                "proposal": proposal,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    if filed.is_empty() {
        eprintln!("no documents were filed under {doctype} by agents yet: nothing to learn from");
        return Ok(ExitCode::FAILURE);
    }
    let (n, m) = (proposal.filed, proposal.others);
    println!("# {doctype}: {n} document(s) agents filed under it, compared with {m} document(s) of other types.");
    match &ty {
        None => println!("# No type named {doctype} is loaded now."),
        Some(t) => println!(
            "# The rules in force ({}) recognise {recognised} of the {n} filed document(s).",
            t.file.display()
        ),
    }
    if proposal.keywords.is_empty() {
        println!("# No word or pair of words is in two or more filed documents and not in other types' documents.");
        return Ok(ExitCode::SUCCESS);
    }
    if template {
        // invoice2data requires every keyword: only one found in every filed document will do.
        let all: Vec<_> = proposal.keywords.iter().filter(|k| filed_texts.iter().all(|t| t.contains(k.text.as_str()))).collect();
        println!("# invoice2data templates need every keyword; these are in all {n} filed documents, as written:");
        println!("keywords:");
        for k in &all {
            println!("  - {}   # {} of {m} others", yaml_quote(&k.text), other_texts.iter().filter(|t| t.contains(k.text.as_str())).count());
        }
        if all.is_empty() {
            println!("# (none: the filed documents share no keyword; a template per sender may be needed)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("match:");
    println!("  any:");
    for k in &proposal.keywords {
        println!("    - {}   # in {} of {n} filed, {} of {m} others", yaml_quote(&k.pattern), k.filed, k.others);
    }
    let c = proposal.regex_catches;
    println!("# Together: {} of {n} filed documents, {} of {m} others.", c.filed, c.others);
    if ty.as_deref().is_some_and(|t| matches!(&t.rules, Rules::Native(r) if !r.match_all.is_empty())) {
        println!("# The type's `match.all` patterns must hold as well: widen or drop them where the filed documents lack them.");
    }
    Ok(ExitCode::SUCCESS)
}

/// A YAML single-quoted scalar (the only escape is a doubled quote).
fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
