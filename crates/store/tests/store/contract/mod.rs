//! The store contract: every backend must pass these, unchanged. Each test gets a fresh,
//! empty store. Randomized tests compare the store with an in-memory oracle.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use imagehub_catalog::{
    Accelerator, AccessKeyRecord, AccessScope, AppType, Arch, Cmp, ContainerFormat, DevService, DiskFormat, Error,
    Filter, GroupId, GroupMeta, GroupQuery, GroupSortKey, Image, ImageId, ImageKind, ImageQuery, KvTag, Member,
    MemberRule, MemberStatus, Millis, NameMatch, Needle, NumberField, Origin, PageRequest, ProjectId, ResourceCategory,
    Role, ServiceType, SortDir, SortKey, Status, Stores, TimeField, TokenRecord, Visibility,
};
use imagehub_catalog::{ProjectRecord, UserRecord};

/// The stores under test (one of each port).
pub type DynStore = Stores;

pub fn project(n: u8) -> ProjectId {
    ProjectId::parse(&format!("{n:02x}").repeat(16)).unwrap()
}

/// A small deterministic PRNG (xorshift), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A dedicated container image with every attribute set.
pub fn full_image(owner: &ProjectId, ns: &str, name: &str, tag: &str) -> Image {
    let mut i = Image::blank(ImageId::new_random(), owner.clone(), Millis(1_700_000_000_000));
    i.kind = ImageKind::Dedicated;
    i.name = Some(name.into());
    i.namespace = Some(ns.into());
    i.tag = Some(tag.into());
    i.registry_path = Some(format!("swr.example.com/{ns}/{name}:{tag}"));
    i.digest = Some(format!("sha256:{}", "ab".repeat(32)));
    i.arch = Some(Arch::Aarch64);
    i.origin = Some(Origin::ImageSave);
    i.service_type = Some(ServiceType::Train);
    i.dev_services = vec![DevService::Ssh, DevService::Notebook];
    i.resource_categories = vec![ResourceCategory::Ascend, ResourceCategory::Cpu];
    i.accelerator_type = Some("dcu".into());
    i.image_type = Some("JupyterLab".into());
    i.status = Status::Active;
    i.status_message = Some("built".into());
    i.size = Some(123_456_789);
    i.virtual_size = Some(987_654_321);
    i.visibility = Visibility::Private;
    i.protected = true;
    i.os_hidden = true;
    i.container_format = Some(ContainerFormat::Docker);
    i.disk_format = Some(DiskFormat::Raw);
    i.min_ram = 2048;
    i.min_disk = 20;
    i.checksum = Some("d41d8cd98f00b204e9800998ecf8427e".into());
    i.os_hash_algo = Some("sha512".into());
    i.os_hash_value = Some("cf83".into());
    i.tags = BTreeSet::from(["b".to_string(), "a".to_string()]);
    i.kv_tags = vec![KvTag { key: "k".into(), value: "v".into() }, KvTag { key: "e".into(), value: "".into() }];
    i.properties = BTreeMap::from([("__os_bit".to_string(), "64".to_string()), ("x y".into(), "ünïcode".into())]);
    i.description = Some("a \"quoted\" description".into());
    i.flavor_type = Some("ASCEND_SNT9".into());
    i.uploaded_by = Some("alice".into());
    i.updated_at = Millis(1_700_000_000_500);
    i
}

pub async fn insert_get_roundtrip(store: DynStore) {
    let img = full_image(&project(1), "ns", "pytorch", "1.0");
    store.images.insert_image(&img, None).await.unwrap();
    assert_eq!(store.images.get_image(img.id).await.unwrap(), Some(img.clone()));

    let mut sparse = Image::blank(ImageId::new_random(), project(1), Millis(5));
    sparse.name = None;
    store.images.insert_image(&sparse, None).await.unwrap();
    assert_eq!(store.images.get_image(sparse.id).await.unwrap(), Some(sparse));
    assert_eq!(store.images.get_image(ImageId::new_random()).await.unwrap(), None);
}

pub async fn duplicate_registry_key_is_rejected(store: DynStore) {
    let a = full_image(&project(1), "ns", "pytorch", "1.0");
    store.images.insert_image(&a, None).await.unwrap();
    let again = full_image(&project(1), "ns", "pytorch", "1.0");
    assert!(matches!(store.images.insert_image(&again, None).await, Err(Error::Duplicate(_))));
    // Same key in another project, another tag, or among built-in images: allowed.
    store.images.insert_image(&full_image(&project(2), "ns", "pytorch", "1.0"), None).await.unwrap();
    store.images.insert_image(&full_image(&project(1), "ns", "pytorch", "1.1"), None).await.unwrap();
    let mut b1 = full_image(&project(0), "ns", "same", "t");
    b1.kind = ImageKind::BuiltIn;
    let mut b2 = full_image(&project(0), "ns", "same", "t");
    b2.kind = ImageKind::BuiltIn;
    store.images.insert_image(&b1, None).await.unwrap();
    store.images.insert_image(&b2, None).await.unwrap();
    // The same id twice is a duplicate too.
    let mut same_id = full_image(&project(3), "other", "x", "y");
    same_id.id = a.id;
    assert!(matches!(store.images.insert_image(&same_id, None).await, Err(Error::Duplicate(_))));
    // A failed insert leaves nothing behind.
    assert_eq!(store.images.get_image(a.id).await.unwrap(), Some(a));
}

pub async fn insert_if_absent_is_idempotent(store: DynStore) {
    let a = full_image(&project(1), "ns", "n", "t");
    assert!(store.images.insert_image_if_absent(&a).await.unwrap());
    let mut changed = a.clone();
    changed.description = Some("changed".into());
    assert!(!store.images.insert_image_if_absent(&changed).await.unwrap());
    assert_eq!(store.images.get_image(a.id).await.unwrap(), Some(a));
}

pub async fn delete_removes_the_image(store: DynStore) {
    let a = full_image(&project(1), "ns", "n", "t");
    store.images.insert_image(&a, None).await.unwrap();
    assert!(store.images.delete_image(a.id).await.unwrap());
    assert!(!store.images.delete_image(a.id).await.unwrap());
    assert_eq!(store.images.get_image(a.id).await.unwrap(), None);
    // Its registry key is free again.
    store.images.insert_image(&full_image(&project(1), "ns", "n", "t"), None).await.unwrap();
}

