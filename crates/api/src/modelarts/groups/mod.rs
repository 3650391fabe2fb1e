//! Image group routes: one file per action.

pub mod delete;
pub mod list;
pub mod update;

use imagehub_catalog::{Error, GroupId};

/// A group id from the path; anything but a UUID is a 400.
pub fn parse_id(id: &str) -> Result<GroupId, Error> {
    GroupId::parse(id).ok_or_else(|| Error::invalid(format!("image group id {id:?} is not a UUID")))
}
