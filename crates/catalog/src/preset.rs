//! The built-in preset catalog shipped with imagehub (`presets/builtin-images.json`):
//! the 24 built-in images of the ModelArts "list supported images" reference example,
//! written in the catalog's own words.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::ids::{ImageId, Millis, ProjectId};
use crate::image::{
    Arch, ContainerFormat, DevService, DiskFormat, Image, ImageKind, ResourceCategory, Status, Visibility,
};

const PRESET_JSON: &str = include_str!("../presets/builtin-images.json");

/// Creation time given to a preset image that has neither a creation nor an update time
/// (2021-12-20T11:33:20Z, shortly before the newest tag in the reference example).
pub const PRESET_EPOCH: Millis = Millis(1_640_000_000_000);

/// Version of the preset file; bump it when the file changes so servers load the new one.
pub const PRESET_VERSION: &str = "1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetImage {
    id: String,
    name: String,
    namespace: Option<String>,
    tag: String,
    registry_path: String,
    arch: String,
    description: Option<String>,
    dev_services: Vec<String>,
    resource_categories: Vec<String>,
    status: Option<String>,
    workspace_id: String,
    created_at: Option<i64>,
    updated_at: Option<i64>,
}

fn word<T>(parse: fn(&str) -> Option<T>, what: &str, w: &str) -> Result<T> {
    parse(w).ok_or_else(|| Error::Internal(format!("preset file: unknown {what} {w:?}")))
}

/// The preset images, as catalog records. Defaults for what an entry omits:
/// status `active`; created_at = updated_at, or [`PRESET_EPOCH`]; updated_at = created_at.
pub fn builtin_images() -> Result<Vec<Image>> {
    let entries: Vec<PresetImage> =
        serde_json::from_str(PRESET_JSON).map_err(|e| Error::Internal(format!("preset file: {e}")))?;
    entries
        .into_iter()
        .map(|p| {
            let id = ImageId::parse(&p.id).ok_or_else(|| Error::Internal(format!("preset file: bad id {}", p.id)))?;
            let created = p.created_at.or(p.updated_at).map_or(PRESET_EPOCH, Millis);
            let updated = p.updated_at.map_or(created, Millis);
            let mut image = Image::blank(id, ProjectId::system(), created);
            image.updated_at = updated;
            image.kind = ImageKind::BuiltIn;
            image.visibility = Visibility::Public;
            image.status = match &p.status {
                Some(s) => word(Status::parse, "status", s)?,
                None => Status::Active,
            };
            image.name = Some(p.name);
            image.namespace = p.namespace;
            image.tag = Some(p.tag);
            image.registry_path = Some(p.registry_path);
            image.arch = Some(word(Arch::parse, "arch", &p.arch)?);
            image.description = p.description;
            image.dev_services =
                p.dev_services.iter().map(|s| word(DevService::parse, "dev service", s)).collect::<Result<_>>()?;
            image.resource_categories = p
                .resource_categories
                .iter()
                .map(|s| word(ResourceCategory::parse, "resource category", s))
                .collect::<Result<_>>()?;
            image.workspace_id = p.workspace_id;
            image.container_format = Some(ContainerFormat::Docker);
            image.disk_format = Some(DiskFormat::Raw);
            Ok(image)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_file_parses_into_24_public_builtin_container_images() {
        let images = builtin_images().unwrap();
        assert_eq!(images.len(), 24);
        let mut ids: Vec<_> = images.iter().map(|i| i.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 24, "ids are unique");
        for i in &images {
            assert_eq!(i.kind, ImageKind::BuiltIn);
            assert_eq!(i.visibility, Visibility::Public);
            assert_eq!(i.owner, ProjectId::system());
            assert!(i.is_container());
            assert!(i.created_at <= i.updated_at || i.created_at == PRESET_EPOCH);
        }
    }
}
