//! Users and API tokens (see `crate::users` for what they mean).

use super::{now, now_ms, Result, Store};
use serde::Serialize;
use sqlx::Row;

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

    async fn enabled_admins(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0").fetch_one(&mut **tx).await?;
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

    /// Records a token (its hash) for `user`; false when there is no such user.
    pub async fn add_token(&self, user: &str, hash: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let added = sqlx::query(
            "INSERT INTO tokens (hash, user_name, created_at) SELECT $1, name, $2 FROM users WHERE name = $3",
        )
        .bind(hash)
        .bind(now())
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            Store::audit(&mut *tx, None, None, "clerk", "token created", user).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// The user a token belongs to, if it is known and the user not disabled.
    pub async fn token_user(&self, hash: &str) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT u.name, u.role, u.groups, '' FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.hash = $1 AND u.disabled = 0",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(account))
    }

    /// Records a browser session (its hash) for `user` until `expires` (unix ms).
    pub async fn add_session(&self, hash: &str, user: &str, csrf: &str, expires: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM sessions WHERE expires < $1").bind(now_ms()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO sessions (hash, user_name, csrf, created_at, expires) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash)
            .bind(user)
            .bind(csrf)
            .bind(now())
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        Store::audit(&mut *tx, None, None, user, "signed in", "").await?;
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
