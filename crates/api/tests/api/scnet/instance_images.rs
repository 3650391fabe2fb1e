//! `GET /ai/openapi/v2/instance-service/images` (seed 004).

use imagehub_catalog::{ContainerFormat, DiskFormat, Image, ImageId, Millis, ProjectId, Visibility};
use serde_json::{Value, json};

use super::{IMAGES, assert_seed_shape, python, register_seed_image, run};
use crate::common::{PROJECT_A, PROJECT_B, Server};

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

    let count = |r: &crate::common::Resp| r.body["data"].as_array().unwrap().len();
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

both_backends!(seed_004_samples_work_literally, filters_come_from_query_or_body_and_only_containers_are_listed,);
