//! The S3-compatible backend: each blob an object under a prefix of one bucket, written
//! with a multipart upload (parts of [`PART`] bytes, a few in flight) that is completed
//! only once every byte arrived and aborted otherwise, so an object is whole or absent.
//! Nodes that share a PostgreSQL database reach the same data this way.

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use imagehub_catalog::data::{image_of_key, is_plain_key};
use imagehub_catalog::{BlobStore, ByteStream, Error, Result};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};

/// The size of a multipart upload's parts (S3's least is 5 MiB).
const PART: usize = 8 * 1024 * 1024;

/// How many parts upload at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Blobs as objects of an S3-compatible bucket.
pub struct S3BlobStore {
    store: AmazonS3,
    bucket: String,
    prefix: String,
}

impl S3BlobStore {
    /// The store that `url` (`s3://BUCKET[/PREFIX]`) names, its endpoint, region and
    /// credentials from the standard `AWS_*` environment variables (`AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, …),
    /// each of which `settings` may give instead (`("endpoint", "http://…")`: the
    /// variables' names without `AWS_`, in lower case).
    pub fn from_url(url: &str, settings: &[(&str, &str)]) -> Result<Self> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::invalid(format!("blob_url {url:?} is not an s3://BUCKET[/PREFIX] URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::invalid(format!("blob_url {url:?} names no bucket")));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in settings {
            let key: AmazonS3ConfigKey =
                key.parse().map_err(|e| Error::invalid(format!("object storage setting {key:?}: {e}")))?;
            builder = builder.with_config(key, *value);
        }
        let store = builder.build().map_err(|e| Error::invalid(format!("blob_url {url:?}: {e}")))?;
        Ok(Self { store, bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }

    /// Whether the bucket answers (a list of at most one object): a server checks it at
    /// start, so that a wrong bucket, endpoint or credential is an error there, not on
    /// the first upload.
    pub async fn check_reachable(&self) -> Result<()> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        match self.store.list(prefix.as_ref()).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(unavailable(&format!("reach bucket {}", self.bucket), &e)),
        }
    }

    fn path(&self, key: &str) -> Result<Path> {
        if !is_plain_key(key) {
            return Err(Error::Internal(format!("blob key {key:?} is not a plain name")));
        }
        Ok(if self.prefix.is_empty() { Path::from(key) } else { Path::from(format!("{}/{key}", self.prefix)) })
    }
}

fn unavailable(what: &str, e: &object_store::Error) -> Error {
    Error::Unavailable(format!("object storage: cannot {what}: {e}"))
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, mut data: ByteStream) -> Result<u64> {
        let path = self.path(key)?;
        let upload = self.store.put_multipart(&path).await.map_err(|e| unavailable("start an upload", &e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut written = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk: Bytes = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(Error::MalformedBody(format!("the image data did not arrive whole: {e}")));
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(unavailable("upload a part", &e));
            }
            writer.write(&chunk);
            written += chunk.len() as u64;
        }
        // The last parts first, so that a failing one aborts the upload (finish would
        // leave its parts behind).
        if let Err(e) = writer.wait_for_capacity(0).await {
            let _ = writer.abort().await;
            return Err(unavailable("upload a part", &e));
        }
        writer.finish().await.map_err(|e| unavailable("complete an upload", &e))?;
        Ok(written)
    }

    async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<Option<ByteStream>> {
        let path = self.path(key)?;
        let options = GetOptions {
            range: range.map(|(first, last)| GetRange::Bounded(first..last.saturating_add(1))),
            ..GetOptions::default()
        };
        match self.store.get_opts(&path, options).await {
            Ok(found) => Ok(Some(Box::pin(found.into_stream().map_err(std::io::Error::other)))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable("read", &e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        // S3 answers a delete of a missing object as done: ask first.
        let existed = self.exists(key).await?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(existed),
            Err(e) => Err(unavailable("delete", &e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&self.path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable("look up", &e)),
        }
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        // The objects right under the prefix, and of those only the catalog's.
        let listed = self.store.list_with_delimiter(prefix.as_ref()).await.map_err(|e| unavailable("list", &e))?;
        let mut keys = Vec::new();
        for meta in listed.objects {
            if let Some(name) = meta.location.filename().filter(|n| image_of_key(n).is_some()) {
                keys.push(name.to_owned());
            }
        }
        keys.sort_unstable();
        Ok(keys)
    }

    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3 bucket {}", self.bucket)
        } else {
            format!("s3 bucket {} under {}/", self.bucket, self.prefix)
        }
    }
}
