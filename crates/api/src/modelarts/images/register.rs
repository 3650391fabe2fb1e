//! RegisterImage: `POST /v1/{project_id}/images`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{ContainerRegistration, Error, KvTag};
use serde::Deserialize;

use crate::AppState;
use crate::face;
use crate::face::InScope;
use crate::modelarts::render::{self, Shape};
use crate::modelarts::{self, ModelArts, Result, Scoped, words};

/// The request body (the SDK's `ImageRegRequest`). Unknown fields are ignored.
#[derive(Deserialize)]
pub struct Body {
    swr_path: Option<String>,
    arch: Option<String>,
    description: Option<String>,
    origin: Option<String>,
    resource_category: Option<Vec<String>>,
    service_type: Option<String>,
    services: Option<Vec<String>>,
    visibility: Option<String>,
    workspace_id: Option<String>,
    flavor_type: Option<String>,
    #[serde(default)]
    tags: Vec<TagInput>,
    read_me: Option<String>,
    // imagehub extensions: the attributes the SCNet face shows (docs/API.md).
    accelerator_type: Option<String>,
    image_type: Option<String>,
    digest: Option<String>,
    size: Option<i64>,
    user: Option<String>,
}

/// A tag as the SDK sends it (`"k=v"` or `"k"`), or as responses show it (`{key, value}`).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum TagInput {
    Plain(String),
    Pair { key: String, value: Option<String> },
}

impl TagInput {
    fn into_kv(self) -> KvTag {
        match self {
            TagInput::Plain(s) => match s.split_once('=') {
                Some((k, v)) => KvTag { key: k.to_owned(), value: v.to_owned() },
                None => KvTag { key: s, value: String::new() },
            },
            TagInput::Pair { key, value } => KvTag { key, value: value.unwrap_or_default() },
        }
    }
}

fn list<T>(
    v: Option<Vec<String>>,
    parse: fn(&str) -> std::result::Result<T, Error>,
) -> std::result::Result<Option<Vec<T>>, Error> {
    v.map(|items| items.iter().map(|s| parse(s)).collect()).transpose()
}

impl Body {
    fn into_registration(self) -> std::result::Result<ContainerRegistration, Error> {
        let Some(swr_path) = self.swr_path else {
            return Err(Error::missing("swr_path"));
        };
        Ok(ContainerRegistration {
            registry_path: swr_path,
            arch: self.arch.as_deref().map(words::parse_arch).transpose()?,
            description: self.description,
            origin: self.origin.as_deref().map(words::parse_origin).transpose()?,
            resource_categories: list(self.resource_category, words::parse_resource_category)?,
            service_type: self.service_type.as_deref().map(words::parse_service_type).transpose()?,
            dev_services: list(self.services, words::parse_dev_service)?,
            visibility: self.visibility.as_deref().map(words::parse_visibility).transpose()?,
            workspace_id: self.workspace_id,
            flavor_type: self.flavor_type,
            kv_tags: self.tags.into_iter().map(TagInput::into_kv).collect(),
            read_me: self.read_me,
            accelerator_type: self.accelerator_type,
            image_type: self.image_type,
            digest: self.digest,
            size: self.size,
            uploaded_by: self.user,
        })
    }
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    face::Json(body, _): face::Json<Body, ModelArts>,
) -> Result<Response> {
    let writer = scope.writer()?;
    let image = state.catalog.register_container(&writer, body.into_registration()?).await?;
    Ok(modelarts::ok_written(&render::image(&image, Shape::Detail)))
}
