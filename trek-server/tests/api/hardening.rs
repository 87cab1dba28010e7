//! Regression tests for what the first attack on the server found: each would have caught
//! its fault, and the ones around it.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_per_account_limit() {
    let app = Arc::new(spawn_app_spread(&[("HASH_CONCURRENCY", "2")]).await);
    app.user("vera").await;
    let tasks = (0..40).map(|i| {
        let app = app.clone();
        let password = if i == 39 {
            STRONG.to_owned()
        } else {
            format!("Wr0ng!guess{i}")
        };
        tokio::spawn(async move { app.login("vera@example.test", &password).await.status })
    });
    let statuses = race_results(tasks).await;
    let checked = statuses
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 10,
        "at most 10 attempts reach the password check: {statuses:?}"
    );
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(wrong <= 10);
}

#[tokio::test]
async fn a_successful_login_does_not_use_up_the_account_allowance() {
    let app = spawn_app_spread(&[]).await;
    app.user("walt").await;
    for _ in 0..15 {
        assert_eq!(
            app.login("walt@example.test", STRONG).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn every_login_path_does_the_same_hash_work_while_bcrypt_hashes_remain() {
    let app = spawn_app_spread(&[]).await;
    app.user("argon").await;
    let now = app.state.now_db();
    let legacy = trek_server::store::NewUser {
        username: "legacy",
        email: "legacy@example.test",
        password_hash: "$2a$12$f9SlGbUGwo5ueVqtuu81dOVCSMfBBlqr2bHANs2eNYJzt6f1GE6ya",
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
    let work = || app.state.passwords.verifications();
    let mut deltas = Vec::new();
    for email in [
        "nobody@example.test",
        "argon@example.test",
        "legacy@example.test",
    ] {
        let before = work();
        assert_eq!(
            app.login(email, "Wr0ng!Password").await.status,
            StatusCode::UNAUTHORIZED
        );
        let after = work();
        deltas.push((after.0 - before.0, after.1 - before.1));
    }
    assert_eq!(
        deltas,
        [(1, 1), (1, 1), (1, 1)],
        "(argon2id, bcrypt) verifications per path"
    );

    assert_eq!(
        app.login("legacy@example.test", "Tr3k!Tr3k").await.status,
        StatusCode::OK
    );
    let before = work();
    app.login("nobody@example.test", "Wr0ng!Password").await;
    let after = work();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 0),
        "no bcrypt work once none remain"
    );
}

#[tokio::test]
async fn an_oidc_only_install_without_accounts_does_not_let_anyone_register_as_admin() {
    let app = spawn_app_with(&[
        ("OIDC_ONLY", "true"),
        ("OIDC_ISSUER", "https://id.example.invalid"),
        ("OIDC_CLIENT_ID", "trek"),
    ])
    .await;
    assert_eq!(
        app.state.store.count_users().await.expect("count"),
        0,
        "no admin is seeded"
    );
    let r = app
        .register("mallory", "mallory@example.test", STRONG)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(app.state.store.count_users().await.expect("count"), 0);
}

#[tokio::test]
async fn an_odd_byte_in_forwarded_for_does_not_hide_the_address_the_proxy_added() {
    let app = spawn_app_with(&[("NODE_ENV", "production")]).await;
    let header =
        reqwest::header::HeaderValue::from_bytes(b"1.2.3.4\xff, 203.0.113.50").expect("obs-text");
    let req = app
        .request(Method::POST, "/api/auth/login", Cred::None)
        .header("X-Forwarded-For", header)
        .json(&json!({ "email": "nobody@example.test", "password": "Wr0ng!Password" }));
    assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
    let log = app.state.store.audit_actions().await.expect("audit");
    let (_, _, _, ip) = log
        .iter()
        .find(|(a, ..)| a == "user.login_failed")
        .expect("audited");
    assert_eq!(ip.as_deref(), Some("203.0.113.50"));
}

#[tokio::test]
async fn every_cookie_header_is_read_so_the_cookie_still_wins() {
    let app = spawn_app().await;
    let token = app.user("xena").await;
    let req = app
        .request(Method::GET, "/api/auth/me", Cred::Bearer(&token))
        .header("Cookie", "theme=dark")
        .header("Cookie", "trek_session=stale.token.value");
    assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
    let req = app
        .request(Method::GET, "/api/auth/me", Cred::None)
        .header("Cookie", "theme=dark")
        .header("Cookie", format!("trek_session={token}"));
    assert_eq!(app.send(req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_empty_form_post_is_not_turned_into_json() {
    let app = spawn_app().await;
    let req = app
        .request(Method::POST, "/api/auth/login", Cred::None)
        .header("Content-Type", "application/x-www-form-urlencoded");
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
}

#[tokio::test]
async fn ipv6_clients_share_a_bucket_per_64() {
    let app = spawn_app_with(&[("TRUST_PROXY", "1")]).await;
    let from = |ip: String| {
        app.request(Method::POST, "/api/auth/login", Cred::None)
            .header("X-Forwarded-For", ip)
            .json(&json!({}))
    };
    for i in 0..10 {
        assert_eq!(
            app.send(from(format!("2001:db8:1:2::{i:x}"))).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    let r = app.send(from("2001:db8:1:2:ffff::1".into())).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "same /64");
    assert_eq!(
        app.send(from("2001:db8:1:3::1".into())).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[cfg(unix)]
#[tokio::test]
async fn loose_key_files_are_made_private_at_start_up() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    for name in [".jwt_secret", ".encryption_key"] {
        let path = data.join(name);
        std::fs::write(&path, "a".repeat(64)).expect("seed");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let data_str = data.display().to_string();
    let app = spawn_app_with(&[("DATA_DIR", &data_str)]).await;
    assert_eq!(
        app.get("/api/health", Cred::None).await.status,
        StatusCode::OK
    );
    for name in [".jwt_secret", ".encryption_key"] {
        let mode = std::fs::metadata(data.join(name))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
        assert_eq!(
            std::fs::read_to_string(data.join(name)).expect("read"),
            "a".repeat(64),
            "kept"
        );
    }
}

#[tokio::test]
async fn invite_expiry_in_sqlite_format_is_read_as_utc() {
    let app = spawn_app().await;
    app.invite("later", 1, Some("2099-01-01 00:00:00")).await;
    app.invite("earlier", 1, Some("2000-01-01 00:00:00")).await;
    assert_eq!(
        app.get("/api/auth/invite/later", Cred::None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/auth/invite/earlier", Cred::None).await.status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn a_silent_half_sent_request_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(&[("IDLE_TIMEOUT_SECS", "1")]).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial headers");
    let mut buf = [0u8; 64];
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf)).await;
    let closed = matches!(read, Ok(Ok(0)) | Ok(Err(_)));
    assert!(closed, "the connection is closed, not held: {read:?}");
}

#[tokio::test]
async fn the_https_redirect_uses_app_url_when_set() {
    let app = spawn_app_with(&[
        ("FORCE_HTTPS", "true"),
        ("APP_URL", "https://trek.example:8443/"),
    ])
    .await;
    let req = app
        .request(Method::GET, "/api/auth/me?a=1", Cred::None)
        .header("Host", "evil.example");
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.header("location"),
        Some("https://trek.example:8443/api/auth/me?a=1")
    );
}

/// A fresh client: no cookies, its own address.
async fn login_from(app: &TestApp, email: &str, password: &str, device: Option<&str>) -> Reply {
    let mut req = app
        .request(Method::POST, "/api/auth/login", Cred::None)
        .json(&json!({ "email": email, "password": password }));
    if let Some(cookie) = device {
        req = req.header("Cookie", cookie);
    }
    app.send(req).await
}

fn device_cookie(reply: &Reply) -> String {
    let header = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("trek_device="))
        .expect("a device cookie after a complete login");
    assert!(
        header.contains("; HttpOnly") && header.contains("; Path=/api/auth"),
        "{header}"
    );
    header.split(';').next().expect("pair").to_owned()
}

#[tokio::test]
async fn strangers_filling_the_account_limit_do_not_lock_out_the_owner_s_devices() {
    let app = spawn_app_spread(&[]).await;
    app.user("yuri").await;
    let first = login_from(&app, "yuri@example.test", STRONG, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let device = device_cookie(&first);

    for _ in 0..10 {
        let r = login_from(&app, "yuri@example.test", "Wr0ng!guess", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let stranger = login_from(&app, "yuri@example.test", STRONG, None).await;
    assert_eq!(
        stranger.status,
        StatusCode::TOO_MANY_REQUESTS,
        "unknown clients are limited"
    );
    let owner = login_from(&app, "yuri@example.test", STRONG, Some(&device)).await;
    assert_eq!(
        owner.status,
        StatusCode::OK,
        "the owner's device still gets in: {}",
        owner.text
    );

    let forged = "trek_device=eyJhbGciOiJIUzI1NiJ9.eyJpZCI6MX0.c2ln";
    let r = login_from(&app, "yuri@example.test", STRONG, Some(forged)).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged device cookie counts for nothing"
    );
    let other = app.user("zoe").await;
    let _ = other;
    let zoe_first = login_from(&app, "zoe@example.test", STRONG, None).await;
    let zoe_device = device_cookie(&zoe_first);
    let r = login_from(&app, "yuri@example.test", STRONG, Some(&zoe_device)).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "another account's device is a stranger here"
    );

    let session = owner.body["token"].as_str().expect("token");
    let device_token = device.trim_start_matches("trek_device=");
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(device_token))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "a device cookie is no session"
    );
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(session)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn guessing_the_current_password_counts_against_the_account() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("abel").await;
    let wrong = json!({ "current_password": "Wr0ng!guess", "new_password": "N3w!Password" });
    for _ in 0..10 {
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
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_address_too_long_for_a_qr_code_is_refused_at_registration() {
    let app = spawn_app().await;
    let email = format!("{}@example.test", "a".repeat(250));
    let r = app.register("longmail", &email, STRONG).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "Invalid email format")
    );
}

#[tokio::test]
async fn all_of_an_account_s_devices_share_one_bucket_and_a_credential_change_retires_them() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("ugo").await;
    let mut devices = Vec::new();
    for _ in 0..3 {
        let r = login_from(&app, "ugo@example.test", STRONG, None).await;
        devices.push(device_cookie(&r));
    }
    for _ in 0..10 {
        login_from(&app, "ugo@example.test", "Wr0ng!guess", None).await;
    }
    let mut checked = 0;
    for i in 0..12 {
        let r = login_from(
            &app,
            "ugo@example.test",
            "Wr0ng!guess",
            Some(&devices[i % 3]),
        )
        .await;
        if r.status == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert_eq!(
        checked, 10,
        "three device cookies together get one bucket of ten, not thirty"
    );

    // A new quarter hour, so the account's buckets start empty again.
    app.clock.advance_ms(15 * 60 * 1000);
    let body = json!({ "current_password": STRONG, "new_password": "N3w!Password" });
    let r = app
        .call(
            Method::PUT,
            "/api/auth/me/password",
            Cred::Bearer(&token),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for _ in 0..10 {
        login_from(&app, "ugo@example.test", "Wr0ng!guess", None).await;
    }
    let old_device = login_from(&app, "ugo@example.test", "N3w!Password", Some(&devices[0])).await;
    assert_eq!(
        old_device.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a device trusted before the change is a stranger now"
    );
}
