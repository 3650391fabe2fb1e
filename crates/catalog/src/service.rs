//! The catalog operations every face calls. Faces translate; this module decides.

use std::sync::Arc;

use crate::access::{AccessScope, MemberRule, Policy, Role, Scope, View, Writer};
use crate::credentials::CredentialCache;
use crate::data::ImageData;
use crate::error::{Error, Result};
use crate::ids::{GroupId, ImageId, Millis, ProjectId};
use crate::image::{
    Arch, ContainerFormat, DevService, DiskFormat, Image, ImageGroup, ImageKind, KvTag, Member, MemberStatus, Origin,
    ResourceCategory, ServiceType, Status, Visibility,
};
use crate::listing::Listing;
use crate::ports::Stores;
use crate::preset;
use crate::query::{Filter, GroupQuery, ImageQuery, Page, PageRequest};
use crate::register::{self, ContainerRegistration, RegistryPath};
use crate::secrets::MasterKey;
use crate::token;

/// The largest page any list returns.
pub const MAX_PAGE: u64 = 1000;

/// How far the time a signed request names may be from the server's clock, either way:
/// `X-Sdk-Date` of an `SDK-HMAC-SHA256` signature, `timestamp` of an SCNet login.
pub const MAX_CLOCK_SKEW_MS: i64 = 15 * 60 * 1000;

const SETTING_PRESETS: &str = "presets_version";
const SETTING_BOOTSTRAP: &str = "bootstrap_token_issued";

#[derive(Clone)]
pub struct Catalog {
    pub(crate) stores: Stores,
    pub(crate) master: Option<MasterKey>,
    /// Credentials read recently ([`crate::credentials`]).
    pub(crate) credentials: Arc<CredentialCache>,
    /// Where image bytes go ([`crate::data`]); `None`: this catalog serves metadata only.
    pub(crate) data: Option<ImageData>,
    /// The throttle of password logins and the hashing slots ([`crate::logins`]).
    pub(crate) logins: Arc<crate::logins::Logins>,
    /// Who may publicize and communitize images.
    pub(crate) policy: Policy,
}

/// What changes on a group (ModelArts UpdateImageGroup).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupUpdate {
    pub read_me: Option<String>,
    pub kv_tags: Option<Vec<KvTag>>,
}

impl Catalog {
    pub fn new(stores: Stores) -> Self {
        Self {
            stores,
            master: None,
            credentials: Arc::default(),
            data: None,
            logins: Arc::default(),
            policy: Policy::default(),
        }
    }

    /// This catalog with the operator's policy on visibility.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// This catalog with a blob store for image data and the limits on it.
    pub fn with_data(mut self, data: ImageData) -> Self {
        self.data = Some(data);
        self
    }

    /// First-start setup: loads the preset catalog once and makes sure an admin token
    /// exists. Returns a newly generated admin token (to print once), or `None` when the
    /// operator chose one (`chosen`) or one was issued on an earlier start.
    pub async fn bootstrap(&self, chosen: Option<&str>) -> Result<Option<String>> {
        self.load_presets().await?;
        if let Some(value) = chosen {
            token::validate_chosen(value)?;
            if self.stores.credentials.find_token(&token::hash(value)).await?.is_none() {
                let label = Some("bootstrap (chosen)".into());
                let grant = crate::credentials::Grant::new(ProjectId::system(), Role::Admin, label, None);
                self.store_token(value, grant).await?;
            }
            self.stores.settings.put_setting(SETTING_BOOTSTRAP, "chosen").await?;
            return Ok(None);
        }
        if self.stores.settings.get_setting(SETTING_BOOTSTRAP).await?.is_some() {
            return Ok(None);
        }
        let value = self.create_token(&ProjectId::system(), Role::Admin, Some("bootstrap".into()), None).await?;
        self.stores.settings.put_setting(SETTING_BOOTSTRAP, "generated").await?;
        Ok(Some(value))
    }

    /// Loads the built-in images unless this preset version was loaded before (so an
    /// administrator's deletions stick). Returns how many images were inserted.
    pub async fn load_presets(&self) -> Result<usize> {
        if self.stores.settings.get_setting(SETTING_PRESETS).await?.as_deref() == Some(preset::PRESET_VERSION) {
            return Ok(0);
        }
        let mut inserted = 0;
        for image in preset::builtin_images()? {
            if self.stores.images.insert_image_if_absent(&image).await? {
                inserted += 1;
            }
        }
        self.stores.settings.put_setting(SETTING_PRESETS, preset::PRESET_VERSION).await?;
        Ok(inserted)
    }

