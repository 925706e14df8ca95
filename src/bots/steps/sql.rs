//! `sql`: one statement against a legacy database (PostgreSQL, MySQL/MariaDB or SQLite, by the
//! URL's scheme). Values go only as bind parameters: the query text is never a template. A query
//! that returns rows gives `rows` (a list of column → value) and `$.rows[0].col` extracts from it;
//! any other statement gives `affected`.

use super::{extract_all, Done, Env, Failure, Result};
use crate::bots::extract::Answer;
use crate::bots::render::Place;
use serde_json::{json, Value as J};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Column, Row};
use std::collections::HashMap;
use std::sync::Mutex;
use crate::bots::kinds::{key, Act, BASE, EXTRACT, Kind, Shape, TIMEOUT, Value};
use crate::bots::render::{Context, Renderer};

pub const KIND: Kind = Kind {
    name: "sql",
    doc: "A statement against a legacy database (PostgreSQL, MySQL, SQLite); values only as bind parameters.",
    shape: Shape::Keys(&[
        key("url", Value::Template, "database URL, e.g. postgres://… (usually from env or secrets)"),
        key("query", Value::Template, "the SQL, with $1, $2… (or ?) placeholders; no templates inside"),
        key("params", Value::List, "bind parameters, in order"),
        EXTRACT,
        TIMEOUT,
    ]),
    required: &["url", "query"],
    literal: &[("query", "an SQL `query` takes no templates: pass values in `params` so they are bound, never spliced in")],
    act: Act::Call(|cfg, env| Box::pin(run(cfg, env))),
    summary,
    ..BASE
};

/// The statement and its parameters, as they would be bound.
fn summary(cfg: &J, r: &Renderer, ctx: &Context) -> std::result::Result<J, String> {
    Ok(serde_json::json!({
        "query": cfg.get("query").cloned().unwrap_or(J::Null),
        "params": r.json(cfg.get("params").unwrap_or(&J::Array(vec![])), ctx)?,
    }))
}

/// One connection pool per database URL, shared by every run.
#[derive(Default)]
pub struct Pools(Mutex<HashMap<String, AnyPool>>);

impl Pools {
    async fn get(&self, url: &str) -> std::result::Result<AnyPool, Failure> {
        if let Some(p) = self.0.lock().unwrap().get(url) {
            return Ok(p.clone());
        }
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| match refused(url, &e) {
                Some(down) => down,
                None => Failure::transient(format!("cannot connect to the database: {e}")),
            })?;
        self.0.lock().unwrap().insert(url.to_string(), pool.clone());
        Ok(pool)
    }
}

pub async fn run(cfg: &J, env: &mut Env<'_>) -> Result {
    let url = env.text(cfg, "url", Place::Data)?.unwrap_or_default();
    let query = cfg.get("query").and_then(J::as_str).unwrap_or("").to_string();
    let params = match cfg.get("params") {
        Some(p) => env.json(p)?,
        None => J::Array(vec![]),
    };
    let params = params.as_array().cloned().unwrap_or_default();
    let request = json!({ "query": query, "params": params });
    let fail = |f: Failure| Failure { request: request.clone(), ..f };
    let pool = env_pool(env, &url).await.map_err(fail)?;

    let mut q = sqlx::query::<Any>(&query);
    for p in &params {
        q = bind(q, p);
    }
    let returns_rows = {
        let head = query.trim_start().to_ascii_uppercase();
        ["SELECT", "WITH", "SHOW", "VALUES", "PRAGMA"].iter().any(|k| head.starts_with(k)) || head.contains("RETURNING")
    };
    let exec = async {
        if returns_rows {
            let rows = q.fetch_all(&pool).await?;
            Ok::<_, sqlx::Error>(json!({ "rows": rows.iter().map(row_json).collect::<Vec<_>>() }))
        } else {
            Ok(json!({ "affected": q.execute(&pool).await?.rows_affected() }))
        }
    };
    let result = tokio::time::timeout(env.timeout, exec)
        .await
        .map_err(|_| fail(Failure::transient("the statement timed out")))?
        .map_err(|e| fail(refused(&url, &e).unwrap_or_else(|| classify(e))))?;

    let mut output = result.as_object().cloned().unwrap_or_default();
    let answer = Answer { body: "", json: Some(&result), headers: &[] };
    extract_all(cfg, &answer, &mut output).map_err(|e| fail(Failure::fatal(e)))?;
    let response = match result.get("rows").and_then(J::as_array) {
        Some(rows) => json!({ "rows": rows.len(), "first": rows.first() }),
        None => result.clone(),
    };
    let target = reqwest::Url::parse(&url).ok().filter(|u| u.host_str().is_some()).map(|u| crate::bots::transport::target_of(&u));
    Ok(Done { output, request, response, target })
}

async fn env_pool(env: &Env<'_>, url: &str) -> std::result::Result<AnyPool, Failure> {
    if url.is_empty() {
        return Err(Failure::fatal("`sql` needs a `url`"));
    }
    env.sql.get(url).await
}

fn bind<'q>(q: sqlx::query::Query<'q, Any, AnyArguments<'q>>, v: &J) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    match v {
        J::Null => q.bind(None::<String>),
        J::Bool(b) => q.bind(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => q.bind(i),
            None => q.bind(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => q.bind(s.clone()),
        other => q.bind(other.to_string()),
    }
}

fn row_json(row: &AnyRow) -> J {
    let mut out = serde_json::Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let v = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            v.map(J::from)
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            v.map(J::from)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            v.map(J::from)
        } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
            v.map(J::from)
        } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
            v.map(|b| J::from(String::from_utf8_lossy(&b).into_owned()))
        } else {
            None
        };
        out.insert(col.name().to_string(), v.unwrap_or(J::Null));
    }
    J::Object(out)
}

/// A database server that refuses connections is down (the run waits for it, see `bots::outage`).
fn refused(url: &str, e: &sqlx::Error) -> Option<Failure> {
    let sqlx::Error::Io(io) = e else { return None };
    use std::io::ErrorKind::*;
    let reason = match io.kind() {
        ConnectionRefused => "connection refused",
        HostUnreachable | NetworkUnreachable => "no route to the host",
        _ => return None,
    };
    let url = reqwest::Url::parse(url).ok().filter(|u| u.host_str().is_some())?;
    Some(Failure::down(crate::bots::transport::target_of(&url), reason.into()))
}

/// Lost connections and pool timeouts may pass; what the database refused will not.
fn classify(e: sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            Failure::transient(format!("database connection: {e}"))
        }
        sqlx::Error::Database(d) => Failure::fatal(format!("the database refused the statement: {}", d.message())),
        other => Failure::fatal(other.to_string()),
    }
}
