//! Image data (spec/glance.md §6): the blob port ([`BlobStore`]) and the catalog's rules
//! for moving bytes. An upload takes a queued image to `saving` (the step only one
//! request can take), streams the bytes to the blob store while hashing them (md5 for
//! `checksum`, sha512 for `os_hash_value`) and counting them against the size cap and
//! the size the client declared, then makes the image `active` with what it measured.
//! Any failure puts the image back to `queued` without data. A download serves the
//! bytes of an image that has them, whole or one range of them.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use md5::Digest as _;

use crate::access::{AccessScope, Scope, Writer};
use crate::error::{Error, Result};
use crate::ids::{ImageId, Millis};
use crate::image::{DiskFormat, Image, Status};
use crate::query::{Filter, ImageQuery, PageRequest};
use crate::service::Catalog;

/// Bytes as they arrive (from a client, from a blob).
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Where image bytes live: a blob per key, written whole or not at all.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `data` as the blob `key` (replacing one of that key), durably before it
    /// answers `Ok` with the length written. When it fails, no blob of that key is left.
    async fn put(&self, key: &str, data: ByteStream) -> Result<u64>;
    /// The bytes of blob `key`, all or `range` (first and last byte, within the blob);
    /// `None` if there is no such blob.
    async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<Option<ByteStream>>;
    /// Removes blob `key`; whether there was one.
    async fn delete(&self, key: &str) -> Result<bool>;
    /// Whether blob `key` exists.
    async fn exists(&self, key: &str) -> Result<bool>;
    /// The keys of every blob (for the consistency check).
    async fn keys(&self) -> Result<Vec<String>>;
    /// What and where the backend is, for logs and `GET /v2/info/stores`.
    fn describe(&self) -> String;
}

/// The largest image an upload may store by default: 1 TiB, as Glance's `image_size_cap`.
pub const DEFAULT_IMAGE_SIZE_CAP: u64 = 1 << 40;

/// The blob store and the operator's limits on what goes in it.
#[derive(Clone)]
pub struct ImageData {
    pub blobs: Arc<dyn BlobStore>,
    /// The largest image an upload may store, in bytes.
    pub image_size_cap: u64,
}

/// The blob key of an image's data.
pub fn blob_key(id: ImageId) -> String {
    id.to_string()
}

/// An upload that the catalog admitted: the image is `saving` and waits for its bytes.
#[must_use = "an admitted upload leaves the image saving until its bytes are written"]
pub struct Upload<'c> {
    catalog: &'c Catalog,
    data: ImageData,
    saving: Image,
    declared: Option<u64>,
}

/// The data of an image that has some, ready to be read.
pub struct Download {
    pub image: Image,
    /// The data's length in bytes.
    pub size: u64,
    blobs: Arc<dyn BlobStore>,
}

impl Catalog {
    /// The blob store, or `Unavailable` where this catalog was built without one.
    fn image_data(&self) -> Result<&ImageData> {
        self.data.as_ref().ok_or_else(|| Error::Unavailable("this server has no blob store for image data".into()))
    }

