//! ModelArts' JSON shapes (field names as in seeds 000–002 and the Huawei SDK models).
//! Optional fields are left out when the record has no value; times are epoch ms.
//! The shapes borrow from the records: a page is written without copying them.

use std::sync::Arc;

use imagehub_catalog::{GroupId, Image, ImageGroup, KvTag, Page};
use serde::Serialize;

use super::words;
use crate::face::WriteJson;
use crate::jsonout::{self, Object};

/// One image as ModelArts shows it, written by hand ([`crate::jsonout`]): the keys in
/// alphabetical order, as in the seeds; absent values left out.
pub struct ImageJson<'a>(&'a Image, Shape);

impl WriteJson for ImageJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let ImageJson(i, shape) = *self;
        let mut o = Object::new(out);
        o.opt_str("arch", i.arch.map(words::arch))
            .int("create_at", i.created_at.0)
            .opt_str("description", i.description.as_deref())
            .with("dev_services", |out| upper_all(out, &i.dev_services))
            .opt_str("flavor_type", i.flavor_type.as_deref())
            .with("id", |out| jsonout::uuid(out, i.id.as_uuid()))
            .opt_str("name", i.name.as_deref())
            .opt_str("namespace", i.namespace.as_deref());
        if let Some(origin) = i.origin {
            o.with("origin", |out| jsonout::upper(out, origin.as_str()));
        }
        o.with("resource_categories", |out| upper_all(out, &i.resource_categories));
        if let Some(service_type) = i.service_type {
            o.with("service_type", |out| jsonout::upper(out, service_type.as_str()));
        }
        o.opt_int("size", i.size)
            .str("status", words::status(i.status))
            .opt_str("status_message", i.status_message.as_deref());
        // ShowImage, RegisterImage and DeleteImage only (as in the SDK's models).
        if shape == Shape::Detail {
            o.with("support_res_categories", |out| upper_all(out, &i.resource_categories));
        }
        o.opt_str("swr_path", i.registry_path.as_deref()).opt_str("tag", i.tag.as_deref());
        if !i.kv_tags.is_empty() {
            o.with("tags", |out| kv_tags(out, &i.kv_tags));
        }
        o.str("type", words::kind(i.kind))
            .int("update_at", i.updated_at.0)
            .str("visibility", words::visibility(i.visibility))
            .str("workspace_id", &i.workspace_id);
        o.end();
    }
}

/// Catalog words in capitals, as ModelArts spells dev services and resource categories.
fn upper_all<W: Copy + Into<&'static str>>(out: &mut Vec<u8>, words: &[W]) {
    jsonout::array(out, words, |out, &w| jsonout::upper(out, w.into()));
}

/// `[{"key": …, "value": …}]`.
fn kv_tags(out: &mut Vec<u8>, tags: &[KvTag]) {
    jsonout::array(out, tags, |out, t| {
        let mut o = Object::new(out);
        o.str("key", &t.key).str("value", &t.value);
        o.end();
    });
}

/// Which response an image is rendered for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// ListImage item.
    ListItem,
    /// ShowImage, RegisterImage, DeleteImage.
    Detail,
}

pub fn image(i: &Image, shape: Shape) -> ImageJson<'_> {
    ImageJson(i, shape)
}

#[derive(Serialize)]
pub struct GroupJson<'a> {
    pub create_at: i64,
    pub id: GroupId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_me: Option<&'a str>,
    #[serde(skip_serializing_if = "<[KvTag]>::is_empty")]
    pub tags: &'a [KvTag],
    pub update_at: i64,
    pub version_count: i64,
}

pub fn group(g: &ImageGroup) -> GroupJson<'_> {
    GroupJson {
        create_at: g.created_at.0,
        id: g.id,
        name: g.name.as_deref(),
        namespace: g.namespace.as_deref(),
        read_me: g.meta.read_me.as_deref(),
        tags: &g.meta.kv_tags,
        update_at: g.updated_at.0,
        version_count: g.version_count,
    }
}

/// The page envelope `{current, data, pages, size, total}`.
#[derive(Serialize)]
pub struct PageJson<T> {
    pub current: u64,
    pub data: Vec<T>,
    pub pages: u64,
    pub size: u64,
    pub total: u64,
}

