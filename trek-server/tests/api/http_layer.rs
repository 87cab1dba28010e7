//! Security headers, HSTS, the HTTPS redirect, the cookie's Secure rule and CORS.

use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// The reference's strings, copied here rather than taken from the server, so a change on
/// either side is caught.
const CSP_PLAIN: &str = "default-src 'self';base-uri 'self';font-src 'self' https://fonts.gstatic.com data:;form-action 'self';frame-ancestors 'self';img-src 'self' data: blob: https:;object-src 'none';script-src 'self' 'wasm-unsafe-eval';script-src-attr 'none';style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://unpkg.com;connect-src 'self' ws: wss: https://nominatim.openstreetmap.org https://overpass-api.de https://places.googleapis.com https://api.openweathermap.org https://en.wikipedia.org https://commons.wikimedia.org https://*.basemaps.cartocdn.com https://*.tile.openstreetmap.org https://unpkg.com https://open-meteo.com https://api.open-meteo.com https://geocoding-api.open-meteo.com https://api.exchangerate-api.com https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/ne_50m_admin_0_countries.geojson https://router.project-osrm.org/route/v1/ https://api.mapbox.com https://*.tiles.mapbox.com https://events.mapbox.com;worker-src 'self' blob:;child-src 'self' blob:;frame-src 'none'";
const CSP_FORCED: &str = "default-src 'self';base-uri 'self';font-src 'self' https://fonts.gstatic.com data:;form-action 'self';frame-ancestors 'self';img-src 'self' data: blob: https:;object-src 'none';script-src 'self' 'wasm-unsafe-eval';script-src-attr 'none';style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://unpkg.com;upgrade-insecure-requests;connect-src 'self' ws: wss: https://nominatim.openstreetmap.org https://overpass-api.de https://places.googleapis.com https://api.openweathermap.org https://en.wikipedia.org https://commons.wikimedia.org https://*.basemaps.cartocdn.com https://*.tile.openstreetmap.org https://unpkg.com https://open-meteo.com https://api.open-meteo.com https://geocoding-api.open-meteo.com https://api.exchangerate-api.com https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/ne_50m_admin_0_countries.geojson https://router.project-osrm.org/route/v1/ https://api.mapbox.com https://*.tiles.mapbox.com https://events.mapbox.com;worker-src 'self' blob:;child-src 'self' blob:;frame-src 'none'";

const FIXED: [(&str, &str); 10] = [
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("origin-agent-cluster", "?1"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-content-type-options", "nosniff"),
    ("x-dns-prefetch-control", "off"),
    ("x-download-options", "noopen"),
    ("x-frame-options", "SAMEORIGIN"),
    ("x-permitted-cross-domain-policies", "none"),
    ("x-xss-protection", "0"),
];

fn assert_security_headers(r: &Reply, csp: &str, hsts: Option<&str>) {
    assert_eq!(r.header("content-security-policy"), Some(csp));
    for (name, value) in FIXED {
        assert_eq!(r.header(name), Some(value), "{name}");
    }
    assert_eq!(r.header("strict-transport-security"), hsts);
    assert_eq!(r.header("x-powered-by"), None);
    assert_eq!(r.header("cross-origin-embedder-policy"), None);
}

#[tokio::test]
async fn headers_are_byte_exact_without_force_https() {
    let app = spawn_app().await;
    for path in ["/api/health", "/api/nope", "/api/auth/me", "/api/docs/"] {
        let r = app.get(path, Cred::None).await;
        assert_security_headers(&r, CSP_PLAIN, None);
    }
    let error = app
        .post("/api/auth/login", serde_json::json!({ "email": 1 }))
        .await;
    assert_security_headers(&error, CSP_PLAIN, None);
}

#[tokio::test]
async fn headers_are_byte_exact_with_force_https() {
    let app = spawn_app_with(&[("FORCE_HTTPS", "TRUE")]).await;
    let r = app.get("/api/health", Cred::None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_security_headers(&r, CSP_FORCED, Some("max-age=31536000"));
    let redirect = app.get("/api/auth/app-config", Cred::None).await;
    assert_security_headers(&redirect, CSP_FORCED, Some("max-age=31536000"));
}

#[tokio::test]
async fn hsts_follows_trek_s_rules() {
    let sub = spawn_app_with(&[("FORCE_HTTPS", "true"), ("HSTS_INCLUDE_SUBDOMAINS", "true")]).await;
    let r = sub.get("/api/health", Cred::None).await;
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    let prod = spawn_app_with(&[("NODE_ENV", "production")]).await;
    let r = prod.get("/api/health", Cred::None).await;
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(r.header("content-security-policy"), Some(CSP_PLAIN));
    let capital = spawn_app_with(&[("NODE_ENV", "Production")]).await;
    assert_eq!(
        capital
            .get("/api/health", Cred::None)
            .await
            .header("strict-transport-security"),
        None
    );
}

#[tokio::test]
async fn force_https_redirects_everything_but_health() {
    let app = spawn_app_with(&[("FORCE_HTTPS", "true")]).await;
    let r = app
        .send(
            app.request(Method::GET, "/api/auth/me?x=1", Cred::None)
                .header("Host", "trek.example"),
        )
        .await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.header("location"),
        Some("https://trek.example/api/auth/me?x=1")
    );
    assert_eq!(
        app.get("/api/health", Cred::None).await.status,
        StatusCode::OK
    );
    let health_slash = app.get("/api/health/", Cred::None).await;
    assert_eq!(
        health_slash.status,
        StatusCode::MOVED_PERMANENTLY,
        "only the exact path is exempt"
    );
    let proxied = app
        .request(Method::GET, "/api/auth/app-config", Cred::None)
        .header("X-Forwarded-Proto", "https");
    assert_eq!(app.send(proxied).await.status, StatusCode::OK);
    let r = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::MOVED_PERMANENTLY,
        "a POST over plain HTTP is redirected too"
    );
}

