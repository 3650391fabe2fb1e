//! What the first bytes of an upload say it is (the checks Glance added after
//! CVE-2024-32498): the disk format they are in, the virtual size their header gives,
//! and whether they point at other files (a qcow2 backing file or external data file, a
//! vmdk descriptor naming other extents), which a hypervisor would open on the host.
//!
//! Detected: qcow2, vmdk (sparse and its text descriptor), vhd (dynamic: the footer copy
//! at the start), vhdx, iso; raw is what matches none of them (an iso is a raw disk too).
//! Formats imagehub does not inspect (ami, ari, aki, vdi, ploop) pass unchecked.

use crate::error::{Error, Result};
use crate::image::DiskFormat;

/// How much of the start of an upload the inspection looks at: enough for every header
/// it reads (a vhdx's metadata region lies within the first few MiB).
pub const HEAD_BYTES: usize = 4 * 1024 * 1024;

/// A format the inspection recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Qcow2,
    Vmdk,
    /// A vmdk text descriptor: it only names other files.
    VmdkDescriptor,
    Vhd,
    Vhdx,
    Iso,
    Raw,
}

impl Detected {
    fn name(self) -> &'static str {
        match self {
            Detected::Qcow2 => "qcow2",
            Detected::Vmdk | Detected::VmdkDescriptor => "vmdk",
            Detected::Vhd => "vhd",
            Detected::Vhdx => "vhdx",
            Detected::Iso => "iso",
            Detected::Raw => "raw",
        }
    }
}

/// What the inspection found in an image's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub format: Detected,
    /// The disk's size as its header gives it, where it does.
    pub virtual_size: Option<u64>,
}

/// Inspects `head` (the first [`HEAD_BYTES`] of the data, or all of it if shorter) of
/// data declared as `declared`: refuses (`UnsupportedMediaType`, with the reason) data
/// in another format than declared and data that points at other files.
pub fn check(declared: DiskFormat, head: &[u8]) -> Result<Inspection> {
    let found = inspect(head)?;
    let matches = match declared {
        DiskFormat::Raw => matches!(found.format, Detected::Raw | Detected::Iso),
        DiskFormat::Qcow2 => found.format == Detected::Qcow2,
        DiskFormat::Vmdk => found.format == Detected::Vmdk,
        DiskFormat::Vhd => found.format == Detected::Vhd,
        DiskFormat::Vhdx => found.format == Detected::Vhdx,
        DiskFormat::Iso => found.format == Detected::Iso,
        // Not inspected: accepted as they come.
        _ => return Ok(Inspection { format: found.format, virtual_size: None }),
    };
    if !matches {
        return Err(refused(format!(
            "Image content does not match disk_format {declared}: the data is {}",
            found.format.name()
        )));
    }
    Ok(found)
}

fn refused(reason: String) -> Error {
    Error::UnsupportedMediaType(reason)
}

/// The `N` bytes at `at`, if all are there.
fn bytes_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    bytes_at(b, at).map(u32::from_be_bytes)
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    bytes_at(b, at).map(u64::from_be_bytes)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    bytes_at(b, at).map(u16::from_le_bytes)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    bytes_at(b, at).map(u32::from_le_bytes)
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    bytes_at(b, at).map(u64::from_le_bytes)
}

/// The format of `head` and what its header says; refuses data that points at other files.
pub fn inspect(head: &[u8]) -> Result<Inspection> {
    if head.starts_with(b"QFI\xfb") {
        return qcow2(head);
    }
    if head.starts_with(b"KDMV") {
        return vmdk_sparse(head);
    }
    if head.starts_with(b"# Disk DescriptorFile") {
        return Err(refused("a vmdk descriptor names other files: upload a monolithic vmdk".into()));
    }
    if head.starts_with(b"conectix") {
        return Ok(Inspection { format: Detected::Vhd, virtual_size: be64(head, 48) });
    }
    if head.starts_with(b"vhdxfile") {
        return Ok(Inspection { format: Detected::Vhdx, virtual_size: vhdx_size(head) });
    }
    if head.get(0x8001..0x8006) == Some(b"CD001") {
        let blocks = le32(head, 0x8050).map(u64::from);
        let block_size = le16(head, 0x8080).map(u64::from);
        let size = blocks.zip(block_size).map(|(n, b)| n * b);
        return Ok(Inspection { format: Detected::Iso, virtual_size: size });
    }
    Ok(Inspection { format: Detected::Raw, virtual_size: None })
}

/// qcow2: the virtual size at byte 24; a backing file (its offset at byte 8) or, in
/// version 3, the external data file feature (incompatible feature bit 2) is refused.
fn qcow2(head: &[u8]) -> Result<Inspection> {
    let short = || refused("the qcow2 header is cut short".into());
    let version = be32(head, 4).ok_or_else(short)?;
    if be64(head, 8).ok_or_else(short)? != 0 {
        return Err(refused("the qcow2 image has a backing file: upload an image that stands alone".into()));
    }
    if version >= 3 && be64(head, 72).ok_or_else(short)? & (1 << 2) != 0 {
        return Err(refused(
            "the qcow2 image keeps its data in an external file: upload an image that stands alone".into(),
        ));
    }
    Ok(Inspection { format: Detected::Qcow2, virtual_size: Some(be64(head, 24).ok_or_else(short)?) })
}

