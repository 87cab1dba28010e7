//! Two-factor authentication end to end, with Debian's `oathtool` as the authenticator app:
//! it computes every code from the secret the server hands out.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The code `oathtool` shows for `secret` at `unix_time`.
fn oathtool(secret: &str, unix_time: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now", &format!("@{unix_time}")])
        .output()
        .expect("oathtool is installed (apt-get install oathtool)");
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

struct Enrolled {
    secret: String,
    backup_codes: Vec<String>,
    token: String,
}

fn now(app: &TestApp) -> i64 {
    app.state.now_secs()
}

/// Moves to the start of a fresh 30-second step, so codes of "now" and "now ± 30 s" are
/// unambiguous whatever the wall clock was.
fn next_step(app: &TestApp) {
    let t = now(app);
    app.clock.advance_ms((30 - t.rem_euclid(30)) * 1000 + 1000);
}

async fn setup(app: &TestApp, token: &str) -> Reply {
    app.call(
        Method::POST,
        "/api/auth/mfa/setup",
        Cred::Bearer(token),
        None,
    )
    .await
}

async fn enroll(app: &TestApp, token: &str) -> Enrolled {
    let r = setup(app, token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let secret = r.body["secret"].as_str().expect("secret").to_owned();
    let code = oathtool(&secret, now(app));
    let r = app
        .call(
            Method::POST,
            "/api/auth/mfa/enable",
            Cred::Bearer(token),
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let backup_codes = r.body["backup_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("s").to_owned())
        .collect();
    Enrolled {
        secret,
        backup_codes,
        token: r.body["token"].as_str().expect("fresh token").to_owned(),
    }
}

async fn mfa_token(app: &TestApp, email: &str) -> String {
    let r = app.login(email, STRONG).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["mfa_required"], true, "{}", r.text);
    assert!(
        r.set_cookie().is_none(),
        "no session before the second step"
    );
    r.body["mfa_token"].as_str().expect("mfa_token").to_owned()
}

async fn verify(app: &TestApp, mfa_token: &str, code: &str) -> Reply {
    app.post(
        "/api/auth/mfa/verify-login",
        json!({ "mfa_token": mfa_token, "code": code }),
    )
    .await
}

#[tokio::test]
async fn enrol_log_out_and_log_back_in_with_password_and_code() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("ana").await;

    let r = setup(&app, &token).await;
    let secret = r.body["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 32, "160 bits of base32");
    assert_eq!(
        r.body["otpauth_url"],
        format!(
            "otpauth://totp/TREK:ana%40example.test?secret={secret}&period=30&digits=6&algorithm=SHA1&issuer=TREK"
        )
    );
    assert!(r.body["qr_svg"].as_str().expect("svg").starts_with("<svg"));

    let enrolled = enroll(&app, &token).await;
    assert_eq!(enrolled.backup_codes.len(), 10);
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&token)).await.status,
        StatusCode::UNAUTHORIZED,
        "enabling ends other sessions"
    );
    let me = app.get("/api/auth/me", Cred::Bearer(&enrolled.token)).await;
    assert_eq!(me.body["user"]["mfa_enabled"], true);
    app.call(
        Method::POST,
        "/api/auth/logout",
        Cred::Cookie(&enrolled.token),
        None,
    )
    .await;

    next_step(&app);
    let pending = mfa_token(&app, "ana@example.test").await;
    let code = oathtool(&enrolled.secret, now(&app));
    let r = verify(&app, &pending, &code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let session = r.body["token"].as_str().expect("session");
    assert_eq!(r.session_cookie().as_deref(), Some(session));
    assert_eq!(
        app.get("/api/auth/me", Cred::Cookie(session)).await.status,
        StatusCode::OK
    );

    let again = mfa_token(&app, "ana@example.test").await;
    let r = verify(&app, &again, &code).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "Invalid verification code"),
        "the same code twice"
    );

    let backup = &enrolled.backup_codes[0];
    assert_eq!(
        verify(&app, &again, backup).await.status,
        StatusCode::OK,
        "a backup code works"
    );
    let third = mfa_token(&app, "ana@example.test").await;
    assert_eq!(
        verify(&app, &third, backup).await.status,
        StatusCode::UNAUTHORIZED,
        "but only once"
    );
}

