-- Identity tables with TREK 3.0.15's column names and meanings, so TREK data carries over.
-- Differences: invite tokens are stored sealed with a SHA-256 lookup column (decision 12), and
-- e-mail and user name are unique case-insensitively at the database level, so two parallel
-- registrations cannot both pass the application's duplicate check.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT UNIQUE NOT NULL,
    email TEXT UNIQUE NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'user',
    maps_api_key TEXT,
    unsplash_api_key TEXT,
    openweather_api_key TEXT,
    avatar TEXT,
    oidc_sub TEXT,
    oidc_issuer TEXT,
    last_login DATETIME,
    mfa_enabled INTEGER DEFAULT 0,
    mfa_secret TEXT,
    mfa_backup_codes TEXT,
    immich_url TEXT,
    immich_access_token TEXT,
    synology_url TEXT,
    synology_username TEXT,
    synology_password TEXT,
    synology_sid TEXT,
    must_change_password INTEGER DEFAULT 0,
    password_version INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    immich_api_key TEXT,
    synology_skip_ssl INTEGER NOT NULL DEFAULT 0,
    synology_did TEXT,
    first_seen_version TEXT NOT NULL DEFAULT '0.0.0',
    login_count INTEGER NOT NULL DEFAULT 0,
    immich_auto_upload INTEGER NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX users_email_nocase ON users (lower(email));
CREATE UNIQUE INDEX users_username_nocase ON users (lower(username));

CREATE TABLE invite_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL,
    token_hash TEXT UNIQUE NOT NULL,
    max_uses INTEGER NOT NULL DEFAULT 1,
    used_count INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT,
    created_by INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE app_settings (
    key TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    resource TEXT,
    details TEXT,
    ip TEXT
);

CREATE INDEX audit_log_created ON audit_log (created_at);
