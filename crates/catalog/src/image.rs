//! The image record: one row of the catalog, carrying what every face needs.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{GroupId, ImageId, Millis, ProjectId};
use crate::words::word_enum;

word_enum! {
    /// CPU architecture an image runs on.
    pub enum Arch { X86_64 => "x86_64", Aarch64 => "aarch64" }
}

word_enum! {
    /// Built-in (preset, owned by the system project) or dedicated (a tenant's own).
    pub enum ImageKind { BuiltIn => "builtin", Dedicated => "dedicated" }
}

word_enum! {
    /// How a container image came to be.
    pub enum Origin { Customize => "customize", ImageSave => "image_save" }
}

word_enum! {
    /// What a container image is meant for.
    pub enum ServiceType {
        Common => "common", Inference => "inference", Train => "train", Dev => "dev", Unknown => "unknown",
    }
}

word_enum! {
    /// How a notebook built from the image can be reached.
    pub enum DevService {
        Notebook => "notebook", Ssh => "ssh", AiFlow => "ai_flow", MaStudio => "ma_studio",
        TensorBoard => "tensor_board", WebIde => "web_ide",
    }
}

word_enum! {
    /// Hardware families an image supports.
    pub enum ResourceCategory { Cpu => "cpu", Gpu => "gpu", Ascend => "ascend" }
}

word_enum! {
    /// The one lifecycle of a catalog image (Glance's words; faces map them).
    pub enum Status {
        Queued => "queued", Saving => "saving", Uploading => "uploading", Importing => "importing",
        Active => "active", Deactivated => "deactivated", Killed => "killed",
        PendingDelete => "pending_delete", Deleted => "deleted",
    }
}

word_enum! {
    /// Who may see an image.
    pub enum Visibility { Private => "private", Public => "public", Shared => "shared", Community => "community" }
}

word_enum! {
    /// How the image's bits are packaged (Glance `container_format`).
    pub enum ContainerFormat {
        Ami => "ami", Ari => "ari", Aki => "aki", Bare => "bare", Ovf => "ovf", Ova => "ova",
        Docker => "docker", Compressed => "compressed",
    }
}

word_enum! {
    /// Disk image format (Glance `disk_format`).
    pub enum DiskFormat {
        Ami => "ami", Ari => "ari", Aki => "aki", Vhd => "vhd", Vhdx => "vhdx", Vmdk => "vmdk",
        Raw => "raw", Qcow2 => "qcow2", Vdi => "vdi", Iso => "iso", Ploop => "ploop",
    }
}

word_enum! {
    /// A member project's answer to an image shared with it.
    pub enum MemberStatus { Pending => "pending", Accepted => "accepted", Rejected => "rejected" }
}

