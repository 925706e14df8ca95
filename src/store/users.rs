//! Users and API tokens (see `crate::users` for what they mean).

use super::{now, now_ms, time_of, Result, Store};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// Who a token or session stands for.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub role: String,
    pub groups: Vec<String>,
    /// The session's CSRF token (empty for a token).
    pub csrf: String,
}

fn account(r: &sqlx::any::AnyRow) -> Account {
    let groups: String = r.get(2);
    Account {
        name: r.get(0),
        role: r.get(1),
        groups: groups.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect(),
        csrf: r.get(3),
    }
}

/// Tokens and sessions are named by this many hex digits of their hash.
pub const TOKEN_ID_LEN: usize = 12;

/// An API token as admins see it (never the token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenSummary {
    /// The first 12 hex digits of the token's SHA-256: names it for `revoke`, tells nothing of it.
    pub id: String,
    pub user: String,
    pub label: String,
    pub created_at: String,
    /// When it stops working (none: never).
    pub expires: Option<String>,
    pub expired: bool,
    pub last_used: Option<String>,
}

/// A browser session as admins see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionSummary {
    /// The first 12 hex digits of the session's hash: names it for `end`.
    pub id: String,
    pub user: String,
    pub started: String,
    pub expires: String,
    /// The client address it was started from.
    pub address: String,
}

/// Which sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum Sessions<'a> {
    One(&'a str),
    OfUser(&'a str),
}


#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: String,
    pub tokens: i64,
    pub groups: Vec<String>,
}

/// What to change of a user (None: leave it).
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<String>,
    pub groups: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChanged {
    Done,
    NoSuchUser,
    /// The change would leave no enabled admin, so nobody could manage users: not made.
    LastAdmin,
}

impl Store {
    /// Adds a user (`by`: who did, for the audit trail); false when the name is taken.
    pub async fn add_user(&self, name: &str, role: &str, password_hash: &str, groups: &[String], by: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let added = sqlx::query(
            "INSERT INTO users (name, role, password, created_at, groups) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(now())
        .bind(groups.join(","))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            Store::audit(&mut *tx, None, None, by, "user added", &format!("{name} ({role})")).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    pub async fn users(&self) -> Result<Vec<UserSummary>> {
        let rows = sqlx::query(
            "SELECT u.name, u.role, u.disabled, u.created_at, (SELECT COUNT(*) FROM tokens t WHERE t.user_name = u.name), u.groups
             FROM users u ORDER BY u.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| UserSummary {
                name: r.get(0),
                role: r.get(1),
                disabled: r.get::<i64, _>(2) != 0,
                created_at: r.get(3),
                tokens: r.get(4),
                groups: r.get::<String, _>(5).split(',').filter(|g| !g.is_empty()).map(str::to_string).collect(),
            })
            .collect())
    }

    /// Changes a user's role, groups or whether they may sign in, recording who did (`by`). A
    /// disabled user's sessions end at once; their tokens are refused while they are disabled.
    /// Refused (nothing changes) when no enabled admin would be left.
    pub async fn change_user(&self, name: &str, change: &UserChange, by: &str) -> Result<UserChanged> {
        let mut tx = self.write_tx().await?;
        let admins_before = Store::enabled_admins(&mut tx).await?;
        let found = sqlx::query(
            "UPDATE users SET role = COALESCE($1, role), groups = COALESCE($2, groups), disabled = COALESCE($3, disabled) WHERE name = $4",
        )
        .bind(change.role.clone())
        .bind(change.groups.as_ref().map(|g| g.join(",")))
        .bind(change.disabled.map(i64::from))
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !found {
            return Ok(UserChanged::NoSuchUser);
        }
        if admins_before > 0 && Store::enabled_admins(&mut tx).await? == 0 {
            return Ok(UserChanged::LastAdmin);
        }
        if change.disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user_name = $1").bind(name).execute(&mut *tx).await?;
        }
        let mut what = vec![];
        if let Some(r) = &change.role {
            what.push(format!("role {r}"));
        }
        if let Some(g) = &change.groups {
            what.push(format!("groups [{}]", g.join(", ")));
        }
        match change.disabled {
            Some(true) => what.push("disabled".into()),
            Some(false) => what.push("enabled".into()),
            None => {}
        }
        Store::audit(&mut *tx, None, None, by, "user changed", &format!("{name}: {}", what.join(", "))).await?;
        tx.commit().await?;
        Ok(UserChanged::Done)
    }

