//! `/v2/schemas/{image,images,member,members}`. Clients validate responses against these
//! (python-glanceclient through warlock), so every image imagehub renders must validate:
//! extra properties are strings, optional base attributes are nullable.

use serde_json::{Value, json};

use super::Result;
use super::errors::GlanceResponse;

const UUID_PATTERN: &str = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

fn ro(mut v: Value) -> Value {
    v["readOnly"] = json!(true);
    v
}

/// The properties of an image.
fn image_properties() -> Value {
    json!({
        "id": { "type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN },
        "name": { "type": ["null", "string"], "description": "Descriptive name for the image", "maxLength": 255 },
        "status": ro(json!({ "type": "string", "description": "Status of the image",
            "enum": ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"] })),
        "visibility": { "type": "string", "description": "Scope of image accessibility",
            "enum": ["community", "public", "private", "shared"] },
        "protected": { "type": "boolean", "description": "If true, image will not be deletable." },
        "os_hidden": { "type": "boolean", "description": "If true, image will not appear in default image list response." },
        "checksum": ro(json!({ "type": ["null", "string"], "description": "md5 hash of image contents.", "maxLength": 32 })),
        "os_hash_algo": ro(json!({ "type": ["null", "string"], "description": "Algorithm to calculate the os_hash_value", "maxLength": 64 })),
        "os_hash_value": ro(json!({ "type": ["null", "string"], "description": "Hexdigest of the image contents", "maxLength": 128 })),
        "owner": { "type": ["null", "string"], "description": "Owner of the image", "maxLength": 255 },
        "size": ro(json!({ "type": ["null", "integer"], "description": "Size of image file in bytes" })),
        "virtual_size": ro(json!({ "type": ["null", "integer"], "description": "Virtual size of image in bytes" })),
        "container_format": { "type": ["null", "string"], "description": "Format of the container",
            "enum": [null, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"] },
        "disk_format": { "type": ["null", "string"], "description": "Format of the disk",
            "enum": [null, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"] },
        "created_at": ro(json!({ "type": "string", "description": "Date and time of image registration" })),
        "updated_at": ro(json!({ "type": "string", "description": "Date and time of the last image modification" })),
        "tags": { "type": "array", "description": "List of strings related to the image",
            "items": { "type": "string", "maxLength": 255 } },
        "direct_url": ro(json!({ "type": "string", "description": "URL to access the image file kept in external store" })),
        "min_ram": { "type": "integer", "description": "Amount of ram (in MB) required to boot image." },
        "min_disk": { "type": "integer", "description": "Amount of disk space (in GB) required to boot image." },
        "self": ro(json!({ "type": "string", "description": "An image self url" })),
        "file": ro(json!({ "type": "string", "description": "An image file url" })),
        "stores": ro(json!({ "type": "string", "description": "Store in which image data resides." })),
        "schema": ro(json!({ "type": "string", "description": "An image schema url" })),
        "locations": { "type": "array", "description": "A set of URLs to access the image file kept in external store",
            "items": { "type": "object", "required": ["url", "metadata"],
                "properties": { "url": { "type": "string", "maxLength": 255 }, "metadata": { "type": "object" } } } },
        "kernel_id": { "type": ["null", "string"], "pattern": UUID_PATTERN, "is_base": false,
            "description": "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image." },
        "ramdisk_id": { "type": ["null", "string"], "pattern": UUID_PATTERN, "is_base": false,
            "description": "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image." },
        "instance_uuid": { "type": "string", "is_base": false, "description": "Metadata which can be used to record which instance this image is associated with." },
        "architecture": { "type": "string", "is_base": false, "description": "Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html" },
        "os_distro": { "type": "string", "is_base": false, "description": "Common name of operating system distribution" },
        "os_version": { "type": "string", "is_base": false, "description": "Operating system version as specified by the distributor." },
        "description": { "type": "string", "is_base": false, "description": "A human-readable string describing this image." },
        "cinder_encryption_key_id": { "type": "string", "is_base": false, "description": "Identifier in the OpenStack Key Management Service for the encryption key." },
        "cinder_encryption_key_deletion_policy": { "type": "string", "is_base": false,
            "enum": ["on_image_deletion", "do_not_delete"], "description": "States the condition under which the key is deleted." }
    })
}

pub fn image_schema() -> Value {
    json!({
        "name": "image",
        "properties": image_properties(),
        "additionalProperties": { "type": "string" },
        "links": [
            { "rel": "self", "href": "{self}" },
            { "rel": "enclosure", "href": "{file}" },
            { "rel": "describedby", "href": "{schema}" }
        ]
    })
}

fn member_properties() -> Value {
    json!({
        "member_id": { "type": "string", "description": "An identifier for the image member (tenantId)" },
        "image_id": { "type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN },
        "created_at": { "type": "string", "description": "Date and time of image member creation" },
        "updated_at": { "type": "string", "description": "Date and time of last modification of image member" },
        "status": { "type": "string", "description": "The status of this image member", "enum": ["pending", "accepted", "rejected"] },
        "schema": ro(json!({ "type": "string" }))
    })
}

fn glance(v: Value) -> axum::response::Response {
    let mut resp = crate::face::json(axum::http::StatusCode::OK, &v);
    resp.extensions_mut().insert(GlanceResponse);
    resp
}

pub async fn image() -> Result<axum::response::Response> {
    Ok(glance(image_schema()))
}

pub async fn images() -> Result<axum::response::Response> {
    Ok(glance(json!({
        "name": "images",
        "properties": {
            "images": { "type": "array", "items": { "name": "image", "properties": image_properties(),
                "additionalProperties": { "type": "string" },
                "links": [{ "rel": "self", "href": "{self}" }, { "rel": "enclosure", "href": "{file}" },
                          { "rel": "describedby", "href": "{schema}" }] } },
            "schema": { "type": "string" },
            "first": { "type": "string" },
            "next": { "type": "string" }
        },
        "links": [
            { "rel": "first", "href": "{first}" },
            { "rel": "next", "href": "{next}" },
            { "rel": "describedby", "href": "{schema}" }
        ]
    })))
}

pub async fn member() -> Result<axum::response::Response> {
    Ok(glance(json!({ "name": "member", "properties": member_properties() })))
}

pub async fn members() -> Result<axum::response::Response> {
    Ok(glance(json!({
        "name": "members",
        "properties": {
            "members": { "type": "array", "items": { "name": "member", "properties": member_properties() } },
            "schema": { "type": "string" }
        },
        "links": [{ "rel": "self", "href": "{self}" }, { "rel": "describedby", "href": "{schema}" }]
    })))
}
