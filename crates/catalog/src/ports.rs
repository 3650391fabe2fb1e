//! What the catalog needs from persistence, as ports by concern: images with their
//! members and groups ([`ImageStore`]), credentials ([`CredentialStore`]), the server's
//! own settings ([`SettingStore`]) and the identity face's projects and users
//! ([`IdentityStore`]). Implementations live in `imagehub-store` (the SQL store
//! implements all four; the read index wraps only [`ImageStore`]); they map their
//! database errors to [`crate::Error`] at this boundary (unique violation → `Duplicate`,
//! busy/pool exhausted → `Unavailable`). [`Stores`] bundles one of each for the catalog.

use std::sync::Arc;

use async_trait::async_trait;

use crate::access::{AccessScope, Role};
use crate::error::Result;
use crate::ids::{GroupId, ImageId, Millis, ProjectId};
use crate::image::{GroupMeta, Image, ImageGroup, Member};
use crate::query::{Filter, GroupQuery, ImageQuery, Page};

/// A stored API token (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Hex SHA-256 of the token value.
    pub hash: String,
    pub project: ProjectId,
    pub role: Role,
    pub created_at: Millis,
    pub label: Option<String>,
    /// When the token stops working (`None`: never).
    pub expires_at: Option<Millis>,
    /// When it was revoked (it stopped working then).
    pub revoked_at: Option<Millis>,
    /// The access key whose login issued it (SCNet's): revoking the key ends the token.
    pub issued_by: Option<String>,
    /// When it was last used (recorded at most once a minute).
    pub last_used_at: Option<Millis>,
    /// The user it was issued to (a password login on the identity face): disabling or
    /// deleting the user, changing its password or its role on the project ends it.
    pub user: Option<String>,
}

impl TokenRecord {
    /// The token's public id: the first 16 hex digits of its hash (what `imagehub token
    /// list` shows and `token revoke` takes; it reveals nothing of the token).
    pub fn id(&self) -> &str {
        crate::token::id_of(&self.hash)
    }
}

/// A stored access key; the secret is sealed with the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    pub ak: String,
    pub sealed_secret: String,
    pub project: ProjectId,
    pub role: Role,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
    pub label: Option<String>,
}

/// Where a bulk load ([`ImageStore::load_images`]) takes its images from, a batch at a time.
#[async_trait]
pub trait ImageBatches: Send {
    /// The next batch; `None` when there are no more.
    async fn next_batch(&mut self) -> Result<Option<Vec<Image>>>;
}

/// Batches already in memory.
#[async_trait]
impl ImageBatches for std::vec::IntoIter<Vec<Image>> {
    async fn next_batch(&mut self) -> Result<Option<Vec<Image>>> {
        Ok(self.next())
    }
}

