//! The hasher of the maps keyed by image and group ids.
//!
//! Both ids are UUIDs, 16 bytes, so each of their two words goes through one folded
//! multiply (the 128-bit product's halves xor-ed, as foldhash and wyhash do): every
//! output bit depends on every input bit. SipHash, the default, was a fifth of a group
//! list's time at a million images, and most of the time a list page spent finding its
//! records in the record cache. Ids need not be random: Glance clients pick image ids, and
//! the benchmark numbers its images. (A plain multiply leaves the low bits, which pick a
//! bucket, blind to the high ones: a million numbered ids then shared a few buckets.)
//! The mix starts from a per-process random seed: which ids collide cannot be worked out
//! offline.

/// Hashes the bytes of one id.
#[derive(Clone, Copy)]
pub struct UuidHasher(u64);

impl std::hash::Hasher for UuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = folded_multiply(self.0 ^ u64::from_le_bytes(word), 0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Builds [`UuidHasher`]s from one random seed per process.
#[derive(Clone, Copy)]
pub struct UuidHashing(u64);

impl Default for UuidHashing {
    fn default() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        // std's RandomState draws its keys from the operating system.
        Self(
            *SEED.get_or_init(|| {
                std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u64)
            }),
        )
    }
}

impl std::hash::BuildHasher for UuidHashing {
    type Hasher = UuidHasher;

    fn build_hasher(&self) -> UuidHasher {
        UuidHasher(self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// Numbered ids (a counter in the last bytes, as the benchmark makes them, or in the
    /// first) spread over the low bits that pick a bucket.
    #[test]
    fn numbered_ids_spread_over_buckets() {
        let hashing = UuidHashing::default();
        for shift in [0, 32, 96] {
            let buckets: std::collections::HashSet<u64> = (0..4096u128)
                .map(|n| {
                    hashing.hash_one(uuid::Uuid::from_u128(0xB000_0000_0000_4000_8000_0000_0000_0000 | (n << shift)))
                })
                .map(|h| h & 0xfff)
                .collect();
            // 4,096 random draws from 4,096 buckets fill about 63% of them.
            assert!(buckets.len() > 2400, "shift {shift}: {} buckets", buckets.len());
        }
    }
}
