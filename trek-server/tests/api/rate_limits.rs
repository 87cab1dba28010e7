//! Each bucket trips exactly at its number, answers 429 with `Retry-After`, and counts on its
//! own (decision 7).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const TOO_MANY: &str = "Too many attempts. Please try again later.";

fn assert_limited(r: &Reply, window_secs: u64) {
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body, json!({ "error": TOO_MANY }));
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= window_secs, "Retry-After {retry}");
}

#[tokio::test]
async fn login_register_and_invite_share_ten_per_quarter_hour() {
    let app = spawn_app().await;
    for i in 0..4 {
        assert_eq!(
            app.login("x@example.test", "Wr0ng!pass").await.status,
            StatusCode::UNAUTHORIZED,
            "login {i}"
        );
    }
    for i in 0..3 {
        let r = app
            .register(&format!("u{i}"), &format!("u{i}@example.test"), STRONG)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "register {i}");
    }
    for i in 0..3 {
        assert_eq!(
            app.get("/api/auth/invite/nope", Cred::None).await.status,
            StatusCode::NOT_FOUND,
            "invite {i}"
        );
    }
    assert_limited(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, 900);
    assert_limited(&app.get("/api/auth/invite/nope", Cred::None).await, 900);
    assert_limited(
        &app.register("late", "late@example.test", STRONG).await,
        900,
    );

    app.clock.advance_ms(15 * 60 * 1000);
    assert_eq!(
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status,
        StatusCode::OK,
        "a new window"
    );
}

#[tokio::test]
async fn password_change_has_its_own_bucket_of_five() {
    let app = spawn_app().await;
    let token = app.user("quinn").await;
    let wrong = json!({ "current_password": "Wr0ng!pass1", "new_password": "N3w!Password" });
    for _ in 0..5 {
        let r = app
            .call(
                Method::PUT,
                "/api/auth/me/password",
                Cred::Bearer(&token),
                Some(wrong.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .call(
            Method::PUT,
            "/api/auth/me/password",
            Cred::Bearer(&token),
            Some(wrong),
        )
        .await;
    assert_limited(&r, 900);
    assert_eq!(
        app.login("quinn@example.test", STRONG).await.status,
        StatusCode::OK,
        "login is not shared"
    );
}

#[tokio::test]
async fn addresses_are_counted_apart_only_behind_a_trusted_proxy() {
    let trusted = spawn_app_with(&[("TRUST_PROXY", "1")]).await;
    let from = |ip: &str| {
        trusted
            .request(Method::POST, "/api/auth/login", Cred::None)
            .header("X-Forwarded-For", ip)
            .json(&json!({ "email": "", "password": "" }))
    };
    for _ in 0..10 {
        assert_eq!(
            trusted.send(from("203.0.113.1")).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_limited(&trusted.send(from("203.0.113.1")).await, 900);
    assert_eq!(
        trusted.send(from("203.0.113.2")).await.status,
        StatusCode::BAD_REQUEST
    );

    let direct = spawn_app().await;
    for i in 0..10 {
        let spoofed = direct
            .request(Method::POST, "/api/auth/login", Cred::None)
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({}));
        assert_eq!(direct.send(spoofed).await.status, StatusCode::BAD_REQUEST);
    }
    assert_limited(&direct.post("/api/auth/login", json!({})).await, 900);
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_whatever_the_address() {
    let app = spawn_app_with(&[("TRUST_PROXY", "1")]).await;
    app.user("rosa").await;
    let attempt = |ip: String, password: &str| {
        app.request(Method::POST, "/api/auth/login", Cred::None)
            .header("X-Forwarded-For", ip)
            .json(&json!({ "email": "Rosa@example.test", "password": password }))
    };
    for i in 0..10 {
        let r = app
            .send(attempt(format!("203.0.113.{i}"), "Wr0ng!pass"))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.send(attempt("198.51.100.1".into(), STRONG)).await;
    assert_limited(&r, 900);
    app.clock.advance_ms(15 * 60 * 1000);
    assert_eq!(
        app.send(attempt("198.51.100.1".into(), STRONG))
            .await
            .status,
        StatusCode::OK
    );
}
