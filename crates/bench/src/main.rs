//! `imagehub-bench`: builds a catalog of N images through the store, starts the real
//! `imagehub serve` on it, drives each read/write scenario with `wrk` (16 connections,
//! bounded in time), runs a bare HTTP server answering a body of the same size as the list
//! response in the same run, and prints throughput ratios, p50/p99 latency and the server's
//! peak RSS. Loopback only; every load loop is bounded by `--seconds`.

mod catalog;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use imagehub_catalog::{
    Catalog, Filter, GroupQuery, GroupSortKey, Image, ImageBatches, ImageKind, ImageQuery, ImageStore, Listing,
    MasterKey, NameMatch, Needle, PageRequest, Role, SortDir, Stores, View,
};
use imagehub_store::{Explain, Explained, PostgresStore, SqliteStore};

const ADMIN: &str = "bench-admin-token-0123456789";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a catalog and benchmark the server on it.
    Run {
        /// Number of images.
        #[arg(long, default_value_t = 100_000)]
        images: usize,
        /// Database URL; default: a fresh SQLite file under target/bench/.
        #[arg(long)]
        database: Option<String>,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 16)]
        connections: u32,
        /// The imagehub binary (default: next to this one).
        #[arg(long)]
        server_bin: Option<PathBuf>,
    },
    /// A bare HTTP server answering a fixed body (the machine's limit).
    Bare {
        #[arg(long)]
        bind: String,
        #[arg(long)]
        bytes: usize,
    },
}

// The loader builds millions of small values (the same allocator as the server's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The password of the benchmark's login user.
const BENCH_PASSWORD: &str = "bench-password-0123";

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Bare { bind, bytes } => bare(&bind, bytes),
        Cmd::Run { images, database, seconds, connections, server_bin } => {
            run(images, database, seconds.clamp(1, 120), connections.clamp(1, 256), server_bin)
        }
    }
}

fn bare(bind: &str, bytes: usize) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let body: &'static str =
            Box::leak(format!("{{\"data\":\"{}\"}}", "x".repeat(bytes.saturating_sub(11))).into_boxed_str());
        let app = axum::Router::new().fallback(move || async move { ([("content-type", "application/json")], body) });
        let listener = tokio::net::TcpListener::bind(bind).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// The generator's batches, as a bulk load takes them.
struct Generated(tokio::sync::mpsc::Receiver<Vec<Image>>);

#[async_trait::async_trait]
impl ImageBatches for Generated {
    async fn next_batch(&mut self) -> imagehub_catalog::Result<Option<Vec<Image>>> {
        Ok(self.0.recv().await)
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until the server on `port` answers HTTP (imagehub listens before it is ready;
/// requests wait in the backlog until it is).
fn wait_answers(port: u16) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            c.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))?;
            let mut head = [0u8; 8];
            if c.write_all(b"GET /versions HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").is_ok()
                && c.read_exact(&mut head).is_ok()
                && &head == b"HTTP/1.1"
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing answers on {port}")
}

fn wait_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

struct Outcome {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn millis(v: &str) -> f64 {
    let v = v.trim();
    let (n, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// Runs wrk and reads requests/s, p50, p99 and non-2xx counts from its report.
fn wrk(url: &str, token: &str, seconds: u64, connections: u32, script: Option<&str>) -> anyhow::Result<Outcome> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        // wrk wants at least one connection per thread.
        &format!("-t{}", connections.min(2)),
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        "-H",
        &format!("X-Auth-Token: {token}"),
    ]);
    let script_file;
    if let Some(s) = script {
        script_file = std::env::temp_dir().join(format!("imagehub-bench-{}.lua", std::process::id()));
        std::fs::write(&script_file, s)?;
        cmd.arg("-s").arg(&script_file);
    }
    let out = cmd.arg(url).output().context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = |prefix: &str| text.lines().find(|l| l.trim_start().starts_with(prefix)).map(str::to_owned);
    let rps =
        line("Requests/sec:").and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok())).unwrap_or(0.0);
    let pct = |p: &str| line(p).and_then(|l| l.split_whitespace().nth(1).map(millis)).unwrap_or(f64::NAN);
    let errors =
        line("Non-2xx or 3xx responses:").and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok())).unwrap_or(0)
            + line("Socket errors:")
                .map_or(0, |l| l.split(|c: char| !c.is_ascii_digit()).filter_map(|d| d.parse::<u64>().ok()).sum());
    Ok(Outcome { rps, p50_ms: pct("50%"), p99_ms: pct("99%"), errors })
}

