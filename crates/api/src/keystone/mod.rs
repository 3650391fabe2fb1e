//! The identity face: the part of Keystone's identity API v3 that OpenStack clients and
//! tempest use to log in (`/v3/auth/tokens`) and to look up projects, users and domains,
//! in Keystone's field names and its error envelope `{"error": {"code", "title",
//! "message"}}`. What it issues are the catalog's ordinary tokens (see
//! `imagehub_catalog::identity`).

mod lookups;
mod render;
mod tokens;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use imagehub_catalog::Error;
use imagehub_catalog::identity::IdentityCaller;

use crate::AppState;
use crate::face::{self, Face};

/// Marker type of the Keystone dialect.
pub struct Keystone;

pub type Result<T> = face::FaceResult<T, Keystone>;

/// What every 401 of this face says, whatever its cause (Keystone's words).
const AUTH_REQUIRED: &str = "The request you have made requires authentication.";

impl Face for Keystone {
    fn error_response(err: &Error) -> Response {
        let (status, message) = match err {
            Error::InvalidArgument(m) | Error::MissingArgument(m) | Error::MalformedBody(m) => {
                (StatusCode::BAD_REQUEST, m.clone())
            }
            Error::UnsupportedSortKey(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Error::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            Error::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m.clone()),
            Error::Duplicate(m) | Error::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            Error::Gone(m) => (StatusCode::GONE, m.clone()),
            Error::RangeNotSatisfiable(m) => (StatusCode::RANGE_NOT_SATISFIABLE, m.clone()),
            Error::Unauthenticated
            | Error::InvalidCredential(_)
            | Error::CredentialExpired(_)
            | Error::SignatureInvalid(_) => (StatusCode::UNAUTHORIZED, AUTH_REQUIRED.to_owned()),
            Error::ProjectMismatch(m) | Error::Forbidden(m) => {
                (StatusCode::FORBIDDEN, format!("You are not authorized to perform the requested action: {m}."))
            }
            Error::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
            Error::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error prevented the server from fulfilling your request.".to_owned(),
            ),
        };
        envelope(status, &message)
    }
}

/// Keystone's error envelope.
fn envelope(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    face::json(status, &serde_json::json!({ "error": { "code": status.as_u16(), "title": title, "message": message } }))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v3", get(render::version))
        .route("/v3/", get(render::version))
        .route("/v3/auth/tokens", get(tokens::validate).head(tokens::check).post(tokens::issue).delete(tokens::revoke))
        .route("/v3/auth/projects", get(lookups::auth_projects))
        .route("/v3/projects", get(lookups::list_projects))
        .route("/v3/projects/{id}", get(lookups::show_project))
        .route("/v3/users", get(lookups::list_users))
        .route("/v3/users/{id}", get(lookups::show_user))
        .route("/v3/users/{id}/projects", get(lookups::user_projects))
        .route("/v3/domains", get(lookups::list_domains))
        .route("/v3/domains/{id}", get(lookups::show_domain))
        .method_not_allowed_fallback(method_not_allowed)
}

/// Every 401 of this face names where to authenticate (`WWW-Authenticate: Keystone
/// uri="…"`), as Keystone's do; keystoneauth reads it.
pub async fn www_authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let base = state.settings.base_url(req.headers());
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::UNAUTHORIZED
        && let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{base}/v3\""))
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

async fn method_not_allowed(method: Method) -> Response {
    envelope(StatusCode::METHOD_NOT_ALLOWED, &format!("The method {method} is not allowed for this resource."))
}

/// An unknown path under `/v3`: Keystone's 404.
pub async fn no_route() -> Response {
    envelope(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// The caller of an identity request (its `X-Auth-Token`), with the user it logged in as.
async fn caller(state: &AppState, headers: &HeaderMap) -> std::result::Result<IdentityCaller, Error> {
    let token = face::token_of(headers).ok_or(Error::Unauthenticated)?;
    state.catalog.authenticate_identity(token).await
}
