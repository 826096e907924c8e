//! Interning strings (keys, values) into dense `u32` ids, in order of first appearance.
//!
//! The table is a hash map with a fixed (FxHash-style) hasher. It is never iterated: ids
//! come from first appearance in the history, so nothing about the hash function can
//! reach the output, and the hasher is fixed anyway so runs are identical.

use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (rustc's hasher): fast, fixed, not DoS-resistant (we hash our own input).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
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
            self.add(u64::from_le_bytes(word));
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
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

// The one place a std HashMap is allowed: fixed hasher, lookups only, never iterated.
#[allow(clippy::disallowed_types)]
type FixedMap<'a> = std::collections::HashMap<&'a str, u32, BuildHasherDefault<FxHasher>>;

/// Maps strings borrowed from the history to dense ids `0..len()`.
#[derive(Default)]
pub(crate) struct Interner<'a> {
    ids: FixedMap<'a>,
    names: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    pub(crate) fn intern(&mut self, name: &'a str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct strings");
        self.ids.insert(name, id);
        self.names.push(name);
        id
    }

    pub(crate) fn name(&self, id: u32) -> &'a str {
        self.names[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_first_appearance() {
        let mut interner = Interner::default();
        assert_eq!(interner.intern("b"), 0);
        assert_eq!(interner.intern("a"), 1);
        assert_eq!(interner.intern("b"), 0);
        assert_eq!(interner.name(1), "a");
        assert_eq!(interner.len(), 2);
    }
}
