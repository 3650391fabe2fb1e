//! The real `imagehub` binary: first start, tokens, restarts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::BIN;
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const SYSTEM: &str = "00000000000000000000000000000000";

struct Running {
    child: Child,
    base: String,
    /// What the server printed on stdout before it was ready (the first-start token).
    stdout: Vec<String>,
    /// Every line of its log (stderr), as it comes.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Running {
    /// The log lines so far that contain every one of `needles`.
    fn log_lines_with(&self, needles: &[&str]) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| needles.iter().all(|n| l.contains(n))).cloned().collect()
    }
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
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let base = loop {
        match stderr.next() {
            Some(Ok(line)) => {
                log.lock().unwrap().push(line.clone());
                if let Some(addr) = line.split("listening on ").nth(1) {
                    break addr.trim().to_owned();
                }
            }
            _ => panic!("server exited before listening: {:?}", log.lock().unwrap()),
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    let kept = log.clone();
    std::thread::spawn(move || stderr.map_while(Result::ok).for_each(|l| kept.lock().unwrap().push(l)));
    // Everything on stdout was written before "listening"; give the reader a moment.
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        lines.push(line);
    }
    wait_ready(&base);
    Running { child, base, stdout: lines, log }
}

fn wait_ready(base: &str) {
    let port = base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
    assert!(crate::wait_answers(port, Duration::from_secs(30)), "server at {base} never became ready");
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
    let out =
        run(&["access-key", "create", "--project", PROJECT, "--role", "member", "--label", "sdk", "--create"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let ak = text.lines().find_map(|l| l.strip_prefix("access_key ")).unwrap().to_owned();
    let sk = text.lines().find_map(|l| l.strip_prefix("secret_key ")).unwrap().to_owned();
    assert_eq!((ak.len(), sk.len()), (20, 40));
    // The master key file was created, readable by its owner only.
    let key_file = data.join("master.key");
    // A data directory that cannot be made (even by root): the message names it.
    #[cfg(target_os = "linux")]
    {
        let data = Path::new("/proc/imagehub-cannot-be-here/data");
        let (ok, _, err) = admin_in(data, &["token", "create", "--project", PROJECT, "--create"]);
        assert!(!ok && err.contains("/proc/imagehub-cannot-be-here"), "{err}");
    }
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

    // A use is recorded in the background: within a moment.
    std::thread::sleep(Duration::from_millis(300));
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

#[test]
fn every_request_is_logged_at_info_with_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&dir.path().join("data"), &[]);
    let admin = running.stdout.iter().find(|l| l.starts_with("ih_")).cloned().unwrap();
    assert_eq!(get(&running.base, &format!("/v1/{SYSTEM}/images?limit=1"), &admin).0, 200);
    let (status, body) = get(&running.base, "/no/such/path", &admin);
    assert_eq!((status, body["error"]["code"].as_i64()), (404, Some(404)), "{body}");
    assert_eq!(get(&running.base, "/v2/images", "not-a-token").0, 401);
    std::thread::sleep(Duration::from_millis(200));
    for (path, status) in [("/v1/", "status=200"), ("/no/such/path", "status=404"), ("/v2/images", "status=401")] {
        let lines = running.log_lines_with(&["INFO", "method=GET", path, status, "request_id=", "ms="]);
        assert_eq!(lines.len(), 1, "{path}: {:?}", running.log.lock().unwrap());
    }
}

/// Runs an administrative command on `data`; returns (success, stdout, stderr).
fn admin_in(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out =
        Command::new(BIN).args(args).arg("--data-dir").arg(data).env_remove("IMAGEHUB_MASTER_KEY").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_port_in_use_fails_before_anything_is_made_or_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args(["serve", "--bind", &addr, "--data-dir"])
        .arg(&data)
        .env_remove("IMAGEHUB_BOOTSTRAP_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("cannot listen on {addr}")));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ih_"), "a token was printed for a server that never ran");
    assert!(!data.join("imagehub.db").exists() && !data.join("master.key").exists(), "something was made");
}

