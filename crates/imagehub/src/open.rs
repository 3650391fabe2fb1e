//! Opening the catalog a command works on: the database (made only where a catalog is
//! asked for) and the master key.

use anyhow::Context;
use imagehub_catalog::{Catalog, MasterKey};

use crate::config::{self, Config};

/// What a command may do to a database it opens.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// The server: makes the catalog if there is none, builds the read index.
    Serve,
    /// An administrative command: the catalog must exist already.
    Existing,
    /// An administrative command with `--create` (or `migrate`): makes it if missing.
    Create,
}

/// The catalog on the configured database.
pub async fn catalog(config: &Config, how: Open) -> anyhow::Result<Catalog> {
    let db = &config.database;
    if how == Open::Existing
        && !imagehub_store::catalog_exists(db).await.map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?
    {
        anyhow::bail!(
            "no imagehub database at {}: start the server once (imagehub serve) to make one, point \
             --data-dir / --database at the existing one, or pass --create to make a new one here",
            config::without_password(db)
        );
    }
    if let Some(path) = imagehub_store::sqlite_path(db)
        && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    let store =
        if how == Open::Serve { imagehub_store::open_for_serving(db).await } else { imagehub_store::open(db).await }
            .map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?;
    Catalog::new(store)
        .with_policy(config.policy)
        .with_master_key(master_key(config, how)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The master key: given in the configuration, else read from its file; made there only
/// when the command may make a catalog (`serve`, `--create`, `migrate`): an administrative
/// command that made a new key would seal secrets that the servers, with the real key,
/// cannot open.
fn master_key(config: &Config, how: Open) -> anyhow::Result<MasterKey> {
    if let Some(k) = &config.master_key {
        return MasterKey::from_hex(k.expose()).context("master_key must be 64 hexadecimal digits");
    }
    let path = &config.master_key_file;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            MasterKey::from_hex(&text).with_context(|| format!("{} does not hold 64 hex digits", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && how == Open::Existing => Err(anyhow::anyhow!(
            "no master key at {}: give the servers' key (master_key, IMAGEHUB_MASTER_KEY or master_key_file), \
             or pass --create to make a new one",
            path.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            // Written whole to a file of its own, then linked into place: another process
            // sees no key file or a complete one, and of two that race, one key wins.
            let staged = dir.join(format!(".master.key.{}", std::process::id()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let write = || -> std::io::Result<()> {
                let mut f = options.open(&staged)?;
                std::io::Write::write_all(&mut f, format!("{}\n", key.to_hex()).as_bytes())?;
                f.sync_all()
            };
            write().with_context(|| format!("cannot write {}", staged.display()))?;
            let linked = std::fs::hard_link(&staged, path);
            let _ = std::fs::remove_file(&staged);
            match linked {
                Ok(()) => {
                    if let Ok(d) = std::fs::File::open(dir) {
                        let _ = d.sync_all();
                    }
                    Ok(key)
                }
                // Another process made it first: use that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => master_key(config, how),
                Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// `catalog` with the image data the configuration names, as a server keeps it: what
/// a crash left unfinished is undone (uploads, when this process is the database's only
/// one; partial files, as far as `sweep` can tell), and a task undoes stalled transfers
/// now and then.
pub async fn serving_image_data(config: &Config, catalog: Catalog) -> anyhow::Result<Catalog> {
    // One process owns a SQLite database, so an unfinished upload in the blob directory
    // is one a crash left; nodes sharing a PostgreSQL database may share the directory,
    // and only what no one touched for an hour is left over for sure.
    let alone = imagehub_store::sqlite_path(&config.database).is_some();
    let sweep = if alone {
        imagehub_blob::Sweep::All
    } else {
        imagehub_blob::Sweep::OlderThan(std::time::Duration::from_secs(3600))
    };
    let blobs = blobs(config, sweep).await?;
    tracing::info!(store = %blobs.describe(), "image data");
    let catalog = catalog.with_data(image_data(config, blobs)?);
    if alone {
        let undone = catalog.recover_uploads().await.map_err(|e| anyhow::anyhow!("image data: {}", e.log_detail()))?;
        if undone > 0 {
            tracing::warn!(undone, "uploads the last run did not finish were undone (their images are queued again)");
        }
    }
    // Uploads and imports that stopped moving (a node that crashed or was stopped mid-way,
    // on any node of the database) are undone now and then.
    let sweeping = catalog.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(imagehub_catalog::STALLED / 2).await;
            match sweeping.sweep_stalled_uploads().await {
                Ok(0) => {}
                Ok(undone) => {
                    tracing::warn!(undone, "stalled uploads or imports were undone (their images are queued again)")
                }
                Err(e) => tracing::warn!(error = %e.log_detail(), "the sweep of stalled uploads failed"),
            }
        }
    });
    Ok(catalog)
}

/// The blob store the configuration names: `blob_url` (S3, checked to answer) or the
/// directory `blob_dir`, whose unfinished writes `sweep` names are removed.
pub async fn blobs(
    config: &Config,
    sweep: imagehub_blob::Sweep,
) -> anyhow::Result<std::sync::Arc<dyn imagehub_catalog::BlobStore>> {
    Ok(match &config.blob_url {
        Some(url) => {
            let s3 = imagehub_blob::S3BlobStore::from_url(url, &[]).map_err(|e| anyhow::anyhow!("image data: {e}"))?;
            s3.check_reachable().await.map_err(|e| anyhow::anyhow!("image data: {}", e.log_detail()))?;
            std::sync::Arc::new(s3)
        }
        None => std::sync::Arc::new(
            imagehub_blob::FsBlobStore::open(&config.blob_dir, sweep)
                .await
                .map_err(|e| anyhow::anyhow!("image data: {}", e.log_detail()))?,
        ),
    })
}

/// The image data settings of the configuration, over `blobs`.
pub fn image_data(
    config: &Config,
    blobs: std::sync::Arc<dyn imagehub_catalog::BlobStore>,
) -> anyhow::Result<imagehub_catalog::ImageData> {
    let web: Option<std::sync::Arc<dyn imagehub_catalog::WebSource>> = if config.web_download_hosts.is_empty() {
        None
    } else {
        let fetcher = imagehub_blob::WebFetcher::new(&config.web_download_hosts).map_err(|e| anyhow::anyhow!("{e}"))?;
        Some(std::sync::Arc::new(fetcher))
    };
    Ok(imagehub_catalog::ImageData {
        blobs,
        image_size_cap: config.image_size_cap,
        check_formats: config.image_format_checks,
        project_quota: config.project_storage_quota,
        web,
    })
}
