//! A deterministic catalog with a realistic spread: ~1,000 projects, a few hundred built-in
//! images, repository names drawn from real image-name patterns with many tags per name
//! (groups of 1–200 versions), every visibility, both architectures, service types, VM
//! images beside container images, tags and extra properties.

use imagehub_catalog::{
    Arch, ContainerFormat, DevService, DiskFormat, Image, ImageId, ImageKind, Millis, ProjectId, ResourceCategory,
    ServiceType, Status, Visibility,
};

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

pub const PROJECTS: u64 = 1000;
pub const BUILTIN: usize = 300;

const NAMES: &[&str] = &[
    "pytorch",
    "tensorflow",
    "mindspore",
    "jupyterlab",
    "cuda-base",
    "llama-train",
    "notebook",
    "rstudio",
    "codeserver",
    "ray",
    "deepspeed",
    "triton-infer",
    "paddle",
    "onnxruntime",
    "vllm",
    "stable-diffusion",
    "whisper",
    "bert-finetune",
    "xgboost",
    "spark-ml",
];
const VARIANTS: &[&str] = &["", "-gpu", "-cpu", "-ascend", "-dev", "-slim", "-cu118", "-cu121"];

pub fn project(n: u64) -> ProjectId {
    ProjectId::parse(&format!("{:032x}", 0x1000_0000_0000_0000_u128 + u128::from(n))).unwrap_or_else(ProjectId::system)
}

/// Group sizes skewed towards small ones, from 1 to 200 versions.
fn group_size(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0..=5 => 1 + rng.below(5),
        6..=8 => 5 + rng.below(30),
        _ => 35 + rng.below(166),
    }
}

/// Builds `n` images; calls `sink` with batches of `batch` images.
pub fn generate(n: usize, batch: usize, mut sink: impl FnMut(Vec<Image>) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut rng = Rng::new(2026);
    let start = Millis(1_700_000_000_000);
    let mut out = Vec::with_capacity(batch);
    let mut made = 0usize;
    let mut group = 0u64;
    while made < n {
        group += 1;
        let builtin = made < BUILTIN;
        let owner = if builtin { ProjectId::system() } else { project(rng.below(PROJECTS)) };
        let name = format!(
            "{}{}{}",
            rng.pick(NAMES),
            rng.pick(VARIANTS),
            if builtin { String::new() } else { format!("-{group}") }
        );
        let container = builtin || rng.below(10) != 0;
        let visibility = if builtin {
            Visibility::Public
        } else {
            match rng.below(100) {
                0 => Visibility::Public,
                1 => Visibility::Community,
                2..=11 => Visibility::Shared,
                _ => Visibility::Private,
            }
        };
        let size = if builtin { 1 } else { group_size(&mut rng) };
        for t in 0..size {
            if made >= n {
                break;
            }
            let created = Millis(start.0 + (made as i64) * 60_000 + rng.below(60_000) as i64);
            let mut i = Image::blank(
                ImageId::from(uuid::Uuid::from_u128(0xB000_0000_0000_4000_8000_0000_0000_0000 | made as u128)),
                owner.clone(),
                created,
            );
            i.updated_at = Millis(created.0 + rng.below(86_400_000) as i64);
            i.kind = if builtin { ImageKind::BuiltIn } else { ImageKind::Dedicated };
            i.visibility = visibility;
            i.status = if rng.below(50) == 0 { Status::Deactivated } else { Status::Active };
            i.name = Some(name.clone());
            i.size = Some(200_000_000 + rng.below(20_000_000_000) as i64);
            i.arch = Some(if rng.below(5) == 0 { Arch::Aarch64 } else { Arch::X86_64 });
            i.min_ram = rng.below(8) as i64 * 1024;
            if container {
                let ns = if builtin {
                    "atelier".to_owned()
                } else {
                    format!("ns-{}", owner.as_str().get(28..).unwrap_or("0"))
                };
                i.namespace = Some(ns.clone());
                i.tag = Some(format!("v{}.{}", t / 10, t % 10));
                i.registry_path = Some(format!("swr.example.com/{ns}/{name}:v{}.{}", t / 10, t % 10));
                i.container_format = Some(ContainerFormat::Docker);
                i.disk_format = Some(DiskFormat::Raw);
                i.service_type = Some(*rng.pick(ServiceType::ALL));
                i.dev_services = vec![DevService::Notebook, DevService::Ssh];
                i.resource_categories = match rng.below(3) {
                    0 => vec![ResourceCategory::Cpu],
                    1 => vec![ResourceCategory::Cpu, ResourceCategory::Gpu],
                    _ => vec![ResourceCategory::Ascend],
                };
                i.image_type = Some((*rng.pick(&["Base", "JupyterLab", "CodeServer", "RStudio"])).to_owned());
            } else {
                i.container_format = Some(ContainerFormat::Bare);
                i.disk_format = Some(*rng.pick(&[DiskFormat::Qcow2, DiskFormat::Raw, DiskFormat::Vmdk]));
                i.properties
                    .insert("os_distro".into(), (*rng.pick(&["ubuntu", "centos", "debian", "euleros"])).to_owned());
                i.properties.insert("__os_bit".into(), "64".into());
            }
            if rng.below(4) == 0 {
                i.tags.insert((*rng.pick(&["prod", "staging", "nightly", "gold"])).to_owned());
            }
            out.push(i);
            made += 1;
            if out.len() == batch {
                sink(std::mem::take(&mut out))?;
            }
        }
    }
    if !out.is_empty() {
        sink(out)?;
    }
    Ok(())
}