#[test]
fn admin_commands_never_make_a_catalog_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("typo");
    for args in [
        &["token", "create", "--project", PROJECT][..],
        &["token", "list"],
        &["token", "revoke", "0123456789abcdef"],
        &["access-key", "create", "--project", PROJECT],
        &["access-key", "list"],
        &["access-key", "revoke", "AK"],
    ] {
        let (ok, _, err) = admin_in(&data, args);
        assert!(!ok, "{args:?} succeeded without a database");
        assert!(err.contains("no imagehub database at") && err.contains("--create"), "{args:?}: {err}");
    }
    assert!(!data.exists(), "a directory or database was made");
    // --create makes one, deliberately; then the commands work without it.
    let (ok, out, err) = admin_in(&data, &["token", "create", "--project", PROJECT, "--create"]);
    assert!(ok && out.starts_with("ih_"), "{err}");
    assert!(data.join("imagehub.db").exists());
    let key = std::fs::read_to_string(data.join("master.key")).unwrap();
    assert_eq!(key.trim().len(), 64, "a whole key: {key:?}");
    let staged = std::fs::read_dir(&data)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".master"))
        .count();
    assert_eq!(staged, 0, "the staged key file was left behind");
    let (ok, out, _) = admin_in(&data, &["token", "list"]);
    assert!(ok && out.contains(PROJECT));
    // Nor a master key: a new one would seal secrets the servers' key cannot open.
    std::fs::remove_file(data.join("master.key")).unwrap();
    let (ok, _, err) = admin_in(&data, &["access-key", "list"]);
    assert!(!ok && err.contains("no master key at") && err.contains("--create"), "{err}");
    assert!(!data.join("master.key").exists(), "a master key was made");
}

