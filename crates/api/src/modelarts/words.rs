//! ModelArts' words for catalog values, in one table per value set.

use imagehub_catalog::{Arch, DevService, Error, ImageKind, Origin, ResourceCategory, ServiceType, Status, Visibility};

/// Catalog status → ModelArts status.
pub fn status(s: Status) -> &'static str {
    match s {
        Status::Queued => "INIT",
        Status::Saving | Status::Uploading | Status::Importing => "CREATING",
        Status::Active => "ACTIVE",
        Status::Killed => "CREATE_FAILED",
        Status::Deactivated => "ERROR",
        Status::PendingDelete | Status::Deleted => "DELETED",
    }
}

/// Catalog visibility → ModelArts visibility (only PRIVATE and PUBLIC exist there).
pub fn visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Public | Visibility::Community => "PUBLIC",
        Visibility::Private | Visibility::Shared => "PRIVATE",
    }
}

pub fn parse_visibility(w: &str) -> Result<Visibility, Error> {
    match w.to_ascii_uppercase().as_str() {
        "PRIVATE" => Ok(Visibility::Private),
        "PUBLIC" => Ok(Visibility::Public),
        _ => Err(bad("visibility", w, "PRIVATE, PUBLIC")),
    }
}

pub fn kind(k: ImageKind) -> &'static str {
    match k {
        ImageKind::BuiltIn => "BUILD_IN",
        ImageKind::Dedicated => "DEDICATED",
    }
}

pub fn parse_kind(w: &str) -> Result<ImageKind, Error> {
    match w.to_ascii_uppercase().as_str() {
        "BUILD_IN" => Ok(ImageKind::BuiltIn),
        "DEDICATED" => Ok(ImageKind::Dedicated),
        _ => Err(bad("type", w, "BUILD_IN, DEDICATED")),
    }
}

/// The seeds answer architectures in lower case (`x86_64`); input is accepted in any case.
pub fn arch(a: Arch) -> &'static str {
    a.as_str()
}

/// Words that ModelArts spells as the catalog word in capitals
/// (service types, origins, dev services, resource categories).
pub fn upper(word: &str) -> String {
    word.to_ascii_uppercase()
}

fn bad(param: &str, got: &str, allowed: &str) -> Error {
    Error::invalid(format!("invalid {param} {got:?}: expected one of {allowed}"))
}

fn allowed<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> String {
    all.iter().map(|&v| upper(as_str(v))).collect::<Vec<_>>().join(", ")
}

pub fn parse_arch(w: &str) -> Result<Arch, Error> {
    Arch::parse_ignore_case(w).ok_or_else(|| bad("arch", w, &allowed(Arch::ALL, Arch::as_str)))
}

pub fn parse_service_type(w: &str) -> Result<ServiceType, Error> {
    ServiceType::parse_ignore_case(w)
        .ok_or_else(|| bad("service_type", w, &allowed(ServiceType::ALL, ServiceType::as_str)))
}

pub fn parse_origin(w: &str) -> Result<Origin, Error> {
    Origin::parse_ignore_case(w).ok_or_else(|| bad("origin", w, &allowed(Origin::ALL, Origin::as_str)))
}

pub fn parse_dev_service(w: &str) -> Result<DevService, Error> {
    DevService::parse_ignore_case(w).ok_or_else(|| bad("services", w, &allowed(DevService::ALL, DevService::as_str)))
}

pub fn parse_resource_category(w: &str) -> Result<ResourceCategory, Error> {
    ResourceCategory::parse_ignore_case(w)
        .ok_or_else(|| bad("resource_category", w, &allowed(ResourceCategory::ALL, ResourceCategory::as_str)))
}
