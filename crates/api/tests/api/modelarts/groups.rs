//! ListImageGroup, UpdateImageGroup, DeleteImageGroup: `/v1/{project_id}/images/group[/{id}]`.

use reqwest::Method;
use serde_json::json;

use crate::common::{PROJECT_A, Server, assert_error};

async fn groups_count_tags_and_can_be_updated_and_deleted(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    for tag in ["1", "2", "3"] {
        s.register(PROJECT_A, &t, &format!("swr.example.com/ns/pytorch_1_8:train-{tag}"), json!({})).await;
    }
    s.register(PROJECT_A, &t, "swr.example.com/ns/other:1", json!({"read_me": "# other"})).await;
    let groups = s.get(&format!("/v1/{PROJECT_A}/images/group?type=DEDICATED&sort_key=name&sort_dir=asc"), &t).await;
    assert_eq!(groups.body["total"], 2, "{}", groups.text);
    let data = groups.body["data"].as_array().unwrap();
    assert_eq!(data[0]["name"], "other");
    assert_eq!(data[0]["read_me"], "# other");
    assert_eq!(data[1]["name"], "pytorch_1_8");
    assert_eq!(data[1]["version_count"], 3);
    let gid = data[1]["id"].as_str().unwrap().to_owned();

    let upd = s
        .call(
            Method::PUT,
            &format!("/v1/{PROJECT_A}/images/group/{gid}"),
            Some(&t),
            Some(json!({"read_me": "hello", "tags": [{"key": "team", "value": "cv"}]})),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(upd.body["read_me"], "hello");
    assert_eq!(upd.body["tags"], json!([{"key": "team", "value": "cv"}]));
    let filtered = s.get(&format!("/v1/{PROJECT_A}/images/group?name=pytorch_1_8&name_fuzzy_match=false"), &t).await;
    assert_eq!(filtered.body["total"], 1);
    assert_eq!(filtered.body["data"][0]["read_me"], "hello");

    let del = s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/group/{gid}"), Some(&t), None).await;
    assert_eq!(del.status, 200, "{}", del.text);
    assert_eq!(del.body["version_count"], 3);
    let after = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert_eq!(after.body["total"], 1);
    let gone = s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/group/{gid}"), Some(&t), None).await;
    assert_error(&gone, 404, "ModelArts.6797");
}

both_backends!(groups_count_tags_and_can_be_updated_and_deleted,);