async fn login_cookie(app: &TestApp, forwarded_proto: Option<&str>) -> String {
    let mut req = app
        .request(Method::POST, "/api/auth/login", Cred::None)
        .json(&serde_json::json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }));
    if let Some(proto) = forwarded_proto {
        req = req.header("X-Forwarded-Proto", proto);
    }
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.set_cookie().expect("cookie")
}

fn is_secure(cookie: &str) -> bool {
    cookie.split("; ").any(|a| a == "Secure")
}

#[tokio::test]
async fn the_cookie_is_not_secure_over_plain_http_in_development() {
    let app = spawn_app().await;
    let cookie = login_cookie(&app, None).await;
    assert!(!is_secure(&cookie), "{cookie}");
    assert!(
        cookie.contains("; Max-Age=86400; Path=/; Expires="),
        "{cookie}"
    );
    assert!(cookie.ends_with("; HttpOnly; SameSite=Lax"), "{cookie}");
    let spoofed = login_cookie(&app, Some("https")).await;
    assert!(
        !is_secure(&spoofed),
        "no proxy is trusted in development: {spoofed}"
    );
}

#[tokio::test]
async fn the_cookie_is_secure_in_production_unless_cookie_secure_is_false() {
    let prod = spawn_app_with(&[("NODE_ENV", "production")]).await;
    assert!(is_secure(&login_cookie(&prod, None).await));
    let off = spawn_app_with(&[
        ("NODE_ENV", "production"),
        ("COOKIE_SECURE", "False"),
        ("FORCE_HTTPS", "true"),
    ])
    .await;
    assert!(!is_secure(&login_cookie(&off, Some("https")).await));
}

#[tokio::test]
async fn a_trusted_proxy_s_forwarded_proto_makes_the_cookie_secure() {
    let trusted = spawn_app_with(&[("TRUST_PROXY", "1")]).await;
    assert!(is_secure(&login_cookie(&trusted, Some("https")).await));
    assert!(!is_secure(&login_cookie(&trusted, Some("http")).await));
    let cidr = spawn_app_with(&[("TRUST_PROXY", "127.0.0.0/8")]).await;
    assert!(is_secure(&login_cookie(&cidr, Some("https")).await));
}

#[tokio::test]
async fn an_untrusted_peer_s_forwarded_proto_is_ignored() {
    let app = spawn_app_with(&[("TRUST_PROXY", "10.0.0.0/8")]).await;
    assert!(!is_secure(&login_cookie(&app, Some("https")).await));
}

#[tokio::test]
async fn cors_is_same_origin_unless_allowed_origins_lists_the_origin() {
    let closed = spawn_app().await;
    let r = closed
        .send(
            closed
                .request(Method::GET, "/api/health", Cred::None)
                .header("Origin", "https://evil.example"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let pre = closed
        .request(Method::OPTIONS, "/api/auth/login", Cred::None)
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST");
    let r = closed.send(pre).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let open = spawn_app_with(&[(
        "ALLOWED_ORIGINS",
        "https://app.example, https://other.example",
    )])
    .await;
    let r = open
        .send(
            open.request(Method::GET, "/api/health", Cred::None)
                .header("Origin", "https://app.example"),
        )
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    let pre = open
        .request(Method::OPTIONS, "/api/auth/login", Cred::None)
        .header("Origin", "https://other.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type");
    let r = open.send(pre).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type")
    );
    let refused = open
        .send(
            open.request(Method::GET, "/api/health", Cred::None)
                .header("Origin", "https://evil.example"),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::OK,
        "a refused origin is not a 500"
    );
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn auth_responses_are_never_cached() {
    let app = spawn_app().await;
    let r = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        app.get("/api/auth/me", Cred::None)
            .await
            .header("cache-control"),
        Some("no-store")
    );
}