/// vmdk sparse: capacity (sectors) at byte 12; the embedded descriptor (its sector and
/// length at bytes 28 and 36) must describe one sparse extent of a monolithic disk.
fn vmdk_sparse(head: &[u8]) -> Result<Inspection> {
    let short = || refused("the vmdk header is cut short".into());
    let capacity = le64(head, 12).ok_or_else(short)?;
    let offset = le64(head, 28).ok_or_else(short)?;
    let length = le64(head, 36).ok_or_else(short)?;
    let size = Some(capacity.saturating_mul(512));
    if offset == 0 {
        // streamOptimized images may carry their descriptor later; nothing names a file here.
        return Ok(Inspection { format: Detected::Vmdk, virtual_size: size });
    }
    let start = usize::try_from(offset.saturating_mul(512)).map_err(|_| short())?;
    let end = start.saturating_add(usize::try_from(length.saturating_mul(512)).map_err(|_| short())?);
    let text = head.get(start..end.min(head.len())).ok_or_else(short)?;
    let text = String::from_utf8_lossy(text.split(|b| *b == 0).next().unwrap_or_default());
    let mut create_type = None;
    let mut extents = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("createType=") {
            create_type = Some(v.trim_matches('"').to_owned());
        } else if ["RW ", "RDONLY ", "NOACCESS "].iter().any(|p| line.starts_with(p)) {
            extents.push(line.split_whitespace().nth(2).unwrap_or_default().to_owned());
        }
    }
    let monolithic = matches!(create_type.as_deref(), Some("monolithicSparse" | "streamOptimized"));
    if !monolithic || extents.len() != 1 || extents[0] != "SPARSE" {
        return Err(refused(format!(
            "the vmdk descriptor ({}, extents {extents:?}) may name other files: upload a monolithicSparse or \
             streamOptimized vmdk",
            create_type.as_deref().unwrap_or("no createType")
        )));
    }
    Ok(Inspection { format: Detected::Vmdk, virtual_size: size })
}

/// The GUID of a vhdx region or metadata item as it is stored (the first three fields
/// little-endian).
fn guid(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect();
    let mut g = [0u8; 16];
    if hex.len() == 16 {
        g[..4].copy_from_slice(&[hex[3], hex[2], hex[1], hex[0]]);
        g[4..6].copy_from_slice(&[hex[5], hex[4]]);
        g[6..8].copy_from_slice(&[hex[7], hex[6]]);
        g[8..].copy_from_slice(&hex[8..]);
    }
    g
}

