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
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a secret sent equals the one set, compared by their SHA-256 digests: how long the
/// comparison takes tells nothing about the secret.
pub fn same_secret(set: &[u8], sent: &[u8]) -> bool {
    Sha256::digest(set) == Sha256::digest(sent)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The id a token is listed and revoked by.
pub fn token_id(token: &str) -> String {
    token_hash(token)[..crate::store::users::TOKEN_ID_LEN].to_string()
}

/// Adds a user. Without a password one is generated and returned, to be shown once.
pub async fn add(
    store: &Store,
    name: &str,
    role: Role,
    password: Option<&str>,
    groups: &[String],
    by: &str,
) -> anyhow::Result<Option<String>> {
    // `@name` means a group wherever an item is assigned.
    if !plain(name) || name.starts_with('@') {
        anyhow::bail!("`{name}` is not a user name: use 1 to 64 letters, digits and . _ - @, not starting with @");
    }
    let groups = group_names(groups)?;
    let generated = password.is_none().then(random_secret);
    let password = password.or(generated.as_deref()).unwrap_or_default();
    if password.chars().count() < 12 {
        anyhow::bail!("the password is too short: use at least 12 characters (or none, and clerk makes one)");
    }
    if !store.add_user(name, role.as_str(), &hash_password(password), &groups, by).await? {
        anyhow::bail!("a user named `{name}` exists already");
    }
    Ok(generated)
}

fn plain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c))
}

/// Group names as given (`team` or `@team`), checked, without their `@`.
fn group_names(groups: &[String]) -> anyhow::Result<Vec<String>> {
    if let Some(g) = groups.iter().find(|g| !plain(g.trim_start_matches('@'))) {
        anyhow::bail!("`{g}` is not a group name: use 1 to 64 letters, digits and . _ -");
    }
    Ok(groups.iter().map(|g| g.trim_start_matches('@').to_string()).collect())
}

/// Why a change to a user was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("there is no user named `{0}`")]
    NoSuchUser(String),
    #[error("{0}")]
    Invalid(String),
    #[error("that would leave no enabled admin, and nobody could manage users any more: make another user admin first")]
    LastAdmin,
    #[error(transparent)]
    Db(#[from] crate::store::Error),
}

/// Changes a user's role, groups, or whether they may sign in (disabling ends their sessions at
/// once and refuses their tokens); `by` is who does it, for the audit trail.
pub async fn change(
    store: &Store,
    name: &str,
    role: Option<Role>,
    groups: Option<&[String]>,
    disabled: Option<bool>,
    by: &str,
) -> Result<(), ChangeError> {
    let groups = groups.map(group_names).transpose().map_err(|e| ChangeError::Invalid(e.to_string()))?;
    let change = crate::store::users::UserChange { role: role.map(|r| r.as_str().to_string()), groups, disabled };
    match store.change_user(name, &change, by).await? {
        crate::store::users::UserChanged::Done => Ok(()),
        crate::store::users::UserChanged::NoSuchUser => Err(ChangeError::NoSuchUser(name.to_string())),
        crate::store::users::UserChanged::LastAdmin => Err(ChangeError::LastAdmin),
    }
}

/// How long a token lasts when its creator does not say.
pub const TOKEN_DAYS: i64 = 90;

/// When a token made now runs out: `90d`, `12w`, `24h`, a day (`2027-06-30`, at its end, UTC),
/// or `never`. Unix ms; None: never.
pub fn token_expiry(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not an expiry: write a number of days, weeks or hours (90d, 12w, 24h), a day (2027-06-30), or never");
    if text == "never" {
        return Ok(None);
    }
    let now = crate::store::now_ms();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let end = day.and_hms_opt(23, 59, 59).ok_or_else(bad)?.and_utc().timestamp_millis();
        if end <= now {
            return Err(format!("{text} has passed: a token must run out in the future"));
        }
        return Ok(Some(end));
    }
    let lasts = crate::config::parse_duration(text).map_err(|_| bad())?;
    if lasts < std::time::Duration::from_secs(3600) || lasts > std::time::Duration::from_secs(10 * 366 * 86400) {
        return Err(format!("`{text}`: a token lasts from an hour to ten years (or `never`)"));
    }
    Ok(Some(now + lasts.as_millis() as i64))
}

/// Creates an API token for `user` that runs out at `expires` (unix ms; None: never); the token
/// is returned once and kept only as its hash.
pub async fn create_token(store: &Store, user: &str, label: &str, expires: Option<i64>, by: &str) -> anyhow::Result<String> {
    if label.chars().count() > 100 || label.chars().any(char::is_control) {
        anyhow::bail!("a token's label is one line of at most 100 characters");
    }
    let token = format!("clerk_{}", random_secret());
    if !store.add_token(user, &token_hash(&token), label, expires, by).await? {
        anyhow::bail!("there is no user named `{user}` (add one with `clerk users add`)");
    }
    Ok(token)
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("there is no user named `{0}`")]
    NoSuchUser(String),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] crate::store::Error),
}