pub async fn tokens_and_settings(store: DynStore) {
    let t = TokenRecord {
        hash: "ab".repeat(32),
        project: project(7),
        role: Role::Reader,
        created_at: Millis(9),
        label: Some("ci".into()),
        expires_at: Some(Millis(99)),
        revoked_at: None,
        issued_by: Some("AKEXAMPLE".into()),
        last_used_at: None,
        user: None,
    };
    store.credentials.insert_token(&t).await.unwrap();
    assert_eq!(store.credentials.find_token(&t.hash).await.unwrap(), Some(t.clone()));
    assert_eq!(store.credentials.find_token(&"cd".repeat(32)).await.unwrap(), None);
    assert!(matches!(store.credentials.insert_token(&t).await, Err(Error::Duplicate(_))));
    let other = TokenRecord { hash: "ef".repeat(32), created_at: Millis(10), issued_by: None, ..t.clone() };
    store.credentials.insert_token(&other).await.unwrap();
    let listed = store.credentials.list_tokens().await.unwrap();
    assert_eq!(listed, [t.clone(), other.clone()], "oldest first");
    store.credentials.touch_token(&t.hash, Millis(50)).await.unwrap();
    assert_eq!(store.credentials.find_token(&t.hash).await.unwrap().unwrap().last_used_at, Some(Millis(50)));
    assert!(store.credentials.revoke_token(t.id(), Millis(60)).await.unwrap());
    assert!(!store.credentials.revoke_token(t.id(), Millis(61)).await.unwrap(), "revoked once");
    assert!(!store.credentials.revoke_token("0000000000000000", Millis(61)).await.unwrap(), "unknown id");
    assert_eq!(store.credentials.find_token(&t.hash).await.unwrap().unwrap().revoked_at, Some(Millis(60)));
    assert_eq!(store.credentials.find_token(&other.hash).await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.settings.get_setting("k").await.unwrap(), None);
    store.settings.put_setting("k", "1").await.unwrap();
    store.settings.put_setting("k", "2").await.unwrap();
    assert_eq!(store.settings.get_setting("k").await.unwrap().as_deref(), Some("2"));
}

pub async fn identity_lifecycle(store: DynStore) {
    let id = &store.identity;
    let p = ProjectRecord { id: project(1), name: "alpha".into(), domain: "Default".into(), created_at: Millis(1) };
    let q = ProjectRecord { id: project(2), name: "beta".into(), domain: "Default".into(), created_at: Millis(2) };
    id.insert_project(&p).await.unwrap();
    id.insert_project(&q).await.unwrap();
    let same_name = ProjectRecord { id: project(3), ..p.clone() };
    assert!(matches!(id.insert_project(&same_name).await, Err(Error::Duplicate(_))), "a name is one per domain");
    let elsewhere = ProjectRecord { id: project(3), domain: "Other".into(), ..p.clone() };
    id.insert_project(&elsewhere).await.unwrap();
    assert_eq!(id.get_project(&project(1)).await.unwrap(), Some(p.clone()));
    assert_eq!(id.find_project("Other", "alpha").await.unwrap(), Some(elsewhere.clone()));
    assert_eq!(id.find_project("Default", "gamma").await.unwrap(), None);
    assert_eq!(id.list_projects().await.unwrap(), [p.clone(), q.clone(), elsewhere]);

    let u = UserRecord {
        id: "ab".repeat(16),
        name: "alice".into(),
        domain: "Default".into(),
        password_hash: "$argon2id$x".into(),
        enabled: true,
        default_project: Some(project(1)),
        created_at: Millis(5),
    };
    id.insert_user(&u, Some(Role::Member)).await.unwrap();
    let twin = UserRecord { id: "cd".repeat(16), ..u.clone() };
    assert!(matches!(id.insert_user(&twin, Some(Role::Member)).await, Err(Error::Duplicate(_))));
    assert_eq!(id.get_user(&twin.id).await.unwrap(), None, "nothing of a refused user stands");
    assert_eq!(id.find_user("Default", "alice").await.unwrap(), Some(u.clone()));
    assert_eq!(id.role_of(&u.id, &project(1)).await.unwrap(), Some(Role::Member));
    assert_eq!(id.role_of(&u.id, &project(2)).await.unwrap(), None);
    id.put_role(&u.id, &project(2), Role::Reader).await.unwrap();
    id.put_role(&u.id, &project(2), Role::Admin).await.unwrap();
    assert_eq!(id.role_of(&u.id, &project(2)).await.unwrap(), Some(Role::Admin), "one role per project");
    assert_eq!(
        id.list_roles().await.unwrap(),
        [(u.id.clone(), project(1), Role::Member), (u.id.clone(), project(2), Role::Admin)]
    );
    let changed =
        UserRecord { enabled: false, password_hash: "$argon2id$y".into(), default_project: None, ..u.clone() };
    id.update_user(&changed).await.unwrap();
    assert_eq!(id.get_user(&u.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(id.list_users().await.unwrap(), [changed]);
    assert!(id.delete_role(&u.id, &project(2)).await.unwrap());
    assert!(!id.delete_role(&u.id, &project(2)).await.unwrap());

    let token = |hash: &str, project: ProjectId, user: Option<&str>| TokenRecord {
        hash: hash.repeat(32),
        project,
        role: Role::Member,
        created_at: Millis(9),
        label: None,
        expires_at: None,
        revoked_at: None,
        issued_by: None,
        last_used_at: None,
        user: user.map(str::to_owned),
    };
    for t in [token("01", project(1), Some(&u.id)), token("02", project(2), Some(&u.id)), token("03", project(1), None)]
    {
        store.credentials.insert_token(&t).await.unwrap();
    }
    let found = store.credentials.find_token(&"01".repeat(32)).await.unwrap().unwrap();
    assert_eq!(found.user.as_deref(), Some(u.id.as_str()));
    assert_eq!(store.credentials.revoke_user_tokens(&u.id, Some(&project(2)), Millis(20)).await.unwrap(), 1);
    assert_eq!(store.credentials.revoke_user_tokens(&u.id, None, Millis(21)).await.unwrap(), 1);
    assert_eq!(store.credentials.revoke_user_tokens(&u.id, None, Millis(22)).await.unwrap(), 0);
    let revoked = |h: &str| {
        let c = store.credentials.clone();
        let h = h.repeat(32);
        async move { c.find_token(&h).await.unwrap().unwrap().revoked_at }
    };
    assert_eq!(revoked("01").await, Some(Millis(21)));
    assert_eq!(revoked("02").await, Some(Millis(20)));
    assert_eq!(revoked("03").await, None, "another's token stays");

    assert!(id.delete_user(&u.id).await.unwrap());
    assert!(!id.delete_user(&u.id).await.unwrap());
    assert_eq!(id.role_of(&u.id, &project(1)).await.unwrap(), None, "its roles went with it");
}

// ---- the oracle ---------------------------------------------------------------------

fn number_of(i: &Image, f: NumberField) -> Option<i64> {
    match f {
        NumberField::Size => i.size,
        NumberField::VirtualSize => i.virtual_size,
        NumberField::MinRam => Some(i.min_ram),
        NumberField::MinDisk => Some(i.min_disk),
    }
}

fn matches(f: &Filter, i: &Image, members: &[Member]) -> bool {
    match f {
        Filter::Kind(k) => i.kind == *k,
        Filter::Name(NameMatch::AnyOf(names)) => i.name.as_ref().is_some_and(|n| names.contains(n)),
        Filter::Name(NameMatch::Contains(n)) => {
            i.name.as_deref().is_some_and(|name| name.to_ascii_lowercase().contains(n.as_str()))
        }
        Filter::Namespace(n) => i.namespace.as_deref() == Some(n),
        Filter::ServiceType(s) => i.service_type == Some(*s),
        Filter::Workspace(w) => i.workspace_id == *w,
        Filter::Arch(a) => i.arch == Some(*a),
        Filter::ContainerFormat(cs) => i.container_format.is_some_and(|c| cs.contains(&c)),
        Filter::DiskFormat(ds) => i.disk_format.is_some_and(|d| ds.contains(&d)),
        Filter::Status(ss) => ss.contains(&i.status),
        Filter::Id(ids) => ids.contains(&i.id),
        Filter::Checksum(c) => i.checksum.as_ref() == Some(c),
        Filter::OsHashValue(h) => i.os_hash_value.as_ref() == Some(h),
        Filter::Owner(p) => i.owner == *p,
        Filter::Group(g) => i.group_id() == *g,
        Filter::Accelerator(a) => i.accelerator() == a.as_str(),
        Filter::AppType(t) => i.app_type() == t.as_str(),
        Filter::Visibility(v) => v.contains(&i.visibility),
        Filter::Version(t) => format!("{}:{}", i.name.as_deref().unwrap_or(""), i.tag.as_deref().unwrap_or(""))
            .to_ascii_lowercase()
            .contains(t.as_str()),
        Filter::Number(field, cmp, v) => number_of(i, *field).is_some_and(|n| cmp.holds(n, *v)),
        Filter::Time(TimeField::CreatedAt, cmp, t) => cmp.holds(i.created_at, *t),
        Filter::Time(TimeField::UpdatedAt, cmp, t) => cmp.holds(i.updated_at, *t),
        Filter::Protected(b) => i.protected == *b,
        Filter::Hidden(b) => i.os_hidden == *b,
        Filter::Tag(t) => i.tags.contains(t),
        Filter::Property(k, v) => i.properties.get(k) == Some(v),
        Filter::MemberOf(p) => members.iter().any(|m| m.image_id == i.id && m.member == *p),
        Filter::Any(fs) => fs.iter().any(|f| matches(f, i, members)),
    }
}

/// The viewer's membership status for an image.
fn membership(access: &AccessScope, i: &Image, members: &[Member]) -> Option<MemberStatus> {
    members.iter().find(|m| m.image_id == i.id && m.member == *access.viewer()).map(|m| m.status)
}

fn key_cmp(a: &Image, b: &Image, key: SortKey) -> Ordering {
    // None < Some: NULL is the smallest value.
    match key {
        SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
        SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Tag => a.tag.cmp(&b.tag),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Status => a.status.as_str().cmp(b.status.as_str()),
        SortKey::ContainerFormat => a.container_format.map(|c| c.as_str()).cmp(&b.container_format.map(|c| c.as_str())),
        SortKey::DiskFormat => a.disk_format.map(|c| c.as_str()).cmp(&b.disk_format.map(|c| c.as_str())),
        SortKey::Id => a.id.to_string().cmp(&b.id.to_string()),
    }
}

fn apply_dir(o: Ordering, d: SortDir) -> Ordering {
    if d == SortDir::Desc { o.reverse() } else { o }
}

pub fn oracle(all: &[Image], members: &[Member], access: &AccessScope, q: &ImageQuery) -> Vec<Image> {
    let sort = q.effective_sort();
    let last = sort.last().unwrap().1;
    let mut rows: Vec<Image> = all
        .iter()
        .filter(|i| {
            access.admits(i, membership(access, i, members)) && q.filters.iter().all(|f| matches(f, i, members))
        })
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        sort.iter()
            .map(|&(k, d)| apply_dir(key_cmp(a, b, k), d))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| apply_dir(a.id.to_string().cmp(&b.id.to_string()), last))
    });
    rows
}

