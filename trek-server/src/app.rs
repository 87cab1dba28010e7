//! Assembles the state, the routes and the HTTP layers into one endpoint.

use std::sync::Arc;

use poem::endpoint::make_sync;
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Response, Route};
use poem_openapi::OpenApiService;

use crate::api::admin::AdminApi;
use crate::api::app_settings::AppSettingsApi;
use crate::api::auth::AuthApi;
use crate::api::health::HealthApi;
use crate::api::mfa::MfaApi;
use crate::http;
use crate::state::AppState;

/// Every API group, in document order.
pub type Apis = (HealthApi, AuthApi, MfaApi, AppSettingsApi, AdminApi);

/// The OpenAPI service for `state`: the document and the handlers.
pub fn api_service(state: &AppState) -> OpenApiService<Apis, ()> {
    let apis = (
        HealthApi,
        AuthApi {
            state: state.clone(),
        },
        MfaApi {
            state: state.clone(),
        },
        AppSettingsApi {
            state: state.clone(),
        },
        AdminApi {
            state: state.clone(),
        },
    );
    OpenApiService::new(apis, "trek", env!("CARGO_PKG_VERSION")).description(
        "TREK's identity, security and administration API. Sessions are HS256 tokens sent as \
         the `trek_session` cookie or as `Authorization: Bearer`; errors are `{\"error\": ...}`.",
    )
}

/// The OpenAPI document as committed under `openapi/trek.json`.
pub fn openapi_document(state: &AppState) -> String {
    let mut doc = api_service(state).spec();
    doc.push('\n');
    doc
}

/// The whole server as one endpoint.
pub fn endpoint(state: AppState) -> impl Endpoint<Output = Response> {
    let service = api_service(&state);
    let spec = Arc::new(service.spec());
    let docs = crate::docs::routes(&service.swagger_ui_html());
    let routes = Route::new()
        .at(
            "/api/openapi.json",
            make_sync(move |_| {
                Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.as_str().to_owned())
            }),
        )
        .nest("/api/docs", docs)
        .nest("/", service);

    let (s1, s2, s3, s4, s5) = (
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state,
    );
    routes
        .around(move |ep, req| http::session(ep, req, s1.clone()))
        .around(http::body)
        .around(move |ep, req| http::https_redirect(ep, req, s2.clone()))
        .around(move |ep, req| http::context(ep, req, s3.clone()))
        .around(move |ep, req| http::cors(ep, req, s4.clone()))
        .with(CatchPanic::new().with_handler(http::panic_response))
        .around(move |ep, req| http::finish(ep, req, s5.clone()))
        .into_endpoint()
        .map_to_response()
}
