//! imagehub's catalog: the domain model (images, groups, visibility, status), the query
//! model, the access rules and the operations every API face calls. No HTTP, no SQL:
//! persistence is behind ports by concern ([`Stores`]), implemented in `imagehub-store`.

mod access;
mod credentials;
pub mod data;
mod error;
pub mod formats;
pub mod identity;
mod ids;
mod image;
mod listing;
mod logins;
mod ports;
pub mod preset;
mod query;
pub mod register;
pub mod secrets;
mod service;
pub mod token;
mod words;

pub use access::{AccessPart, AccessScope, Caller, MemberRule, Policy, PolicyRule, Role, Scope, View, Writer};
pub use credentials::{CREDENTIAL_FRESHNESS, TokenState, expiry_after};
pub use data::{
    BlobCheck, BlobStore, ByteStream, DEFAULT_IMAGE_SIZE_CAP, Download, IMPORT_METHODS, ImageData, STALLED, Target,
    Upload, WebSource,
};
pub use error::{Error, Result};
pub use ids::{GroupId, ImageId, Millis, ProjectId, SYSTEM_PROJECT};
pub use image::{
    Accelerator, AppType, Arch, ContainerFormat, DEFAULT_APP_TYPE, DEFAULT_WORKSPACE, DevService, DiskFormat,
    GroupMeta, Image, ImageGroup, ImageKind, KNOWN_APP_TYPES, KvTag, Member, MemberStatus, Origin, ResourceCategory,
    ServiceType, Status, Visibility, canonical_app_type,
};
pub use listing::Listing;
pub use ports::{
    AccessKeyRecord, CredentialStore, IdentityStore, ImageBatches, ImageStore, ProjectRecord, SettingStore, Stores,
    TokenRecord, UserRecord,
};
pub use query::{
    Cmp, Filter, GroupQuery, GroupSortKey, ImageQuery, MAX_FILTER_VALUES, MAX_PROPERTY_FILTERS, MAX_SORT_KEYS,
    MAX_TAG_FILTERS, NameMatch, Needle, NumberField, Page, PageRequest, SortDir, SortKey, TimeField, given_sort,
};
pub use register::{ContainerRegistration, RegistryPath};
pub use secrets::MasterKey;
pub use service::{Catalog, GroupUpdate, MAX_CLOCK_SKEW_MS, MAX_MEMBERS, MAX_PAGE, MAX_PROPERTIES, MAX_TAGS};