/// A project an image is shared with (only `shared` images have members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub image_id: ImageId,
    pub member: ProjectId,
    pub status: MemberStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A key/value label (ModelArts `tags`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KvTag {
    pub key: String,
    pub value: String,
}

/// One catalog image. Optional attributes are `None` when the record does not have them,
/// so every face can tell "unset" from a default.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: ImageId,
    /// Owning project (the system project for built-in images).
    pub owner: ProjectId,
    pub workspace_id: String,
    pub kind: ImageKind,
    pub name: Option<String>,
    /// Registry organisation (SWR namespace).
    pub namespace: Option<String>,
    pub tag: Option<String>,
    /// Full registry reference, `registry[:port]/namespace/name:tag`.
    pub registry_path: Option<String>,
    /// Content digest, `sha256:<64 hex>`.
    pub digest: Option<String>,
    pub arch: Option<Arch>,
    pub origin: Option<Origin>,
    pub service_type: Option<ServiceType>,
    pub dev_services: Vec<DevService>,
    pub resource_categories: Vec<ResourceCategory>,
    /// Explicit accelerator type (e.g. `dcu`); derived from resource categories when unset.
    pub accelerator_type: Option<String>,
    /// Application type of a container image (`Base`, `JupyterLab`, …).
    pub image_type: Option<String>,
    pub status: Status,
    pub status_message: Option<String>,
    /// Size in bytes.
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub visibility: Visibility,
    pub protected: bool,
    pub os_hidden: bool,
    pub container_format: Option<ContainerFormat>,
    pub disk_format: Option<DiskFormat>,
    /// MB.
    pub min_ram: i64,
    /// GB.
    pub min_disk: i64,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    /// Plain string tags (a set).
    pub tags: BTreeSet<String>,
    /// Key/value labels.
    pub kv_tags: Vec<KvTag>,
    /// Extra string properties (Glance extra properties, IMS `__` attributes).
    pub properties: BTreeMap<String, String>,
    pub description: Option<String>,
    pub flavor_type: Option<String>,
    /// The user who uploaded or registered the image.
    pub uploaded_by: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Image {
    /// The group this image belongs to: one per (owner, namespace, name).
    pub fn group_id(&self) -> GroupId {
        GroupId::derive(&self.owner, self.namespace.as_deref(), self.name.as_deref())
    }

    /// Whether this is a container image (what the ModelArts and SCNet faces list).
    pub fn is_container(&self) -> bool {
        self.container_format == Some(ContainerFormat::Docker)
    }

    /// The accelerator type clients filter on: the explicit one (lower case), else derived
    /// from the resource categories: GPU → `gpu`, Ascend → `npu`, otherwise `cpu`.
    pub fn accelerator(&self) -> String {
        if let Some(a) = self.accelerator_type.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            return a.to_ascii_lowercase();
        }
        if self.resource_categories.contains(&ResourceCategory::Gpu) {
            "gpu".into()
        } else if self.resource_categories.contains(&ResourceCategory::Ascend) {
            "npu".into()
        } else {
            "cpu".into()
        }
    }

    /// The application type (`Base`, `JupyterLab`, …); `Base` when none was given.
    pub fn app_type(&self) -> &str {
        self.image_type.as_deref().unwrap_or(DEFAULT_APP_TYPE)
    }

    /// A blank record owned by `owner`, with Glance's create defaults.
    pub fn blank(id: ImageId, owner: ProjectId, now: Millis) -> Self {
        Self {
            id,
            owner,
            workspace_id: DEFAULT_WORKSPACE.to_owned(),
            kind: ImageKind::Dedicated,
            name: None,
            namespace: None,
            tag: None,
            registry_path: None,
            digest: None,
            arch: None,
            origin: None,
            service_type: None,
            dev_services: Vec::new(),
            resource_categories: Vec::new(),
            accelerator_type: None,
            image_type: None,
            status: Status::Queued,
            status_message: None,
            size: None,
            virtual_size: None,
            visibility: Visibility::Shared,
            protected: false,
            os_hidden: false,
            container_format: None,
            disk_format: None,
            min_ram: 0,
            min_disk: 0,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            tags: BTreeSet::new(),
            kv_tags: Vec::new(),
            properties: BTreeMap::new(),
            description: None,
            flavor_type: None,
            uploaded_by: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The workspace every image is in unless told otherwise.
pub const DEFAULT_WORKSPACE: &str = "0";

/// The application type of an image that has none.
pub const DEFAULT_APP_TYPE: &str = "Base";

/// Application types with a known spelling; other words are kept as given.
pub const KNOWN_APP_TYPES: &[&str] = &["Base", "JupyterLab", "CodeServer", "RStudio", "WebIDE", "VSCode", "Notebook"];

/// The canonical spelling of an application type (`jupyterlab` → `JupyterLab`).
pub fn canonical_app_type(word: &str) -> String {
    let word = word.trim();
    KNOWN_APP_TYPES.iter().find(|k| k.eq_ignore_ascii_case(word)).map_or_else(|| word.to_owned(), |k| (*k).to_owned())
}

/// Whether `w` is a short label: 1 to 64 of letters, digits, `_`, `-` and `.`.
fn is_label(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= LABEL_MAX
        && w.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Longest accelerator or application type.
pub const LABEL_MAX: usize = 64;

/// An accelerator type (`cpu`, `gpu`, `npu`, `dcu`, …) in lower case, as clients filter on
/// it ([`Image::accelerator`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Accelerator(String);

impl Accelerator {
    /// A label of letters, digits, `_`, `-` and `.` (at most 64), in any case.
    pub fn parse(word: &str) -> crate::Result<Self> {
        let word = word.trim();
        if !is_label(word) {
            return Err(crate::Error::invalid(format!(
                "invalid accelerator type {word:?}: 1 to {LABEL_MAX} of letters, digits, '_', '-' and '.'"
            )));
        }
        Ok(Self(word.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An application type (`Base`, `JupyterLab`, …): a known one in its canonical spelling,
/// another as given ([`Image::app_type`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppType(String);

impl AppType {
    /// A label of letters, digits, `_`, `-` and `.` (at most 64); known words in any case.
    pub fn parse(word: &str) -> crate::Result<Self> {
        let word = word.trim();
        if !is_label(word) {
            return Err(crate::Error::invalid(format!(
                "invalid image type {word:?}: 1 to {LABEL_MAX} of letters, digits, '_', '-' and '.'"
            )));
        }
        Ok(Self(canonical_app_type(word)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An image group: the images of one (owner, namespace, name), i.e. the versions (tags)
/// of one image name.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageGroup {
    pub id: GroupId,
    pub owner: ProjectId,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// Number of images (tags) in the group that the caller can see.
    pub version_count: i64,
    /// Earliest creation time among them.
    pub created_at: Millis,
    /// Latest update time among them.
    pub updated_at: Millis,
    pub meta: GroupMeta,
}

/// What a group carries beyond its images (set by UpdateImageGroup).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupMeta {
    pub read_me: Option<String>,
    pub kv_tags: Vec<KvTag>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(categories: Vec<ResourceCategory>, explicit: Option<&str>) -> Image {
        let mut i = Image::blank(ImageId::new_random(), ProjectId::system(), Millis(0));
        i.resource_categories = categories;
        i.accelerator_type = explicit.map(str::to_owned);
        i
    }

    #[test]
    fn accelerator_is_explicit_or_derived() {
        use ResourceCategory::*;
        assert_eq!(with(vec![Cpu, Gpu], None).accelerator(), "gpu");
        assert_eq!(with(vec![Ascend], None).accelerator(), "npu");
        assert_eq!(with(vec![Cpu, Ascend], None).accelerator(), "npu");
        assert_eq!(with(vec![Cpu], None).accelerator(), "cpu");
        assert_eq!(with(vec![], None).accelerator(), "cpu");
        assert_eq!(with(vec![Gpu], Some("DCU")).accelerator(), "dcu");
        assert_eq!(with(vec![Gpu], Some(" ")).accelerator(), "gpu");
    }

    #[test]
    fn labels_are_normalized_when_parsed() {
        assert_eq!(Accelerator::parse(" DCU ").unwrap().as_str(), "dcu");
        assert_eq!(AppType::parse("jupyterlab").unwrap().as_str(), "JupyterLab");
        assert_eq!(AppType::parse("Mine").unwrap().as_str(), "Mine");
        for bad in ["", "a b", "x/y", &"a".repeat(65)] {
            assert!(Accelerator::parse(bad).is_err() && AppType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn app_types_are_canonical() {
        assert_eq!(canonical_app_type("jupyterlab"), "JupyterLab");
        assert_eq!(canonical_app_type("BASE"), "Base");
        assert_eq!(canonical_app_type("MyOwnType"), "MyOwnType");
        assert_eq!(with(vec![], None).app_type(), "Base");
    }
}
