//! Every error path the reference lists for these endpoints, and bad input of every kind:
//! always the right status with a JSON `{"error": ...}`, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn err(message: &str) -> Value {
    json!({ "error": message })
}

#[tokio::test]
async fn registration_errors_come_in_trek_s_order_with_trek_s_messages() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), 400, "Username, email and password are required"),
        (
            json!({ "username": "  ", "email": "a@b.c", "password": STRONG }),
            400,
            "Username, email and password are required",
        ),
        (
            json!({ "username": "x", "email": "a@b.c", "password": "short" }),
            400,
            "Password must be at least 8 characters",
        ),
        (
            json!({ "username": "x", "email": "not-an-email", "password": STRONG }),
            400,
            "Invalid email format",
        ),
        (
            json!({ "username": "x", "email": "bad", "password": "abc" }),
            400,
            "Password must be at least 8 characters",
        ),
    ];
    for (body, status, message) in cases {
        let r = app.post("/api/auth/register", body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.body.clone()),
            (status, err(message)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn duplicates_get_one_generic_conflict_whatever_the_case() {
    let app = spawn_app().await;
    app.user("lena").await;
    let generic = err("Registration failed. Please try different credentials.");
    let same_email = app.register("other", "LENA@EXAMPLE.TEST", STRONG).await;
    assert_eq!(
        (same_email.status, same_email.body),
        (StatusCode::CONFLICT, generic.clone())
    );
    let same_name = app.register("LeNa", "other@example.test", STRONG).await;
    assert_eq!(
        (same_name.status, same_name.body),
        (StatusCode::CONFLICT, generic)
    );
}

#[tokio::test]
async fn closed_registration_is_refused_but_the_first_account_is_not_affected() {
    let app = spawn_app().await;
    app.state
        .store
        .set_setting("allow_registration", "false")
        .await
        .expect("setting");
    let r = app.register("mia", "mia@example.test", STRONG).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.body,
        err("Password registration is disabled. Contact your administrator.")
    );
    assert_eq!(
        app.get("/api/auth/app-config", Cred::None).await.body["allow_registration"],
        false
    );
}

#[tokio::test]
async fn login_errors() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({ "email": "a@b.c" }),
        json!({ "email": "", "password": "x" }),
    ] {
        let r = app.post("/api/auth/login", body).await;
        assert_eq!(
            (r.status, r.body),
            (
                StatusCode::BAD_REQUEST,
                err("Email and password are required")
            )
        );
    }
    app.state
        .store
        .set_setting("password_login", "false")
        .await
        .expect("setting");
    let r = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.body,
        err("Password authentication is disabled. Please sign in with SSO.")
    );
}

#[tokio::test]
async fn authentication_errors_carry_auth_required() {
    let app = spawn_app().await;
    let none = app.get("/api/auth/me", Cred::None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.body,
        json!({ "error": "Access token required", "code": "AUTH_REQUIRED" })
    );
    for cred in [Cred::Bearer("a.b.c"), Cred::Cookie("garbage")] {
        let bad = app.get("/api/auth/me", cred).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            bad.body,
            json!({ "error": "Invalid or expired token", "code": "AUTH_REQUIRED" })
        );
    }
    let basic = app
        .send(
            app.request(Method::GET, "/api/auth/me", Cred::None)
                .header("Authorization", "Basic abc"),
        )
        .await;
    assert_eq!(
        basic.error(),
        "Access token required",
        "other schemes are not tokens"
    );
}

