//! Image data (spec/glance.md §6): the blob port ([`BlobStore`]) and the catalog's rules
//! for moving bytes. An upload takes a queued image to `saving` (the step only one
//! request can take), streams the bytes to the blob store while hashing them (md5 for
//! `checksum`, sha512 for `os_hash_value`) and counting them against the size cap and
//! the size the client declared, then makes the image `active` with what it measured.
//! Any failure puts the image back to `queued` without data. A download serves the
//! bytes of an image that has them, whole or one range of them.
//!
//! Interoperable import (`glance-direct`) is the same in two steps: staging stores the
//! bytes beside the image's data (the image `uploading`), and the import, in the
//! background, moves them through the meter into the image's data (`importing`, then
//! `active`); a failed import leaves the image `queued` with the reason in its status
//! message.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;

use crate::access::{AccessScope, Scope, Writer};
use crate::error::{Error, Result};
use crate::formats;
use crate::ids::{ImageId, Millis};
use crate::image::{ContainerFormat, DiskFormat, Image, Status};
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
    /// What and where the backend is, for the log and `imagehub blobs check`.
    fn describe(&self) -> String;
}

/// Where the `web-download` import fetches from: the operator's allowed hosts.
#[async_trait]
pub trait WebSource: Send + Sync {
    /// Refuses (`InvalidArgument`, saying why) a URI this server may not fetch from.
    fn check(&self, uri: &str) -> Result<()>;
    /// The bytes at `uri` (checked again, redirects included).
    async fn open(&self, uri: &str) -> Result<ByteStream>;
}

/// How long an upload, staging or import may make no progress before a sweep undoes it.
pub const STALLED: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// How often a running transfer tells the catalog it is alive.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(60);

/// The largest image an upload may store by default: 1 TiB, as Glance's `image_size_cap`.
pub const DEFAULT_IMAGE_SIZE_CAP: u64 = 1 << 40;

/// The blob store and the operator's limits on what goes in it.
#[derive(Clone)]
pub struct ImageData {
    pub blobs: Arc<dyn BlobStore>,
    /// The largest image an upload may store, in bytes.
    pub image_size_cap: u64,
    /// Whether an upload's first bytes must match its `disk_format` and point at no other
    /// files ([`crate::formats`]).
    pub check_formats: bool,
    /// The most bytes one project's images may hold (`None`: no limit).
    pub project_quota: Option<u64>,
    /// Where `web-download` imports fetch from; `None`: the method is off.
    pub web: Option<Arc<dyn WebSource>>,
}

/// The blob key of an image's data.
pub fn blob_key(id: ImageId) -> String {
    id.to_string()
}

/// The blob key of an image's staged bytes (waiting for an import).
pub fn staged_key(id: ImageId) -> String {
    format!("{id}.staged")
}

/// The image a blob key belongs to, if it is one of the catalog's keys ([`blob_key`],
/// [`staged_key`]); a backend lists only those, and the check touches no other.
pub fn image_of_key(key: &str) -> Option<ImageId> {
    let id = ImageId::parse(key.strip_suffix(".staged").unwrap_or(key))?;
    (key == blob_key(id) || key == staged_key(id)).then_some(id)
}

/// Whether `key` is a plain name a backend may store under (no path, no leading dot).
pub fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The import methods a server may offer (Glance's names); `web-download` where the
/// operator allows hosts to fetch from.
pub const IMPORT_METHODS: &[&str] = &["glance-direct", "web-download"];

/// Where an admitted upload's bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The image's data (`PUT …/file`): the image `saving`, then `active`.
    Data,
    /// The staging area (`PUT …/stage`): the image `uploading` until it is imported.
    Stage,
}

impl Target {
    fn status(self) -> Status {
        match self {
            Target::Data => Status::Saving,
            Target::Stage => Status::Uploading,
        }
    }
}

