//! Who may use clerk's HTTP API and web pages, and as what. Roles: an **agent** works the
//! exception queue; **ops** also reads documents and definitions and runs dry runs; an **admin**
//! also retries and ends runs and manages users. Passwords are kept as argon2id hashes; an API
//! token is 32 random bytes, shown once, kept as its SHA-256.

use crate::store::Store;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Ops,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Ops, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Ops => "ops",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a role; roles are agent, ops and admin"))
    }
}

/// The argon2id hash of `password`, as a PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with default parameters").to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// 32 random bytes as hex.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Adds a user. Without a password one is generated and returned, to be shown once.
pub async fn add(store: &Store, name: &str, role: Role, password: Option<&str>) -> anyhow::Result<Option<String>> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) {
        anyhow::bail!("`{name}` is not a user name: use 1 to 64 letters, digits and . _ - @");
    }
    let generated = password.is_none().then(random_secret);
    let password = password.or(generated.as_deref()).unwrap_or_default();
    if password.chars().count() < 12 {
        anyhow::bail!("the password is too short: use at least 12 characters (or none, and clerk makes one)");
    }
    if !store.add_user(name, role.as_str(), &hash_password(password)).await? {
        anyhow::bail!("a user named `{name}` exists already");
    }
    Ok(generated)
}

/// Creates an API token for `user`; the token is returned once and kept only as its hash.
pub async fn create_token(store: &Store, user: &str) -> anyhow::Result<String> {
    let token = format!("clerk_{}", random_secret());
    if !store.add_token(user, &token_hash(&token)).await? {
        anyhow::bail!("there is no user named `{user}` (add one with `clerk users add`)");
    }
    Ok(token)
}

/// The user and role a bearer token stands for.
pub async fn authenticate_token(store: &Store, token: &str) -> anyhow::Result<Option<(String, Role)>> {
    let found = store.token_user(&token_hash(token)).await?;
    Ok(found.and_then(|(name, role)| Role::parse(&role).ok().map(|r| (name, r))))
}

/// The user's role when `password` is theirs.
pub async fn authenticate_password(store: &Store, name: &str, password: &str) -> anyhow::Result<Option<Role>> {
    let Some((role, phc)) = store.user_credentials(name).await? else { return Ok(None) };
    Ok((verify_password(password, &phc)).then(|| Role::parse(&role).ok()).flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse battery staple");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("correct horse battery stapler", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery staple"), "each hash has its own salt");
    }

    #[test]
    fn roles_parse_and_order_by_power() {
        assert_eq!(Role::parse("ops"), Ok(Role::Ops));
        assert!(Role::parse("root").unwrap_err().contains("agent, ops and admin"));
        assert!(Role::Agent < Role::Ops && Role::Ops < Role::Admin);
    }
}
