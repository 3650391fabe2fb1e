//! imagehub's HTTP faces over one catalog. A face parses its dialect's request into
//! catalog types, calls the catalog, and renders the result in its own field names,
//! words, time format and error envelope. It never builds SQL or decides visibility.

pub mod face;
pub mod glance;
mod jsonout;
pub mod keystone;
pub mod modelarts;
mod observe;
pub mod scnet;
mod serve;
pub mod signing;
pub mod time;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{Method, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use imagehub_catalog::Catalog;

pub use serve::{Limits, serve};

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
    /// The base URL clients reach the service at (`https://images.example.com`, no
    /// trailing `/`), for absolute links (`Location`, version documents); `None`: built
    /// from the request's `Host` header.
    pub public_url: Option<String>,
    /// Lifetime of the tokens a password login on the identity face issues, in seconds.
    pub identity_token_ttl_secs: i64,
    /// The region the identity face's service catalog names.
    pub region: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            scnet_utc_offset_secs: 0,
            scnet_token_ttl_secs: 12 * 3600,
            public_url: None,
            identity_token_ttl_secs: 3600,
            region: "RegionOne".into(),
        }
    }
}

impl ApiConfig {
    /// The base of absolute links for a request with these headers.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost:9292");
                format!("http://{host}")
            }
        }
    }
}

/// Checks a `public_url` setting: an absolute `http` or `https` URL with a host and no
/// query or fragment; returned without a trailing `/`.
pub fn parse_public_url(url: &str) -> Result<String, String> {
    let uri: Uri = url.parse().map_err(|e| format!("public_url {url:?} is not a URL: {e}"))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err(format!("public_url {url:?} must be an absolute http:// or https:// URL with a host"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(format!("public_url {url:?} must not have a query or a fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The whole service: every face's routes on one router.
pub fn build(catalog: Catalog, config: &ApiConfig) -> Router {
    let state = AppState { catalog, settings: Arc::new(config.clone()) };
    Router::new()
        .merge(modelarts::router())
        .merge(scnet::router())
        .merge(glance::router())
        .merge(
            keystone::router()
                .route_layer(axum::middleware::from_fn_with_state(state.clone(), keystone::www_authenticate)),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), admit))
        // Outside `observe`, so that Glance's error bodies are rendered for what
        // `observe` answers too (a panic), and its request id is the one `observe` gave.
        .layer(axum::middleware::from_fn(observe::observe))
        .layer(axum::middleware::from_fn(glance::negotiate))
        .with_state(state)
}

/// Whether a request's body is image data, streamed to the blob store, not a document
/// read whole: `PUT /v2/images/{id}/file` and `…/stage`.
pub(crate) fn takes_image_data(method: &Method, path: &str) -> bool {
    method == Method::PUT
        && path
            .strip_prefix("/v2/images/")
            .and_then(|rest| rest.strip_suffix("/file").or_else(|| rest.strip_suffix("/stage")))
            .is_some_and(|id| !id.contains('/'))
}

/// Which face a path belongs to, by its prefix; `None`: no face claims it.
enum FaceOf {
    ModelArts,
    Scnet,
    Glance,
    Keystone,
    None,
}

fn face_of(path: &str) -> FaceOf {
    if path.starts_with("/v1/") {
        FaceOf::ModelArts
    } else if ["/ai/", "/api/", "/ac/"].iter().any(|p| path.starts_with(p)) {
        FaceOf::Scnet
    } else if path == "/v3" || path.starts_with("/v3/") {
        FaceOf::Keystone
    } else if path == "/" || path == "/versions" || path == "/v2" || path.starts_with("/v2/") {
        FaceOf::Glance
    } else {
        FaceOf::None
    }
}

/// Unknown paths: in the envelope of the face whose prefix they carry; a path no face
/// claims is a plain JSON 404 that says what is served (a wrong URL in a client must not
/// read like a version-negotiation problem).
async fn not_found(method: Method, uri: Uri) -> Response {
    match face_of(uri.path()) {
        FaceOf::ModelArts => modelarts::no_route(method, uri).await,
        FaceOf::Scnet => scnet::no_route(method, uri).await,
        FaceOf::Glance => glance::no_route().await,
        FaceOf::Keystone => keystone::no_route().await,
        FaceOf::None => plain_error(
            axum::http::StatusCode::NOT_FOUND,
            &format!(
                "no such API: {method} {}. imagehub serves /v1/{{project_id}}/images (ModelArts), /v2/images \
                 (Glance; versions at /), /ai/openapi/v2/... (SCNet), /v3 (identity)",
                uri.path()
            ),
        ),
    }
}

/// An error outside every face: `{"error": {"code", "title", "message"}}`.
fn plain_error(status: axum::http::StatusCode, message: &str) -> Response {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        code: u16,
        title: &'a str,
        message: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        error: Body<'a>,
    }
    let title = status.canonical_reason().unwrap_or("Error");
    face::json(status, &Envelope { error: Body { code: status.as_u16(), title, message } })
}

/// `err` in the envelope of the face whose prefix `path` carries (for an error raised
/// outside any handler, such as a handler's panic).
fn error_for_path(path: &str, err: imagehub_catalog::Error) -> Response {
    use axum::response::IntoResponse;
    match face_of(path) {
        FaceOf::ModelArts => face::FaceError::<modelarts::ModelArts>::from(err).into_response(),
        FaceOf::Scnet => face::FaceError::<scnet::Scnet>::from(err).into_response(),
        FaceOf::Glance => face::FaceError::<glance::Glance>::from(err).into_response(),
        FaceOf::Keystone => face::FaceError::<keystone::Keystone>::from(err).into_response(),
        // What reaches here is a panic's internal error: no detail for the client.
        FaceOf::None => {
            let mut resp = plain_error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            resp.extensions_mut().insert(face::LoggedError(err));
            resp
        }
    }
}

/// What every request passes before its handler (one layer: each costs every request):
/// a `Content-Length` over the body limit is answered 413 in the face's envelope at once,
/// nothing of the body read (nor waited for), except on the routes that take image data
/// (which have their own cap, the catalog's); a signed request's signature is verified
/// ([`signing::verify`]).
async fn admit(State(state): State<AppState>, req: axum::extract::Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    let limit = state.settings.body_limit;
    if declared.is_some_and(|n| n > limit as u64) && !takes_image_data(req.method(), req.uri().path()) {
        let mut resp = error_for_path(
            req.uri().path(),
            imagehub_catalog::Error::PayloadTooLarge(format!(
                "the request body is larger than the {limit} bytes this server accepts"
            )),
        );
        // The body stays unread: the connection cannot carry another request.
        resp.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        return resp;
    }
    next.run(signing::verify(&state, req).await).await
}