/// What [`Catalog::check_blobs`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobCheck {
    /// Blobs that no image owns.
    pub orphans: Vec<String>,
    /// Images whose data is not in the blob store.
    pub missing: Vec<ImageId>,
    /// Whether both were repaired.
    pub repaired: bool,
}

/// An upload that the catalog admitted: the image is `saving` (or `uploading`, for
/// staging) and waits for its bytes.
#[must_use = "an admitted upload leaves the image saving until its bytes are written"]
pub struct Upload<'c> {
    catalog: &'c Catalog,
    data: ImageData,
    saving: Image,
    declared: Option<u64>,
    target: Target,
    /// The most bytes this upload may store, and the error past it.
    limit: Limit,
}

/// The most bytes an upload may store, and what it is refused with past them.
#[derive(Clone)]
struct Limit {
    bytes: u64,
    over: Error,
}

impl Limit {
    /// The operator's cap on one image.
    fn cap(data: &ImageData) -> Self {
        Limit { bytes: data.image_size_cap, over: too_large(data.image_size_cap) }
    }
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
    pub async fn begin_upload(
        &self,
        writer: &Writer<'_>,
        id: ImageId,
        declared: Option<u64>,
        target: Target,
    ) -> Result<Upload<'_>> {
        let data = self.image_data()?.clone();
        let image = self.get_image(writer.scope(), id).await?;
        writer.check_may_modify(&image)?;
        if image.status != Status::Queued {
            return Err(not_queued(image.status, target.status()));
        }
        formats_set(&image)?;
        let limit = self.upload_limit(&data, &image).await?;
        if let Some(n) = declared
            && n > limit.bytes
        {
            return Err(limit.over);
        }
        let step = self
            .step(id, Status::Queued, |was| {
                formats_set(was)?;
                let mut saving = was.clone();
                saving.status = target.status();
                saving.status_message = None;
                Ok(saving)
            })
            .await?;
        let Some(saving) = step else {
            // Another request took the step first (or the image went away).
            let now = self.stores.images.get_image(id).await?.ok_or_else(|| Error::not_found_image(id))?;
            return Err(not_queued(now.status, target.status()));
        };
        Ok(Upload { catalog: self, data, saving, declared, target, limit })
    }

    /// Starts the import of an image's staged bytes with `method` (Glance's words): the
    /// image must be `uploading` with its bytes staged. The image is `importing` when
    /// this answers; the import goes on in the background and makes it `active`, or
    /// `queued` with the reason in its status message.
    pub async fn import(&self, writer: &Writer<'_>, id: ImageId, method: &str, uri: Option<&str>) -> Result<Image> {
        let data = self.image_data()?.clone();
        if !self.import_methods().contains(&method) {
            return Err(Error::invalid(format!(
                "Import method {method} is not offered by this server; it offers {}",
                self.import_methods().join(", ")
            )));
        }
        let image = self.get_image(writer.scope(), id).await?;
        writer.check_may_modify(&image)?;
        if method == "web-download" {
            return self.web_download(data, image, uri).await;
        }
        let staged = image.status == Status::Uploading && data.blobs.exists(&staged_key(id)).await?;
        if !staged {
            return Err(Error::Conflict(format!(
                "Image needs to be staged before '{method}' method can be used (it is {})",
                image.status
            )));
        }
        formats_set(&image)?;
        let Some(importing) = self.start_importing(id, Status::Uploading).await? else {
            return Err(Error::Conflict(format!("Image {id} is already being imported")));
        };
        let (catalog, moving) = (self.clone(), importing.clone());
        self.run_import(id, async move { catalog.finish_import(&data, moving).await });
        Ok(importing)
    }

    /// The step of an import's start: `from` (`uploading` for staged bytes, `queued` for
    /// a web-download) to `importing`, the last failure's reason cleared.
    async fn start_importing(&self, id: ImageId, from: Status) -> Result<Option<Image>> {
        self.step(id, from, |was| {
            let mut importing = was.clone();
            importing.status = Status::Importing;
            importing.status_message = None;
            Ok(importing)
        })
        .await
    }

    /// Runs an import in the background; should it panic, the image is queued again with
    /// the reason (a failed import's own error path does that itself).
    fn run_import(&self, id: ImageId, import: impl std::future::Future<Output = Result<()>> + Send + 'static) {
        let catalog = self.clone();
        tokio::spawn(async move {
            let alive = catalog.heartbeat(id, Status::Importing);
            let done = tokio::spawn(import).await;
            alive.abort();
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(image = %id, error = %e.log_detail(), "an image import failed"),
                Err(panicked) => {
                    tracing::error!(image = %id, error = %panicked, "an image import panicked");
                    let reset = catalog
                        .step(id, Status::Importing, |was| {
                            let mut queued = without_data(was);
                            queued.status_message = Some("the import failed: an internal error".into());
                            Ok(queued)
                        })
                        .await;
                    if let (Some(data), Ok(_)) = (&catalog.data, reset) {
                        let _ = data.blobs.delete(&blob_key(id)).await;
                    }
                }
            }
        });
    }

    /// `web-download`: a queued image's data fetched from `uri` in the background.
    async fn web_download(&self, data: ImageData, image: Image, uri: Option<&str>) -> Result<Image> {
        let id = image.id;
        let uri = uri.ok_or_else(|| Error::invalid("the web-download import needs method.uri"))?.to_owned();
        let web = data.web.clone().ok_or_else(|| Error::invalid("Import method web-download is not offered"))?;
        web.check(&uri)?;
        if image.status != Status::Queued {
            return Err(Error::Conflict(format!(
                "Image {id} must be queued for a web-download import (it is {})",
                image.status
            )));
        }
        formats_set(&image)?;
        let Some(importing) = self.start_importing(id, Status::Queued).await? else {
            return Err(Error::Conflict(format!("Image {id} is no longer queued")));
        };
        let (catalog, moving) = (self.clone(), importing.clone());
        self.run_import(id, async move {
            let fetched = async {
                let limit = catalog.upload_limit(&data, &moving).await?;
                let bytes = web.open(&uri).await?;
                store_metered(&data, &blob_key(id), bytes, limit, None, inspected_as(&data, &moving)).await
            }
            .await;
            catalog.end_import(&data, id, fetched).await
        });
        Ok(importing)
    }

    /// The background half of [`Self::import`]: staged bytes → the meter → the image's data.
    async fn finish_import(&self, data: &ImageData, importing: Image) -> Result<()> {
        let id = importing.id;
        let outcome = match data.blobs.get(&staged_key(id), None).await {
            Err(e) => Err(e),
            Ok(Some(bytes)) => {
                store_metered(data, &blob_key(id), bytes, Limit::cap(data), None, inspected_as(data, &importing)).await
            }
            Ok(None) => Err(Error::Unavailable("the staged data is gone".into())),
        };
        let _ = data.blobs.delete(&staged_key(id)).await;
        self.end_import(data, id, outcome).await
    }

    /// Makes an importing image `active` with the data `outcome` measured, or `queued`
    /// with the reason it failed.
    async fn end_import(&self, data: &ImageData, id: ImageId, outcome: Result<Measured>) -> Result<()> {
        let failure = match outcome {
            Ok(measured) => match self.step(id, Status::Importing, |was| Ok(activated(was, &measured))).await {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => gone(id),
                Err(e) => e,
            },
            Err(e) => e,
        };
        // No data stands for an import that did not finish; the image says why.
        let _ = data.blobs.delete(&blob_key(id)).await;
        let reason = format!("the import failed: {failure}");
        self.step(id, Status::Importing, |was| {
            let mut queued = without_data(was);
            queued.status_message = Some(reason.clone());
            Ok(queued)
        })
        .await?;
        Err(failure)
    }

    /// What an upload to `image` may store: the cap, or what is left of its owner's
    /// quota if that is less (two uploads of one project at once may each take what is
    /// left: the quota is checked, not reserved).
    async fn upload_limit(&self, data: &ImageData, image: &Image) -> Result<Limit> {
        let cap = Limit::cap(data);
        let Some(quota) = data.project_quota else { return Ok(cap) };
        let used = self.stores.images.storage_used(&image.owner).await?;
        let room = quota.saturating_sub(used);
        if room >= cap.bytes {
            return Ok(cap);
        }
        Ok(Limit {
            bytes: room,
            over: Error::PayloadTooLarge(format!(
                "Denying attempt to upload image because it exceeds the quota: the project's images hold {used} \
                 of its {quota} bytes"
            )),
        })
    }

    /// Takes a step of an image's state machine from status `from`: `step` makes the
    /// next record from the stored one, which is written only if no other change came
    /// in between (then the step is made again on top of that change, which it keeps).
    /// `None`: the image is gone, or no longer `from`.
    async fn step(&self, id: ImageId, from: Status, step: impl Fn(&Image) -> Result<Image>) -> Result<Option<Image>> {
        for attempt in 0..8u64 {
            let Some(was) = self.stores.images.get_image(id).await? else { return Ok(None) };
            if was.status != from {
                return Ok(None);
            }
            let mut next = step(&was)?;
            next.updated_at = moved_on(&was);
            if self.stores.images.update_image_if(&next, &was).await? {
                return Ok(Some(next));
            }
            tokio::time::sleep(std::time::Duration::from_millis(2 * (attempt + 1))).await;
        }
        Err(Error::Unavailable(format!("image {id} changed too often to take its next step; retry")))
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
    /// upload, staging or import left half-way (the process stopped) is `queued` again,
    /// without data, and what was stored of its bytes is removed; an image whose bytes
    /// were staged whole stays `uploading`, ready for its import. Returns how many.
    pub async fn recover_uploads(&self) -> Result<usize> {
        self.undo_unfinished(None).await
    }

    /// On any node, now and then: undoes as [`Self::recover_uploads`] does the uploads,
    /// stagings and imports that made no progress for [`STALLED`] (a running one moves its
    /// image's `updated_at` on every minute), such as those of a node that crashed or
    /// was stopped mid-way. Returns how many.
    pub async fn sweep_stalled_uploads(&self) -> Result<usize> {
        let cutoff = Millis(Millis::now().0.saturating_sub(i64::try_from(STALLED.as_millis()).unwrap_or(i64::MAX)));
        self.undo_unfinished(Some(cutoff)).await
    }

    /// Moves image `id`'s `updated_at` on every [`HEARTBEAT`] while it stays in `status`,
    /// so that a sweep sees the transfer is alive; stops when aborted or when it is not.
    fn heartbeat(&self, id: ImageId, status: Status) -> tokio::task::JoinHandle<()> {
        let catalog = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                match catalog.step(id, status, |was| Ok(was.clone())).await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => tracing::warn!(image = %id, error = %e.log_detail(), "a transfer's heartbeat failed"),
                }
            }
        })
    }

    async fn undo_unfinished(&self, stalled_before: Option<Millis>) -> Result<usize> {
        let data = self.image_data()?;
        let mut recovered = 0;
        let mut offset = 0;
        loop {
            let query = ImageQuery {
                filters: vec![Filter::Status(vec![Status::Saving, Status::Uploading, Status::Importing])],
                sort: Vec::new(),
                page: PageRequest::Offset { offset, limit: crate::service::MAX_PAGE },
                with_total: false,
            };
            let page = self.stores.images.list_images(&AccessScope::housekeeping(), &query).await?;
            if page.items.is_empty() {
                return Ok(recovered);
            }
            for found in page.items {
                let id = found.id;
                let alive = stalled_before.is_some_and(|cut| found.updated_at >= cut);
                if alive || (found.status == Status::Uploading && data.blobs.exists(&staged_key(id)).await?) {
                    offset += 1;
                    continue;
                }
                let mut queued = without_data(&found);
                if found.status == Status::Importing {
                    queued.status_message = Some(
                        "the import was cut short (a restart or a stalled transfer): import the data again".into(),
                    );
                }
                queued.updated_at = moved_on(&found);
                if self.stores.images.update_image_if(&queued, &found).await? {
                    data.blobs.delete(&blob_key(id)).await?;
                    data.blobs.delete(&staged_key(id)).await?;
                    tracing::info!(image = %id, was = %found.status, "an interrupted upload was undone: the image is queued again");
                    recovered += 1;
                } else {
                    offset += 1;
                }
            }
        }
    }

    /// Compares the blob store with the records (`imagehub blobs check`): blobs no image
    /// owns, and images whose data is missing. With `repair`, removes those blobs and
    /// makes those images `queued` without data (they keep their metadata and members,
    /// and take a new upload). A blob whose image is being uploaded, staged or imported
    /// is left alone.
    pub async fn check_blobs(&self, repair: bool) -> Result<BlobCheck> {
        let data = self.image_data()?;
        let mut expected = std::collections::HashSet::new();
        let mut missing = Vec::new();
        let mut after = None;
        loop {
            let page = self.stores.images.images_after(after, crate::service::MAX_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for image in &page {
                match image.status {
                    Status::Active | Status::Deactivated if image.checksum.is_some() => {
                        expected.insert(blob_key(image.id));
                        if !data.blobs.exists(&blob_key(image.id)).await? {
                            missing.push(image.id);
                        }
                    }
                    Status::Uploading => {
                        expected.insert(staged_key(image.id));
                    }
                    _ => {}
                }
            }
        }
        let mut orphans = Vec::new();
        for key in data.blobs.keys().await? {
            if !expected.contains(&key) && !self.blob_in_use(&key).await? {
                orphans.push(key);
            }
        }
        if repair {
            for key in &orphans {
                // Once more right before: an upload may have begun or finished meanwhile.
                if !self.blob_in_use(key).await? {
                    data.blobs.delete(key).await?;
                }
            }
            for id in &missing {
                for from in [Status::Active, Status::Deactivated] {
                    self.step(*id, from, |was| Ok(without_data(was))).await?;
                }
            }
        }
        Ok(BlobCheck { orphans, missing, repaired: repair })
    }

    /// Whether the image of blob `key` exists in a status that has or is making data.
    async fn blob_in_use(&self, key: &str) -> Result<bool> {
        let Some(id) = image_of_key(key) else { return Ok(true) };
        Ok(self.stores.images.get_image(id).await?.is_some_and(|i| {
            matches!(
                i.status,
                Status::Saving | Status::Uploading | Status::Importing | Status::Active | Status::Deactivated
            )
        }))
    }

    /// The keys of every blob in the blob store.
    pub async fn blob_keys(&self) -> Result<Vec<String>> {
        self.image_data()?.blobs.keys().await
    }

    /// After an image's record was deleted: its data (and staged bytes) go too (a
    /// failure is logged; the consistency check finds what is left).
    pub(crate) async fn forget_data(&self, id: ImageId) {
        let Some(data) = &self.data else { return };
        for key in [blob_key(id), staged_key(id)] {
            if let Err(e) = data.blobs.delete(&key).await {
                tracing::warn!(image = %id, error = %e.log_detail(), "the data of a deleted image could not be removed");
            }
        }
    }

    /// The import methods offered.
    pub fn import_methods(&self) -> &'static [&'static str] {
        match &self.data {
            None => &[],
            Some(data) if data.web.is_some() => IMPORT_METHODS,
            Some(_) => &IMPORT_METHODS[..1],
        }
    }
}