    // ---- reads ----------------------------------------------------------------------

    /// A page of `listing` as `scope` sees it under `view`, the query's filters added to
    /// the listing's. A marker must exist (else `InvalidArgument`) and be visible to the
    /// scope (else `Forbidden`).
    pub async fn list_images(
        &self,
        scope: &Scope,
        listing: Listing,
        view: View,
        mut query: ImageQuery,
    ) -> Result<Page<Arc<Image>>> {
        check_limit(query.page.limit())?;
        query.check_caps()?;
        if let PageRequest::After { marker, .. } = &query.page {
            match self.stores.images.get_image(*marker).await? {
                None => return Err(Error::invalid(format!("No image found with ID {marker}"))),
                Some(m) if !self.visible(&scope.show_access(), &m).await? => {
                    return Err(Error::Forbidden(format!("the marker image {marker} is not visible to you")));
                }
                Some(_) => {}
            }
        }
        query.filters.splice(0..0, listing.filters(scope.project()));
        self.stores.images.list_images(&scope.access(view), &query).await
    }

    /// Whether `access` admits `image`, looking up the viewer's membership when it matters.
    async fn visible(&self, access: &AccessScope, image: &Image) -> Result<bool> {
        let membership =
            if image.visibility == Visibility::Shared && image.owner != *access.viewer() && !access.is_admin() {
                self.stores.images.get_member(image.id, access.viewer()).await?.map(|m| m.status)
            } else {
                None
            };
        Ok(access.admits(image, membership))
    }

    /// One image the scope may see; an invisible image is reported as not found.
    pub async fn get_image(&self, scope: &Scope, id: ImageId) -> Result<Image> {
        match self.stores.images.get_image(id).await? {
            Some(image) if self.visible(&scope.show_access(), &image).await? => Ok(image),
            _ => Err(Error::not_found_image(id)),
        }
    }

    /// A page of the groups of `listing` as `scope` sees it, the query's filters added to
    /// the listing's.
    pub async fn list_groups(
        &self,
        scope: &Scope,
        listing: Listing,
        mut query: GroupQuery,
    ) -> Result<Page<ImageGroup>> {
        check_limit(query.limit)?;
        query.check_caps()?;
        query.filters.splice(0..0, listing.filters(scope.project()));
        self.stores.images.list_groups(&scope.access(View::DEFAULT), &query).await
    }

    /// One group of `listing` as `scope` sees it (made of the images the listing holds).
    pub async fn get_group(&self, scope: &Scope, listing: Listing, id: GroupId) -> Result<ImageGroup> {
        self.stores
            .images
            .get_group(&scope.access(View::DEFAULT), id, &listing.filters(scope.project()))
            .await?
            .ok_or_else(|| Error::NotFound(format!("image group {id} not found")))
    }

    // ---- writes ---------------------------------------------------------------------

