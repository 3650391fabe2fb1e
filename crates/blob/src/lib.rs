//! The blob stores behind the catalog's [`BlobStore`] port. [`FsBlobStore`] keeps each
//! blob as a file in one directory: written under a temporary name, synced, renamed into
//! place and the directory synced, so that a blob is either whole or absent after a
//! crash, and a put answers only once its bytes are on disk. [`S3BlobStore`] keeps them
//! in an S3-compatible bucket.

mod s3;
#[cfg(feature = "testing")]
pub mod testing;
mod web;

pub use s3::S3BlobStore;
pub use web::WebFetcher;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use imagehub_catalog::data::{image_of_key, is_plain_key};
use imagehub_catalog::{BlobStore, ByteStream, Error, Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// How much a read takes from a file at a time (and a write buffers before it writes).
const CHUNK: usize = 256 * 1024;

/// The ending of a blob being written.
const PARTIAL: &str = ".partial";

/// Blobs as files in a directory.
pub struct FsBlobStore {
    dir: PathBuf,
}

/// Which unfinished writes opening a store removes.
#[derive(Debug, Clone, Copy)]
pub enum Sweep {
    /// Every one: this process is the directory's only writer, so none is in progress.
    All,
    /// Those untouched for this long: other processes share the directory.
    OlderThan(Duration),
}

impl FsBlobStore {
    /// Opens the store in `dir` (made by the first put) and removes the unfinished
    /// writes that `sweep` names, left by a process that stopped mid-upload.
    pub async fn open(dir: impl Into<PathBuf>, sweep: Sweep) -> Result<Self> {
        let dir = dir.into();
        match tokio::fs::metadata(&dir).await {
            Ok(m) if !m.is_dir() => {
                return Err(Error::Unavailable(format!("the blob directory {} is not a directory", dir.display())));
            }
            _ => {}
        }
        let store = Self { dir };
        let removed = store.sweep(sweep).await?;
        if removed > 0 {
            tracing::info!(removed, dir = %store.dir.display(), "removed unfinished image uploads");
        }
        Ok(store)
    }

    /// Removes the unfinished writes `sweep` names; how many.
    pub async fn sweep(&self, sweep: Sweep) -> Result<usize> {
        let mut removed = 0;
        let Some(mut entries) = self.entries().await? else { return Ok(0) };
        while let Some(entry) = entries.next_entry().await.map_err(|e| io_error(&self.dir, "read", &e))? {
            let name = entry.file_name();
            if !name.to_string_lossy().ends_with(PARTIAL) {
                continue;
            }
            let old_enough = match sweep {
                Sweep::All => true,
                Sweep::OlderThan(age) => entry
                    .metadata()
                    .await
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|d| d >= age)),
            };
            if old_enough && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The directory's entries; `None` while it does not exist (nothing was stored yet).
    async fn entries(&self) -> Result<Option<tokio::fs::ReadDir>> {
        match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => Ok(Some(entries)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&self.dir, "read the blob directory", &e)),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        if !is_plain_key(key) {
            return Err(Error::Internal(format!("blob key {key:?} is not a plain file name")));
        }
        Ok(self.dir.join(key))
    }

    async fn write_partial(&self, partial: &Path, mut data: ByteStream) -> Result<u64> {
        let file = tokio::fs::File::create(partial).await.map_err(|e| io_error(partial, "create", &e))?;
        let mut out = tokio::io::BufWriter::with_capacity(CHUNK, file);
        let mut written = 0u64;
        while let Some(chunk) = data.next().await {
            // A failing source (the client, the catalog's meter) says why in its error.
            let chunk = chunk.map_err(|e| Error::MalformedBody(format!("the image data did not arrive whole: {e}")))?;
            out.write_all(&chunk).await.map_err(|e| io_error(partial, "write", &e))?;
            written += chunk.len() as u64;
        }
        out.flush().await.map_err(|e| io_error(partial, "write", &e))?;
        out.get_ref().sync_all().await.map_err(|e| io_error(partial, "sync", &e))?;
        Ok(written)
    }

    /// Makes the directory's entries (a rename) durable.
    async fn sync_dir(&self) -> Result<()> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || std::fs::File::open(&dir).and_then(|d| d.sync_all()))
            .await
            .map_err(|e| Error::Internal(format!("directory sync did not run: {e}")))?
            .map_err(|e| io_error(&self.dir, "sync", &e))
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, data: ByteStream) -> Result<u64> {
        let path = self.path(key)?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| io_error(&self.dir, "create the blob directory", &e))?;
        let partial = self.dir.join(format!(".{key}.{:016x}{PARTIAL}", u64::from_le_bytes(nonce)));
        let written = match self.write_partial(&partial, data).await {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(e);
            }
        };
        if let Err(e) = tokio::fs::rename(&partial, &path).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(io_error(&path, "rename into", &e));
        }
        self.sync_dir().await?;
        Ok(written)
    }

    async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<Option<ByteStream>> {
        let path = self.path(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, "open", &e)),
        };
        let (start, left) = match range {
            Some((first, last)) => (first, last.saturating_sub(first).saturating_add(1)),
            None => (0, u64::MAX),
        };
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| io_error(&path, "seek", &e))?;
        }
        let chunks = futures_util::stream::unfold((file, left), |(mut file, left)| async move {
            if left == 0 {
                return None;
            }
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
            let mut buf = BytesMut::zeroed(want);
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    let chunk: Bytes = buf.freeze();
                    Some((Ok(chunk), (file, left - n as u64)))
                }
                Err(e) => Some((Err(e), (file, 0))),
            }
        });
        Ok(Some(Box::pin(chunks)))
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path, "remove", &e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        tokio::fs::try_exists(&path).await.map_err(|e| io_error(&path, "look for", &e))
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let Some(mut entries) = self.entries().await? else { return Ok(keys) };
        while let Some(entry) = entries.next_entry().await.map_err(|e| io_error(&self.dir, "read", &e))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only the catalog's blobs: not unfinished writes, nor what else the directory holds.
            let file = entry.file_type().await.is_ok_and(|t| t.is_file());
            if file && image_of_key(&name).is_some() {
                keys.push(name);
            }
        }
        keys.sort_unstable();
        Ok(keys)
    }

    fn describe(&self) -> String {
        format!("filesystem {}", self.dir.display())
    }
}