impl Upload<'_> {
    /// Stores `bytes` as the image's data and makes it `active` with their size and
    /// hashes; on any failure the image is `queued` again, without data, and the error
    /// says why (`Gone` when the image was deleted meanwhile).
    pub async fn write(self, bytes: ByteStream) -> Result<Image> {
        let id = self.saving.id;
        let status = self.target.status();
        let key = match self.target {
            Target::Data => blob_key(id),
            Target::Stage => staged_key(id),
        };
        // Staged bytes are checked at their import (as Glance does): a failed check there
        // leaves the reason on the image.
        let inspect = match self.target {
            Target::Data => inspected_as(&self.data, &self.saving),
            Target::Stage => None,
        };
        let alive = self.catalog.heartbeat(id, status);
        let measured = store_metered(&self.data, &key, bytes, self.limit.clone(), self.declared, inspect).await;
        alive.abort();
        let images = &self.catalog.stores.images;
        let failure = match measured {
            Err(e) => e,
            Ok(measured) => {
                let done = self
                    .catalog
                    .step(id, status, |was| {
                        Ok(match self.target {
                            Target::Data => activated(was, &measured),
                            Target::Stage => {
                                // Staged: the image waits for its import.
                                let mut staged = was.clone();
                                staged.size = i64::try_from(measured.size).ok();
                                staged
                            }
                        })
                    })
                    .await;
                match done {
                    Ok(Some(image)) => return Ok(image),
                    // Deleted (or reset by an operator) while the bytes were on their way.
                    Ok(None) => gone(id),
                    Err(e) => e,
                }
            }
        };
        // Nothing of a failed upload stands: no data, the image queued again.
        let _ = self.data.blobs.delete(&key).await;
        let reset = self.catalog.step(id, status, |was| Ok(without_data(was))).await;
        // Gone if the image went away meanwhile; otherwise the failure stands (a failed
        // look-up does not replace it).
        if matches!(reset, Ok(None)) && matches!(images.get_image(id).await, Ok(None)) {
            return Err(gone(id));
        }
        Err(failure)
    }
}

