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
        // Outside `observe`, so that Glance's error bodies are rendered for what
        // `observe` answers too (a panic), and its request id is the one `observe` gave.
        .layer(axum::middleware::from_fn(observe::observe))
        .layer(axum::middleware::from_fn(glance::negotiate))
        .with_state(state)
}

/// Which face a path belongs to, by its prefix (Glance for everything else).
enum FaceOf {
    ModelArts,
    Scnet,
    Glance,
}

fn face_of(path: &str) -> FaceOf {
    if path.starts_with("/v1/") {
        FaceOf::ModelArts
    } else if ["/ai/", "/api/", "/ac/"].iter().any(|p| path.starts_with(p)) {
        FaceOf::Scnet
    } else {
        FaceOf::Glance
    }
}

/// Unknown paths: in the envelope of the face whose prefix they carry; Glance's rules
/// for everything else.
async fn not_found(method: Method, uri: Uri, req: axum::extract::Request) -> Response {
    match face_of(uri.path()) {
        FaceOf::ModelArts => modelarts::no_route(method, uri).await,
        FaceOf::Scnet => scnet::no_route(method, uri).await,
        FaceOf::Glance => glance::fallback(uri, req).await,
    }
}

/// `err` in the envelope of the face whose prefix `path` carries (for an error raised
/// outside any handler, such as a handler's panic).
fn error_for_path(path: &str, err: imagehub_catalog::Error) -> Response {
    use axum::response::IntoResponse;
    match face_of(path) {
        FaceOf::ModelArts => face::FaceError::<modelarts::ModelArts>::from(err).into_response(),
        FaceOf::Scnet => face::FaceError::<scnet::Scnet>::from(err).into_response(),
        FaceOf::Glance => face::FaceError::<glance::Glance>::from(err).into_response(),
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
