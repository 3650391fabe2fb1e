//! RegisterImage: `POST /v1/{project_id}/images`.

use reqwest::Method;
use serde_json::json;

use crate::common::{PROJECT_A, Server, assert_error};

async fn register_derives_namespace_name_tag_and_rejects_duplicates(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let img = s
        .register(
            PROJECT_A,
            &t,
            "swr.example.com/ns/pytorch_1_8:train-1",
            json!({"tags": ["k=v", "plain"], "visibility": "public", "arch": "aarch64"}),
        )
        .await;
    assert_eq!(img["namespace"], "ns");
    assert_eq!(img["name"], "pytorch_1_8");
    assert_eq!(img["tag"], "train-1");
    assert_eq!(img["swr_path"], "swr.example.com/ns/pytorch_1_8:train-1");
    assert_eq!(img["type"], "DEDICATED");
    assert_eq!(img["status"], "ACTIVE");
    assert_eq!(img["visibility"], "PUBLIC");
    assert_eq!(img["arch"], "aarch64");
    // Documented defaults.
    assert_eq!(img["origin"], "CUSTOMIZE");
    assert_eq!(img["resource_categories"], json!(["CPU", "GPU"]));
    assert_eq!(img["dev_services"], json!(["NOTEBOOK", "SSH"]));
    assert_eq!(img["service_type"], "UNKNOWN");
    assert_eq!(img["workspace_id"], "0");
    assert_eq!(img["tags"], json!([{"key": "k", "value": "v"}, {"key": "plain", "value": ""}]));
    assert!(img["create_at"].as_i64().unwrap() > 1_700_000_000_000);

    let again = s
        .call(
            Method::POST,
            &format!("/v1/{PROJECT_A}/images"),
            Some(&t),
            Some(json!({"swr_path": "swr.example.com/ns/pytorch_1_8:train-1"})),
        )
        .await;
    assert_error(&again, 400, "ModelArts.6737");

    // Shown and listed through the same face.
    let id = img["id"].as_str().unwrap();
    let shown = s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await;
    assert_eq!(shown.body, img);
    let listed = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["data"][0]["id"], id);
    assert!(
        listed.body["data"][0].get("support_res_categories").is_none(),
        "list items have no support_res_categories"
    );
}

both_backends!(register_derives_namespace_name_tag_and_rejects_duplicates,);
