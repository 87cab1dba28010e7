-- Sessions ended by logout. Session tokens are stateless HS256 JWTs (TREK's format), so
-- logging out only cleared the cookie and the token itself lived on for up to 24 hours. A
-- logged-out token's SHA-256 is kept here until it would have expired anyway, and the session
-- check refuses it.

CREATE TABLE revoked_sessions (
    token_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
