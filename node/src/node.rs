//! The state machine: one message in, zero or one replies out.
//!
//! Dispatch order for a message: expire state due by `now`; ignore replies (a node never
//! answers a reply or error, which could ping-pong forever between nodes); answer unknown
//! types with 10 and malformed ones with 12; answer anything but `init` with 11 until the
//! node is initialised; otherwise serve it.

use crate::protocol::{error_code, is_reply_type, Body, Envelope, KeyValue, KeyVersion, Payload};
use crate::store::Store;
use crate::txns::{Lookup, Outcome, TxnTable};

/// How long the node remembers transactions, in virtual microseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// How long after `occ_begin` an uncommitted transaction (and the reads it recorded) is
    /// kept. Default 10 s: far longer than any client should take between begin and commit.
    pub txn_ttl_us: u64,
    /// How long after a commit its answer is kept for retries. Default 60 s: longer than
    /// any sane client retry window.
    pub outcome_ttl_us: u64,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig { txn_ttl_us: 10_000_000, outcome_ttl_us: 60_000_000 }
    }
}

/// An OCC key-value node. Feed it messages with [`Node::handle`] and the passing of time
/// with [`Node::tick`]; it appends its replies to the caller's outbox.
#[derive(Clone, Debug)]
pub struct Node {
    /// `None` until `init`.
    node_id: Option<String>,
    next_msg_id: u64,
    store: Store,
    txns: TxnTable,
}

impl Node {
    pub fn new(config: NodeConfig) -> Node {
        Node {
            node_id: None,
            next_msg_id: 0,
            store: Store::default(),
            txns: TxnTable::new(config.txn_ttl_us, config.outcome_ttl_us),
        }
    }

    /// A message arrived at virtual time `now_us`. Pushes at most one reply onto `outbox`.
    pub fn handle(&mut self, now_us: u64, envelope: Envelope, outbox: &mut Vec<Envelope>) {
        // Expiring here too makes the answers independent of how often the driver ticks.
        self.txns.expire(now_us);
        let Envelope { src, dest, body } = envelope;
        let Body { msg_id, payload, .. } = body;
        let Some(reply) = self.answer(now_us, payload) else { return };
        let from = self.node_id.clone().unwrap_or(dest);
        let envelope = Envelope {
            src: from,
            dest: src,
            body: Body { msg_id: Some(self.next_msg_id), in_reply_to: msg_id, payload: reply },
        };
        self.next_msg_id += 1;
        outbox.push(envelope);
    }

    /// Virtual time passed: forgets transactions and outcomes whose TTL ran out. Sends
    /// nothing today; it takes the outbox so that later timers (retries) need no API change.
    pub fn tick(&mut self, now_us: u64, _outbox: &mut Vec<Envelope>) {
        self.txns.expire(now_us);
    }

    /// The earliest virtual time at which [`Node::tick`] has work to do. It may be early
    /// (a transaction that committed still has its expiry queued), never late.
    pub fn next_deadline(&self) -> Option<u64> {
        self.txns.next_deadline()
    }

    /// (open transactions, remembered outcomes, queued expiries): lets tests check that
    /// memory stays bounded.
    #[doc(hidden)]
    pub fn table_sizes(&self) -> (usize, usize, usize) {
        self.txns.sizes()
    }

    fn answer(&mut self, now_us: u64, payload: Payload) -> Option<Payload> {
        let reply = match payload {
            Payload::InitOk
            | Payload::OccBeginOk { .. }
            | Payload::OccReadOk { .. }
            | Payload::OccCommitOk { .. }
            | Payload::Error { .. } => return None,
            Payload::Malformed { type_name, .. } | Payload::Unknown { type_name }
                if is_reply_type(&type_name) =>
            {
                return None;
            }
            Payload::Unknown { type_name } => {
                error(error_code::NOT_SUPPORTED, format!("unsupported message type `{type_name}`"))
            }
            Payload::Malformed { type_name, reason } => {
                error(error_code::MALFORMED_REQUEST, format!("malformed {type_name}: {reason}"))
            }
            Payload::Init { node_id, node_ids: _ } => self.init(node_id),
            _ if self.node_id.is_none() => error(
                error_code::TEMPORARILY_UNAVAILABLE,
                "node not initialised: send init first".to_owned(),
            ),
            Payload::OccBegin => self.begin(now_us),
            Payload::OccRead { txn_id, key } => self.read(txn_id, key),
            Payload::OccCommit { txn_id, writes, read_versions } => {
                self.commit(now_us, txn_id, writes, read_versions)
            }
        };
        Some(reply)
    }

    fn init(&mut self, node_id: String) -> Payload {
        match &self.node_id {
            // A repeated init (its reply was lost) is answered again.
            Some(current) if *current == node_id => Payload::InitOk,
            Some(current) => error(
                error_code::PRECONDITION_FAILED,
                format!("already initialised as `{current}`, not `{node_id}`"),
            ),
            None => {
                self.node_id = Some(node_id);
                Payload::InitOk
            }
        }
    }

    fn begin(&mut self, now_us: u64) -> Payload {
        match self.txns.begin(now_us) {
            Some(n) => Payload::OccBeginOk { txn_id: format!("t{n}") },
            None => {
                error(error_code::TEMPORARILY_UNAVAILABLE, "transaction ids exhausted".to_owned())
            }
        }
    }

    /// Reads are always served: a read changes nothing, and whatever the transaction's
    /// state, its commit is validated. Only an open transaction records the read.
    fn read(&mut self, txn_id: String, key: String) -> Payload {
        let (value, version) = self.store.read(&key);
        let value = value.map(str::to_owned);
        match self.txns.open_mut(&txn_id) {
            Some(txn) => txn.reads.push((key, version)),
            None => self.txns.mark_used(&txn_id),
        }
        Payload::OccReadOk { value, version }
    }

    fn commit(
        &mut self,
        now_us: u64,
        txn_id: String,
        writes: Vec<KeyValue>,
        read_versions: Vec<KeyVersion>,
    ) -> Payload {
        let recorded = match self.txns.lookup(&txn_id) {
            Lookup::Finished(outcome) => return outcome.to_payload(),
            Lookup::Expired => {
                return error(
                    error_code::TXN_STATE_EXPIRED,
                    format!(
                        "state of transaction `{txn_id}` expired: it may or may not have committed"
                    ),
                )
            }
            Lookup::Open => self.txns.take_open(&txn_id).map(|t| t.reads).unwrap_or_default(),
            Lookup::Unknown => Default::default(),
        };
        let checks = read_versions
            .iter()
            .map(|r| (r.key.as_str(), r.version))
            .chain(recorded.iter().map(|(k, v)| (k.as_str(), *v)));
        let conflicts = self.store.validate(checks);
        let outcome = if conflicts.is_empty() {
            Outcome::Committed(self.store.apply(writes))
        } else {
            Outcome::Aborted(conflicts)
        };
        let reply = outcome.to_payload();
        self.txns.finish(now_us, &txn_id, outcome);
        reply
    }
}

fn error(code: u32, text: String) -> Payload {
    Payload::Error { code, text }
}
