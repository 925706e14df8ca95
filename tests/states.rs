//! States and kinds are one list each (`clerk::states`): the OpenAPI document offers exactly
//! those values, and every state the store's SQL names is one of them (a typo in a query would
//! match nothing, silently).

mod support;

use clerk::states::{DocumentStatus, ExceptionKind, ItemState, MessageState, RunState, StepState};
use serde_json::Value;
use support::{repo, Daemon};

fn names<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
    all.iter().map(|v| v.to_string()).collect()
}

#[test]
fn the_openapi_document_offers_exactly_the_states_the_store_keeps() {
    let d = Daemon::start();
    let addr = d.http().trim_start_matches("http://").to_string();
    let api = support::api::call(&addr, "GET", "/api/v1/openapi.json", &[], None).json();
    let schemas = &api["components"]["schemas"];
    let listed = |name: &str| -> Vec<String> {
        let values = schemas[name]["enum"].as_array().unwrap_or_else(|| panic!("no enum schema {name}: {}", schemas[name]));
        values.iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    assert_eq!(listed("RunState"), names(RunState::ALL));
    assert_eq!(listed("StepState"), names(StepState::ALL));
    assert_eq!(listed("DocumentStatus"), names(DocumentStatus::ALL));
    assert_eq!(listed("ItemState"), names(ItemState::ALL));
    assert_eq!(listed("ExceptionKind"), names(ExceptionKind::ALL));

    // The rows and the filters use them.
    let refs = |schema: &str, field: &str| schemas[schema]["properties"][field].to_string();
    assert!(refs("RunSummary", "state").contains("RunState"), "{}", refs("RunSummary", "state"));
    assert!(refs("StepRecord", "state").contains("StepState"));
    assert!(refs("DocumentSummary", "status").contains("DocumentStatus"));
    assert!(refs("Item", "state").contains("ItemState") || refs("ExceptionItem", "state").contains("ItemState"));
    let param = |path: &str, name: &str| -> Value {
        let params = api["paths"][path]["get"]["parameters"].as_array().unwrap().clone();
        params.into_iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{path} has no parameter {name}"))
    };
    assert!(param("/api/v1/runs", "state").to_string().contains("RunState"));
    assert!(param("/api/v1/documents", "status").to_string().contains("DocumentStatus"));
    assert!(param("/api/v1/exceptions", "kind").to_string().contains("ExceptionKind"));

    // A state that does not exist is refused with the valid ones, not matched against nothing.
    let out = d.clerk(&["runs", "list", "--status", "done"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("succeeded"), "{said}");
    let out = d.clerk(&["exceptions", "list", "--state", "opne"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("open, claimed, resolved") && said.ends_with("or all\n"), "{said}");
}

#[test]
fn every_state_the_stores_sql_names_is_a_known_one() {
    let column = regex::Regex::new(r"\b(state|status|kind)\s*(?:=|<>|!=)\s*'(\w+)'").unwrap();
    let list = regex::Regex::new(r"\b(state|status|kind)\s+(?:NOT\s+)?IN\s*\(([^)]*)\)").unwrap();
    let quoted = regex::Regex::new(r"'(\w+)'").unwrap();
    // Per column: `status` is a document's, `kind` an item's, `state` one of the others'.
    let states: Vec<String> = [
        names(RunState::ALL),
        names(StepState::ALL),
        names(ItemState::ALL),
        names(MessageState::ALL),
        // The pipeline's jobs (store-internal: queued, running, done, failed).
        vec!["queued".into(), "running".into(), "done".into(), "failed".into()],
    ]
    .concat();
    let known = |column: &str, name: &str| match column {
        "status" => names(DocumentStatus::ALL).iter().any(|n| n == name),
        "kind" => names(ExceptionKind::ALL).iter().any(|n| n == name),
        _ => states.iter().any(|n| n == name),
    };
    let mut unknown = vec![];
    let mut seen = 0;
    for e in std::fs::read_dir(repo().join("src/store")).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut named: Vec<(String, String)> = column.captures_iter(&text).map(|c| (c[1].to_string(), c[2].to_string())).collect();
        for c in list.captures_iter(&text) {
            named.extend(quoted.captures_iter(&c[2]).map(|q| (c[1].to_string(), q[1].to_string())));
        }
        seen += named.len();
        unknown.extend(named.into_iter().filter(|(c, n)| !known(c, n)).map(|(c, n)| format!("{}: {c} '{n}'", path.display())));
    }
    assert!(seen > 30, "the scan found only {seen} states: has the SQL moved?");
    assert!(unknown.is_empty(), "states no enum knows: {unknown:?}");
}
