//! SCNet's JSON shapes: `ImagesVo` (seed 004) and the image list item of the POST variant.

use imagehub_catalog::{Image, ImageKind};
use serde::Serialize;

use super::words;
use crate::time;

/// ImagesVo, field for field as seed 004's table.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagesVo {
    pub accelerator_type: String,
    pub access: &'static str,
    pub app_icon: String,
    pub create_time: String,
    pub id: String,
    /// The content digest; `""` when the catalog does not know it.
    pub image_id: String,
    pub is_preset_image: bool,
    pub name: String,
    pub path: String,
    pub tag: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub user: String,
    pub version: String,
}

/// The uploading user; built-in images are the system's, others fall back to the owner project.
fn user(i: &Image) -> String {
    match (&i.uploaded_by, i.kind) {
        (Some(u), _) => u.clone(),
        (None, ImageKind::BuiltIn) => "system".into(),
        (None, ImageKind::Dedicated) => i.owner.to_string(),
    }
}

/// SCNet names an image by the last component of its repository
/// (`…/dcu/admin/base/jupyterlab:tag` → `jupyterlab`).
fn short_name(i: &Image) -> String {
    let name = i.name.as_deref().unwrap_or("");
    name.rsplit('/').next().unwrap_or(name).to_owned()
}

fn version(i: &Image) -> String {
    format!("{}:{}", short_name(i), i.tag.as_deref().unwrap_or(""))
}

pub fn images_vo(i: &Image, offset_secs: i32) -> ImagesVo {
    let kind = i.app_type().to_owned();
    ImagesVo {
        accelerator_type: i.accelerator(),
        access: words::access(i.visibility),
        app_icon: format!("/global_resource/appIcon/appicon_{}.png", kind.to_ascii_lowercase()),
        create_time: time::local_seconds(i.created_at.0, offset_secs),
        id: i.id.simple(),
        image_id: i.digest.clone().unwrap_or_default(),
        is_preset_image: i.kind == ImageKind::BuiltIn,
        name: short_name(i),
        path: i.registry_path.clone().unwrap_or_default(),
        tag: i.tag.clone().unwrap_or_default(),
        version: version(i),
        kind,
        user: user(i),
    }
}

/// The data of `POST /ai/openapi/v2/image/images`: the page and the total, serialized
/// straight from the catalog's records (no JSON tree between).
#[derive(Serialize)]
pub struct ImageList<'a> {
    pub total: u64,
    pub data: Vec<ImageItem<'a>>,
}

/// An item of `POST /ai/openapi/v2/image/images`, borrowing the record's text.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageItem<'a> {
    pub id: String,
    pub name: &'a str,
    pub tag: &'a str,
    pub path: &'a str,
    pub version: String,
    /// Bytes, as a string; `"0"` when unknown.
    pub image_size: String,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub access: &'static str,
    pub accelerator_type: String,
    pub status: &'static str,
    pub description: &'a str,
    pub create_time: String,
    pub user: String,
    /// imagehub does not track clones: always 0.
    pub clone_times: i64,
}

pub fn image_item(i: &Image, offset_secs: i32) -> ImageItem<'_> {
    let name = i.name.as_deref().unwrap_or("");
    ImageItem {
        id: i.id.simple(),
        name: name.rsplit('/').next().unwrap_or(name),
        tag: i.tag.as_deref().unwrap_or_default(),
        path: i.registry_path.as_deref().unwrap_or_default(),
        version: version(i),
        image_size: i.size.unwrap_or(0).to_string(),
        kind: i.app_type(),
        access: words::access(i.visibility),
        accelerator_type: i.accelerator(),
        status: words::status(i.status),
        description: i.description.as_deref().unwrap_or_default(),
        create_time: time::local_seconds(i.created_at.0, offset_secs),
        user: user(i),
        clone_times: 0,
    }
}
