//! What a request may carry, so that no single request can push the node past what it
//! can log: every record stays far below [`crate::wal::RECORD_BYTES_MAX`] and every line
//! `occ-node` reads is bounded. Specified in `docs/protocol.md` ("Limits").
//!
//! A commit (or a participant's prepare) past a limit is refused with error 12
//! (malformed-request, definite) before anything is logged or validated. The store's
//! state has no bound of its own: its snapshots are chunked (see [`crate::wal`]).

use crate::protocol::{KeyValue, KeyVersion};

/// The longest key, in bytes of UTF-8.
pub const KEY_BYTES_MAX: usize = 1024;
/// The longest value, in bytes of UTF-8.
pub const VALUE_BYTES_MAX: usize = 1 << 20;
/// The longest transaction id a commit may name.
pub const TXN_ID_BYTES_MAX: usize = 1024;
/// A commit's writes (keys and values) and read versions (keys), in bytes, together.
pub const COMMIT_BYTES_MAX: usize = 4 << 20;
/// A commit's writes and read versions, counted together.
pub const COMMIT_ITEMS_MAX: usize = 20_000;
/// The longest input line `occ-node` reads (32 MiB): a commit within the limits above
/// fits in one, however its JSON escapes its strings (at most 6 bytes per byte, 24 MiB,
/// plus about 60 bytes per item, 1.2 MB).
pub const LINE_BYTES_MAX: usize = 32 << 20;

/// Why a commit (or prepare) of `writes` and `read_versions` under `txn_id` is past the
/// limits, if it is.
pub fn commit_problem(
    txn_id: &str,
    writes: &[KeyValue],
    read_versions: &[KeyVersion],
) -> Option<String> {
    if txn_id.len() > TXN_ID_BYTES_MAX {
        return Some(format!(
            "its txn_id is {} bytes, the most is {TXN_ID_BYTES_MAX}",
            txn_id.len()
        ));
    }
    let items = writes.len() + read_versions.len();
    if items > COMMIT_ITEMS_MAX {
        return Some(format!(
            "it has {items} writes and read versions, the most is {COMMIT_ITEMS_MAX}"
        ));
    }
    let keys = writes.iter().map(|w| &w.key).chain(read_versions.iter().map(|r| &r.key));
    if let Some(key) = keys.clone().find(|k| k.len() > KEY_BYTES_MAX) {
        let quoted = crate::clip::clip(key);
        return Some(format!("key `{quoted}` is {} bytes, the most is {KEY_BYTES_MAX}", key.len()));
    }
    if let Some(w) = writes.iter().find(|w| w.value.len() > VALUE_BYTES_MAX) {
        let quoted = crate::clip::clip(&w.key);
        return Some(format!(
            "the value written to `{quoted}` is {} bytes, the most is {VALUE_BYTES_MAX}",
            w.value.len()
        ));
    }
    let bytes: usize =
        keys.map(String::len).sum::<usize>() + writes.iter().map(|w| w.value.len()).sum::<usize>();
    if bytes > COMMIT_BYTES_MAX {
        return Some(format!(
            "its keys and values add up to {bytes} bytes, the most is {COMMIT_BYTES_MAX}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(key: &str, value_bytes: usize) -> KeyValue {
        KeyValue { key: key.into(), value: "v".repeat(value_bytes) }
    }

    #[test]
    fn each_limit_is_named_when_passed_and_the_limit_itself_passes() {
        let check = |writes: &[KeyValue], expect: Option<&str>| {
            let problem = commit_problem("t1", writes, &[]);
            match expect {
                None => assert_eq!(problem, None),
                Some(part) => {
                    assert!(problem.as_deref().unwrap_or("").contains(part), "{problem:?}")
                }
            }
        };
        check(&[write("x", VALUE_BYTES_MAX)], None);
        check(&[write("x", VALUE_BYTES_MAX + 1)], Some("the value written to `x`"));
        check(&[write(&"k".repeat(KEY_BYTES_MAX + 1), 1)], Some("is 1025 bytes"));
        let many: Vec<KeyValue> =
            (0..5).map(|i| write(&format!("k{i}"), VALUE_BYTES_MAX)).collect();
        check(&many, Some("add up to"));
        let items: Vec<KeyValue> = (0..=COMMIT_ITEMS_MAX).map(|_| write("k", 0)).collect();
        check(&items, Some("20001 writes"));
        assert!(commit_problem(&"t".repeat(1025), &[], &[]).is_some());
    }
}
