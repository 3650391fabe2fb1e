//! The seed examples: ListImage (seed 000), ShowImage (seed 001), ListImageGroup (seed 002).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Creation time of a preset image the seed gives no time for (`preset::PRESET_EPOCH`).
const PRESET_EPOCH: i64 = 1_640_000_000_000;

use crate::common::{ADMIN_TOKEN, PROJECT_A, SYSTEM, Server, fixture, json_type};

/// ListImage with the seed's query (all defaults: type BUILD_IN, limit 200, offset 0)
/// answers the seed's 24 built-in images, field for field.
async fn list_image_reproduces_seed_000(s: Server) {
    let seed = fixture("seed000_list_response.json");
    let user = s.token(PROJECT_A, "member").await;
    for token in [ADMIN_TOKEN.to_string(), user] {
        let project = if token == ADMIN_TOKEN { SYSTEM } else { PROJECT_A };
        let r = s.get(&format!("/v1/{project}/images"), &token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ours = &r.body;
        // Envelope: computed by the spec's rules over the 24 images shipped.
        assert_eq!(ours["current"], 0);
        assert_eq!(ours["size"], seed["size"]);
        assert_eq!(ours["total"], 24);
        assert_eq!(ours["pages"], 1);
        let env_keys: Vec<&String> = ours.as_object().unwrap().keys().collect();
        let seed_keys: Vec<&String> = seed.as_object().unwrap().keys().collect();
        assert_eq!(env_keys, seed_keys);

        let by_id: BTreeMap<&str, &Value> =
            ours["data"].as_array().unwrap().iter().map(|i| (i["id"].as_str().unwrap(), i)).collect();
        let seed_items = seed["data"].as_array().unwrap();
        assert_eq!(by_id.len(), 24);
        assert_eq!(seed_items.len(), 24);
        for want in seed_items {
            let id = want["id"].as_str().unwrap();
            let got = by_id.get(id).unwrap_or_else(|| panic!("image {id} missing"));
            for (k, v) in want.as_object().unwrap() {
                assert_eq!(&got[k], v, "image {id} field {k}");
                assert_eq!(json_type(&got[k]), json_type(v), "image {id} field {k} type");
            }
            // Fields the seed omits are filled with the documented defaults only.
            for (k, v) in got.as_object().unwrap() {
                if want.get(k).is_some() {
                    continue;
                }
                let expected = match k.as_str() {
                    "visibility" => json!("PUBLIC"),
                    "status" => json!("ACTIVE"),
                    "create_at" => want.get("update_at").cloned().unwrap_or(json!(PRESET_EPOCH)),
                    "update_at" => want.get("create_at").cloned().unwrap_or(json!(PRESET_EPOCH)),
                    other => panic!("image {id}: field {other} is not in the seed and has no documented default"),
                };
                assert_eq!(v, &expected, "image {id}: default of {k}");
            }
        }
    }
}

/// Field names and JSON types of ShowImage, per seed 001's field table and example.
async fn show_image_matches_seed_001_fields_and_types(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let seed = fixture("seed001_show_response.json");
    // Seed 001's response table (plus `tags`, from the SDK's model) with JSON types.
    let table: BTreeMap<&str, &str> = [
        ("arch", "string"),
        ("create_at", "integer"),
        ("description", "string"),
        ("dev_services", "array"),
        ("id", "string"),
        ("name", "string"),
        ("namespace", "string"),
        ("origin", "string"),
        ("resource_categories", "array"),
        ("service_type", "string"),
        ("size", "integer"),
        ("status", "string"),
        ("status_message", "string"),
        ("support_res_categories", "array"),
        ("swr_path", "string"),
        ("tag", "string"),
        ("type", "string"),
        ("update_at", "integer"),
        ("visibility", "string"),
        ("workspace_id", "string"),
        ("flavor_type", "string"),
        ("tags", "array"),
    ]
    .into();
    let registered = s
        .register(
            PROJECT_A,
            &token,
            "swr.example.com/atelier/pytorch_1_8:pytorch_1.8.0-cuda_10.2",
            json!({"description": "d", "service_type": "COMMON", "flavor_type": "ASCEND_SNT9", "tags": ["a=b"]}),
        )
        .await;
    let id = registered["id"].as_str().unwrap();
    // A preset (seed 001 shows one) and a registered image.
    for path in
        [format!("/v1/{PROJECT_A}/images/278e88d1-5b71-4766-8502-b3ba72e824d9"), format!("/v1/{PROJECT_A}/images/{id}")]
    {
        let r = s.get(&path, &token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        for (k, v) in r.body.as_object().unwrap() {
            let want = table.get(k.as_str()).unwrap_or_else(|| panic!("{path}: field {k} not in seed 001"));
            assert_eq!(json_type(v), *want, "{path}: type of {k}");
        }
        if path.ends_with(id) {
            for (k, v) in seed.as_object().unwrap() {
                assert_eq!(json_type(&r.body[k]), json_type(v), "{path}: seed field {k} missing or mistyped");
            }
        }
    }
    // The preset of seed 001's example keeps the seed 000 values (its id is shared).
    let r = s.get(&format!("/v1/{PROJECT_A}/images/278e88d1-5b71-4766-8502-b3ba72e824d9"), &token).await;
    assert_eq!(r.body["name"], seed["name"]);
    assert_eq!(r.body["create_at"], seed["create_at"]);
    assert_eq!(r.body["support_res_categories"], json!(["CPU", "GPU"]));
}

/// ListImageGroup: seed 002's envelope and item shape, computed from registered images.
async fn list_image_group_matches_seed_002_shape(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let seed = fixture("seed002_group_response.json");
    for (ns, name, tag) in [
        ("xxxxx-infer-model-dev", "123", "v1"),
        ("op_svc_modelarts_container2", "pytorch_1_8", "train-1"),
        ("mock-service1", "mock-service-python", "1.0"),
    ] {
        s.register(PROJECT_A, &token, &format!("swr.example.com/{ns}/{name}:{tag}"), json!({})).await;
    }
    let r = s.get(&format!("/v1/{PROJECT_A}/images/group?type=DEDICATED"), &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for k in ["current", "pages", "size", "total"] {
        assert_eq!(r.body[k], seed[k], "envelope {k}");
    }
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&r.body), keys(&seed));
    let seed_item = &seed["data"][0];
    for item in r.body["data"].as_array().unwrap() {
        for (k, v) in seed_item.as_object().unwrap() {
            assert_eq!(json_type(&item[k]), json_type(v), "group field {k}");
        }
        for k in keys(item) {
            assert!(seed_item.get(&k).is_some() || ["id", "read_me", "tags"].contains(&k.as_str()), "extra field {k}");
        }
        assert_eq!(item["version_count"], 1);
    }
    // Seed 002 lists its groups newest-updated first (the default sort).
    let updates: Vec<i64> =
        r.body["data"].as_array().unwrap().iter().map(|g| g["update_at"].as_i64().unwrap()).collect();
    assert!(updates.windows(2).all(|w| w[0] >= w[1]), "{updates:?}");
}

both_backends!(
    list_image_reproduces_seed_000,
    show_image_matches_seed_001_fields_and_types,
    list_image_group_matches_seed_002_shape,
);
