//! Durability and multi-node behaviour of the real `imagehub serve` binary, on both
//! backends: a write that answered 2xx survives `kill -9`; two processes on one
//! PostgreSQL see each other's writes at once.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imagehub_store::testing::PgDatabase;
use serde_json::{Value, json};

use crate::BIN;
const ADMIN: &str = "durability-admin-token-0123456789";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// Given explicitly, so no key file is written into the working directory.
const MASTER_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the binary on `database` and waits until it answers.
fn start(database: &str, port: u16) -> Server {
    start_with(database, port, &[])
}

/// [`start`] with more environment.
fn start_with(database: &str, port: u16, envs: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database", database])
        .envs(envs.iter().copied())
        .env("IMAGEHUB_BOOTSTRAP_TOKEN", ADMIN)
        .env("IMAGEHUB_MASTER_KEY", MASTER_KEY)
        .env("IMAGEHUB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if crate::wait_answers(port, Duration::from_secs(30)) {
        return Server { child, base: format!("http://127.0.0.1:{port}") };
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("imagehub did not come up on {database}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn register(c: &reqwest::Client, base: &str, path: &str) -> Result<(u16, Value), reqwest::Error> {
    let r = c
        .post(format!("{base}/v1/{PROJECT}/images"))
        .header("X-Auth-Token", ADMIN)
        .json(&json!({"swr_path": path, "description": format!("image at {path}")}))
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn delete(c: &reqwest::Client, base: &str, id: &str) -> Result<u16, reqwest::Error> {
    let r = c.delete(format!("{base}/v1/{PROJECT}/images/{id}")).header("X-Auth-Token", ADMIN).send().await?;
    Ok(r.status().as_u16())
}

async fn show(c: &reqwest::Client, base: &str, id: &str) -> (u16, Value) {
    let r = c.get(format!("{base}/v1/{PROJECT}/images/{id}")).header("X-Auth-Token", ADMIN).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[derive(Default)]
struct Ledger {
    /// Registered (2xx), by id: the answer.
    registered: BTreeMap<String, Value>,
    /// Deleted (2xx).
    deleted: Vec<String>,
    /// Deletes sent but not answered (the server died): either outcome is correct.
    uncertain: Vec<String>,
}

/// Streams registers and deletes from 4 clients, `kill -9`s the server mid-stream,
/// restarts it and checks that the acknowledged state is exactly what is stored.
fn crash_keeps_acknowledged_writes(database: &str) {
    let rt = runtime();
    let port = free_port();
    let mut server = start(database, port);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let base = server.base.clone();
    // Writers run until killed; the kill comes once enough writes are acknowledged
    // (bounded in time), so a loaded machine still kills mid-stream.
    let stop_at = Instant::now() + Duration::from_secs(20);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (ledger, base) = (ledger.clone(), base.clone());
            rt.spawn(async move {
                let c = reqwest::Client::new();
                for n in 0..10_000u32 {
                    let path = format!("swr.example.com/crash/w{w}:t{n}");
                    match register(&c, &base, &path).await {
                        Ok((200, body)) => {
                            let id = body["id"].as_str().unwrap().to_owned();
                            ledger.lock().unwrap().registered.insert(id.clone(), body);
                            if n % 3 == 0 {
                                match delete(&c, &base, &id).await {
                                    Ok(200) => ledger.lock().unwrap().deleted.push(id),
                                    Ok(other) => panic!("delete answered {other}"),
                                    Err(_) => {
                                        // The server died under us: the delete may or may not have committed.
                                        ledger.lock().unwrap().uncertain.push(id);
                                        return;
                                    }
                                }
                            }
                        }
                        Ok((status, body)) => panic!("register answered {status}: {body}"),
                        Err(_) => return,
                    }
                    if Instant::now() > stop_at + Duration::from_secs(5) {
                        return;
                    }
                }
            })
        })
        .collect();
    while ledger.lock().unwrap().registered.len() < 40 && Instant::now() < stop_at {
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL while requests are in flight.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for w in workers {
        rt.block_on(w).unwrap();
    }
    let ledger = ledger.lock().unwrap();
    assert!(ledger.registered.len() > 20, "too few writes before the kill: {}", ledger.registered.len());
    let restarted = start(database, port);
    rt.block_on(async {
        let c = reqwest::Client::new();
        for (id, answer) in &ledger.registered {
            let (status, body) = show(&c, &restarted.base, id).await;
            if ledger.uncertain.contains(id) && status == 404 {
                continue;
            }
            if ledger.deleted.contains(id) {
                assert_eq!(status, 404, "acknowledged delete of {id} was lost");
            } else {
                assert_eq!(status, 200, "acknowledged register of {id} was lost");
                // No torn record: every field as it was acknowledged.
                let mut want = answer.clone();
                let mut got = body.clone();
                for v in [&mut want, &mut got] {
                    v.as_object_mut().unwrap().remove("support_res_categories");
                }
                assert_eq!(got, want, "record {id} changed across the crash");
            }
        }
        // The listing agrees: nothing acknowledged is missing, nothing deleted is back.
        let r = c
            .get(format!("{}/v1/{PROJECT}/images?type=DEDICATED&limit=1000", restarted.base))
            .header("X-Auth-Token", ADMIN)
            .send()
            .await
            .unwrap();
        let listed: Value = r.json().await.unwrap();
        let ids: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        for id in ledger.registered.keys().filter(|id| !ledger.uncertain.contains(id)) {
            assert_eq!(ids.contains(&id.as_str()), !ledger.deleted.contains(id), "listing disagrees on {id}");
        }
    });
    println!(
        "{database}: {} registers and {} deletes acknowledged before kill -9; all intact",
        ledger.registered.len(),
        ledger.deleted.len()
    );
}

#[test]
fn sqlite_crash_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    crash_keeps_acknowledged_writes(&format!("sqlite://{}", dir.path().join("crash.db").display()));
}

#[test]
fn postgres_crash_keeps_acknowledged_writes() {
    let rt = runtime();
    let Some(db) = rt.block_on(PgDatabase::create("postgres_crash_keeps_acknowledged_writes")) else { return };
    crash_keeps_acknowledged_writes(&db.url);
}

/// `kill -9` in the middle of an upload: after the restart the image is queued again
/// without data, nothing of the partial upload is left in the blob directory, and a
/// new upload succeeds.
#[test]
fn sqlite_crash_mid_upload_leaves_the_image_queued() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("upload.db").display());
    let blobs = dir.path().join("images");
    let envs = [("IMAGEHUB_BLOB_DIR", blobs.to_str().unwrap())];
    let port = free_port();
    let mut server = start_with(&database, port, &envs);
    let rt = runtime();
    let c = reqwest::Client::new();
    let base = server.base.clone();
    let image =
        |c: &reqwest::Client, id: &str| c.get(format!("{base}/v2/images/{id}")).header("X-Auth-Token", ADMIN).send();
    let id = rt.block_on(async {
        let r = c
            .post(format!("{}/v2/images", server.base))
            .header("X-Auth-Token", ADMIN)
            .json(&json!({"name": "disk", "disk_format": "raw", "container_format": "bare"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        // A megabyte now, the rest never: the upload is in flight when the server dies.
        let first: Result<Vec<u8>, std::io::Error> = Ok(vec![7u8; 1 << 20]);
        let stalled = futures_util::StreamExt::chain(
            futures_util::stream::once(async move { first }),
            futures_util::stream::pending(),
        );
        let upload = c
            .put(format!("{}/v2/images/{id}/file", server.base))
            .header("X-Auth-Token", ADMIN)
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stalled))
            .send();
        tokio::spawn(upload);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let img: Value = image(&c, &id).await.unwrap().json().await.unwrap();
            let partial = std::fs::read_dir(&blobs).map(|d| d.count()).unwrap_or(0);
            if img["status"] == "saving" && partial > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the upload never got under way: {img}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        id
    });
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(std::fs::read_dir(&blobs).unwrap().count(), 1, "the partial upload is on disk at the crash");

    let server = start_with(&database, port, &envs);
    rt.block_on(async {
        let img: Value = image(&c, &id).await.unwrap().json().await.unwrap();
        assert_eq!((img["status"].as_str(), &img["size"]), (Some("queued"), &Value::Null), "{img}");
        assert_eq!(std::fs::read_dir(&blobs).unwrap().count(), 0, "the partial upload was removed");
        let r = c
            .put(format!("{}/v2/images/{id}/file", server.base))
            .header("X-Auth-Token", ADMIN)
            .header("Content-Type", "application/octet-stream")
            .body(vec![1u8; 4096])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let img: Value = image(&c, &id).await.unwrap().json().await.unwrap();
        assert_eq!((img["status"].as_str(), img["size"].as_u64()), (Some("active"), Some(4096)), "{img}");
    });
}

/// Two imagehub processes on one PostgreSQL: a register through one is listed through
/// the other on the next request; a delete through one is a 404 on the other.
#[test]
fn two_processes_share_one_postgres() {
    let rt = runtime();
    let Some(db) = rt.block_on(PgDatabase::create("two_processes_share_one_postgres")) else { return };
    let a = start(&db.url, free_port());
    let b = start(&db.url, free_port());
    rt.block_on(async {
        let c = reqwest::Client::new();
        let mut live = 0;
        for n in 0..20 {
            let (status, img) = register(&c, &a.base, &format!("swr.example.com/nodes/img:{n}")).await.unwrap();
            assert_eq!(status, 200);
            let id = img["id"].as_str().unwrap();
            let (status, seen) = show(&c, &b.base, id).await;
            assert_eq!(status, 200, "node B does not see {id} registered on node A");
            assert_eq!(seen["swr_path"], img["swr_path"]);
            let listed: Value = c
                .get(format!("{}/v1/{PROJECT}/images?type=DEDICATED&name=img&limit=1", b.base))
                .header("X-Auth-Token", ADMIN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            live += 1;
            assert_eq!(listed["total"], live);
            assert_eq!(listed["data"][0]["id"], id, "newest first on node B");
            // Duplicate through the other node: the unique key is the database's.
            let (status, body) = register(&c, &b.base, &format!("swr.example.com/nodes/img:{n}")).await.unwrap();
            assert_eq!((status, body["error_code"].as_str()), (400, Some("ModelArts.6737")));
            if n % 2 == 0 {
                assert_eq!(delete(&c, &b.base, id).await.unwrap(), 200);
                live -= 1;
                assert_eq!(show(&c, &a.base, id).await.0, 404, "node A still shows {id} deleted on node B");
            }
        }
    });
}

/// Runs an administrative command on `database` (with `input` on stdin); its stdout.
fn admin(database: &str, args: &[&str], input: &str) -> String {
    let all = [args, &["--database", database]].concat();
    let out = crate::run_with_input(&all, &[("IMAGEHUB_MASTER_KEY", MASTER_KEY)], input);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn password_login(c: &reqwest::Client, base: &str, user: &str, password: &str) -> (u16, Option<String>) {
    let body = json!({ "auth": { "identity": { "methods": ["password"], "password": { "user": {
        "name": user, "password": password, "domain": { "id": "default" } } } },
        "scope": { "project": { "name": "nodes", "domain": { "id": "default" } } } } });
    let r = c.post(format!("{base}/v3/auth/tokens")).json(&body).send().await.unwrap();
    let token = r.headers().get("x-subject-token").map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), token)
}

async fn glance_list(c: &reqwest::Client, base: &str, token: &str) -> u16 {
    let r = c.get(format!("{base}/v2/images")).header("X-Auth-Token", token).send().await.unwrap();
    r.status().as_u16()
}

/// Two nodes on one PostgreSQL: a token issued by one is validated, used and revoked
/// through the other, and the revocation holds on the first at once; a user disabled
/// with the command line (while both run) loses its tokens on both at once.
#[test]
fn tokens_from_one_node_are_validated_and_revoked_through_the_other() {
    let rt = runtime();
    let Some(db) = rt.block_on(PgDatabase::create("tokens_across_nodes")) else { return };
    let a = start(&db.url, free_port());
    let b = start(&db.url, free_port());
    admin(&db.url, &["project", "create", "--name", "nodes", "--id", PROJECT], "");
    let password = "across-the-nodes";
    let create = ["user", "create", "--name", "nina", "--project", "nodes", "--password-stdin"];
    admin(&db.url, &create, &format!("{password}\n"));
    rt.block_on(async {
        let c = reqwest::Client::new();
        let (status, token) = password_login(&c, &a.base, "nina", password).await;
        assert_eq!(status, 201);
        let token = token.unwrap();
        // Validated and used through node B.
        let r = c
            .get(format!("{}/v3/auth/tokens", b.base))
            .header("X-Auth-Token", &token)
            .header("X-Subject-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["token"]["project"]["id"], PROJECT);
        assert_eq!(body["token"]["user"]["name"], "nina");
        assert_eq!(glance_list(&c, &b.base, &token).await, 200);
        assert_eq!(glance_list(&c, &a.base, &token).await, 200);
        // Revoked through node B: refused on node A as soon as B answered.
        let r = c
            .delete(format!("{}/v3/auth/tokens", b.base))
            .header("X-Auth-Token", &token)
            .header("X-Subject-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(glance_list(&c, &a.base, &token).await, 401, "node A still takes a token revoked on B");
        assert_eq!(glance_list(&c, &b.base, &token).await, 401);

        // Disabled from the command line while both run.
        let (_, token) = password_login(&c, &b.base, "nina", password).await;
        let token = token.unwrap();
        assert_eq!(glance_list(&c, &a.base, &token).await, 200);
        admin(&db.url, &["user", "disable", "nina"], "");
        assert_eq!(glance_list(&c, &a.base, &token).await, 401, "a disabled user's token on node A");
        assert_eq!(glance_list(&c, &b.base, &token).await, 401, "a disabled user's token on node B");
        assert_eq!(password_login(&c, &a.base, "nina", password).await.0, 401);
        admin(&db.url, &["user", "enable", "nina"], "");
        assert_eq!(password_login(&c, &a.base, "nina", password).await.0, 201);
    });
}
