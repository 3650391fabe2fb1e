//! `GET /v2/images`: filters, sort, marker paging, `first`/`next`.

use reqwest::Method;
use serde_json::{Value, json};

use super::{JSON, assert_glance_error, create};
use crate::common::{PROJECT_A, PROJECT_B, Resp, Server};

async fn list_filters_sort_paging_and_links(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let body = json!({
            "name": format!("img-{n}"), "visibility": "private", "tags": if n % 2 == 0 { json!(["even", "all"]) } else { json!(["all"]) },
            "container_format": "bare", "disk_format": if n < 3 { "raw" } else { "qcow2" }, "min_ram": n * 256,
            "os_distro": if n % 3 == 0 { "ubuntu" } else { "centos" }, "os_hidden": n == 6, "protected": n == 5,
        });
        ids.push(create(&s, &t, body).await["id"].as_str().unwrap().to_owned());
    }
    let names = |r: &Resp| {
        r.body["images"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let q = |query: &str| format!("/v2/images?visibility=private&{query}");
    assert_eq!(
        names(&s.get(&q("sort=name:asc"), &t).await),
        ["img-0", "img-1", "img-2", "img-3", "img-4", "img-5"],
        "hidden excluded by default"
    );
    assert_eq!(names(&s.get(&q("os_hidden=true"), &t).await), ["img-6"]);
    assert_eq!(names(&s.get(&q("tag=even&tag=all&sort_key=name&sort_dir=asc"), &t).await), ["img-0", "img-2", "img-4"]);
    assert_eq!(names(&s.get(&q("os_distro=ubuntu&sort=name:asc"), &t).await), ["img-0", "img-3"]);
    assert_eq!(names(&s.get(&q("name=in:img-1,%22img-2%22&sort=name:asc"), &t).await), ["img-1", "img-2"]);
    assert_eq!(names(&s.get(&q("name=eq:img-4"), &t).await), ["img-4"]);
    assert_eq!(
        names(&s.get(&q("disk_format=qcow2&min_ram_min=768&sort=name:desc"), &t).await),
        ["img-5", "img-4", "img-3"]
    );
    assert_eq!(names(&s.get(&q("protected=true"), &t).await), ["img-5"]);
    assert_eq!(names(&s.get(&q("min_ram=512"), &t).await), ["img-2"]);
    // Time filters: a created_at copied from a response finds its image.
    let created = s.get(&format!("/v2/images/{}", ids[0]), &t).await.body["created_at"].as_str().unwrap().to_owned();
    assert!(names(&s.get(&q(&format!("created_at=eq:{created}")), &t).await).contains(&"img-0".to_owned()));
    assert!(
        names(&s.get(&q(&format!("created_at=lte:{}", created.replace('T', "%20").trim_end_matches('Z'))), &t).await)
            .contains(&"img-0".to_owned())
    );
    assert_eq!(names(&s.get(&q("created_at=lt:2000-01-01T00:00:00Z"), &t).await), Vec::<String>::new());
    // Paging: next keeps the query (repeated tags too) and is absent after the last row.
    let mut url = q("tag=all&tag=all&limit=2&sort=name:asc");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = s.get(&url, &t).await;
        assert_eq!(r.body["schema"], "/v2/schemas/images");
        assert!(!r.body["first"].as_str().unwrap().contains("marker="));
        seen.extend(names(&r));
        pages += 1;
        match r.body.get("next").and_then(Value::as_str) {
            Some(next) => {
                assert!(next.starts_with("/v2/images?") && next.matches("tag=all").count() == 2, "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, ["img-0", "img-1", "img-2", "img-3", "img-4", "img-5"]);
    assert_eq!(pages, 3, "a full last page has no next");
    assert_eq!(s.get("/v2/images?limit=0", &t).await.body["images"], json!([]));
    assert_eq!(s.get("/v2/images", &t).await.body["first"], "/v2/images");
    // Errors.
    let other = s.token(PROJECT_B, "member").await;
    for (query, status, text) in [
        ("limit=x", 400, "limit param must be an integer"),
        ("limit=-1", 400, "limit param must be positive"),
        ("sort_key=bogus", 400, "Invalid sort key: bogus"),
        ("sort_dir=up", 400, "Invalid sort direction: up"),
        ("sort=name&sort_key=size", 400, "cannot be combined"),
        ("sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc", 400, "does not match"),
        ("name=foo:bar", 400, "Unable to filter by unknown operator 'foo'."),
        ("visibility=everyone", 400, "Invalid visibility value: everyone"),
        ("member_status=maybe", 400, "Invalid status: maybe"),
        ("size_min=big", 400, "non-numeric"),
        ("protected=maybe", 400, "protected"),
        ("os_hidden=2", 400, "os_hidden"),
        ("created_at=2020-13-45", 400, "Use ISO 8601 DateTime notation."),
        ("changes-since=2020-01-01T00:00:00Z", 400, "no longer available on v2"),
        ("marker=00000000-0000-4000-8000-000000000000", 400, "No image found with ID"),
        ("marker=abc", 400, "No image found with ID abc"),
        // Repeats depend on the pairs' order, which a signature does not fix.
        ("name=img-1&name=img-2", 400, "the parameter name is given more than once"),
        ("limit=1&limit=2", 400, "the parameter limit is given more than once"),
        ("os_distro=ubuntu&os_distro=centos", 400, "os_distro is given more than once"),
    ] {
        assert_glance_error(
            &s.raw(Method::GET, &format!("/v2/images?{query}"), Some(&t), &[JSON], None).await,
            status,
            text,
        );
    }
    let hidden_marker = s.raw(Method::GET, &format!("/v2/images?marker={}", ids[0]), Some(&other), &[JSON], None).await;
    assert_glance_error(&hidden_marker, 403, "not visible");
}

/// Boolean query values follow Glance's rule (openstacksdk sends `os_hidden=True`).
async fn boolean_filters_take_glances_words(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let hidden = create(&s, &t, json!({"name": "hidden-one", "os_hidden": true, "protected": true})).await;
    let names = |r: &Resp| -> Vec<String> {
        r.body["images"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap_or("").to_owned()).collect()
    };
    for (query, shows) in [
        ("os_hidden=True", true),
        ("os_hidden=TRUE", true),
        ("os_hidden=1", true),
        ("os_hidden=yes", true),
        ("os_hidden=On", true),
        ("os_hidden=t", true),
        ("os_hidden=False", false),
        ("os_hidden=0", false),
        ("os_hidden=no", false),
        ("os_hidden=OFF", false),
        ("protected=Y&os_hidden=y", true),
        ("protected=N&os_hidden=y", false),
    ] {
        let r = s.get(&format!("/v2/images?{query}"), &t).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(names(&r).contains(&"hidden-one".to_owned()), shows, "{query}: {:?}", names(&r));
    }
    for query in ["os_hidden=maybe", "os_hidden=", "protected=2", "os_hidden=truee"] {
        let r = s.raw(Method::GET, &format!("/v2/images?{query}"), Some(&t), &[JSON], None).await;
        assert_glance_error(&r, 400, "Invalid value");
    }
    assert_eq!(hidden["os_hidden"], true);
}

both_backends!(list_filters_sort_paging_and_links, boolean_filters_take_glances_words,);