#[test]
fn empty_corrupt_and_unwritable_databases_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in
        [("empty", Vec::new()), ("corrupt", b"this is not an SQLite database at all, just text\n".repeat(100))]
    {
        let data = dir.path().join(what);
        std::fs::create_dir_all(&data).unwrap();
        let db = data.join("imagehub.db");
        std::fs::write(&db, &bytes).unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env_remove("IMAGEHUB_BOOTSTRAP_TOKEN")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: served");
        assert!(err.contains(&db.display().to_string()), "{what}: the path is not named: {err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ih_"), "{what}: a token was printed");
        assert_eq!(std::fs::read(&db).unwrap(), bytes, "{what}: the file was changed");
        let (ok, _, err) = admin_in(&data, &["token", "list"]);
        assert!(!ok && err.contains(&db.display().to_string()), "{what}: {err}");
    }
    // A data directory that cannot be made (even by root): the message names it.
    #[cfg(target_os = "linux")]
    {
        let data = Path::new("/proc/imagehub-cannot-be-here/data");
        let (ok, _, err) = admin_in(data, &["token", "create", "--project", PROJECT, "--create"]);
        assert!(!ok && err.contains("/proc/imagehub-cannot-be-here"), "{err}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let data = dir.path().join("readonly");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root ignores permissions: the check means something only for other users.
        if std::fs::write(data.join("probe"), b"").is_err() {
            let (ok, _, err) = admin_in(&data, &["token", "create", "--project", PROJECT, "--create"]);
            assert!(!ok && err.contains(&data.display().to_string()), "{err}");
        }
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A raw connection to `base`, with reads that give up after `timeout`.
fn raw(base: &str, timeout: Duration) -> std::net::TcpStream {
    let c = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    c.set_read_timeout(Some(timeout)).unwrap();
    c
}

/// Reads until the peer closes (or the read timeout passes); returns what came and whether
/// the connection was closed.
fn read_to_close(c: &mut std::net::TcpStream) -> (String, bool) {
    use std::io::Read;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_oversized_bodies_refused_at_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let running = serve(
        &dir.path().join("data"),
        &[("IMAGEHUB_HEADER_TIMEOUT", "1"), ("IMAGEHUB_BODY_TIMEOUT", "1"), ("IMAGEHUB_MAX_CONNECTIONS", "3")],
    );
    let admin = running.stdout.iter().find(|l| l.starts_with("ih_")).cloned().unwrap();
    let wait = Duration::from_secs(5);

    // Headers that never finish: closed after the header timeout.
    let started = std::time::Instant::now();
    let mut c = raw(&running.base, wait);
    c.write_all(b"GET /versions HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (_, closed) = read_to_close(&mut c);
    assert!(closed && started.elapsed() < Duration::from_secs(4), "slow headers kept open {:?}", started.elapsed());

    // An idle keep-alive connection: one answer, then closed after the same bound.
    let mut c = raw(&running.base, wait);
    c.write_all(b"GET /versions HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let started = std::time::Instant::now();
    let (got, closed) = read_to_close(&mut c);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(closed && started.elapsed() < Duration::from_secs(4), "idle connection kept open");

    // A body that stops arriving is cut off.
    let mut c = raw(&running.base, wait);
    let head = format!(
        "POST /v1/{SYSTEM}/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {admin}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"swr_"
    );
    c.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let (got, closed) = read_to_close(&mut c);
    assert!(closed && started.elapsed() < Duration::from_secs(4), "a stalled body kept the request open: {got}");
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 4"), "{got}");

    // A body that drips (a byte every 0.4 s, never stalling for the body timeout) is cut
    // off once it has arrived too slowly for longer than that timeout.
    let mut c = raw(&running.base, wait);
    c.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let dripping = c.try_clone().unwrap();
    let drip = std::thread::spawn(move || {
        let mut c = dripping;
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(400));
            if c.write_all(b" ").is_err() {
                break;
            }
        }
    });
    let (got, closed) = read_to_close(&mut c);
    assert!(closed && started.elapsed() < Duration::from_secs(4), "a dripping body kept the request open: {got}");
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 4"), "{got}");
    drop(drip);

    // A signed request whose access key is unknown is refused before its body is read:
    // at once, though the body never comes.
    let mut c = raw(&running.base, wait);
    let date = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let head = format!(
        "POST /v1/{SYSTEM}/images HTTP/1.1\r\nHost: x\r\nX-Sdk-Date: {date}\r\nAuthorization: SDK-HMAC-SHA256 \
         Access=NOSUCHKEY0000000000, SignedHeaders=host;x-sdk-date, Signature=00\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    c.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let mut answer = [0u8; 4096];
    let n = std::io::Read::read(&mut c, &mut answer).unwrap();
    let answered = started.elapsed();
    let got = String::from_utf8_lossy(&answer[..n]);
    assert!(got.starts_with("HTTP/1.1 401"), "{got}");
    assert!(answered < Duration::from_millis(900), "the refusal waited for the body: {answered:?}");

    // A declared body over the limit: 413 at once, in the face's envelope, nothing read.
    let mut c = raw(&running.base, wait);
    let head = format!(
        "POST /v1/{SYSTEM}/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {admin}\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n"
    );
    c.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let (got, _) = read_to_close(&mut c);
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(got.contains("ModelArts.0104") && started.elapsed() < Duration::from_millis(900), "{got}");

    // At the connection cap, a new connection waits until one closes, and the log says so.
    let mut holders: Vec<_> = (0..3).map(|_| raw(&running.base, wait)).collect();
    for h in &mut holders {
        h.write_all(b"GET /versions HTTP/1.1\r\nHost: x\r\n").unwrap(); // unfinished: held
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut late = raw(&running.base, wait);
    late.write_all(b"GET /versions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let started = std::time::Instant::now();
    let (got, _) = read_to_close(&mut late);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(started.elapsed() >= Duration::from_millis(500), "served beside three held connections");
    assert!(!running.log_lines_with(&["connection limit reached", "max_connections=3"]).is_empty());
}

#[test]
fn public_url_makes_the_absolute_links() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&dir.path().join("data"), &[("IMAGEHUB_PUBLIC_URL", "https://images.example.com/")]);
    let admin = running.stdout.iter().find(|l| l.starts_with("ih_")).cloned().unwrap();
    let (_, versions) = get(&running.base, "/versions", &admin);
    assert_eq!(versions["versions"][0]["links"][0]["href"], "https://images.example.com/v2/");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let location = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/v2/images", running.base))
            .header("X-Auth-Token", &admin)
            .json(&serde_json::json!({"name": "linked"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["location"].to_str().unwrap().to_owned()
    });
    assert!(location.starts_with("https://images.example.com/v2/images/"), "{location}");
    let bad = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--public-url", "images.example.com", "--data-dir"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("public_url"));
}

/// `imagehub blobs check`: an orphan blob and an image whose data went missing are
/// reported (exit 1); `--repair` removes the one and queues the other; then all agrees.
#[test]
fn blobs_check_reports_and_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let server = serve(data, &[]);
    let token = token_create(data, PROJECT, "member");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = reqwest::Client::new();
    let upload = |name: &'static str| {
        let (c, base, token) = (c.clone(), server.base.clone(), token.clone());
        async move {
            let r = c
                .post(format!("{base}/v2/images"))
                .header("X-Auth-Token", &token)
                .json(&serde_json::json!({"name": name, "disk_format": "raw", "container_format": "bare"}))
                .send()
                .await
                .unwrap();
            let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            let r = c
                .put(format!("{base}/v2/images/{id}/file"))
                .header("X-Auth-Token", &token)
                .header("Content-Type", "application/octet-stream")
                .body(vec![3u8; 1000])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 204);
            id
        }
    };
    let (kept, lost) = rt.block_on(async { (upload("kept").await, upload("lost").await) });
    let images = data.join("images");
    std::fs::remove_file(images.join(&lost)).unwrap();
    std::fs::write(images.join("0badf00d-0000-4000-8000-000000000000"), b"left behind").unwrap();

    let check = |repair: bool| {
        let mut cmd = Command::new(BIN);
        cmd.args(["blobs", "check", "--data-dir"]).arg(data);
        if repair {
            cmd.arg("--repair");
        }
        let out = cmd.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (ok, out) = check(false);
    assert!(!ok, "disagreement is a failure:\n{out}");
    assert!(out.contains("orphan blob 0badf00d-0000-4000-8000-000000000000"), "{out}");
    assert!(out.contains(&format!("image {lost}: its data is missing")), "{out}");
    assert!(!out.contains(&kept), "{out}");
    // A SQLite database has one server, whose read index would not see another
    // process's repair: it runs with the server stopped.
    drop(server);
    let (ok, out) = check(true);
    assert!(ok, "{out}");
    let (ok, out) = check(false);
    assert!(ok && out.contains("0 orphan blobs, 0 images without their data"), "{out}");
    let server = serve(data, &[]);
    let (_, img) = get(&server.base, &format!("/v2/images/{lost}"), &token);
    assert_eq!((img["status"].as_str(), &img["size"]), (Some("queued"), &serde_json::Value::Null), "{img}");
    let (_, img) = get(&server.base, &format!("/v2/images/{kept}"), &token);
    assert_eq!(img["status"], "active");
}

/// A password login through the running server's identity face: (status, token).
fn keystone_login(base: &str, user: &str, password: &str, project: &str) -> (u16, Option<String>) {
    let body = serde_json::json!({ "auth": { "identity": { "methods": ["password"], "password": { "user": {
        "name": user, "password": password, "domain": { "name": "Default" } } } },
        "scope": { "project": { "name": project, "domain": { "name": "Default" } } } } });
    let out = Command::new("curl")
        .args(["-s", "-i", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary"])
        .arg(body.to_string())
        .arg(format!("{base}/v3/auth/tokens"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let token = text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("x-subject-token").then(|| v.trim().to_owned())
    });
    (status, token)
}

/// `imagehub project|user|role …` while the server runs: what they print, what they
/// refuse, and that a login sees each change at once.
#[test]
fn projects_users_and_roles_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = serve(&data, &[]);
    let data_dir = data.display().to_string();
    let with_input = |args: &[&str], input: &str| {
        let out = crate::run_with_input(&[args, &["--data-dir", &data_dir]].concat(), &[], input);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, out, err) = admin_in(&data, &["project", "create", "--name", "research", "--id", PROJECT]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("id {PROJECT}")) && out.contains("name research") && out.contains("domain Default"));
    let (ok, out, _) = admin_in(&data, &["project", "create"]);
    assert!(ok);
    let unnamed = out.lines().find_map(|l| l.strip_prefix("id ")).unwrap().to_owned();
    assert!(out.contains(&format!("name {unnamed}")), "a project made without a name is named by its id: {out}");
    let (ok, _, err) = admin_in(&data, &["project", "create", "--name", "research"]);
    assert!(!ok && err.contains("exists already"), "{err}");
    let (_, list, _) = admin_in(&data, &["project", "list"]);
    assert!(list.contains("research") && list.contains(&unnamed), "{list}");

    // A generated password, printed once; one from stdin.
    let (ok, out, err) = admin_in(&data, &["user", "create", "--name", "ada", "--project", "research"]);
    assert!(ok, "{err}");
    let generated = out.lines().find_map(|l| l.strip_prefix("password ")).unwrap().to_owned();
    assert_eq!(generated.len(), 24);
    assert!(out.contains("role member"), "{out}");
    let (ok, _, err) = with_input(
        &["user", "create", "--name", "lin", "--project", PROJECT, "--role", "reader", "--password-stdin"],
        "chosen-password\n",
    );
    assert!(ok, "{err}");
    let (_, list, _) = admin_in(&data, &["user", "list"]);
    assert!(list.contains("ada") && list.contains("lin") && !list.contains(&generated) && !list.contains("argon2"));
    for (args, needle) in [
        (vec!["user", "create", "--name", "ada", "--project", "research"], "exists in domain Default"),
        (vec!["user", "create", "--name", "eve", "--project", "nowhere"], "no project \"nowhere\""),
        (
            vec!["user", "create", "--name", "eve", "--project", "research", "--role", "owner"],
            "admin, member or reader",
        ),
        (vec!["user", "disable", "nobody"], "no user \"nobody\""),
    ] {
        let (ok, _, err) = admin_in(&data, &args);
        assert!(!ok && err.contains(needle), "{args:?}: {err}");
    }
    let (ok, _, err) = with_input(&["user", "set-password", "ada", "--password-stdin"], "short\n");
    assert!(!ok && err.contains("8 to 1024"), "{err}");

    // Logins see each change at once.
    let (status, token) = keystone_login(&running.base, "ada", &generated, "research");
    assert_eq!(status, 201);
    let token = token.unwrap();
    assert_eq!(get(&running.base, "/v2/images", &token).0, 200);
    assert_eq!(keystone_login(&running.base, "lin", "chosen-password", "research").0, 201);
    let (ok, _, err) = with_input(&["user", "set-password", "ada", "--password-stdin"], "a-new-password\n");
    assert!(ok, "{err}");
    assert_eq!(get(&running.base, "/v2/images", &token).0, 401, "a new password ends the tokens");
    assert_eq!(keystone_login(&running.base, "ada", &generated, "research").0, 401);
    assert_eq!(keystone_login(&running.base, "ada", "a-new-password", "research").0, 201);
    assert_eq!(keystone_login(&running.base, "ada", "a-new-password", &unnamed).0, 401, "no role there yet");
    let (ok, _, err) = admin_in(&data, &["role", "add", "--user", "ada", "--project", &unnamed, "--role", "admin"]);
    assert!(ok, "{err}");
    assert_eq!(keystone_login(&running.base, "ada", "a-new-password", &unnamed).0, 201);
    let (_, roles, _) = admin_in(&data, &["role", "list"]);
    assert!(roles.lines().any(|l| l.contains("ada") && l.contains("research") && l.ends_with("member")), "{roles}");
    assert!(roles.lines().any(|l| l.contains("ada") && l.ends_with("admin")), "{roles}");
    let (ok, _, err) = admin_in(&data, &["role", "remove", "--user", "ada", "--project", &unnamed]);
    assert!(ok, "{err}");
    assert_eq!(keystone_login(&running.base, "ada", "a-new-password", &unnamed).0, 401);
    let (ok, _, err) = admin_in(&data, &["role", "remove", "--user", "ada", "--project", &unnamed]);
    assert!(!ok && err.contains("has no role"), "{err}");
    let (ok, _, err) = admin_in(&data, &["user", "delete", "lin"]);
    assert!(ok, "{err}");
    assert_eq!(keystone_login(&running.base, "lin", "chosen-password", "research").0, 401);
}
