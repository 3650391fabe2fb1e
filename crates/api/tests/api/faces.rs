//! One catalog, every face: the rules every face keeps alike, checked table-driven over a
//! descriptor of each face (its envelope, a list, a show, a write, bad input), and the
//! faces' views of the same images.

use imagehub_catalog::ImageId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{PROJECT_A, PROJECT_B, Resp, Server};
use crate::glance::{V21, assert_glance_error, create, patch};

/// A malformed request: what is wrong, method, path, content type, body, and the HTTP
/// status its refusal comes with.
type BadRequest = (&'static str, Method, String, Option<&'static str>, Option<String>, u16);

/// What the shared rules need to know of a face.
struct Face {
    name: &'static str,
    /// A list the caller may read, in its own project.
    list: (Method, String, Option<Value>),
    /// The path that shows an image to a caller of a project (project, image id);
    /// `None`: the face shows no single image.
    show: Option<fn(&str, &str) -> String>,
    /// A request that changes the catalog; `None`: the face has no write.
    write: Option<(Method, String, Value)>,
    /// Requests that are malformed in some way, each answered in the face's envelope with
    /// the given HTTP status (SCNet answers its business errors with 200).
    bad: Vec<BadRequest>,
    /// HTTP status of a refused credential and of a refused action.
    unauthenticated: u16,
    forbidden: u16,
    /// Whether a response carries this face's error envelope.
    envelope: fn(&Resp) -> bool,
}

fn modelarts_envelope(r: &Resp) -> bool {
    r.body["error_code"].as_str().is_some_and(|c| c.starts_with("ModelArts.") || c.starts_with("APIGW."))
        && r.body["error_msg"].as_str().is_some_and(|m| !m.is_empty())
}

/// Glance's JSON error body (the requests here ask for JSON).
fn glance_envelope(r: &Resp) -> bool {
    r.body["code"].as_str().is_some_and(|c| c.starts_with(&r.status.as_u16().to_string()))
        && r.body["title"].is_string()
        && r.body["message"].is_string()
}

fn scnet_envelope(r: &Resp) -> bool {
    r.body["code"].as_str().is_some_and(|c| c != "0" && c != "10001")
        && r.body["msg"].is_string()
        && r.body["data"].is_null()
}