    /// Registers a container image by registry path, owned by the writer's project.
    pub async fn register_container(&self, writer: &Writer<'_>, reg: ContainerRegistration) -> Result<Image> {
        let path = RegistryPath::parse(&reg.registry_path)?;
        if let Some(d) = &reg.description
            && d.chars().count() > register::DESCRIPTION_MAX
        {
            return Err(Error::invalid(format!("description is longer than {} characters", register::DESCRIPTION_MAX)));
        }
        register::validate_kv_tags(&reg.kv_tags)?;
        if let Some(r) = &reg.read_me {
            register::validate_read_me(r)?;
        }
        let workspace = reg.workspace_id.unwrap_or_else(|| crate::image::DEFAULT_WORKSPACE.to_owned());
        let app_type = reg.image_type.as_deref().map(crate::image::AppType::parse).transpose()?;
        let scope = writer.scope();
        let now = Millis::now();
        let mut image = Image::blank(ImageId::new_random(), scope.project().clone(), now);
        image.kind = ImageKind::Dedicated;
        image.workspace_id = workspace;
        image.name = Some(path.name);
        image.namespace = Some(path.namespace);
        image.tag = Some(path.tag);
        image.registry_path = Some(reg.registry_path);
        image.digest = reg.digest;
        image.arch = Some(reg.arch.unwrap_or(Arch::X86_64));
        image.origin = Some(reg.origin.unwrap_or(Origin::Customize));
        image.resource_categories =
            reg.resource_categories.unwrap_or_else(|| vec![ResourceCategory::Cpu, ResourceCategory::Gpu]);
        image.service_type = Some(reg.service_type.unwrap_or(ServiceType::Unknown));
        image.dev_services = reg.dev_services.unwrap_or_else(|| vec![DevService::Notebook, DevService::Ssh]);
        image.visibility = reg.visibility.unwrap_or(Visibility::Private);
        self.policy.check_visibility(writer, None, image.visibility)?;
        image.flavor_type = reg.flavor_type;
        image.kv_tags = reg.kv_tags;
        image.description = reg.description;
        image.accelerator_type = reg.accelerator_type;
        image.image_type = app_type.map(|t| t.as_str().to_owned());
        image.size = reg.size;
        image.uploaded_by = reg.uploaded_by;
        image.status = Status::Active;
        image.container_format = Some(ContainerFormat::Docker);
        image.disk_format = Some(DiskFormat::Raw);
        validate_image(&image)?;
        self.stores.images.insert_image(&image, reg.read_me.as_deref()).await.map_err(|e| match e {
            Error::Duplicate(_) => Error::Duplicate(format!(
                "{}/{}:{} is already registered in this project",
                image.namespace.as_deref().unwrap_or_default(),
                image.name.as_deref().unwrap_or_default(),
                image.tag.as_deref().unwrap_or_default()
            )),
            other => other,
        })?;
        Ok(image)
    }

    /// Deletes an image; returns it as it was, with status `deleted`.
    pub async fn delete_image(&self, writer: &Writer<'_>, id: ImageId) -> Result<Image> {
        let mut image = self.get_image(writer.scope(), id).await?;
        writer.check_may_modify(&image)?;
        if image.protected {
            return Err(Error::Forbidden(format!("Image {id} is protected and cannot be deleted.")));
        }
        if !self.stores.images.delete_image(id).await? {
            return Err(Error::not_found_image(id));
        }
        if image.checksum.is_some() || matches!(image.status, Status::Saving | Status::Uploading | Status::Importing) {
            self.forget_data(id).await;
        }
        image.status = Status::Deleted;
        image.updated_at = Millis::now();
        Ok(image)
    }

    /// Deletes every image of a group (the group must be visible and modifiable).
    /// Deletes every image of a group of `listing` (the group must be visible and
    /// modifiable); refused, with nothing deleted, while one of them is protected.
    /// Images of the same name that the listing does not hold (a VM image beside a
    /// ModelArts group) stay.
    pub async fn delete_group(&self, writer: &Writer<'_>, listing: Listing, id: GroupId) -> Result<ImageGroup> {
        let group = self.modifiable_group(writer, listing, id).await?;
        let scope = writer.scope();
        let protected = ImageQuery {
            filters: vec![Filter::Group(id), Filter::Protected(true)],
            sort: Vec::new(),
            page: PageRequest::Offset { offset: 0, limit: 1 },
            with_total: false,
        };
        let view = View { members: MemberRule::Any, community: true };
        if let Some(image) = self.list_images(scope, listing, view, protected).await?.items.first() {
            return Err(Error::Forbidden(format!(
                "Image {} of group {id} is protected: the group cannot be deleted.",
                image.id
            )));
        }
        // Protected images are left out here too, should one have become so meanwhile.
        let mut filters = listing.filters(scope.project());
        filters.push(Filter::Protected(false));
        self.stores.images.delete_group(id, &filters).await?;
        Ok(group)
    }

    /// Sets a group's read-me and/or labels.
    pub async fn update_group(
        &self,
        writer: &Writer<'_>,
        listing: Listing,
        id: GroupId,
        update: GroupUpdate,
    ) -> Result<ImageGroup> {
        if let Some(r) = &update.read_me {
            register::validate_read_me(r)?;
        }
        if let Some(t) = &update.kv_tags {
            register::validate_kv_tags(t)?;
        }
        let mut group = self.modifiable_group(writer, listing, id).await?;
        if let Some(r) = update.read_me {
            group.meta.read_me = Some(r);
        }
        if let Some(t) = update.kv_tags {
            group.meta.kv_tags = t;
        }
        self.stores.images.put_group_meta(id, &group.meta).await?;
        Ok(group)
    }