const NAMES: &[&str] = &["pytorch", "PyTorch_2", "tensorflow", "mind_spore", "a%b", "jupyter"];
const TAGS: &[&str] = &["1.0", "1.1", "2.0", "latest"];

/// A random catalog: 6 projects (0 = system), every visibility and kind, NULLs in sortable columns.
pub fn random_catalog(rng: &mut Rng, n: usize) -> Vec<Image> {
    (0..n)
        .map(|k| {
            let owner = project(rng.below(6) as u8);
            let mut i = Image::blank(ImageId::new_random(), owner, Millis(1_000 + rng.below(40) as i64));
            i.updated_at = Millis(i.created_at.0 + rng.below(5) as i64);
            i.kind = if rng.below(4) == 0 { ImageKind::BuiltIn } else { ImageKind::Dedicated };
            i.visibility = *rng.pick(Visibility::ALL);
            i.name = (rng.below(8) != 0).then(|| rng.pick(NAMES).to_string());
            i.namespace = Some(rng.pick(&["ns1", "ns2"]).to_string());
            // Unique tags keep the dedicated registry key unique.
            i.tag = (rng.below(8) != 0).then(|| format!("{}-{k}", rng.pick(TAGS)));
            i.size = (rng.below(3) != 0).then(|| rng.below(5) as i64);
            i.service_type = (rng.below(2) == 0).then(|| *rng.pick(ServiceType::ALL));
            i.arch = Some(*rng.pick(Arch::ALL));
            i.workspace_id = rng.pick(&["0", "0", "ws1"]).to_string();
            i.container_format =
                Some(*rng.pick(&[ContainerFormat::Docker, ContainerFormat::Docker, ContainerFormat::Bare]));
            for t in ["a", "b", "c"] {
                if rng.below(3) == 0 {
                    i.tags.insert(t.to_owned());
                }
            }
            if rng.below(3) == 0 {
                i.properties.insert("os_distro".into(), rng.pick(&["ubuntu", "centos"]).to_string());
            }
            i.protected = rng.below(4) == 0;
            i.os_hidden = rng.below(5) == 0;
            i
        })
        .collect()
}

