//! The ModelArts face: `/v1/{project_id}/images…` (spec/modelarts.md).

mod groups;
mod images;
mod params;
mod render;
mod router;
mod words;

use axum::http::StatusCode;
use axum::response::Response;
use imagehub_catalog::Error;
use serde_json::json;

pub use router::{no_route, router};

use crate::face::{self, Face};

/// Marker type of the ModelArts dialect.
pub struct ModelArts;

pub type Result<T> = face::FaceResult<T, ModelArts>;
/// The caller's scope, as this face's handlers take it.
pub type Scoped = face::InScope<ModelArts>;

impl Face for ModelArts {
    const PROJECT_PARAM: Option<&'static str> = Some("project_id");

    /// `{"error_code": "ModelArts.XXXX", "error_msg": "…"}` with the table of spec/modelarts.md.
    fn error_response(err: &Error) -> Response {
        let (status, code) = match err {
            Error::InvalidArgument(_) | Error::MissingArgument(_) => (StatusCode::BAD_REQUEST, "ModelArts.0101"),
            Error::MalformedBody(_) => (StatusCode::BAD_REQUEST, "ModelArts.0104"),
            Error::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "ModelArts.0104"),
            Error::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "ModelArts.0104"),
            Error::UnsupportedSortKey(_) => (StatusCode::BAD_REQUEST, "ModelArts.6303"),
            Error::Duplicate(_) => (StatusCode::BAD_REQUEST, "ModelArts.6737"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "ModelArts.0101"),
            Error::Gone(_) => (StatusCode::GONE, "ModelArts.0101"),
            Error::RangeNotSatisfiable(_) => (StatusCode::RANGE_NOT_SATISFIABLE, "ModelArts.0101"),
            Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "ModelArts.0205"),
            Error::InvalidCredential(_) | Error::CredentialExpired(_) => (StatusCode::UNAUTHORIZED, "ModelArts.0203"),
            Error::SignatureInvalid(_) => (StatusCode::UNAUTHORIZED, "APIGW.0301"),
            Error::ProjectMismatch(_) => (StatusCode::FORBIDDEN, "ModelArts.0210"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "ModelArts.0108"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "ModelArts.6797"),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ModelArts.0002"),
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "ModelArts.0001"),
        };
        envelope(status, code, &err.to_string())
    }
}

/// The ModelArts error body.
pub fn envelope(status: StatusCode, code: &str, msg: &str) -> Response {
    face::json(status, &json!({ "error_code": code, "error_msg": msg }))
}

/// A successful answer.
pub fn ok<T: serde::Serialize>(body: &T) -> Response {
    face::json(StatusCode::OK, body)
}

/// A 200 answer of a shape written by hand (images and their pages).
pub fn ok_written(body: &impl face::WriteJson) -> Response {
    face::json_written(StatusCode::OK, body)
}
