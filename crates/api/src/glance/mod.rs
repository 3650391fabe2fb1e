//! The Glance face: OpenStack Image API v2 with the IMS `__` extensions (spec/glance.md).

mod attrs;
mod errors;
mod images;
mod params;
mod render;
mod router;
mod schemas;
mod versions;

use axum::http::StatusCode;
use axum::response::Response;
use imagehub_catalog::Error;

pub use errors::negotiate;
pub use router::{no_route, router};

use crate::face::{self, Face};

/// Marker type of the Glance dialect.
pub struct Glance;

pub type Result<T> = face::FaceResult<T, Glance>;
/// The caller's scope, as this face's handlers take it.
pub type Scoped = face::InScope<Glance>;

impl Face for Glance {
    fn error_response(err: &Error) -> Response {
        let status = match err {
            Error::InvalidArgument(_) | Error::MissingArgument(_) | Error::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Error::UnsupportedSortKey(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Duplicate(_) | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Gone(_) => StatusCode::GONE,
            Error::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::Unauthenticated
            | Error::InvalidCredential(_)
            | Error::CredentialExpired(_)
            | Error::SignatureInvalid(_) => StatusCode::UNAUTHORIZED,
            Error::ProjectMismatch(_) | Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let text = match err {
            Error::SignatureInvalid(m) | Error::CredentialExpired(m) => m.clone(),
            Error::Unauthenticated | Error::InvalidCredential(_) => {
                "This server could not verify that you are authorized to access the document you requested. \
                 Either you supplied the wrong credentials (e.g., bad password), or your browser does not \
                 understand how to supply the credentials required."
                    .to_owned()
            }
            other => other.to_string(),
        };
        errors::error(status, text)
    }
}
