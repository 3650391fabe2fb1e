//! SCNet's words for catalog values.

use imagehub_catalog::{Error, Listing, Status, Visibility};

/// `access`: public images are `public`; everything else is the owner's, `private`.
pub fn access(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Private | Visibility::Shared | Visibility::Community => "private",
    }
}

/// The listing an `access` word asks for: the public container images, or the caller's
/// own that are not public.
pub fn parse_access(w: &str) -> Result<Listing, Error> {
    match w.to_ascii_lowercase().as_str() {
        "public" => Ok(Listing::PublicContainers),
        "private" => Ok(Listing::OwnUnpublishedContainers),
        _ => Err(Error::invalid(format!("access must be public or private, got {w:?}"))),
    }
}

/// `status` of the image list (`Completed` for an active image).
pub fn status(s: Status) -> &'static str {
    match s {
        Status::Active => "Completed",
        Status::Queued => "Waiting",
        Status::Saving | Status::Uploading | Status::Importing => "Running",
        Status::Killed => "Failed",
        Status::Deactivated => "Disabled",
        Status::PendingDelete | Status::Deleted => "Deleted",
    }
}
