//! `POST /ai/openapi/v2/image/images`.

use serde_json::{Value, json};

use super::LIST;
use crate::common::{PROJECT_A, Server};

async fn post_image_list_pages_sorts_and_filters(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    for n in 0..5 {
        s.register(
            PROJECT_A,
            &token,
            &format!("swr.example.com/team/notebook:v{n}"),
            json!({"size": 1000 + n, "description": format!("d{n}"), "image_type": "JupyterLab"}),
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    s.register(PROJECT_A, &token, "swr.example.com/team/other:x", json!({"visibility": "PUBLIC"})).await;
    let post = |body: Value| {
        let (s, token) = (&s, token.clone());
        async move {
            Server::read(
                s.http.post(format!("{}{LIST}", s.base)).header("token", token).json(&body).send().await.unwrap(),
            )
            .await
        }
    };
    let base = json!({"access": "private", "orderBy": "create_time", "sort": "DESC", "start": 0, "limit": 2});
    let r = post(base.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["code"], "0", "{}", r.text);
    assert_eq!(r.body["data"]["total"], 5);
    let items = r.body["data"]["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["version"], "notebook:v4");
    assert_eq!(items[0]["imageSize"], "1004");
    assert_eq!(items[0]["status"], "Completed");
    assert_eq!(items[0]["type"], "JupyterLab");
    assert_eq!(items[0]["cloneTimes"], 0);
    assert_eq!(items[0]["description"], "d4");
    let mut page2 = base.clone();
    page2["start"] = json!(4);
    page2["sort"] = json!("asc");
    let r = post(page2).await;
    assert_eq!(r.body["data"]["data"][0]["version"], "notebook:v4");
    assert_eq!(r.body["data"]["data"].as_array().unwrap().len(), 1);
    let mut fuzzy = base.clone();
    fuzzy["name"] = json!("book:v3");
    fuzzy["limit"] = json!("10");
    assert_eq!(post(fuzzy).await.body["data"]["total"], 1);
    let mut public = base.clone();
    public["access"] = json!("public");
    public["limit"] = json!(100);
    assert_eq!(post(public).await.body["data"]["total"], 25, "24 built-in + 1 public");
    let mut typed = base.clone();
    typed["type"] = json!("jupyterlab");
    typed["acceleratorType"] = json!("GPU");
    assert_eq!(post(typed).await.body["data"]["total"], 5);
}

both_backends!(post_image_list_pages_sorts_and_filters,);
