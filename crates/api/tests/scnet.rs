//! The SCNet face against seed 004, with its own curl and Python `requests` samples run
//! literally, and every error code path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::process::Command;

use common::{PROJECT_A, PROJECT_B, Server, fixture, json_type};
use imagehub_catalog::{ContainerFormat, DiskFormat, Image, ImageId, Millis, ProjectId, Visibility};
use reqwest::Method;
use serde_json::{Value, json};

const IMAGES: &str = "/ai/openapi/v2/instance-service/images";
const LIST: &str = "/ai/openapi/v2/image/images";
const PATH: &str = "ip:5000/dcu/admin/base/jupyterlab:3.2.9-python3.8.3-dtk22.04.1";
const DIGEST: &str = "sha256:a459747da8ca823d0067def6dac5ac46a446fa37a1c184e114e462c30f0d541e";

/// The image of seed 004's example, registered through the ModelArts face.
async fn register_seed_image(s: &Server, token: &str) -> Value {
    s.register(
        PROJECT_A,
        token,
        PATH,
        json!({"accelerator_type": "dcu", "image_type": "Base", "digest": DIGEST, "user": "admin"}),
    )
    .await
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Runs a client program; `None` (a loud skip) if it is not installed outside CI.
fn run(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap()),
        Ok(out) if !in_ci() && String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            eprintln!("*** SKIPPED: {program} lacks a module: {}", String::from_utf8_lossy(&out.stderr));
            None
        }
        Ok(out) => panic!("{program} failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) if !in_ci() => {
            eprintln!("*** SKIPPED: {program} is not available: {e}");
            None
        }
        Err(e) => panic!("{program} is not available in CI: {e}"),
    }
}

fn python() -> String {
    std::env::var("IMAGEHUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Field names and JSON types as seed 004's example; values as registered.
fn assert_seed_shape(item: &Value, registered: &Value) {
    let seed = fixture("seed004_images_response.json");
    let want = &seed["data"];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(item), keys(want), "ImagesVo field names");
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(json_type(&item[k]), json_type(v), "type of {k}");
    }
    for k in ["acceleratorType", "access", "appIcon", "imageId", "name", "path", "tag", "type", "user", "version"] {
        assert_eq!(item[k], want[k], "{k}");
    }
    assert_eq!(item["isPresetImage"], false);
    assert_eq!(item["id"], registered["id"].as_str().unwrap().replace('-', ""));
    let created = registered["create_at"].as_i64().unwrap();
    assert_eq!(item["createTime"], imagehub_api::time::local_seconds(created, 0));
}

async fn seed_004_samples_work_literally(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let registered = register_seed_image(&s, &token).await;
    let url = format!("{}{IMAGES}", s.base);
    let payload = r#"{
  "acceleratorType": "dcu",
  "imageType": "Base"
}"#;
    // The cURL sample, as documented.
    let out = run(
        "curl",
        &[
            "-sS",
            "--location",
            "--request",
            "GET",
            &url,
            "--header",
            &format!("token: {token}"),
            "--header",
            "Content-Type: application/json",
            "--data",
            payload,
        ],
    );
    // The Python sample, as documented.
    let script = format!(
        r#"import requests
import json

url = "{url}"
payload = json.dumps({{
  "acceleratorType": "dcu",
  "imageType": "Base"
}})
headers = {{
  "token": "{token}",
  "Content-Type": "application/json"
}}

response = requests.request("GET", url, headers=headers, data=payload)
print(response.text)
"#
    );
    let py = run(&python(), &["-c", &script]);
    for (client, text) in [("curl", out), ("python requests", py)] {
        let Some(text) = text else { continue };
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{client}: {e}: {text}"));
        assert_eq!(body["code"], "0", "{client}: {text}");
        assert_eq!(body["msg"], "success");
        let data = body["data"].as_array().unwrap_or_else(|| panic!("{client}: data is not a list: {text}"));
        // Only the dcu/Base image matches (the 24 built-in images are gpu/npu/cpu).
        assert_eq!(data.len(), 1, "{client}: {text}");
        assert_seed_shape(&data[0], &registered);
    }
}