#[tokio::test]
async fn password_change_errors_in_order() {
    let app = spawn_app().await;
    let token = app.user("nora").await;
    let cases = [
        (json!({}), 400, "Current password is required"),
        (
            json!({ "current_password": STRONG }),
            400,
            "New password is required",
        ),
        (
            json!({ "current_password": "wrong", "new_password": "weak" }),
            400,
            "Password must be at least 8 characters",
        ),
        (
            json!({ "current_password": "Wr0ng!Wrong", "new_password": "N3w!Password" }),
            401,
            "Current password is incorrect",
        ),
    ];
    for (body, status, message) in cases {
        let r = app
            .call(
                Method::PUT,
                "/api/auth/me/password",
                Cred::Bearer(&token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body.clone()),
            (status, err(message)),
            "{body}"
        );
    }
    let anonymous = app
        .call(
            Method::PUT,
            "/api/auth/me/password",
            Cred::None,
            Some(json!({})),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_json_types_are_400_not_500() {
    let app = spawn_app().await;
    let token = app.user("olga").await;
    let bodies = [
        (
            "/api/auth/login",
            Method::POST,
            json!({ "email": 5, "password": "x" }),
        ),
        (
            "/api/auth/login",
            Method::POST,
            json!({ "email": "a@b.c", "password": 12345678 }),
        ),
        (
            "/api/auth/login",
            Method::POST,
            json!({ "email": ["a"], "password": {} }),
        ),
        (
            "/api/auth/register",
            Method::POST,
            json!({ "username": 1, "email": "a@b.c", "password": STRONG }),
        ),
        (
            "/api/auth/register",
            Method::POST,
            json!({ "username": "u", "email": "a@b.c", "password": true }),
        ),
        (
            "/api/auth/register",
            Method::POST,
            json!({ "username": "u", "email": "a@b.c", "password": STRONG, "invite_token": 7 }),
        ),
        (
            "/api/auth/me/password",
            Method::PUT,
            json!({ "current_password": 1, "new_password": 2 }),
        ),
        ("/api/auth/login", Method::POST, json!([1, 2])),
        ("/api/auth/login", Method::POST, json!("string")),
        ("/api/auth/login", Method::POST, json!(null)),
    ];
    for (path, method, body) in bodies {
        let r = app
            .call(method, path, Cred::Bearer(&token), Some(body.clone()))
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {body} -> {}",
            r.text
        );
        assert!(r.error().starts_with("Invalid request body"), "{}", r.text);
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_and_oversized_ones_413() {
    let app = spawn_app().await;
    let raw = |body: Vec<u8>| {
        app.request(Method::POST, "/api/auth/login", Cred::None)
            .header("Content-Type", "application/json")
            .body(body)
    };
    for body in [
        b"{\"email\":".to_vec(),
        b"{\"a\":}".to_vec(),
        vec![b'{', 0xff, 0xfe, b'}'],
        b"\"\xc3\x28\"".to_vec(),
    ] {
        let r = app.send(raw(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.body["error"].is_string());
    }
    let big = format!(
        "{{\"email\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(110_000)
    );
    let r = app.send(raw(big.into_bytes())).await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            err("request entity too large")
        )
    );

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..30).map(|_| Ok(vec![b' '; 4096])).collect();
    let streamed = app
        .request(Method::POST, "/api/auth/login", Cred::None)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)));
    let r = app.send(streamed).await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "a chunked body is capped too"
    );

    let text = app
        .send(
            app.request(Method::POST, "/api/auth/login", Cred::None)
                .header("Content-Type", "text/plain")
                .body("x"),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(text.body["error"].is_string());
}

#[tokio::test]
async fn a_missing_body_counts_as_an_empty_object() {
    let app = spawn_app().await;
    let r = app
        .call(Method::POST, "/api/auth/login", Cred::None, None)
        .await;
    assert_eq!(
        (r.status, r.body),
        (
            StatusCode::BAD_REQUEST,
            err("Email and password are required")
        )
    );
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_json() {
    let app = spawn_app().await;
    let r = app.get("/api/nope", Cred::None).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::NOT_FOUND, err("Not found"))
    );
    let r = app
        .call(
            Method::PATCH,
            "/api/auth/login",
            Cred::None,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.body["error"].is_string());
}

#[tokio::test]
async fn routing_is_exact_and_case_sensitive() {
    let app = spawn_app().await;
    let token = app.user("pia").await;
    for path in [
        "/API/auth/me",
        "/api/Auth/me",
        "/api/auth/me/",
        "/api/auth//me",
    ] {
        let r = app.get(path, Cred::Bearer(&token)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
}
