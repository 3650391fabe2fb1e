//! Glance's image and member JSON. Base attributes are always present (null when unset);
//! extra properties are top-level strings. The catalog attributes that other faces own
//! (registry path, ModelArts and SCNet attributes) appear as string properties, by the
//! table in [`CATALOG_PROPERTIES`].

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use imagehub_catalog::{
    Arch, DevService, Error, Image, ImageId, ImageKind, Member, Origin, ResourceCategory, ServiceType,
    canonical_app_type,
};
use serde_json::{Value, json};

use crate::face::WriteJson;
use crate::jsonout;
use crate::time::{iso_utc, iso_utc_digits};

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

/// A record's text, borrowed.
fn text(v: &Option<String>) -> Option<Cow<'_, str>> {
    v.as_deref().map(Cow::Borrowed)
}

/// The catalog-backed properties an image has, as strings (borrowed where the record
/// has them spelled already).
pub fn catalog_properties<'a>(i: &'a Image) -> Vec<(&'static str, Cow<'a, str>)> {
    let mut out = Vec::with_capacity(16);
    let mut put = |k: &'static str, v: Option<Cow<'a, str>>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    put("architecture", i.arch.map(|a| a.as_str().into()));
    put("description", text(&i.description));
    put("swr_path", text(&i.registry_path));
    put("swr_namespace", text(&i.namespace));
    put("swr_tag", text(&i.tag));
    put("digest", text(&i.digest));
    if i.is_container() {
        put("modelarts_type", Some(if i.kind == ImageKind::BuiltIn { "BUILD_IN" } else { "DEDICATED" }.into()));
        put("workspace_id", Some(i.workspace_id.as_str().into()));
        put("image_type", Some(i.app_type().into()));
        put("accelerator_type", Some(i.accelerator().into()));
    } else {
        put("image_type", text(&i.image_type));
        put("accelerator_type", text(&i.accelerator_type));
    }
    put("service_type", i.service_type.map(|s| s.as_str().to_ascii_uppercase().into()));
    put("origin", i.origin.map(|o| o.as_str().to_ascii_uppercase().into()));
    put("dev_services", (!i.dev_services.is_empty()).then(|| join(&i.dev_services, DevService::as_str).into()));
    put(
        "resource_categories",
        (!i.resource_categories.is_empty()).then(|| join(&i.resource_categories, ResourceCategory::as_str).into()),
    );
    put("flavor_type", text(&i.flavor_type));
    put("uploaded_by", text(&i.uploaded_by));
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

/// One attribute's value in an image's JSON.
enum Field<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Text(Cow<'a, str>),
    List(&'a BTreeSet<String>),
    /// A time, written as [`iso_utc`] writes it.
    Time(i64),
    /// The image's id between a fixed beginning and end (`/v2/images/{id}/file`).
    Id(&'static str, &'a ImageId, &'static str),
}

impl Field<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Field::Null => out.extend_from_slice(b"null"),
            Field::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Field::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Field::Text(v) => jsonout::string(out, v),
            Field::List(v) => jsonout::array(out, v.iter(), |out, s| jsonout::string(out, s)),
            Field::Time(ms) => match iso_utc_digits(*ms) {
                Some(digits) => {
                    out.push(b'"');
                    out.extend_from_slice(&digits);
                    out.push(b'"');
                }
                None => jsonout::string(out, &iso_utc(*ms)),
            },
            Field::Id(before, id, after) => jsonout::uuid_between(out, before, id.as_uuid(), after),
        }
    }
}

fn opt_str(v: Option<&str>) -> Field<'_> {
    v.map_or(Field::Null, |v| Field::Text(v.into()))
}

fn opt_int<'a>(v: Option<i64>) -> Field<'a> {
    v.map_or(Field::Null, Field::Int)
}

/// The image as Glance shows it: the base attributes, over the catalog-backed
/// properties, over the extra properties, each key once, in byte order. Written
/// straight from the record (no intermediate JSON value), the three sorted lists merged
/// as they are written (merging them into one list first cost a tenth of a Glance
/// list's time).
pub struct ImageJson<'a> {
    base: [(&'static str, Field<'a>); 22],
    catalog: Vec<(&'static str, Field<'a>)>,
    extra: &'a BTreeMap<String, String>,
}

