//! The audit trail as admins read it, one use case for `clerk audit`, the API and the page:
//! who did what and when, newest first, filtered by who, by what and by how recent.

use crate::store::{AuditEntry, AuditFilter, Store};

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only what this user (or `clerk`) did.
    pub actor: Option<String>,
    /// Only this action, e.g. `signed in`, `sign-in refused`, `user changed`, `resolved`.
    pub action: Option<String>,
    /// Only entries since a time (`2026-12-01T08:00:00Z`), a day (`2026-12-01`) or a while ago
    /// (`24h`, `7d`).
    pub since: Option<String>,
    /// Only entries older than the entry with this id (the next page).
    pub before: Option<i64>,
    /// At most this many (1–1000; default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] crate::store::Error),
}

pub async fn trail(store: &Store, q: &AuditQuery) -> Result<Vec<AuditEntry>, AuditError> {
    let since = q.since.as_deref().filter(|s| !s.trim().is_empty()).map(|s| since(s, chrono::Utc::now()));
    let filter = AuditFilter {
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        action: q.action.clone().filter(|a| !a.is_empty()),
        since: since.transpose().map_err(AuditError::Invalid)?,
        before_id: q.before,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(store.audit_trail(&filter).await?)
}

/// `since` as the store writes times (RFC 3339, UTC, milliseconds), so they compare as text.
fn since(s: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String, String> {
    use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
    let s = s.trim();
    let at = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    } else if let Ok(ago) = crate::config::parse_duration(s) {
        let too_long = || format!("`since` {s} reaches back before any time clerk keeps");
        chrono::Duration::from_std(ago).ok().and_then(|d| now.checked_sub_signed(d)).ok_or_else(too_long)?
    } else {
        return Err(format!(
            "`since` must be a time like 2026-12-01T08:00:00Z, a day like 2026-12-01 or a while ago like 24h; `{s}` is none"
        ));
    };
    Ok(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_is_a_time_a_day_or_a_while_ago() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z").unwrap().to_utc();
        assert_eq!(super::since("2026-12-01T09:30:00+01:00", now).unwrap(), "2026-12-01T08:30:00.000Z");
        assert_eq!(super::since("2026-12-01", now).unwrap(), "2026-12-01T00:00:00.000Z");
        assert_eq!(super::since("24h", now).unwrap(), "2026-12-01T12:00:00.000Z");
        let e = super::since("yesterday", now).unwrap_err();
        assert!(e.contains("`since` must be") && e.contains("`yesterday`"), "{e}");
        assert!(super::since("99999999999999999999d", now).is_err());
    }
}
