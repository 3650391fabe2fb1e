//! Every route of the Glance face.

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};

use super::{errors, images, schemas, versions};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(versions::multiple_choices))
        .route("/versions", get(versions::versions))
        .route("/v2", get(versions::versions))
        .route("/v2/", get(versions::versions))
        .route("/v2/schemas/image", get(schemas::image))
        .route("/v2/schemas/images", get(schemas::images))
        .route("/v2/schemas/member", get(schemas::member))
        .route("/v2/schemas/members", get(schemas::members))
        .route("/v2/images", get(images::list::handle).post(images::create::handle))
        .route(
            "/v2/images/{id}",
            get(images::show::handle).patch(images::update::handle).delete(images::delete::handle),
        )
        .route("/v2/images/{id}/file", put(images::data::upload).get(images::data::download))
        .route("/v2/images/{id}/stage", put(images::data::stage))
        .route("/v2/images/{id}/import", post(images::data::import))
        .route("/v2/info/import", get(images::data::info_import))
        .route("/v2/info/stores", get(images::data::info_stores))
        .route("/v2/images/{id}/tags/{tag}", put(images::tags::put).delete(images::tags::delete))
        .route("/v2/images/{id}/actions/deactivate", post(images::actions::deactivate))
        .route("/v2/images/{id}/actions/reactivate", post(images::actions::reactivate))
        .route("/v2/images/{id}/members", get(images::members::list).post(images::members::create))
        .route(
            "/v2/images/{id}/members/{member}",
            get(images::members::show).put(images::members::update).delete(images::members::delete),
        )
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed(method: Method) -> Response {
    errors::error(StatusCode::METHOD_NOT_ALLOWED, format!("The method {method} is not allowed for this resource."))
}

/// An unknown path under `/v2/`: Glance's 404.
pub async fn no_route() -> Response {
    errors::error(StatusCode::NOT_FOUND, "The resource could not be found.".into())
}
