//! Which node owns which key: the shard map, from `init`'s `node_ids`.
//!
//! A key's owner is `node_ids[fnv1a_64(key) % node_ids.len()]`, with FNV-1a over the key's
//! UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the same owner on
//! every machine, toolchain and run, unlike std's `DefaultHasher`. Every node is told the
//! same `node_ids` in the same order, so every node agrees on every owner. One node (the
//! default) owns every key.

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits, over `bytes`.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// The cluster as one node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardMap {
    /// Every node's id, in `init`'s order.
    nodes: Vec<String>,
    /// This node's index in `nodes`.
    me: usize,
}

impl ShardMap {
    /// What is wrong with `node_ids` as node `me`'s cluster, if anything: a list that
    /// does not name `me`, or names a node twice, would have nodes disagree on owners
    /// (an empty list is a cluster of one, as it always was).
    pub fn problem(me: &str, node_ids: &[String]) -> Option<String> {
        if node_ids.is_empty() {
            return None;
        }
        if !node_ids.iter().any(|id| id == me) {
            return Some(format!("node_ids does not name this node `{}`", crate::clip::clip(me)));
        }
        let mut sorted: Vec<&String> = node_ids.iter().collect();
        sorted.sort();
        let twice = sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
        twice.map(|id| format!("node_ids names `{}` twice", crate::clip::clip(id)))
    }

    /// The map of node `me` in a cluster of `node_ids` (checked by [`ShardMap::problem`]
    /// first); a node missing from its own `node_ids` (or an empty list) is a cluster of one.
    pub fn new(me: &str, node_ids: &[String]) -> ShardMap {
        match node_ids.iter().position(|id| id == me) {
            Some(index) => ShardMap { nodes: node_ids.to_vec(), me: index },
            None => ShardMap { nodes: vec![me.to_owned()], me: 0 },
        }
    }

    /// Planted bug `self-in-sorted-ids` (see [`crate::Bug::SelfInSortedIds`]): this
    /// node's position taken among the names sorted, not in `init`'s order. Named
    /// `planted*` so that a mutation run leaves it out.
    pub fn planted_me_in_sorted(mut self) -> ShardMap {
        let mut sorted: Vec<&String> = self.nodes.iter().collect();
        sorted.sort();
        let me = &self.nodes[self.me];
        self.me = sorted.iter().position(|id| *id == me).unwrap_or(self.me);
        self
    }

    /// Whether more than one node shares the keys.
    pub fn is_cluster(&self) -> bool {
        self.nodes.len() > 1
    }

    /// The index of the node that owns `key`.
    pub fn owner(&self, key: &str) -> usize {
        (fnv1a_64(key.as_bytes()) % self.nodes.len() as u64) as usize
    }

    pub fn is_mine(&self, key: &str) -> bool {
        self.owner(key) == self.me
    }

    pub fn me(&self) -> usize {
        self.me
    }

    pub fn name(&self, index: usize) -> &str {
        &self.nodes[index]
    }

    /// The members, in order, for an error text: each name clipped, and the list cut
    /// (the rest counted) once it is longer than [`crate::clip::ECHO_MAX_BYTES`].
    pub fn describe(&self) -> String {
        let mut text = String::from("[");
        for (i, name) in self.nodes.iter().enumerate() {
            if text.len() > crate::clip::ECHO_MAX_BYTES {
                text.push_str(&format!("... ({} more)", self.nodes.len() - i));
                break;
            }
            text.push_str(&crate::clip::clip(name));
            if i + 1 < self.nodes.len() {
                text.push_str(", ");
            }
        }
        text.push(']');
        text
    }

    /// The index of the node called `id`, if it is a member.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of FNV-1a 64 (Fowler, Noll, Vo).
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_node_agrees_on_every_owner_and_keys_spread() {
        let ids: Vec<String> = ["n1", "n2", "n3"].iter().map(|s| s.to_string()).collect();
        let maps: Vec<ShardMap> = ids.iter().map(|me| ShardMap::new(me, &ids)).collect();
        let mut per_node = [0; 3];
        for k in 0..300 {
            let key = format!("r{k}");
            let owners: Vec<usize> = maps.iter().map(|m| m.owner(&key)).collect();
            assert!(owners.windows(2).all(|w| w[0] == w[1]), "{key}: {owners:?}");
            assert_eq!(maps.iter().filter(|m| m.is_mine(&key)).count(), 1, "{key}");
            per_node[owners[0]] += 1;
        }
        assert!(per_node.iter().all(|&n| n > 60), "{per_node:?}");
    }

    #[test]
    fn a_list_that_misses_this_node_or_repeats_one_is_a_problem() {
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        assert_eq!(ShardMap::problem("n1", &ids(&[])), None);
        assert_eq!(ShardMap::problem("n1", &ids(&["n1", "n2"])), None);
        let missing = ShardMap::problem("n3", &ids(&["n1", "n2"])).expect("a problem");
        assert!(missing.contains("does not name this node `n3`"), "{missing}");
        let twice = ShardMap::problem("n1", &ids(&["n1", "n2", "n1"])).expect("a problem");
        assert!(twice.contains("names `n1` twice"), "{twice}");
    }

    #[test]
    fn the_planted_sorted_self_index_is_right_only_where_inits_order_is_sorted() {
        // self-in-sorted-ids: n1..n9 in order (the simulator's old fixed shape) sort as
        // they stand, so every node still finds itself; n10 or any shuffle does not.
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        let me_of = |ids: &[String], me: &str| ShardMap::new(me, ids).planted_me_in_sorted().me();
        let fixed = ids(&["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"]);
        assert!(fixed.iter().enumerate().all(|(i, me)| me_of(&fixed, me) == i));
        let ten: Vec<String> = (1..=10).map(|n| format!("n{n}")).collect();
        assert_eq!(me_of(&ten, "n2"), 2, "n10 sorts before n2");
        let drawn = ids(&["n26", "n16", "n39"]);
        assert_eq!([0, 1, 2].map(|i| me_of(&drawn, &drawn[i])), [1, 0, 2]);
    }

    #[test]
    fn one_node_owns_everything() {
        let alone = ShardMap::new("n1", &[]);
        assert!(!alone.is_cluster() && alone.is_mine("anything"));
        let stray = ShardMap::new("n9", &["n1".to_string(), "n2".to_string()]);
        assert!(!stray.is_cluster() && stray.is_mine("x"));
    }
}
