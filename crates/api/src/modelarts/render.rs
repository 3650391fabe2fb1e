//! ModelArts' JSON shapes (field names as in seeds 000–002 and the Huawei SDK models).
//! Optional fields are left out when the record has no value; times are epoch ms.
//! The shapes borrow from the records: a page is written without copying them.

use std::sync::Arc;

use imagehub_catalog::{DevService, GroupId, Image, ImageGroup, ImageId, KvTag, Page, ResourceCategory};
use serde::Serialize;

use super::words;

#[derive(Serialize)]
pub struct ImageJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<&'static str>,
    pub create_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub dev_services: UpperAll<'a, DevService>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor_type: Option<&'a str>,
    pub id: ImageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Upper>,
    pub resource_categories: UpperAll<'a, ResourceCategory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<Upper>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<&'a str>,
    /// ShowImage, RegisterImage and DeleteImage only (as in the SDK's models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_res_categories: Option<UpperAll<'a, ResourceCategory>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swr_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a str>,
    #[serde(skip_serializing_if = "<[KvTag]>::is_empty")]
    pub tags: &'a [KvTag],
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub update_at: i64,
    pub visibility: &'static str,
    pub workspace_id: &'a str,
}

/// A catalog word in capitals, as ModelArts spells service types, origins, dev services
/// and resource categories (written without allocating).
pub struct Upper(&'static str);

impl Serialize for Upper {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 32];
        match buf.get_mut(..self.0.len()) {
            Some(b) => {
                b.copy_from_slice(self.0.as_bytes());
                b.make_ascii_uppercase();
                s.serialize_str(std::str::from_utf8(b).map_err(serde::ser::Error::custom)?)
            }
            None => s.serialize_str(&words::upper(self.0)),
        }
    }
}

/// A list of catalog words in capitals.
pub struct UpperAll<'a, W>(&'a [W]);

impl<W: Copy + Into<&'static str>> Serialize for UpperAll<'_, W> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&w| Upper(w.into())))
    }
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
    ImageJson {
        arch: i.arch.map(words::arch),
        create_at: i.created_at.0,
        description: i.description.as_deref(),
        dev_services: UpperAll(&i.dev_services),
        flavor_type: i.flavor_type.as_deref(),
        id: i.id,
        name: i.name.as_deref(),
        namespace: i.namespace.as_deref(),
        origin: i.origin.map(|o| Upper(o.as_str())),
        support_res_categories: (shape == Shape::Detail).then_some(UpperAll(&i.resource_categories)),
        resource_categories: UpperAll(&i.resource_categories),
        service_type: i.service_type.map(|s| Upper(s.as_str())),
        size: i.size,
        status: words::status(i.status),
        status_message: i.status_message.as_deref(),
        swr_path: i.registry_path.as_deref(),
        tag: i.tag.as_deref(),
        tags: &i.kv_tags,
        kind: words::kind(i.kind),
        update_at: i.updated_at.0,
        visibility: words::visibility(i.visibility),
        workspace_id: &i.workspace_id,
    }
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

/// ListImage's envelope (seed 000): `size` = limit, `current` = offset / limit (0-based).
pub fn image_page(page: &Page<Arc<Image>>, offset: u64, limit: u64) -> PageJson<ImageJson<'_>> {
    let total = page.total.unwrap_or(0);
    PageJson {
        current: offset / limit,
        data: page.items.iter().map(|i| image(i, Shape::ListItem)).collect(),
        pages: total.div_ceil(limit),
        size: limit,
        total,
    }
}

/// ListImageGroup's envelope (seed 002): `size` = records in this page, `current` = offset / limit + 1.
pub fn group_page(page: &Page<ImageGroup>, offset: u64, limit: u64) -> PageJson<GroupJson<'_>> {
    let total = page.total.unwrap_or(0);
    PageJson {
        current: offset / limit + 1,
        size: page.items.len() as u64,
        data: page.items.iter().map(group).collect(),
        pages: total.div_ceil(limit),
        total,
    }
}