impl WriteJson for ImageJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut base = self.base.iter().peekable();
        let mut catalog = self.catalog.iter().peekable();
        let mut extra = self.extra.iter().peekable();
        let mut first = true;
        loop {
            let next = [base.peek().map(|b| b.0), catalog.peek().map(|c| c.0), extra.peek().map(|e| e.0.as_str())];
            let Some(key) = next.into_iter().flatten().min() else { break };
            if !first {
                out.push(b',');
            }
            first = false;
            // The highest list holding the key gives its value; the lower ones skip it.
            let from_base = base.next_if(|b| b.0 == key);
            let from_catalog = catalog.next_if(|c| c.0 == key);
            let from_extra = extra.next_if(|e| e.0 == key);
            match (from_base, from_catalog, from_extra) {
                (Some((k, v)), ..) | (None, Some((k, v)), _) => {
                    // Our own keys need no escaping.
                    out.push(b'"');
                    out.extend_from_slice(k.as_bytes());
                    out.extend_from_slice(b"\":");
                    v.write(out);
                }
                (None, None, Some((k, v))) => {
                    // Extra properties' keys are the client's: escaped like any string.
                    jsonout::string(out, k);
                    out.push(b':');
                    jsonout::string(out, v);
                }
                (None, None, None) => break,
            }
        }
        out.push(b'}');
    }
}

pub fn image(i: &Image) -> ImageJson<'_> {
    // Extra properties come sorted (a BTreeMap); the catalog-backed ones are sorted
    // here; the base attributes are written in key order.
    let mut catalog: Vec<(&str, Field<'_>)> =
        catalog_properties(i).into_iter().map(|(k, v)| (k, Field::Text(v))).collect();
    catalog.sort_unstable_by_key(|(k, _)| *k);
    let base = [
        ("checksum", opt_str(i.checksum.as_deref())),
        ("container_format", opt_str(i.container_format.map(|c| c.as_str()))),
        ("created_at", Field::Time(i.created_at.0)),
        ("disk_format", opt_str(i.disk_format.map(|d| d.as_str()))),
        ("file", Field::Id("/v2/images/", &i.id, "/file")),
        ("id", Field::Id("", &i.id, "")),
        ("min_disk", Field::Int(i.min_disk)),
        ("min_ram", Field::Int(i.min_ram)),
        ("name", opt_str(i.name.as_deref())),
        ("os_hash_algo", opt_str(i.os_hash_algo.as_deref())),
        ("os_hash_value", opt_str(i.os_hash_value.as_deref())),
        ("os_hidden", Field::Bool(i.os_hidden)),
        ("owner", Field::Text(i.owner.as_str().into())),
        ("protected", Field::Bool(i.protected)),
        ("schema", Field::Text("/v2/schemas/image".into())),
        ("self", Field::Id("/v2/images/", &i.id, "")),
        ("size", opt_int(i.size)),
        ("status", Field::Text(i.status.as_str().into())),
        ("tags", Field::List(&i.tags)),
        ("updated_at", Field::Time(i.updated_at.0)),
        ("virtual_size", opt_int(i.virtual_size)),
        ("visibility", Field::Text(i.visibility.as_str().into())),
    ];
    debug_assert!(base.windows(2).all(|w| w[0].0 < w[1].0), "base attributes out of order");
    ImageJson { base, catalog, extra: &i.properties }
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

#[cfg(test)]
mod tests {
    use imagehub_catalog::{ImageId, Millis, ProjectId};

    use super::*;

    /// Base attributes win over catalog-backed properties, which win over extra
    /// properties of the same name; keys come out once each, in byte order.
    #[test]
    fn an_image_is_written_once_per_key_in_order() {
        let mut i = Image::blank(ImageId::new_random(), ProjectId::system(), Millis(1_700_000_000_000));
        i.name = Some("real".into());
        i.arch = Some(Arch::X86_64);
        i.tags.insert("t1".into());
        for (k, v) in [("name", "shadow"), ("architecture", "shadow"), ("zzz", "1"), ("aaa", "0")] {
            i.properties.insert(k.into(), v.into());
        }
        let mut out = Vec::new();
        image(&i).write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        // A `Value` map keeps one entry per key in byte order: the same text means the
        // same keys, once each, in that order.
        assert_eq!(serde_json::to_string(&value).unwrap(), text);
        assert_eq!(value["name"], "real");
        assert_eq!(value["architecture"], "x86_64");
        assert_eq!((&value["zzz"], &value["aaa"]), (&json!("1"), &json!("0")));
        assert_eq!(value["tags"], json!(["t1"]));
        assert_eq!(value["size"], Value::Null);
        assert_eq!(value["self"], format!("/v2/images/{}", i.id));
    }
}