#[async_trait]
/// Images, their members and their groups.
pub trait ImageStore: Send + Sync + 'static {
    /// Inserts a new image, and the group's read-me if given, in one transaction.
    /// Fails with `Duplicate` if the id exists or a dedicated image with the same
    /// (owner, namespace, name, tag) exists.
    async fn insert_image(&self, image: &Image, group_read_me: Option<&str>) -> Result<()>;

    /// Inserts many images in one transaction (bulk loads: the preset catalog, benchmarks).
    /// The planner's statistics are refreshed when a store is opened, not after each call.
    async fn insert_images(&self, images: &[Image]) -> Result<()>;

    /// Loads every image `batches` gives as one write (imports, the benchmark): all of
    /// them or, on an error, none. Into a small catalog (a new one holds only the preset
    /// images), a store may drop secondary indexes first and build them once after the
    /// rows instead of keeping them up row by row; a duplicate registry key among the
    /// loaded images is then found at the end (`Duplicate`, nothing loaded). The
    /// planner's statistics are refreshed after the load. Returns how many images were
    /// loaded.
    async fn load_images(&self, batches: &mut dyn ImageBatches) -> Result<u64>;

    /// Inserts the image unless one with its id exists; returns whether it inserted.
    async fn insert_image_if_absent(&self, image: &Image) -> Result<bool>;

    async fn get_image(&self, id: ImageId) -> Result<Option<Image>>;

    /// The stored records among `ids` (missing ones left out), in no particular order.
    async fn get_images(&self, ids: &[ImageId]) -> Result<Vec<Image>>;

    /// Up to `limit` images with ids greater than `after` (all, from the first, when
    /// `None`), by id: a scan of the whole catalog that writes cannot derail.
    async fn images_after(&self, after: Option<ImageId>, limit: u64) -> Result<Vec<Image>>;

    /// The bytes a project's image data holds: the sizes of its images with data (a
    /// checksum) and of its staged or importing bytes.
    async fn storage_used(&self, owner: &ProjectId) -> Result<u64>;

    /// Replaces a stored image's record (same id); `NotFound` if it is gone.
    async fn update_image(&self, image: &Image) -> Result<()>;
    /// Replaces an image's record if it is still as `was` left it (the same status and
    /// `updated_at`: every change moves `updated_at` on); whether it was (an image that
    /// is gone or was changed meanwhile is left as it is). How two requests that race to
    /// change one image cannot undo each other's change.
    async fn update_image_if(&self, image: &Image, was: &Image) -> Result<bool>;

    /// Adds a member; `Duplicate` if the project is a member already.
    async fn add_member(&self, member: &Member) -> Result<()>;

    async fn get_member(&self, image: ImageId, project: &ProjectId) -> Result<Option<Member>>;

    /// Every member of an image, oldest first.
    async fn list_members(&self, image: ImageId) -> Result<Vec<Member>>;

    /// Every member of each of `images` (to follow writes in an index), in no particular order.
    async fn members_of(&self, images: &[ImageId]) -> Result<Vec<Member>>;

    /// Every membership of every image (to build an index).
    async fn all_members(&self) -> Result<Vec<Member>>;

    /// Stores a member's new status; `NotFound` if it is not a member.
    async fn update_member(&self, member: &Member) -> Result<()>;

    /// Removes a member; returns whether it was one.
    async fn delete_member(&self, image: ImageId, project: &ProjectId) -> Result<bool>;

    /// Deletes an image; returns whether it existed.
    async fn delete_image(&self, id: ImageId) -> Result<bool>;

    /// The page of images that `access` admits and the query selects.
    /// The records are shared (a store may hand out what it caches).
    async fn list_images(&self, access: &AccessScope, query: &ImageQuery) -> Result<Page<Arc<Image>>>;

    /// The page of groups formed by the images that `access` admits and the filters select.
    async fn list_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Page<ImageGroup>>;

    /// One group as `access` sees it, made of its images that pass `filters`; `None` if
    /// it has no such image `access` admits.
    async fn get_group(&self, access: &AccessScope, id: GroupId, filters: &[Filter]) -> Result<Option<ImageGroup>>;

    /// Deletes the images of the group that pass `filters`, and its metadata, in one
    /// transaction; returns how many images went.
    async fn delete_group(&self, id: GroupId, filters: &[Filter]) -> Result<u64>;

    async fn put_group_meta(&self, id: GroupId, meta: &GroupMeta) -> Result<()>;

    /// The stored metadata of those of `ids` that have any.
    async fn group_metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>>;
}

