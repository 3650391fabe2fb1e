//! The real `imagehub` binary: its first start and admin commands (`cli`), the real
//! clients against it (`clients`: python-glanceclient, openstacksdk, the `glance` CLI, the
//! Huawei SDKs, SCNet's samples), and durability and several nodes (`durability`). One
//! test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod clients;
mod durability;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_imagehub");

/// Runs `imagehub ARGS` with `envs` and `input` on its stdin; its output.
pub fn run_with_input(args: &[&str], envs: &[(&str, &str)], input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Waits until the server on `port` answers HTTP (it listens before it is ready: requests
/// wait in the backlog while the catalog opens, so an answer means ready).
pub fn wait_answers(port: u16, within: std::time::Duration) -> bool {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let left =
                deadline.saturating_duration_since(std::time::Instant::now()).max(std::time::Duration::from_millis(1));
            let _ = c.set_read_timeout(Some(left));
            let mut head = [0u8; 8];
            if c.write_all(b"GET /versions HTTP/1.1\r\nHost: ready\r\nConnection: close\r\n\r\n").is_ok()
                && c.read_exact(&mut head).is_ok()
                && &head == b"HTTP/1.1"
            {
                return true;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}