#[tokio::test]
async fn the_enrolment_code_cannot_be_reused_to_log_in() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("ben").await;
    next_step(&app);
    let r = setup(&app, &token).await;
    let secret = r.body["secret"].as_str().expect("secret").to_owned();
    let code = oathtool(&secret, now(&app));
    let enabled = app
        .call(
            Method::POST,
            "/api/auth/mfa/enable",
            Cred::Bearer(&token),
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK);
    let pending = mfa_token(&app, "ben@example.test").await;
    assert_eq!(
        verify(&app, &pending, &code).await.status,
        StatusCode::UNAUTHORIZED
    );
    let earlier = oathtool(&secret, now(&app) - 30);
    assert_eq!(
        verify(&app, &pending, &earlier).await.status,
        StatusCode::UNAUTHORIZED,
        "nor one before it"
    );
}

#[tokio::test]
async fn the_mfa_token_is_no_session_and_works_once_within_five_minutes() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("cleo").await;
    let enrolled = enroll(&app, &token).await;
    next_step(&app);
    let pending = mfa_token(&app, "cleo@example.test").await;
    for cred in [Cred::Bearer(&pending), Cred::Cookie(&pending)] {
        let r = app.get("/api/auth/me", cred).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "Invalid or expired token")
        );
    }
    assert_eq!(
        verify(&app, &pending, &oathtool(&enrolled.secret, now(&app)))
            .await
            .status,
        StatusCode::OK
    );
    next_step(&app);
    let r = verify(&app, &pending, &oathtool(&enrolled.secret, now(&app))).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::UNAUTHORIZED,
            "Invalid or expired verification token"
        )
    );

    let late = mfa_token(&app, "cleo@example.test").await;
    app.clock.advance_ms(301_000);
    let r = verify(&app, &late, &oathtool(&enrolled.secret, now(&app))).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::UNAUTHORIZED,
            "Invalid or expired verification token"
        )
    );

    let session = app.login("cleo@example.test", STRONG).await.body["token"]
        .as_str()
        .map(str::to_owned);
    assert!(
        session.is_none(),
        "the password alone never yields a session"
    );
    let r = verify(&app, &token, "123456").await;
    assert_eq!(
        r.error(),
        "Invalid verification token",
        "a session is not an mfa_token either"
    );
}

#[tokio::test]
async fn twenty_parallel_logins_with_one_backup_code_give_exactly_one_session() {
    let app = Arc::new(spawn_app_spread(&[("HASH_CONCURRENCY", "2")]).await);
    let token = app.user("dora").await;
    let enrolled = enroll(&app, &token).await;
    let mut pendings = Vec::new();
    for _ in 0..20 {
        pendings.push(mfa_token(&app, "dora@example.test").await);
    }
    let code = enrolled.backup_codes[3].clone();
    let tasks = pendings.into_iter().map(|pending| {
        let (app, code) = (app.clone(), code.clone());
        tokio::spawn(async move { verify(&app, &pending, &code).await.status })
    });
    let statuses = race_results(tasks).await;
    assert_eq!(successes(&statuses), 1, "{statuses:?}");

    // Nineteen failures have now used up dora's per-account allowance, so the same-token race
    // runs on a second account.
    let token = app.user("dorian").await;
    let enrolled = enroll(&app, &token).await;
    let pending = mfa_token(&app, "dorian@example.test").await;
    let same_token = (0..20).map(|_| {
        let (app, pending, code) = (
            app.clone(),
            pending.clone(),
            enrolled.backup_codes[4].clone(),
        );
        tokio::spawn(async move { verify(&app, &pending, &code).await.status })
    });
    let statuses = race_results(same_token).await;
    assert_eq!(successes(&statuses), 1, "{statuses:?}");
}

#[tokio::test]
async fn backup_codes_are_normalised_and_single_use() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("egon").await;
    let enrolled = enroll(&app, &token).await;
    let sloppy = enrolled.backup_codes[0].to_lowercase().replace('-', " ");
    let pending = mfa_token(&app, "egon@example.test").await;
    assert_eq!(verify(&app, &pending, &sloppy).await.status, StatusCode::OK);
    let pending = mfa_token(&app, "egon@example.test").await;
    let r = verify(&app, &pending, &enrolled.backup_codes[0]).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "Invalid verification code")
    );
    let row: (String,) = sqlx_row(
        &app,
        "SELECT mfa_backup_codes FROM users WHERE email = 'egon@example.test'",
    )
    .await;
    let hashes: Vec<String> = serde_json::from_str(&row.0).expect("json");
    assert_eq!(hashes.len(), 9);
    assert!(
        hashes.iter().all(|h| h.starts_with("$argon2id$")),
        "hashed with Argon2id"
    );
}