/// The disk format an image's bytes are checked against, if they are: where the operator
/// keeps the checks on and the bytes are a disk (not an ova tarball or a container).
fn inspected_as(data: &ImageData, image: &Image) -> Option<DiskFormat> {
    let disk = !matches!(image.container_format, Some(ContainerFormat::Ova | ContainerFormat::Docker));
    if data.check_formats && disk { image.disk_format } else { None }
}

/// Stores `bytes` as blob `key` through the meter; what they measured. Nothing of them
/// is left when it fails.
async fn store_metered(
    data: &ImageData,
    key: &str,
    bytes: ByteStream,
    limit: Limit,
    declared: Option<u64>,
    inspect: Option<DiskFormat>,
) -> Result<Measured> {
    let meter = Meter::new(limit, declared, inspect);
    let put = data.blobs.put(key, Box::pin(meter.clone().wrap(bytes))).await;
    let measured = match put {
        Ok(_) => meter.finish(),
        // What the meter saw explains the failure better than the store's error.
        Err(e) => Err(meter.failure().unwrap_or(e)),
    };
    if measured.is_err() {
        let _ = data.blobs.delete(key).await;
    }
    measured
}

/// `image` made active with the data `measured` describes.
fn activated(image: &Image, measured: &Measured) -> Image {
    let mut active = image.clone();
    active.status = Status::Active;
    active.status_message = None;
    active.size = i64::try_from(measured.size).ok();
    active.virtual_size = match (measured.virtual_size, active.disk_format) {
        (Some(v), _) => i64::try_from(v).ok(),
        // The bytes are the disk: its size is theirs.
        (None, Some(DiskFormat::Raw | DiskFormat::Iso)) => active.size,
        (None, _) => None,
    };
    active.checksum = Some(measured.md5.clone());
    active.os_hash_algo = Some("sha512".into());
    active.os_hash_value = Some(measured.sha512.clone());
    active
}

