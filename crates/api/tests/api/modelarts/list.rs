//! ListImage: `GET /v1/{project_id}/images`.

use serde_json::json;

use crate::common::{ADMIN_TOKEN, PROJECT_A, Server};

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
    let names = |r: &crate::common::Resp| {
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

both_backends!(list_filters_sort_and_paging, admin_acts_in_any_project,);
