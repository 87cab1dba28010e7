//! Sessions end to end: cookie and bearer, password changes, logout, deletion.

use reqwest::{Method, StatusCode};
use serde_json::json;
use trek_lib::session;

use crate::helpers::*;

#[tokio::test]
async fn a_new_account_uses_its_session_as_bearer_and_as_cookie() {
    let app = spawn_app().await;
    let r = app.register("bob", "Bob@Example.test", STRONG).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.body["token"].as_str().expect("token");
    assert_eq!(r.session_cookie().as_deref(), Some(token));
    assert_eq!(r.body["user"]["role"], "user");
    assert_eq!(
        r.body["user"]
            .as_object()
            .expect("user")
            .keys()
            .collect::<Vec<_>>(),
        [
            "id",
            "username",
            "email",
            "role",
            "avatar",
            "mfa_enabled",
            "avatar_url"
        ]
    );

    for cred in [Cred::Bearer(token), Cred::Cookie(token)] {
        let me = app.get("/api/auth/me", cred).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.body["user"]["email"], "Bob@Example.test");
        assert_eq!(me.body["user"]["must_change_password"], false);
    }
}

#[tokio::test]
async fn login_matches_email_ignoring_case_and_returns_no_internal_columns() {
    let app = spawn_app().await;
    app.user("carol").await;
    let r = app.login("CAROL@example.TEST", STRONG).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let user = r.body["user"].as_object().expect("user");
    for hidden in [
        "password_hash",
        "password_version",
        "oidc_sub",
        "mfa_secret",
        "mfa_backup_codes",
        "maps_api_key",
        "immich_api_key",
        "synology_password",
        "immich_access_token",
    ] {
        assert!(!user.contains_key(hidden), "{hidden} must not be returned");
    }
    assert_eq!(
        user["login_count"], 0,
        "the count before this login, as TREK reports it"
    );
    let again = app.login("carol@example.test", STRONG).await;
    assert_eq!(again.body["user"]["login_count"], 1);
}

#[tokio::test]
async fn a_stale_cookie_wins_over_a_valid_bearer_token() {
    let app = spawn_app().await;
    let token = app.user("dave").await;
    let req = app
        .request(Method::GET, "/api/auth/me", Cred::Bearer(&token))
        .header("Cookie", "trek_session=stale.token.value");
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.body,
        json!({ "error": "Invalid or expired token", "code": "AUTH_REQUIRED" })
    );
}