async fn filters_come_from_query_or_body_and_only_containers_are_listed(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    register_seed_image(&s, &token).await;
    s.register(
        PROJECT_A,
        &token,
        "swr.example.com/ns/rstudio:1",
        json!({"image_type": "rstudio", "resource_category": ["GPU"]}),
    )
    .await;
    // A VM image in the catalog: never listed by the SCNet face.
    let mut vm = Image::blank(ImageId::new_random(), ProjectId::parse(PROJECT_A).unwrap(), Millis::now());
    vm.name = Some("ubuntu-22.04".into());
    vm.visibility = Visibility::Public;
    vm.container_format = Some(ContainerFormat::Bare);
    vm.disk_format = Some(DiskFormat::Qcow2);
    s.stores.images.insert_image(&vm, None).await.unwrap();

    let get = |q: &'static str, body: Option<Value>| {
        let (s, token) = (&s, token.clone());
        async move {
            let mut req = s.http.get(format!("{}{IMAGES}{q}", s.base)).header("token", token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            Server::read(req.send().await.unwrap()).await
        }
    };
    let all = get("", None).await;
    assert_eq!(all.status, 200);
    let data = all.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 26, "24 built-in + 2 registered, no VM image: {}", all.text);
    assert!(!all.text.contains("ubuntu-22.04"));
    let presets: Vec<&Value> = data.iter().filter(|i| i["isPresetImage"] == true).collect();
    assert_eq!(presets.len(), 24);
    assert!(presets.iter().all(|i| i["access"] == "public" && i["type"] == "Base" && i["user"] == "system"));
    // Accelerator derived from resource categories for the presets.
    let by_name = |n: &str| data.iter().find(|i| i["name"] == n).unwrap().clone();
    assert_eq!(by_name("mindspore1.2.0-openmpi2.1.1-ubuntu18.04")["acceleratorType"], "cpu");
    assert_eq!(by_name("pytorch1.4-cuda10.1-cudnn7-ubuntu18.04")["acceleratorType"], "gpu");
    assert_eq!(by_name("mindstudio3.0.2-ascend910-cann3.3.0-ubuntu18.04-aarch64")["acceleratorType"], "npu");

    let count = |r: &common::Resp| r.body["data"].as_array().unwrap().len();
    assert_eq!(count(&get("?acceleratorType=dcu", None).await), 1);
    assert_eq!(count(&get("?imageType=RStudio", None).await), 1, "type canonicalised");
    assert_eq!(count(&get("", Some(json!({"imageType": "rstudio"}))).await), 1);
    assert_eq!(count(&get("", Some(json!({"acceleratorType": "npu"}))).await), 4);
    // The query wins over the body.
    assert_eq!(count(&get("?acceleratorType=dcu", Some(json!({"acceleratorType": "npu"}))).await), 1);
    // Empty values mean "no filter".
    assert_eq!(count(&get("", Some(json!({"acceleratorType": "", "imageType": ""}))).await), 26);

    // Another project sees the public images only.
    let b = s.token(PROJECT_B, "member").await;
    let r = Server::read(s.http.get(format!("{}{IMAGES}", s.base)).header("token", &b).send().await.unwrap()).await;
    assert_eq!(count(&r), 24);
}

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

async fn errors_use_the_scnet_codes(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let send = |method: Method, path: &'static str, tok: Option<&str>, ct: Option<&str>, body: Option<&str>| {
        let s = &s;
        let (tok, ct, body) = (tok.map(str::to_owned), ct.map(str::to_owned), body.map(str::to_owned));
        async move {
            let mut req = s.http.request(method, format!("{}{path}", s.base));
            if let Some(t) = tok {
                req = req.header("token", t);
            }
            if let Some(c) = ct {
                req = req.header("Content-Type", c);
            }
            if let Some(b) = body {
                req = req.body(b);
            }
            Server::read(req.send().await.unwrap()).await
        }
    };
    let t = Some(token.as_str());
    let json_ct = Some("application/json");
    let valid = r#"{"access":"private","orderBy":"create_time","sort":"DESC","start":0,"limit":10}"#;
    let cases: Vec<(&str, common::Resp, u16, &str)> = vec![
        ("missing token", send(Method::GET, IMAGES, None, None, None).await, 401, "10009"),
        ("unknown token", send(Method::GET, IMAGES, Some("nope-not-a-token"), None, None).await, 401, "10009"),
        ("GET body not JSON", send(Method::GET, IMAGES, t, json_ct, Some("{acceleratorType: dcu")).await, 200, "10004"),
        (
            "GET body wrong type",
            send(Method::GET, IMAGES, t, json_ct, Some(r#"{"acceleratorType": 5}"#)).await,
            200,
            "10004",
        ),
        (
            "bad acceleratorType",
            send(Method::GET, "/ai/openapi/v2/instance-service/images?acceleratorType=d%20cu", t, None, None).await,
            200,
            "10004",
        ),
        ("POST without body", send(Method::POST, LIST, t, json_ct, None).await, 200, "10004"),
        (
            "POST missing access",
            send(
                Method::POST,
                LIST,
                t,
                json_ct,
                Some(r#"{"orderBy":"create_time","sort":"DESC","start":0,"limit":10}"#),
            )
            .await,
            200,
            "10003",
        ),
        (
            "POST missing limit",
            send(
                Method::POST,
                LIST,
                t,
                json_ct,
                Some(r#"{"access":"public","orderBy":"create_time","sort":"DESC","start":0}"#),
            )
            .await,
            200,
            "10003",
        ),
        (
            "POST bad access",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("private", "shared"))).await,
            200,
            "10004",
        ),
        (
            "POST bad orderBy",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("create_time", "size"))).await,
            200,
            "10004",
        ),
        (
            "POST bad sort",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("DESC", "DOWN"))).await,
            200,
            "10004",
        ),
        (
            "POST limit 0",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("\"limit\":10", "\"limit\":0"))).await,
            200,
            "10004",
        ),
        (
            "POST negative start",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("\"start\":0", "\"start\":-1"))).await,
            200,
            "10004",
        ),
        ("POST text body", send(Method::POST, LIST, t, Some("text/plain"), Some("hello")).await, 200, "10004"),
        ("unknown route", send(Method::GET, "/ai/openapi/v2/nope", t, None, None).await, 404, "10009"),
    ];
    for (what, r, status, code) in cases {
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
        assert_eq!(r.body["code"], code, "{what}: {}", r.text);
        assert!(r.body["msg"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
        assert!(r.body.get("data").is_some_and(Value::is_null), "{what}: {}", r.text);
    }
    let ok = send(Method::POST, LIST, t, json_ct, Some(valid)).await;
    assert_eq!(ok.body["code"], "0", "{}", ok.text);
}

both_backends!(
    seed_004_samples_work_literally,
    filters_come_from_query_or_body_and_only_containers_are_listed,
    post_image_list_pages_sorts_and_filters,
    errors_use_the_scnet_codes
);
