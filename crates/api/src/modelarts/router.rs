//! Every route of the ModelArts face. `/images/group` is matched before `/images/{id}`.

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{delete, get};

use super::{groups, images};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/images", get(images::list::handle).post(images::register::handle))
        .route("/v1/{project_id}/images/group", get(groups::list::handle))
        .route("/v1/{project_id}/images/group/{id}", delete(groups::delete::handle).put(groups::update::handle))
        .route("/v1/{project_id}/images/{id}", get(images::show::handle).delete(images::delete::handle))
        .method_not_allowed_fallback(method_not_allowed)
}

/// 405 in the ModelArts envelope (axum adds the `Allow` header).
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    super::envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        "ModelArts.0405",
        &format!("method {method} is not allowed on {}", uri.path()),
    )
}

/// 404 for a path under `/v1/` that no ModelArts route matches.
pub async fn no_route(method: Method, uri: Uri) -> Response {
    super::envelope(StatusCode::NOT_FOUND, "ModelArts.0404", &format!("no such API: {method} {}", uri.path()))
}
