//! Glance's image and member JSON. Base attributes are always present (null when unset);
//! extra properties are top-level strings. The catalog attributes that other faces own
//! (registry path, ModelArts and SCNet attributes) appear as string properties, by the
//! table in [`CATALOG`].

use std::borrow::Cow;
use std::collections::BTreeSet;

use imagehub_catalog::{
    Arch, DevService, Error, Image, ImageId, ImageKind, Member, Origin, ResourceCategory, ServiceType,
    canonical_app_type,
};
use serde_json::{Value, json};

use crate::face::WriteJson;
use crate::jsonout;
use crate::time::{iso_utc, iso_utc_digits};

/// A catalog-backed property's value on an image, if it has one.
type CatalogValue = for<'a> fn(&'a Image) -> Option<Field<'a>>;

/// Property name ↔ catalog attribute, for container images (docs/API.md): the one table
/// that reading (the image JSON, [`super::attrs::has_property`]) and writing
/// ([`set_catalog_property`]) name the properties by.
pub(crate) const CATALOG: [(&str, CatalogValue); 17] = [
    ("architecture", |i| i.arch.map(|a| Field::Word(a.as_str()))),
    ("description", |i| text(&i.description)),
    ("swr_path", |i| text(&i.registry_path)),
    ("swr_namespace", |i| text(&i.namespace)),
    ("swr_tag", |i| text(&i.tag)),
    ("digest", |i| text(&i.digest)),
    ("modelarts_type", |i| {
        i.is_container().then_some(Field::Word(if i.kind == ImageKind::BuiltIn { "BUILD_IN" } else { "DEDICATED" }))
    }),
    ("service_type", |i| i.service_type.map(|s| Field::Upper(s.as_str()))),
    ("origin", |i| i.origin.map(|o| Field::Upper(o.as_str()))),
    ("dev_services", |i| (!i.dev_services.is_empty()).then_some(Field::UpperList(Words::Dev(&i.dev_services)))),
    ("resource_categories", |i| {
        (!i.resource_categories.is_empty()).then_some(Field::UpperList(Words::Categories(&i.resource_categories)))
    }),
    ("workspace_id", |i| i.is_container().then(|| Field::Text(i.workspace_id.as_str().into()))),
    ("flavor_type", |i| text(&i.flavor_type)),
    ("accelerator_type", |i| {
        if i.is_container() { Some(Field::Text(i.accelerator().into())) } else { text(&i.accelerator_type) }
    }),
    ("image_type", |i| if i.is_container() { Some(Field::Text(i.app_type().into())) } else { text(&i.image_type) }),
    ("uploaded_by", |i| text(&i.uploaded_by)),
    // Why the last import failed, while the image waits for new data (the server's,
    // reserved: clients cannot write os_glance_*).
    ("os_glance_import_failure", |i| {
        if i.status == imagehub_catalog::Status::Queued { text(&i.status_message) } else { None }
    }),
];

/// Whether `key` names a catalog-backed property.
pub fn is_catalog_property(key: &str) -> bool {
    CATALOG.iter().any(|(k, _)| *k == key)
}

pub const READ_ONLY_PROPERTIES: &[&str] = &["modelarts_type"];

