//! Invites: lookup, the errors, and atomic claiming (decision 12).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn invite_lookup_reports_usage_and_its_errors() {
    let app = spawn_app().await;
    app.invite("open-invite", 3, None).await;
    let r = app.get("/api/auth/invite/open-invite", Cred::None).await;
    assert_eq!(
        r.body,
        json!({ "valid": true, "max_uses": 3, "used_count": 0, "expires_at": null })
    );

    let missing = app.get("/api/auth/invite/unknown", Cred::None).await;
    assert_eq!(
        (missing.status, missing.body),
        (
            StatusCode::NOT_FOUND,
            json!({ "error": "Invalid invite link" })
        )
    );

    app.invite("old", 1, Some("2000-01-01T00:00:00.000Z")).await;
    let expired = app.get("/api/auth/invite/old", Cred::None).await;
    assert_eq!(
        (expired.status, expired.body),
        (
            StatusCode::GONE,
            json!({ "error": "Invite link has expired" })
        )
    );
}

#[tokio::test]
async fn registration_errors_for_bad_invites_use_trek_s_statuses() {
    let app = spawn_app().await;
    let with = |token: &str, n: u32| json!({ "username": format!("v{n}"), "email": format!("v{n}@example.test"), "password": STRONG, "invite_token": token });
    let r = app.post("/api/auth/register", with("nope", 0)).await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            json!({ "error": "Invalid invite link" })
        )
    );
    app.invite("once", 1, None).await;
    assert_eq!(
        app.post("/api/auth/register", with("once", 1)).await.status,
        StatusCode::CREATED
    );
    let r = app.post("/api/auth/register", with("once", 2)).await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::GONE,
            json!({ "error": "Invite link has been fully used" })
        )
    );
    let info = app.get("/api/auth/invite/once", Cred::None).await;
    assert_eq!(info.status, StatusCode::GONE);
}

#[tokio::test]
async fn an_invite_opens_closed_registration() {
    let app = spawn_app().await;
    app.state
        .store
        .set_setting("allow_registration", "false")
        .await
        .expect("setting");
    app.invite("welcome", 0, None).await;
    let body = json!({ "username": "wes", "email": "wes@example.test", "password": STRONG, "invite_token": "welcome" });
    let r = app.post("/api/auth/register", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        app.get("/api/auth/invite/welcome", Cred::None).await.body["used_count"],
        1
    );
}

#[tokio::test]
async fn invite_tokens_are_stored_sealed_with_a_hash_for_lookup() {
    let app = spawn_app().await;
    app.invite("plain-token-value", 1, None).await;
    let db = app.dir.path().join("data").join("travel.db");
    let bytes = std::fs::read(&db).expect("db");
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap_or_default();
    let needle = b"plain-token-value";
    let found = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        !found(&bytes) && !found(&wal),
        "the raw invite token is not on disk"
    );
}

#[tokio::test]
async fn twenty_parallel_registrations_on_a_one_use_invite_create_exactly_one_account() {
    let app = std::sync::Arc::new(spawn_app_with(&[("TRUST_PROXY", "1")]).await);
    app.state
        .store
        .set_setting("allow_registration", "false")
        .await
        .expect("setting");
    app.invite("single", 1, None).await;
    let tasks = (0..20).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let body = json!({
                "username": format!("racer{i}"),
                "email": format!("racer{i}@example.test"),
                "password": STRONG,
                "invite_token": "single",
            });
            // Distinct client addresses, so the login bucket does not decide the race.
            let req = app
                .request(reqwest::Method::POST, "/api/auth/register", Cred::None)
                .header("X-Forwarded-For", format!("203.0.113.{i}"))
                .json(&body);
            app.send(req).await.status
        })
    });
    let statuses = race_results(tasks).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::GONE),
        "{statuses:?}"
    );
    assert_eq!(
        app.state.store.count_users().await.expect("count"),
        2,
        "the admin and one invitee"
    );
    assert_eq!(
        app.get("/api/auth/invite/single", Cred::None).await.status,
        StatusCode::GONE
    );
}
