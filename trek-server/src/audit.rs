//! The audit log: who did what, from which address (decision 11).

use serde_json::Value;

use crate::state::AppState;

/// One audit entry.
#[derive(Debug)]
pub struct Entry<'a> {
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: &'a str,
    /// The acting user, if known.
    pub user_id: Option<i64>,
    /// TREK's action name, such as `user.login`.
    pub action: &'a str,
    /// What it acted on, if anything.
    pub resource: Option<&'a str>,
    /// Details as JSON; never secrets.
    pub details: Option<Value>,
    /// The client address from the one trusted derivation (decision 6).
    pub ip: Option<&'a str>,
}

/// Writes an audit entry. A failure is logged and swallowed, as in TREK: losing an audit row
/// must not turn a successful request into an error.
pub async fn record(
    state: &AppState,
    user_id: Option<i64>,
    action: &str,
    details: Option<Value>,
    ip: &str,
) {
    let at = state.now_db();
    let entry = Entry {
        at: &at,
        user_id,
        action,
        resource: None,
        details,
        ip: Some(ip),
    };
    write(state, &entry).await;
}

/// Writes a fully built entry; failures are logged and swallowed like [`record`]'s.
pub async fn write(state: &AppState, entry: &Entry<'_>) {
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(action = entry.action, error = %e, "audit entry not written");
    } else {
        tracing::info!(
            action = entry.action,
            user_id = entry.user_id,
            ip = entry.ip,
            "audit"
        );
    }
}