/// Random memberships for the shared images (and a few on non-shared ones, which must not count).
pub fn random_members(rng: &mut Rng, all: &[Image]) -> Vec<Member> {
    let mut out = Vec::new();
    for i in all {
        for p in 0..6u8 {
            if project(p) != i.owner && rng.below(3) == 0 {
                out.push(Member {
                    image_id: i.id,
                    member: project(p),
                    status: *rng.pick(MemberStatus::ALL),
                    created_at: Millis(1),
                    updated_at: Millis(1),
                });
            }
        }
    }
    out
}

/// Inserts a random catalog with its members.
pub async fn load(store: &DynStore, all: &[Image], members: &[Member]) {
    for i in all {
        store.images.insert_image(i, None).await.unwrap();
    }
    for m in members {
        store.images.add_member(m).await.unwrap();
    }
}

pub fn random_filters(rng: &mut Rng, all: &[Image]) -> Vec<Filter> {
    let mut f = Vec::new();
    if rng.below(3) == 0 {
        f.push(Filter::Kind(*rng.pick(ImageKind::ALL)));
    }
    if rng.below(3) == 0 {
        let n = rng.pick(NAMES).to_string();
        f.push(Filter::Name(if rng.below(2) == 0 {
            NameMatch::AnyOf(vec![n])
        } else {
            NameMatch::Contains(Needle::new(&n[..n.len().min(3)]))
        }));
    }
    if rng.below(4) == 0 {
        f.push(Filter::Namespace("ns1".into()));
    }
    if rng.below(4) == 0 {
        f.push(Filter::ServiceType(*rng.pick(ServiceType::ALL)));
    }
    if rng.below(3) == 0 {
        f.push(Filter::Workspace("0".into()));
    }
    if rng.below(4) == 0 {
        f.push(Filter::Arch(*rng.pick(Arch::ALL)));
    }
    if rng.below(2) == 0 {
        f.push(Filter::ContainerFormat(vec![ContainerFormat::Docker]));
    }
    if rng.below(5) == 0 {
        f.push(Filter::Owner(project(rng.below(6) as u8)));
    }
    if rng.below(6) == 0 && !all.is_empty() {
        f.push(Filter::Group(rng.pick(all).group_id()));
    }
    if rng.below(4) == 0 {
        f.push(Filter::Accelerator(Accelerator::parse(rng.pick::<&str>(&["gpu", "NPU", "cpu", "dcu"])).unwrap()));
    }
    if rng.below(4) == 0 {
        f.push(Filter::AppType(AppType::parse(rng.pick::<&str>(&["base", "JupyterLab", "rstudio"])).unwrap()));
    }
    if rng.below(4) == 0 {
        let v: Vec<Visibility> = Visibility::ALL.iter().copied().filter(|_| rng.below(2) == 0).collect();
        if !v.is_empty() {
            f.push(Filter::Visibility(v));
        }
    }
    if rng.below(5) == 0 {
        f.push(Filter::Version(Needle::new(rng.pick::<&str>(&["torch:1", "ch_2:L", ":late", "a%b", "jupyter"]))));
    }
    if rng.below(5) == 0 && !all.is_empty() {
        // One or two values of a word column, or names or ids, taken from the catalog.
        let n = 1 + rng.below(2) as usize;
        let some: Vec<&Image> = (0..n).map(|_| rng.pick(all)).collect();
        f.push(match rng.below(4) {
            0 => Filter::Status(some.iter().map(|i| i.status).collect()),
            1 => Filter::DiskFormat(some.iter().filter_map(|i| i.disk_format).collect()),
            2 => Filter::Name(NameMatch::AnyOf(some.iter().filter_map(|i| i.name.clone()).collect())),
            _ => Filter::Id(some.iter().map(|i| i.id).collect()),
        });
    }
    if rng.below(5) == 0 {
        let field = *rng.pick(&[NumberField::Size, NumberField::MinRam]);
        let cmp = *rng.pick(&[Cmp::Eq, Cmp::Gte, Cmp::Lte, Cmp::Neq]);
        f.push(Filter::Number(field, cmp, rng.below(3) as i64 * if field == NumberField::MinRam { 512 } else { 1 }));
    }
    if rng.below(5) == 0 {
        let cmp = *rng.pick(&[Cmp::Eq, Cmp::Neq, Cmp::Gt, Cmp::Gte, Cmp::Lt, Cmp::Lte]);
        let field = *rng.pick(&[TimeField::CreatedAt, TimeField::UpdatedAt]);
        f.push(Filter::Time(field, cmp, Millis(1_000 + rng.below(40) as i64)));
    }
    if rng.below(6) == 0 {
        f.push(Filter::Protected(rng.below(2) == 0));
    }
    if rng.below(4) == 0 {
        f.push(Filter::Hidden(rng.below(3) == 0));
    }
    if rng.below(4) == 0 {
        f.push(Filter::Tag(rng.pick(&["a", "b", "c"]).to_string()));
    }
    if rng.below(5) == 0 {
        let (k, v) = *rng.pick(&[("os_distro", "ubuntu"), ("os_distro", "centos"), ("__os_bit", "64")]);
        f.push(Filter::Property(k.into(), v.into()));
    }
    if rng.below(8) == 0 {
        f.push(Filter::MemberOf(project(rng.below(6) as u8)));
    }
    if rng.below(5) == 0 {
        let t = 1_000 + rng.below(40) as i64;
        f.push(Filter::Any(vec![
            Filter::Time(TimeField::CreatedAt, Cmp::Lt, Millis(t)),
            Filter::Tag("a".into()),
            Filter::Hidden(true),
        ]));
    }
    f
}

pub fn random_sort(rng: &mut Rng) -> Vec<(SortKey, SortDir)> {
    let keys = [
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
        SortKey::Name,
        SortKey::Tag,
        SortKey::Size,
        SortKey::Status,
        SortKey::DiskFormat,
        SortKey::ContainerFormat,
        SortKey::Id,
    ];
    let dir = if rng.below(2) == 0 { SortDir::Asc } else { SortDir::Desc };
    (0..rng.below(3)).map(|_| (*rng.pick(&keys), dir)).collect()
}

pub fn random_access(rng: &mut Rng) -> AccessScope {
    let viewer = project(rng.below(6) as u8);
    let admin = rng.below(4) == 0;
    let members = if rng.below(3) == 0 { MemberRule::Any } else { MemberRule::Status(*rng.pick(MemberStatus::ALL)) };
    AccessScope::for_tests(viewer, admin, members, rng.below(2) == 0)
}

fn ids(v: &[impl std::borrow::Borrow<Image>]) -> Vec<String> {
    v.iter().map(|i| (i.borrow().id, &i.borrow().name)).map(|(id, name)| format!("{id} {name:?}")).collect()
}