/// API tokens and access keys.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    async fn insert_token(&self, token: &TokenRecord) -> Result<()>;

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Marks the token with this id revoked; returns whether it existed and was active.
    async fn revoke_token(&self, id: &str, at: Millis) -> Result<bool>;

    /// Records that a token was used at `at`.
    async fn touch_token(&self, hash: &str, at: Millis) -> Result<()>;

    /// Deletes the tokens that expired before `before`; returns how many.
    async fn delete_tokens_expired_before(&self, before: Millis) -> Result<u64>;

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()>;

    async fn find_access_key(&self, ak: &str) -> Result<Option<AccessKeyRecord>>;

    /// Every access key, oldest first.
    async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>>;

    /// Marks a key revoked; returns whether it existed and was active.
    async fn revoke_access_key(&self, ak: &str, at: Millis) -> Result<bool>;

    /// Marks the active tokens of `user` revoked (only those for `project` when given);
    /// returns how many.
    async fn revoke_user_tokens(&self, user: &str, project: Option<&ProjectId>, at: Millis) -> Result<u64>;
}

/// A named project of the identity face. Its id is the [`ProjectId`] every face uses; a
/// project that only tokens name (made before it had a record) has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: ProjectId,
    pub name: String,
    /// The domain's name (`Default` unless given).
    pub domain: String,
    pub created_at: Millis,
}

/// A user who logs in with a password on the identity face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// 32 lowercase hex digits, like Keystone's.
    pub id: String,
    pub name: String,
    /// The domain's name (`Default` unless given).
    pub domain: String,
    /// The argon2id hash of the password, in the PHC string format.
    pub password_hash: String,
    pub enabled: bool,
    /// The project a login without a scope is scoped to.
    pub default_project: Option<ProjectId>,
    pub created_at: Millis,
}

/// Projects, users and their roles on projects (one role per user and project).
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// `Duplicate` if the id, or the name in the domain, is taken.
    async fn insert_project(&self, project: &ProjectRecord) -> Result<()>;

    async fn get_project(&self, id: &ProjectId) -> Result<Option<ProjectRecord>>;

    async fn find_project(&self, domain: &str, name: &str) -> Result<Option<ProjectRecord>>;

    /// Every project, by domain and name.
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>>;

    /// Inserts a user with its role on its default project, in one transaction;
    /// `Duplicate` if the name is taken in the domain.
    async fn insert_user(&self, user: &UserRecord, role: Option<Role>) -> Result<()>;

    async fn get_user(&self, id: &str) -> Result<Option<UserRecord>>;

    async fn find_user(&self, domain: &str, name: &str) -> Result<Option<UserRecord>>;

    /// Every user, by domain and name.
    async fn list_users(&self) -> Result<Vec<UserRecord>>;

    /// Stores a user's password hash, enabled flag and default project; `NotFound` if gone.
    async fn update_user(&self, user: &UserRecord) -> Result<()>;

    /// Deletes a user and its role assignments; whether it existed.
    async fn delete_user(&self, id: &str) -> Result<bool>;

    /// Gives `user` `role` on `project`, replacing the role it had there.
    async fn put_role(&self, user: &str, project: &ProjectId, role: Role) -> Result<()>;

    /// Removes `user`'s role on `project`; whether it had one.
    async fn delete_role(&self, user: &str, project: &ProjectId) -> Result<bool>;

    async fn role_of(&self, user: &str, project: &ProjectId) -> Result<Option<Role>>;

    /// Every role assignment, as (user id, project, role), by user and project.
    async fn list_roles(&self) -> Result<Vec<(String, ProjectId, Role)>>;
}

/// A small key/value table for the server's own state (e.g. "presets loaded").
#[async_trait]
pub trait SettingStore: Send + Sync + 'static {
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;

    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
}

/// One store of each port: what a [`crate::Catalog`] is built on.
#[derive(Clone)]
pub struct Stores {
    pub images: Arc<dyn ImageStore>,
    pub credentials: Arc<dyn CredentialStore>,
    pub settings: Arc<dyn SettingStore>,
    pub identity: Arc<dyn IdentityStore>,
}

impl Stores {
    /// Every port served by one store.
    pub fn all_in<S: ImageStore + CredentialStore + SettingStore + IdentityStore>(store: Arc<S>) -> Self {
        Self { images: store.clone(), credentials: store.clone(), settings: store.clone(), identity: store }
    }
}
