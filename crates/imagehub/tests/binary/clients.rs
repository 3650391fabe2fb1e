//! Real clients against the real binary, on both backends:
//! - tests/python/glance_scenario.py: python-glanceclient, openstacksdk and the `glance` CLI;
//! - tests/python/huawei_scenario.py: the official Huawei Cloud SDKs (ModelArts and IMS,
//!   signing with access keys) and an SCNet client that logs in with an access key;
//! - tests/python/keystone_scenario.py: the openstack and glance CLIs with only the `OS_*`
//!   variables, openstacksdk with a clouds.yaml, and the Huawei IAM token request, logging
//!   in with a password through the identity face.
//!
//! The interpreter is `IMAGEHUB_TEST_PYTHON`, else `.venv/bin/python` of the workspace
//! (made by `scripts/python-env`), else `python3`. Without the client libraries a test says
//! loudly that it skipped, unless `CI` is set, where that is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use imagehub_store::testing::PgDatabase;

use crate::BIN;
const ADMIN: &str = "clients-admin-token-0123456789";
const PROJECT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PROJECT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
/// Given explicitly, so no key file is written into the working directory.
const MASTER_KEY: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A Python that imports `modules`.
fn python(modules: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = std::env::var("IMAGEHUB_TEST_PYTHON")
        .ok()
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace().join(".venv/bin/python"), PathBuf::from("python3")])
        .collect();
    for p in candidates {
        let ok = Command::new(&p).args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    assert!(!in_ci(), "no Python with {modules} in CI (run scripts/python-env)");
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED a client scenario: no Python with {modules}. Run scripts/python-env or set IMAGEHUB_TEST_PYTHON. ***\n"
    );
    None
}