/// ListImage's envelope `{current, data, pages, size, total}` (seed 000): `size` =
/// limit, `current` = offset / limit (0-based); written by hand like its images.
pub struct ImagePageJson<'a> {
    page: &'a Page<Arc<Image>>,
    offset: u64,
    limit: u64,
}

impl WriteJson for ImagePageJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let total = self.page.total.unwrap_or(0);
        let mut o = Object::new(out);
        o.int("current", self.offset / self.limit)
            .with("data", |out| {
                jsonout::array(out, &self.page.items, |out, i| image(i, Shape::ListItem).write_json(out));
            })
            .int("pages", total.div_ceil(self.limit))
            .int("size", self.limit)
            .int("total", total);
        o.end();
    }

    fn size_hint(&self) -> usize {
        // A list item is about 450 bytes in ModelArts' words.
        128 + 512 * self.page.items.len()
    }
}

pub fn image_page(page: &Page<Arc<Image>>, offset: u64, limit: u64) -> ImagePageJson<'_> {
    ImagePageJson { page, offset, limit }
}

/// ListImageGroup's envelope (seed 002): `size` = records in this page, `current` = offset / limit + 1.
pub fn group_page(page: &Page<ImageGroup>, offset: u64, limit: u64) -> PageJson<GroupJson<'_>> {
    let total = page.total.unwrap_or(0);
    PageJson {
        current: (offset / limit).saturating_add(1),
        size: page.items.len() as u64,
        data: page.items.iter().map(group).collect(),
        pages: total.div_ceil(limit),
        total,
    }
}

#[cfg(test)]
mod tests {
    use imagehub_catalog::{Arch, DevService, ImageId, Millis, Origin, ProjectId, ResourceCategory, ServiceType};
    use serde_json::{Value, json};

    use super::*;

    fn written(i: &Image, shape: Shape) -> String {
        let mut out = Vec::new();
        image(i, shape).write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// Every key once, in alphabetical order (a `Value` map re-serializes to the same
    /// text only then), strings escaped as serde_json escapes them; absent values left
    /// out; `support_res_categories` in the detail shape only.
    #[test]
    fn images_are_written_in_key_order() {
        let mut i = Image::blank(ImageId::new_random(), ProjectId::system(), Millis(1_700_000_000_000));
        let sparse = written(&i, Shape::ListItem);
        let value: Value = serde_json::from_str(&sparse).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), sparse);
        assert!(value.get("name").is_none() && value.get("support_res_categories").is_none());

        i.arch = Some(Arch::Aarch64);
        i.description = Some("quote \" backslash \\ newline \n 名前".into());
        i.dev_services = vec![DevService::Notebook, DevService::WebIde];
        i.flavor_type = Some("ASCEND_SNT9".into());
        i.name = Some("pytorch".into());
        i.namespace = Some("atelier".into());
        i.origin = Some(Origin::Customize);
        i.resource_categories = vec![ResourceCategory::Cpu, ResourceCategory::Ascend];
        i.service_type = Some(ServiceType::Common);
        i.size = Some(12345);
        i.status_message = Some("ok".into());
        i.registry_path = Some("swr.example.com/atelier/pytorch:1.8".into());
        i.tag = Some("1.8".into());
        i.kv_tags = vec![KvTag { key: "k".into(), value: "v\t".into() }];
        for shape in [Shape::ListItem, Shape::Detail] {
            let text = written(&i, shape);
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&value).unwrap(), text);
            assert_eq!(value["dev_services"], json!(["NOTEBOOK", "WEB_IDE"]));
            assert_eq!(value["origin"], "CUSTOMIZE");
            assert_eq!(value["service_type"], "COMMON");
            assert_eq!(value["description"], i.description.as_deref().unwrap());
            assert_eq!(value["tags"], json!([{"key": "k", "value": "v\t"}]));
            assert_eq!(value["id"], i.id.to_string());
            assert_eq!(value.get("support_res_categories").is_some(), shape == Shape::Detail);
        }
    }
}