/// `image` back to `queued`, without data.
fn without_data(image: &Image) -> Image {
    let mut queued = image.clone();
    queued.status = Status::Queued;
    queued.size = None;
    queued.virtual_size = None;
    queued.checksum = None;
    queued.os_hash_algo = None;
    queued.os_hash_value = None;
    queued
}

/// The `updated_at` of a change to `was`: now, and always later than `was`'s (so that a
/// write conditional on `was` tells the two apart).
pub(crate) fn moved_on(was: &Image) -> Millis {
    Millis::now().max(Millis(was.updated_at.0.saturating_add(1)))
}

/// Refuses data for an image whose formats are not set.
fn formats_set(image: &Image) -> Result<()> {
    if image.disk_format.is_none() || image.container_format.is_none() {
        return Err(Error::invalid("Properties disk_format, container_format must be set prior to saving data."));
    }
    Ok(())
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

fn not_queued(status: Status, to: Status) -> Error {
    Error::Conflict(format!("Image status transition from {status} to {to} is not allowed"))
}

fn too_large(cap: u64) -> Error {
    Error::PayloadTooLarge(format!("Image exceeds the size limit: the largest image this server stores is {cap} bytes"))
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
    /// The disk's size as its header gives it (inspected uploads).
    virtual_size: Option<u64>,
}

/// Counts and hashes the bytes of an upload as they pass, and stops them when they
/// pass the cap or the size the client declared.
#[derive(Clone)]
struct Meter(Arc<Mutex<MeterState>>);

struct MeterState {
    cap: Limit,
    declared: Option<u64>,
    seen: u64,
    md5: SideHash<md5::Md5>,
    sha512: SideHash<sha2::Sha512>,
    failure: Option<Error>,
    /// The declared disk format the first bytes are checked against, until they are.
    inspect: Option<DiskFormat>,
    /// The first bytes, kept for the check.
    head: Vec<u8>,
    inspection: Option<formats::Inspection>,
}

impl MeterState {
    /// Runs the format check on the first bytes (once).
    fn inspect(&mut self) -> Result<()> {
        if let Some(declared) = self.inspect.take() {
            self.inspection = Some(formats::check(declared, &self.head)?);
            self.head = Vec::new();
        }
        Ok(())
    }
}

impl Meter {
    fn new(cap: Limit, declared: Option<u64>, inspect: Option<DiskFormat>) -> Self {
        Self(Arc::new(Mutex::new(MeterState {
            cap,
            declared,
            seen: 0,
            md5: SideHash::start("imagehub-md5"),
            sha512: SideHash::start("imagehub-sha512"),
            failure: None,
            inspect,
            head: Vec::new(),
            inspection: None,
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
        s.inspect()?;
        let md5 = std::mem::replace(&mut s.md5, SideHash::Done).finish()?;
        let sha512 = std::mem::replace(&mut s.sha512, SideHash::Done).finish()?;
        let virtual_size = s.inspection.as_ref().and_then(|i| i.virtual_size);
        Ok(Measured { size: s.seen, md5: hex(&md5), sha512: hex(&sha512), virtual_size })
    }
}

/// One hash of an upload (md5, sha512), on a thread of its own fed the chunks in order:
/// each hash costs about as much as writing the bytes (a gigabyte took 4.2 s with both on
/// the request's thread, against 1.25 s for `dd` to write it), and on a request thread it
/// held up the requests sharing that thread. Where no thread can be had, it runs in line.
enum SideHash<H> {
    Inline(H),
    Thread(std::sync::mpsc::SyncSender<Bytes>, std::thread::JoinHandle<H>),
    Done,
}

impl<H: md5::Digest + Send + 'static> SideHash<H> {
    fn start(name: &str) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(32);
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            let mut hash = H::new();
            for chunk in rx {
                hash.update(&chunk);
            }
            hash
        });
        match spawned {
            Ok(thread) => SideHash::Thread(tx, thread),
            Err(_) => SideHash::Inline(H::new()),
        }
    }

    fn feed(&mut self, chunk: &Bytes) {
        match self {
            SideHash::Inline(hash) => hash.update(chunk),
            SideHash::Thread(tx, _) => {
                if let Err(std::sync::mpsc::TrySendError::Full(chunk)) = tx.try_send(chunk.clone()) {
                    // The hash is behind: wait for it, letting the runtime move this
                    // worker's other tasks elsewhere meanwhile.
                    let send = || {
                        let _ = tx.send(chunk);
                    };
                    if on_multi_thread_runtime() { tokio::task::block_in_place(send) } else { send() }
                }
            }
            SideHash::Done => {}
        }
    }

    fn finish(self) -> Result<Vec<u8>> {
        let hash = match self {
            SideHash::Inline(hash) => hash,
            SideHash::Thread(tx, thread) => {
                drop(tx);
                // The thread may still hash what is queued: wait off the runtime's workers.
                let join = || thread.join();
                let joined = if on_multi_thread_runtime() { tokio::task::block_in_place(join) } else { join() };
                joined.map_err(|_| Error::Internal("a hash thread panicked".into()))?
            }
            SideHash::Done => return Err(Error::Internal("an upload's hash was taken twice".into())),
        };
        Ok(hash.finalize().to_vec())
    }
}

/// Whether this runs on a worker of a multi-thread runtime (where a blocking wait may hand
/// the worker's other tasks to the others).
fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
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
            // The last chance for the check of data shorter than its head.
            None => s.inspect().err().map(|e| Err(stop(&mut s, e))),
            Some(Err(e)) => Some(Err(stop(&mut s, Error::MalformedBody(format!("the image data was cut off: {e}"))))),
            Some(Ok(chunk)) => {
                let seen = s.seen.saturating_add(chunk.len() as u64);
                if seen > s.cap.bytes {
                    let over = s.cap.over.clone();
                    Some(Err(stop(&mut s, over)))
                } else if let Some(n) = s.declared.filter(|n| seen > *n) {
                    Some(Err(stop(&mut s, Error::invalid(format!("Size exceeds: expected {n} bytes, got more")))))
                } else {
                    s.seen = seen;
                    s.md5.feed(&chunk);
                    s.sha512.feed(&chunk);
                    if s.inspect.is_some() {
                        let room = formats::HEAD_BYTES.saturating_sub(s.head.len());
                        s.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
                    }
                    let checked = if s.head.len() >= formats::HEAD_BYTES { s.inspect() } else { Ok(()) };
                    match checked {
                        Ok(()) => Some(Ok(chunk)),
                        Err(e) => Some(Err(stop(&mut s, e))),
                    }
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

    fn limit(bytes: u64) -> Limit {
        Limit { bytes, over: too_large(bytes) }
    }

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
        let meter = Meter::new(limit(100), None, None);
        let passed = drain(meter.clone().wrap(chunks(&[b"hello ", b"world"]))).unwrap();
        assert_eq!(passed, b"hello world");
        let m = meter.finish().unwrap();
        assert_eq!(m.size, 11);
        assert_eq!(m.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert!(m.sha512.starts_with("309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f"));
    }

    #[test]
    fn stops_at_the_cap_and_at_the_declared_size() {
        let meter = Meter::new(limit(8), None, None);
        assert!(drain(meter.clone().wrap(chunks(&[b"12345", b"6789"]))).is_err());
        assert!(matches!(meter.finish(), Err(Error::PayloadTooLarge(_))));

        let meter = Meter::new(limit(100), Some(4), None);
        assert!(drain(meter.clone().wrap(chunks(&[b"12345"]))).is_err());
        assert!(matches!(meter.finish(), Err(Error::InvalidArgument(m)) if m.starts_with("Size exceeds")));

        let meter = Meter::new(limit(100), Some(6), None);
        drain(meter.clone().wrap(chunks(&[b"12345"]))).unwrap();
        assert!(matches!(meter.finish(), Err(Error::InvalidArgument(m)) if m.starts_with("Size mismatch")));
    }
}
