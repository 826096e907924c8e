//! What each node of a cluster may hold reserved, as far as the messages show, for the
//! rule `conflict-without-reservation`: error 30 to a read says that a transaction
//! prepared on that node will write the key (docs/protocol.md, "Errors" and "The
//! cluster"). A node that says it of any other key refuses work it could do: a store
//! that turned away every read while anything at all was prepared was correct by every
//! other rule, only unavailable, and no sweep could see it.
//!
//! Messages are seen as they are sent, never as they are handled, so this errs towards
//! holding: a key counts as reserved from the moment a prepare (or a client's commit, for
//! a coordinator's own part) that writes it is sent the node, until the node says the
//! reservation ended. A node that voted no holds nothing of that prepare until it votes
//! yes; an acknowledged decision ends it; so does the node's answer to the commit it
//! coordinates (a decision, or error 14 or 30). Anything else (a crash, a query's
//! answer, an indefinite error) leaves it held. A reply leaves a node in the order it was
//! produced, so a refusal made while a reservation stood is sent before the message
//! that ends it. A yes vote holds the keys again, even after an acknowledged decision: a
//! decision that overtook its prepare is acknowledged and does nothing, and the prepare
//! arriving after it reserves and votes (the coordinator then decides again).
//!
//! A restart may bring back what had ended: a participant may acknowledge an abort before
//! it is durable (presumed abort), then recover the prepare from its log and hold it in
//! doubt until a query settles it. So a restart holds again every part the node had
//! released, until the node serves a read of the key: then nothing recovered holds it
//! (what was pending when the node went down stays held as it was).

use std::collections::{BTreeMap, BTreeSet};

use node::protocol::{error_code, Payload};

/// Whether `payload` is error 30 (txn-conflict).
pub fn is_conflict(payload: &Payload) -> bool {
    matches!(payload, Payload::Error { code, .. } if *code == error_code::TXN_CONFLICT)
}

/// Whether a transaction's part may hold its keys on a node now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Hold {
    /// It may: a prepare or commit is on its way or was taken, nothing ended it since.
    #[default]
    Held,
    /// It ended, as far as the node said.
    Ended,
    /// It ended, and the node restarted since: its log may have brought it back.
    Recovered,
}

/// One transaction's part on one node.
#[derive(Default)]
struct Part {
    /// The keys it writes there.
    keys: BTreeSet<String>,
    hold: Hold,
}

/// Which side of a transaction a part is: a node may coordinate a transaction and be
/// sent a prepare of the same id (a client names its own ids and may fail over), and
/// the two end apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The coordinator's own keys of a client's commit.
    Coordinator,
    /// A prepare another node sent.
    Participant,
}

/// Per node, the transactions that may hold keys there.
pub struct Reservations {
    nodes: Vec<BTreeMap<(String, Side), Part>>,
    /// Reads one node forwarded another, by `(sender, msg_id)`: their keys.
    forwarded_reads: BTreeMap<(usize, u64), String>,
}

impl Reservations {
    pub fn new(nodes: usize) -> Reservations {
        Reservations {
            nodes: (0..nodes).map(|_| BTreeMap::new()).collect(),
            forwarded_reads: BTreeMap::new(),
        }
    }

    /// Transaction `txn_id` may reserve `keys` on node `node` (a prepare sent to it, or a
    /// client's commit it coordinates, with the keys it owns).
    pub fn may_reserve(
        &mut self,
        node: usize,
        txn_id: &str,
        side: Side,
        keys: impl Iterator<Item = String>,
    ) {
        let part = self.nodes[node].entry((txn_id.to_owned(), side)).or_default();
        part.keys.extend(keys);
        part.hold = Hold::Held;
    }

    /// Node `node` restarted: what it had released may be back (see the module's text).
    /// Its new life may number its messages from 0 again, so the reads it forwarded
    /// before are forgotten (an answer to one of them is an answer to nothing).
    pub fn restarted(&mut self, node: usize) {
        for part in self.nodes[node].values_mut().filter(|part| part.hold == Hold::Ended) {
            part.hold = Hold::Recovered;
        }
        self.forwarded_reads.retain(|&(asker, _), _| asker != node);
    }

    /// Node `node` served a read of `key`: nothing its log brought back holds the key.
    pub fn read_served(&mut self, node: usize, key: &str) {
        for part in self.nodes[node].values_mut() {
            if part.hold == Hold::Recovered && part.keys.contains(key) {
                part.hold = Hold::Ended;
            }
        }
    }

    fn set(&mut self, node: usize, txn_id: &str, side: Side, hold: Hold) {
        if let Some(part) = self.nodes[node].get_mut(&(txn_id.to_owned(), side)) {
            part.hold = hold;
        }
    }

    /// Node `node` sent `payload` to another node (`to`, by process index).
    pub fn between_nodes(
        &mut self,
        node: usize,
        to: usize,
        msg_id: Option<u64>,
        payload: &Payload,
    ) {
        match payload {
            Payload::TxnPrepare { txn_id, writes, .. } => {
                let keys = writes.iter().map(|w| w.key.clone());
                self.may_reserve(to, txn_id, Side::Participant, keys)
            }
            Payload::TxnPrepareOk { txn_id, vote, .. } => {
                let hold = if *vote { Hold::Held } else { Hold::Ended };
                self.set(node, txn_id, Side::Participant, hold)
            }
            Payload::TxnDecideOk { txn_id } => {
                self.set(node, txn_id, Side::Participant, Hold::Ended)
            }
            Payload::OccRead { key, .. } => {
                if let Some(msg_id) = msg_id {
                    self.forwarded_reads.insert((node, msg_id), key.clone());
                }
            }
            _ => {}
        }
    }

