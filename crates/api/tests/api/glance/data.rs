//! Image data (spec/glance.md §6): upload, download, ranges and the error table, through
//! the HTTP face on both backends, and what the other faces then show.

use reqwest::Method;
use serde_json::{Value, json};

use super::{JSON, assert_glance_error, create};
use crate::common::{ADMIN_TOKEN, IMAGE_SIZE_CAP, PROJECT_A, PROJECT_B, PROJECT_QUOTA, Resp, Server};

const OCTETS: (&str, &str) = ("Content-Type", "application/octet-stream");

/// Bytes that are not all alike, `n` of them.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8).collect()
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn sha512_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha512::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

async fn put_file(s: &Server, token: &str, id: &str, headers: &[(&str, &str)], data: Vec<u8>) -> Resp {
    let mut req = s.http.put(format!("{}/v2/images/{id}/file", s.base)).header("X-Auth-Token", token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Server::read(req.body(data).send().await.unwrap()).await
}

/// The download as bytes, with its status and headers.
async fn get_file(
    s: &Server,
    token: &str,
    id: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = s.http.get(format!("{}/v2/images/{id}/file", s.base)).header("X-Auth-Token", token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn raw_vm_image(s: &Server, token: &str) -> String {
    let img = create(s, token, json!({"name": "disk", "disk_format": "raw", "container_format": "bare"})).await;
    img["id"].as_str().unwrap().to_owned()
}

async fn show(s: &Server, token: &str, id: &str) -> Value {
    let r = s.call(Method::GET, &format!("/v2/images/{id}"), Some(token), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn upload_then_download_whole_and_in_ranges(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let id = raw_vm_image(&s, &token).await;
    let (status, _, body) = get_file(&s, &token, &id, &[]).await;
    assert_eq!((status, body.len()), (204, 0), "a queued image has no data");

    let data = payload(300_000);
    // Chunked, as glanceclient sends it (no Content-Length).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = data.chunks(70_000).map(|c| Ok(c.to_vec())).collect();
    let r = Server::read(
        s.http
            .put(format!("{}/v2/images/{id}/file", s.base))
            .header("X-Auth-Token", &token)
            .header(OCTETS.0, OCTETS.1)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());

    let img = show(&s, &token, &id).await;
    assert_eq!(img["status"], "active");
    assert_eq!(img["size"], 300_000);
    assert_eq!(img["virtual_size"], 300_000, "raw: the bytes are the disk");
    assert_eq!(img["checksum"], md5_hex(&data));
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"], sha512_hex(&data));

    let (status, headers, body) = get_file(&s, &token, &id, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body, data);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["content-length"], "300000");
    assert_eq!(headers["content-md5"].to_str().unwrap(), md5_hex(&data), "hex, as clients compare it");

    for (range, first, last) in [
        ("bytes=0-9", 0, 9),
        ("bytes=299990-", 299_990, 299_999),
        ("bytes=-5", 299_995, 299_999),
        ("bytes=10-999999", 10, 299_999),
    ] {
        let (status, headers, body) = get_file(&s, &token, &id, &[("Range", range)]).await;
        assert_eq!(status, 206, "{range}");
        assert_eq!(body, &data[first..=last], "{range}");
        assert_eq!(headers["content-range"].to_str().unwrap(), format!("bytes {first}-{last}/300000"));
        assert_eq!(headers["content-length"].to_str().unwrap(), (last - first + 1).to_string());
        assert!(!headers.contains_key("content-md5"), "the whole image's checksum is not the part's");
    }
    // A download resumed the older way, with a request Content-Range.
    let (status, _, body) = get_file(&s, &token, &id, &[("Content-Range", "bytes 100-199/*")]).await;
    assert_eq!((status, body.as_slice()), (206, &data[100..200]));
    let (status, _, _) = get_file(&s, &token, &id, &[("Range", "bytes=0-1,5-6")]).await;
    assert_eq!(status, 400, "several ranges");
    for bad in ["bytes=300000-", "bytes=-0"] {
        let (status, headers, _) = get_file(&s, &token, &id, &[("Range", bad), JSON]).await;
        assert_eq!(status, 416, "{bad}");
        assert_eq!(headers["content-range"], "bytes */300000", "{bad}");
    }
    let (status, _, _) = get_file(&s, &token, &id, &[("Range", "bytes=abc"), JSON]).await;
    assert_eq!(status, 416, "a range that does not parse");
    // Another project does not see the image, so not its data either.
    let other = s.token(PROJECT_B, "member").await;
    let (status, _, _) = get_file(&s, &other, &id, &[JSON]).await;
    assert_eq!(status, 404);

    // The other faces show the real size.
    let ma = s.call(Method::GET, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&token), None).await;
    assert_eq!(ma.status, 200, "{}", ma.text);
    assert_eq!(ma.body["size"], 300_000, "{}", ma.text);
}

async fn uploads_refused_as_glance_refuses_them(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let id = raw_vm_image(&s, &token).await;
    let small = payload(1000);

    let r = put_file(&s, &token, &id, &[("Content-Type", "application/json"), JSON], small.clone()).await;
    assert_glance_error(&r, 415, "application/json is not supported");
    let r = put_file(&s, &token, &id, &[OCTETS, ("x-openstack-image-size", "lots"), JSON], small.clone()).await;
    assert_glance_error(&r, 400, "x-openstack-image-size");
    let r = put_file(&s, &token, &id, &[OCTETS, ("x-openstack-image-size", "999"), JSON], small.clone()).await;
    assert_glance_error(&r, 400, "Size exceeds");
    let r = put_file(&s, &token, &id, &[OCTETS, ("x-openstack-image-size", "1001"), JSON], small.clone()).await;
    assert_glance_error(&r, 400, "Size mismatch");
    let over = usize::try_from(IMAGE_SIZE_CAP).unwrap() + 1;
    let r = put_file(&s, &token, &id, &[OCTETS, JSON], payload(over)).await;
    assert_glance_error(&r, 413, "exceeds the size limit");
    let img = show(&s, &token, &id).await;
    assert_eq!((img["status"].as_str(), &img["size"]), (Some("queued"), &Value::Null), "each failure leaves it queued");

    // Another project's image is not there; a reader may not write.
    let other = s.token(PROJECT_B, "member").await;
    let r = put_file(&s, &other, &id, &[OCTETS, JSON], small.clone()).await;
    assert_glance_error(&r, 404, "No image found");
    let reader = s.token(PROJECT_A, "reader").await;
    let r = put_file(&s, &reader, &id, &[OCTETS, JSON], small.clone()).await;
    assert_eq!(r.status, 403, "{}", r.text);

    let r = s
        .raw(
            Method::PUT,
            &format!("/v2/images/{id}/stage"),
            Some(&token),
            &[("Content-Type", "text/plain"), JSON],
            Some("x"),
        )
        .await;
    assert_glance_error(&r, 415, "text/plain is not supported");

    // After the refusals a good upload works (larger than the body limit, which uploads
    // are not held to), and a second one is a conflict.
    let big = payload(200_000);
    let r = put_file(&s, &token, &id, &[OCTETS, ("x-openstack-image-size", "200000")], big).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = put_file(&s, &token, &id, &[OCTETS, JSON], small.clone()).await;
    assert_glance_error(&r, 409, "Image status transition from active to saving is not allowed");

    // Formats must be set first.
    let bare = create(&s, &token, json!({"name": "no formats"})).await;
    let r = put_file(&s, &token, bare["id"].as_str().unwrap(), &[OCTETS, JSON], small).await;
    assert_glance_error(&r, 400, "Properties disk_format, container_format must be set prior to saving data.");
}

async fn deactivated_data_is_for_admins_and_deleted_data_goes(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let id = raw_vm_image(&s, &token).await;
    assert_eq!(put_file(&s, &token, &id, &[OCTETS], payload(5000)).await.status, 204);
    let r = s.call(Method::POST, &format!("/v2/images/{id}/actions/deactivate"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (status, _, _) = get_file(&s, &token, &id, &[JSON]).await;
    assert_eq!(status, 403, "a deactivated image's data is refused to its owner");
    let (status, _, body) = get_file(&s, ADMIN_TOKEN, &id, &[]).await;
    assert_eq!((status, body.len()), (200, 5000), "and served to an administrator");
    let r = put_file(&s, &token, &id, &[OCTETS, JSON], payload(10)).await;
    assert_glance_error(&r, 409, "from deactivated to saving");

    let r = s.call(Method::DELETE, &format!("/v2/images/{id}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (status, _, _) = get_file(&s, ADMIN_TOKEN, &id, &[JSON]).await;
    assert_eq!(status, 404);
    let blobs = s.catalog.blob_keys().await.unwrap();
    assert!(!blobs.contains(&id), "the data went with the image: {blobs:?}");
}

async fn an_image_deleted_during_its_upload_answers_gone(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let id = raw_vm_image(&s, &token).await;
    // The body's first part goes at once; the rest waits until the image is deleted.
    let (more, rest) = tokio::sync::oneshot::channel::<()>();
    let first: Result<Vec<u8>, std::io::Error> = Ok(payload(1000));
    let body = futures_util::stream::once(async move { first }).chain(futures_util::stream::once(async move {
        let _ = rest.await;
        Ok(payload(1000))
    }));
    use futures_util::StreamExt;
    let req = s
        .http
        .put(format!("{}/v2/images/{id}/file", s.base))
        .header("X-Auth-Token", &token)
        .header(OCTETS.0, OCTETS.1)
        .header(JSON.0, JSON.1)
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let upload = tokio::spawn(req);
    for _ in 0..200 {
        if show(&s, &token, &id).await["status"] == "saving" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let r = s.call(Method::DELETE, &format!("/v2/images/{id}"), Some(&token), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let _ = more.send(());
    let r = Server::read(upload.await.unwrap().unwrap()).await;
    assert_glance_error(&r, 410, "may have been deleted during the upload");
    let blobs = s.catalog.blob_keys().await.unwrap();
    assert!(!blobs.contains(&id), "no data left behind: {blobs:?}");
}

async fn wait_for_status(s: &Server, token: &str, id: &str, want: &str) -> Value {
    for _ in 0..500 {
        let img = show(s, token, id).await;
        if img["status"] == want {
            return img;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("image {id} never became {want}: {}", show(s, token, id).await);
}

async fn staging_then_glance_direct_import(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let r = s
        .call(Method::POST, "/v2/images", Some(&token), Some(json!({"disk_format": "raw", "container_format": "bare"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers["openstack-image-import-methods"], "glance-direct,web-download");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = s.call(Method::GET, "/v2/info/import", Some(&token), None).await;
    assert_eq!(r.body["import-methods"]["value"], json!(["glance-direct", "web-download"]), "{}", r.text);
    let r = s.call(Method::GET, "/v2/info/stores", Some(&token), None).await;
    assert_eq!(r.body["stores"][0]["default"], "true", "{}", r.text);

    let import = |method: &str| {
        let body = json!({"method": {"name": method}}).to_string();
        let path = format!("/v2/images/{id}/import");
        let token = token.clone();
        let s = &s;
        async move {
            s.raw(Method::POST, &path, Some(&token), &[("Content-Type", "application/json"), JSON], Some(&body)).await
        }
    };
    assert_glance_error(&import("glance-direct").await, 409, "needs to be staged");
    let data = payload(200_000);
    let mut req = s.http.put(format!("{}/v2/images/{id}/stage", s.base)).header("X-Auth-Token", &token);
    req = req.header(OCTETS.0, OCTETS.1);
    let r = Server::read(req.body(data.clone()).send().await.unwrap()).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let staged = show(&s, &token, &id).await;
    assert_eq!((staged["status"].as_str(), &staged["size"]), (Some("uploading"), &json!(200_000)));
    assert_eq!(staged["checksum"], Value::Null, "no data until the import");
    let (status, _, _) = get_file(&s, &token, &id, &[]).await;
    assert_eq!(status, 204, "staged bytes are not the image's data yet");

    assert_glance_error(&import("copy-image").await, 400, "not offered");
    let r = import("glance-direct").await;
    assert_eq!(r.status, 202, "{}", r.text);
    let img = wait_for_status(&s, &token, &id, "active").await;
    assert_eq!((img["size"].as_u64(), img["checksum"].as_str()), (Some(200_000), Some(md5_hex(&data).as_str())));
    let (status, _, body) = get_file(&s, &token, &id, &[]).await;
    assert_eq!((status, body == data), (200, true));
    assert_glance_error(&import("glance-direct").await, 409, "needs to be staged");
    let keys = s.catalog.blob_keys().await.unwrap();
    assert!(keys.contains(&id) && !keys.iter().any(|k| k.ends_with(".staged")), "{keys:?}");

    // A staged image deleted: its staged bytes go with it.
    let other = raw_vm_image(&s, &token).await;
    let mut req = s.http.put(format!("{}/v2/images/{other}/stage", s.base)).header("X-Auth-Token", &token);
    req = req.header(OCTETS.0, OCTETS.1);
    assert_eq!(req.body(payload(10)).send().await.unwrap().status(), 204);
    let r = s.call(Method::DELETE, &format!("/v2/images/{other}"), Some(&token), None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let keys = s.catalog.blob_keys().await.unwrap();
    assert!(!keys.iter().any(|k| k.starts_with(&other)), "{keys:?}");
}

/// A qcow2 header (version 3) of a disk of `size` bytes, with a backing file if asked.
fn qcow2(size: u64, backing: bool) -> Vec<u8> {
    let mut h = vec![0u8; 64 * 1024];
    h[..4].copy_from_slice(b"QFI\xfb");
    h[4..8].copy_from_slice(&3u32.to_be_bytes());
    if backing {
        h[8..16].copy_from_slice(&1024u64.to_be_bytes());
    }
    h[24..32].copy_from_slice(&size.to_be_bytes());
    h
}

async fn disk_formats_are_checked(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let image = |format: &'static str| {
        let s = &s;
        let token = token.clone();
        async move {
            let img = create(s, &token, json!({"disk_format": format, "container_format": "bare"})).await;
            img["id"].as_str().unwrap().to_owned()
        }
    };
    let id = image("qcow2").await;
    assert_eq!(put_file(&s, &token, &id, &[OCTETS], qcow2(10 << 30, false)).await.status, 204);
    let img = show(&s, &token, &id).await;
    assert_eq!((img["size"].as_u64(), img["virtual_size"].as_u64()), (Some(64 * 1024), Some(10 << 30)));

    for (format, data, why) in [
        ("raw", qcow2(1 << 20, false), "does not match disk_format raw: the data is qcow2"),
        ("qcow2", payload(70_000), "does not match disk_format qcow2: the data is raw"),
        ("qcow2", qcow2(1 << 20, true), "backing file"),
        ("vmdk", qcow2(1 << 20, false), "does not match disk_format vmdk"),
    ] {
        let id = image(format).await;
        let r = put_file(&s, &token, &id, &[OCTETS, JSON], data).await;
        assert_glance_error(&r, 415, why);
        let img = show(&s, &token, &id).await;
        assert_eq!((img["status"].as_str(), &img["size"]), (Some("queued"), &Value::Null), "{format}: {why}");
    }
    assert!(s.catalog.blob_keys().await.unwrap().len() == 1, "only the accepted image has data");
}

/// Two uploads to one image at once: one stores its data, the other is refused with 409
/// and changes nothing; a PATCH while an upload runs is kept when it finishes.
async fn racing_uploads_and_a_patch_meanwhile(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let id = raw_vm_image(&s, &token).await;
    let (more, rest) = tokio::sync::oneshot::channel::<()>();
    let first: Result<Vec<u8>, std::io::Error> = Ok(payload(1000));
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { first }),
        futures_util::stream::once(async move {
            let _ = rest.await;
            Ok(payload(500))
        }),
    );
    let slow = s
        .http
        .put(format!("{}/v2/images/{id}/file", s.base))
        .header("X-Auth-Token", &token)
        .header(OCTETS.0, OCTETS.1)
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let slow = tokio::spawn(slow);
    for _ in 0..200 {
        if show(&s, &token, &id).await["status"] == "saving" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let r = put_file(&s, &token, &id, &[OCTETS, JSON], payload(10)).await;
    assert_glance_error(&r, 409, "from saving to saving");
    let r =
        super::patch(&s, &token, &id, super::V21, json!([{"op": "add", "path": "/purpose", "value": "kept"}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let _ = more.send(());
    let r = Server::read(slow.await.unwrap().unwrap()).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let img = show(&s, &token, &id).await;
    assert_eq!((img["status"].as_str(), img["size"].as_u64()), (Some("active"), Some(1500)));
    assert_eq!(img["purpose"], "kept", "the PATCH made during the upload stands: {img}");
}

/// An import that fails (staged bytes that are not their disk format) leaves the image
/// queued with the reason readable in `os_glance_import_failure`.
async fn a_failed_import_says_why(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let img = create(&s, &token, json!({"disk_format": "qcow2", "container_format": "bare"})).await;
    let id = img["id"].as_str().unwrap();
    let stage = s.http.put(format!("{}/v2/images/{id}/stage", s.base)).header("X-Auth-Token", &token);
    assert_eq!(stage.header(OCTETS.0, OCTETS.1).body(payload(5000)).send().await.unwrap().status(), 204);
    let body = json!({"method": {"name": "glance-direct"}}).to_string();
    let r = s
        .raw(
            Method::POST,
            &format!("/v2/images/{id}/import"),
            Some(&token),
            &[("Content-Type", "application/json")],
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let img = wait_for_status(&s, &token, id, "queued").await;
    let why = img["os_glance_import_failure"].as_str().unwrap_or_default();
    assert!(why.contains("does not match disk_format qcow2"), "{img}");
    assert_eq!((&img["size"], &img["checksum"]), (&Value::Null, &Value::Null));
    assert!(s.catalog.blob_keys().await.unwrap().is_empty(), "nothing of the failed import is kept");
}

/// A project's images hold at most its quota: an upload past it is refused with 413
/// (at once when the size is declared, when the bytes pass it otherwise); another
/// project's uploads are not counted.
async fn uploads_past_the_project_quota_are_refused(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let image = usize::try_from(IMAGE_SIZE_CAP).unwrap();
    let fit = usize::try_from(PROJECT_QUOTA).unwrap() / image;
    for _ in 0..fit {
        let id = raw_vm_image(&s, &token).await;
        assert_eq!(put_file(&s, &token, &id, &[OCTETS], payload(image)).await.status, 204);
    }
    let id = raw_vm_image(&s, &token).await;
    let r = put_file(&s, &token, &id, &[OCTETS, ("x-openstack-image-size", "10"), JSON], payload(10)).await;
    assert_glance_error(&r, 413, "exceeds the quota");
    let r = put_file(&s, &token, &id, &[OCTETS, JSON], payload(10)).await;
    assert_glance_error(&r, 413, "exceeds the quota");
    assert_eq!(show(&s, &token, &id).await["status"], "queued");
    let other = s.token(PROJECT_B, "member").await;
    let theirs = raw_vm_image(&s, &other).await;
    assert_eq!(put_file(&s, &other, &theirs, &[OCTETS], payload(10)).await.status, 204, "B has its own quota");
}

/// A file server on loopback for the web-download tests: `/disk.raw`, redirects to a
/// listed name that resolves to loopback and to a host not listed, and 404 elsewhere.
async fn file_server(data: Vec<u8>) -> String {
    use axum::response::{IntoResponse, Redirect};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/disk.raw", axum::routing::get(move || async move { data.clone().into_response() }))
        .route(
            "/to-a-name",
            axum::routing::get(move || async move { Redirect::to(&format!("http://localhost:{port}/disk.raw")) }),
        )
        .route("/away", axum::routing::get(|| async { Redirect::to("http://192.0.2.7/disk.raw") }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}")
}

async fn web_download_imports_from_allowed_hosts_only(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let data = payload(150_000);
    let files = file_server(data.clone()).await;
    let import = |id: String, uri: String| {
        let (s, token) = (&s, token.clone());
        async move {
            let body = json!({"method": {"name": "web-download", "uri": uri}}).to_string();
            let path = format!("/v2/images/{id}/import");
            s.raw(Method::POST, &path, Some(&token), &[("Content-Type", "application/json"), JSON], Some(&body)).await
        }
    };
    let id = raw_vm_image(&s, &token).await;
    let r = import(id.clone(), format!("{files}/disk.raw")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let img = wait_for_status(&s, &token, &id, "active").await;
    assert_eq!((img["size"].as_u64(), img["checksum"].as_str()), (Some(150_000), Some(md5_hex(&data).as_str())));

    let id = raw_vm_image(&s, &token).await;
    assert_glance_error(&import(id.clone(), "http://10.1.2.3/disk.raw".into()).await, 400, "may fetch images from");
    assert_glance_error(
        &import(id.clone(), "http://169.254.169.254/latest".into()).await,
        400,
        "may fetch images from",
    );
    for (path, why) in
        [("/away", "a host this server may not fetch from"), ("/to-a-name", "no public address"), ("/missing", "404")]
    {
        let id = raw_vm_image(&s, &token).await;
        let r = import(id.clone(), format!("{files}{path}")).await;
        assert_eq!(r.status, 202, "{path}: {}", r.text);
        let img = wait_for_status(&s, &token, &id, "queued").await;
        let reason = img["os_glance_import_failure"].as_str().unwrap_or_default();
        assert!(reason.contains(why), "{path}: {reason}");
    }
}

/// The sweep undoes a transfer that stopped moving (a node that died mid-upload) and
/// leaves a running one, whose image's `updated_at` is recent, alone.
async fn the_sweep_undoes_stalled_transfers_only(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let put_back = |id: &str, status: imagehub_catalog::Status, age_ms: i64| {
        let stores = s.stores.clone();
        let id = imagehub_catalog::ImageId::parse(id).unwrap();
        async move {
            let was = stores.images.get_image(id).await.unwrap().unwrap();
            let mut stale = was.clone();
            stale.status = status;
            stale.updated_at = imagehub_catalog::Millis(imagehub_catalog::Millis::now().0 - age_ms);
            assert!(stores.images.update_image_if(&stale, &was).await.unwrap());
        }
    };
    let stalled = raw_vm_image(&s, &token).await;
    put_back(&stalled, imagehub_catalog::Status::Saving, 11 * 60 * 1000).await;
    let importing = raw_vm_image(&s, &token).await;
    put_back(&importing, imagehub_catalog::Status::Importing, 11 * 60 * 1000).await;
    let running = raw_vm_image(&s, &token).await;
    put_back(&running, imagehub_catalog::Status::Saving, 5_000).await;
    assert_eq!(s.catalog.sweep_stalled_uploads().await.unwrap(), 2);
    assert_eq!(show(&s, &token, &stalled).await["status"], "queued");
    let img = show(&s, &token, &importing).await;
    assert_eq!(img["status"], "queued");
    assert!(img["os_glance_import_failure"].as_str().unwrap_or_default().contains("cut short"), "{img}");
    assert_eq!(show(&s, &token, &running).await["status"], "saving", "a transfer that moves is left alone");
}

both_backends!(
    the_sweep_undoes_stalled_transfers_only,
    web_download_imports_from_allowed_hosts_only,
    uploads_past_the_project_quota_are_refused,
    racing_uploads_and_a_patch_meanwhile,
    a_failed_import_says_why,
    disk_formats_are_checked,
    staging_then_glance_direct_import,
    upload_then_download_whole_and_in_ranges,
    uploads_refused_as_glance_refuses_them,
    deactivated_data_is_for_admins_and_deleted_data_goes,
    an_image_deleted_during_its_upload_answers_gone,
);
