//! A real S3-compatible server for tests: moto's server mode (PyPI; `scripts/python-env`
//! installs it), on a free loopback port, with a bucket made (feature `testing`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("IMAGEHUB_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace.join(".venv/bin/python")])
        .find(|p| Command::new(p).args(["-c", "import moto.server"]).output().is_ok_and(|o| o.status.success()))
}

fn request(port: u16, line: &str) -> Option<String> {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(c, "{line} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    c.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// Starts moto with `bucket` made; `None` (a loud skip) without it outside CI.
pub fn moto(bucket: &str) -> Option<Moto> {
    let Some(python) = python() else {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        assert!(!ci, "no Python with moto in CI (run scripts/python-env)");
        eprintln!("\n*** SKIPPED the S3 tests: no Python with moto (run scripts/python-env) ***\n");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(python)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while request(port, "GET /").is_none() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let made = request(port, &format!("PUT /{bucket}")).unwrap();
    assert!(made.starts_with("HTTP/1.1 200"), "{made}");
    Some(moto)
}

impl Moto {
    /// The settings of [`crate::S3BlobStore::from_url`] for this server, and what
    /// `AWS_*` environment variables give the same to a process.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("endpoint", self.endpoint.clone()),
            ("allow_http", "true".into()),
            ("region", "us-east-1".into()),
            ("access_key_id", "imagehub-test".into()),
            ("secret_access_key", "imagehub-test".into()),
        ]
    }

    /// [`Self::settings`] as the `AWS_*` variables of a child process.
    pub fn env(&self) -> Vec<(String, String)> {
        self.settings().into_iter().map(|(k, v)| (format!("AWS_{}", k.to_uppercase()), v)).collect()
    }
}