fn new_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < 12 {
        return Err(PasswordError::Invalid("the password is too short: use at least 12 characters".into()));
    }
    Ok(())
}

/// A user changes their own password: `current` must be right. Their other sessions end (the
/// one they changed it from, `session_cookie`, goes on); their tokens stay.
pub async fn change_password(
    store: &Store,
    name: &str,
    current: &str,
    new: &str,
    session_cookie: Option<&str>,
) -> Result<(), PasswordError> {
    if authenticate_password(store, name, current).await.map_err(|e| PasswordError::Invalid(e.to_string()))?.is_none() {
        return Err(PasswordError::WrongPassword);
    }
    new_password(new)?;
    if new == current {
        return Err(PasswordError::Invalid("the new password is the current one".into()));
    }
    let keep = session_cookie.map(token_hash);
    match store.set_password(name, &hash_password(new), keep.as_deref(), name).await? {
        true => Ok(()),
        false => Err(PasswordError::NoSuchUser(name.into())),
    }
}

/// An admin (`by`) sets a user's password: the one given, or a generated one, returned to be
/// shown once. All the user's sessions end.
pub async fn reset_password(store: &Store, name: &str, password: Option<&str>, by: &str) -> Result<Option<String>, PasswordError> {
    let generated = password.is_none().then(random_secret);
    let password = password.or(generated.as_deref()).unwrap_or_default();
    new_password(password)?;
    match store.set_password(name, &hash_password(password), None, by).await? {
        true => Ok(generated),
        false => Err(PasswordError::NoSuchUser(name.into())),
    }
}

/// Someone signed in: by a bearer token, or by a browser session (which has a CSRF token).
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub groups: Vec<String>,
    /// For a browser session: the token every changing request must carry.
    pub csrf: Option<String>,
}

fn user(account: Option<crate::store::users::Account>) -> Option<User> {
    let a = account?;
    let role = Role::parse(&a.role).ok()?;
    Some(User { name: a.name, role, groups: a.groups, csrf: (!a.csrf.is_empty()).then_some(a.csrf) })
}

/// The user a bearer token stands for; or why it stands for nobody.
pub async fn authenticate_token(store: &Store, token: &str) -> anyhow::Result<Result<User, String>> {
    let hash = token_hash(token);
    if let Some(user) = user(store.token_user(&hash).await?) {
        return Ok(Ok(user));
    }
    Ok(Err(match store.token_ran_out(&hash).await? {
        Some(when) => format!("the token ran out at {when}; an admin makes a new one (`clerk tokens create USER`)"),
        None => "the token is not known, or was revoked, or its user is disabled (create one with `clerk tokens create USER`)".into(),
    }))
}

/// A browser session: its cookie value (random, shown to the browser only) and CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// How long a browser session lasts.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;

/// Starts a session for `name`, signed in from `address`.
pub async fn start_session(store: &Store, name: &str, address: &str) -> anyhow::Result<Session> {
    let session = Session { cookie: random_secret(), csrf: random_secret() };
    let expires = crate::store::now_ms() + SESSION_MS;
    store.add_session(&token_hash(&session.cookie), name, &session.csrf, expires, address).await?;
    Ok(session)
}

/// The user of a session cookie, while the session lasts.
pub async fn authenticate_session(store: &Store, cookie: &str) -> anyhow::Result<Option<User>> {
    Ok(user(store.session_user(&token_hash(cookie)).await?))
}

pub async fn end_session(store: &Store, cookie: &str) -> anyhow::Result<()> {
    Ok(store.end_session(&token_hash(cookie)).await?)
}

/// The user's role when `password` is theirs.
pub async fn authenticate_password(store: &Store, name: &str, password: &str) -> anyhow::Result<Option<Role>> {
    let Some((role, phc)) = store.user_credentials(name).await? else {
        // As long as for a real user, so the time taken does not tell which names exist.
        static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash_password(&random_secret()));
        verify_password(password, &DUMMY);
        return Ok(None);
    };
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
    fn token_expiries_are_read_as_people_write_them() {
        let now = crate::store::now_ms();
        let day = 24 * 3600 * 1000;
        let in_days = |t: &str| (token_expiry(t).unwrap().unwrap() - now + day / 2) / day;
        assert_eq!(in_days("90d"), 90);
        assert_eq!(in_days("2w"), 14);
        assert_eq!(token_expiry("never"), Ok(None));
        assert!(token_expiry("2999-06-30").unwrap().is_some());
        assert!(token_expiry("2001-01-01").unwrap_err().contains("has passed"));
        assert!(token_expiry("soon").unwrap_err().contains("not an expiry"));
        assert!(token_expiry("0d").unwrap_err().contains("from an hour"));
        assert!(token_expiry("99999w").unwrap_err().contains("ten years"));
    }

    #[test]
    fn roles_parse_and_order_by_power() {
        assert_eq!(Role::parse("ops"), Ok(Role::Ops));
        assert!(Role::parse("root").unwrap_err().contains("agent, ops and admin"));
        assert!(Role::Agent < Role::Ops && Role::Ops < Role::Admin);
    }
}