    /// A new image record for the writer's project with the catalog's create defaults
    /// (Glance's: `queued`, visibility `shared`), to be filled in and passed to
    /// [`Catalog::create_image`].
    pub fn draft_image(&self, writer: &Writer<'_>, id: Option<ImageId>) -> Image {
        Image::blank(id.unwrap_or_else(ImageId::new_random), writer.scope().project().clone(), Millis::now())
    }

    /// Stores a new image. The owner must be the writer's project unless it is an admin.
    pub async fn create_image(&self, writer: &Writer<'_>, image: Image) -> Result<Image> {
        let scope = writer.scope();
        if image.owner != *scope.project() && !scope.caller().is_admin() {
            return Err(Error::Forbidden(format!(
                "You are not permitted to create images owned by '{}'.",
                image.owner
            )));
        }
        validate_image(&image)?;
        self.policy.check_visibility(writer, None, image.visibility)?;
        if self.stores.images.get_image(image.id).await?.is_some() {
            return Err(Error::Conflict(format!("Image ID {} already exists!", image.id)));
        }
        self.stores.images.insert_image(&image, None).await.map_err(|e| registry_key_taken(e, &image))?;
        Ok(image)
    }

    /// Changes an image: `change` edits the record (it may refuse with an error); the catalog
    /// checks who may change it and what may change, bumps `updated_at`, and stores it.
    pub async fn update_image(
        &self,
        writer: &Writer<'_>,
        id: ImageId,
        change: impl FnOnce(&mut Image) -> Result<()>,
    ) -> Result<Image> {
        let before = self.get_image(writer.scope(), id).await?;
        writer.check_may_modify(&before)?;
        let mut image = before.clone();
        change(&mut image)?;
        if image.id != before.id {
            return Err(Error::Forbidden("Attribute 'id' is read-only.".into()));
        }
        if image.owner != before.owner && !writer.scope().caller().is_admin() {
            return Err(Error::Forbidden("Owner can't be updated by non admin.".into()));
        }
        for (what, changed) in [
            ("disk_format", image.disk_format != before.disk_format),
            ("container_format", image.container_format != before.container_format),
        ] {
            if changed && !matches!(before.status, Status::Queued | Status::Importing) {
                return Err(Error::Forbidden(format!("Attribute {what} can be only replaced for a queued image.")));
            }
        }
        validate_image(&image)?;
        self.policy.check_visibility(writer, Some(before.visibility), image.visibility)?;
        if image == before {
            return Ok(image);
        }
        image.updated_at = crate::data::moved_on(&before);
        // Conditional on the record read: a change that raced this one (another PATCH, an
        // upload finishing) is not undone by it.
        if !self.stores.images.update_image_if(&image, &before).await.map_err(|e| registry_key_taken(e, &image))? {
            return Err(Error::Conflict(format!(
                "Image {id} was changed by another request while this one ran; read it again and retry"
            )));
        }
        Ok(image)
    }

    /// `active` → `deactivated` (a deactivated image stays so); other states are refused.
    pub async fn deactivate(&self, writer: &Writer<'_>, id: ImageId) -> Result<Image> {
        self.set_activation(writer, id, Status::Deactivated).await
    }

    /// `deactivated` → `active` (an active image stays so); other states are refused.
    pub async fn reactivate(&self, writer: &Writer<'_>, id: ImageId) -> Result<Image> {
        self.set_activation(writer, id, Status::Active).await
    }

    async fn set_activation(&self, writer: &Writer<'_>, id: ImageId, to: Status) -> Result<Image> {
        let verb = if to == Status::Active { "reactivate" } else { "deactivate" };
        self.update_image(writer, id, |image| {
            if !matches!(image.status, Status::Active | Status::Deactivated) {
                return Err(Error::Forbidden(format!("Not allowed to {verb} image in status '{}'", image.status)));
            }
            image.status = to;
            Ok(())
        })
        .await
    }

    /// The image, if the scope may see it and it is `shared` (only shared images have members).
    async fn shared_image(&self, scope: &Scope, id: ImageId) -> Result<Image> {
        let image = self.get_image(scope, id).await?;
        if image.visibility != Visibility::Shared {
            return Err(Error::Forbidden("Only shared images have members.".into()));
        }
        Ok(image)
    }

    fn is_owner_or_admin(scope: &Scope, image: &Image) -> bool {
        scope.caller().is_admin() || image.owner == *scope.project()
    }

