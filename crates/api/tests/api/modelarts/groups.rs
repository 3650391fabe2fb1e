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

/// DeleteImageGroup keeps DeleteImage's rule: while an image of the group is protected
/// the group is not deleted (403 `ModelArts.0108`, nothing deleted). And a ModelArts group
/// holds container images only: a Glance VM image of the same name stays.
async fn group_deletes_keep_protected_images_and_the_faces_images(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let kept = s.register(PROJECT_A, &t, "swr.example.com/ns/guarded:1", json!({})).await;
    let other = s.register(PROJECT_A, &t, "swr.example.com/ns/guarded:2", json!({})).await;
    let ids = [kept["id"].as_str().unwrap().to_owned(), other["id"].as_str().unwrap().to_owned()];
    let protect = |on: bool| {
        let ops = json!([{"op": "replace", "path": "/protected", "value": on}]).to_string();
        let (s, t, id) = (&s, &t, ids[0].clone());
        async move {
            let ct = ("Content-Type", "application/openstack-images-v2.1-json-patch");
            let r = s.raw(Method::PATCH, &format!("/v2/images/{id}"), Some(t), &[ct], Some(&ops)).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    };
    protect(true).await;
    let groups = s.get(&format!("/v1/{PROJECT_A}/images/group?name=guarded"), &t).await;
    let gid = groups.body["data"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/{PROJECT_A}/images/group/{gid}");
    assert_error(&s.call(Method::DELETE, &path, Some(&t), None).await, 403, "ModelArts.0108");
    for id in &ids {
        assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await.status, 200, "nothing was deleted");
    }
    // A VM image of the same owner, namespace and name (its group id is the same).
    let vm = s
        .call(
            Method::POST,
            "/v2/images",
            Some(&t),
            Some(json!({"name": "guarded", "swr_namespace": "ns", "container_format": "bare", "disk_format": "qcow2"})),
        )
        .await;
    assert_eq!(vm.status, 201, "{}", vm.text);
    protect(false).await;
    let deleted = s.call(Method::DELETE, &path, Some(&t), None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["version_count"], 2, "{}", deleted.text);
    for id in &ids {
        assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await.status, 404);
    }
    let vm_id = vm.body["id"].as_str().unwrap();
    assert_eq!(s.get(&format!("/v2/images/{vm_id}"), &t).await.status, 200, "the VM image is not ModelArts'");
}

both_backends!(
    groups_count_tags_and_can_be_updated_and_deleted,
    group_deletes_keep_protected_images_and_the_faces_images
);
