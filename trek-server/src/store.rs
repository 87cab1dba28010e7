//! All SQL lives here: the rest of the server talks to the database only through [`Store`].
//!
//! Every method that changes a user row or ends a session calls `self.sessions.invalidate()`
//! once its write has committed, so cached sessions never outlive a change (`session_cache`).
//!
//! The store runs on SQLite (WAL, `busy_timeout` 5 s, foreign keys on), TREK's own layout at
//! `data/travel.db`. Writes that must not race (registration with an invite, deleting the last
//! admin) run in `BEGIN IMMEDIATE` transactions, which take SQLite's write lock up front so a
//! check and the write it guards cannot interleave with another request.
//!
//! Known shortcut: PostgreSQL is not wired yet. The queries are plain SQL that both engines
//! accept except for the `?` placeholders and `BEGIN IMMEDIATE`; backing the store with
//! PostgreSQL means a `sqlx::Any`-free second implementation of these methods behind the same
//! names, selected by a `DATABASE_URL`.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

use crate::session_cache::SessionCache;
use std::sync::Arc;

/// A database failure. Callers answer 500 without the details, which go to the log.
#[derive(Debug, thiserror::Error)]
#[error("database error: {0}")]
pub struct StoreError(#[from] sqlx::Error);

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    sessions: Arc<SessionCache>,
}

/// A `users` row as the server reads it; the columns that carry secrets stay in the database.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Unique case-insensitively.
    pub username: String,
    /// Unique case-insensitively; stored as typed.
    pub email: String,
    /// Argon2id PHC string, or a legacy bcrypt hash.
    pub password_hash: String,
    /// `user` or `admin`.
    pub role: String,
    /// Avatar file name under `uploads/avatars`.
    pub avatar: Option<String>,
    /// The OIDC issuer the account is linked to.
    pub oidc_issuer: Option<String>,
    /// Last successful login, `YYYY-MM-DD HH:MM:SS` UTC or ISO 8601.
    pub last_login: Option<String>,
    /// Two-factor authentication is on.
    pub mfa_enabled: Option<i64>,
    /// The account must change its password before doing anything else.
    pub must_change_password: Option<i64>,
    /// Bumped by every credential change; sessions carry it as `pv`.
    pub password_version: i64,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update.
    pub updated_at: Option<String>,
    /// The version the account was created under.
    pub first_seen_version: String,
    /// Successful logins so far.
    pub login_count: i64,
}

impl UserRow {
    /// Whether the account is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// Whether two-factor authentication is on.
    pub fn mfa_on(&self) -> bool {
        self.mfa_enabled.unwrap_or(0) != 0
    }

    /// Whether a password change is pending.
    pub fn must_change(&self) -> bool {
        self.must_change_password.unwrap_or(0) != 0
    }
}

const USER_COLUMNS: &str = "id, username, email, password_hash, role, avatar, oidc_issuer, \
    last_login, mfa_enabled, must_change_password, password_version, created_at, updated_at, \
    first_seen_version, login_count";

/// An `invite_tokens` row.
#[derive(Debug, Clone, FromRow)]
pub struct InviteRow {
    /// Primary key.
    pub id: i64,
    /// Uses allowed; 0 means unlimited.
    pub max_uses: i64,
    /// Uses so far.
    pub used_count: i64,
    /// ISO 8601 expiry, or none.
    pub expires_at: Option<String>,
}

/// The two-factor columns of an account.
#[derive(Debug, Clone, FromRow)]
pub struct MfaState {
    /// Two-factor authentication is on.
    pub enabled: bool,
    /// The TOTP secret, sealed in the MFA format.
    pub mfa_secret: Option<String>,
    /// JSON array of backup-code hashes.
    pub mfa_backup_codes: Option<String>,
    /// The last TOTP step accepted.
    pub mfa_last_step: Option<i64>,
}

/// Turning two-factor authentication on.
#[derive(Debug, Clone, Copy)]
pub struct MfaEnable<'a> {
    /// The account.
    pub user_id: i64,
    /// The TOTP secret, sealed in the MFA format.
    pub sealed_secret: &'a str,
    /// JSON array of backup-code hashes.
    pub backup_codes_json: &'a str,
    /// The step of the code that confirmed enrolment; it counts as used.
    pub step: i64,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub now: &'a str,
}

/// What turning two-factor authentication off did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaDisable {
    /// Off now; the new password version.
    Disabled(i64),
    /// It was not on.
    NotEnabled,
    /// Refused: the policy requires it.
    RequiredByPolicy,
}

/// What a new account is made of.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Trimmed user name.
    pub username: &'a str,
    /// Trimmed e-mail.
    pub email: &'a str,
    /// Password hash.
    pub password_hash: &'a str,
    /// Force `admin`; otherwise the first account is admin and the rest are users.
    pub force_admin: bool,
    /// Set `must_change_password`.
    pub must_change_password: bool,
    /// `first_seen_version`.
    pub version: &'a str,
    /// Creation time, `YYYY-MM-DD HH:MM:SS` UTC.
    pub now: &'a str,
}