/// A record's text, borrowed.
fn text(v: &Option<String>) -> Option<Field<'_>> {
    v.as_deref().map(|t| Field::Text(t.into()))
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
    if !is_catalog_property(key) {
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

/// Catalog words listed in one property, written in capitals, comma-separated.
#[derive(Clone, Copy)]
pub(crate) enum Words<'a> {
    Dev(&'a [DevService]),
    Categories(&'a [ResourceCategory]),
}

/// One attribute's value in an image's JSON.
pub(crate) enum Field<'a> {
    /// One of our own words (no escaping needed).
    Word(&'static str),
    /// One of our own words, in capitals.
    Upper(&'static str),
    UpperList(Words<'a>),
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
            Field::Word(w) => {
                out.push(b'"');
                out.extend_from_slice(w.as_bytes());
                out.push(b'"');
            }
            Field::Upper(w) => jsonout::upper(out, w),
            Field::UpperList(words) => {
                let words: &mut dyn Iterator<Item = &'static str> = match words {
                    Words::Dev(d) => &mut d.iter().map(|w| w.as_str()),
                    Words::Categories(c) => &mut c.iter().map(|w| w.as_str()),
                };
                out.push(b'"');
                for (n, w) in words.enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend(w.bytes().map(|b| b.to_ascii_uppercase()));
                }
                out.push(b'"');
            }
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

/// Where an attribute of the image JSON comes from.
#[derive(Clone, Copy)]
enum Attr {
    /// A base attribute: always written (null when unset).
    Base(for<'a> fn(&'a Image) -> Field<'a>),
    /// A catalog-backed property: written when the image has it.
    Catalog(CatalogValue),
}

/// Every attribute the image JSON may have but the extra properties, in byte order (the
/// base attributes and the catalog-backed properties never share a name): sorted once,
/// so that writing an image compares no key but an extra property's.
static ATTRS: std::sync::LazyLock<Vec<(&'static str, Attr)>> = std::sync::LazyLock::new(|| {
    let base: [(&'static str, Attr); 22] = [
        ("checksum", Attr::Base(|i| opt_str(i.checksum.as_deref()))),
        ("container_format", Attr::Base(|i| i.container_format.map_or(Field::Null, |c| Field::Word(c.as_str())))),
        ("created_at", Attr::Base(|i| Field::Time(i.created_at.0))),
        ("disk_format", Attr::Base(|i| i.disk_format.map_or(Field::Null, |d| Field::Word(d.as_str())))),
        ("file", Attr::Base(|i| Field::Id("/v2/images/", &i.id, "/file"))),
        ("id", Attr::Base(|i| Field::Id("", &i.id, ""))),
        ("min_disk", Attr::Base(|i| Field::Int(i.min_disk))),
        ("min_ram", Attr::Base(|i| Field::Int(i.min_ram))),
        ("name", Attr::Base(|i| opt_str(i.name.as_deref()))),
        ("os_hash_algo", Attr::Base(|i| opt_str(i.os_hash_algo.as_deref()))),
        ("os_hash_value", Attr::Base(|i| opt_str(i.os_hash_value.as_deref()))),
        ("os_hidden", Attr::Base(|i| Field::Bool(i.os_hidden))),
        ("owner", Attr::Base(|i| Field::Text(i.owner.as_str().into()))),
        ("protected", Attr::Base(|i| Field::Bool(i.protected))),
        ("schema", Attr::Base(|_| Field::Word("/v2/schemas/image"))),
        ("self", Attr::Base(|i| Field::Id("/v2/images/", &i.id, ""))),
        ("size", Attr::Base(|i| opt_int(i.size))),
        ("status", Attr::Base(|i| Field::Word(i.status.as_str()))),
        ("tags", Attr::Base(|i| Field::List(&i.tags))),
        ("updated_at", Attr::Base(|i| Field::Time(i.updated_at.0))),
        ("virtual_size", Attr::Base(|i| opt_int(i.virtual_size))),
        ("visibility", Attr::Base(|i| Field::Word(i.visibility.as_str()))),
    ];
    let mut all: Vec<(&'static str, Attr)> = base.into_iter().collect();
    all.extend(CATALOG.iter().map(|&(k, v)| (k, Attr::Catalog(v))));
    all.sort_unstable_by_key(|(k, _)| *k);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "a catalog property shares a base attribute's name");
    all
});

/// The image as Glance shows it: the base attributes, over the catalog-backed
/// properties, over the extra properties, each key once, in byte order. Written
/// straight from the record (no intermediate JSON value or list: merging the three
/// lists into one first, then by comparing their keys, cost a sixth of a Glance list's
/// time).
pub struct ImageJson<'a>(&'a Image);

impl WriteJson for ImageJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let i = self.0;
        out.push(b'{');
        let mut first = true;
        let mut comma = |out: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
        };
        // Extra properties' keys are the client's: escaped like any string.
        let mut extra = i.properties.iter().peekable();
        let write_extra = |out: &mut Vec<u8>, (k, v): (&String, &String), comma: &mut dyn FnMut(&mut Vec<u8>)| {
            comma(out);
            jsonout::string(out, k);
            out.push(b':');
            jsonout::string(out, v);
        };
        for &(key, attr) in ATTRS.iter() {
            while let Some(e) = extra.next_if(|(k, _)| k.as_str() < key) {
                write_extra(out, e, &mut comma);
            }
            let value = match attr {
                Attr::Base(value) => value(i),
                Attr::Catalog(value) => match value(i) {
                    Some(v) => v,
                    None => continue,
                },
            };
            // The attribute hides an extra property of its name.
            while extra.next_if(|(k, _)| k.as_str() == key).is_some() {}
            comma(out);
            // Our own keys need no escaping.
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            value.write(out);
        }
        for e in extra {
            write_extra(out, e, &mut comma);
        }
        out.push(b'}');
    }
}

pub fn image(i: &Image) -> ImageJson<'_> {
    ImageJson(i)
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