/// The server process, and the directory of the image data it stores.
struct Server {
    child: Child,
    _blobs: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin(database: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env("IMAGEHUB_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// An administrative command given `input` on stdin.
fn admin_with_input(database: &str, args: &[&str], input: &str) -> String {
    let args = [args, &["--database", database]].concat();
    let out = crate::run_with_input(&args, &[("IMAGEHUB_MASTER_KEY", MASTER_KEY)], input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn token(database: &str, project: &str) -> String {
    admin(database, &["token", "create", "--project", project, "--role", "member"]).trim().to_owned()
}

/// A new access key pair of a project: (AK, SK).
fn access_key(database: &str, project: &str) -> (String, String) {
    let out = admin(database, &["access-key", "create", "--project", project, "--role", "member"]);
    let field = |name: &str| out.lines().find_map(|l| l.strip_prefix(name)).unwrap().trim().to_owned();
    (field("access_key "), field("secret_key "))
}

/// Starts the real server on `database`; returns it and its port.
fn serve(database: &str) -> (Server, u16) {
    serve_with(database, &[])
}

/// [`serve`] with more environment.
fn serve_with(database: &str, envs: &[(String, String)]) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let blobs = tempfile::tempdir().unwrap();
    let server = Server {
        child: Command::new(BIN)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database", database])
            .env("IMAGEHUB_BLOB_DIR", blobs.path())
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .env("IMAGEHUB_BOOTSTRAP_TOKEN", ADMIN)
            .env("IMAGEHUB_MASTER_KEY", MASTER_KEY)
            .env("IMAGEHUB_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
        _blobs: blobs,
    };
    assert!(crate::wait_answers(port, Duration::from_secs(30)), "server did not start");
    (server, port)
}

fn run_script(python: &Path, script: &str, envs: &[(&str, String)]) {
    let out = Command::new(python)
        .arg(workspace().join("tests/python").join(script))
        .envs(envs.iter().map(|(k, v)| (*k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// On PostgreSQL (several nodes' database), the image data goes to object storage (a real
/// S3-compatible server, moto); on SQLite, to the filesystem.
fn openstack_scenario(database: &str) {
    let Some(python) = python("glanceclient, openstack") else { return };
    let moto = if database.starts_with("postgres") {
        let Some(moto) = imagehub_blob::testing::moto("imagehub-clients") else { return };
        Some(moto)
    } else {
        None
    };
    let mut envs = moto.as_ref().map(imagehub_blob::testing::Moto::env).unwrap_or_default();
    if moto.is_some() {
        envs.push(("IMAGEHUB_BLOB_URL".into(), "s3://imagehub-clients/images".into()));
    }
    let (server, port) = serve_with(database, &envs);
    let glance =
        python.parent().map(|d| d.join("glance")).filter(|g| g.exists()).unwrap_or_else(|| PathBuf::from("glance"));
    run_script(
        &python,
        "glance_scenario.py",
        &[
            ("IMAGEHUB_URL", format!("http://127.0.0.1:{port}")),
            ("IMAGEHUB_TOKEN_A", token(database, PROJECT_A)),
            ("IMAGEHUB_PROJECT_A", PROJECT_A.into()),
            ("IMAGEHUB_TOKEN_B", token(database, PROJECT_B)),
            ("IMAGEHUB_PROJECT_B", PROJECT_B.into()),
            ("IMAGEHUB_TOKEN_ADMIN", ADMIN.into()),
            ("IMAGEHUB_GLANCE_BIN", glance.display().to_string()),
        ],
    );
    drop(server);
}

fn huawei_scenario(database: &str) {
    let Some(python) = python("huaweicloudsdkcore, huaweicloudsdkmodelarts, huaweicloudsdkims, requests") else {
        return;
    };
    let (server, port) = serve(database);
    let (ak_a, sk_a) = access_key(database, PROJECT_A);
    let (ak_b, sk_b) = access_key(database, PROJECT_B);
    let home = tempfile::tempdir().unwrap();
    run_script(
        &python,
        "huawei_scenario.py",
        &[
            ("IMAGEHUB_URL", format!("http://127.0.0.1:{port}")),
            ("IMAGEHUB_AK_A", ak_a),
            ("IMAGEHUB_SK_A", sk_a),
            ("IMAGEHUB_PROJECT_A", PROJECT_A.into()),
            ("IMAGEHUB_AK_B", ak_b),
            ("IMAGEHUB_SK_B", sk_b),
            ("IMAGEHUB_PROJECT_B", PROJECT_B.into()),
            // The SDK writes ~/.huaweicloud/application_id.
            ("HOME", home.path().display().to_string()),
        ],
    );
    drop(server);
}

const PASSWORD: &str = "keystone-scenario-password";

/// The projects and users are made with the administrative commands while the server runs.
fn keystone_scenario(database: &str) {
    let Some(python) = python("openstack, requests") else { return };
    let (server, port) = serve(database);
    admin(database, &["project", "create", "--name", "alpha", "--id", PROJECT_A]);
    admin(database, &["project", "create", "--name", "beta", "--id", PROJECT_B]);
    for (user, project) in [("alice", "alpha"), ("bob", "beta")] {
        let args = ["user", "create", "--name", user, "--project", project, "--role", "member", "--password-stdin"];
        admin_with_input(database, &args, &format!("{PASSWORD}\n"));
    }
    let bin_dir = python.parent().map_or_else(|| PathBuf::from("/usr/bin"), Path::to_path_buf);
    run_script(
        &python,
        "keystone_scenario.py",
        &[
            ("IMAGEHUB_URL", format!("http://127.0.0.1:{port}")),
            ("IMAGEHUB_PROJECT_A", PROJECT_A.into()),
            ("IMAGEHUB_PROJECT_B", PROJECT_B.into()),
            ("IMAGEHUB_PASSWORD", PASSWORD.into()),
            ("IMAGEHUB_BIN_DIR", bin_dir.display().to_string()),
        ],
    );
    drop(server);
}

fn on_postgres(test: &str, scenario: fn(&str)) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = rt.block_on(PgDatabase::create(test)) else { return };
    scenario(&db.url);
}

fn on_sqlite(scenario: fn(&str)) {
    let dir = tempfile::tempdir().unwrap();
    scenario(&format!("sqlite://{}", dir.path().join("clients.db").display()));
}

#[test]
fn openstack_clients_work_on_sqlite() {
    on_sqlite(openstack_scenario);
}

#[test]
fn openstack_clients_work_on_postgres() {
    on_postgres("openstack_clients_work_on_postgres", openstack_scenario);
}

#[test]
fn huawei_sdks_and_scnet_clients_work_on_sqlite() {
    on_sqlite(huawei_scenario);
}

#[test]
fn huawei_sdks_and_scnet_clients_work_on_postgres() {
    on_postgres("huawei_sdks_and_scnet_clients_work_on_postgres", huawei_scenario);
}

#[test]
fn password_logins_work_for_openstack_clients_on_sqlite() {
    on_sqlite(keystone_scenario);
}

#[test]
fn password_logins_work_for_openstack_clients_on_postgres() {
    on_postgres("password_logins_work_for_openstack_clients_on_postgres", keystone_scenario);
}