/// The size of the body `url` answers (to a POST of `post`, as JSON, if given).
fn body_size(url: &str, token: &str, post: Option<&str>) -> anyhow::Result<usize> {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "/dev/null", "-w", "%{size_download}", "-H", &format!("X-Auth-Token: {token}")]);
    if let Some(body) = post {
        cmd.args(["-H", "Content-Type: application/json", "--data", body]);
    }
    let out = cmd.arg(url).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0))
}

fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

/// A memory figure of `/proc/PID/status` (`VmHWM:`, `VmRSS:`), in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn run(
    n: usize,
    database: Option<String>,
    seconds: u64,
    connections: u32,
    server_bin: Option<PathBuf>,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let dir = PathBuf::from("target/bench").join(n.to_string());
    let url = match database {
        Some(u) => u,
        None => {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            format!("sqlite://{}", dir.join("imagehub.db").display())
        }
    };
    let sqlite_path = imagehub_store::sqlite_path(&url).map(PathBuf::from);
    let (stores, explain): (Stores, Arc<dyn Explain>) = rt.block_on(async {
        Ok::<_, anyhow::Error>(match &sqlite_path {
            Some(p) => {
                let s = Arc::new(SqliteStore::open(p).await.map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?);
                (Stores::all_in(s.clone()), s as Arc<dyn Explain>)
            }
            None => {
                let s =
                    Arc::new(PostgresStore::connect(&url).await.map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?);
                (Stores::all_in(s.clone()), s as Arc<dyn Explain>)
            }
        })
    })?;
    let store: Arc<dyn ImageStore> = stores.images.clone();
    // A run's key is its own unless given (to serve its catalog again afterwards, e.g. to
    // profile the server: `imagehub serve` needs the key the catalog was made with).
    let master = match std::env::var("IMAGEHUB_MASTER_KEY") {
        Ok(hex) => MasterKey::from_hex(&hex).context("IMAGEHUB_MASTER_KEY is not 64 hex digits")?,
        Err(_) => MasterKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let catalog =
        rt.block_on(Catalog::new(stores).with_master_key(master.clone())).map_err(|e| anyhow::anyhow!("{e}"))?;
    rt.block_on(catalog.bootstrap(Some(ADMIN))).map_err(|e| anyhow::anyhow!("{e}"))?;

    println!("# imagehub benchmark: {n} images on {}", if sqlite_path.is_some() { "SQLite" } else { "PostgreSQL" });
    let started = Instant::now();
    // Generating a batch and writing the previous one overlap (two cores).
    let (batches, written) = tokio::sync::mpsc::channel::<Vec<Image>>(2);
    let generator = std::thread::spawn(move || {
        catalog::generate(n, 5000, |batch| {
            batches.blocking_send(batch).map_err(|_| anyhow::anyhow!("the loader stopped"))
        })
    });
    let loaded =
        rt.block_on(store.load_images(&mut Generated(written))).map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?;
    generator.join().map_err(|_| anyhow::anyhow!("the catalog generator panicked"))??;
    anyhow::ensure!(loaded == n as u64, "loaded {loaded} images of {n}");
    let load = started.elapsed();
    println!("\nload: {n} images in {:.1} s ({:.0} images/s)", load.as_secs_f64(), n as f64 / load.as_secs_f64());
    if sqlite_path.is_none() {
        // What an operator does after a bulk import into PostgreSQL: vacuum and analyze
        // now, and finish the checkpoint the load's WAL started, so that neither
        // autovacuum nor a spread checkpoint runs mid-measurement.
        let started = Instant::now();
        for sql in ["VACUUM (ANALYZE) images, image_members, image_tags, image_properties, changes", "CHECKPOINT"] {
            let status = Command::new("psql")
                .args([url.as_str(), "-qc", sql])
                .status()
                .context("running psql after the load")?;
            anyhow::ensure!(status.success(), "{sql} after the load failed");
        }
        println!("vacuum, analyze and checkpoint after the load: {:.1} s", started.elapsed().as_secs_f64());
    }

    // Bench as the owner of the first dedicated image (a typical project), through the
    // catalog as the faces ask it.
    let q = |filters, offset, limit| ImageQuery {
        filters,
        sort: vec![],
        page: PageRequest::Offset { offset, limit },
        with_total: true,
    };
    let scope_of = |token: &str| -> anyhow::Result<imagehub_catalog::Scope> {
        let caller = rt.block_on(catalog.authenticate_token(token)).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(catalog.own_project(&caller))
    };
    let list = |scope: &imagehub_catalog::Scope, query| {
        rt.block_on(catalog.list_images(scope, Listing::Containers, View::DEFAULT, query))
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let first = list(&scope_of(ADMIN)?, q(vec![Filter::Kind(ImageKind::Dedicated)], 0, 1))?;
    let me = first.items.first().map_or_else(|| catalog::project(7), |i| i.owner.clone());
    let token = rt
        .block_on(catalog.create_token(&me, Role::Member, Some("bench".into()), None))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let member = scope_of(&token)?;
    // A user who logs in with a password (the login scenario), a member of that project.
    rt.block_on(async {
        catalog.create_project(Some("bench"), None, Some(me.clone())).await?;
        catalog.create_user("bench-user", None, BENCH_PASSWORD, &me, Role::Member).await
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // ListImage's own filters (type=DEDICATED, the default workspace) and more.
    let dedicated = |extra: Vec<Filter>| {
        let mut f = vec![Filter::Kind(ImageKind::Dedicated), Filter::Workspace("0".into())];
        f.extend(extra);
        f
    };
    let visible = list(&member, q(dedicated(vec![]), 0, 1))?;
    let total = visible.total.unwrap_or(0);
    let deep = total * 9 / 10;
    let deep_row = list(&member, q(dedicated(vec![]), deep, 1))?;
    let own = list(&member, q(vec![Filter::Owner(me.clone())], 0, 1))?;
    let show_id = own.items.first().map(|i| i.id.to_string()).unwrap_or_default();
    // The images Glance PATCH changes in turn: 64 of the project's own.
    let patched: Vec<String> =
        list(&member, q(vec![Filter::Owner(me.clone())], 0, 64))?.items.iter().map(|i| i.id.to_string()).collect();
    let marker = deep_row.items.first().map(|i| i.id.to_string()).unwrap_or_default();
    println!("project {me}: {total} visible dedicated container images; deep offset {deep}");
    // An administrator's Glance list: every project's images (but other projects'
    // community ones), newest first; its deep marker 90% down.
    let admin = scope_of(ADMIN)?;
    let glance = |offset, limit| {
        rt.block_on(catalog.list_images(&admin, Listing::Images, View::DEFAULT, q(vec![], offset, limit)))
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let admin_total = glance(0, 1)?.total.unwrap_or(0);
    let admin_marker = glance(admin_total * 9 / 10, 1)?.items.first().map(|i| i.id.to_string()).unwrap_or_default();
    println!("administrator: {admin_total} images in its Glance list; deep marker at {}", admin_total * 9 / 10);

    println!("\n## query plans\n");
    // What the catalog sends the store: the listing's filters, then the face's.
    let access = member.access(View::DEFAULT);
    let listed = |extra: Vec<Filter>| {
        let mut f = Listing::Containers.filters(&me);
        f.extend(dedicated(extra));
        f
    };
    let fuzzy = listed(vec![Filter::Name(NameMatch::Contains(Needle::new("torch")))]);
    let groups = GroupQuery {
        filters: listed(vec![]),
        sort: vec![(GroupSortKey::UpdatedAt, SortDir::Desc)],
        offset: 0,
        limit: 20,
    };
    for (label, shape) in [
        ("ListImage DEDICATED page", Explained::List(&access, &q(listed(vec![]), 0, 20))),
        ("ListImage DEDICATED count", Explained::Count(&access, &q(listed(vec![]), 0, 20))),
        ("ListImage fuzzy count", Explained::Count(&access, &q(fuzzy.clone(), 0, 20))),
        ("ListImageGroup", Explained::Groups(&access, &groups)),
    ] {
        let plan = rt.block_on(explain.explain(shape)).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("{label}:\n    {}", plan.join("\n    "));
    }
    drop(catalog);
    drop(store);
    drop(explain);

    let bin = server_bin.unwrap_or_else(|| std::env::current_exe().unwrap_or_default().with_file_name("imagehub"));
    // The image data of the transfer scenarios, beside the catalog (made afresh).
    let data_dir = PathBuf::from("target/bench/data");
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let blob_dir = data_dir.join("images");
    let port = free_port()?;
    let server = Killed(
        Command::new(&bin)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database", &url, "--log", "warn"])
            .env("IMAGEHUB_BOOTSTRAP_TOKEN", ADMIN)
            .env("IMAGEHUB_MASTER_KEY", master.to_hex())
            .env("IMAGEHUB_BLOB_DIR", &blob_dir)
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?,
    );
    let starting = Instant::now();
    wait_answers(port)?;
    println!("\nserver ready in {:.1} s (opens the database, builds the read index)", starting.elapsed().as_secs_f64());
    let base = format!("http://127.0.0.1:{port}");
    let p = me.as_str();
    let scnet_body = r#"{"access":"private","orderBy":"create_time","sort":"DESC","start":0,"limit":20}"#;
    let scnet = format!(
        "wrk.method = \"POST\"\nwrk.body = '{scnet_body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    );
    // A wrk script POSTing JSON built by the Lua format `body` from the thread's number
    // and the request's (`%d`, `%d`), so that no write repeats another.
    let post_json = |body: String| {
        format!(
            "local n = 0\nlocal t = 0\nsetup = function(thread) thread:set(\"tid\", t); t = t + 1 end\n\
        request = function()\n  n = n + 1\n  local body = string.format('{body}', tid, n)\n\
        local h = {{}}\n  for k, v in pairs(wrk.headers) do h[k] = v end\n  h[\"Content-Type\"] = \"application/json\"\n\
        return wrk.format(\"POST\", nil, h, body)\nend\n"
        )
    };
    // Each writing scenario registers its own names (`prefix`).
    let register = |prefix: &str| post_json(format!(r#"{{"swr_path":"swr.example.com/bench/{prefix}%d:v%d"}}"#));
    // (label, URL, token, wrk script).
    let scenarios: Vec<(&str, String, &str, Option<String>)> = vec![
        (
            "ModelArts ListImage, first page with total (type=DEDICATED)",
            format!("{base}/v1/{p}/images?type=DEDICATED&limit=20"),
            &token,
            None,
        ),
        ("ModelArts ListImage, built-in (default type)", format!("{base}/v1/{p}/images?limit=20"), &token, None),
        (
            "ModelArts ListImage, name fuzzy + type + sort_key",
            format!("{base}/v1/{p}/images?type=DEDICATED&name=torch&sort_key=update_at&limit=20"),
            &token,
            None,
        ),
        (
            "ModelArts ListImage, deep offset",
            format!("{base}/v1/{p}/images?type=DEDICATED&limit=20&offset={deep}"),
            &token,
            None,
        ),
        ("ModelArts ListImageGroup", format!("{base}/v1/{p}/images/group?type=DEDICATED&limit=20"), &token, None),
        ("ModelArts ShowImage", format!("{base}/v1/{p}/images/{show_id}"), &token, None),
        (
            "Glance list, 3 filters",
            format!("{base}/v2/images?visibility=private&disk_format=raw&status=active&limit=25"),
            &token,
            None,
        ),
        ("Glance list, deep marker", format!("{base}/v2/images?limit=25&marker={marker}"), &token, None),
        ("SCNet POST image/images", format!("{base}/ai/openapi/v2/image/images"), &token, Some(scnet)),
        ("admin: Glance list, first page", format!("{base}/v2/images?limit=25"), ADMIN, None),
        (
            "admin: Glance list, 3 filters",
            format!("{base}/v2/images?visibility=private&disk_format=raw&status=active&limit=25"),
            ADMIN,
            None,
        ),
        ("admin: Glance list, deep marker", format!("{base}/v2/images?limit=25&marker={admin_marker}"), ADMIN, None),
        (
            "admin: ModelArts ListImage in a tenant's path (type=DEDICATED)",
            format!("{base}/v1/{p}/images?type=DEDICATED&limit=20"),
            ADMIN,
            None,
        ),
        (
            "admin: ModelArts ListImageGroup in a tenant's path",
            format!("{base}/v1/{p}/images/group?type=DEDICATED&limit=20"),
            ADMIN,
            None,
        ),
    ];
    // The machine's limit: a bare server answering a body of the ModelArts list's size
    // (the ratio every run since the first reports), and one for each other body size
    // a read answers (the ratio to a same-size body).
    let bare = |bytes: usize| -> anyhow::Result<Outcome> {
        let bare_port = free_port()?;
        let _bare_server = Killed(
            Command::new(std::env::current_exe()?)
                .args(["bare", "--bind", &format!("127.0.0.1:{bare_port}"), "--bytes", &bytes.to_string()])
                .spawn()?,
        );
        wait_port(bare_port)?;
        wrk(&format!("http://127.0.0.1:{bare_port}/"), &token, seconds, connections, None)
    };
    let list_bytes = body_size(&scenarios[0].1, &token, None)?;
    let limit = bare(list_bytes)?;
    println!(
        "\n## {connections} connections, {seconds} s per scenario; bare HTTP server ({list_bytes}-byte body): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms\n",
        limit.rps, limit.p50_ms, limit.p99_ms
    );
    // Bodies within 10% of one another share a bare run.
    let mut same_size: Vec<(usize, f64)> = vec![(list_bytes, limit.rps)];
    let mut sizes = Vec::new();
    for (label, url, token, script) in &scenarios {
        let reads = !label.contains("(writes)");
        let bytes = if reads { body_size(url, token, script.as_ref().map(|_| scnet_body))? } else { 0 };
        if reads && !same_size.iter().any(|&(b, _)| b.abs_diff(bytes) * 10 <= b) {
            let o = bare(bytes)?;
            println!(
                "bare HTTP server ({bytes}-byte body): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                o.rps, o.p50_ms, o.p99_ms
            );
            same_size.push((bytes, o.rps));
        }
        sizes.push(bytes);
    }
    let bare_of =
        |bytes: usize| same_size.iter().min_by_key(|&&(b, _)| b.abs_diff(bytes)).map_or(f64::NAN, |&(_, rps)| rps);
    println!(
        "\n| scenario | req/s | ratio to bare | body bytes | ratio to same-size bare | p50 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let row = |label: &str, o: &Outcome, bytes: usize| {
        let same = if bytes == 0 { "".to_string() } else { format!("{:.1}%", 100.0 * o.rps / bare_of(bytes)) };
        println!(
            "| {label} | {:.0} | {:.1}% | {} | {same} | {:.2} | {:.2} | {} |",
            o.rps,
            100.0 * o.rps / limit.rps,
            if bytes == 0 { "".to_string() } else { bytes.to_string() },
            o.p50_ms,
            o.p99_ms,
            o.errors
        );
    };
    for ((label, url, token, script), bytes) in scenarios.iter().zip(&sizes) {
        row(label, &wrk(url, token, seconds, connections, script.as_deref())?, *bytes);
    }
    // Writes, each scenario on its own names or properties (no write repeats another).
    let glance_create = |prefix: &str| {
        post_json(format!(r#"{{"name":"{prefix}-%d-%d","disk_format":"qcow2","container_format":"bare"}}"#))
    };
    let ids = patched.iter().map(|id| format!("\"{id}\"")).collect::<Vec<_>>().join(",");
    let glance_patch = format!(
        "local ids = {{{ids}}}\nlocal n = 0\nlocal t = 0\nsetup = function(thread) thread:set(\"tid\", t); t = t + 1 end\n\
        request = function()\n  n = n + 1\n  local id = ids[(n * 2 + tid) % #ids + 1]\n\
        local body = string.format('[{{\"op\":\"add\",\"path\":\"/bench_note\",\"value\":\"%d-%d\"}}]', tid, n)\n\
        local h = {{}}\n  for k, v in pairs(wrk.headers) do h[k] = v end\n\
        h[\"Content-Type\"] = \"application/openstack-images-v2.1-json-patch\"\n\
        return wrk.format(\"PATCH\", \"/v2/images/\" .. id, h, body)\nend\n"
    );
    println!(
        "\n| write scenario | connections | writes/s | p50 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    let write_row = |label: &str, c: u32, o: &Outcome| {
        println!("| {label} | {c} | {:.0} | {:.2} | {:.2} | {} |", o.rps, o.p50_ms, o.p99_ms, o.errors);
    };
    for c in [1, 4, 16, 64] {
        let o = wrk(&format!("{base}/v1/{p}/images"), &token, seconds, c, Some(&register(&format!("w{c}t"))))?;
        write_row("ModelArts RegisterImage", c, &o);
    }
    let o = wrk(&format!("{base}/v2/images"), &token, seconds, connections, Some(&glance_create("bench-create")))?;
    write_row("Glance create (POST /v2/images)", connections, &o);
    if !patched.is_empty() {
        let o = wrk(&format!("{base}/v2/images"), &token, seconds, connections, Some(&glance_patch))?;
        write_row("Glance PATCH (add a property)", connections, &o);
    }
    let login = post_json(format!(
        r#"{{"auth":{{"identity":{{"methods":["password"],"password":{{"user":{{"name":"bench-user","domain":{{"id":"default"}},"password":"{BENCH_PASSWORD}"}}}}}},"scope":{{"project":{{"name":"bench","domain":{{"id":"default"}}}}}}}}}}"#
    ));
    for c in [1, connections] {
        let o = wrk(&format!("{base}/v3/auth/tokens"), &token, seconds, c, Some(&login))?;
        write_row("Keystone password login (POST /v3/auth/tokens, argon2id)", c, &o);
    }
    // Reads while writes come: ListImage on all but two connections, RegisterImage on two
    // more at the same time, in the reader's project (every registration changes the
    // reader's own part, so its kept selections go).
    let readers = connections.saturating_sub(2).max(1);
    let writer = {
        let (url, token, script) = (format!("{base}/v1/{p}/images"), token.clone(), register("m"));
        std::thread::spawn(move || wrk(&url, &token, seconds, 2, Some(&script)))
    };
    let reads = wrk(&scenarios[0].1, &token, seconds, readers, None)?;
    let writes = writer.join().map_err(|_| anyhow::anyhow!("the writing wrk panicked"))??;
    row(
        &format!("ModelArts ListImage DEDICATED on {readers} connections beside RegisterImage on 2"),
        &reads,
        list_bytes,
    );
    println!(
        "\nbeside that list, RegisterImage: {:.0} writes/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        writes.rps, writes.p50_ms, writes.p99_ms, writes.errors
    );
    transfers(&base, &token, &data_dir, server.0.id(), seconds, readers, &scenarios[0].1)?;
    println!("\nserver peak RSS: {:.0} MiB", peak_rss_mib(server.0.id()));
    Ok(())
}

/// The server's resident memory now, in MiB.
fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// Runs `work` while sampling the server's RSS every 20 ms; its result and the highest RSS.
fn sampling_rss<T>(pid: u32, work: impl FnOnce() -> T) -> (T, f64) {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut top = 0f64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                top = top.max(rss_mib(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            top
        })
    };
    let out = work();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    (out, sampler.join().unwrap_or(f64::NAN))
}

/// A file of `bytes` pseudo-random bytes (xorshift: nothing a filesystem could compress).
fn random_file(path: &std::path::Path, bytes: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..bytes.div_ceil(1 << 20) {
        for word in chunk.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        out.write_all(&chunk)?;
    }
    out.flush()?;
    // On disk before the timed copies, so that they do not compete with its writeback.
    out.get_ref().sync_all()?;
    Ok(())
}

/// Seconds to copy `from` to `to` as `dd bs=1M conv=fsync` does: 1 MiB at a time, then synced.
fn dd_write(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<f64> {
    use std::io::{Read, Write};
    let started = Instant::now();
    let (mut src, mut dst) = (std::fs::File::open(from)?, std::fs::File::create(to)?);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n])?;
    }
    dst.sync_all()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Seconds to read `path` 1 MiB at a time (as `dd of=/dev/null bs=1M`).
fn dd_read(path: &std::path::Path) -> anyhow::Result<f64> {
    use std::io::Read;
    let started = Instant::now();
    let mut src = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    while src.read(&mut buf)? > 0 {}
    Ok(started.elapsed().as_secs_f64())
}

/// A raw image through Glance; its id.
fn glance_image(base: &str, token: &str) -> anyhow::Result<String> {
    let out = Command::new("curl")
        .args(["-s", "-X", "POST", &format!("{base}/v2/images"), "-H", &format!("X-Auth-Token: {token}")])
        .args(["-H", "Content-Type: application/json", "--data", r#"{"disk_format":"raw","container_format":"bare"}"#])
        .output()?;
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).context("the create answer")?;
    body["id"].as_str().map(str::to_owned).context("the created image has no id")
}

/// `curl` uploading `file` to image `id` (or, with `download`, the image's data to nowhere).
fn transfer(base: &str, token: &str, id: &str, file: Option<&std::path::Path>) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-f", "-o", "/dev/null", "-H", &format!("X-Auth-Token: {token}")]);
    if let Some(f) = file {
        cmd.args(["-H", "Content-Type: application/octet-stream", "-T"]).arg(f);
    }
    cmd.arg(format!("{base}/v2/images/{id}/file"));
    cmd
}

/// Uploads and downloads through the real server (filesystem store): throughput against
/// a `dd`-style write and read of the same bytes on the same disk, the server's memory
/// above idle during each; then four uploads and four downloads at once beside a list.
fn transfers(
    base: &str,
    token: &str,
    dir: &std::path::Path,
    pid: u32,
    seconds: u64,
    readers: u32,
    list_url: &str,
) -> anyhow::Result<()> {
    println!(
        "\n| image data | MiB | MiB/s | ratio to dd | server RSS above idle, MiB |\n| --- | ---: | ---: | ---: | ---: |"
    );
    let mut last = None;
    for mib in [256usize, 1024] {
        let src = dir.join(format!("src-{mib}.raw"));
        random_file(&src, mib << 20)?;
        let copy = dir.join("dd-copy.raw");
        let dd_w = dd_write(&src, &copy)?;
        let dd_r = dd_read(&copy)?;
        std::fs::remove_file(&copy)?;
        let id = glance_image(base, token)?;
        let idle = rss_mib(pid);
        let started = Instant::now();
        let (up, up_rss) = sampling_rss(pid, || transfer(base, token, &id, Some(&src)).status());
        let up_s = started.elapsed().as_secs_f64();
        anyhow::ensure!(up?.success(), "the {mib} MiB upload failed");
        let started = Instant::now();
        let (down, down_rss) = sampling_rss(pid, || transfer(base, token, &id, None).status());
        let down_s = started.elapsed().as_secs_f64();
        anyhow::ensure!(down?.success(), "the {mib} MiB download failed");
        let m = mib as f64;
        println!(
            "| upload (PUT …/file) | {mib} | {:.0} | {:.2} (dd {:.0} MiB/s) | {:.0} |",
            m / up_s,
            dd_w / up_s,
            m / dd_w,
            up_rss - idle
        );
        println!(
            "| download (GET …/file) | {mib} | {:.0} | {:.2} (dd {:.0} MiB/s) | {:.0} |",
            m / down_s,
            dd_r / down_s,
            m / dd_r,
            down_rss - idle
        );
        std::fs::remove_file(&src)?;
        if mib == 256 {
            last = Some(id);
        }
    }
    // Four uploads of 256 MiB and four downloads at once, while a list runs.
    let src = dir.join("src-concurrent.raw");
    random_file(&src, 256 << 20)?;
    let source = last.context("no image to download")?;
    let mut children = Vec::new();
    for _ in 0..4 {
        let id = glance_image(base, token)?;
        children.push(transfer(base, token, &id, Some(&src)).spawn()?);
        children.push(transfer(base, token, &source, None).spawn()?);
    }
    let list = wrk(list_url, token, seconds, readers, None)?;
    let mut failed = 0;
    for mut c in children {
        if !c.wait()?.success() {
            failed += 1;
        }
    }
    println!(
        "\nListImage DEDICATED on {readers} connections beside 4 uploads and 4 downloads: {:.0} req/s, p50 {:.2} ms, \
         p99 {:.2} ms, {} errors; transfers failed: {failed}",
        list.rps, list.p50_ms, list.p99_ms, list.errors
    );
    std::fs::remove_file(&src)?;
    Ok(())
}
