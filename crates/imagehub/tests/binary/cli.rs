//! The real `imagehub` binary: first start, tokens, restarts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BIN;
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const SYSTEM: &str = "00000000000000000000000000000000";

struct Running {
    child: Child,
    base: String,
    /// What the server printed on stdout before it was ready (the first-start token).
    stdout: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `imagehub serve` on a free port and waits until it listens.
fn serve(data: &Path, env: &[(&str, &str)]) -> Running {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("IMAGEHUB_LOG", "info")
        .env_remove("IMAGEHUB_BOOTSTRAP_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // stdout is line-buffered; collect it on a thread so the pipe never fills.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        match stderr.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    break addr.trim().to_owned();
                }
            }
            _ => panic!("server exited before listening"),
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || stderr.for_each(drop));
    // Everything on stdout was written before "listening"; give the reader a moment.
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        lines.push(line);
    }
    wait_ready(&base);
    Running { child, base, stdout: lines }
}

fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(base.trim_start_matches("http://")).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server at {base} never became ready");
}

fn token_create(data: &Path, project: &str, role: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--project", project, "--role", role, "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "token create failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn get(base: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new().get(format!("{base}{path}")).header("X-Auth-Token", token).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
    })
}

fn delete(base: &str, path: &str, token: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .delete(format!("{base}{path}"))
            .header("X-Auth-Token", token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn first_start_prints_an_admin_token_once_and_tokens_work_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = serve(&data, &[]);
    let admin = first.stdout.iter().find(|l| l.starts_with("ih_")).cloned().expect("no admin token printed");
    assert!(data.join("imagehub.db").exists());
    let (status, body) = get(&first.base, &format!("/v1/{SYSTEM}/images"), &admin);
    assert_eq!(status, 200);
    assert_eq!(body["total"], 24);

    // A token created while the server runs works at once.
    let member = token_create(&data, PROJECT, "member");
    assert!(member.starts_with("ih_") && member.len() > 40);
    let (status, body) = get(&first.base, &format!("/v1/{PROJECT}/images?limit=1"), &member);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 24);

    // An administrator deletes a built-in image; a restart neither reloads it nor prints a token.
    assert_eq!(delete(&first.base, &format!("/v1/{SYSTEM}/images/e1a07296-22a8-4f05-8bc8-e936c8e54099"), &admin), 200);
    drop(first);
    let second = serve(&data, &[]);
    assert!(second.stdout.iter().all(|l| !l.starts_with("ih_")), "token printed again: {:?}", second.stdout);
    let (_, body) = get(&second.base, &format!("/v1/{PROJECT}/images"), &member);
    assert_eq!(body["total"], 23);
    let (status, _) = get(&second.base, &format!("/v1/{SYSTEM}/images"), &admin);
    assert_eq!(status, 200);
}

#[test]
fn bootstrap_token_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let chosen = "operator-chosen-token-123456";
    let s = serve(&data, &[("IMAGEHUB_BOOTSTRAP_TOKEN", chosen)]);
    assert!(s.stdout.iter().all(|l| !l.starts_with("ih_")), "a token was generated: {:?}", s.stdout);
    let (status, _) = get(&s.base, &format!("/v1/{SYSTEM}/images"), chosen);
    assert_eq!(status, 200);
    let (status, body) = get(&s.base, &format!("/v1/{SYSTEM}/images"), "wrong-token-123456789");
    assert_eq!((status, body["error_code"].as_str()), (401, Some("ModelArts.0203")));
}

