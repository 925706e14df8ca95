//! Users and API tokens (see `crate::users` for what they mean).

use super::{now, Result, Store};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: String,
    pub tokens: i64,
}

impl Store {
    /// Adds a user; false when the name is taken.
    pub async fn add_user(&self, name: &str, role: &str, password_hash: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let added = sqlx::query(
            "INSERT INTO users (name, role, password, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            Store::audit(&mut *tx, None, None, "clerk", "user added", &format!("{name} ({role})")).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    pub async fn users(&self) -> Result<Vec<UserSummary>> {
        let rows = sqlx::query(
            "SELECT u.name, u.role, u.disabled, u.created_at, (SELECT COUNT(*) FROM tokens t WHERE t.user_name = u.name)
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
            })
            .collect())
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

    /// The user (name, role) a token belongs to, if it is known and the user not disabled.
    pub async fn token_user(&self, hash: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT u.name, u.role FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.hash = $1 AND u.disabled = 0",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}
