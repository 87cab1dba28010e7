//! User shapes returned to clients, each an explicit allow-list (decision 9): hashes, secrets,
//! sealed columns, `password_version`, `oidc_sub` and tokens are never among the fields.

use poem_openapi::Object;

use crate::store::UserRow;

/// TREK stores `YYYY-MM-DD HH:MM:SS` (UTC, no zone); clients get ISO 8601 with `Z`.
pub fn iso(value: Option<&str>) -> Option<String> {
    let v = value?;
    if v.ends_with('Z') {
        return Some(v.to_owned());
    }
    Some(format!("{}Z", v.replacen(' ', "T", 1)))
}

fn avatar_url(avatar: Option<&str>) -> Option<String> {
    avatar.map(|a| format!("/uploads/avatars/{a}"))
}

/// The account as login returns it.
#[derive(Debug, Clone, Object)]
pub struct SessionUser {
    /// Account id.
    pub id: i64,
    /// User name.
    pub username: String,
    /// E-mail as stored.
    pub email: String,
    /// `user` or `admin`.
    pub role: String,
    /// Avatar file name, if any.
    pub avatar: Option<String>,
    /// Linked OIDC issuer, if any.
    pub oidc_issuer: Option<String>,
    /// The previous successful login (before this one), ISO 8601.
    pub last_login: Option<String>,
    /// Two-factor authentication is on.
    pub mfa_enabled: bool,
    /// The password must be changed before anything else works.
    pub must_change_password: bool,
    /// Creation time, ISO 8601.
    pub created_at: Option<String>,
    /// Last update, ISO 8601.
    pub updated_at: Option<String>,
    /// The version the account was created under.
    pub first_seen_version: String,
    /// Successful logins before this one.
    pub login_count: i64,
    /// `/uploads/avatars/<file>`, if any.
    pub avatar_url: Option<String>,
}

impl From<&UserRow> for SessionUser {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            role: u.role.clone(),
            avatar: u.avatar.clone(),
            oidc_issuer: u.oidc_issuer.clone(),
            last_login: iso(u.last_login.as_deref()),
            mfa_enabled: u.mfa_on(),
            must_change_password: u.must_change(),
            created_at: iso(u.created_at.as_deref()),
            updated_at: iso(u.updated_at.as_deref()),
            first_seen_version: u.first_seen_version.clone(),
            login_count: u.login_count,
            avatar_url: avatar_url(u.avatar.as_deref()),
        }
    }
}

/// The account as `GET /api/auth/me` returns it: TREK's keys, with `updated_at` and
/// `last_login` filled in (TREK always sent them as null by accident).
#[derive(Debug, Clone, Object)]
pub struct MeUser {
    /// Account id.
    pub id: i64,
    /// User name.
    pub username: String,
    /// E-mail as stored.
    pub email: String,
    /// `user` or `admin`.
    pub role: String,
    /// Avatar file name, if any.
    pub avatar: Option<String>,
    /// Linked OIDC issuer, if any.
    pub oidc_issuer: Option<String>,
    /// Creation time, ISO 8601.
    pub created_at: Option<String>,
    /// Two-factor authentication is on.
    pub mfa_enabled: bool,
    /// The password must be changed before anything else works.
    pub must_change_password: bool,
    /// Last update, ISO 8601.
    pub updated_at: Option<String>,
    /// Last successful login, ISO 8601.
    pub last_login: Option<String>,
    /// `/uploads/avatars/<file>`, if any.
    pub avatar_url: Option<String>,
}

impl From<&UserRow> for MeUser {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            role: u.role.clone(),
            avatar: u.avatar.clone(),
            oidc_issuer: u.oidc_issuer.clone(),
            created_at: iso(u.created_at.as_deref()),
            mfa_enabled: u.mfa_on(),
            must_change_password: u.must_change(),
            updated_at: iso(u.updated_at.as_deref()),
            last_login: iso(u.last_login.as_deref()),
            avatar_url: avatar_url(u.avatar.as_deref()),
        }
    }
}

/// The account as registration returns it (TREK's register shape).
#[derive(Debug, Clone, Object)]
pub struct RegisteredUser {
    /// Account id.
    pub id: i64,
    /// User name as given, trimmed.
    pub username: String,
    /// E-mail as given, trimmed.
    pub email: String,
    /// `admin` for the first account, else `user`.
    pub role: String,
    /// Always null for a new account.
    pub avatar: Option<String>,
    /// Always false for a new account.
    pub mfa_enabled: bool,
    /// Always null for a new account.
    pub avatar_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_timestamps_become_iso_and_iso_stays() {
        assert_eq!(
            iso(Some("2026-12-03 10:00:00")).as_deref(),
            Some("2026-12-03T10:00:00Z")
        );
        assert_eq!(
            iso(Some("2026-12-03T10:00:00.000Z")).as_deref(),
            Some("2026-12-03T10:00:00.000Z")
        );
        assert_eq!(iso(None), None);
    }
}