#[tokio::test]
async fn the_first_admin_must_change_the_password_before_anything_else() {
    let app = spawn_app().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["user"]["must_change_password"], true);
    assert_eq!(login.body["user"]["role"], "admin");
    let token = login.body["token"].as_str().expect("token");

    let me = app.get("/api/auth/me", Cred::Bearer(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    let config = app.get("/api/auth/app-config", Cred::Bearer(token)).await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["setup_complete"], false);

    let blocked = app
        .call(Method::DELETE, "/api/auth/me", Cred::Bearer(token), None)
        .await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.body["code"], "PASSWORD_CHANGE_REQUIRED");

    let logout = app
        .call(Method::POST, "/api/auth/logout", Cred::Bearer(token), None)
        .await;
    assert_eq!(logout.status, StatusCode::OK, "logout is always allowed");

    let fresh = app.admin().await;
    let me = app.get("/api/auth/me", Cred::Bearer(&fresh)).await;
    assert_eq!(me.body["user"]["must_change_password"], false);
    let config = app.get("/api/auth/app-config", Cred::None).await;
    assert_eq!(config.body["setup_complete"], true);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_hands_out_a_fresh_one() {
    let app = spawn_app().await;
    let first = app.user("erin").await;
    let second = app.login("erin@example.test", STRONG).await.body["token"]
        .as_str()
        .expect("t")
        .to_owned();

    let body = json!({ "current_password": STRONG, "new_password": "N3w!Password" });
    let r = app
        .call(
            Method::PUT,
            "/api/auth/me/password",
            Cred::Bearer(&first),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["success"], true);
    let fresh = r.body["token"].as_str().expect("fresh token");
    assert_eq!(r.session_cookie().as_deref(), Some(fresh));

    for old in [&first, &second] {
        let me = app.get("/api/auth/me", Cred::Bearer(old)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(me.error(), "Invalid or expired token");
    }
    assert_eq!(
        app.get("/api/auth/me", Cred::Cookie(fresh)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.login("erin@example.test", STRONG).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("erin@example.test", "N3w!Password").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_clears_the_cookie_with_trek_s_attributes() {
    let app = spawn_app().await;
    let token = app.user("frank").await;
    let r = app
        .call(Method::POST, "/api/auth/logout", Cred::Cookie(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({ "success": true }));
    assert_eq!(
        r.set_cookie().as_deref(),
        Some(
            "trek_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
        )
    );
    let anonymous = app
        .call(Method::POST, "/api/auth/logout", Cred::None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::OK);
    let bad = app
        .call(
            Method::POST,
            "/api/auth/logout",
            Cred::Bearer("garbage"),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_the_account_ends_its_sessions_and_is_audited_first() {
    let app = spawn_app().await;
    let token = app.user("gina").await;
    let r = app
        .call(Method::DELETE, "/api/auth/me", Cred::Bearer(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.set_cookie()
            .expect("cleared")
            .starts_with("trek_session=;")
    );
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let log = app.state.store.audit_actions().await.expect("audit");
    let (_, user_id, details, _) = log
        .iter()
        .find(|(a, ..)| a == "user.account_delete")
        .expect("audited");
    assert_eq!(
        *user_id, None,
        "the row is gone, so the reference is nulled"
    );
    assert!(
        details
            .as_deref()
            .expect("details")
            .contains("gina@example.test")
    );
}

#[tokio::test]
async fn the_last_admin_cannot_delete_itself() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app
        .call(Method::DELETE, "/api/auth/me", Cred::Bearer(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "Cannot delete the last admin account");
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&admin)).await.status,
        StatusCode::OK
    );
    let log = app.state.store.audit_actions().await.expect("audit");
    assert!(
        !log.iter().any(|(a, ..)| a == "user.account_delete"),
        "nothing happened, nothing audited"
    );
}

#[tokio::test]
async fn an_mfa_pending_token_is_never_a_session() {
    let app = spawn_app().await;
    let token = app.user("hank").await;
    let id = app.get("/api/auth/me", Cred::Bearer(&token)).await.body["user"]["id"]
        .as_i64()
        .expect("id");
    let now = app.state.now_secs();
    let payload = format!(
        r#"{{"id":{id},"purpose":"mfa_login","iat":{now},"exp":{}}}"#,
        now + 300
    );
    let pending = session::sign(&app.state.signing.current(), &payload);
    for cred in [Cred::Bearer(&pending), Cred::Cookie(&pending)] {
        let r = app.get("/api/auth/me", cred).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.error(), "Invalid or expired token");
    }
}

#[tokio::test]
async fn sessions_expire_after_24_hours() {
    let app = spawn_app().await;
    let token = app.user("ivy").await;
    app.clock.advance_ms(86_399_000);
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&token)).await.status,
        StatusCode::OK
    );
    app.clock.advance_ms(1_000);
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_identical_answers() {
    let app = spawn_app().await;
    app.user("jack").await;
    let unknown = app.login("nobody@example.test", STRONG).await;
    let wrong = app.login("jack@example.test", "Wr0ng!Password").await;
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    assert_eq!(
        unknown.body,
        json!({ "error": "Invalid email or password" })
    );
    let log = app.state.store.audit_actions().await.expect("audit");
    let reasons: Vec<_> = log
        .iter()
        .filter(|(a, ..)| a == "user.login_failed")
        .filter_map(|e| e.2.clone())
        .collect();
    assert!(reasons.iter().any(|d| d.contains("unknown_email")));
    assert!(reasons.iter().any(|d| d.contains("wrong_password")));
}

#[tokio::test]
async fn a_legacy_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id() {
    let app = spawn_app().await;
    let bcrypt = "$2a$12$f9SlGbUGwo5ueVqtuu81dOVCSMfBBlqr2bHANs2eNYJzt6f1GE6ya"; // "Tr3k!Tr3k"
    let now = app.state.now_db();
    let legacy = trek_server::store::NewUser {
        username: "legacy",
        email: "legacy@example.test",
        password_hash: bcrypt,
        force_admin: false,
        must_change_password: false,
        version: "3.0.15",
        now: &now,
    };
    app.state
        .store
        .create_user(legacy, None)
        .await
        .expect("legacy user");
    let r = app.login("legacy@example.test", "Tr3k!Tr3k").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = app
        .state
        .store
        .user_by_email("legacy@example.test")
        .await
        .expect("db")
        .expect("row");
    assert!(
        row.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        row.password_hash
    );
    assert_eq!(
        row.password_version, 0,
        "the same password is not a credential change"
    );
    let token = r.body["token"].as_str().expect("token");
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.login("legacy@example.test", "Tr3k!Tr3k").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_audit_log_records_the_derived_client_address() {
    let app = spawn_app_with(&[("TRUST_PROXY", "1")]).await;
    let req = app
        .request(Method::POST, "/api/auth/register", Cred::None)
        .header("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
        .json(&json!({ "username": "kim", "email": "kim@example.test", "password": STRONG }));
    assert_eq!(app.send(req).await.status, StatusCode::CREATED);
    let log = app.state.store.audit_actions().await.expect("audit");
    let (_, _, _, ip) = log
        .iter()
        .find(|(a, ..)| a == "user.register")
        .expect("audited");
    assert_eq!(
        ip.as_deref(),
        Some("203.0.113.7"),
        "the right-most hop, not the spoofable left-most"
    );
}

#[tokio::test]
async fn logout_ends_the_token_it_was_sent_with_and_no_other() {
    let app = spawn_app().await;
    let phone = app.user("lars").await;
    let laptop = app.login("lars@example.test", STRONG).await.body["token"]
        .as_str()
        .expect("t")
        .to_owned();
    for (logout_cred, token) in [(Cred::Bearer(&phone), &phone)] {
        let r = app
            .call(Method::POST, "/api/auth/logout", logout_cred, None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let after = app.get("/api/auth/me", Cred::Bearer(token)).await;
        assert_eq!(
            (after.status, after.error()),
            (StatusCode::UNAUTHORIZED, "Invalid or expired token")
        );
        assert_eq!(
            app.get("/api/auth/me", Cred::Cookie(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&laptop)).await.status,
        StatusCode::OK
    );
    let r = app
        .call(
            Method::POST,
            "/api/auth/logout",
            Cred::Cookie(&laptop),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&laptop)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let log = app.state.store.audit_actions().await.expect("audit");
    assert_eq!(log.iter().filter(|(a, ..)| a == "user.logout").count(), 2);
}

#[tokio::test]
async fn a_session_used_a_moment_ago_dies_on_the_very_next_request_after_a_change() {
    let app = spawn_app().await;
    let warm = |token: String| async move { token };
    // Password change by another session of the same account.
    let a = warm(app.user("cache1").await).await;
    let b = app.login("cache1@example.test", STRONG).await.body["token"]
        .as_str()
        .expect("t")
        .to_owned();
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/auth/me", Cred::Bearer(&a)).await.status,
            StatusCode::OK
        );
    }
    let body = json!({ "current_password": STRONG, "new_password": "N3w!Password" });
    let r = app
        .call(
            Method::PUT,
            "/api/auth/me/password",
            Cred::Bearer(&b),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&a)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Deletion.
    let c = app.user("cache2").await;
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&c)).await.status,
        StatusCode::OK
    );
    let now = app.state.now_db();
    let entry = trek_server::audit::Entry {
        at: &now,
        user_id: None,
        action: "test",
        resource: None,
        details: None,
        ip: None,
    };
    let id = app.get("/api/auth/me", Cred::Bearer(&c)).await.body["user"]["id"]
        .as_i64()
        .expect("id");
    app.state
        .store
        .delete_user(id, &entry)
        .await
        .expect("deleted");
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&c)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Logout of the very token.
    let d = app.user("cache3").await;
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&d)).await.status,
        StatusCode::OK
    );
    app.call(Method::POST, "/api/auth/logout", Cred::Bearer(&d), None)
        .await;
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&d)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // What /me shows follows a login elsewhere at once.
    let e = app.user("cache4").await;
    let before = app.get("/api/auth/me", Cred::Bearer(&e)).await.body["user"]["last_login"].clone();
    app.clock.advance_ms(5_000);
    app.login("cache4@example.test", STRONG).await;
    let after = app.get("/api/auth/me", Cred::Bearer(&e)).await.body["user"]["last_login"].clone();
    assert_ne!(before, after);
}
