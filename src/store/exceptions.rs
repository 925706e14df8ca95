//! The exception queue: items an agent claims and resolves or rejects. Every state change is
//! guarded by the item's current state (no resolving what someone else rejected) and audited.

use super::{now, now_ms, Result, Store};
use crate::states::{ExceptionKind, ItemState};
use serde::Serialize;
use sqlx::{Any, AnyConnection, Row};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExceptionItem {
    pub id: i64,
    /// The document, for intake exceptions and runs on a document.
    pub document_id: Option<i64>,
    /// The run, for business (`escalate`) and system (a step failed) exceptions.
    pub run_id: Option<i64>,
    pub kind: ExceptionKind,
    pub reason: String,
    pub state: ItemState,
    pub claimed_by: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub original_name: Option<String>,
    /// For run exceptions: the step, its last request and response (secrets masked).
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
    /// Goes up by one on every change: a change made against an older version is refused.
    pub version: i64,
    /// When the claim runs out (unix ms); the item is open again after it.
    pub claim_until: Option<i64>,
    /// A user name or `@group` the item is meant for.
    pub assignee: Option<String>,
    /// The document's type, when it has one.
    pub doctype: Option<String>,
    /// The bot, for run exceptions.
    pub bot: Option<String>,
    /// When the item is due by its type's or bot's `sla` (see `crate::exceptions::deadlines`).
    pub due_at: Option<String>,
    /// Open (or claimed) past its due time.
    pub overdue: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    pub kind: Option<ExceptionKind>,
    pub state: Option<ItemState>,
    pub document_id: Option<i64>,
    pub run_id: Option<i64>,
    /// Items assigned to this user name or `@group`.
    pub assignee: Option<String>,
    /// Items for this user: assigned to them, to one of `groups`, or to nobody.
    pub for_user: Option<(String, Vec<String>)>,
    /// Created before this time (RFC 3339), for "older than".
    pub created_before: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// An item's neighbours in a filtered queue (see [`Store::exception_neighbours`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Neighbours {
    pub previous: Option<i64>,
    /// After the last item, the first one again.
    pub next: Option<i64>,
}

/// What a change to an item is made as: by whom, and against which version (None: any).
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    pub agent: &'a str,
    pub version: Option<i64>,
}

/// A claim lasts this long unless renewed (an agent who walks away does not hold an item).
pub const CLAIM_MS: i64 = 30 * 60 * 1000;

/// The rows an agent may change: open ones, ones they hold, ones whose claim ran out; at the
/// version they saw, when they say.
const CHANGEABLE: &str = "(state = 'open' OR (state = 'claimed' AND (claimed_by = $A OR claim_until < $NOW))) AND ($V IS NULL OR version = $V)";

impl Store {
    pub(super) async fn open_exception(
        tx: &mut AnyConnection,
        document_id: i64,
        kind: ExceptionKind,
        reason: &str,
    ) -> Result<i64> {
        Store::open_run_exception(tx, Some(document_id), None, kind, reason, None).await
    }

    /// Queues an exception for a run (and its document, if it has one).
    pub(super) async fn open_run_exception(
        tx: &mut AnyConnection,
        document_id: Option<i64>,
        run_id: Option<i64>,
        kind: ExceptionKind,
        reason: &str,
        detail: Option<&serde_json::Value>,
    ) -> Result<i64> {
        let t = now();
        let action = format!("exception:{}", kind.as_str());
        let insert = "INSERT INTO exceptions (document_id, run_id, kind, reason, detail, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
        // Chained, the item's audit line rides in the same statement.
        let chained = Store::chains_writes(tx);
        let sql = match chained {
            true => format!(
                "WITH made AS ({insert}),
                 logged AS (INSERT INTO audit (at, document_id, exception_id, actor, action, detail) SELECT $6, $1, id, 'clerk', $8, $4 FROM made)
                 SELECT id FROM made"
            ),
            false => insert.to_string(),
        };
        let mut query = sqlx::query_scalar(&sql)
            .bind(document_id)
            .bind(run_id)
            .bind(kind.as_str())
            .bind(reason)
            .bind(detail.map(|d| d.to_string()))
            .bind(&t)
            .bind(&t);
        if chained {
            query = query.bind(&action);
        }
        let id: i64 = query.fetch_all(&mut *tx).await.and_then(super::returned)?;
        if !chained {
            Store::audit(&mut *tx, document_id, Some(id), "clerk", &action, reason).await?;
        }
        Ok(id)
    }

