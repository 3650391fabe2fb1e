//! The SCNet face against seed 004, with its own curl and Python `requests` samples run
//! literally, and every error code path.

mod errors;
mod image_list;
mod instance_images;
mod tokens;

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{PROJECT_A, Server, fixture, json_type};

pub(super) const IMAGES: &str = "/ai/openapi/v2/instance-service/images";

pub(super) const LIST: &str = "/ai/openapi/v2/image/images";

pub(super) const PATH: &str = "ip:5000/dcu/admin/base/jupyterlab:3.2.9-python3.8.3-dtk22.04.1";

pub(super) const DIGEST: &str = "sha256:a459747da8ca823d0067def6dac5ac46a446fa37a1c184e114e462c30f0d541e";

/// The image of seed 004's example, registered through the ModelArts face.
pub(super) async fn register_seed_image(s: &Server, token: &str) -> Value {
    s.register(
        PROJECT_A,
        token,
        PATH,
        json!({"accelerator_type": "dcu", "image_type": "Base", "digest": DIGEST, "user": "admin"}),
    )
    .await
}

pub(super) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Runs a client program; `None` (a loud skip) if it is not installed outside CI.
pub(super) fn run(program: &str, args: &[&str]) -> Option<String> {
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

pub(super) fn python() -> String {
    std::env::var("IMAGEHUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Field names and JSON types as seed 004's example; values as registered.
pub(super) fn assert_seed_shape(item: &Value, registered: &Value) {
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
