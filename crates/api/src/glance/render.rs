//! Glance's image and member JSON. Base attributes are always present (null when unset);
//! extra properties are top-level strings. The catalog attributes that other faces own
//! (registry path, ModelArts and SCNet attributes) appear as string properties, by the
//! table in [`CATALOG_PROPERTIES`].

use imagehub_catalog::{
    Arch, DevService, Error, Image, ImageKind, Member, Origin, ResourceCategory, ServiceType, canonical_app_type,
};
use serde_json::{Map, Value, json};

use crate::time::iso_utc;

/// Property name ↔ catalog attribute, for container images (docs/API.md).
pub const CATALOG_PROPERTIES: &[&str] = &[
    "architecture",
    "description",
    "swr_path",
    "swr_namespace",
    "swr_tag",
    "digest",
    "modelarts_type",
    "service_type",
    "origin",
    "dev_services",
    "resource_categories",
    "workspace_id",
    "flavor_type",
    "accelerator_type",
    "image_type",
    "uploaded_by",
];

/// Properties that are views of catalog facts and cannot be set.
pub const READ_ONLY_PROPERTIES: &[&str] = &["modelarts_type"];

fn join<T: Copy>(items: &[T], word: fn(T) -> &'static str) -> String {
    items.iter().map(|&i| word(i).to_ascii_uppercase()).collect::<Vec<_>>().join(",")
}

/// The catalog-backed properties an image has, as strings.
pub fn catalog_properties(i: &Image) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    put("architecture", i.arch.map(|a| a.as_str().to_owned()));
    put("description", i.description.clone());
    put("swr_path", i.registry_path.clone());
    put("swr_namespace", i.namespace.clone());
    put("swr_tag", i.tag.clone());
    put("digest", i.digest.clone());
    if i.is_container() {
        put("modelarts_type", Some(if i.kind == ImageKind::BuiltIn { "BUILD_IN" } else { "DEDICATED" }.to_owned()));
        put("workspace_id", Some(i.workspace_id.clone()));
        put("image_type", Some(i.app_type().to_owned()));
        put("accelerator_type", Some(i.accelerator()));
    } else {
        put("image_type", i.image_type.clone());
        put("accelerator_type", i.accelerator_type.clone());
    }
    put("service_type", i.service_type.map(|s| s.as_str().to_ascii_uppercase()));
    put("origin", i.origin.map(|o| o.as_str().to_ascii_uppercase()));
    put("dev_services", (!i.dev_services.is_empty()).then(|| join(&i.dev_services, DevService::as_str)));
    put(
        "resource_categories",
        (!i.resource_categories.is_empty()).then(|| join(&i.resource_categories, ResourceCategory::as_str)),
    );
    put("flavor_type", i.flavor_type.clone());
    put("uploaded_by", i.uploaded_by.clone());
    out
}

fn words<T>(v: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<Vec<T>, Error> {
    v.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| parse(w).ok_or_else(|| Error::invalid(format!("invalid {what} {w:?}"))))
        .collect()
}

/// Sets (`Some`) or clears (`None`) a catalog-backed property. Returns `false` when `key`
/// is an ordinary extra property.
pub fn set_catalog_property(i: &mut Image, key: &str, value: Option<&str>) -> Result<bool, Error> {
    if !CATALOG_PROPERTIES.contains(&key) {
        return Ok(false);
    }
    if READ_ONLY_PROPERTIES.contains(&key) {
        return Err(Error::Forbidden(format!("Attribute '{key}' is read-only.")));
    }
    let owned = value.map(str::to_owned);
    match key {
        "architecture" => {
            i.arch = value
                .map(|v| {
                    Arch::parse_ignore_case(v)
                        .ok_or_else(|| Error::invalid(format!("invalid architecture {v:?}: x86_64 or aarch64")))
                })
                .transpose()?
        }
        "description" => i.description = owned,
        "swr_path" => i.registry_path = owned,
        "swr_namespace" => i.namespace = owned,
        "swr_tag" => i.tag = owned,
        "digest" => i.digest = owned,
        "service_type" => {
            i.service_type = value
                .map(|v| {
                    ServiceType::parse_ignore_case(v)
                        .ok_or_else(|| Error::invalid(format!("invalid service_type {v:?}")))
                })
                .transpose()?
        }
        "origin" => {
            i.origin = value
                .map(|v| Origin::parse_ignore_case(v).ok_or_else(|| Error::invalid(format!("invalid origin {v:?}"))))
                .transpose()?
        }
        "dev_services" => {
            i.dev_services =
                value.map(|v| words(v, DevService::parse_ignore_case, "dev service")).transpose()?.unwrap_or_default()
        }
        "resource_categories" => {
            i.resource_categories = value
                .map(|v| words(v, ResourceCategory::parse_ignore_case, "resource category"))
                .transpose()?
                .unwrap_or_default()
        }
        "workspace_id" => i.workspace_id = owned.unwrap_or_else(|| imagehub_catalog::DEFAULT_WORKSPACE.to_owned()),
        "flavor_type" => i.flavor_type = owned,
        "accelerator_type" => i.accelerator_type = owned,
        "image_type" => i.image_type = value.map(canonical_app_type),
        "uploaded_by" => i.uploaded_by = owned,
        _ => return Ok(false),
    }
    Ok(true)
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// The image as Glance shows it.
pub fn image(i: &Image) -> Value {
    let id = i.id.to_string();
    let mut m = Map::new();
    for (k, v) in &i.properties {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    for (k, v) in catalog_properties(i) {
        m.insert(k.to_owned(), Value::String(v));
    }
    let base = json!({
        "id": id,
        "name": opt(i.name.clone()),
        "status": i.status.as_str(),
        "visibility": i.visibility.as_str(),
        "protected": i.protected,
        "os_hidden": i.os_hidden,
        "checksum": opt(i.checksum.clone()),
        "os_hash_algo": opt(i.os_hash_algo.clone()),
        "os_hash_value": opt(i.os_hash_value.clone()),
        "owner": i.owner.as_str(),
        "size": opt(i.size),
        "virtual_size": opt(i.virtual_size),
        "container_format": opt(i.container_format.map(|c| c.as_str())),
        "disk_format": opt(i.disk_format.map(|d| d.as_str())),
        "created_at": iso_utc(i.created_at.0),
        "updated_at": iso_utc(i.updated_at.0),
        "tags": i.tags.iter().collect::<Vec<_>>(),
        "min_ram": i.min_ram,
        "min_disk": i.min_disk,
        "self": format!("/v2/images/{id}"),
        "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(b) = base {
        m.extend(b);
    }
    Value::Object(m)
}

/// An image member as Glance shows it.
pub fn member(m: &Member) -> Value {
    json!({
        "member_id": m.member.as_str(),
        "image_id": m.image_id.to_string(),
        "status": m.status.as_str(),
        "created_at": iso_utc(m.created_at.0),
        "updated_at": iso_utc(m.updated_at.0),
        "schema": "/v2/schemas/member",
    })
}