/// vhdx: the region table (at 192 KiB) locates the metadata region, whose table
/// locates the virtual disk size item.
fn vhdx_size(head: &[u8]) -> Option<u64> {
    const REGION_TABLE: usize = 0x30000;
    let metadata_region = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    let virtual_disk_size = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    if head.get(REGION_TABLE..REGION_TABLE + 4)? != b"regi" {
        return None;
    }
    let entries = le32(head, REGION_TABLE + 8)? as usize;
    let region = (0..entries.min(2047)).find_map(|n| {
        let at = REGION_TABLE + 16 + n * 32;
        (head.get(at..at + 16)? == metadata_region).then(|| le64(head, at + 16)).flatten()
    })?;
    // Offsets come from the file: every sum is checked.
    let region = usize::try_from(region).ok()?;
    if head.get(region..region.checked_add(8)?)? != b"metadata" {
        return None;
    }
    let items = usize::from(le16(head, region.checked_add(10)?)?);
    (0..items.min(2047)).find_map(|n| {
        let at = region.checked_add(32 + n * 32)?;
        if head.get(at..at.checked_add(16)?)? != virtual_disk_size {
            return None;
        }
        le64(head, region.checked_add(usize::try_from(le32(head, at.checked_add(16)?)?).ok()?)?)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A qcow2 header: version 3, `size` bytes, a backing file offset and features.
    fn qcow2_header(size: u64, backing: u64, features: u64) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&3u32.to_be_bytes());
        h[8..16].copy_from_slice(&backing.to_be_bytes());
        h[24..32].copy_from_slice(&size.to_be_bytes());
        h[72..80].copy_from_slice(&features.to_be_bytes());
        h
    }

    #[test]
    fn qcow2_headers_are_read_and_their_references_refused() {
        let ok = check(DiskFormat::Qcow2, &qcow2_header(1 << 30, 0, 0)).unwrap();
        assert_eq!(ok, Inspection { format: Detected::Qcow2, virtual_size: Some(1 << 30) });
        assert!(
            matches!(check(DiskFormat::Qcow2, &qcow2_header(1, 512, 0)), Err(Error::UnsupportedMediaType(m)) if m.contains("backing"))
        );
        assert!(
            matches!(check(DiskFormat::Qcow2, &qcow2_header(1, 0, 4)), Err(Error::UnsupportedMediaType(m)) if m.contains("external"))
        );
        assert!(
            matches!(check(DiskFormat::Raw, &qcow2_header(1, 0, 0)), Err(Error::UnsupportedMediaType(m)) if m.contains("is qcow2"))
        );
        assert!(check(DiskFormat::Qcow2, b"random bytes, not an image").is_err());
        assert!(check(DiskFormat::Raw, b"random bytes, not an image").is_ok());
        assert!(check(DiskFormat::Vdi, b"not inspected").is_ok());
    }

    /// Offsets a crafted header gives are never trusted: no panic, no overflow.
    #[test]
    fn crafted_offsets_do_not_panic() {
        let mut vhdx = vec![0u8; 0x30000 + 64];
        vhdx[..8].copy_from_slice(b"vhdxfile");
        vhdx[0x30000..0x30004].copy_from_slice(b"regi");
        vhdx[0x30008..0x3000c].copy_from_slice(&1u32.to_le_bytes());
        vhdx[0x30010..0x30020].copy_from_slice(&guid("8B7CA206-4790-4B9A-B8FE-575F050F886E"));
        vhdx[0x30020..0x30028].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
        assert_eq!(inspect(&vhdx).unwrap().virtual_size, None);
        let mut vmdk = vec![0u8; 512];
        vmdk[..4].copy_from_slice(b"KDMV");
        vmdk[28..36].copy_from_slice(&u64::MAX.to_le_bytes());
        vmdk[36..44].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(inspect(&vmdk).is_err());
        for n in 0..600 {
            let _ = inspect(&qcow2_header(1, 0, 0)[..n.min(512)]);
        }
    }

    #[test]
    fn text_descriptors_are_refused() {
        let d = b"# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n";
        assert!(check(DiskFormat::Vmdk, d).is_err());
    }

    /// Images made by qemu-img (Debian's qemu-utils): each format as itself, its
    /// virtual size as qemu-img reports it, and the unsafe ones refused.
    #[test]
    fn images_made_by_qemu_img() {
        let Some(dir) = qemu_dir() else { return };
        let make = |name: &str, args: &[&str]| -> Vec<u8> {
            let path = dir.path().join(name);
            let out = std::process::Command::new("qemu-img")
                .arg("create")
                .args(args)
                .arg(&path)
                .arg("64M")
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.truncate(HEAD_BYTES);
            bytes
        };
        let qemu_size = |name: &str| -> u64 {
            let out = std::process::Command::new("qemu-img")
                .args(["info", "--output=json"])
                .arg(dir.path().join(name))
                .output()
                .unwrap();
            let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            info["virtual-size"].as_u64().unwrap()
        };
        for (name, args, declared) in [
            ("a.qcow2", &["-f", "qcow2"][..], DiskFormat::Qcow2),
            ("a.vmdk", &["-f", "vmdk"][..], DiskFormat::Vmdk),
            ("s.vmdk", &["-f", "vmdk", "-o", "subformat=streamOptimized"][..], DiskFormat::Vmdk),
            ("a.vhd", &["-f", "vpc"][..], DiskFormat::Vhd),
            ("a.vhdx", &["-f", "vhdx"][..], DiskFormat::Vhdx),
        ] {
            let head = make(name, args);
            let found = check(declared, &head).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(found.virtual_size, Some(qemu_size(name)), "{name}");
            assert!(check(DiskFormat::Raw, &head).is_err(), "{name} declared raw");
        }
        let qcow2 = make("q.qcow2", &["-f", "qcow2"]);
        assert!(check(DiskFormat::Vmdk, &qcow2).is_err(), "qcow2 declared vmdk");
        let backed = make("b.qcow2", &["-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2"]);
        assert!(check(DiskFormat::Qcow2, &backed).is_err(), "a backing file");
        let external = make("d.qcow2", &["-f", "qcow2", "-o", "data_file=d.raw"]);
        assert!(check(DiskFormat::Qcow2, &external).is_err(), "an external data file");
        let split = make("t.vmdk", &["-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse"]);
        assert!(check(DiskFormat::Vmdk, &split).is_err(), "a descriptor naming other files");
    }

    /// A directory to make images in, when qemu-img is installed (in CI it must be).
    fn qemu_dir() -> Option<tempfile::TempDir> {
        if std::process::Command::new("qemu-img").arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Some(tempfile::tempdir().unwrap());
        }
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        assert!(!ci, "qemu-img is missing in CI (apt-get install qemu-utils)");
        eprintln!(
            "\n*** SKIPPED the qemu-img format tests: qemu-img is not installed (apt-get install qemu-utils) ***\n"
        );
        None
    }
}