fn faces() -> Vec<Face> {
    let p = PROJECT_A;
    let images = format!("/v1/{p}/images");
    let scnet_list = "/ai/openapi/v2/image/images".to_owned();
    let scnet_body = json!({"access": "private", "orderBy": "create_time", "sort": "DESC", "start": 0, "limit": 10});
    vec![
        Face {
            name: "ModelArts",
            list: (Method::GET, format!("{images}?type=DEDICATED"), None),
            show: Some(|project, id| format!("/v1/{project}/images/{id}")),
            write: Some((Method::POST, images.clone(), json!({"swr_path": "swr.example.com/ns/written:1"}))),
            bad: vec![
                ("unknown sort key", Method::GET, format!("{images}?sort_key=colour"), None, None, 400),
                ("limit not a number", Method::GET, format!("{images}?limit=ten"), None, None, 400),
                ("limit over the cap", Method::GET, format!("{images}?limit=1001"), None, None, 400),
                ("unknown type word", Method::GET, format!("{images}?type=MINE"), None, None, 400),
                ("not JSON", Method::POST, images.clone(), Some("application/json"), Some("{".into()), 400),
                ("wrong media type", Method::POST, images.clone(), Some("text/plain"), Some("{}".into()), 415),
                ("bad registry path", Method::POST, images.clone(), None, Some(r#"{"swr_path":"nope"}"#.into()), 400),
                ("id not a UUID", Method::GET, format!("{images}/xyz"), None, None, 400),
                ("project id malformed", Method::GET, "/v1/NOTAPROJECT/images".into(), None, None, 400),
                ("another project's path", Method::GET, format!("/v1/{PROJECT_B}/images"), None, None, 403),
                ("no such route", Method::GET, format!("/v1/{p}/nothing"), None, None, 404),
            ],
            unauthenticated: 401,
            forbidden: 403,
            envelope: modelarts_envelope,
        },
        Face {
            name: "Glance",
            list: (Method::GET, "/v2/images".into(), None),
            show: Some(|_, id| format!("/v2/images/{id}")),
            write: Some((Method::POST, "/v2/images".into(), json!({"name": "written", "visibility": "private"}))),
            bad: vec![
                ("unknown sort key", Method::GET, "/v2/images?sort_key=colour".into(), None, None, 400),
                ("unknown status word", Method::GET, "/v2/images?status=bogus".into(), None, None, 400),
                ("bad time", Method::GET, "/v2/images?created_at=gt:yesterday".into(), None, None, 400),
                (
                    "multi-byte time",
                    Method::GET,
                    "/v2/images?created_at=gt:2021-09-23T16:43:1%C3%A9".into(),
                    None,
                    None,
                    400,
                ),
                ("no such day", Method::GET, "/v2/images?created_at=2024-02-31T00:00:00Z".into(), None, None, 400),
                (
                    "marker unknown",
                    Method::GET,
                    format!("/v2/images?marker={}", ImageId::new_random()),
                    None,
                    None,
                    400,
                ),
                ("not JSON", Method::POST, "/v2/images".into(), Some("application/json"), Some("{".into()), 400),
                (
                    "read-only attribute",
                    Method::POST,
                    "/v2/images".into(),
                    None,
                    Some(r#"{"status":"active"}"#.into()),
                    403,
                ),
                (
                    "patch media type",
                    Method::PATCH,
                    format!("/v2/images/{}", ImageId::new_random()),
                    Some("application/json"),
                    Some("[]".into()),
                    415,
                ),
                ("unknown image", Method::GET, format!("/v2/images/{}", ImageId::new_random()), None, None, 404),
            ],
            unauthenticated: 401,
            forbidden: 403,
            envelope: glance_envelope,
        },
        Face {
            name: "SCNet",
            list: (Method::POST, scnet_list.clone(), Some(scnet_body)),
            show: None,
            write: None,
            bad: vec![
                (
                    "missing access",
                    Method::POST,
                    scnet_list.clone(),
                    None,
                    Some(r#"{"orderBy":"create_time","sort":"DESC","start":0,"limit":1}"#.into()),
                    200,
                ),
                (
                    "unknown orderBy",
                    Method::POST,
                    scnet_list.clone(),
                    None,
                    Some(r#"{"access":"public","orderBy":"colour","sort":"DESC","start":0,"limit":1}"#.into()),
                    200,
                ),
                (
                    "limit over the cap",
                    Method::POST,
                    scnet_list.clone(),
                    None,
                    Some(r#"{"access":"public","orderBy":"create_time","sort":"DESC","start":0,"limit":5000}"#.into()),
                    200,
                ),
                ("not JSON", Method::POST, scnet_list.clone(), Some("application/json"), Some("{".into()), 200),
                (
                    "bad accelerator word",
                    Method::GET,
                    "/ai/openapi/v2/instance-service/images?acceleratorType=a%20b".into(),
                    None,
                    None,
                    200,
                ),
                ("no such route", Method::GET, "/ai/openapi/v2/nothing".into(), None, None, 404),
            ],
            unauthenticated: 401,
            forbidden: 200,
            envelope: scnet_envelope,
        },
    ]
}

/// Sends `req` with `token` (in the header every face reads) asking for JSON.
async fn send(
    s: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    ct: Option<&str>,
    body: Option<String>,
) -> Resp {
    let mut headers = vec![("Accept", "application/json")];
    if let Some(ct) = ct {
        headers.push(("Content-Type", ct));
    } else if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    s.raw(method, path, token, &headers, body.as_deref()).await
}

async fn call(s: &Server, req: &(Method, String, Option<Value>), token: Option<&str>) -> Resp {
    send(s, req.0.clone(), &req.1, token, None, req.2.as_ref().map(Value::to_string)).await
}

fn assert_envelope(face: &Face, what: &str, r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{} {what}: {}", face.name, r.text);
    assert!((face.envelope)(r), "{} {what}: not the face's error envelope: {}", face.name, r.text);
    assert!(r.headers.contains_key("x-request-id"), "{} {what}: no request id", face.name);
}

/// No credential, or one that is not a token, is refused in the face's envelope.
async fn credentials_are_required_on_every_face(s: Server) {
    for face in faces() {
        assert_envelope(&face, "without a token", &call(&s, &face.list, None).await, face.unauthenticated);
        let r = call(&s, &face.list, Some("ih_000000000000000000000000000000000000000000000000")).await;
        assert_envelope(&face, "with an unknown token", &r, face.unauthenticated);
    }
}

/// A token revoked, or past its expiry, is refused on every face from the moment the
/// revocation answered; the token list shows it, and never a token's value.
async fn revoked_and_expired_tokens_are_refused_on_every_face(s: Server) {
    let kept = s.token(PROJECT_A, "member").await;
    let doomed = s.token(PROJECT_A, "member").await;
    let project = imagehub_catalog::ProjectId::parse(PROJECT_A).unwrap();
    let expiring = s
        .catalog
        .create_token(
            &project,
            imagehub_catalog::Role::Member,
            Some("short".into()),
            Some(imagehub_catalog::expiry_after(1_000)),
        )
        .await
        .unwrap();
    for face in faces() {
        for t in [&kept, &doomed, &expiring] {
            let r = call(&s, &face.list, Some(t)).await;
            assert_eq!(r.status, 200, "{} before revocation: {}", face.name, r.text);
        }
    }
    // Its use is recorded (in the background: within a moment).
    let hash = imagehub_catalog::token::hash(&doomed);
    let mut listed = s.catalog.list_tokens().await.unwrap();
    for _ in 0..100 {
        if listed.iter().any(|t| t.hash == hash && t.last_used_at.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        listed = s.catalog.list_tokens().await.unwrap();
    }
    let record = listed.iter().find(|t| t.hash == hash).expect("the token is listed");
    assert!(record.last_used_at.is_some(), "its use is recorded");
    assert!(!format!("{listed:?}").contains(&doomed), "no token value in the list");
    assert!(s.catalog.revoke_token(record.id()).await.unwrap());
    assert!(!s.catalog.revoke_token(record.id()).await.unwrap(), "revoked once");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for face in faces() {
        for (what, t) in [("revoked", &doomed), ("expired", &expiring)] {
            assert_envelope(&face, what, &call(&s, &face.list, Some(t)).await, face.unauthenticated);
            if let Some((method, path, body)) = &face.write {
                let r = send(&s, method.clone(), path, Some(t), None, Some(body.to_string())).await;
                assert_envelope(&face, &format!("write with a {what} token"), &r, face.unauthenticated);
            }
        }
        assert_eq!(call(&s, &face.list, Some(&kept)).await.status, 200, "{}: other tokens still work", face.name);
    }
}

/// What RegisterImage refuses, Glance's create and PATCH refuse too (one set of rules, in
/// the catalog), each in its face's envelope.
async fn every_face_refuses_the_same_invalid_images(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let glance_image = create(&s, &t, json!({"name": "valid", "container_format": "docker"})).await;
    let id = glance_image["id"].as_str().unwrap().to_owned();
    for (what, field, value, says) in [
        ("empty workspace", "workspace_id", "", "workspace_id"),
        ("malformed digest", "digest", "nope", "digest"),
        ("malformed accelerator", "accelerator_type", "gpu!", "accelerator"),
        ("NUL in the registry path", "swr_path", "swr.example.com/ns/x\u{0}y:1", "swr_path"),
        ("port out of range", "swr_path", "swr.example.com:70000/ns/n:1", "1-65535"),
        ("port zero", "swr_path", "swr.example.com:0/ns/n:1", "1-65535"),
        ("control character in a user", "uploaded_by", "a\u{7}b", "user"),
    ] {
        let mut register = json!({"swr_path": "swr.example.com/ns/fine:1"});
        // RegisterImage calls the uploading user `user`; Glance shows it as `uploaded_by`.
        register[if field == "uploaded_by" { "user" } else { field }] = json!(value);
        let r = s.call(Method::POST, &format!("/v1/{PROJECT_A}/images"), Some(&t), Some(register)).await;
        assert_eq!(r.status, 400, "RegisterImage, {what}: {}", r.text);
        assert!(modelarts_envelope(&r) && r.text.contains(says), "RegisterImage, {what}: {}", r.text);
        let mut body = json!({"name": "invalid", "container_format": "docker"});
        body[field] = json!(value);
        let r = send(&s, Method::POST, "/v2/images", Some(&t), None, Some(body.to_string())).await;
        assert_eq!(r.status, 400, "Glance create, {what}: {}", r.text);
        assert!(glance_envelope(&r) && r.text.contains(says), "Glance create, {what}: {}", r.text);
        let r = patch(&s, &t, &id, V21, json!([{"op": "add", "path": format!("/{field}"), "value": value}])).await;
        assert_eq!(r.status, 400, "Glance PATCH, {what}: {}", r.text);
        assert!(glance_envelope(&r) && r.text.contains(says), "Glance PATCH, {what}: {}", r.text);
    }
    // Nothing was stored by the refusals; the Glance image is as it was.
    let r = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let shown = s.get(&format!("/v2/images/{id}"), &t).await;
    assert_eq!(shown.body["updated_at"], glance_image["updated_at"]);
}

/// Sort keys, `in:` values, tag and property filters are capped; over a cap is a 400 in
/// the face's envelope that names the cap; repeating a key within the cap is harmless.
async fn list_caps_are_named_in_the_faces_envelope(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let images = format!("/v1/{PROJECT_A}/images");
    let nine = ["name"; 9].join(",");
    let ids = (0..101).map(|_| ImageId::new_random().to_string()).collect::<Vec<_>>().join(",");
    let tags = (0..33).map(|n| format!("tag=t{n}")).collect::<Vec<_>>().join("&");
    let props = (0..33).map(|n| format!("p{n}=v")).collect::<Vec<_>>().join("&");
    for (what, path, cap) in [
        ("ModelArts sort keys", format!("{images}?sort_key={nine}"), "at most 8 sort keys"),
        ("ModelArts group sort keys", format!("/v1/{PROJECT_A}/images/group?sort_key={nine}"), "at most 8 sort keys"),
        ("Glance sort keys", format!("/v2/images?sort={nine}"), "at most 8 sort keys"),
        ("Glance old sort keys", format!("/v2/images?{}", ["sort_key=name"; 9].join("&")), "at most 8 sort keys"),
        ("Glance in: values", format!("/v2/images?id=in:{ids}"), "at most 100 values"),
        ("Glance tag filters", format!("/v2/images?{tags}"), "at most 32 tag filters"),
        ("Glance property filters", format!("/v2/images?{props}"), "at most 32 property filters"),
    ] {
        let r = s.raw(Method::GET, &path, Some(&t), &[("Accept", "application/json")], None).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        let msg = r.body["error_msg"].as_str().or(r.body["message"].as_str()).unwrap_or_default();
        assert!(msg.contains(cap), "{what}: {}", r.text);
    }
    for path in [format!("{images}?sort_key=name,name,name"), "/v2/images?sort=name,name:asc".into()] {
        assert_eq!(s.get(&path, &t).await.status, 200, "{path}");
    }
}

/// A reader lists and shows, and every write of it is refused in the face's envelope;
/// a member's same write succeeds.
async fn readers_read_but_do_not_write_on_every_face(s: Server) {
    let member = s.token(PROJECT_A, "member").await;
    let reader = s.token(PROJECT_A, "reader").await;
    let image = s.register(PROJECT_A, &member, "swr.example.com/ns/readable:1", json!({})).await;
    let id = image["id"].as_str().unwrap();
    for face in faces() {
        let listed = call(&s, &face.list, Some(&reader)).await;
        assert_eq!(listed.status, 200, "{} list as a reader: {}", face.name, listed.text);
        if let Some(show) = face.show {
            let shown = s.get(&show(PROJECT_A, id), &reader).await;
            assert_eq!(shown.status, 200, "{} show as a reader: {}", face.name, shown.text);
        }
        if let Some((method, path, body)) = &face.write {
            let refused = send(&s, method.clone(), path, Some(&reader), None, Some(body.to_string())).await;
            assert_envelope(&face, "write as a reader", &refused, face.forbidden);
            let written = send(&s, method.clone(), path, Some(&member), None, Some(body.to_string())).await;
            assert!(written.status.is_success(), "{} write as a member: {}", face.name, written.text);
        }
    }
}

/// Malformed input gets a 4xx (SCNet: its error code) in the face's envelope, never a 5xx.
async fn bad_input_gets_a_4xx_in_the_faces_envelope(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    for face in faces() {
        for (what, method, path, ct, body, status) in &face.bad {
            let r = send(&s, method.clone(), path, Some(&t), *ct, body.clone()).await;
            assert_envelope(&face, what, &r, *status);
        }
    }
}

/// A private image of project A, registered through ModelArts or created through Glance,
/// is in no answer to project B on any face, listed or shown, whatever view it asks for.
async fn private_images_stay_private_on_every_face(s: Server) {
    let a = s.token(PROJECT_A, "member").await;
    let b = s.token(PROJECT_B, "member").await;
    let registered = s.register(PROJECT_A, &a, "swr.example.com/secret/model:1", json!({})).await;
    let created = create(
        &s,
        &a,
        json!({"name": "secret-vm", "container_format": "docker", "disk_format": "raw", "visibility": "private"}),
    )
    .await;
    let ids: Vec<String> = [&registered, &created].iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    let lists = [
        format!("/v1/{PROJECT_B}/images?type=DEDICATED&limit=1000"),
        format!("/v1/{PROJECT_B}/images/group?limit=1000"),
        "/v2/images?visibility=all&member_status=all&limit=1000".to_owned(),
        "/v2/images?owner=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
        "/ai/openapi/v2/instance-service/images".to_owned(),
    ];
    for path in &lists {
        let r = s.get(path, &b).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        for id in &ids {
            assert!(!r.text.contains(id.as_str()) && !r.text.contains(&id.replace('-', "")), "{path} shows {id}");
        }
        assert!(!r.text.contains("secret"), "{path}: {}", r.text);
    }
    for access in ["private", "public"] {
        let body = json!({"access": access, "orderBy": "create_time", "sort": "DESC", "start": 0, "limit": 1000});
        let r = call(&s, &(Method::POST, "/ai/openapi/v2/image/images".into(), Some(body)), Some(&b)).await;
        assert!(!r.text.contains("secret"), "SCNet {access}: {}", r.text);
    }
    for id in &ids {
        for face in faces() {
            if let Some(show) = face.show {
                let r = send(&s, Method::GET, &show(PROJECT_B, id), Some(&b), None, None).await;
                assert_envelope(&face, "show of another project's private image", &r, 404);
            }
        }
    }
}

/// One catalog, every face: a ModelArts image in Glance and SCNet; a Glance docker image in
/// ModelArts and SCNet; a Glance VM image in neither.
async fn cross_face(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let ma = s
        .register(
            PROJECT_A,
            &t,
            "swr.example.com/team/pytorch:2.1",
            json!({"service_type": "TRAIN", "arch": "AARCH64", "image_type": "JupyterLab", "description": "d"}),
        )
        .await;
    let g = s.get(&format!("/v2/images/{}", ma["id"].as_str().unwrap()), &t).await.body;
    assert_eq!(
        (g["container_format"].as_str(), g["disk_format"].as_str(), g["status"].as_str()),
        (Some("docker"), Some("raw"), Some("active"))
    );
    assert_eq!(g["swr_path"], "swr.example.com/team/pytorch:2.1");
    assert_eq!((g["swr_namespace"].as_str(), g["swr_tag"].as_str()), (Some("team"), Some("2.1")));
    assert_eq!((g["service_type"].as_str(), g["architecture"].as_str()), (Some("TRAIN"), Some("aarch64")));
    assert_eq!(
        (g["image_type"].as_str(), g["modelarts_type"].as_str(), g["description"].as_str()),
        (Some("JupyterLab"), Some("DEDICATED"), Some("d"))
    );
    assert_eq!(g["visibility"], "private");
    // A Glance-created container image with SCNet attributes as properties.
    let docker = create(&s, &t, json!({"name": "from-glance", "container_format": "docker", "disk_format": "raw", "visibility": "private",
        "image_type": "codeserver", "accelerator_type": "dcu", "swr_path": "registry:5000/dcu/from-glance:1", "resource_categories": "CPU,GPU"})).await;
    assert_eq!(docker["image_type"], "CodeServer");
    let vm = create(
        &s,
        &t,
        json!({"name": "ubuntu-vm", "container_format": "bare", "disk_format": "qcow2", "visibility": "public"}),
    )
    .await;
    let ma_list = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert!(ma_list.text.contains(docker["id"].as_str().unwrap()), "{}", ma_list.text);
    assert!(!ma_list.text.contains(vm["id"].as_str().unwrap()));
    let shown = s.get(&format!("/v1/{PROJECT_A}/images/{}", docker["id"].as_str().unwrap()), &t).await;
    assert_eq!(
        (shown.body["name"].as_str(), shown.body["resource_categories"].clone()),
        (Some("from-glance"), json!(["CPU", "GPU"]))
    );
    let scnet = Server::read(
        s.http
            .get(format!("{}/ai/openapi/v2/instance-service/images?imageType=CodeServer", s.base))
            .header("token", &t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let items = scnet.body["data"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", scnet.text);
    assert_eq!(
        (items[0]["acceleratorType"].as_str(), items[0]["path"].as_str()),
        (Some("dcu"), Some("registry:5000/dcu/from-glance:1"))
    );
    let all = Server::read(
        s.http
            .get(format!("{}/ai/openapi/v2/instance-service/images", s.base))
            .header("token", &t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!all.text.contains(&vm["id"].as_str().unwrap().replace('-', "")), "a VM image is not an SCNet image");
    // Glance lists built-in images too (public, system project).
    let builtin = s.get("/v2/images?owner=00000000000000000000000000000000&limit=100", &t).await;
    assert_eq!(builtin.body["images"].as_array().unwrap().len(), 24);
    // A PATCH through Glance shows through ModelArts; modelarts_type cannot be set.
    let id = ma["id"].as_str().unwrap();
    patch(&s, &t, id, V21, json!([{"op": "replace", "path": "/description", "value": "changed"}])).await;
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await.body["description"], "changed");
    assert_glance_error(
        &patch(&s, &t, id, V21, json!([{"op": "replace", "path": "/modelarts_type", "value": "BUILD_IN"}])).await,
        403,
        "read-only",
    );
}

both_backends!(
    credentials_are_required_on_every_face,
    revoked_and_expired_tokens_are_refused_on_every_face,
    list_caps_are_named_in_the_faces_envelope,
    every_face_refuses_the_same_invalid_images,
    readers_read_but_do_not_write_on_every_face,
    bad_input_gets_a_4xx_in_the_faces_envelope,
    private_images_stay_private_on_every_face,
    cross_face,
);