    /// Shares a `shared` image with a project (status `pending`). Owner or admin only.
    pub async fn add_member(&self, writer: &Writer<'_>, id: ImageId, member: &str) -> Result<Member> {
        let image = self.shared_image(writer.scope(), id).await?;
        if !Self::is_owner_or_admin(writer.scope(), &image) {
            return Err(Error::Forbidden("only the image owner can add members".into()));
        }
        let member = ProjectId::parse(member.trim())
            .ok_or_else(|| Error::invalid(format!("member {member:?} is not a project id (32 lowercase hex)")))?;
        if self.stores.images.list_members(id).await?.len() >= MAX_MEMBERS {
            return Err(Error::PayloadTooLarge(format!("An image may have at most {MAX_MEMBERS} members.")));
        }
        let now = Millis::now();
        let m = Member { image_id: id, member, status: MemberStatus::Pending, created_at: now, updated_at: now };
        self.stores.images.add_member(&m).await.map_err(|e| match e {
            Error::Duplicate(_) => Error::Conflict(format!("Member {} is duplicated for image {id}", m.member)),
            other => other,
        })?;
        Ok(m)
    }

    /// The members a scope may see: all of them for the owner (or an admin), its own row
    /// for a member.
    pub async fn list_members(&self, scope: &Scope, id: ImageId) -> Result<Vec<Member>> {
        let image = self.shared_image(scope, id).await?;
        let all = self.stores.images.list_members(id).await?;
        if Self::is_owner_or_admin(scope, &image) {
            return Ok(all);
        }
        Ok(all.into_iter().filter(|m| m.member == *scope.project()).collect())
    }

    /// One member row, for the owner (or an admin) or that member; otherwise not found.
    pub async fn get_member(&self, scope: &Scope, id: ImageId, member: &str) -> Result<Member> {
        let missing = || Error::NotFound(format!("{member} is not a member of image {id}"));
        let image = self.get_image(scope, id).await?;
        let Some(project) = ProjectId::parse(member) else { return Err(missing()) };
        if image.visibility != Visibility::Shared
            || !(Self::is_owner_or_admin(scope, &image) || project == *scope.project())
        {
            return Err(missing());
        }
        self.stores.images.get_member(id, &project).await?.ok_or_else(missing)
    }

    /// A member answers a share. Only that member (or an admin) may; the owner may not.
    pub async fn set_member_status(
        &self,
        writer: &Writer<'_>,
        id: ImageId,
        member: &str,
        status: MemberStatus,
    ) -> Result<Member> {
        let scope = writer.scope();
        let mut m = self.get_member(scope, id, member).await?;
        if m.member != *scope.project() && !scope.caller().is_admin() {
            return Err(Error::Forbidden("only the member itself can accept or reject a share".into()));
        }
        m.status = status;
        m.updated_at = Millis::now().max(m.updated_at);
        self.stores.images.update_member(&m).await?;
        Ok(m)
    }

    /// Stops sharing with a project. Owner or admin only.
    pub async fn remove_member(&self, writer: &Writer<'_>, id: ImageId, member: &str) -> Result<()> {
        let image = self.shared_image(writer.scope(), id).await?;
        if !Self::is_owner_or_admin(writer.scope(), &image) {
            return Err(Error::Forbidden("only the image owner can remove members".into()));
        }
        let m = self.get_member(writer.scope(), id, member).await?;
        self.stores.images.delete_member(id, &m.member).await?;
        Ok(())
    }

    async fn modifiable_group(&self, writer: &Writer<'_>, listing: Listing, id: GroupId) -> Result<ImageGroup> {
        let group = self.get_group(writer.scope(), listing, id).await?;
        let caller = writer.scope().caller();
        if !caller.is_admin() {
            if group.owner == ProjectId::system() {
                return Err(Error::Forbidden("built-in image groups can only be changed by an administrator".into()));
            }
            if group.owner != *writer.scope().project() {
                return Err(Error::Forbidden(format!("image group {id} belongs to another project")));
            }
        }
        Ok(group)
    }
}

/// Most members an image may have, tags and extra properties it may carry.
pub const MAX_MEMBERS: usize = 128;
pub const MAX_TAGS: usize = 128;
pub const MAX_PROPERTIES: usize = 128;

/// A unique-key refusal of the store, in the catalog's words: the one unique key of an
/// image beside its id is a dedicated image's (owner, namespace, name, tag).
fn registry_key_taken(e: Error, image: &Image) -> Error {
    match e {
        Error::Duplicate(_) => Error::Conflict(format!(
            "an image named {}/{}:{} exists in project {} already",
            image.namespace.as_deref().unwrap_or_default(),
            image.name.as_deref().unwrap_or_default(),
            image.tag.as_deref().unwrap_or_default(),
            image.owner
        )),
        other => other,
    }
}

