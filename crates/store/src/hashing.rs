//! The hasher of the maps and caches keyed by image and group ids: foldhash's quality
//! variant, randomly seeded.
//!
//! SipHash, the default, was a fifth of a group list's time at a million images, and most
//! of the time a list page spent finding its records in the record cache. Ids need not be
//! random: Glance clients pick image ids, and the benchmark numbers its images, so the
//! hash must spread ids that differ in a few bits over every bucket (a plain multiply
//! leaves the low bits, which pick a bucket, blind to the high ones: a million numbered
//! ids then shared a few buckets). foldhash's fast variant, without its final mix, left
//! numbered ids in 2,180 of 4,096 buckets in one run of the test below (random keys fill
//! about 2,590); the quality variant passes it. The seed is random: which ids collide
//! cannot be worked out offline.

/// Builds the hashers of the id-keyed maps.
pub type IdHashing = foldhash::quality::RandomState;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// Numbered ids (a counter in the last bytes, as the benchmark makes them, or in the
    /// first) spread over the low bits that pick a bucket.
    #[test]
    fn numbered_ids_spread_over_buckets() {
        let hashing = IdHashing::default();
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
