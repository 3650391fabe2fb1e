//! ModelArts' JSON shapes (field names as in seeds 000–002 and the Huawei SDK models).
//! Optional fields are left out when the record has no value; times are epoch ms.

use imagehub_catalog::{Image, ImageGroup, KvTag, Page};
use serde::Serialize;

use super::words;

#[derive(Serialize)]
pub struct ImageJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<&'static str>,
    pub create_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub dev_services: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor_type: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub resource_categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// ShowImage, RegisterImage and DeleteImage only (as in the SDK's models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_res_categories: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swr_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KvTag>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub update_at: i64,
    pub visibility: &'static str,
    pub workspace_id: String,
}

/// Which response an image is rendered for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// ListImage item.
    ListItem,
    /// ShowImage, RegisterImage, DeleteImage.
    Detail,
}

pub fn image(i: &Image, shape: Shape) -> ImageJson {
    let categories: Vec<String> = i.resource_categories.iter().map(|c| words::upper(c.as_str())).collect();
    ImageJson {
        arch: i.arch.map(words::arch),
        create_at: i.created_at.0,
        description: i.description.clone(),
        dev_services: i.dev_services.iter().map(|d| words::upper(d.as_str())).collect(),
        flavor_type: i.flavor_type.clone(),
        id: i.id.to_string(),
        name: i.name.clone(),
        namespace: i.namespace.clone(),
        origin: i.origin.map(|o| words::upper(o.as_str())),
        support_res_categories: (shape == Shape::Detail).then(|| categories.clone()),
        resource_categories: categories,
        service_type: i.service_type.map(|s| words::upper(s.as_str())),
        size: i.size,
        status: words::status(i.status),
        status_message: i.status_message.clone(),
        swr_path: i.registry_path.clone(),
        tag: i.tag.clone(),
        tags: i.kv_tags.clone(),
        kind: words::kind(i.kind),
        update_at: i.updated_at.0,
        visibility: words::visibility(i.visibility),
        workspace_id: i.workspace_id.clone(),
    }
}

#[derive(Serialize)]
pub struct GroupJson {
    pub create_at: i64,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_me: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KvTag>,
    pub update_at: i64,
    pub version_count: i64,
}

pub fn group(g: &ImageGroup) -> GroupJson {
    GroupJson {
        create_at: g.created_at.0,
        id: g.id.to_string(),
        name: g.name.clone(),
        namespace: g.namespace.clone(),
        read_me: g.meta.read_me.clone(),
        tags: g.meta.kv_tags.clone(),
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
pub fn image_page(page: &Page<Image>, offset: u64, limit: u64) -> PageJson<ImageJson> {
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
pub fn group_page(page: &Page<ImageGroup>, offset: u64, limit: u64) -> PageJson<GroupJson> {
    let total = page.total.unwrap_or(0);
    PageJson {
        current: offset / limit + 1,
        size: page.items.len() as u64,
        data: page.items.iter().map(group).collect(),
        pages: total.div_ceil(limit),
        total,
    }
}
