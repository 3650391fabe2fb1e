//! Real OpenStack clients against the real binary: tests/python/glance_scenario.py drives
//! python-glanceclient, openstacksdk and the `glance` CLI, on both backends.
//!
//! The interpreter is `IMAGEHUB_TEST_PYTHON`, else `.venv/bin/python` of the workspace
//! (made by `scripts/python-env`), else `python3`. Without the client libraries the test
//! says loudly that it skipped, unless `CI` is set, where that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imagehub_store::testing::PgDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_imagehub");
const ADMIN: &str = "clients-admin-token-0123456789";
const PROJECT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PROJECT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn python() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = std::env::var("IMAGEHUB_TEST_PYTHON")
        .ok()
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace().join(".venv/bin/python"), PathBuf::from("python3")])
        .collect();
    for p in candidates {
        let ok =
            Command::new(&p).args(["-c", "import glanceclient, openstack"]).output().is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    assert!(!in_ci(), "no Python with python-glanceclient and openstacksdk in CI (run scripts/python-env)");
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED the OpenStack client scenario: no Python with python-glanceclient and openstacksdk. \
         Run scripts/python-env or set IMAGEHUB_TEST_PYTHON. ***\n"
    );
    None
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn token(database: &str, project: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--project", project, "--role", "member", "--database", database])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn scenario(database: &str) {
    let Some(python) = python() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server(
        Command::new(BIN)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database", database])
            .env("IMAGEHUB_BOOTSTRAP_TOKEN", ADMIN)
            .env("IMAGEHUB_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let glance =
        python.parent().map(|d| d.join("glance")).filter(|g| g.exists()).unwrap_or_else(|| PathBuf::from("glance"));
    let out = Command::new(&python)
        .arg(workspace().join("tests/python/glance_scenario.py"))
        .env("IMAGEHUB_URL", format!("http://127.0.0.1:{port}"))
        .env("IMAGEHUB_TOKEN_A", token(database, PROJECT_A))
        .env("IMAGEHUB_PROJECT_A", PROJECT_A)
        .env("IMAGEHUB_TOKEN_B", token(database, PROJECT_B))
        .env("IMAGEHUB_PROJECT_B", PROJECT_B)
        .env("IMAGEHUB_TOKEN_ADMIN", ADMIN)
        .env("IMAGEHUB_GLANCE_BIN", glance)
        .output()
        .unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "scenario failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OK: all steps passed"));
}

#[test]
fn openstack_clients_work_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&format!("sqlite://{}", dir.path().join("clients.db").display()));
}

#[test]
fn openstack_clients_work_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = rt.block_on(PgDatabase::create("openstack_clients_work_on_postgres")) else { return };
    scenario(&db.url);
}
