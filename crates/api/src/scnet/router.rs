//! Every route of the SCNet face.

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

use super::{image_list, instance_images, tokens};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ai/openapi/v2/instance-service/images", get(instance_images::handle))
        .route("/ai/openapi/v2/image/images", post(image_list::handle))
        .route("/api/user/v3/tokens", post(tokens::create))
        .route("/ac/openapi/v2/tokens/state", get(tokens::state))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    super::envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        "10009",
        &format!("method {method} is not allowed on {}", uri.path()),
    )
}

/// 404 for a path under `/ai/` that no SCNet route matches.
pub async fn no_route(method: Method, uri: Uri) -> Response {
    super::envelope(StatusCode::NOT_FOUND, "10009", &format!("no such API: {method} {}", uri.path()))
}