/// Offset pages and totals equal the oracle for random filters, sorts and scopes.
pub async fn list_matches_oracle(store: DynStore) {
    let mut rng = Rng::new(42);
    let all = random_catalog(&mut rng, 150);
    let members = random_members(&mut rng, &all);
    load(&store, &all, &members).await;
    for round in 0..150 {
        let access = random_access(&mut rng);
        let limit = 1 + rng.below(30);
        let offset = rng.below(60);
        let q = ImageQuery {
            filters: random_filters(&mut rng, &all),
            sort: random_sort(&mut rng),
            page: PageRequest::Offset { offset, limit },
            with_total: true,
        };
        let expected = oracle(&all, &members, &access, &q);
        let page = store.images.list_images(&access, &q).await.unwrap();
        let want: Vec<Image> = expected.iter().skip(offset as usize).take(limit as usize).cloned().collect();
        assert_eq!(ids(&page.items), ids(&want), "round {round}: {access:?} {q:?}");
        assert_eq!(page.total, Some(expected.len() as u64), "round {round}: total");
        assert_eq!(page.has_more, expected.len() as u64 > offset + limit, "round {round}: has_more");
    }
}

/// Walking marker pages visits exactly the oracle's order, for every sort (NULLs included).
pub async fn keyset_paging_matches_oracle(store: DynStore) {
    let mut rng = Rng::new(7);
    let all = random_catalog(&mut rng, 120);
    let members = random_members(&mut rng, &all);
    load(&store, &all, &members).await;
    for round in 0..40 {
        let access = random_access(&mut rng);
        let filters = random_filters(&mut rng, &all);
        let sort = random_sort(&mut rng);
        let limit = 1 + rng.below(15);
        let base = ImageQuery { filters, sort, page: PageRequest::Offset { offset: 0, limit }, with_total: false };
        let expected = oracle(&all, &members, &access, &base);
        let mut walked: Vec<Image> = Vec::new();
        let mut q = base.clone();
        loop {
            let page = store.images.list_images(&access, &q).await.unwrap();
            walked.extend(page.items.iter().map(|i| Image::clone(i)));
            if !page.has_more {
                break;
            }
            let marker = page.items.last().unwrap().id;
            q.page = PageRequest::After { marker, limit };
            assert!(walked.len() <= expected.len(), "round {round}: paging does not end");
        }
        assert_eq!(ids(&walked), ids(&expected), "round {round}: {access:?} {base:?}");
    }
}

pub async fn unknown_marker_is_invalid(store: DynStore) {
    let q = ImageQuery {
        filters: vec![],
        sort: vec![],
        page: PageRequest::After { marker: ImageId::new_random(), limit: 10 },
        with_total: false,
    };
    assert!(matches!(store.images.list_images(&AccessScope::everything(), &q).await, Err(Error::InvalidArgument(_))));
}

/// Groups: one per (owner, namespace, name) among admitted images, with count/min/max.
pub async fn groups_match_oracle(store: DynStore) {
    let mut rng = Rng::new(99);
    let all = random_catalog(&mut rng, 150);
    let members = random_members(&mut rng, &all);
    load(&store, &all, &members).await;
    for round in 0..60 {
        let access = random_access(&mut rng);
        let filters = random_filters(&mut rng, &all);
        let q = GroupQuery {
            filters: filters.clone(),
            sort: vec![(GroupSortKey::VersionCount, SortDir::Desc), (GroupSortKey::CreatedAt, SortDir::Asc)],
            offset: 0,
            limit: 1000,
        };
        let page = store.images.list_groups(&access, &q).await.unwrap();
        let mut expected: BTreeMap<GroupId, (i64, i64, i64)> = BTreeMap::new();
        for i in all.iter().filter(|i| {
            access.admits(i, membership(&access, i, &members)) && filters.iter().all(|f| matches(f, i, &members))
        }) {
            let e = expected.entry(i.group_id()).or_insert((0, i64::MAX, i64::MIN));
            e.0 += 1;
            e.1 = e.1.min(i.created_at.0);
            e.2 = e.2.max(i.updated_at.0);
        }
        assert_eq!(page.total, Some(expected.len() as u64), "round {round}");
        assert_eq!(page.items.len(), expected.len(), "round {round}");
        for g in &page.items {
            let (n, c, u) = expected[&g.id];
            assert_eq!((g.version_count, g.created_at.0, g.updated_at.0), (n, c, u), "round {round}: {g:?}");
            let member = all.iter().find(|i| i.group_id() == g.id).unwrap();
            assert_eq!((&g.owner, &g.namespace, &g.name), (&member.owner, &member.namespace, &member.name));
        }
        for w in page.items.windows(2) {
            let ord = w[1].version_count.cmp(&w[0].version_count).then(w[0].created_at.cmp(&w[1].created_at));
            assert!(ord.is_le(), "round {round}: groups out of order");
        }
    }
}