/// Free text may hold any character but NUL (which PostgreSQL's text cannot store, and no
/// client means).
fn no_nul(what: &str, v: &str) -> Result<()> {
    if v.contains('\0') { Err(Error::invalid(format!("{what} must not contain NUL characters"))) } else { Ok(()) }
}

/// Identifiers (names, paths, labels) hold no control characters at all.
fn printable(what: &str, v: &str) -> Result<()> {
    if v.chars().any(char::is_control) {
        Err(Error::invalid(format!("{what} must not contain control characters")))
    } else {
        Ok(())
    }
}

/// Invariants every stored image keeps, whichever face wrote it (RegisterImage, Glance's
/// create and PATCH, the preset): one set of rules, so no face stores what another refuses.
fn validate_image(i: &Image) -> Result<()> {
    if i.name.as_ref().is_some_and(|n| n.chars().count() > 255) {
        return Err(Error::invalid("name is longer than 255 characters"));
    }
    for (what, v) in [
        ("name", &i.name),
        ("swr_namespace", &i.namespace),
        ("swr_tag", &i.tag),
        ("swr_path", &i.registry_path),
        ("flavor_type", &i.flavor_type),
        ("image_type", &i.image_type),
        ("checksum", &i.checksum),
        ("os_hash_algo", &i.os_hash_algo),
        ("os_hash_value", &i.os_hash_value),
    ] {
        if let Some(v) = v {
            printable(what, v)?;
        }
    }
    if i.workspace_id.is_empty() || i.workspace_id.chars().count() > 64 {
        return Err(Error::invalid("workspace_id must be 1 to 64 characters"));
    }
    printable("workspace_id", &i.workspace_id)?;
    if let Some(path) = &i.registry_path {
        RegistryPath::parse(path)?;
    }
    if let Some(digest) = &i.digest {
        validate_digest(digest)?;
    }
    if let Some(a) = &i.accelerator_type {
        crate::image::Accelerator::parse(a)?;
    }
    if let Some(u) = &i.uploaded_by
        && (u.is_empty() || u.chars().count() > 255 || u.chars().any(char::is_control))
    {
        return Err(Error::invalid("user (uploaded_by) must be 1 to 255 printable characters"));
    }
    if i.size.is_some_and(|n| n < 0) || i.virtual_size.is_some_and(|n| n < 0) {
        return Err(Error::invalid("size and virtual_size must not be negative"));
    }
    if i.min_ram < 0 || i.min_disk < 0 {
        return Err(Error::invalid("min_ram and min_disk must not be negative"));
    }
    if let Some(t) = i.tags.iter().find(|t| t.chars().any(char::is_control)) {
        return Err(Error::invalid(format!("tag {t:?} must not contain control characters")));
    }
    for (k, v) in &i.properties {
        printable("a property name", k)?;
        no_nul(k, v)?;
    }
    if let Some(d) = &i.description {
        no_nul("description", d)?;
    }
    if i.tags.len() > MAX_TAGS {
        return Err(Error::PayloadTooLarge(format!("An image may have at most {MAX_TAGS} tags.")));
    }
    if let Some(t) = i.tags.iter().find(|t| t.is_empty() || t.chars().count() > 255) {
        return Err(Error::invalid(format!("tag {t:?} must be 1 to 255 characters")));
    }
    if i.properties.len() > MAX_PROPERTIES {
        return Err(Error::PayloadTooLarge(format!("An image may have at most {MAX_PROPERTIES} extra properties.")));
    }
    for (k, v) in &i.properties {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(Error::invalid(format!("property name {k:?} must be 1 to 255 characters")));
        }
        if v.chars().count() > 65_535 {
            return Err(Error::invalid(format!("property {k} is longer than 65535 characters")));
        }
    }
    if let Some(d) = &i.description
        && d.chars().count() > 65_535
    {
        return Err(Error::invalid("description is longer than 65535 characters"));
    }
    Ok(())
}

fn check_limit(limit: u64) -> Result<()> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::invalid(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    Ok(())
}

fn validate_digest(d: &str) -> Result<()> {
    let ok = d.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok { Ok(()) } else { Err(Error::invalid("digest must be sha256:<64 hex digits>")) }
}
