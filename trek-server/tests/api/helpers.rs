//! `spawn_app`: a real server on an ephemeral loopback port with its own data folder and a
//! clock the test moves.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trek_lib::clock::{Clock, ManualClock, SystemClock};
use trek_server::{AppState, Config};

pub const ADMIN_EMAIL: &str = "admin@example.test";
pub const ADMIN_PASSWORD: &str = "Adm1n!Secret#42";
pub const STRONG: &str = "Tr3k!Tr3k-strong";

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// Send each request from its own client address (behind `TRUST_PROXY=1`), so tests of
    /// other features do not trip the per-address rate limits.
    pub spread: bool,
}

static NEXT_ADDRESS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// A new documentation-range address for each call.
pub fn fresh_ip() -> String {
    let n = NEXT_ADDRESS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("198.18.{}.{}", (n >> 8) & 0xff, n & 0xff)
}

/// What came back, read once.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get(SET_COOKIE)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }

    /// The `trek_session` value set by this response.
    pub fn session_cookie(&self) -> Option<String> {
        let raw = self.set_cookie()?;
        let value = raw
            .strip_prefix("trek_session=")?
            .split(';')
            .next()?
            .to_owned();
        (!value.is_empty()).then_some(value)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii"))
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Cred<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data").display().to_string();
    let uploads = dir.path().join("uploads").display().to_string();
    let mut all: Vec<(String, String)> = vec![
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
        ("DATA_DIR".into(), data),
        ("UPLOADS_DIR".into(), uploads),
        ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
    ];
    for (k, v) in vars {
        all.retain(|(name, _)| name != k);
        all.push(((*k).to_owned(), (*v).to_owned()));
    }
    let config =
        Config::from_lookup(|name| all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("config");
    let clock = Arc::new(ManualClock::at_ms(SystemClock.now_ms()));
    let running = trek_server::start(config, clock.clone())
        .await
        .expect("server starts");
    TestApp {
        addr: running.local_addr,
        state: running.state,
        clock,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        dir,
        spread: false,
    }
}

/// An app whose requests each come from a fresh client address through a trusted proxy.
pub async fn spawn_app_spread(vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("TRUST_PROXY", "1")];
    all.extend_from_slice(vars);
    let mut app = spawn_app_with(&all).await;
    app.spread = true;
    app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn request(&self, method: Method, path: &str, cred: Cred<'_>) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if self.spread {
            req = req.header("X-Forwarded-For", fresh_ip());
        }
        match cred {
            Cred::None => req,
            Cred::Bearer(t) => req.bearer_auth(t),
            Cred::Cookie(t) => req.header("Cookie", format!("trek_session={t}")),
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        cred: Cred<'_>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.request(method, path, cred);
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str, cred: Cred<'_>) -> Reply {
        self.call(Method::GET, path, cred, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Cred::None, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn register(&self, username: &str, email: &str, password: &str) -> Reply {
        let body = json!({ "username": username, "email": email, "password": password });
        self.post("/api/auth/register", body).await
    }

    /// Registers an account and returns its token.
    pub async fn user(&self, name: &str) -> String {
        let r = self
            .register(name, &format!("{name}@example.test"), STRONG)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Logs the first admin in, changes the seeded password to `STRONG`, returns the token.
    pub async fn admin(&self) -> String {
        let login = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let token = login.body["token"]
            .as_str()
            .expect("admin token")
            .to_owned();
        let changed = self
            .call(
                Method::PUT,
                "/api/auth/me/password",
                Cred::Bearer(&token),
                Some(json!({ "current_password": ADMIN_PASSWORD, "new_password": STRONG })),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        changed.body["token"]
            .as_str()
            .expect("fresh token")
            .to_owned()
    }

    /// Stores an invite directly, as the admin endpoints will later.
    pub async fn invite(&self, token: &str, max_uses: i64, expires_at: Option<&str>) {
        let sealed = self
            .state
            .secrets
            .seal(trek_lib::secrets::SecretKind::ApiKey, token);
        let hash = trek_lib::secrets::token_digest(token);
        self.state
            .store
            .create_invite(&sealed, &hash, max_uses, expires_at, None)
            .await
            .expect("invite stored");
    }
}

/// Waits for racing requests and returns their statuses, in spawn order.
pub async fn race_results(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<StatusCode>>,
) -> Vec<StatusCode> {
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect()
}

/// How many of `statuses` are 200.
pub fn successes(statuses: &[StatusCode]) -> usize {
    statuses.iter().filter(|s| **s == StatusCode::OK).count()
}
