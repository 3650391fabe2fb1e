//! 8 writers and 8 readers for a bounded time (default 10 s; `IMAGEHUB_TEST_CONCURRENCY_SECS`)
//! on each backend: no unexpected error (no 5xx, no lock error, no dropped connection),
//! duplicate registers resolve to exactly one winner, and the final catalog is exactly
//! what was acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{PROJECT_A, Server};
use serde_json::Value;

const PATHS: u64 = 24;

#[derive(Default)]
struct Ledger {
    registered: BTreeMap<String, String>, // id → path
    deleted: BTreeSet<String>,
    duplicates: u64,
    reads: u64,
}

fn seconds() -> u64 {
    std::env::var("IMAGEHUB_TEST_CONCURRENCY_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10)
}

/// xorshift, seeded per task.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

async fn concurrent_writers_and_readers(s: Server) {
    let s = Arc::new(s);
    let token = s.token(PROJECT_A, "member").await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let until = Instant::now() + Duration::from_secs(seconds());
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let (s, token, ledger) = (s.clone(), token.clone(), ledger.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (w + 1);
            while Instant::now() < until {
                let k = next(&mut rng) % PATHS;
                let path = format!("swr.example.com/conc/img_{k}:v1");
                let body = serde_json::json!({ "swr_path": path });
                let r =
                    s.call(reqwest::Method::POST, &format!("/v1/{PROJECT_A}/images"), Some(&token), Some(body)).await;
                match (r.status.as_u16(), r.body["error_code"].as_str()) {
                    (200, _) => {
                        let id = r.body["id"].as_str().unwrap().to_owned();
                        ledger.lock().unwrap().registered.insert(id.clone(), path);
                        if !next(&mut rng).is_multiple_of(4) {
                            let d = s
                                .call(
                                    reqwest::Method::DELETE,
                                    &format!("/v1/{PROJECT_A}/images/{id}"),
                                    Some(&token),
                                    None,
                                )
                                .await;
                            assert_eq!(d.status.as_u16(), 200, "delete: {}", d.text);
                            ledger.lock().unwrap().deleted.insert(id);
                        }
                    }
                    (400, Some("ModelArts.6737")) => ledger.lock().unwrap().duplicates += 1,
                    (status, _) => panic!("writer {w}: unexpected {status}: {}", r.text),
                }
            }
        }));
    }
    for rdr in 0..8u64 {
        let (s, token, ledger) = (s.clone(), token.clone(), ledger.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = 0xD1B5_4A32_D192_ED03 ^ (rdr + 1);
            while Instant::now() < until {
                let path = match next(&mut rng) % 4 {
                    0 => format!("/v1/{PROJECT_A}/images?type=DEDICATED&limit=50"),
                    1 => format!("/v1/{PROJECT_A}/images?type=DEDICATED&name=img_1&sort_key=name&sort_dir=asc"),
                    2 => format!("/v1/{PROJECT_A}/images/group?type=DEDICATED"),
                    _ => {
                        let id = ledger.lock().unwrap().registered.keys().next_back().cloned();
                        match id {
                            Some(id) => format!("/v1/{PROJECT_A}/images/{id}"),
                            None => format!("/v1/{PROJECT_A}/images"),
                        }
                    }
                };
                let r = s.get(&path, &token).await;
                let ok = r.status == 200 || (r.status == 404 && r.body["error_code"] == "ModelArts.6797");
                assert!(ok, "reader {rdr}: {path} answered {}: {}", r.status, r.text);
                if r.status == 200 && path.contains('?') {
                    // Within one answer, total and data agree (one snapshot).
                    let n = r.body["data"].as_array().unwrap().len() as u64;
                    assert!(r.body["total"].as_u64().unwrap() >= n);
                }
                ledger.lock().unwrap().reads += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED&limit=1000"), &token).await;
    let ledger = ledger.lock().unwrap();
    let listed: BTreeMap<String, String> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i: &Value| (i["id"].as_str().unwrap().to_owned(), i["swr_path"].as_str().unwrap().to_owned()))
        .collect();
    let expected: BTreeMap<String, String> = ledger
        .registered
        .iter()
        .filter(|(id, _)| !ledger.deleted.contains(*id))
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect();
    assert_eq!(listed, expected, "final catalog differs from what was acknowledged");
    let paths: BTreeSet<&String> = listed.values().collect();
    assert_eq!(paths.len(), listed.len(), "a path is registered twice");
    assert!(ledger.duplicates > 0, "the test never produced a duplicate register");
    println!(
        "registers {}, deletes {}, duplicates refused {}, reads {}",
        ledger.registered.len(),
        ledger.deleted.len(),
        ledger.duplicates,
        ledger.reads
    );
}

both_backends!(concurrent_writers_and_readers);
