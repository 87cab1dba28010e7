-- Two-factor state that TREK kept in process memory or not at all:
-- * mfa_last_step: the last TOTP time step an account accepted; codes at or before it are
--   refused everywhere (decision 2).
-- * mfa_pending: enrolments started with /mfa/setup, valid 15 minutes; in the database so any
--   instance can finish what another began.
-- * mfa_login_tokens: the ids of MFA-pending login tokens already used, so each works once
--   (decision 1). Rows are kept until the token would have expired anyway.

ALTER TABLE users ADD COLUMN mfa_last_step INTEGER;

CREATE TABLE mfa_pending (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE mfa_login_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