/// A file operation that failed: the server cannot store or serve data now.
fn io_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::Unavailable(format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bytes_of(parts: Vec<&'static [u8]>) -> ByteStream {
        Box::pin(futures_util::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p)))))
    }

    async fn read(store: &FsBlobStore, key: &str, range: Option<(u64, u64)>) -> Option<Vec<u8>> {
        let mut s = store.get(key, range).await.unwrap()?;
        let mut out = Vec::new();
        while let Some(c) = s.next().await {
            out.extend_from_slice(&c.unwrap());
        }
        Some(out)
    }

    #[tokio::test]
    async fn put_get_range_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path().join("images"), Sweep::All).await.unwrap();
        assert!(store.keys().await.unwrap().is_empty() && !dir.path().join("images").exists(), "made by the first put");
        let a1 = "0a1a1a1a-0000-4000-8000-000000000001";
        assert_eq!(store.put(a1, bytes_of(vec![b"hello ", b"world"])).await.unwrap(), 11);
        assert_eq!(read(&store, a1, None).await.unwrap(), b"hello world");
        assert_eq!(read(&store, a1, Some((6, 10))).await.unwrap(), b"world");
        assert_eq!(read(&store, a1, Some((0, 0))).await.unwrap(), b"h");
        assert!(store.exists(a1).await.unwrap());
        std::fs::create_dir(dir.path().join("images/lost+found")).unwrap();
        std::fs::write(dir.path().join("images/notes.txt"), b"an operator's").unwrap();
        assert_eq!(store.keys().await.unwrap(), vec![a1.to_owned()], "only the catalog's blobs");
        assert!(store.delete(a1).await.unwrap());
        assert!(!store.delete(a1).await.unwrap());
        assert!(read(&store, a1, None).await.is_none());
        assert!(store.path("../x").is_err() && store.path(".hidden").is_err());
    }

    #[tokio::test]
    async fn a_failed_put_leaves_nothing_and_partials_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path(), Sweep::All).await.unwrap();
        let failing: ByteStream = Box::pin(futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"part")),
            Err(std::io::Error::other("client went away")),
        ]));
        assert!(store.put("b2", failing).await.is_err());
        assert!(!store.exists("b2").await.unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no partial file left");

        std::fs::write(dir.path().join(".c3.0000000000000001.partial"), b"left by a crash").unwrap();
        assert_eq!(store.sweep(Sweep::OlderThan(Duration::from_secs(3600))).await.unwrap(), 0, "too recent");
        drop(store);
        let _store = FsBlobStore::open(dir.path(), Sweep::All).await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "swept at open");
    }
}
