//! The committed OpenAPI document matches the code, and Swagger UI works under the CSP.

use reqwest::StatusCode;

use crate::helpers::*;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/trek.json")
}

#[tokio::test]
async fn the_committed_openapi_document_matches_the_code() {
    let app = spawn_app().await;
    let generated = trek_server::app::openapi_document(&app.state);
    let path = committed_path();
    if std::env::var_os("TREK_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write openapi/trek.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/trek.json is out of date: run `TREK_BLESS=1 cargo test -p trek-server --test api openapi` \
         or `cargo run -p trek-server -- openapi > openapi/trek.json`"
    );
}

#[tokio::test]
async fn the_served_document_lists_every_endpoint_with_its_errors() {
    let app = spawn_app().await;
    let doc = app.get("/api/openapi.json", Cred::None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/health", "get"),
        ("/api/auth/app-config", "get"),
        ("/api/auth/invite/{token}", "get"),
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/me", "get"),
        ("/api/auth/me", "delete"),
        ("/api/auth/me/password", "put"),
    ] {
        let op = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} documented"))[method];
        assert!(op.is_object(), "{method} {path} documented");
    }
    let login = &paths["/api/auth/login"]["post"]["responses"];
    for status in ["200", "400", "401", "429"] {
        assert!(login.get(status).is_some(), "login documents {status}");
    }
    let me = &paths["/api/auth/me"]["get"];
    assert!(
        me["security"].as_array().is_some_and(|s| s.len() == 2),
        "cookie or bearer"
    );
}

#[tokio::test]
async fn swagger_ui_is_served_without_inline_script() {
    let app = spawn_app().await;
    let page = app.get("/api/docs/", Cred::None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("<script src=\"/api/docs/swagger-ui-bundle.js\"></script>")
    );
    assert!(
        !page.text.contains("<script>"),
        "inline scripts would be blocked by script-src 'self'"
    );
    let bundle = app.get("/api/docs/swagger-ui-bundle.js", Cred::None).await;
    assert!(bundle.text.len() > 100_000 && bundle.text.contains("SwaggerUIBundle"));
    let css = app.get("/api/docs/swagger-ui.css", Cred::None).await;
    assert!(css.text.contains(".swagger-ui"));
}

/// Renders `/api/docs/` in headless Chromium under the real CSP and checks that Swagger UI drew
/// the operations. `.ci/run` installs Chromium; set `TREK_SKIP_BROWSER_TESTS=1` to run the rest
/// of the suite on a machine without it.
#[tokio::test]
async fn swagger_ui_renders_in_headless_chromium() {
    if std::env::var_os("TREK_SKIP_BROWSER_TESTS").is_some() {
        eprintln!("TREK_SKIP_BROWSER_TESTS is set: not rendering Swagger UI");
        return;
    }
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("Chromium is needed for this test (apt-get install chromium), or set TREK_SKIP_BROWSER_TESTS=1");
    let app = spawn_app().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let url = app.url("/api/docs/");
    let output = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            &url,
        ])
        .output()
        .await
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("opblock"),
        "Swagger UI did not render operations:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(
        dom.contains("/api/auth/login"),
        "the login operation is shown"
    );
}

#[test]
fn the_openapi_subcommand_prints_exactly_the_committed_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trek-server"))
        .arg("openapi")
        .current_dir(dir.path())
        .env("ADMIN_EMAIL", "a@example.test")
        .env("ADMIN_PASSWORD", "Adm1n!Secret#42")
        .output()
        .expect("binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    serde_json::from_str::<serde_json::Value>(&printed).expect("stdout is only the JSON document");
    let committed = std::fs::read_to_string(committed_path()).expect("committed document");
    assert!(
        printed == committed,
        "`trek-server openapi` differs from openapi/trek.json"
    );
    assert!(
        !dir.path().join("data").exists(),
        "the working directory is left alone"
    );
}