pub async fn group_paging_and_meta(store: DynStore) {
    let p = project(1);
    for (name, tags) in [("a", 3), ("b", 1), ("c", 2)] {
        for t in 0..tags {
            let mut i = full_image(&p, "ns", name, &format!("t{t}"));
            i.created_at = Millis(100 + t);
            i.updated_at = Millis(200 + t);
            store.images.insert_image(&i, (t == 0).then_some("read me")).await.unwrap();
        }
    }
    let access = AccessScope::project(p.clone());
    let q =
        |offset, limit| GroupQuery { filters: vec![], sort: vec![(GroupSortKey::Name, SortDir::Asc)], offset, limit };
    let first = store.images.list_groups(&access, &q(0, 2)).await.unwrap();
    assert_eq!(first.items.iter().map(|g| g.name.clone().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(first.has_more);
    assert_eq!(first.total, Some(3));
    assert_eq!(first.items[0].version_count, 3);
    assert_eq!(first.items[0].meta.read_me.as_deref(), Some("read me"));
    let second = store.images.list_groups(&access, &q(2, 2)).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(!second.has_more);

    let gid = GroupId::derive(&p, Some("ns"), Some("c"));
    let meta = GroupMeta { read_me: Some("new".into()), kv_tags: vec![KvTag { key: "a".into(), value: "b".into() }] };
    store.images.put_group_meta(gid, &meta).await.unwrap();
    let g = store.images.get_group(&access, gid, &[]).await.unwrap().unwrap();
    assert_eq!((g.version_count, g.meta), (2, meta));
    // Another project does not see a private group.
    assert_eq!(store.images.get_group(&AccessScope::project(project(2)), gid, &[]).await.unwrap(), None);
    assert_eq!(store.images.delete_group(gid, &[]).await.unwrap(), 2);
    assert_eq!(store.images.get_group(&access, gid, &[]).await.unwrap(), None);
    assert_eq!(store.images.list_groups(&access, &q(0, 10)).await.unwrap().total, Some(2));
    // A delete that its filters leave images of keeps the group's metadata for them.
    let a = GroupId::derive(&p, Some("ns"), Some("a"));
    let newer = [Filter::Time(TimeField::CreatedAt, Cmp::Gte, Millis(101))];
    assert_eq!(store.images.delete_group(a, &newer).await.unwrap(), 2);
    let g = store.images.get_group(&access, a, &[]).await.unwrap().unwrap();
    assert_eq!((g.version_count, g.meta.read_me.as_deref()), (1, Some("read me")));
}

/// A bulk insert equals one insert per image (records and index rows), and is all or nothing.
pub async fn bulk_insert_matches_single_inserts(store: DynStore) {
    let mut rng = Rng::new(5);
    let mut all = random_catalog(&mut rng, 1000);
    // Characters a bulk path must carry through unchanged (COPY's text format escapes them).
    let awkward = ["tab\there", "line\nbreak", "back\\slash", "\\N", "crlf\r\n", "镜像 🚀", ""];
    for (n, text) in awkward.iter().enumerate() {
        let image = &mut all[n];
        image.description = Some((*text).to_owned());
        image.status_message = Some(format!("{text}|{text}"));
        image.tags.insert((*text).to_owned());
        image.properties.insert(format!("k{text}"), (*text).to_owned());
    }
    store.images.insert_images(&all).await.unwrap();
    for i in all.iter().step_by(37).chain(&all[..awkward.len()]) {
        assert_eq!(store.images.get_image(i.id).await.unwrap().as_ref(), Some(i));
    }
    let everything = AccessScope::everything();
    for text in awkward {
        let q = ImageQuery {
            filters: vec![Filter::Tag(text.to_owned())],
            sort: vec![],
            page: PageRequest::Offset { offset: 0, limit: 10 },
            with_total: true,
        };
        assert!(store.images.list_images(&everything, &q).await.unwrap().total >= Some(1), "tag {text:?}");
    }
    let q = |f: Filter| ImageQuery {
        filters: vec![f],
        sort: vec![],
        page: PageRequest::Offset { offset: 0, limit: 10 },
        with_total: true,
    };
    let tagged = all.iter().filter(|i| i.tags.contains("a")).count() as u64;
    assert_eq!(store.images.list_images(&everything, &q(Filter::Tag("a".into()))).await.unwrap().total, Some(tagged));
    let ubuntu = all.iter().filter(|i| i.properties.get("os_distro").is_some_and(|v| v == "ubuntu")).count() as u64;
    assert_eq!(
        store
            .images
            .list_images(&everything, &q(Filter::Property("os_distro".into(), "ubuntu".into())))
            .await
            .unwrap()
            .total,
        Some(ubuntu)
    );
    // A batch with one duplicate id inserts nothing.
    let mut batch = random_catalog(&mut rng, 10);
    batch[7].id = all[0].id;
    assert!(store.images.insert_images(&batch).await.is_err());
    assert_eq!(store.images.get_image(batch[0].id).await.unwrap(), None);
}

/// The images of `images` in batches of 97, as a bulk load takes them.
pub fn batches(images: &[Image]) -> std::vec::IntoIter<Vec<Image>> {
    images.chunks(97).map(<[Image]>::to_vec).collect::<Vec<_>>().into_iter()
}

/// A bulk load is all or nothing, into an empty catalog and into one that has images;
/// loaded images then answer like inserted ones, and the indexes a load may rebuild are
/// back.
pub async fn bulk_load_is_all_or_nothing(store: DynStore) {
    let mut rng = Rng::new(23);
    let everything = AccessScope::everything();
    let count = |filters: Vec<Filter>| ImageQuery {
        filters,
        sort: vec![],
        page: PageRequest::Offset { offset: 0, limit: 1 },
        with_total: true,
    };
    let all = random_catalog(&mut rng, 500);
    let keyed = all.iter().position(|i| i.kind == ImageKind::Dedicated && i.name.is_some() && i.tag.is_some()).unwrap();
    // A registry key twice among the loaded images: found when the unique index is built.
    let mut clash = all.clone();
    clash.push(Image { id: ImageId::new_random(), ..all[keyed].clone() });
    assert!(matches!(store.images.load_images(&mut batches(&clash)).await, Err(Error::Duplicate(_))));
    assert_eq!(store.images.list_images(&everything, &count(vec![])).await.unwrap().total, Some(0));

    assert_eq!(store.images.load_images(&mut batches(&all)).await.unwrap(), 500);
    assert_eq!(store.images.list_images(&everything, &count(vec![])).await.unwrap().total, Some(500));
    for i in all.iter().step_by(13) {
        assert_eq!(store.images.get_image(i.id).await.unwrap().as_ref(), Some(i));
    }
    let tagged = all.iter().filter(|i| i.tags.contains("b")).count() as u64;
    assert_eq!(
        store.images.list_images(&everything, &count(vec![Filter::Tag("b".into())])).await.unwrap().total,
        Some(tagged)
    );
    // The unique index is back: the same registry key is refused at once.
    let twin = Image { id: ImageId::new_random(), ..all[keyed].clone() };
    assert!(matches!(store.images.insert_image(&twin, None).await, Err(Error::Duplicate(_))));

    // Into a catalog that has images: an id already there fails the whole load.
    let mut more = random_catalog(&mut rng, 200);
    for i in &mut more {
        i.tag = i.tag.take().map(|t| format!("{t}-more"));
    }
    let mut bad = more.clone();
    bad[150].id = all[0].id;
    assert!(store.images.load_images(&mut batches(&bad)).await.is_err());
    assert_eq!(store.images.get_image(more[0].id).await.unwrap(), None);
    assert_eq!(store.images.load_images(&mut batches(&more)).await.unwrap(), 200);
    assert_eq!(store.images.list_images(&everything, &count(vec![])).await.unwrap().total, Some(700));
}

/// `images_after` walks every image once, by id, from any id (also one deleted meanwhile).
pub async fn images_after_walks_every_image_by_id(store: DynStore) {
    let mut rng = Rng::new(11);
    let all = random_catalog(&mut rng, 120);
    store.images.insert_images(&all).await.unwrap();
    let mut ids: Vec<ImageId> = all.iter().map(|i| i.id).collect();
    ids.sort();
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.images.images_after(after, 7).await.unwrap();
        walked.extend(page.iter().map(|i| i.id));
        match page.last() {
            Some(last) if page.len() == 7 => after = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(walked, ids);
    store.images.delete_image(ids[50]).await.unwrap();
    let rest: Vec<ImageId> =
        store.images.images_after(Some(ids[50]), 1000).await.unwrap().iter().map(|i| i.id).collect();
    assert_eq!(rest, ids[51..].to_vec());
}

/// A conditional write takes only while the record is as the writer read it (its status
/// and `updated_at`): of two changes made from one read, the second changes nothing.
pub async fn update_if_keeps_a_racing_change(store: DynStore) {
    let mut img = full_image(&project(1), "ns", "n", "t");
    img.status = Status::Queued;
    store.images.insert_image(&img, None).await.unwrap();
    let mut saving = img.clone();
    saving.status = Status::Saving;
    saving.size = Some(42);
    saving.updated_at = Millis(img.updated_at.0 + 1);
    assert!(store.images.update_image_if(&saving, &img).await.unwrap());
    assert_eq!(store.images.get_image(img.id).await.unwrap(), Some(saving.clone()));
    let mut renamed = img.clone();
    renamed.name = Some("from a stale read".into());
    renamed.updated_at = Millis(img.updated_at.0 + 1);
    assert!(!store.images.update_image_if(&renamed, &img).await.unwrap(), "the record moved on");
    assert_eq!(store.images.get_image(img.id).await.unwrap(), Some(saving.clone()), "left as it was");
    let mut same_status = saving.clone();
    same_status.name = Some("read at another time".into());
    let stale = Image { updated_at: Millis(saving.updated_at.0 - 1), ..saving.clone() };
    assert!(!store.images.update_image_if(&same_status, &stale).await.unwrap(), "same status, older read");
    let all = AccessScope::everything();
    let saving_ones = ImageQuery {
        filters: vec![Filter::Status(vec![Status::Saving])],
        sort: vec![],
        page: PageRequest::Offset { offset: 0, limit: 10 },
        with_total: true,
    };
    assert_eq!(store.images.list_images(&all, &saving_ones).await.unwrap().total, Some(1), "lists follow the write");
    let gone = Image::blank(ImageId::new_random(), project(1), Millis(1));
    assert!(!store.images.update_image_if(&gone, &gone).await.unwrap());
}

/// The bytes a project's images hold: the sum of their sizes, its own only.
pub async fn storage_used_sums_a_projects_sizes(store: DynStore) {
    assert_eq!(store.images.storage_used(&project(1)).await.unwrap(), 0);
    for (n, size, data) in [
        (1u8, Some(1000), Status::Active),
        (1, Some(2 << 40), Status::Uploading),
        (1, None, Status::Queued),
        (1, Some(i64::MAX), Status::Active),
        (2, Some(7), Status::Active),
    ] {
        let mut img = full_image(&project(n), "ns", &format!("n{n}-{}", size.unwrap_or(0)), "t");
        img.size = size;
        img.status = data;
        // Only what the server measured counts: the last active one states a size, no data.
        img.checksum = (data == Status::Active && size != Some(i64::MAX)).then(|| "0".repeat(32));
        store.images.insert_image(&img, None).await.unwrap();
    }
    assert_eq!(store.images.storage_used(&project(1)).await.unwrap(), 1000 + (2 << 40));
    assert_eq!(store.images.storage_used(&project(2)).await.unwrap(), 7);
}

/// A replaced record reads back whole, and its tags and properties are re-indexed.
pub async fn update_replaces_record_and_index_rows(store: DynStore) {
    let mut img = full_image(&project(1), "ns", "n", "t");
    store.images.insert_image(&img, None).await.unwrap();
    let by_tag = |t: &str| ImageQuery {
        filters: vec![Filter::Tag(t.into())],
        sort: vec![],
        page: PageRequest::Offset { offset: 0, limit: 10 },
        with_total: true,
    };
    let all = AccessScope::everything();
    assert_eq!(store.images.list_images(&all, &by_tag("a")).await.unwrap().total, Some(1));
    img.name = Some("renamed".into());
    img.tags = BTreeSet::from(["z".to_string()]);
    img.properties = BTreeMap::from([("k".to_string(), "v2".to_string())]);
    img.status = Status::Deactivated;
    img.size = None;
    store.images.update_image(&img).await.unwrap();
    assert_eq!(store.images.get_image(img.id).await.unwrap(), Some(img.clone()));
    assert_eq!(store.images.list_images(&all, &by_tag("a")).await.unwrap().total, Some(0));
    assert_eq!(store.images.list_images(&all, &by_tag("z")).await.unwrap().total, Some(1));
    let by_prop = ImageQuery { filters: vec![Filter::Property("k".into(), "v2".into())], ..by_tag("z") };
    assert_eq!(store.images.list_images(&all, &by_prop).await.unwrap().total, Some(1));
    let gone = Image::blank(ImageId::new_random(), project(1), Millis(1));
    assert!(matches!(store.images.update_image(&gone).await, Err(Error::NotFound(_))));
    // Deleting the image removes its index rows and members.
    store
        .images
        .add_member(&Member {
            image_id: img.id,
            member: project(2),
            status: MemberStatus::Pending,
            created_at: Millis(1),
            updated_at: Millis(1),
        })
        .await
        .unwrap();
    assert!(store.images.delete_image(img.id).await.unwrap());
    assert_eq!(store.images.list_images(&all, &by_tag("z")).await.unwrap().total, Some(0));
    assert_eq!(store.images.list_members(img.id).await.unwrap(), vec![]);
}

pub async fn members_lifecycle(store: DynStore) {
    let mut img = full_image(&project(1), "ns", "n", "t");
    img.visibility = Visibility::Shared;
    store.images.insert_image(&img, None).await.unwrap();
    let m = |p: u8, status, t| Member {
        image_id: img.id,
        member: project(p),
        status,
        created_at: Millis(t),
        updated_at: Millis(t),
    };
    store.images.add_member(&m(2, MemberStatus::Pending, 10)).await.unwrap();
    store.images.add_member(&m(3, MemberStatus::Pending, 20)).await.unwrap();
    assert!(matches!(store.images.add_member(&m(2, MemberStatus::Pending, 30)).await, Err(Error::Duplicate(_))));
    assert_eq!(store.images.get_member(img.id, &project(2)).await.unwrap(), Some(m(2, MemberStatus::Pending, 10)));
    assert_eq!(store.images.get_member(img.id, &project(4)).await.unwrap(), None);
    let mut accepted = m(2, MemberStatus::Accepted, 10);
    accepted.updated_at = Millis(50);
    store.images.update_member(&accepted).await.unwrap();
    assert_eq!(store.images.list_members(img.id).await.unwrap(), vec![accepted, m(3, MemberStatus::Pending, 20)]);
    assert!(matches!(store.images.update_member(&m(5, MemberStatus::Accepted, 1)).await, Err(Error::NotFound(_))));
    // Project 2 lists it by default now; project 3 (pending) does not.
    let q = ImageQuery {
        filters: vec![],
        sort: vec![],
        page: PageRequest::Offset { offset: 0, limit: 10 },
        with_total: true,
    };
    assert_eq!(store.images.list_images(&AccessScope::project(project(2)), &q).await.unwrap().total, Some(1));
    assert_eq!(store.images.list_images(&AccessScope::project(project(3)), &q).await.unwrap().total, Some(0));
    assert!(store.images.delete_member(img.id, &project(2)).await.unwrap());
    assert!(!store.images.delete_member(img.id, &project(2)).await.unwrap());
    assert_eq!(store.images.list_images(&AccessScope::project(project(2)), &q).await.unwrap().total, Some(0));
}

pub async fn access_keys_lifecycle(store: DynStore) {
    let k = |ak: &str, t| AccessKeyRecord {
        ak: ak.into(),
        sealed_secret: "00ff".repeat(10),
        project: project(3),
        role: Role::Member,
        created_at: Millis(t),
        revoked_at: None,
        label: Some("sdk".into()),
    };
    store.credentials.insert_access_key(&k("AK2", 20)).await.unwrap();
    store.credentials.insert_access_key(&k("AK1", 10)).await.unwrap();
    assert!(matches!(store.credentials.insert_access_key(&k("AK1", 30)).await, Err(Error::Duplicate(_))));
    assert_eq!(store.credentials.find_access_key("AK1").await.unwrap(), Some(k("AK1", 10)));
    assert_eq!(store.credentials.find_access_key("nope").await.unwrap(), None);
    assert!(store.credentials.revoke_access_key("AK1", Millis(40)).await.unwrap());
    assert!(!store.credentials.revoke_access_key("AK1", Millis(50)).await.unwrap(), "already revoked");
    assert!(!store.credentials.revoke_access_key("nope", Millis(50)).await.unwrap());
    let mut revoked = k("AK1", 10);
    revoked.revoked_at = Some(Millis(40));
    assert_eq!(store.credentials.list_access_keys().await.unwrap(), vec![revoked, k("AK2", 20)]);
}

/// Concurrent writers never surface a lock error; the unique key lets exactly one win.
pub async fn concurrent_duplicate_registers(store: DynStore) {
    let p = project(4);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        let img = full_image(&p, "ns", "race", "1");
        tasks.push(tokio::spawn(async move { store.images.insert_image(&img, None).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::Duplicate(_)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(ok, 1);
}

/// Concurrent writes of every kind, some of which must fail (a taken registry key, an
/// update or a member of an image that is not there): each failure is the failing
/// write's alone, whatever writes it shared a commit with; every other write stands.
pub async fn concurrent_writes_fail_alone(store: DynStore) {
    let p = project(6);
    let keep = full_image(&p, "ns", "kept", "1");
    store.images.insert_image(&keep, None).await.unwrap();
    let mut tasks = Vec::new();
    let mut expected = vec![keep.id];
    for n in 0..96u32 {
        let store = store.clone();
        let task = match n % 6 {
            // Distinct images: all stand.
            0..=2 => {
                let img = full_image(&p, "ns", &format!("n{n}"), "1");
                expected.push(img.id);
                tokio::spawn(async move { store.images.insert_image(&img, None).await.map(|()| 1) })
            }
            // The same key as `keep`: every one fails, as a duplicate.
            3 => {
                let img = full_image(&p, "ns", "kept", "1");
                tokio::spawn(async move {
                    match store.images.insert_image(&img, None).await {
                        Err(Error::Duplicate(_)) => Ok(0),
                        other => panic!("a taken key answered {other:?}"),
                    }
                })
            }
            // An image that is not there: not found.
            4 => {
                let ghost = full_image(&p, "ns", &format!("ghost{n}"), "1");
                tokio::spawn(async move {
                    match store.images.update_image(&ghost).await {
                        Err(Error::NotFound(_)) => Ok(0),
                        other => panic!("an update of a missing image answered {other:?}"),
                    }
                })
            }
            // A member of the kept image: stands.
            _ => {
                let m = Member {
                    image_id: keep.id,
                    member: project(100 + u8::try_from(n).unwrap()),
                    status: MemberStatus::Pending,
                    created_at: Millis(i64::from(n)),
                    updated_at: Millis(i64::from(n)),
                };
                tokio::spawn(async move { store.images.add_member(&m).await.map(|()| 1) })
            }
        };
        tasks.push(task);
    }
    let mut stood = 0;
    for t in tasks {
        stood += t.await.unwrap().unwrap();
    }
    assert_eq!(stood, 48 + 16);
    let mut found: Vec<ImageId> = store.images.get_images(&expected).await.unwrap().iter().map(|i| i.id).collect();
    found.sort_unstable();
    expected.sort_unstable();
    assert_eq!(found, expected, "every acknowledged insert is there");
    assert_eq!(store.images.list_members(keep.id).await.unwrap().len(), 16);
    let owned = ImageQuery {
        filters: vec![Filter::Owner(p.clone())],
        sort: vec![],
        page: PageRequest::Offset { offset: 0, limit: 1 },
        with_total: true,
    };
    let total = store.images.list_images(&AccessScope::everything(), &owned).await.unwrap().total;
    assert_eq!(total, Some(49), "nothing of the failed writes stands");
}

/// Declares one `#[tokio::test]` per contract test; `$fresh` is an async fn returning
/// `Option<(DynStore, guard)>` (`None`: the backend is unavailable and the test skips).
#[macro_export]
macro_rules! contract_suite {
    ($fresh:path) => {
        $crate::contract_suite!(@tests $fresh;
            insert_get_roundtrip,
            duplicate_registry_key_is_rejected,
            insert_if_absent_is_idempotent,
            delete_removes_the_image,
            tokens_and_settings,
            list_matches_oracle,
            keyset_paging_matches_oracle,
            unknown_marker_is_invalid,
            groups_match_oracle,
            group_paging_and_meta,
            concurrent_duplicate_registers,
            concurrent_writes_fail_alone,
            update_replaces_record_and_index_rows,
            update_if_keeps_a_racing_change,
            storage_used_sums_a_projects_sizes,
            members_lifecycle,
            access_keys_lifecycle,
            identity_lifecycle,
            bulk_insert_matches_single_inserts,
            bulk_load_is_all_or_nothing,
            images_after_walks_every_image_by_id,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some((store, _guard)) = $fresh(stringify!($name)).await {
                $crate::contract::$name(store).await;
            }
        }
    )*};
}