    /// Admits an upload of an image's data (`declared`: the size the client announced):
    /// the writer may modify the image, it is `queued`, its formats are set, the size is
    /// within the cap. Takes it to `saving`; [`Upload::write`] then stores the bytes.
    pub async fn begin_upload(&self, writer: &Writer<'_>, id: ImageId, declared: Option<u64>) -> Result<Upload<'_>> {
        let data = self.image_data()?.clone();
        let image = self.get_image(writer.scope(), id).await?;
        writer.check_may_modify(&image)?;
        if image.status != Status::Queued {
            return Err(not_queued(image.status));
        }
        if image.disk_format.is_none() || image.container_format.is_none() {
            return Err(Error::invalid("Properties disk_format, container_format must be set prior to saving data."));
        }
        if let Some(n) = declared
            && n > data.image_size_cap
        {
            return Err(too_large(data.image_size_cap));
        }
        let mut saving = image.clone();
        saving.status = Status::Saving;
        saving.updated_at = Millis::now().max(image.updated_at);
        if !self.stores.images.update_image_in_status(&saving, Status::Queued).await? {
            // Another request took the step first (or the image went away).
            let now = self.stores.images.get_image(id).await?.ok_or_else(|| Error::not_found_image(id))?;
            return Err(not_queued(now.status));
        }
        Ok(Upload { catalog: self, data, saving, declared })
    }

    /// The data of an image the scope may see: `None` when it has none (queued, or still
    /// saving); refused for a deactivated image unless the caller is an administrator.
    pub async fn download(&self, scope: &Scope, id: ImageId) -> Result<Option<Download>> {
        let data = self.image_data()?;
        let image = self.get_image(scope, id).await?;
        if image.status == Status::Deactivated && !scope.caller().is_admin() {
            return Err(Error::Forbidden(
                "The requested image has been deactivated. Image data download is forbidden.".into(),
            ));
        }
        let has_data = matches!(image.status, Status::Active | Status::Deactivated) && image.checksum.is_some();
        let Some(size) = image.size.filter(|_| has_data).and_then(|s| u64::try_from(s).ok()) else {
            return Ok(None);
        };
        Ok(Some(Download { image, size, blobs: data.blobs.clone() }))
    }

    /// For the only process on its database, at its start: every image an interrupted
    /// upload left `saving` (the process stopped mid-way) is `queued` again, without data,
    /// and what was stored of its bytes is removed. Returns how many.
    pub async fn recover_uploads(&self) -> Result<usize> {
        let data = self.image_data()?;
        let query = ImageQuery {
            filters: vec![Filter::Status(vec![Status::Saving])],
            sort: Vec::new(),
            page: PageRequest::Offset { offset: 0, limit: crate::service::MAX_PAGE },
            with_total: false,
        };
        let mut recovered = 0;
        loop {
            let page = self.stores.images.list_images(&AccessScope::housekeeping(), &query).await?;
            if page.items.is_empty() {
                return Ok(recovered);
            }
            for saving in page.items {
                let mut queued = Image::clone(&saving);
                queued.status = Status::Queued;
                queued.size = None;
                queued.virtual_size = None;
                queued.updated_at = Millis::now().max(saving.updated_at);
                if self.stores.images.update_image_in_status(&queued, Status::Saving).await? {
                    data.blobs.delete(&blob_key(saving.id)).await?;
                    tracing::info!(image = %saving.id, "an interrupted upload was undone: the image is queued again");
                    recovered += 1;
                }
            }
        }
    }

    /// The keys of every blob in the blob store.
    pub async fn blob_keys(&self) -> Result<Vec<String>> {
        self.image_data()?.blobs.keys().await
    }

    /// After an image's record was deleted: its data goes too (a failure is logged; the
    /// consistency check finds what is left).
    pub(crate) async fn forget_data(&self, id: ImageId) {
        let Some(data) = &self.data else { return };
        if let Err(e) = data.blobs.delete(&blob_key(id)).await {
            tracing::warn!(image = %id, error = %e.log_detail(), "the data of a deleted image could not be removed");
        }
    }
}

impl Upload<'_> {
    /// Stores `bytes` as the image's data and makes it `active` with their size and
    /// hashes; on any failure the image is `queued` again, without data, and the error
    /// says why (`Gone` when the image was deleted meanwhile).
    pub async fn write(self, bytes: ByteStream) -> Result<Image> {
        let id = self.saving.id;
        let key = blob_key(id);
        let meter = Meter::new(self.data.image_size_cap, self.declared);
        let put = self.data.blobs.put(&key, Box::pin(meter.clone().wrap(bytes))).await;
        let measured = match put {
            Ok(_) => meter.finish(),
            // What the meter saw explains the failure better than the store's error.
            Err(e) => Err(meter.failure().unwrap_or(e)),
        };
        let images = &self.catalog.stores.images;
        let measured = match measured {
            Ok(m) => m,
            Err(e) => {
                let _ = self.data.blobs.delete(&key).await;
                let mut queued = self.saving.clone();
                queued.status = Status::Queued;
                queued.size = None;
                queued.virtual_size = None;
                queued.updated_at = Millis::now().max(self.saving.updated_at);
                if !images.update_image_in_status(&queued, Status::Saving).await?
                    && images.get_image(id).await?.is_none()
                {
                    return Err(gone(id));
                }
                return Err(e);
            }
        };
        let mut active = self.saving.clone();
        active.status = Status::Active;
        active.size = i64::try_from(measured.size).ok();
        active.virtual_size = match active.disk_format {
            // The bytes are the disk: its size is theirs.
            Some(DiskFormat::Raw | DiskFormat::Iso) => active.size,
            _ => None,
        };
        active.checksum = Some(measured.md5);
        active.os_hash_algo = Some("sha512".into());
        active.os_hash_value = Some(measured.sha512);
        active.updated_at = Millis::now().max(self.saving.updated_at);
        if images.update_image_in_status(&active, Status::Saving).await? {
            return Ok(active);
        }
        // Deleted (or reset by an operator) while the bytes were on their way.
        let _ = self.data.blobs.delete(&key).await;
        Err(gone(id))
    }
}

impl Download {
    /// The bytes, all or `range` (first and last byte; the caller checked it against `size`).
    pub async fn open(&self, range: Option<(u64, u64)>) -> Result<ByteStream> {
        if let Some((first, last)) = range
            && (first > last || last >= self.size)
        {
            return Err(Error::RangeNotSatisfiable(format!(
                "bytes {first}-{last} are not within the image's {} bytes",
                self.size
            )));
        }
        self.blobs.get(&blob_key(self.image.id), range).await?.ok_or_else(|| {
            Error::Unavailable(format!("the data of image {} is missing from the blob store", self.image.id))
        })
    }
}

fn not_queued(status: Status) -> Error {
    Error::Conflict(format!("Image status transition from {status} to saving is not allowed"))
}

fn too_large(cap: u64) -> Error {
    Error::PayloadTooLarge(format!(
        "Image exceeds the storage quota: the largest image this server stores is {cap} bytes"
    ))
}

fn gone(id: ImageId) -> Error {
    Error::Gone(format!(
        "Image {id} could not be found after upload. The image may have been deleted during the upload."
    ))
}

