//! The versioned key-value map and OCC's two halves: `validate` (are the versions a
//! transaction relied on still current?) and `apply` (install its writes, bumping each
//! written key's version by exactly one).
//!
//! The two are separate on purpose: the node decides between them, and each is used
//! alone: a cluster's participant validates at prepare and installs the versions it
//! reserved only at the decision, and the planted bugs get one half wrong (`apply_buggy`)
//! without touching the other. Recovery puts state back the same two ways: `install`
//! replays a logged write (asserting the +1), `restore` a snapshot's entries.

use crate::fxmap::FxHashMap;
use crate::protocol::{Conflict, KeyValue, KeyVersion};

/// A key's current value and version. Absent keys are version 0 with no value; a key
/// never returns to absent, so a stored version is always at least 1.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Versioned {
    value: String,
    version: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Store {
    /// Looked up by key; walked only by `sorted_entries` (for a snapshot), which sorts at
    /// once, so a hash map's order cannot leak.
    keys: FxHashMap<String, Versioned>,
}

impl Store {
    /// The value and version of `key`; an absent key is `(None, 0)`.
    pub fn read(&self, key: &str) -> (Option<&str>, u64) {
        match self.keys.get(key) {
            Some(v) => (Some(&v.value), v.version),
            None => (None, 0),
        }
    }

    pub fn version(&self, key: &str) -> u64 {
        self.keys.get(key).map_or(0, |v| v.version)
    }

    /// Checks every `(key, version)` the transaction relied on against the current
    /// versions. Empty means valid. Each distinct stale `(key, expected)` is reported once,
    /// sorted by key then expected version (sorting, not searching, keeps this
    /// O(n log n) however many reads a transaction sends).
    pub fn validate<'a>(&self, reads: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<Conflict> {
        let mut conflicts: Vec<Conflict> = reads
            .into_iter()
            .filter_map(|(key, expected)| {
                let actual = self.version(key);
                (actual != expected).then(|| Conflict { key: key.to_owned(), expected, actual })
            })
            .collect();
        // Equivalent mutant: `>= 1` (sorting one conflict changes nothing).
        if conflicts.len() > 1 {
            conflicts.sort_by(|a, b| a.key.cmp(&b.key).then(a.expected.cmp(&b.expected)));
            conflicts.dedup();
        }
        conflicts
    }

    /// Installs `writes` atomically: each distinct key once, with the last value written to
    /// it, its version becoming exactly previous + 1. Returns the new versions sorted by key.
    pub fn apply(&mut self, writes: Vec<KeyValue>) -> Vec<KeyVersion> {
        self.apply_normalized(normalize(writes))
    }

    /// [`Store::apply`] of writes already [`normalize`]d.
    pub fn apply_normalized(&mut self, writes: Vec<KeyValue>) -> Vec<KeyVersion> {
        let mut versions: Vec<KeyVersion> = Vec::with_capacity(writes.len());
        for KeyValue { key, value } in writes {
            let version = match self.keys.get_mut(&key) {
                Some(current) => {
                    // 2^64 commits of one key cannot happen; an overflow would be a bug.
                    current.version =
                        current.version.checked_add(1).expect("a key's version overflowed u64");
                    current.value = value;
                    current.version
                }
                None => {
                    self.keys.insert(key.clone(), Versioned { value, version: 1 });
                    1
                }
            };
            versions.push(KeyVersion { key, version });
        }
        versions
    }

    /// Replays one write of a logged commit: `key` gets `value` at `version`, which must
    /// be exactly its current version + 1 when `exact` (the correct store's invariant; a
    /// planted bug that breaks it logs what it did, and replaying that must not hide the
    /// bug behind a panic).
    pub fn install(&mut self, key: &str, value: String, version: u64, exact: bool) {
        let current = self.version(key);
        if exact {
            assert_eq!(
                version,
                current + 1,
                "replaying a commit of `{key}` at version {version} onto version {current}: \
                 a logged write must bump its key by exactly one"
            );
        }
        match self.keys.get_mut(key) {
            Some(entry) => *entry = Versioned { value, version },
            None => {
                self.keys.insert(key.to_owned(), Versioned { value, version });
            }
        }
    }

    /// Every key with its value and version, sorted by key: the one place the map is
    /// walked, sorted at once so that its order never reaches the log.
    pub fn sorted_entries(&self) -> Vec<(&str, &str, u64)> {
        let mut entries: Vec<(&str, &str, u64)> =
            self.keys.iter().map(|(k, v)| (k.as_str(), v.value.as_str(), v.version)).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// The store a snapshot describes: `(key, value, version)` each.
    pub fn restore(entries: Vec<(String, String, u64)>) -> Store {
        let mut store = Store::default();
        for (key, value, version) in entries {
            assert!(
                version > 0,
                "a snapshot lists `{key}` at version 0: absent keys are not stored"
            );
            store.keys.insert(key, Versioned { value, version });
        }
        store
    }
}

