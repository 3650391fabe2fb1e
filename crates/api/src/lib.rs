//! imagehub's HTTP faces over one catalog. A face parses its dialect's request into
//! catalog types, calls the catalog, and renders the result in its own field names,
//! words, time format and error envelope. It never builds SQL or decides visibility.

pub mod face;
pub mod glance;
mod jsonout;
pub mod modelarts;
mod observe;
pub mod scnet;
pub mod signing;
pub mod time;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::response::Response;
use imagehub_catalog::Catalog;
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Catalog,
    pub settings: Arc<ApiConfig>,
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Offset from UTC of the times the SCNet face renders, in seconds.
    pub scnet_utc_offset_secs: i32,
    /// Lifetime of the tokens SCNet clients obtain with an access key, in seconds.
    pub scnet_token_ttl_secs: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { body_limit: 1024 * 1024, scnet_utc_offset_secs: 0, scnet_token_ttl_secs: 12 * 3600 }
    }
}

/// The whole service: every face's routes on one router.
pub fn build(catalog: Catalog, config: &ApiConfig) -> Router {
    let state = AppState { catalog, settings: Arc::new(config.clone()) };
    Router::new()
        .merge(modelarts::router())
        .merge(scnet::router())
        .merge(glance::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), signing::verify_signatures))
        .layer(axum::middleware::from_fn(glance::negotiate))
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state)
}

/// Unknown paths: in the envelope of the face whose prefix they carry; Glance's rules
/// for everything else.
async fn not_found(method: Method, uri: Uri, req: axum::extract::Request) -> Response {
    if uri.path().starts_with("/v1/") {
        return modelarts::no_route(method, uri).await;
    }
    if ["/ai/", "/api/", "/ac/"].iter().any(|p| uri.path().starts_with(p)) {
        return scnet::no_route(method, uri).await;
    }
    glance::fallback(uri, req).await
}

/// Serves `app` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