    /// Node `node` answered the commit of `txn_id` it coordinates with `payload`.
    pub fn commit_answered(&mut self, node: usize, txn_id: &str, payload: &Payload) {
        let ends = match payload {
            Payload::OccCommitOk { .. } => true,
            Payload::Error { code, .. } => *code == error_code::ABORT || is_conflict(payload),
            _ => false,
        };
        if ends {
            self.set(node, txn_id, Side::Coordinator, Hold::Ended);
        }
    }

    /// The key of the read that node process `asker` forwarded as `msg_id`, now answered
    /// (once).
    pub fn forwarded_read(&mut self, asker: usize, msg_id: u64) -> Option<String> {
        self.forwarded_reads.remove(&(asker, msg_id))
    }

    /// Whether a transaction may hold `key` reserved on node `node` now.
    pub fn holds(&self, node: usize, key: &str) -> bool {
        self.nodes[node].values().any(|part| part.hold != Hold::Ended && part.keys.contains(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node::protocol::KeyValue;

    fn prepare(txn_id: &str, key: &str) -> Payload {
        let writes = vec![KeyValue { key: key.into(), value: "v".into() }];
        Payload::TxnPrepare { txn_id: txn_id.into(), writes, read_versions: Vec::new() }
    }

    fn vote(txn_id: &str, yes: bool) -> Payload {
        Payload::TxnPrepareOk {
            txn_id: txn_id.into(),
            vote: yes,
            versions: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn a_prepare_holds_its_keys_until_its_decision_is_acknowledged() {
        let mut r = Reservations::new(2);
        r.between_nodes(0, 1, Some(5), &prepare("t1.n1", "x"));
        assert!(r.holds(1, "x") && !r.holds(1, "y") && !r.holds(0, "x"));
        r.between_nodes(1, 0, Some(9), &vote("t1.n1", true));
        assert!(r.holds(1, "x"));
        r.between_nodes(1, 0, Some(10), &Payload::TxnDecideOk { txn_id: "t1.n1".into() });
        assert!(!r.holds(1, "x"));
    }

    #[test]
    fn a_prepare_that_arrives_after_its_decision_holds_its_keys_again() {
        let mut r = Reservations::new(2);
        r.between_nodes(0, 1, Some(5), &prepare("t1.n1", "x"));
        r.between_nodes(1, 0, Some(9), &Payload::TxnDecideOk { txn_id: "t1.n1".into() });
        assert!(!r.holds(1, "x"));
        r.between_nodes(1, 0, Some(10), &vote("t1.n1", true));
        assert!(r.holds(1, "x"));
    }

    #[test]
    fn a_no_vote_holds_nothing_until_a_later_copy_votes_yes() {
        let mut r = Reservations::new(2);
        r.between_nodes(0, 1, Some(5), &prepare("t1.n1", "x"));
        r.between_nodes(1, 0, Some(9), &vote("t1.n1", false));
        assert!(!r.holds(1, "x"));
        r.between_nodes(1, 0, Some(11), &vote("t1.n1", true));
        assert!(r.holds(1, "x"));
    }

    #[test]
    fn a_coordinators_own_part_ends_with_its_answer_but_not_an_unknown_one() {
        let mut r = Reservations::new(1);
        r.may_reserve(0, "t1.n1", Side::Coordinator, ["x".to_string()].into_iter());
        // A prepare of the same id (a client that failed over) is another part.
        r.may_reserve(0, "t1.n1", Side::Participant, ["y".to_string()].into_iter());
        let unknown = Payload::Error { code: 1000, text: String::new() };
        r.commit_answered(0, "t1.n1", &unknown);
        assert!(r.holds(0, "x"));
        let aborted = Payload::Error { code: error_code::ABORT, text: String::new() };
        r.commit_answered(0, "t1.n1", &aborted);
        assert!(!r.holds(0, "x") && r.holds(0, "y"));
    }

    #[test]
    fn a_restart_may_bring_back_what_ended_until_the_key_is_read() {
        let mut r = Reservations::new(2);
        r.between_nodes(0, 1, Some(5), &prepare("t1.n1", "x"));
        r.between_nodes(1, 0, Some(9), &Payload::TxnDecideOk { txn_id: "t1.n1".into() });
        r.between_nodes(0, 1, Some(6), &prepare("t2.n1", "y"));
        r.restarted(1);
        // The acknowledged abort may not have been durable: x may be held in doubt; y's
        // prepare was pending, and stays held whatever is read.
        assert!(r.holds(1, "x") && r.holds(1, "y"));
        r.read_served(1, "x");
        r.read_served(1, "y");
        assert!(!r.holds(1, "x") && r.holds(1, "y"));
    }

    #[test]
    fn a_forwarded_reads_key_is_found_by_its_asker_and_msg_id_once() {
        let mut r = Reservations::new(2);
        let read = Payload::OccRead { txn_id: "t1.n1".into(), key: "x".into() };
        r.between_nodes(0, 1, Some(7), &read);
        assert_eq!(r.forwarded_read(1, 7), None);
        assert_eq!(r.forwarded_read(0, 7).as_deref(), Some("x"));
        assert_eq!(r.forwarded_read(0, 7), None);
        // A restarted node may number from 0 again: msg 8 of its last life is forgotten.
        r.between_nodes(
            0,
            1,
            Some(8),
            &Payload::OccRead { txn_id: "t2.n1".into(), key: "y".into() },
        );
        r.restarted(0);
        assert_eq!(r.forwarded_read(0, 8), None);
    }
}