    async fn enabled_admins(tx: &mut AnyConnection) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").fetch_one(&mut *tx).await?;
        Ok(row.get(0))
    }

    /// A user's role and password hash, if the user exists and is not disabled.
    pub async fn user_credentials(&self, name: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT role, password FROM users WHERE name = $1 AND disabled = 0")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Records a token (its hash) for `user`, with a label and an expiry (unix ms; None: never);
    /// false when there is no such user.
    pub async fn add_token(&self, user: &str, hash: &str, label: &str, expires: Option<i64>, by: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let added = sqlx::query(
            "INSERT INTO tokens (hash, user_name, created_at, label, expires) SELECT $1, name, $2, $3, $4 FROM users WHERE name = $5",
        )
        .bind(hash)
        .bind(now())
        .bind(label)
        .bind(expires)
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            let id = &hash[..TOKEN_ID_LEN];
            Store::audit(&mut *tx, None, None, by, "token created", &format!("{user}: {id} {label}")).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// The user a token belongs to, if it is known, has not run out, and the user is not
    /// disabled. Notes when it was used (at most once a minute: a busy script is not a write per
    /// request).
    pub async fn token_user(&self, hash: &str) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT u.name, u.role, u.groups, '', t.last_used FROM tokens t JOIN users u ON u.name = t.user_name
             WHERE t.hash = $1 AND u.disabled = 0 AND (t.expires IS NULL OR t.expires > $2)",
        )
        .bind(hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_used: Option<String> = row.get(4);
        let now = chrono::Utc::now();
        let stale = last_used
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .is_none_or(|t| now.signed_duration_since(t) > chrono::Duration::minutes(1));
        if stale {
            let mut tx = self.write_tx().await?;
            sqlx::query("UPDATE tokens SET last_used = $1 WHERE hash = $2").bind(super::now()).bind(hash).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        Ok(Some(account(&row)))
    }

    /// When a known token ran out, if it did (to tell its user why it is refused).
    pub async fn token_ran_out(&self, hash: &str) -> Result<Option<String>> {
        let expires: Option<Option<i64>> = sqlx::query_scalar("SELECT expires FROM tokens WHERE hash = $1 AND expires <= $2")
            .bind(hash)
            .bind(now_ms())
            .fetch_optional(&self.pool)
            .await?;
        Ok(expires.flatten().map(time_of))
    }

    /// Tokens (of `user`, or everyone's), newest first; never the tokens themselves.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenSummary>> {
        let rows = sqlx::query(
            "SELECT hash, user_name, label, created_at, expires, last_used FROM tokens
             WHERE $1 = '' OR user_name = $1 ORDER BY created_at DESC, hash",
        )
        .bind(user.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        let now = now_ms();
        Ok(rows
            .iter()
            .map(|r| {
                let hash: String = r.get(0);
                let expires: Option<i64> = r.get(4);
                TokenSummary {
                    id: hash[..TOKEN_ID_LEN].to_string(),
                    user: r.get(1),
                    label: r.get(2),
                    created_at: r.get(3),
                    expires: expires.map(time_of),
                    expired: expires.is_some_and(|e| e <= now),
                    last_used: r.get(5),
                }
            })
            .collect())
    }

    /// Revokes the token named `id` (see [`TokenSummary::id`]); its user when there was one.
    pub async fn revoke_token(&self, id: &str, by: &str) -> Result<Option<String>> {
        if !is_id(id) {
            return Ok(None);
        }
        let mut tx = self.write_tx().await?;
        let user: Option<String> = sqlx::query_scalar("DELETE FROM tokens WHERE substr(hash, 1, 12) = $1 RETURNING user_name")
            .bind(id.to_ascii_lowercase())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
        if let Some(user) = &user {
            Store::audit(&mut *tx, None, None, by, "token revoked", &format!("{user}: {id}")).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Live browser sessions (of `user`, or everyone's), newest first.
    pub async fn sessions(&self, user: Option<&str>) -> Result<Vec<SessionSummary>> {
        let rows = sqlx::query(
            "SELECT hash, user_name, created_at, expires, address FROM sessions
             WHERE ($1 = '' OR user_name = $1) AND expires > $2 ORDER BY created_at DESC, hash",
        )
        .bind(user.unwrap_or(""))
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| SessionSummary {
                id: r.get::<String, _>(0)[..TOKEN_ID_LEN].to_string(),
                user: r.get(1),
                started: r.get(2),
                expires: time_of(r.get(3)),
                address: r.get(4),
            })
            .collect())
    }

    /// Ends sessions: the one named `id`, or all of `user`'s. How many ended.
    pub async fn end_sessions(&self, which: Sessions<'_>, by: &str) -> Result<u64> {
        let (sql, key, what) = match which {
            Sessions::One(id) if !is_id(id) => return Ok(0),
            Sessions::One(id) => {
                ("DELETE FROM sessions WHERE substr(hash, 1, 12) = $1", id.to_ascii_lowercase(), format!("session {id}"))
            }
            Sessions::OfUser(user) => {
                ("DELETE FROM sessions WHERE user_name = $1", user.to_string(), format!("all of {user}'s sessions"))
            }
        };
        let mut tx = self.write_tx().await?;
        let ended = sqlx::query(sql).bind(&key).execute(&mut *tx).await?.rows_affected();
        if ended > 0 {
            Store::audit(&mut *tx, None, None, by, "sessions ended", &what).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// Sets a user's password hash and ends their sessions but `keep` (the hash of the session
    /// that changed it); false when there is no such user.
    pub async fn set_password(&self, name: &str, hash: &str, keep: Option<&str>, by: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let found = sqlx::query("UPDATE users SET password = $1, password_changed = $2 WHERE name = $3")
            .bind(hash)
            .bind(now())
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if found {
            sqlx::query("DELETE FROM sessions WHERE user_name = $1 AND hash <> $2")
                .bind(name)
                .bind(keep.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            let action = if by == name { "password changed" } else { "password reset" };
            Store::audit(&mut *tx, None, None, by, action, name).await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    /// Records a browser session (its hash) for `user` until `expires` (unix ms).
    pub async fn add_session(&self, hash: &str, user: &str, csrf: &str, expires: i64, address: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM sessions WHERE expires < $1").bind(now_ms()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sessions (hash, user_name, csrf, created_at, expires, address) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(hash)
            .bind(user)
            .bind(csrf)
            .bind(now())
            .bind(expires)
            .bind(address)
            .execute(&mut *tx)
            .await?;
        Store::audit(&mut *tx, None, None, user, "signed in", &format!("from {address}")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user of a live session, with the session's CSRF token in `csrf`.
    pub async fn session_user(&self, hash: &str) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT u.name, u.role, u.groups, s.csrf FROM sessions s JOIN users u ON u.name = s.user_name
             WHERE s.hash = $1 AND s.expires > $2 AND u.disabled = 0",
        )
        .bind(hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(account))
    }

    pub async fn end_session(&self, hash: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let user: Option<String> = sqlx::query_scalar("DELETE FROM sessions WHERE hash = $1 RETURNING user_name")
            .bind(hash)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
        if let Some(user) = user {
            Store::audit(&mut *tx, None, None, &user, "signed out", "").await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a refused sign-in, for the audit trail.
    pub async fn audit_refused_login(&self, name: &str, why: &str) -> Result<()> {
        Store::audit(&self.pool, None, None, name, "sign-in refused", why).await
    }
}

/// Whether `id` can name a token or session: 12 hex digits.
fn is_id(id: &str) -> bool {
    id.len() == TOKEN_ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit())
}
