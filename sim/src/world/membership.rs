//! A cluster's membership as docs/protocol.md states it, written from the document, not
//! from the store's code: the judge must not share the code it judges. (It once did: the
//! conformance rules asked `node::shard` who owns a key, so a store whose hash sent every
//! key to the first node agreed with its own judge, and a mutation run saw nothing.)
//!
//! - "The cluster": with `node_ids` naming several nodes, a key belongs to the node at
//!   position FNV-1a-64(key's bytes) modulo the number of nodes, in `init`'s order.
//! - Error 12: an `init` whose non-empty `node_ids` does not name its `node_id`, or names
//!   a node twice, is malformed.
//! - Error 22: an `init` again with the same `node_id` and the same membership (the same
//!   nodes in the same order) is answered `init_ok`; another membership is refused. An
//!   empty `node_ids` is a cluster of one, the node itself.

use super::fingerprint::fnv1a;

/// The node that owns `key` in a cluster of `node_ids` (not empty).
pub fn owner<'a>(key: &str, node_ids: &'a [String]) -> &'a str {
    &node_ids[(fnv1a(key.as_bytes()) % node_ids.len() as u64) as usize]
}

/// Whether `init {node_id, node_ids}` is malformed (error 12).
pub fn is_malformed(node_id: &str, node_ids: &[String]) -> bool {
    if node_ids.is_empty() {
        return false;
    }
    let names_itself = node_ids.iter().any(|id| id == node_id);
    let mut sorted: Vec<&String> = node_ids.iter().collect();
    sorted.sort_unstable();
    let twice = sorted.windows(2).any(|w| w[0] == w[1]);
    !names_itself || twice
}

/// Whether two well-formed `init`s of node `node_id` name the same membership.
pub fn same_membership(node_id: &str, a: &[String], b: &[String]) -> bool {
    let one = [node_id.to_owned()];
    let whole = |ids: &'_ [String]| if ids.is_empty() { one.to_vec() } else { ids.to_vec() };
    whole(a) == whole(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_key_goes_to_the_node_at_its_hash_in_inits_order() {
        // FNV-1a-64("a") = 0xaf63dc4c8601ec8c (the published vector) = 12638187200555641996,
        // even: node 0 of 2; and 3 * 4212729066851880665 + 1: node 1 of 3.
        assert_eq!(owner("a", &ids(&["x", "y"])), "x");
        assert_eq!(owner("a", &ids(&["y", "x"])), "y");
        assert_eq!(owner("a", &ids(&["p", "q", "r"])), "q");
        assert_eq!(owner("anything", &ids(&["solo"])), "solo");
        // Keys spread: of 300 keys every node of three owns some.
        let three = ids(&["n1", "n2", "n3"]);
        for node in &three {
            assert!((0..300).any(|k| owner(&format!("r{k}"), &three) == node), "{node}");
        }
    }

    #[test]
    fn an_init_must_name_its_node_once() {
        assert!(!is_malformed("n1", &[]));
        assert!(!is_malformed("n1", &ids(&["n2", "n1"])));
        assert!(is_malformed("n1", &ids(&["n2", "n3"])));
        assert!(is_malformed("n1", &ids(&["n1", "n2", "n1"])));
        assert!(is_malformed("n1", &ids(&["n2", "n1", "n2"])));
    }

    #[test]
    fn the_same_membership_is_the_same_nodes_in_the_same_order() {
        let (ab, ba) = (ids(&["a", "b"]), ids(&["b", "a"]));
        assert!(same_membership("a", &ab, &ab));
        assert!(!same_membership("a", &ab, &ba));
        assert!(!same_membership("a", &ab, &ids(&["a", "b", "c"])));
        assert!(same_membership("a", &[], &ids(&["a"])));
        assert!(!same_membership("a", &[], &ab));
    }
}
