//! Glance image attributes → catalog record: what may be set, with which JSON types, and
//! what is read-only or reserved. Shared by create and PATCH.

use imagehub_catalog::{ContainerFormat, DiskFormat, Error, Image, ProjectId, Visibility};
use serde_json::Value;

use super::render::set_catalog_property;

/// Set by the server only.
pub const READ_ONLY: &[&str] = &[
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "stores",
];

/// Base attributes that exist on every image (they can be replaced, never removed).
pub const BASE: &[&str] = &[
    "id",
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "container_format",
    "disk_format",
    "min_ram",
    "min_disk",
    "tags",
];

pub fn is_reserved(key: &str) -> bool {
    matches!(key, "location" | "locations" | "deleted" | "deleted_at") || key.starts_with("os_glance")
}

fn schema_error(reason: impl std::fmt::Display) -> Error {
    Error::invalid(format!("Provided object does not match schema 'image': {reason}"))
}

/// Refuses keys no client may write (403), before any type check.
pub fn check_writable(key: &str) -> Result<(), Error> {
    if is_reserved(key) {
        return Err(Error::Forbidden(format!("Attribute '{key}' is reserved.")));
    }
    if READ_ONLY.contains(&key) {
        return Err(Error::Forbidden(format!("Attribute '{key}' is read-only.")));
    }
    if key.chars().count() > 255 {
        return Err(Error::invalid(format!("Property name {key:.32}… is longer than 255 characters")));
    }
    Ok(())
}

fn nullable_str<'a>(key: &str, v: &'a Value) -> Result<Option<&'a str>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(schema_error(format!("{other} is not of type 'null', 'string' ({key})"))),
    }
}

fn integer(key: &str, v: &Value) -> Result<i64, Error> {
    v.as_i64().ok_or_else(|| schema_error(format!("{v} is not of type 'integer' ({key})")))
}

fn boolean(key: &str, v: &Value) -> Result<bool, Error> {
    v.as_bool().ok_or_else(|| schema_error(format!("{v} is not of type 'boolean' ({key})")))
}

/// Sets one attribute (base, catalog-backed property or extra property) from JSON.
pub fn set(image: &mut Image, key: &str, v: &Value) -> Result<(), Error> {
    check_writable(key)?;
    match key {
        "id" => return Err(Error::Forbidden("Attribute 'id' is read-only.".into())),
        "name" => {
            let name = nullable_str(key, v)?;
            if name.is_some_and(|n| n.chars().count() > 255) {
                return Err(schema_error("name is longer than 255 characters"));
            }
            image.name = name.map(str::to_owned);
        }
        "visibility" => {
            let s = v.as_str().ok_or_else(|| schema_error(format!("{v} is not of type 'string' (visibility)")))?;
            image.visibility = Visibility::parse(s).ok_or_else(|| {
                schema_error(format!("'{s}' is not one of ['community', 'public', 'private', 'shared']"))
            })?;
        }
        "protected" => image.protected = boolean(key, v)?,
        "os_hidden" => image.os_hidden = boolean(key, v)?,
        "owner" => {
            let o = nullable_str(key, v)?.ok_or_else(|| schema_error("owner must be a project id"))?;
            image.owner =
                ProjectId::parse(o).ok_or_else(|| schema_error(format!("owner {o:?} is not a project id")))?;
        }
        "container_format" => {
            image.container_format = nullable_str(key, v)?
                .map(|s| {
                    ContainerFormat::parse(s).ok_or_else(|| schema_error(format!("'{s}' is not a container format")))
                })
                .transpose()?;
        }
        "disk_format" => {
            image.disk_format = nullable_str(key, v)?
                .map(|s| DiskFormat::parse(s).ok_or_else(|| schema_error(format!("'{s}' is not a disk format"))))
                .transpose()?;
        }
        "min_ram" | "min_disk" => {
            let n = integer(key, v)?;
            if n < 0 {
                return Err(schema_error(format!("{n} is less than the minimum of 0 ({key})")));
            }
            if key == "min_ram" { image.min_ram = n } else { image.min_disk = n }
        }
        "tags" => {
            let items = v.as_array().ok_or_else(|| schema_error(format!("{v} is not of type 'array' (tags)")))?;
            image.tags = items
                .iter()
                .map(|t| {
                    t.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| schema_error(format!("{t} is not of type 'string' (tags)")))
                })
                .collect::<Result<_, _>>()?;
        }
        _ => {
            let value = match v {
                Value::String(s) => s.as_str(),
                other => return Err(schema_error(format!("{other} is not of type 'string' ({key})"))),
            };
            if !set_catalog_property(image, key, Some(value))? {
                image.properties.insert(key.to_owned(), value.to_owned());
            }
        }
    }
    Ok(())
}

/// Whether an extra (or catalog-backed) property is present.
pub fn has_property(image: &Image, key: &str) -> bool {
    image.properties.contains_key(key)
        || super::render::CATALOG.iter().any(|(k, value)| *k == key && value(image).is_some())
}

/// Removes an extra (or catalog-backed) property; base attributes cannot be removed.
pub fn remove(image: &mut Image, key: &str) -> Result<(), Error> {
    check_writable(key)?;
    if BASE.contains(&key) {
        return Err(Error::Forbidden(format!("Property {key} may not be removed.")));
    }
    if !has_property(image, key) {
        return Err(Error::Conflict(format!("Property {key} does not exist.")));
    }
    if !set_catalog_property(image, key, None)? {
        image.properties.remove(key);
    }
    Ok(())
}
