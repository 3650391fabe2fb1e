//! Records to and from rows, for every backend (columns as in [`crate::render::IMAGE_COLUMNS`]).

use std::collections::{BTreeMap, BTreeSet};

use imagehub_catalog::{
    Arch, ContainerFormat, DevService, DiskFormat, Error, Image, ImageId, ImageKind, KvTag, Millis, Origin, ProjectId,
    ResourceCategory, Result, ServiceType, Status, Visibility,
};
use sea_query::{InsertStatement, Query, Value};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::render::{DERIVED_COLUMNS, IMAGE_COLUMNS, IMAGES};

fn json<T: serde::Serialize>(v: &T) -> Value {
    Value::String(Some(serde_json::to_string(v).unwrap_or_else(|_| "null".into())))
}

fn words<T: Copy>(items: &[T], as_str: fn(T) -> &'static str) -> Vec<&'static str> {
    items.iter().map(|&i| as_str(i)).collect()
}

/// The values of one image, in column order ([`IMAGE_COLUMNS`] then [`DERIVED_COLUMNS`]).
pub fn image_values(i: &Image) -> Vec<Value> {
    let s = |v: &Option<String>| Value::String(v.clone());
    let w = |v: Option<&'static str>| Value::String(v.map(str::to_owned));
    vec![
        Value::String(Some(i.id.to_string())),
        Value::String(Some(i.owner.to_string())),
        Value::String(Some(i.workspace_id.clone())),
        Value::String(Some(i.group_id().to_string())),
        w(Some(i.kind.as_str())),
        s(&i.name),
        s(&i.namespace),
        s(&i.tag),
        s(&i.registry_path),
        s(&i.digest),
        w(i.arch.map(Arch::as_str)),
        w(i.origin.map(Origin::as_str)),
        w(i.service_type.map(ServiceType::as_str)),
        json(&words(&i.dev_services, DevService::as_str)),
        json(&words(&i.resource_categories, ResourceCategory::as_str)),
        s(&i.accelerator_type),
        s(&i.image_type),
        w(Some(i.status.as_str())),
        s(&i.status_message),
        Value::BigInt(i.size),
        Value::BigInt(i.virtual_size),
        w(Some(i.visibility.as_str())),
        Value::Bool(Some(i.protected)),
        Value::Bool(Some(i.os_hidden)),
        w(i.container_format.map(ContainerFormat::as_str)),
        w(i.disk_format.map(DiskFormat::as_str)),
        Value::BigInt(Some(i.min_ram)),
        Value::BigInt(Some(i.min_disk)),
        s(&i.checksum),
        s(&i.os_hash_algo),
        s(&i.os_hash_value),
        json(&i.tags),
        json(&i.kv_tags),
        json(&i.properties),
        s(&i.description),
        s(&i.flavor_type),
        s(&i.uploaded_by),
        Value::BigInt(Some(i.created_at.0)),
        Value::BigInt(Some(i.updated_at.0)),
        // DERIVED_COLUMNS
        Value::String(Some(i.accelerator())),
        Value::String(Some(i.app_type().to_owned())),
    ]
}

/// `INSERT INTO images (…) VALUES (…)`.
pub fn insert_image(i: &Image) -> InsertStatement {
    let mut stmt = Query::insert();
    stmt.into_table(IMAGES).columns(IMAGE_COLUMNS.iter().chain(DERIVED_COLUMNS).copied());
    stmt.values_panic(image_values(i).into_iter().map(sea_query::Expr::val));
    stmt
}

fn corrupt(col: &str, detail: impl std::fmt::Display) -> Error {
    Error::Internal(format!("stored column {col} is unreadable: {detail}"))
}

fn get<'r, R, T>(row: &'r R, col: &str) -> Result<T>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(col).map_err(|e| corrupt(col, e))
}

fn word<T>(col: &str, v: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(v).ok_or_else(|| corrupt(col, format!("unknown word {v:?}")))
}

fn opt_word<T>(col: &str, v: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    v.map(|v| word(col, &v, parse)).transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(col: &str, v: &str) -> Result<T> {
    serde_json::from_str(v).map_err(|e| corrupt(col, e))
}

fn word_list<T>(col: &str, v: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>> {
    let raw: Vec<String> = json_col(col, v)?;
    raw.iter().map(|w| word(col, w, parse)).collect()
}

/// Reads an image from a row selected with [`IMAGE_COLUMNS`].
pub fn image_from_row<R>(row: &R) -> Result<Image>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = get(row, "id")?;
    let owner: String = get(row, "owner")?;
    let tags: BTreeSet<String> = json_col("tags", &get::<R, String>(row, "tags")?)?;
    let kv_tags: Vec<KvTag> = json_col("kv_tags", &get::<R, String>(row, "kv_tags")?)?;
    let properties: BTreeMap<String, String> = json_col("properties", &get::<R, String>(row, "properties")?)?;
    Ok(Image {
        id: ImageId::parse(&id).ok_or_else(|| corrupt("id", &id))?,
        owner: ProjectId::parse(&owner).ok_or_else(|| corrupt("owner", &owner))?,
        workspace_id: get(row, "workspace_id")?,
        kind: word("kind", &get::<R, String>(row, "kind")?, ImageKind::parse)?,
        name: get(row, "name")?,
        namespace: get(row, "namespace")?,
        tag: get(row, "tag")?,
        registry_path: get(row, "registry_path")?,
        digest: get(row, "digest")?,
        arch: opt_word("arch", get(row, "arch")?, Arch::parse)?,
        origin: opt_word("origin", get(row, "origin")?, Origin::parse)?,
        service_type: opt_word("service_type", get(row, "service_type")?, ServiceType::parse)?,
        dev_services: word_list("dev_services", &get::<R, String>(row, "dev_services")?, DevService::parse)?,
        resource_categories: word_list(
            "resource_categories",
            &get::<R, String>(row, "resource_categories")?,
            ResourceCategory::parse,
        )?,
        accelerator_type: get(row, "accelerator_type")?,
        image_type: get(row, "image_type")?,
        status: word("status", &get::<R, String>(row, "status")?, Status::parse)?,
        status_message: get(row, "status_message")?,
        size: get(row, "size")?,
        virtual_size: get(row, "virtual_size")?,
        visibility: word("visibility", &get::<R, String>(row, "visibility")?, Visibility::parse)?,
        protected: get(row, "protected")?,
        os_hidden: get(row, "os_hidden")?,
        container_format: opt_word("container_format", get(row, "container_format")?, ContainerFormat::parse)?,
        disk_format: opt_word("disk_format", get(row, "disk_format")?, DiskFormat::parse)?,
        min_ram: get(row, "min_ram")?,
        min_disk: get(row, "min_disk")?,
        checksum: get(row, "checksum")?,
        os_hash_algo: get(row, "os_hash_algo")?,
        os_hash_value: get(row, "os_hash_value")?,
        tags,
        kv_tags,
        properties,
        description: get(row, "description")?,
        flavor_type: get(row, "flavor_type")?,
        uploaded_by: get(row, "uploaded_by")?,
        created_at: Millis(get(row, "created_at")?),
        updated_at: Millis(get(row, "updated_at")?),
    })
}
