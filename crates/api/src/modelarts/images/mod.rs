//! Image routes: one file per action.

pub mod delete;
pub mod list;
pub mod register;
pub mod show;

use imagehub_catalog::{Error, ImageId};

/// An image id from the path; anything but a UUID is a 400.
pub fn parse_id(id: &str) -> Result<ImageId, Error> {
    ImageId::parse(id).ok_or_else(|| Error::invalid(format!("image id {id:?} is not a UUID")))
}
