//! Snapshots of each face's image and list shapes (insta, in `snapshots/`), the same on
//! both backends: a change to a field's name, type, order or word shows as a diff to
//! review. Ids and times that differ per run are redacted; the preset images' are not.

use insta::assert_json_snapshot;
use reqwest::Method;
use serde_json::json;

use crate::common::{PROJECT_A, Server};

/// The registration every snapshot shows, with every attribute a client can set.
async fn registered(s: &Server, t: &str) -> String {
    let body = json!({
        "arch": "AARCH64", "description": "a training image", "origin": "IMAGE_SAVE",
        "resource_category": ["ASCEND", "CPU"], "service_type": "TRAIN", "services": ["NOTEBOOK", "SSH"],
        "visibility": "PRIVATE", "workspace_id": "0", "flavor_type": "ASCEND_SNT9", "tags": ["stage=dev", "gpu"],
        "read_me": "# pytorch", "accelerator_type": "npu", "image_type": "jupyterlab",
        "digest": format!("sha256:{}", "ab".repeat(32)), "size": 1024, "user": "alice",
    });
    let i = s.register(PROJECT_A, t, "swr.example.com/team/pytorch_2_1:train-1", body).await;
    i["id"].as_str().unwrap().to_owned()
}

async fn modelarts_shapes(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let id = registered(&s, &t).await;
    let show = s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await;
    assert_json_snapshot!("modelarts_show", show.body, { ".id" => "[id]", ".create_at" => "[time]", ".update_at" => "[time]" });
    let builtin = s.get(&format!("/v1/{PROJECT_A}/images?limit=2"), &t).await;
    assert_json_snapshot!("modelarts_list_builtin", builtin.body);
    let own = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert_json_snapshot!("modelarts_list_dedicated", own.body, {
        ".data[].id" => "[id]", ".data[].create_at" => "[time]", ".data[].update_at" => "[time]",
    });
    let groups = s.get(&format!("/v1/{PROJECT_A}/images/group?type=DEDICATED"), &t).await;
    assert_json_snapshot!("modelarts_groups", groups.body, { ".data[].create_at" => "[time]", ".data[].update_at" => "[time]" });
}

async fn glance_shapes(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let id = registered(&s, &t).await;
    let body = json!({"name": "ubuntu", "container_format": "bare", "disk_format": "qcow2", "visibility": "private",
        "min_disk": 2, "tags": ["lts"], "os_distro": "ubuntu", "__os_bit": "64"});
    let vm = s.call(Method::POST, "/v2/images", Some(&t), Some(body)).await;
    let redact = |prefix: &str| ["id", "created_at", "updated_at", "self", "file"].map(|k| format!("{prefix}.{k}"));
    let mut settings = insta::Settings::clone_current();
    for sel in redact("").iter().chain(&redact(".images[]")) {
        settings.add_redaction(sel.as_str(), "[redacted]");
    }
    settings.add_redaction(".next", "[redacted]");
    settings.bind(|| {
        assert_json_snapshot!("glance_create", vm.body);
    });
    let container = s.get(&format!("/v2/images/{id}"), &t).await;
    settings.bind(|| assert_json_snapshot!("glance_show_container", container.body));
    let list = s.get("/v2/images?visibility=private&sort=name:asc&limit=1", &t).await;
    settings.bind(|| assert_json_snapshot!("glance_list", list.body));
}

async fn scnet_shapes(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    registered(&s, &t).await;
    let get = s.get("/ai/openapi/v2/instance-service/images?acceleratorType=npu", &t).await;
    assert_json_snapshot!("scnet_instance_images", get.body, { ".data[].id" => "[id]", ".data[].createTime" => "[time]" });
    let body = json!({"access": "private", "orderBy": "create_time", "sort": "DESC", "start": 0, "limit": 10});
    let post = s.call(Method::POST, "/ai/openapi/v2/image/images", Some(&t), Some(body)).await;
    assert_json_snapshot!("scnet_image_list", post.body, { ".data.data[].id" => "[id]", ".data.data[].createTime" => "[time]" });
}

both_backends!(modelarts_shapes, glance_shapes, scnet_shapes);
