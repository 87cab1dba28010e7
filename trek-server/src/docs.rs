//! Swagger UI at `/api/docs`, served so that it renders under trek's own CSP.
//!
//! poem-openapi's built-in page inlines its script, which `script-src 'self'` forbids. So the
//! page here loads the same bundled Swagger UI script and style as files from `/api/docs/`,
//! and its start-up code is a file too; the page itself contains no script at all.

use poem::endpoint::make_sync;
use poem::http::header;
use poem::{Response, Route};

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>trek API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"#;

const INIT: &str =
    "SwaggerUIBundle({ dom_id: '#ui', url: '/api/openapi.json', deepLinking: true });\n";

/// Cuts the first `<tag ...>…</tag>` body out of poem-openapi's page.
fn inner<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    html.find(open)
        .and_then(|start| {
            let rest = &html[start..];
            let body = &rest[rest.find('>')? + 1..];
            Some(&body[..body.find(close)?])
        })
        .unwrap_or_default()
}

fn asset(content_type: &'static str, body: String) -> impl Fn(poem::Request) -> Response + Clone {
    move |_| {
        Response::builder()
            .content_type(content_type)
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .body(body.clone())
    }
}

/// The routes under `/api/docs`, built from poem-openapi's Swagger UI page.
pub fn routes(swagger_html: &str) -> Route {
    let script = inner(swagger_html, "<script charset=\"UTF-8\">", "</script>").to_owned();
    let style = inner(swagger_html, "<style charset=\"UTF-8\">", "</style>").to_owned();
    Route::new()
        .at(
            "/",
            make_sync(asset("text/html; charset=utf-8", PAGE.to_owned())),
        )
        .at(
            "/swagger-ui-bundle.js",
            make_sync(asset("text/javascript; charset=utf-8", script)),
        )
        .at(
            "/swagger-ui.css",
            make_sync(asset("text/css; charset=utf-8", style)),
        )
        .at(
            "/init.js",
            make_sync(asset("text/javascript; charset=utf-8", INIT.to_owned())),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_takes_the_element_body() {
        let html = r#"<style charset="UTF-8">a{}</style><script charset="UTF-8">go()</script>"#;
        assert_eq!(
            inner(html, "<script charset=\"UTF-8\">", "</script>"),
            "go()"
        );
        assert_eq!(inner(html, "<style charset=\"UTF-8\">", "</style>"), "a{}");
        assert_eq!(inner(html, "<nope>", "</nope>"), "");
    }
}
