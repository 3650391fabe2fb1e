//! Image routes: one file per action.

pub mod actions;
pub mod create;
pub mod data;
pub mod delete;
pub mod list;
pub mod members;
pub mod show;
pub mod tags;
pub mod update;

use axum::http::StatusCode;
use axum::response::Response;
use imagehub_catalog::{Error, ImageId};

use super::errors::GlanceResponse;

/// An image id from the path; a malformed one names no image.
pub fn parse_id(id: &str) -> Result<ImageId, Error> {
    ImageId::parse(id).ok_or_else(|| Error::not_found_image(id))
}

/// A JSON answer of the Glance face.
pub fn answer<T: serde::Serialize>(status: StatusCode, body: T) -> Response {
    glance(crate::face::json(status, &body))
}

/// [`answer`] for a shape written by hand (images and their pages).
pub fn answer_written(status: StatusCode, body: &impl crate::face::WriteJson) -> Response {
    glance(crate::face::json_written(status, body))
}

/// Marks a response as the Glance face's.
fn glance(mut resp: Response) -> Response {
    resp.extensions_mut().insert(GlanceResponse);
    resp
}
