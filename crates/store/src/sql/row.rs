//! Records to and from rows, for every backend (columns as in [`IMAGE_COLUMNS`]).

use std::collections::{BTreeMap, BTreeSet};

use imagehub_catalog::{
    Arch, ContainerFormat, DevService, DiskFormat, Error, Image, ImageId, ImageKind, KvTag, Millis, Origin, ProjectId,
    ResourceCategory, Result, ServiceType, Status, Visibility,
};
use sea_query::{InsertStatement, Query, Value};

use super::dialect::Columns;
use super::render::{DERIVED_COLUMNS, IMAGE_COLUMNS, IMAGES};

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

fn word<T>(col: &str, v: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(v).ok_or_else(|| corrupt(col, format!("unknown word {v:?}")))
}

fn opt_word<T>(col: &str, v: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    v.map(|v| word(col, &v, parse)).transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(row: &impl Columns, col: &str) -> Result<T> {
    serde_json::from_str(&row.text(col)?).map_err(|e| corrupt(col, e))
}

fn word_list<T>(row: &impl Columns, col: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>> {
    let raw: Vec<String> = json_col(row, col)?;
    raw.iter().map(|w| word(col, w, parse)).collect()
}

/// Reads an image from a row selected with [`IMAGE_COLUMNS`].
pub fn image_from_row(row: &impl Columns) -> Result<Image> {
    let id = row.text("id")?;
    let owner = row.text("owner")?;
    Ok(Image {
        id: ImageId::parse(&id).ok_or_else(|| corrupt("id", &id))?,
        owner: ProjectId::parse(&owner).ok_or_else(|| corrupt("owner", &owner))?,
        workspace_id: row.text("workspace_id")?,
        kind: word("kind", &row.text("kind")?, ImageKind::parse)?,
        name: row.opt_text("name")?,
        namespace: row.opt_text("namespace")?,
        tag: row.opt_text("tag")?,
        registry_path: row.opt_text("registry_path")?,
        digest: row.opt_text("digest")?,
        arch: opt_word("arch", row.opt_text("arch")?, Arch::parse)?,
        origin: opt_word("origin", row.opt_text("origin")?, Origin::parse)?,
        service_type: opt_word("service_type", row.opt_text("service_type")?, ServiceType::parse)?,
        dev_services: word_list(row, "dev_services", DevService::parse)?,
        resource_categories: word_list(row, "resource_categories", ResourceCategory::parse)?,
        accelerator_type: row.opt_text("accelerator_type")?,
        image_type: row.opt_text("image_type")?,
        status: word("status", &row.text("status")?, Status::parse)?,
        status_message: row.opt_text("status_message")?,
        size: row.opt_int("size")?,
        virtual_size: row.opt_int("virtual_size")?,
        visibility: word("visibility", &row.text("visibility")?, Visibility::parse)?,
        protected: row.flag("protected")?,
        os_hidden: row.flag("os_hidden")?,
        container_format: opt_word("container_format", row.opt_text("container_format")?, ContainerFormat::parse)?,
        disk_format: opt_word("disk_format", row.opt_text("disk_format")?, DiskFormat::parse)?,
        min_ram: row.int("min_ram")?,
        min_disk: row.int("min_disk")?,
        checksum: row.opt_text("checksum")?,
        os_hash_algo: row.opt_text("os_hash_algo")?,
        os_hash_value: row.opt_text("os_hash_value")?,
        tags: json_col::<BTreeSet<String>>(row, "tags")?,
        kv_tags: json_col::<Vec<KvTag>>(row, "kv_tags")?,
        properties: json_col::<BTreeMap<String, String>>(row, "properties")?,
        description: row.opt_text("description")?,
        flavor_type: row.opt_text("flavor_type")?,
        uploaded_by: row.opt_text("uploaded_by")?,
        created_at: Millis(row.int("created_at")?),
        updated_at: Millis(row.int("updated_at")?),
    })
}