#[tokio::test]
async fn clock_skew_of_thirty_seconds_is_accepted_and_ninety_is_not() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("finn").await;
    let enrolled = enroll(&app, &token).await;
    for (skew, accepted) in [(30, true), (-30, true), (90, false), (-90, false)] {
        app.clock.advance_ms(600_000);
        next_step(&app);
        let pending = mfa_token(&app, "finn@example.test").await;
        let code = oathtool(&enrolled.secret, now(&app) + skew);
        let status = verify(&app, &pending, &code).await.status;
        assert_eq!(
            status == StatusCode::OK,
            accepted,
            "skew {skew}s gave {status}"
        );
    }
}

#[tokio::test]
async fn verify_login_errors_and_limits() {
    let app = spawn_app_spread(&[]).await;
    let r = app
        .post("/api/auth/mfa/verify-login", json!({ "code": "123456" }))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "Verification token and code are required"
        )
    );
    let r = verify(&app, "not.a.token", "123456").await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::UNAUTHORIZED,
            "Invalid or expired verification token"
        )
    );

    let token = app.user("gus").await;
    enroll(&app, &token).await;
    for _ in 0..10 {
        let pending = mfa_token(&app, "gus@example.test").await;
        assert_eq!(
            verify(&app, &pending, "000000").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let pending = mfa_token(&app, "gus@example.test").await;
    assert_eq!(
        verify(&app, &pending, "000000").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "per account"
    );

    let direct = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            verify(&direct, "x", "1").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = verify(&direct, "x", "1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "five per address");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn enable_errors_and_a_replaced_or_expired_setup() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("hedy").await;
    let enable = |code: Value| {
        app.call(
            Method::POST,
            "/api/auth/mfa/enable",
            Cred::Bearer(&token),
            Some(json!({ "code": code })),
        )
    };
    let r = enable(json!("")).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "Verification code is required")
    );
    let r = enable(json!("123456")).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "No MFA setup in progress. Start the setup again."
        )
    );

    let first = setup(&app, &token).await.body["secret"]
        .as_str()
        .expect("s")
        .to_owned();
    let second = setup(&app, &token).await.body["secret"]
        .as_str()
        .expect("s")
        .to_owned();
    let r = enable(json!(oathtool(&first, now(&app)))).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "Invalid verification code"),
        "the first secret was replaced"
    );
    app.clock.advance_ms(15 * 60 * 1000 + 1000);
    let r = enable(json!(oathtool(&second, now(&app)))).await;
    assert_eq!(
        r.error(),
        "No MFA setup in progress. Start the setup again.",
        "setup lasts 15 minutes"
    );

    let enrolled = enroll(&app, &token).await;
    let r = setup(&app, &enrolled.token).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "MFA is already enabled")
    );
    let sealed: (String,) = sqlx_row(
        &app,
        "SELECT mfa_secret FROM users WHERE email = 'hedy@example.test'",
    )
    .await;
    assert_ne!(sealed.0, enrolled.secret);
    let opened = app
        .state
        .secrets
        .open(trek_lib::secrets::SecretKind::Mfa, &sealed.0)
        .expect("MFA format");
    assert_eq!(opened.as_str(), enrolled.secret);
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_fresh_authenticator_code() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("ida").await;
    let enrolled = enroll(&app, &token).await;
    let disable = |body: Value| {
        app.call(
            Method::POST,
            "/api/auth/mfa/disable",
            Cred::Bearer(&enrolled.token),
            Some(body),
        )
    };
    next_step(&app);
    let code = oathtool(&enrolled.secret, now(&app));
    let r = disable(json!({ "password": STRONG })).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "Password and authenticator code are required"
        )
    );
    let r = disable(json!({ "password": "Wr0ng!pass", "code": code })).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "Incorrect password")
    );
    let r = disable(json!({ "password": STRONG, "code": enrolled.backup_codes[0] })).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "Invalid verification code"),
        "no backup codes here"
    );
    let r = disable(json!({ "password": STRONG, "code": code })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["mfa_enabled"], false);
    let fresh = r.body["token"].as_str().expect("fresh").to_owned();
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&enrolled.token))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&fresh)).await.body["user"]["mfa_enabled"],
        false
    );
    let r = app
        .call(
            Method::POST,
            "/api/auth/mfa/disable",
            Cred::Bearer(&fresh),
            Some(json!({ "password": STRONG, "code": code })),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "MFA is not enabled")
    );
}

