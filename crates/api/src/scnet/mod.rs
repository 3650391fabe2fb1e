//! The SCNet face: `/ai/openapi/v2/…` (spec/scnet.md, seed 004).

mod image_list;
mod instance_images;
mod render;
mod router;
mod tokens;
mod words;

use axum::http::StatusCode;
use axum::response::Response;
use imagehub_catalog::Error;

pub use router::{no_route, router};

use crate::face::{self, Face};

/// Marker type of the SCNet dialect.
pub struct Scnet;

pub type Result<T> = face::FaceResult<T, Scnet>;
/// The caller's scope, as this face's handlers take it.
pub type Scoped = face::InScope<Scnet>;

impl Face for Scnet {
    /// `{"code": "<string>", "msg": "…", "data": null}`. Business errors are HTTP 200 (as
    /// SCNet answers them); a missing or unknown token is HTTP 401 with code 10009.
    fn error_response(err: &Error) -> Response {
        let (status, code) = match err {
            Error::MissingArgument(_) => (StatusCode::OK, "10003"),
            Error::InvalidArgument(_)
            | Error::MalformedBody(_)
            | Error::PayloadTooLarge(_)
            | Error::UnsupportedMediaType(_)
            | Error::UnsupportedSortKey(_)
            | Error::Duplicate(_)
            | Error::Conflict(_)
            | Error::Gone(_)
            | Error::RangeNotSatisfiable(_)
            | Error::NotFound(_) => (StatusCode::OK, "10004"),
            Error::Unauthenticated | Error::InvalidCredential(_) | Error::SignatureInvalid(_) => {
                (StatusCode::UNAUTHORIZED, "10009")
            }
            // SCNet clients read 10008 as "token expired: log in again".
            Error::CredentialExpired(_) => (StatusCode::UNAUTHORIZED, "10008"),
            Error::ProjectMismatch(_) | Error::Forbidden(_) => (StatusCode::OK, "10009"),
            Error::Unavailable(_) | Error::Internal(_) => (StatusCode::OK, "10001"),
        };
        envelope(status, code, &err.to_string())
    }
}

/// The SCNet envelope with no data (`"data": null`).
pub fn envelope(status: StatusCode, code: &str, msg: &str) -> Response {
    face::json(status, &Envelope { code, data: None::<()>, msg })
}

/// The SCNet envelope around `data` (keys in the order serde_json's maps give them).
#[derive(serde::Serialize)]
struct Envelope<'a, T> {
    code: &'a str,
    data: T,
    msg: &'a str,
}

/// A successful answer.
pub fn success<T: serde::Serialize>(data: T) -> Response {
    face::json(StatusCode::OK, &Envelope { code: "0", data, msg: "success" })
}