#[test]
fn admin_commands_refuse_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["token", "create", "--project", "NOT-HEX", "--role", "member", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("32 lowercase hexadecimal"));
    let out = Command::new(BIN)
        .args(["token", "create", "--project", PROJECT, "--role", "owner", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin, member or reader"));
    let out = Command::new(BIN).args(["config", "example"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("bind = \"127.0.0.1:9292\""));
    let out = Command::new(BIN).args(["migrate", "--data-dir"]).arg(dir.path().join("m")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn access_keys_from_the_command_line_and_the_master_key_rules() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(BIN);
        c.args(args).arg("--data-dir").arg(&data).env_remove("IMAGEHUB_MASTER_KEY");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(&["access-key", "create", "--project", PROJECT, "--role", "member", "--label", "sdk"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let ak = text.lines().find_map(|l| l.strip_prefix("access_key ")).unwrap().to_owned();
    let sk = text.lines().find_map(|l| l.strip_prefix("secret_key ")).unwrap().to_owned();
    assert_eq!((ak.len(), sk.len()), (20, 40));
    // The master key file was created, readable by its owner only.
    let key_file = data.join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The secret is not in the database file in clear.
    let db = std::fs::read(data.join("imagehub.db")).unwrap();
    let wal = std::fs::read(data.join("imagehub.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(sk.len()).any(|w| w == sk.as_bytes()), "secret stored in clear");
    }
    let list = String::from_utf8(run(&["access-key", "list"], &[]).stdout).unwrap();
    assert!(list.contains(&ak) && list.contains("active") && list.contains("sdk") && !list.contains(&sk));
    assert!(run(&["access-key", "revoke", &ak], &[]).status.success());
    assert!(String::from_utf8(run(&["access-key", "list"], &[]).stdout).unwrap().contains("revoked"));
    let again = run(&["access-key", "revoke", &ak], &[]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("no active access key"));
    // Another master key for the same database is refused, clearly.
    let other = "ab".repeat(32);
    let refused = run(&["access-key", "list"], &[("IMAGEHUB_MASTER_KEY", &other)]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not the one this database"));
    let bad = run(&["access-key", "list"], &[("IMAGEHUB_MASTER_KEY", "xyz")]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("64 hexadecimal digits"));
    // The file's key, given in the environment, is accepted.
    let from_file = std::fs::read_to_string(&key_file).unwrap();
    assert!(run(&["access-key", "list"], &[("IMAGEHUB_MASTER_KEY", from_file.trim())]).status.success());
}

#[test]
fn tokens_are_listed_revoked_and_expire_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = serve(&data, &[]);
    let admin = |args: &[&str]| Command::new(BIN).args(args).arg("--data-dir").arg(&data).output().unwrap();
    let out = admin(&["token", "create", "--project", PROJECT, "--label", "ci job", "--expires-in", "2s"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let short = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let kept = token_create(&data, PROJECT, "member");
    let images = format!("/v1/{PROJECT}/images?limit=1");
    assert_eq!(get(&running.base, &images, &short).0, 200);
    assert_eq!(get(&running.base, &images, &kept).0, 200);

    let list = String::from_utf8(admin(&["token", "list"]).stdout).unwrap();
    assert!(!list.contains(&short) && !list.contains(&kept), "a token value was listed:\n{list}");
    let row = list.lines().find(|l| l.contains("ci job")).unwrap_or_else(|| panic!("no labelled row:\n{list}"));
    assert!(row.contains(PROJECT) && row.contains("member") && row.contains("active"), "{row}");
    let kept_row = list.lines().rfind(|l| !l.contains("ci job") && l.contains(PROJECT)).unwrap();
    let kept_id = kept_row.split_whitespace().next().unwrap().to_owned();
    // A used token shows when it was last used (not "-").
    assert_eq!(kept_row.split_whitespace().nth(4).map(|c| c.len()), Some(20), "{kept_row}");

    // Revoked: refused at once by the running server, on every face.
    let out = admin(&["token", "revoke", &kept_id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, body) = get(&running.base, &images, &kept);
    assert_eq!((status, body["error_code"].as_str()), (401, Some("ModelArts.0203")), "{body}");
    assert_eq!(get(&running.base, "/v2/images", &kept).0, 401);
    let again = admin(&["token", "revoke", &kept_id]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("no active token"));
    assert!(String::from_utf8(admin(&["token", "list"]).stdout).unwrap().contains("revoked"));

    // Expired after its lifetime.
    std::thread::sleep(Duration::from_millis(2_100));
    assert_eq!(get(&running.base, &images, &short).0, 401);
    let list = String::from_utf8(admin(&["token", "list"]).stdout).unwrap();
    assert!(list.lines().any(|l| l.contains("ci job") && l.contains("expired")), "{list}");
    let bad = admin(&["token", "create", "--project", PROJECT, "--expires-in", "soon"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("12h"));
}
