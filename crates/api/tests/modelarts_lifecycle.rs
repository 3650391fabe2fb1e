//! ModelArts register → list → groups → update → delete, as a user drives it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{ADMIN_TOKEN, PROJECT_A, SYSTEM, Server, assert_error};
use reqwest::Method;
use serde_json::json;

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

async fn delete_image_answers_deleted_and_builtin_needs_admin(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let img = s.register(PROJECT_A, &t, "swr.example.com/ns/n:t1", json!({})).await;
    let id = img["id"].as_str().unwrap();
    let del = s
        .call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&t), Some(json!({"is_force": true})))
        .await;
    assert_eq!(del.status, 200, "{}", del.text);
    assert_eq!(del.body["status"], "DELETED");
    assert_eq!(del.body["id"], id);
    assert_error(&s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await, 404, "ModelArts.6797");
    assert_error(
        &s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&t), None).await,
        404,
        "ModelArts.6797",
    );

    let builtin = "e1a07296-22a8-4f05-8bc8-e936c8e54099";
    let refused = s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{builtin}"), Some(&t), None).await;
    assert_error(&refused, 403, "ModelArts.0108");
    let ok = s.call(Method::DELETE, &format!("/v1/{SYSTEM}/images/{builtin}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images"), &t).await.body["total"], 23);
}

async fn readers_read_but_do_not_write(s: Server) {
    let member = s.token(PROJECT_A, "member").await;
    let reader = s.token(PROJECT_A, "reader").await;
    let img = s.register(PROJECT_A, &member, "swr.example.com/ns/n:t1", json!({})).await;
    let id = img["id"].as_str().unwrap();
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &reader).await.status, 200);
    let r = s
        .call(
            Method::POST,
            &format!("/v1/{PROJECT_A}/images"),
            Some(&reader),
            Some(json!({"swr_path": "swr.example.com/ns/n:t2"})),
        )
        .await;
    assert_error(&r, 403, "ModelArts.0108");
    let r = s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&reader), None).await;
    assert_error(&r, 403, "ModelArts.0108");
}

async fn list_filters_sort_and_paging(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    for (i, path) in [
        "swr.example.com/ns/alpha:1",
        "swr.example.com/ns/alpha:2",
        "swr.example.com/ns2/beta:1",
        "swr.example.com/ns/gamma_x:1",
    ]
    .iter()
    .enumerate()
    {
        let extra = if i == 2 { json!({"service_type": "TRAIN", "arch": "AARCH64"}) } else { json!({}) };
        s.register(PROJECT_A, &t, path, extra).await;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let names = |r: &common::Resp| {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| format!("{}:{}", i["name"].as_str().unwrap(), i["tag"].as_str().unwrap()))
            .collect::<Vec<_>>()
    };
    let base = format!("/v1/{PROJECT_A}/images?type=DEDICATED");
    assert_eq!(names(&s.get(&base, &t).await), ["gamma_x:1", "beta:1", "alpha:2", "alpha:1"]);
    assert_eq!(names(&s.get(&format!("{base}&sort_dir=ASC"), &t).await), ["alpha:1", "alpha:2", "beta:1", "gamma_x:1"]);
    assert_eq!(
        names(&s.get(&format!("{base}&sort_key=name,tag&sort_dir=asc"), &t).await),
        ["alpha:1", "alpha:2", "beta:1", "gamma_x:1"]
    );
    assert_eq!(
        names(&s.get(&format!("{base}&sort_key=updateTime&sort_dir=asc"), &t).await),
        ["alpha:1", "alpha:2", "beta:1", "gamma_x:1"]
    );
    assert_eq!(names(&s.get(&format!("{base}&name=alpha"), &t).await), ["alpha:2", "alpha:1"]);
    assert_eq!(
        names(&s.get(&format!("{base}&name=a_x"), &t).await),
        ["gamma_x:1"],
        "underscore is literal, not a wildcard"
    );
    assert_eq!(names(&s.get(&format!("{base}&name=alph&name_fuzzy_match=false"), &t).await), Vec::<String>::new());
    assert_eq!(names(&s.get(&format!("{base}&namespace=ns2"), &t).await), ["beta:1"]);
    assert_eq!(names(&s.get(&format!("{base}&service_type=TRAIN"), &t).await), ["beta:1"]);
    assert_eq!(names(&s.get(&format!("{base}&arch=aarch64"), &t).await), ["beta:1"]);
    assert_eq!(names(&s.get(&format!("{base}&workspace_id=other"), &t).await), Vec::<String>::new());

    // Offset paging as clients do it: offset += len(data) until len(data) < limit.
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let r = s.get(&format!("{base}&sort_dir=asc&limit=3&offset={offset}"), &t).await;
        assert_eq!(r.body["size"], 3);
        assert_eq!(r.body["total"], 4);
        assert_eq!(r.body["pages"], 2);
        assert_eq!(r.body["current"], offset / 3);
        let page = names(&r);
        offset += page.len();
        let done = page.len() < 3;
        seen.extend(page);
        if done {
            break;
        }
    }
    assert_eq!(seen, ["alpha:1", "alpha:2", "beta:1", "gamma_x:1"]);
    // Built-in and dedicated together are two separate `type` lists.
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images?type=BUILD_IN&limit=1"), &t).await.body["total"], 24);
}

async fn admin_acts_in_any_project(s: Server) {
    let img = s.register(PROJECT_A, ADMIN_TOKEN, "swr.example.com/ns/n:t1", json!({})).await;
    let t = s.token(PROJECT_A, "member").await;
    // Registered by the admin in project A's path: owned by project A.
    let mine = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert_eq!(mine.body["data"][0]["id"], img["id"]);
}

both_backends!(
    register_derives_namespace_name_tag_and_rejects_duplicates,
    groups_count_tags_and_can_be_updated_and_deleted,
    delete_image_answers_deleted_and_builtin_needs_admin,
    readers_read_but_do_not_write,
    list_filters_sort_and_paging,
    admin_acts_in_any_project
);