/// How an invite check decides at the moment of use.
pub trait InviteCheck: Fn(&InviteRow) -> Result<(), InviteProblem> + Send + Sync {}
impl<F: Fn(&InviteRow) -> Result<(), InviteProblem> + Send + Sync> InviteCheck for F {}

/// Why an invite cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteProblem {
    /// No invite has this token.
    NotFound,
    /// All uses are taken.
    FullyUsed,
    /// Past its expiry.
    Expired,
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The e-mail or the user name is taken (case-insensitively).
    #[error("e-mail or user name already taken")]
    Duplicate,
    /// The invite was not usable when the account was about to be created.
    #[error("invite not usable: {0:?}")]
    Invite(InviteProblem),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The account was created.
#[derive(Debug, Clone)]
pub struct CreatedUser {
    /// New id.
    pub id: i64,
    /// The role it got.
    pub role: String,
}

/// Why an account was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteUserError {
    /// It is the only administrator.
    #[error("cannot delete the last admin")]
    LastAdmin,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn insert_audit<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    entry: &crate::audit::Entry<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (created_at, user_id, action, resource, details, ip) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.at)
    .bind(entry.user_id)
    .bind(entry.action)
    .bind(entry.resource)
    .bind(entry.details.as_ref().map(ToString::to_string))
    .bind(entry.ip)
    .execute(db)
    .await?;
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    ///
    /// # Errors
    ///
    /// The file cannot be opened or a migration fails; nothing is half-applied, since each
    /// migration runs in its own transaction.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError(e.into()))?;
        Ok(Self {
            pool,
            sessions: Arc::default(),
        })
    }

    /// Number of accounts.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Whether some admin still has to change the first-run password.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn admin_must_change_password(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND must_change_password = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Whether some admin has a maps key.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn admin_has_maps_key(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND maps_api_key IS NOT NULL \
             AND maps_api_key != ''",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Whether any account still has a bcrypt hash from TREK (not yet upgraded at login).
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn has_legacy_hashes(&self) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM users WHERE password_hash LIKE '$2%')",
            )
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// The account with this id.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The account with this id, unless the session token hashing to `token_hash` was
    /// logged out: one query for both, since it runs on every authenticated request.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn session_user(
        &self,
        id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<Arc<UserRow>>> {
        if let Some(row) = self.sessions.get(token_hash, id) {
            return Ok(Some(row));
        }
        let generation = self.sessions.generation();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = ? AND NOT EXISTS \
             (SELECT 1 FROM revoked_sessions WHERE token_hash = ?)"
        );
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        let row = row.map(Arc::new);
        if let Some(row) = &row {
            self.sessions.insert(generation, token_hash, row.clone());
        }
        Ok(row)
    }

    /// Ends one session token (logout) until `expires_at` (seconds), when it dies anyway.
    /// Entries past their expiry are dropped on the way.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn revoke_session(
        &self,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM revoked_sessions WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT OR IGNORE INTO revoked_sessions (token_hash, expires_at) VALUES (?, ?)",
        )
        .bind(token_hash)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        self.sessions.invalidate();
        Ok(())
    }

    /// The account whose e-mail equals `email` ignoring ASCII case, as TREK looks it up.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower(?)");
        Ok(sqlx::query_as(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The invite whose token hashes to `token_hash`.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn invite_by_hash(&self, token_hash: &str) -> StoreResult<Option<InviteRow>> {
        Ok(sqlx::query_as(
            "SELECT id, max_uses, used_count, expires_at FROM invite_tokens WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Stores an invite: `sealed_token` is the token sealed for display to admins,
    /// `token_hash` its SHA-256 hex for lookup.
    ///
    /// # Errors
    ///
    /// The database failed, or the hash already exists.
    pub async fn create_invite(
        &self,
        sealed_token: &str,
        token_hash: &str,
        max_uses: i64,
        expires_at: Option<&str>,
        created_by: Option<i64>,
    ) -> StoreResult<i64> {
        let id = sqlx::query(
            "INSERT INTO invite_tokens (token, token_hash, max_uses, expires_at, created_by) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(sealed_token)
        .bind(token_hash)
        .bind(max_uses)
        .bind(expires_at)
        .bind(created_by)
        .execute(&self.pool)
        .await?
        .last_insert_rowid();
        Ok(id)
    }

    /// Creates an account, and when `invite` is given claims one use of it in the same
    /// transaction (decision 12): either both happen or neither does.
    ///
    /// # Errors
    ///
    /// [`CreateUserError::Duplicate`] for a taken e-mail or user name,
    /// [`CreateUserError::Invite`] when the invite is gone, used up or expired at this moment.
    pub async fn create_user(
        &self,
        user: NewUser<'_>,
        invite: Option<(&str, &dyn InviteCheck)>,
    ) -> Result<CreatedUser, CreateUserError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError)?;

        if let Some((hash, check)) = invite {
            let row: Option<InviteRow> = sqlx::query_as(
                "SELECT id, max_uses, used_count, expires_at FROM invite_tokens WHERE token_hash = ?",
            )
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError)?;
            let row = row.ok_or(CreateUserError::Invite(InviteProblem::NotFound))?;
            check(&row).map_err(CreateUserError::Invite)?;
            sqlx::query("UPDATE invite_tokens SET used_count = used_count + 1 WHERE id = ?")
                .bind(row.id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError)?;
        }

        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE lower(email) = lower(?) OR lower(username) = lower(?)",
        )
        .bind(user.email)
        .bind(user.username)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError)?;
        if taken > 0 {
            return Err(CreateUserError::Duplicate);
        }

        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError)?;
        let role = if user.force_admin || existing == 0 {
            "admin"
        } else {
            "user"
        };
        let inserted = sqlx::query(
            "INSERT INTO users (username, email, password_hash, role, must_change_password, \
             first_seen_version, login_count, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(user.username)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(role)
        .bind(i64::from(user.must_change_password))
        .bind(user.version)
        .bind(user.now)
        .bind(user.now)
        .execute(&mut *tx)
        .await;
        let id = match inserted {
            Ok(done) => done.last_insert_rowid(),
            Err(e) if is_unique_violation(&e) => return Err(CreateUserError::Duplicate),
            Err(e) => return Err(StoreError(e).into()),
        };
        tx.commit().await.map_err(StoreError)?;
        Ok(CreatedUser {
            id,
            role: role.to_owned(),
        })
    }

    /// Records a successful login.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn record_login(&self, id: i64, now: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login = ?, login_count = login_count + 1 WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.sessions.invalidate();
        Ok(())
    }

    /// Replaces the hash with a stronger one of the same password, unless it changed meanwhile.
    /// The password version stays: the credential is the same.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn upgrade_hash(&self, id: i64, old_hash: &str, new_hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?")
            .bind(new_hash)
            .bind(id)
            .bind(old_hash)
            .execute(&self.pool)
            .await?;
        self.sessions.invalidate();
        Ok(())
    }

    /// Sets a new password, clears `must_change_password` and bumps the password version so
    /// every other session ends (decision 3). Returns the new version.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn change_password(&self, id: i64, new_hash: &str, now: &str) -> StoreResult<i64> {
        let version = sqlx::query_scalar(
            "UPDATE users SET password_hash = ?, must_change_password = 0, \
             password_version = password_version + 1, updated_at = ? WHERE id = ? \
             RETURNING password_version",
        )
        .bind(new_hash)
        .bind(now)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        self.sessions.invalidate();
        Ok(version)
    }

    /// Deletes an account, refusing to delete the last admin. The check, the audit entry and the
    /// delete share one write transaction: two admins deleting themselves at once cannot both
    /// succeed, and the audit row exists exactly when the account is gone (decision 11).
    ///
    /// # Errors
    ///
    /// [`DeleteUserError::LastAdmin`], or the database failed.
    pub async fn delete_user(
        &self,
        id: i64,
        audit: &crate::audit::Entry<'_>,
    ) -> Result<(), DeleteUserError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError)?;
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError)?;
        if role.as_deref() == Some("admin") {
            let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError)?;
            if admins <= 1 {
                return Err(DeleteUserError::LastAdmin);
            }
        }
        insert_audit(&mut *tx, audit).await.map_err(StoreError)?;
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError)?;
        tx.commit().await.map_err(StoreError)?;
        self.sessions.invalidate();
        Ok(())
    }

    /// One row of `app_settings`.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let value: Option<Option<String>> =
            sqlx::query_scalar("SELECT value FROM app_settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.flatten())
    }

    /// Every row of `app_settings`.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn settings(&self) -> StoreResult<std::collections::HashMap<String, String>> {
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT key, value FROM app_settings")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect())
    }

    /// Sets one row of `app_settings`.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_settings (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends an audit entry.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn audit(&self, entry: &crate::audit::Entry<'_>) -> StoreResult<()> {
        Ok(insert_audit(&self.pool, entry).await?)
    }

    /// Audit entries, newest first (for tests and, later, the admin audit log).
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn audit_actions(
        &self,
    ) -> StoreResult<Vec<(String, Option<i64>, Option<String>, Option<String>)>> {
        Ok(
            sqlx::query_as("SELECT action, user_id, details, ip FROM audit_log ORDER BY id DESC")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The account's two-factor columns.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn mfa_state(&self, id: i64) -> StoreResult<Option<MfaState>> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(mfa_enabled, 0) != 0 AS enabled, mfa_secret, mfa_backup_codes, \
             mfa_last_step FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Starts (or restarts) an enrolment: the sealed secret, valid until `expires_at` (seconds).
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn set_pending_mfa(
        &self,
        user_id: i64,
        sealed: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mfa_pending (user_id, secret, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, expires_at = excluded.expires_at",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The sealed secret of an enrolment still running at `now` (seconds).
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn pending_mfa(&self, user_id: i64, now: i64) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT secret FROM mfa_pending WHERE user_id = ? AND expires_at > ?",
        )
        .bind(user_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Turns two-factor authentication on, if it is off and `step` is after the last step
    /// used; records `step` as used, ends the enrolment, and bumps the password version.
    /// Returns the new version, or `None` when another request won.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn enable_mfa(&self, change: MfaEnable<'_>) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET mfa_enabled = 1, mfa_secret = ?, mfa_backup_codes = ?, \
             mfa_last_step = ?, password_version = password_version + 1, updated_at = ? \
             WHERE id = ? AND COALESCE(mfa_enabled, 0) = 0 \
             AND (mfa_last_step IS NULL OR mfa_last_step < ?) RETURNING password_version",
        )
        .bind(change.sealed_secret)
        .bind(change.backup_codes_json)
        .bind(change.step)
        .bind(change.now)
        .bind(change.user_id)
        .bind(change.step)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM mfa_pending WHERE user_id = ?")
            .bind(change.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.sessions.invalidate();
        Ok(version)
    }

    /// Marks TOTP step `step` as used if it is after the last one. Exactly one of several
    /// parallel requests with the same code gets `true`.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn claim_totp_step(&self, user_id: i64, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET mfa_last_step = ? WHERE id = ? AND COALESCE(mfa_enabled, 0) != 0 \
             AND (mfa_last_step IS NULL OR mfa_last_step < ?)",
        )
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the backup-code list only if it is still `expected`: a compare-and-swap, so of
    /// several requests spending the same code exactly one succeeds.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn swap_backup_codes(
        &self,
        user_id: i64,
        expected: &str,
        new: &str,
        now: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE users SET mfa_backup_codes = ?, updated_at = ? WHERE id = ? AND mfa_backup_codes = ?",
        )
        .bind(new)
        .bind(now)
        .bind(user_id)
        .bind(expected)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns two-factor authentication off (keeping the last used step, so old codes stay
    /// spent), ends any enrolment and bumps the password version.
    ///
    /// With `honour_policy`, refuses while `require_mfa` is on; the check shares the write
    /// transaction, so a concurrent switch of the policy cannot slip between them. An admin's
    /// reset of another user passes `false`.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn disable_mfa(
        &self,
        user_id: i64,
        now: &str,
        honour_policy: bool,
    ) -> StoreResult<MfaDisable> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if honour_policy {
            let required: Option<String> =
                sqlx::query_scalar("SELECT value FROM app_settings WHERE key = 'require_mfa'")
                    .fetch_optional(&mut *tx)
                    .await?
                    .flatten();
            if required.as_deref() == Some("true") {
                return Ok(MfaDisable::RequiredByPolicy);
            }
        }
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET mfa_enabled = 0, mfa_secret = NULL, mfa_backup_codes = NULL, \
             password_version = password_version + 1, updated_at = ? \
             WHERE id = ? AND COALESCE(mfa_enabled, 0) != 0 RETURNING password_version",
        )
        .bind(now)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM mfa_pending WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.sessions.invalidate();
        Ok(version.map_or(MfaDisable::NotEnabled, MfaDisable::Disabled))
    }

    /// Sets `require_mfa`. Turning it on succeeds only while `admin_id` has two-factor
    /// authentication on, checked in the same write transaction (decision 13), so the admin
    /// cannot be disabling it at that very moment. Returns whether the setting was written.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn set_require_mfa(&self, admin_id: i64, on: bool) -> StoreResult<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if on {
            let has_mfa: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ? AND COALESCE(mfa_enabled, 0) != 0)",
            )
            .bind(admin_id)
            .fetch_one(&mut *tx)
            .await?;
            if !has_mfa {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO app_settings (key, value) VALUES ('require_mfa', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(if on { "true" } else { "false" })
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records an MFA-pending login token as used. `false` when it already was.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn use_mfa_login_token(
        &self,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM mfa_login_tokens WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let done =
            sqlx::query("INSERT OR IGNORE INTO mfa_login_tokens (jti, expires_at) VALUES (?, ?)")
                .bind(jti)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives an MFA-pending login token back after a wrong code, so the user can try again.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn release_mfa_login_token(&self, jti: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM mfa_login_tokens WHERE jti = ?")
            .bind(jti)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