/// Enrols the admin and turns the policy on; returns the admin's token.
async fn require_mfa(app: &TestApp) -> String {
    let admin = app.admin().await;
    let r = app
        .call(
            Method::PUT,
            "/api/auth/app-settings",
            Cred::Bearer(&admin),
            Some(json!({ "require_mfa": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.error(),
        "Enable two-factor authentication on your own account before requiring it for all users."
    );
    let enrolled = enroll(app, &admin).await;
    let r = app
        .call(
            Method::PUT,
            "/api/auth/app-settings",
            Cred::Bearer(&enrolled.token),
            Some(json!({ "require_mfa": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let settings = app
        .get("/api/auth/app-settings", Cred::Bearer(&enrolled.token))
        .await;
    assert_eq!(settings.body["require_mfa"], "true");
    enrolled.token
}

#[tokio::test]
async fn the_policy_blocks_every_authenticated_endpoint_but_the_exempt_ones() {
    let app = spawn_app_spread(&[]).await;
    let user = app.user("jon").await;
    require_mfa(&app).await;

    let exempt = [
        ("get", "/api/auth/me"),
        ("post", "/api/auth/mfa/setup"),
        ("post", "/api/auth/mfa/enable"),
        ("get", "/api/auth/app-settings"),
        ("put", "/api/auth/app-settings"),
    ];
    let doc = app.get("/api/openapi.json", Cred::None).await.body;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            if op.get("security").is_none() || exempt.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let concrete = path.replace("{id}", "1").replace("{token}", "x");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = app
                .call(m, &concrete, Cred::Bearer(&user), Some(json!({})))
                .await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.text
            );
            assert_eq!(r.body["code"], "MFA_REQUIRED", "{method} {path}");
            assert_eq!(
                r.error(),
                "Two-factor authentication is required. Complete setup in Settings."
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "checked {checked} endpoints");

    assert_eq!(
        app.get("/api/auth/me", Cred::Bearer(&user)).await.status,
        StatusCode::OK
    );
    let settings = app.get("/api/auth/app-settings", Cred::Bearer(&user)).await;
    assert_eq!(
        (settings.status, settings.error()),
        (StatusCode::FORBIDDEN, "Admin access required")
    );
    let spare = app.login("jon@example.test", STRONG).await.body["token"]
        .as_str()
        .expect("second session")
        .to_owned();
    let logout = app
        .call(Method::POST, "/api/auth/logout", Cred::Bearer(&spare), None)
        .await;
    assert_eq!(logout.status, StatusCode::OK, "logout is always allowed");

    for path in [
        "/API/auth/me/password",
        "/api/AUTH/me/password",
        "/api/auth/me/password/",
        "/Api/auth/me",
    ] {
        let r = app
            .call(Method::PUT, path, Cred::Bearer(&user), Some(json!({})))
            .await;
        assert_ne!(r.status, StatusCode::OK, "{path}");
        assert!(
            r.status == StatusCode::NOT_FOUND || r.body["code"] == "MFA_REQUIRED",
            "{path}: {}",
            r.text
        );
    }
    let enrolled = enroll(&app, &user).await;
    assert_eq!(
        app.call(
            Method::DELETE,
            "/api/auth/me",
            Cred::Bearer(&enrolled.token),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_without_mfa_can_still_turn_the_policy_off_and_disable_is_refused_while_on() {
    let app = spawn_app_spread(&[]).await;
    let admin = require_mfa(&app).await;
    let user = app.user("kai").await;
    let enrolled = enroll(&app, &user).await;
    next_step(&app);
    let code = oathtool(&enrolled.secret, now(&app));
    let r = app
        .call(
            Method::POST,
            "/api/auth/mfa/disable",
            Cred::Bearer(&enrolled.token),
            Some(json!({ "password": STRONG, "code": code })),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.error(),
        "Two-factor authentication cannot be disabled while it is required for all users."
    );

    let id = app.get("/api/auth/me", Cred::Bearer(&admin)).await.body["user"]["id"]
        .as_i64()
        .expect("id");
    let outcome = app
        .state
        .store
        .disable_mfa(id, &app.state.now_db(), false)
        .await
        .expect("db");
    assert!(
        matches!(outcome, trek_server::store::MfaDisable::Disabled(_)),
        "was on"
    );
    let relogin = app.login(ADMIN_EMAIL, STRONG).await;
    let token = relogin.body["token"]
        .as_str()
        .expect("session without mfa")
        .to_owned();
    let r = app
        .call(
            Method::PUT,
            "/api/auth/app-settings",
            Cred::Bearer(&token),
            Some(json!({ "require_mfa": false })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "lockout recovery: {}", r.text);
    assert_eq!(
        app.get("/api/auth/app-config", Cred::None).await.body["require_mfa"],
        false
    );
}

#[tokio::test]
async fn an_admin_resets_another_user_s_mfa_but_never_their_own() {
    let app = spawn_app_spread(&[]).await;
    async fn me(app: &TestApp, t: &str) -> Reply {
        app.get("/api/auth/me", Cred::Bearer(t)).await
    }
    async fn reset(app: &TestApp, t: &str, id: i64) -> Reply {
        app.call(
            Method::DELETE,
            &format!("/api/admin/users/{id}/mfa"),
            Cred::Bearer(t),
            None,
        )
        .await
    }
    let admin = app.admin().await;
    let user = app.user("lou").await;
    let enrolled = enroll(&app, &user).await;
    let user_id = me(&app, &enrolled.token).await.body["user"]["id"]
        .as_i64()
        .expect("id");
    let admin_id = me(&app, &admin).await.body["user"]["id"]
        .as_i64()
        .expect("id");

    let r = reset(&app, &enrolled.token, admin_id).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "Admin access required")
    );
    let r = reset(&app, &admin, admin_id).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reset(&app, &admin, 9999).await.status,
        StatusCode::NOT_FOUND
    );
    let r = reset(&app, &admin, user_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        me(&app, &enrolled.token).await.status,
        StatusCode::UNAUTHORIZED,
        "the user's sessions end"
    );
    let login = app.login("lou@example.test", STRONG).await;
    assert!(
        login.body["token"].is_string(),
        "password login works again: {}",
        login.text
    );
    let log = app.state.store.audit_actions().await.expect("audit");
    assert!(log.iter().any(|(a, ..)| a == "admin.mfa_reset"));
    assert_eq!(
        reset(&app, &admin, user_id).await.status,
        StatusCode::BAD_REQUEST,
        "nothing left to reset"
    );
}

async fn sqlx_row<T>(app: &TestApp, sql: &str) -> T
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let db = app.dir.path().join("data").join("travel.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("db");
    let row = sqlx::query_as(sql).fetch_one(&pool).await.expect("row");
    pool.close().await;
    row
}

#[tokio::test]
async fn parallel_codes_on_one_mfa_token_spend_at_most_one_code() {
    let app = Arc::new(spawn_app_spread(&[("HASH_CONCURRENCY", "2")]).await);
    let token = app.user("nils").await;
    let enrolled = enroll(&app, &token).await;
    let pending = mfa_token(&app, "nils@example.test").await;
    let tasks = enrolled.backup_codes[..6].iter().cloned().map(|code| {
        let (app, pending) = (app.clone(), pending.clone());
        tokio::spawn(async move { verify(&app, &pending, &code).await.status })
    });
    let statuses = race_results(tasks).await;
    assert_eq!(successes(&statuses), 1, "{statuses:?}");
    let row: (String,) = sqlx_row(
        &app,
        "SELECT mfa_backup_codes FROM users WHERE email = 'nils@example.test'",
    )
    .await;
    let left: Vec<String> = serde_json::from_str(&row.0).expect("json");
    assert_eq!(left.len(), 9, "only the winning code was spent");
}

#[tokio::test]
async fn a_wrong_code_leaves_the_mfa_token_usable_for_another_try() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("olaf").await;
    let enrolled = enroll(&app, &token).await;
    let pending = mfa_token(&app, "olaf@example.test").await;
    assert_eq!(
        verify(&app, &pending, "000000").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        verify(&app, &pending, &enrolled.backup_codes[0])
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn enable_codes_are_limited_per_account() {
    let app = spawn_app_spread(&[]).await;
    let token = app.user("pete").await;
    setup(&app, &token).await;
    for _ in 0..10 {
        let r = app
            .call(
                Method::POST,
                "/api/auth/mfa/enable",
                Cred::Bearer(&token),
                Some(json!({ "code": "000000" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .call(
            Method::POST,
            "/api/auth/mfa/enable",
            Cred::Bearer(&token),
            Some(json!({ "code": "000000" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_policy_and_the_admin_s_own_disable_cannot_both_win_a_race() {
    let app = Arc::new(spawn_app_spread(&[]).await);
    let mut admin = app.admin().await;
    for round in 0..3 {
        // Steps already spent stay spent across enrolments, so each round starts a new one.
        next_step(&app);
        let enrolled = enroll(&app, &admin).await;
        next_step(&app);
        let code = oathtool(&enrolled.secret, now(&app));
        let (a, b) = (app.clone(), app.clone());
        let (t1, t2) = (enrolled.token.clone(), enrolled.token.clone());
        let disable = tokio::spawn(async move {
            a.call(
                Method::POST,
                "/api/auth/mfa/disable",
                Cred::Bearer(&t1),
                Some(json!({ "password": STRONG, "code": code })),
            )
            .await
        });
        let require = tokio::spawn(async move {
            b.call(
                Method::PUT,
                "/api/auth/app-settings",
                Cred::Bearer(&t2),
                Some(json!({ "require_mfa": true })),
            )
            .await
        });
        let (disable, require) = (disable.await.expect("task"), require.await.expect("task"));
        let policy_on = app
            .state
            .store
            .setting("require_mfa")
            .await
            .expect("db")
            .as_deref()
            == Some("true");
        let mfa_off = disable.status == StatusCode::OK;
        assert!(
            !(policy_on && mfa_off),
            "round {round}: policy on while the only admin has no MFA ({} / {})",
            disable.text,
            require.text
        );
        // Back to a known state for the next round.
        let token = if mfa_off {
            disable.body["token"].as_str().expect("fresh").to_owned()
        } else {
            enrolled.token.clone()
        };
        let off = app
            .call(
                Method::PUT,
                "/api/auth/app-settings",
                Cred::Bearer(&token),
                Some(json!({ "require_mfa": false })),
            )
            .await;
        assert_eq!(off.status, StatusCode::OK);
        if !mfa_off {
            next_step(&app);
            let code = oathtool(&enrolled.secret, now(&app));
            let r = app
                .call(
                    Method::POST,
                    "/api/auth/mfa/disable",
                    Cred::Bearer(&token),
                    Some(json!({ "password": STRONG, "code": code })),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            admin = r.body["token"].as_str().expect("fresh").to_owned();
        } else {
            admin = token;
        }
    }
}

#[tokio::test]
async fn enable_and_verify_login_share_five_per_address_and_disable_has_its_own_five() {
    let app = spawn_app().await;
    let token = app.user("quin").await;
    setup(&app, &token).await;
    let wrong_enable = || {
        app.call(
            Method::POST,
            "/api/auth/mfa/enable",
            Cred::Bearer(&token),
            Some(json!({ "code": "000000" })),
        )
    };
    for _ in 0..3 {
        assert_eq!(wrong_enable().await.status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..2 {
        assert_eq!(
            verify(&app, "x", "1").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = wrong_enable().await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the sixth MFA attempt from one address"
    );
    assert!(r.header("retry-after").is_some());

    let disable = || {
        app.call(
            Method::POST,
            "/api/auth/mfa/disable",
            Cred::Bearer(&token),
            Some(json!({ "password": STRONG, "code": "000000" })),
        )
    };
    for _ in 0..5 {
        assert_eq!(
            disable().await.status,
            StatusCode::BAD_REQUEST,
            "MFA is not enabled"
        );
    }
    let r = disable().await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "disable's own bucket of five"
    );
    assert!(r.header("retry-after").is_some());
}