    pub async fn exceptions(&self, f: &ExceptionFilter) -> Result<Vec<ExceptionItem>> {
        let sql = format!("{SELECT} WHERE {FILTER} ORDER BY e.id LIMIT $11 OFFSET $12");
        let rows = bind_filter(&sql, f)
            .bind(f.limit.unwrap_or(i64::MAX))
            .bind(f.offset.unwrap_or(0))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| row_to_item(&r)).collect())
    }

    /// How many items the filter matches, by kind (its limit and offset aside).
    pub async fn exception_counts(&self, f: &ExceptionFilter) -> Result<Vec<(String, i64)>> {
        let sql = format!("SELECT e.kind, COUNT(*) FROM exceptions e WHERE {FILTER} GROUP BY e.kind ORDER BY e.kind");
        let rows = bind_filter(&sql, f).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The items the filter matches just before and just after item `id` (by number; after the
    /// last, the first that is not `id`): an agent's previous and next item. Each is a walk along
    /// the primary key that stops at the first match, however long the queue.
    pub async fn exception_neighbours(&self, f: &ExceptionFilter, id: i64) -> Result<Neighbours> {
        let one = |condition: &str, order: &str| {
            format!("SELECT e.id FROM exceptions e WHERE {FILTER} AND {condition} ORDER BY e.id {order} LIMIT 1")
        };
        let (before, after, other) = (one("e.id < $11", "DESC"), one("e.id > $11", "ASC"), one("e.id <> $11", "ASC"));
        let first = |sql| async move {
            let row = bind_filter(sql, f).bind(id).fetch_optional(&self.pool).await?;
            Ok::<Option<i64>, super::Error>(row.map(|r| r.get(0)))
        };
        let previous = first(&before).await?;
        let next = first(&after).await?;
        let next = if next.is_some() { next } else { first(&other).await? };
        Ok(Neighbours { previous, next })
    }

    pub async fn exception(&self, id: i64) -> Result<Option<ExceptionItem>> {
        let row = sqlx::query(&format!("{SELECT} WHERE e.id = $2"))
            .bind(now_ms())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(row_to_item))
    }

    /// Claims an open item (or renews the claim the same agent holds) for [`CLAIM_MS`]. Returns
    /// why not when the claim fails.
    pub async fn claim_exception(&self, id: i64, guard: Guard<'_>) -> Result<Result<(), String>> {
        let until = now_ms() + CLAIM_MS;
        self.change_exception(id, guard, "claimed", "state = 'claimed', claimed_by = $A, claim_until = $U", Some(until))
            .await
    }

    /// Gives a claimed item back to the queue.
    pub async fn release_exception(&self, id: i64, guard: Guard<'_>) -> Result<Result<(), String>> {
        self.change_exception(id, guard, "released", "state = 'open', claimed_by = NULL, claim_until = $U", None).await
    }

    /// Assigns an open or claimed item to a user or `@group` (None: to nobody).
    pub async fn assign_exception(&self, id: i64, guard: Guard<'_>, to: Option<&str>) -> Result<Result<(), String>> {
        let mut tx = self.write_tx().await?;
        // Like any change: not while another agent holds the item.
        let sql = numbered(&format!(
            "UPDATE exceptions SET assignee = $S, version = version + 1, updated_at = $T WHERE id = $ID AND {CHANGEABLE} RETURNING document_id"
        ));
        let r = bind_guarded(&sql, id, guard, None).bind(to).fetch_all(&mut *tx).await?.into_iter().next();
        match r {
            Some(row) => {
                let detail = to.map_or("to nobody".to_string(), |t| format!("to {t}"));
                Store::audit(&mut *tx, row.get(0), Some(id), guard.agent, "assigned", &detail).await?;
                tx.commit().await?;
                Ok(Ok(()))
            }
            None => Ok(Err(self.describe_change(id, guard).await?)),
        }
    }

    /// One guarded change of an item by an agent, audited as `action`. `set` may use `$A` (the
    /// agent) and `$U` (`until`).
    async fn change_exception(
        &self,
        id: i64,
        guard: Guard<'_>,
        action: &str,
        set: &str,
        until: Option<i64>,
    ) -> Result<Result<(), String>> {
        let mut tx = self.write_tx().await?;
        let sql = numbered(&format!(
            "UPDATE exceptions SET {set}, version = version + 1, updated_at = $T WHERE id = $ID AND {CHANGEABLE} RETURNING document_id"
        ));
        let r = bind_guarded(&sql, id, guard, until).fetch_all(&mut *tx).await?.into_iter().next();
        match r {
            Some(row) => {
                Store::audit(&mut *tx, row.get(0), Some(id), guard.agent, action, "").await?;
                tx.commit().await?;
                Ok(Ok(()))
            }
            None => Ok(Err(self.describe_change(id, guard).await?)),
        }
    }

    /// Closes an item as resolved or rejected, in the caller's transaction (resolving also
    /// updates the document). Only an open item, or one claimed by the agent (or whose claim ran
    /// out), at the version they saw, can be closed.
    pub(super) async fn close_exception(
        tx: &mut AnyConnection,
        id: i64,
        guard: Guard<'_>,
        state: ItemState,
        resolution: &str,
    ) -> Result<bool> {
        let sql = numbered(&format!(
            "UPDATE exceptions SET state = $S, resolved_by = $A, resolution = $R, claim_until = $U, version = version + 1, updated_at = $T
             WHERE id = $ID AND {CHANGEABLE} RETURNING document_id"
        ));
        let r = bind_guarded(&sql, id, guard, None)
            .bind(state)
            .bind(resolution)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
        match r {
            Some(row) => {
                Store::audit(&mut *tx, row.get(0), Some(id), guard.agent, state.as_str(), resolution).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Why a guarded change was refused: the item moved on since the agent saw it, or its state.
    pub async fn describe_change(&self, id: i64, guard: Guard<'_>) -> Result<String> {
        let state = self.describe_state(id).await?;
        match (self.exception(id).await?, guard.version) {
            (Some(e), Some(v)) if e.version != v => Ok(format!(
                "exception {id} changed since you loaded it (you had version {v}, it is at {}): {}",
                e.version,
                state.strip_prefix(&format!("exception {id} ")).unwrap_or(&state)
            )),
            _ => Ok(state),
        }
    }

    /// "it does not exist" / "it is claimed by NAME" / "it is already resolved", for errors.
    pub async fn describe_state(&self, id: i64) -> Result<String> {
        Ok(match self.exception(id).await? {
            None => format!("exception {id} does not exist"),
            Some(e) if e.state == ItemState::Claimed => {
                format!("exception {id} is claimed by {}", e.claimed_by.unwrap_or_default())
            }
            Some(e) if e.state == ItemState::Open => format!("exception {id} is open"),
            Some(e) => format!("exception {id} is already {}", e.state),
        })
    }
}

/// What [`ExceptionFilter`] asks, on `exceptions e`: `$1` is now (ms), `$2`–`$10` the filter. The
/// state is as people see it: a claim past its time is open again.
const FILTER: &str = "($2 IS NULL OR e.kind = $2) AND ($3 IS NULL OR CASE WHEN e.state = 'claimed' AND e.claim_until < $1 THEN 'open' ELSE e.state END = $3)
    AND ($4 IS NULL OR e.document_id = $4) AND ($5 IS NULL OR e.run_id = $5) AND ($6 IS NULL OR e.assignee = $6)
    AND ($7 IS NULL OR e.created_at < $7)
    AND ($8 = 0 OR e.assignee IS NULL OR e.assignee = $9 OR $10 LIKE '%,' || e.assignee || ',%')";

fn bind_filter<'q>(sql: &'q str, f: &'q ExceptionFilter) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    let (user, groups) = f.for_user.clone().unwrap_or_default();
    sqlx::query(sql)
        .bind(now_ms())
        .bind(&f.kind)
        .bind(&f.state)
        .bind(f.document_id)
        .bind(f.run_id)
        .bind(&f.assignee)
        .bind(&f.created_before)
        .bind(f.for_user.is_some() as i64)
        .bind(user)
        .bind(format!(",{},", groups.iter().map(|g| format!("@{g}")).collect::<Vec<_>>().join(",")))
}

const SELECT: &str = "SELECT e.id, e.document_id, e.kind, e.reason,
        CASE WHEN e.state = 'claimed' AND e.claim_until < $1 THEN 'open' ELSE e.state END,
        CASE WHEN e.state = 'claimed' AND e.claim_until < $1 THEN NULL ELSE e.claimed_by END,
        e.resolved_by, e.resolution, d.original_name, e.created_at, e.updated_at, e.run_id, e.detail,
        e.version, e.claim_until, e.assignee, d.doctype, r.bot
    FROM exceptions e LEFT JOIN documents d ON d.id = e.document_id LEFT JOIN runs r ON r.id = e.run_id";

/// A guarded update's named parameters as numbers: `$T` now, `$ID`, `$A` agent, `$NOW` (ms), `$V`
/// version, `$U` until (each statement uses all six); then `$S` and `$R`, if used.
fn numbered(sql: &str) -> String {
    ["$T", "$ID", "$A", "$NOW", "$V", "$U", "$S", "$R"]
        .iter()
        .enumerate()
        .fold(sql.to_string(), |sql, (i, name)| sql.replace(name, &format!("${}", i + 1)))
}

fn bind_guarded<'q>(
    sql: &'q str,
    id: i64,
    guard: Guard<'q>,
    until: Option<i64>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(sql).bind(now()).bind(id).bind(guard.agent).bind(now_ms()).bind(guard.version).bind(until)
}

fn row_to_item(r: &sqlx::any::AnyRow) -> ExceptionItem {
    ExceptionItem {
        id: r.get(0),
        document_id: r.get(1),
        kind: r.get(2),
        reason: r.get(3),
        state: r.get(4),
        claimed_by: r.get(5),
        resolved_by: r.get(6),
        resolution: r.get(7),
        original_name: r.get(8),
        created_at: r.get(9),
        updated_at: r.get(10),
        run_id: r.get(11),
        detail: r.get::<Option<String>, _>(12).and_then(|d| serde_json::from_str(&d).ok()),
        version: r.get(13),
        claim_until: r.get(14),
        assignee: r.get(15),
        doctype: r.get(16),
        bot: r.get(17),
        due_at: None,
        overdue: false,
    }
}