/// What an upload's bytes came to.
struct Measured {
    size: u64,
    md5: String,
    sha512: String,
}

/// Counts and hashes the bytes of an upload as they pass, and stops them when they
/// pass the cap or the size the client declared.
#[derive(Clone)]
struct Meter(Arc<Mutex<MeterState>>);

struct MeterState {
    cap: u64,
    declared: Option<u64>,
    seen: u64,
    md5: md5::Md5,
    sha512: sha2::Sha512,
    failure: Option<Error>,
}

impl Meter {
    fn new(cap: u64, declared: Option<u64>) -> Self {
        Self(Arc::new(Mutex::new(MeterState {
            cap,
            declared,
            seen: 0,
            md5: md5::Md5::new(),
            sha512: sha2::Sha512::new(),
            failure: None,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MeterState> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wrap(self, bytes: ByteStream) -> Metered {
        Metered { meter: self, inner: bytes, done: false }
    }

    fn failure(&self) -> Option<Error> {
        self.state().failure.clone()
    }

    /// The measure of bytes that all passed, or why they did not.
    fn finish(&self) -> Result<Measured> {
        let mut s = self.state();
        if let Some(e) = &s.failure {
            return Err(e.clone());
        }
        if let Some(n) = s.declared
            && n != s.seen
        {
            return Err(Error::invalid(format!("Size mismatch: expected {n} bytes, got {}", s.seen)));
        }
        let md5 = std::mem::replace(&mut s.md5, md5::Md5::new()).finalize();
        let sha512 = std::mem::replace(&mut s.sha512, sha2::Sha512::new()).finalize();
        Ok(Measured { size: s.seen, md5: hex(&md5), sha512: hex(&sha512) })
    }
}

/// The bytes of an upload through its [`Meter`].
struct Metered {
    meter: Meter,
    inner: ByteStream,
    done: bool,
}

impl Stream for Metered {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = self.inner.as_mut().poll_next(cx);
        let Poll::Ready(next) = polled else { return Poll::Pending };
        let mut s = self.meter.state();
        let stop = |s: &mut MeterState, e: Error| {
            let io = std::io::Error::other(e.to_string());
            s.failure = Some(e);
            io
        };
        let outcome = match next {
            None => None,
            Some(Err(e)) => Some(Err(stop(&mut s, Error::MalformedBody(format!("the image data was cut off: {e}"))))),
            Some(Ok(chunk)) => {
                let seen = s.seen.saturating_add(chunk.len() as u64);
                if seen > s.cap {
                    let cap = s.cap;
                    Some(Err(stop(&mut s, too_large(cap))))
                } else if let Some(n) = s.declared.filter(|n| seen > *n) {
                    Some(Err(stop(&mut s, Error::invalid(format!("Size exceeds: expected {n} bytes, got more")))))
                } else {
                    s.seen = seen;
                    s.md5.update(&chunk);
                    s.sha512.update(&chunk);
                    Some(Ok(chunk))
                }
            }
        };
        drop(s);
        if !matches!(outcome, Some(Ok(_))) {
            self.done = true;
        }
        Poll::Ready(outcome)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        let items: Vec<std::io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(Iter(items.into_iter()))
    }

    struct Iter(std::vec::IntoIter<std::io::Result<Bytes>>);
    impl Stream for Iter {
        type Item = std::io::Result<Bytes>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.next())
        }
    }

    fn drain(mut s: impl Stream<Item = std::io::Result<Bytes>> + Unpin) -> std::io::Result<Vec<u8>> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        loop {
            match Pin::new(&mut s).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(b))) => out.extend_from_slice(&b),
                Poll::Ready(Some(Err(e))) => return Err(e),
                Poll::Ready(None) => return Ok(out),
                Poll::Pending => unreachable!("the test stream is always ready"),
            }
        }
    }

    #[test]
    fn measures_what_passes() {
        let meter = Meter::new(100, None);
        let passed = drain(meter.clone().wrap(chunks(&[b"hello ", b"world"]))).unwrap();
        assert_eq!(passed, b"hello world");
        let m = meter.finish().unwrap();
        assert_eq!(m.size, 11);
        assert_eq!(m.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert!(m.sha512.starts_with("309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f"));
    }

    #[test]
    fn stops_at_the_cap_and_at_the_declared_size() {
        let meter = Meter::new(8, None);
        assert!(drain(meter.clone().wrap(chunks(&[b"12345", b"6789"]))).is_err());
        assert!(matches!(meter.finish(), Err(Error::PayloadTooLarge(_))));

        let meter = Meter::new(100, Some(4));
        assert!(drain(meter.clone().wrap(chunks(&[b"12345"]))).is_err());
        assert!(matches!(meter.finish(), Err(Error::InvalidArgument(m)) if m.starts_with("Size exceeds")));

        let meter = Meter::new(100, Some(6));
        drain(meter.clone().wrap(chunks(&[b"12345"]))).unwrap();
        assert!(matches!(meter.finish(), Err(Error::InvalidArgument(m)) if m.starts_with("Size mismatch")));
    }
}