/// `writes` as a commit installs them: sorted by key, each key once with the last value
/// written to it (a stable sort keeps a key's writes in program order, so the last of each
/// run of equal keys is the value that wins).
pub fn normalize(mut writes: Vec<KeyValue>) -> Vec<KeyValue> {
    writes.sort_by(|a, b| a.key.cmp(&b.key));
    let mut distinct: Vec<KeyValue> = Vec::with_capacity(writes.len());
    for write in writes {
        match distinct.last_mut() {
            Some(last) if last.key == write.key => *last = write,
            _ => distinct.push(write),
        }
    }
    distinct
}

impl Store {
    /// `apply` as two planted bugs get it wrong: each key's version goes up by `bump`,
    /// and keys in `unbumped` keep their version while their value changes.
    pub fn apply_buggy(
        &mut self,
        writes: Vec<KeyValue>,
        bump: u64,
        unbumped: &[String],
    ) -> Vec<KeyVersion> {
        let mut versions = Vec::new();
        for KeyValue { key, value } in writes {
            let step = if unbumped.contains(&key) { 0 } else { bump };
            let entry = self
                .keys
                .entry(key.clone())
                .or_insert(Versioned { value: String::new(), version: 0 });
            entry.value = value;
            entry.version = entry.version.saturating_add(step);
            match versions.iter_mut().find(|v: &&mut KeyVersion| v.key == key) {
                Some(v) => v.version = entry.version,
                None => versions.push(KeyVersion { key, version: entry.version }),
            }
        }
        versions.sort_by(|a, b| a.key.cmp(&b.key));
        versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue { key: key.to_owned(), value: value.to_owned() }
    }

    /// A store after committing each batch of `(key, value)` writes in turn.
    fn store_after(batches: &[&[(&str, &str)]]) -> Store {
        let mut store = Store::default();
        for batch in batches {
            store.apply(batch.iter().map(|(k, v)| kv(k, v)).collect());
        }
        store
    }

    /// Validates `reads` against the store built from `batches`; expects the conflicts as
    /// `(key, expected, actual)`.
    fn check_validate(
        batches: &[&[(&str, &str)]],
        reads: &[(&str, u64)],
        expect: &[(&str, u64, u64)],
    ) {
        let store = store_after(batches);
        let conflicts = store.validate(reads.iter().copied());
        let got: Vec<(&str, u64, u64)> =
            conflicts.iter().map(|c| (c.key.as_str(), c.expected, c.actual)).collect();
        assert_eq!(got, expect, "reads {reads:?}");
    }

    /// Applies `writes` after `batches`; expects the returned versions and then every
    /// key's `(value, version)`.
    fn check_apply(
        batches: &[&[(&str, &str)]],
        writes: &[(&str, &str)],
        expect_versions: &[(&str, u64)],
        expect_state: &[(&str, Option<&str>, u64)],
    ) {
        let mut store = store_after(batches);
        let versions = store.apply(writes.iter().map(|(k, v)| kv(k, v)).collect());
        let got: Vec<(&str, u64)> = versions.iter().map(|v| (v.key.as_str(), v.version)).collect();
        assert_eq!(got, expect_versions, "versions returned for {writes:?}");
        for (key, value, version) in expect_state {
            assert_eq!(store.read(key), (*value, *version), "state of {key}");
        }
    }

    #[test]
    fn absent_keys_are_version_zero_and_validate_at_zero() {
        check_validate(&[], &[("x", 0)], &[]);
        check_validate(&[], &[("x", 1)], &[("x", 1, 0)]);
    }

    #[test]
    fn current_versions_validate_and_stale_ones_conflict() {
        let history: &[&[(&str, &str)]] = &[&[("x", "1")], &[("x", "2"), ("y", "1")]];
        check_validate(history, &[("x", 2), ("y", 1)], &[]);
        check_validate(history, &[("x", 1), ("y", 1), ("z", 0)], &[("x", 1, 2)]);
        check_validate(history, &[("y", 0), ("x", 1)], &[("x", 1, 2), ("y", 0, 1)]);
        check_validate(history, &[("x", 999)], &[("x", 999, 2)]);
    }

    #[test]
    fn a_stale_read_given_twice_is_reported_once_in_key_order() {
        check_validate(
            &[&[("x", "1")]],
            &[("x", 0), ("x", 0), ("x", 5)],
            &[("x", 0, 1), ("x", 5, 1)],
        );
    }

    #[test]
    fn each_write_bumps_its_key_by_exactly_one() {
        check_apply(&[], &[("x", "a")], &[("x", 1)], &[("x", Some("a"), 1)]);
        check_apply(
            &[&[("x", "a")], &[("x", "b")]],
            &[("x", "c"), ("y", "d")],
            &[("x", 3), ("y", 1)],
            &[("x", Some("c"), 3), ("y", Some("d"), 1), ("z", None, 0)],
        );
    }

    #[test]
    fn a_key_written_twice_keeps_the_last_value_and_bumps_once() {
        check_apply(
            &[&[("x", "a")]],
            &[("x", "b"), ("y", "1"), ("x", "c"), ("y", "2")],
            &[("x", 2), ("y", 1)],
            &[("x", Some("c"), 2), ("y", Some("2"), 1)],
        );
    }

    #[test]
    fn an_empty_write_set_changes_nothing() {
        check_apply(&[&[("x", "a")]], &[], &[], &[("x", Some("a"), 1)]);
    }
}
