//! imagehub's catalog: the domain model (images, groups, visibility, status), the query
//! model, the access rules and the operations every API face calls. No HTTP, no SQL:
//! persistence is behind the [`Store`] trait, implemented in `imagehub-store`.

mod access;
mod error;
mod ids;
mod image;
pub mod preset;
mod query;
pub mod register;
pub mod secrets;
mod service;
mod store;
pub mod token;
mod words;

pub use access::{AccessScope, Caller, MemberRule, Role, Scope, Writer};
pub use error::{Error, Result};
pub use ids::{GroupId, ImageId, Millis, ProjectId, SYSTEM_PROJECT};
pub use image::{
    Arch, ContainerFormat, DEFAULT_APP_TYPE, DEFAULT_WORKSPACE, DevService, DiskFormat, GroupMeta, Image, ImageGroup,
    ImageKind, KNOWN_APP_TYPES, KvTag, Member, MemberStatus, Origin, ResourceCategory, ServiceType, Status, Visibility,
    canonical_app_type,
};
pub use query::{
    Cmp, Filter, GroupQuery, GroupSortKey, ImageQuery, NumberField, Page, PageRequest, SortDir, SortKey, TextField,
    TextMatch, TimeField,
};
pub use register::{ContainerRegistration, RegistryPath};
pub use secrets::MasterKey;
pub use service::{Catalog, GroupUpdate, MAX_MEMBERS, MAX_PAGE, MAX_PROPERTIES, MAX_TAGS};
pub use store::{AccessKeyRecord, ImageBatches, Store, TokenRecord};
