//! Interning keys into dense `u32` ids (in order of first appearance) and values into
//! comparable 128-bit words.
//!
//! The table is a hash map with a fixed (FxHash-style) hasher. It is never iterated: ids
//! come from first appearance in the history, so nothing about the hash function can
//! reach the output, and the hasher is fixed anyway so runs are identical.

use std::hash::BuildHasherDefault;

use node::fxmap::FxHasher;

// The one place a std HashMap is allowed: fixed hasher, lookups only, never iterated.
#[allow(clippy::disallowed_types)]
type FixedMap<K> = std::collections::HashMap<K, u32, BuildHasherDefault<FxHasher>>;

/// Maps strings borrowed from the history to dense ids `0..len()`.
///
/// Strings of up to 15 bytes (nearly all keys and values) are packed into a `u128` with
/// their length, so a lookup compares registers instead of chasing a pointer into the
/// parsed events (a cache miss per lookup, a third of the time on big histories).
#[derive(Default)]
pub(crate) struct Interner<'a> {
    /// Packed strings as two words: 24-byte buckets instead of 32 (a `u128` is 16-aligned),
    /// so more of a big table stays in the cache.
    short: FixedMap<(u64, u64)>,
    long: FixedMap<&'a str>,
    names: Vec<&'a str>,
}

fn pack(name: &str) -> Option<u128> {
    let bytes = name.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut word = [0u8; 16];
    word[..bytes.len()].copy_from_slice(bytes);
    word[15] = bytes.len() as u8;
    Some(u128::from_le_bytes(word))
}

/// A string to intern, packed ahead of time (see [`Interner::intern_packed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Packed<'a> {
    /// The packed string, or [`LONG_KEY`] when it is longer than 15 bytes.
    packed: u128,
    name: &'a str,
}

/// No packed string has this (its length byte would be 255).
const LONG_KEY: u128 = u128::MAX;

impl<'a> Packed<'a> {
    pub(crate) fn new(name: &'a str) -> Packed<'a> {
        Packed { packed: pack(name).unwrap_or(LONG_KEY), name }
    }
}

impl<'a> Interner<'a> {
    pub(crate) fn intern(&mut self, name: &'a str) -> u32 {
        self.intern_packed(Packed::new(name))
    }

    /// Interns a string packed earlier: the lookup reads neither the string nor the
    /// history, so a pass of lookups keeps the table in the cache.
    pub(crate) fn intern_packed(&mut self, key: Packed<'a>) -> u32 {
        let next = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct strings");
        let name = key.name;
        let packed = (key.packed != LONG_KEY).then_some(key.packed);
        let id = match packed {
            Some(packed) => {
                *self.short.entry((packed as u64, (packed >> 64) as u64)).or_insert(next)
            }
            None => *self.long.entry(name).or_insert(next),
        };
        if id == next {
            self.names.push(name);
        }
        id
    }

    pub(crate) fn name(&self, id: u32) -> &'a str {
        self.names[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// A value as a comparable 128-bit word: strings of up to 15 bytes are packed in place
/// (no table, no lookup: most values are short and there are millions of them); longer
/// ones get an id from a table. Equal strings always get equal words.
pub(crate) type Value = u128;

/// A null value (an absent key).
pub(crate) const NULL: Value = u128::MAX;

/// A value nobody reported: an unreported write whose invocation had none (an increment
/// that never said what it wrote). Equal to no string; shown as `?`.
pub(crate) const UNKNOWN: Value = u128::MAX - 1;

const LONG: u8 = 0xFE;

#[derive(Default)]
pub(crate) struct Values<'a> {
    long: Interner<'a>,
}

impl<'a> Values<'a> {
    pub(crate) fn value(&mut self, text: Option<&'a str>) -> Value {
        let Some(text) = text else { return NULL };
        match pack(text) {
            Some(packed) => packed,
            None => u128::from(self.long.intern(text)) | (u128::from(LONG) << 120),
        }
    }

    pub(crate) fn text(&self, value: Value) -> Option<String> {
        if value == NULL {
            return None;
        }
        if value == UNKNOWN {
            return Some("?".to_string());
        }
        let bytes = value.to_le_bytes();
        if bytes[15] == LONG {
            return Some(self.long.name(value as u32).to_string());
        }
        Some(String::from_utf8_lossy(&bytes[..bytes[15] as usize]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_compare_exactly() {
        let mut values = Values::default();
        let long = "a value longer than fifteen bytes";
        let ids: Vec<Value> = [Some("7"), Some(""), None, Some(long), Some("fifteen bytes!!")]
            .map(|v| values.value(v))
            .to_vec();
        assert_eq!(ids[2], NULL);
        assert_eq!(values.value(Some("a value longer than fifteen bytes")), ids[3]);
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 5, "distinct values get distinct words");
        let texts: Vec<Option<String>> = ids.iter().map(|&v| values.text(v)).collect();
        assert_eq!(texts[0].as_deref(), Some("7"));
        assert_eq!(texts[1].as_deref(), Some(""));
        assert_eq!(texts[2], None);
        assert_eq!(texts[3].as_deref(), Some(long));
        assert_eq!(texts[4].as_deref(), Some("fifteen bytes!!"));
    }

    #[test]
    fn ids_follow_first_appearance() {
        let mut interner = Interner::default();
        assert_eq!(interner.intern("b"), 0);
        assert_eq!(interner.intern("a"), 1);
        assert_eq!(interner.intern("b"), 0);
        assert_eq!(interner.name(1), "a");
        let long = "a key longer than fifteen bytes";
        assert_eq!(interner.intern(long), 2);
        assert_eq!(interner.intern("a key longer than fifteen bytes"), 2);
        assert_eq!(interner.intern(""), 3);
        assert_eq!(interner.intern("\0"), 4, "padding must not alias a NUL byte");
        assert_eq!(interner.len(), 5);
    }
}
