//! Protocol conformance, checked on every message the store sends: what the history
//! cannot show because a client turned it into "failed" or "unknown".
//!
//! - `node-msg-id`: the store numbers its messages, each `msg_id` larger than the last
//!   (a restarted node numbers from 0 again: it is a new process).
//! - `reply-to-unknown-request`: every reply's `in_reply_to` names a request its
//!   recipient sent to the store, and `reply-type-mismatch`: answers it with the
//!   matching reply (or an error).
//! - `spurious-abort`: an aborted commit names at least one conflict, and each one is
//!   real: the actual version is above the expected one, and is a version that can exist:
//!   one the store announced before, or one a commit whose reply a crash lost unsent
//!   installed (every version is installed by a commit, whose reply says so, unless the
//!   store crashed first and its disk kept the write).
//! - `contradicting-answers`: a retried commit never gets another answer than the first.
//! - `commit-answer-mismatch`: a commit's answer names a version for exactly the keys the
//!   commit writes (an answer for other keys is another transaction's).
//! - `forgotten-outcome`: within the store's outcome window (`outcome_ttl_us` after the
//!   first answer, on the store's clock) a retried commit gets its first answer, never
//!   "unknown": an indeterminate result the store could have avoided.
//!
//! - `memory-bound`: after every step each table of the store's state that grows with
//!   requests (`node::Node::table_sizes`, which names every field of the state, so a new
//!   table does not compile until it is counted) holds no more than the bound its TTLs
//!   imply, and the violation names the table. Bounds count requests delivered to that
//!   node on its clock: open transactions and their expiries at most the begins within
//!   `txn_ttl_us`; remembered outcomes and theirs at most the commits within
//!   `outcome_ttl_us` (in a cluster, plus the prepare timeout: a coordinator records an
//!   outcome when it decides; and a `txn_query` counts as a commit, since presuming abort
//!   may record one); a participant's resolved outcomes and theirs at most what could
//!   resolve a transaction within the same window (decisions, answered queries, a
//!   client's commits, doubts a restart restored); commits in flight at most the client
//!   commits within twice the prepare timeout; forwards at most the client reads within
//!   the transaction TTL and each client commit's sends. Prepared transactions and
//!   unacknowledged decisions live until an event no TTL bounds (a decision, every
//!   acknowledgement), which a long isolation may hold back: they are bounded by what
//!   could have filled them since the node last held none, and a leak of theirs is a
//!   liveness failure (the final read waits until no node holds either). A table that
//!   never forgets is a leak no history shows. (Deliveries, not answers: an answer may
//!   wait for a sync, and a crash may lose it while the outcome it announces survives.)
//! - `version-regressed`: a read never returns a version of a key older than one the store
//!   already announced (in a commit's answer or an earlier read). Whatever the store said
//!   is durable, so no crash may take it back: this is where an acknowledged write that a
//!   restart lost shows first.
//! - `txn-id-reused`: the ids `occ_begin` hands out only grow, across restarts too, so no
//!   id is ever issued twice.
//!
//! - `request-unanswered`: every request sent once the network healed (nothing is lost
//!   then) is answered by the end of the run; a message of a reply's type never is.
//! - `answered-before-init`: until the simulator's `init` reaches it, the store answers
//!   a begin, read or commit with error 11 only.
//! - an `init` naming the node's own id and membership again is answered `init_ok`;
//!   another id, or another membership (other nodes, or the same in another order), is
//!   refused with error 22 (`reply-type-mismatch` otherwise).
//! - `unowned-key-served`: a read, one-phase commit or prepare the simulator sends a
//!   cluster node in another node's name, naming a key the node does not own, is refused
//!   with error 22 (or 11 before `init`), never served (see `World::misroute`).
//! - `request-to-non-owner`: a read, one-phase commit or prepare one node sends another
//!   names only keys the other owns by `init`'s `node_ids`, in the order given (the
//!   simulator draws it): a node that routes by another map splits a key between owners.
//! - the conflicts of an abort are each named once, in key order (as `validate` promises).
//! - `conflict-without-reservation`: (the shipped store's cluster) a read refused with
//!   error 30 names a key a transaction prepared on that node writes (see
//!   [`super::reservations`]).
//!
//! Messages are observed as they are sent, once each (the network's duplicates are
//! deliveries of one send), so nothing here depends on faults.
//!
//! In a cluster each node is checked as a store of its own (its numbering, its `init`,
//! its ids, its tables), while what is true of data is checked across the cluster:
//! versions announced by any node (a key has one owner), answers per transaction id (ids
//! name their coordinator). Messages between nodes are not the protocol clients see;
//! what they say of versions counts as "can exist": an owner's answer to a forwarded
//! commit and a participant's yes vote name versions that may be installed although no
//! client is ever told (the coordinator may crash first).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use node::protocol::{error_code, is_reply_type, Body, Envelope, Payload};

use crate::check::invariants::Violation;
use crate::check::report::format_ms;
use crate::world::membership;
use crate::world::reservations::{self, Reservations, Side};

/// Violations kept per run: the first few say what is wrong; the rest are counted.
const VIOLATIONS_MAX: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Begin,
    Read,
    Commit,
    /// Something the store must refuse with this error code.
    Refuse(u32),
    /// The store's own `init` again, as a retry would send it: `init_ok`.
    ReInit,
    /// A message of a reply's type: never answered (two nodes would ping-pong).
    Ignore,
    Other,
}

struct CommitRequest {
    txn_id: String,
    /// The distinct keys the commit writes, sorted.
    written: Vec<String>,
}

/// What is checked of each node on its own.
#[derive(Default)]
struct NodeState {
    /// Node-clock times of the begins and the commits delivered to it, within their TTLs.
    begins_us: VecDeque<u64>,
    commits_us: VecDeque<u64>,
    /// Node-clock times of a client's reads and commits delivered to it (in a cluster it
    /// coordinates them: forwards, commits in flight, its own part of a two-phase commit),
    /// and of what may resolve a transaction prepared here (a `txn_decide`, a
    /// `txn_query_ok`, each doubt a restart restored).
    reads_us: VecDeque<u64>,
    client_commits_us: VecDeque<u64>,
    resolves_us: VecDeque<u64>,
    /// What may have been prepared here, and decided here, since the node last reported
    /// none: the tables no TTL bounds (see [`Conformance::table_sizes`]).
    prepares_since_empty: usize,
    decisions_since_empty: usize,
    /// The smallest `msg_id` the node may use next.
    next_msg_id: u64,
    /// The simulator's `init` has reached the node.
    initialised: bool,
    /// The largest own-form id number (`t<n>`, or `t<n>.<node>`) a begin was answered with.
    largest_begun: Option<u64>,
}

pub struct Conformance {
    txn_ttl_us: u64,
    outcome_ttl_us: u64,
    /// Per node, by process index (nodes are processes `0..n`).
    nodes: Vec<NodeState>,
    /// Per process index: the kind of each request it sent the store, by `msg_id`
    /// (clients number their messages densely from 0).
    requests: Vec<Vec<Request>>,
    /// `(process, msg_id)` of each commit request.
    commits: BTreeMap<(usize, u64), CommitRequest>,
    /// `(process, msg_id)` -> key of each read request and, in a cluster, the version of
    /// it announced when the request was sent (see [`Conformance::read_reply`]).
    reads: BTreeMap<(usize, u64), (String, Option<u64>)>,
    /// Per `txn_id`: the first definite answer (committed?) and when, on the store's clock.
    answers: BTreeMap<String, (bool, u64)>,
    /// Per key: the largest version the store announced (in a reply it sent).
    announced: BTreeMap<String, u64>,
    /// Per key: the largest version a commit reply that a crash lost unsent would have
    /// announced: such a version may exist, if the disk kept the commit.
    unsent: BTreeMap<String, u64>,
    violations: Vec<Violation>,
    /// Violations found beyond [`VIOLATIONS_MAX`].
    more: u64,
    /// The history's length, to place a violation among its events.
    history_len: u64,
    /// `(process, msg_id)` of requests sent on a healed network and not answered yet.
    unanswered: BTreeSet<(usize, u64)>,
    /// The cluster's `node_ids`, as the simulator's `init` names them (empty: unknown, a
    /// node alone).
    node_ids: Vec<String>,
    /// Whether a commit's answer may leave out its versions (see
    /// [`Conformance::with_optional_versions`]).
    versions_optional: bool,
    /// Whether every version that may exist was seen announced or held (see
    /// [`Conformance::with_unseen_versions`]).
    versions_seen: bool,
    /// The nodes' names by process index, for explanations (empty: `n1`, `n2`, ...).
    node_names: Vec<std::sync::Arc<str>>,
    /// The misrouted requests the simulator sent in a node's name (see
    /// [`Conformance::misrouted`]), by `msg_id`: what each names, for the explanation.
    misrouted: BTreeMap<u64, Misrouted>,
    /// What each node may hold reserved, where the node-to-node protocol is the shipped
    /// store's (see [`Conformance::with_known_reservations`]).
    reservations: Option<Reservations>,
}

/// A request for a key its recipient does not own, sent in another node's name.
struct Misrouted {
    /// The node it was sent to.
    node: usize,
    type_name: &'static str,
    key: String,
    owner: String,
}

impl Conformance {
    /// Checks a world of `processes` processes, the first `nodes` of them store nodes.
    pub fn new(
        processes: usize,
        nodes: usize,
        txn_ttl_us: u64,
        outcome_ttl_us: u64,
    ) -> Conformance {
        Conformance {
            versions_optional: false,
            versions_seen: true,
            txn_ttl_us,
            outcome_ttl_us,
            nodes: (0..nodes).map(|_| NodeState::default()).collect(),
            requests: vec![Vec::new(); processes],
            commits: BTreeMap::new(),
            reads: BTreeMap::new(),
            answers: BTreeMap::new(),
            announced: BTreeMap::new(),
            unsent: BTreeMap::new(),
            violations: Vec::new(),
            more: 0,
            history_len: 0,
            unanswered: BTreeSet::new(),
            node_ids: Vec::new(),
            node_names: Vec::new(),
            misrouted: BTreeMap::new(),
            reservations: None,
        }
    }

    /// Whether the cluster's nodes speak the shipped store's protocol to each other, so
    /// that its prepares and decisions show what each node holds reserved and a read
    /// refused with error 30 can be judged (`conflict-without-reservation`).
    pub fn with_known_reservations(mut self, known: bool) -> Conformance {
        let nodes = self.nodes.len();
        self.reservations = (known && nodes > 1).then(|| Reservations::new(nodes));
        self
    }

    /// The cluster's membership, as the simulator's `init` names it: an `init` naming
    /// another is refused (22), never acknowledged.
    pub fn with_node_ids(mut self, node_ids: Vec<String>) -> Conformance {
        self.node_ids = node_ids;
        self
    }

    /// The nodes' names, by process index: explanations name a node by its name.
    /// A store binary may answer a commit without per-key versions and an abort without
    /// its conflicts (as the task this protocol comes from does): such an answer is no
    /// `commit-answer-mismatch` or `spurious-abort`.
    pub fn with_optional_versions(mut self, optional: bool) -> Conformance {
        self.versions_optional = optional;
        self
    }

    /// A store binary's messages between its nodes are its own protocol, and the replies
    /// it holds at a crash are not known: a version may exist that no message the harness
    /// understands announced, so an abort naming one is not called spurious.
    pub fn with_unseen_versions(mut self, unseen: bool) -> Conformance {
        self.versions_seen = !unseen;
        self
    }

    pub fn with_node_names(mut self, names: &[String]) -> Conformance {
        self.node_names = names.iter().map(|name| std::sync::Arc::from(name.as_str())).collect();
        self
    }

    /// The simulator sent node `node`, in another node's name, `envelope`: a request for
    /// `key`, which `owner` owns. Its answer must be a refusal (see
    /// [`Conformance::misrouted_answer`]).
    pub fn misrouted(&mut self, node: usize, envelope: &Envelope, key: &str, owner: &str) {
        let Some(msg_id) = envelope.body.msg_id else { return };
        let type_name = match envelope.body.payload {
            Payload::OccRead { .. } => "occ_read",
            Payload::OccCommit { .. } => "occ_commit",
            Payload::TxnPrepare { .. } => "txn_prepare",
            _ => "request",
        };
        let misrouted = Misrouted { node, type_name, key: key.to_owned(), owner: owner.to_owned() };
        self.misrouted.insert(msg_id, misrouted);
    }

    /// Node `node` answered a misrouted request with `envelope`, if it is one's answer
    /// (`in_reply_to` names it; the answer goes nowhere else): whether it was. The answer
    /// must be error 22, nothing done (or 11, from a node not initialised yet).
    pub fn misrouted_answer(&mut self, node: usize, envelope: &Envelope) -> bool {
        let Some(msg_id) = envelope.body.in_reply_to else { return false };
        let Some(request) = self.misrouted.get(&msg_id).filter(|m| m.node == node) else {
            return false;
        };
        let refused = matches!(
            envelope.body.payload,
            Payload::Error { code, .. }
                if code == error_code::PRECONDITION_FAILED
                    || code == error_code::TEMPORARILY_UNAVAILABLE
        );
        if !refused {
            let explanation = format!(
                "{} answered {} naming {}, which {} owns, with {}: a node must refuse (error 22) another node's request for a key it does not own, and do nothing of it",
                self.who(node),
                request.type_name,
                request.key,
                request.owner,
                envelope.body.payload.type_name()
            );
            self.violation("unowned-key-served", explanation);
        }
        true
    }

    /// The simulator's `init` has reached node `node` at `node_local_us`, and it holds
    /// `sizes`: after a restart, what its log restored. Each transaction in doubt may be
    /// resolved from now on (its own at once), and what was prepared or decided before
    /// the crash counts as prepared and decided (a resolution or a forgotten decision
    /// whose record a crash lost comes back).
    pub fn initialised(&mut self, node: usize, node_local_us: u64, sizes: node::TableSizes) {
        let state = &mut self.nodes[node];
        state.initialised = true;
        state.resolves_us.extend(std::iter::repeat_n(node_local_us, sizes.prepared));
        state.prepares_since_empty += sizes.prepared;
        state.decisions_since_empty += sizes.decisions;
    }

    /// Node `node` restarted: a new process, which numbers its messages from 0 and is not
    /// initialised until the simulator's `init` reaches it.
    pub fn restarted(&mut self, node: usize) {
        self.nodes[node].next_msg_id = 0;
        self.nodes[node].initialised = false;
        if let Some(reservations) = &mut self.reservations {
            reservations.restarted(node);
        }
    }

    /// Node `node` sent another `envelope`: the versions it names may exist from now on,
    /// and a request it sends names only keys the other node owns.
    pub fn between_nodes(&mut self, node: usize, envelope: &Envelope) {
        self.routed_to_owner(node, envelope);
        self.reservations_between_nodes(node, envelope);
        match &envelope.body.payload {
            Payload::OccCommitOk { versions, .. } | Payload::TxnPrepareOk { versions, .. } => {
                for v in versions {
                    raise(&mut self.unsent, &v.key, v.version);
                }
            }
            _ => {}
        }
    }

    /// A request between nodes names only keys its recipient owns by `init`'s order
    /// (`request-to-non-owner`). The simulator's own misrouted requests, told to
    /// [`Conformance::misrouted`] first, are not the node's.
    fn routed_to_owner(&mut self, node: usize, envelope: &Envelope) {
        let misrouted = envelope.body.msg_id.is_some_and(|id| self.misrouted.contains_key(&id));
        if self.node_ids.len() < 2 || misrouted {
            return;
        }
        let keys: Vec<&str> = match &envelope.body.payload {
            Payload::OccRead { key, .. } => vec![key.as_str()],
            Payload::OccCommit { writes, read_versions, .. }
            | Payload::TxnPrepare { writes, read_versions, .. } => {
                let written = writes.iter().map(|w| w.key.as_str());
                written.chain(read_versions.iter().map(|r| r.key.as_str())).collect()
            }
            _ => return,
        };
        let owner = |key: &str| membership::owner(key, &self.node_ids);
        let Some(key) = keys.into_iter().find(|&key| owner(key) != envelope.dest) else { return };
        let explanation = format!(
            "{} sent {} naming {key} to {}, but init's node_ids [{}] give {key} to {}: a node must route a key to its owner, the node at the key's position in init's order",
            self.who(node),
            envelope.body.payload.type_name(),
            envelope.dest,
            self.node_ids.join(", "),
            owner(key),
        );
        self.violation("request-to-non-owner", explanation);
    }

    /// How explanations name node `node`, formatted only when a violation is written:
    /// this is asked for on every reply.
    fn who(&self, node: usize) -> Who {
        Who { node, nodes: self.nodes.len(), name: self.node_names.get(node).cloned() }
    }

    /// The store crashed holding these replies for a sync: they were never sent, but the
    /// versions their commits installed may have survived.
    pub fn lost_unsent(&mut self, replies: &[Envelope]) {
        for reply in replies {
            if let Payload::OccCommitOk { versions, .. } = &reply.body.payload {
                for v in versions {
                    raise(&mut self.unsent, &v.key, v.version);
                }
            }
        }
    }

    /// `envelope` was delivered to (running) node `node` at `node_local_us` on its clock:
    /// requests that may fill its tables count towards their bounds from now.
    pub fn delivered(&mut self, node: usize, envelope: &Envelope, node_local_us: u64) {
        let from_client = !self.node_ids.contains(&envelope.src);
        let state = &mut self.nodes[node];
        match envelope.body.payload {
            Payload::OccBegin => state.begins_us.push_back(node_local_us),
            Payload::OccRead { .. } if from_client => state.reads_us.push_back(node_local_us),
            // A query about a transaction the coordinator no longer knows may leave an
            // outcome behind (a presumed abort of a client-named id).
            Payload::OccCommit { .. } | Payload::TxnQuery { .. } => {
                state.commits_us.push_back(node_local_us);
                if from_client && matches!(envelope.body.payload, Payload::OccCommit { .. }) {
                    state.client_commits_us.push_back(node_local_us);
                    state.prepares_since_empty += 1;
                    state.decisions_since_empty += 1;
                }
            }
            Payload::TxnPrepare { .. } => state.prepares_since_empty += 1,
            Payload::TxnDecide { .. } | Payload::TxnQueryOk { .. } => {
                state.resolves_us.push_back(node_local_us)
            }
            _ => {}
        }
    }

    /// The violations found, with a last line counting any beyond the bound.
    pub fn finish(mut self) -> Vec<Violation> {
        for (process, msg_id) in std::mem::take(&mut self.unanswered) {
            let process = process + 1 - self.nodes.len();
            self.violation(
                "request-unanswered",
                format!("the store never answered msg {msg_id} of client c{process}, sent after the network healed"),
            );
        }
        if self.more > 0 {
            let last = self.violations.last().map_or("protocol", |v| v.name);
            self.violations.push(Violation {
                name: last,
                explanation: format!("... and {} more protocol violations", self.more),
                event_index: self.history_len,
                invoke_index: None,
            });
        }
        self.violations
    }

    pub fn set_history_len(&mut self, len: u64) {
        self.history_len = len;
    }

    /// A client (process `source`) sent the store a request; `reliable`: on a healed
    /// network, so that it must be answered.
    pub fn request(&mut self, source: usize, envelope: &Envelope, reliable: bool) {
        let Some(msg_id) = envelope.body.msg_id else { return };
        let kind = match &envelope.body.payload {
            Payload::Unknown { type_name } | Payload::Malformed { type_name, .. }
                if is_reply_type(type_name) =>
            {
                Request::Ignore
            }
            Payload::OccBegin => Request::Begin,
            Payload::OccRead { key, .. } => {
                // In a cluster what a read must not go below is fixed when it is sent.
                let floor =
                    (self.nodes.len() > 1).then(|| self.announced.get(key).copied().unwrap_or(0));
                self.reads.insert((source, msg_id), (key.clone(), floor));
                Request::Read
            }
            Payload::OccCommit { txn_id, writes, .. } => {
                let mut written: Vec<String> = writes.iter().map(|w| w.key.clone()).collect();
                written.sort_unstable();
                written.dedup();
                self.coordinated(&envelope.dest, txn_id, &written);
                let request = CommitRequest { txn_id: txn_id.clone(), written };
                self.commits.insert((source, msg_id), request);
                Request::Commit
            }
            Payload::Unknown { .. } => Request::Refuse(error_code::NOT_SUPPORTED),
            Payload::Malformed { .. } => Request::Refuse(error_code::MALFORMED_REQUEST),
            // The store is initialised before any client speaks: its own id and
            // membership again is a retried init, another id or membership is refused.
            Payload::Init { node_id, node_ids } if *node_id == envelope.dest => {
                if membership::is_malformed(node_id, node_ids) {
                    Request::Refuse(error_code::MALFORMED_REQUEST)
                } else if membership::same_membership(node_id, node_ids, &self.node_ids) {
                    Request::ReInit
                } else {
                    Request::Refuse(error_code::PRECONDITION_FAILED)
                }
            }
            Payload::Init { .. } => Request::Refuse(error_code::PRECONDITION_FAILED),
            _ => Request::Other,
        };
        if reliable && kind != Request::Ignore {
            self.unanswered.insert((source, msg_id));
        }
        let kinds = &mut self.requests[source];
        let Ok(slot) = usize::try_from(msg_id) else { return };
        if kinds.len() <= slot {
            kinds.resize(slot + 1, Request::Other);
        }
        kinds[slot] = kind;
    }

    /// Node `node` sent `envelope` to client process `target` at `node_local_us` on its
    /// clock. Explanations name a client `c<target + 1 - nodes>`, as the world does: a
    /// history's process numbers are another thing.
    pub fn reply(&mut self, node: usize, target: usize, envelope: &Envelope, node_local_us: u64) {
        let body = &envelope.body;
        self.numbered(node, body);
        let Some((in_reply_to, request)) = self.request_answered(node, target, body) else {
            return;
        };
        if !self.answer_allowed(node, target, in_reply_to, request, &body.payload) {
            return;
        }
        match (request, &body.payload) {
            (Request::Begin, Payload::OccBeginOk { txn_id }) => self.begun(node, txn_id),
            (Request::Read, Payload::OccReadOk { version, .. }) => {
                self.read_reply(target, in_reply_to, *version)
            }
            _ => {}
        }
        self.reservations_reply(node, target, in_reply_to, request, &body.payload);
        if request == Request::Commit {
            self.commit_reply(target, in_reply_to, &body.payload, node_local_us);
        }
    }

    /// A client's commit sent node `dest`: the part of it that node owns may be reserved
    /// there (a two-phase commit's own part) until it answers.
    fn coordinated(&mut self, dest: &str, txn_id: &str, written: &[String]) {
        let Some(node) = self.node_index(dest) else { return };
        let Some(reservations) = &mut self.reservations else { return };
        let node_ids = &self.node_ids;
        let owned = written.iter().filter(|key| membership::owner(key, node_ids) == dest);
        reservations.may_reserve(node, txn_id, Side::Coordinator, owned.cloned());
    }

    /// Node `node`'s reply to client process `target`'s request `in_reply_to`: a commit's
    /// answer ends what the node held for it; a read of a key the node owns, served,
    /// shows nothing recovered holds the key, and refused with error 30 must name a
    /// reserved key.
    fn reservations_reply(
        &mut self,
        node: usize,
        target: usize,
        in_reply_to: u64,
        request: Request,
        payload: &Payload,
    ) {
        let Some(reservations) = &mut self.reservations else { return };
        if request == Request::Commit {
            if let Some(commit) = self.commits.get(&(target, in_reply_to)) {
                reservations.commit_answered(node, &commit.txn_id, payload);
            }
        }
        let Some((key, _)) = self.reads.get(&(target, in_reply_to)) else { return };
        let owns = self
            .node_names
            .get(node)
            .is_some_and(|name| membership::owner(key, &self.node_ids) == &**name);
        if !owns {
            return;
        }
        if matches!(payload, Payload::OccReadOk { .. }) {
            reservations.read_served(node, key);
        } else if reservations::is_conflict(payload) && !reservations.holds(node, key) {
            let asker = format!("client c{}'s", target + 1 - self.nodes.len());
            self.unreserved_conflict(node, key.clone(), asker);
        }
    }

    /// The reservation side of a message node `node` sent another: prepares, votes and
    /// acknowledged decisions; a forwarded read served (nothing recovered holds its key)
    /// or refused with error 30, which must name a key reserved on the node refusing it.
    fn reservations_between_nodes(&mut self, node: usize, envelope: &Envelope) {
        let Some(to) = self.node_index(&envelope.dest) else { return };
        let Some(reservations) = &mut self.reservations else { return };
        let body = &envelope.body;
        reservations.between_nodes(node, to, body.msg_id, &body.payload);
        let Some(key) = body.in_reply_to.and_then(|id| reservations.forwarded_read(to, id)) else {
            return;
        };
        if matches!(body.payload, Payload::OccReadOk { .. }) {
            reservations.read_served(node, &key);
        } else if reservations::is_conflict(&body.payload) && !reservations.holds(node, &key) {
            let asker = format!("{}'s forwarded", self.who(to));
            self.unreserved_conflict(node, key, asker);
        }
    }

    fn unreserved_conflict(&mut self, node: usize, key: String, asker: String) {
        let store = self.who(node);
        self.violation(
            "conflict-without-reservation",
            format!(
                "{store} refused {asker} occ_read of {key} with error 30 (txn-conflict), but no transaction prepared there writes {key}: error 30 to a read says one does (docs/protocol.md, Errors)"
            ),
        );
    }

    /// The process index of the node called `name`.
    fn node_index(&self, name: &str) -> Option<usize> {
        self.node_names.iter().position(|n| &**n == name)
    }

    /// Every message node `node` sends has a `msg_id` above the last one's
    /// (`node-msg-id`).
    fn numbered(&mut self, node: usize, body: &Body) {
        match body.msg_id {
            Some(id) if id >= self.nodes[node].next_msg_id => self.nodes[node].next_msg_id = id + 1,
            id => {
                let expected = self.nodes[node].next_msg_id;
                let store = self.who(node);
                self.violation("node-msg-id", format!(
                    "{store} sent {} with msg_id {id:?}; every message needs a msg_id of at least {expected}",
                    body.payload.type_name()
                ));
            }
        }
    }

    /// The request of client process `target` that node `node`'s reply `body` answers:
    /// its `msg_id` and kind, answered from now on. `None` (a `reply-to-unknown-request`)
    /// when the reply names no request, or one the client never sent.
    fn request_answered(
        &mut self,
        node: usize,
        target: usize,
        body: &Body,
    ) -> Option<(u64, Request)> {
        let Some(in_reply_to) = body.in_reply_to else {
            let store = self.who(node);
            self.violation(
                "reply-to-unknown-request",
                format!("{store} sent {} with no in_reply_to", body.payload.type_name()),
            );
            return None;
        };
        let request = usize::try_from(in_reply_to)
            .ok()
            .and_then(|slot| self.requests.get(target).and_then(|kinds| kinds.get(slot)))
            .copied();
        if request.is_some() {
            self.unanswered.remove(&(target, in_reply_to));
        }
        let Some(request) = request else {
            let (store, client) = (self.who(node), target + 1 - self.nodes.len());
            self.violation(
                "reply-to-unknown-request",
                format!(
                    "{store} answered msg {in_reply_to} of client c{client} with {}, but that client never sent it such a request",
                    body.payload.type_name()
                ),
            );
            return None;
        };
        Some((in_reply_to, request))
    }

    /// Whether node `node` may answer `request` (msg `in_reply_to` of client process
    /// `target`) with `payload`: nothing but error 11 before `init` reached it
    /// (`answered-before-init`), and otherwise a reply of the request's type
    /// (`reply-type-mismatch`). A violation is noted when it may not.
    fn answer_allowed(
        &mut self,
        node: usize,
        target: usize,
        in_reply_to: u64,
        request: Request,
        payload: &Payload,
    ) -> bool {
        let (store, client) = (self.who(node), target + 1 - self.nodes.len());
        let refused_early = matches!(
            payload,
            Payload::Error { code, .. } if *code == error_code::TEMPORARILY_UNAVAILABLE
        );
        let served = matches!(request, Request::Begin | Request::Read | Request::Commit);
        if served && !self.nodes[node].initialised && !refused_early {
            self.violation(
                "answered-before-init",
                format!(
                    "{store} answered a {request:?} request (msg {in_reply_to} of client c{client}) with {} before it was initialised; it must refuse with error 11",
                    payload.type_name()
                ),
            );
            return false;
        }
        if !answers_kind(request, payload) {
            let request = match request {
                Request::Refuse(code) => format!("a request it must refuse with error {code}"),
                other => format!("a {other:?} request"),
            };
            self.violation(
                "reply-type-mismatch",
                format!(
                    "{store} answered {request} (msg {in_reply_to} of client c{client}) with {}",
                    payload.type_name()
                ),
            );
            return false;
        }
        true
    }

    /// Node `node`'s table sizes right after a step at `node_local_us` on its clock: each
    /// table within its own bound (see [`node::TableSizes`]), named when it is not.
    ///
    /// An entry made at `t` lives until `t + ttl`, and the step expired everything due.
    /// Two tables live until an event no TTL bounds: prepared transactions (until their
    /// decision) and decisions (until every participant acknowledged), which a partition
    /// or a long isolation may hold back for as long as it lasts. Their leak is a liveness
    /// failure (after the heal the final read waits until no node holds either); here
    /// they are bounded by what could have filled them since they were last empty.
    pub fn table_sizes(&mut self, node: usize, node_local_us: u64, sizes: node::TableSizes) {
        let bounds = self.table_bounds(node, node_local_us, &sizes);
        if let Some((table, size, bound, what)) = first_over_bound(sizes, &bounds) {
            self.violation(
                "memory-bound",
                format!("at {} on its clock {} holds {size} {table}, above its bound of {bound} ({what})", format_ms(node_local_us), self.who(node)),
            );
        }
    }

    /// What node `node`'s tables may hold right after a step at `node_local_us`, which
    /// left them `sizes`: its requests within each window, counted after those past every
    /// window are dropped, and the tables no TTL bounds counted afresh where they are
    /// empty.
    fn table_bounds(
        &mut self,
        node: usize,
        node_local_us: u64,
        sizes: &node::TableSizes,
    ) -> TableBounds {
        let (txn_ttl_us, outcome_ttl_us) = (self.txn_ttl_us, self.outcome_ttl_us);
        // A cluster's coordinator records a commit's outcome (and resolves its own part)
        // when it decides, up to the prepare timeout after the commit arrived.
        let (grace_us, prepare_us) = match self.nodes.len() {
            1 => (0, 0),
            _ => (node::PREPARE_TIMEOUT_US, node::PREPARE_TIMEOUT_US),
        };
        // A commit in flight ends at the tick of its prepare timeout, which may come after
        // other steps of the same instant: twice the timeout, to be safe.
        let in_flight_us = 2 * prepare_us;
        // A one-phase commit is forwarded once, then again every `RESEND_US` until its
        // timeout: one forward each time.
        let sends_per_commit = (node::PREPARE_TIMEOUT_US / node::RESEND_US + 2) as usize;
        let outcome_window_us = outcome_ttl_us + grace_us;
        let state = &mut self.nodes[node];
        let begins = live(&mut state.begins_us, txn_ttl_us, node_local_us);
        let commits = live(&mut state.commits_us, outcome_window_us, node_local_us);
        let resolves = live(&mut state.resolves_us, outcome_window_us, node_local_us);
        live(&mut state.reads_us, txn_ttl_us + prepare_us, node_local_us);
        let reads = within(&state.reads_us, txn_ttl_us, node_local_us);
        let forwarded_reads = state.reads_us.len();
        live(&mut state.client_commits_us, outcome_window_us.max(in_flight_us), node_local_us);
        let client_commits = within(&state.client_commits_us, outcome_window_us, node_local_us);
        let recent_commits = within(&state.client_commits_us, in_flight_us, node_local_us);
        if sizes.prepared == 0 {
            state.prepares_since_empty = 0;
        }
        if sizes.decisions == 0 {
            // Commits still in flight may decide later.
            state.decisions_since_empty = sizes.in_flight;
        }
        TableBounds {
            begins,
            reads,
            commits,
            resolutions: resolves + client_commits,
            prepares: state.prepares_since_empty,
            reserving: if sizes.prepared == 0 { 0 } else { usize::MAX },
            recent_commits,
            forward_sends: forwarded_reads + recent_commits * sends_per_commit,
            decisions: state.decisions_since_empty,
        }
    }

    /// Node `node` answered a begin with `txn_id`: it must be above every id it answered
    /// before (in a cluster ids are `t<n>.<node>`, numbered by each node).
    fn begun(&mut self, node: usize, txn_id: &str) {
        let own = txn_id.split_once('.').map_or(txn_id, |(own, _)| own);
        let Some(n) = node::own_id_number(own) else { return };
        let largest_begun = self.nodes[node].largest_begun;
        if let Some(largest) = largest_begun.filter(|&largest| n <= largest) {
            let store = self.who(node);
            self.violation(
                "txn-id-reused",
                format!(
                    "{store} began {txn_id}, but it had already handed out t{largest}: ids must only grow, across restarts too, or one is issued twice"
                ),
            );
        }
        self.nodes[node].largest_begun = largest_begun.max(Some(n));
    }

    /// A read of the key asked by `(target, msg_id)` was answered at `version`: never below
    /// a version the store announced before. A single node answers in the order it
    /// serves, so "before" is before the answer. In a cluster the owner serves a read
    /// and another node relays it, so an answer may arrive after a newer version's, which
    /// the owner installed later: "before" is before the client sent the read.
    fn read_reply(&mut self, target: usize, msg_id: u64, version: u64) {
        let Some((key, floor)) = self.reads.remove(&(target, msg_id)) else { return };
        let announced = floor.unwrap_or_else(|| self.announced.get(&key).copied().unwrap_or(0));
        if version < announced {
            self.violation(
                "version-regressed",
                format!(
                    "the store answered a read of {key} with version {version} after announcing version {announced}: what it acknowledged was lost"
                ),
            );
        }
        self.announce(&key, version);
    }

    fn announce(&mut self, key: &str, version: u64) {
        raise(&mut self.announced, key, version);
    }

    fn commit_reply(&mut self, target: usize, msg_id: u64, payload: &Payload, local_us: u64) {
        let Some(request) = self.commits.get(&(target, msg_id)) else { return };
        let txn_id = request.txn_id.clone();
        if let Payload::OccCommitOk { committed: true, versions, .. } = payload {
            let named: Vec<&str> = versions.iter().map(|v| v.key.as_str()).collect();
            let left_out = versions.is_empty() && self.versions_optional;
            if named != request.written && !left_out {
                self.violation(
                    "commit-answer-mismatch",
                    format!(
                        "the store answered a commit of {txn_id} writing [{}] with versions for [{}]: the answer is another commit's",
                        request.written.join(" "),
                        named.join(" ")
                    ),
                );
            }
        }
        match payload {
            Payload::OccCommitOk { committed, versions, conflicts, .. } => {
                // An abort of a store that may leave out versions may leave out its
                // conflicts too: it cannot be told from a spurious one.
                let unexplained = conflicts.is_empty() && self.versions_optional;
                if !committed && !unexplained {
                    let problems = self.conflict_problems(conflicts);
                    if let Some(problem) = problems {
                        self.violation(
                            "spurious-abort",
                            format!("the store aborted {txn_id}: {problem}"),
                        );
                    }
                }
                for v in versions {
                    self.announce(&v.key, v.version);
                }
                match self.answers.get(&txn_id) {
                    Some(&(first, _)) if first != *committed => self.violation(
                        "contradicting-answers",
                        format!(
                            "the store answered a commit of {txn_id} with committed={committed} after answering committed={first}"
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        self.answers.insert(txn_id, (*committed, local_us));
                    }
                }
            }
            Payload::Error { code, text } if error_code::is_indefinite(*code) => {
                if let Some(&(first, at_us)) = self.answers.get(&txn_id) {
                    let age_us = local_us.saturating_sub(at_us);
                    if age_us < self.outcome_ttl_us {
                        self.violation(
                            "forgotten-outcome",
                            format!(
                                "the store answered a retried commit of {txn_id} \"unknown\" ({code}: {text}) {} after answering committed={first}, within its {} outcome window",
                                format_ms(age_us),
                                format_ms(self.outcome_ttl_us)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// What is wrong with an abort's conflicts, if anything.
    fn conflict_problems(&self, conflicts: &[node::protocol::Conflict]) -> Option<String> {
        if conflicts.is_empty() {
            return Some("it names no conflict".to_string());
        }
        let in_order =
            conflicts.windows(2).all(|w| (&w[0].key, w[0].expected) < (&w[1].key, w[1].expected));
        if !in_order {
            return Some("its conflicts are not each named once, in key order".to_string());
        }
        // `expected` may be a version the commit does not mention: the store also checks
        // the reads it recorded, including one served to a resend whose reply was lost.
        for c in conflicts {
            if c.actual <= c.expected {
                return Some(format!(
                    "its conflict on {} says expected {} but actual {}: versions only grow, so nothing changed",
                    c.key, c.expected, c.actual
                ));
            }
            let announced = self.announced.get(&c.key).copied().unwrap_or(0);
            let unsent = self.unsent.get(&c.key).copied().unwrap_or(0);
            if c.actual > announced.max(unsent) && self.versions_seen {
                return Some(format!(
                    "its conflict on {} names actual version {}, but the store never announced a version above {announced}",
                    c.key, c.actual
                ));
            }
        }
        None
    }

    fn violation(&mut self, name: &'static str, explanation: String) {
        if self.violations.len() >= VIOLATIONS_MAX {
            self.more += 1;
            return;
        }
        self.violations.push(Violation {
            name,
            explanation,
            event_index: self.history_len,
            invoke_index: None,
        });
    }
}

/// A node as explanations name it: "the store" when it is the only one, else `node NAME`
/// (`n<k>` for process `k - 1` when no names were given).
#[derive(Clone)]
struct Who {
    node: usize,
    nodes: usize,
    name: Option<std::sync::Arc<str>>,
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.nodes, &self.name) {
            (1, _) => f.write_str("the store"),
            (_, Some(name)) => write!(f, "node {name}"),
            (_, None) => write!(f, "node n{}", self.node + 1),
        }
    }
}

/// `map[key] = max(map[key], version)`.
/// Drops the times of `times` whose window of `window_us` ended by `now_us`: the number
/// left.
fn live(times: &mut VecDeque<u64>, window_us: u64, now_us: u64) -> usize {
    while times.front().is_some_and(|&t| t.saturating_add(window_us) <= now_us) {
        times.pop_front();
    }
    times.len()
}

/// Whether `payload` is a reply of `request`'s kind: the refusal it must get, `init_ok`
/// to a retried `init`, the matching `_ok` or any error to a begin, read or commit, and
/// anything to another request.
fn answers_kind(request: Request, payload: &Payload) -> bool {
    matches!(
        (request, payload),
        (Request::Refuse(want), Payload::Error { code, .. }) if *code == want
    ) || matches!((request, payload), (Request::ReInit, Payload::InitOk))
        || matches!(
            (request, payload),
            (
                Request::Begin | Request::Read | Request::Commit | Request::Other,
                Payload::Error { .. }
            ) | (Request::Begin, Payload::OccBeginOk { .. })
                | (Request::Read, Payload::OccReadOk { .. })
                | (Request::Commit, Payload::OccCommitOk { .. })
                | (Request::Other, _)
        )
}

/// What each table of one node may hold right after a step, by what fills it (see
/// [`Conformance::table_sizes`]).
#[derive(Clone, Copy)]
struct TableBounds {
    /// Begins within the transaction TTL.
    begins: usize,
    /// Client reads within the transaction TTL.
    reads: usize,
    /// Commits and queries within the outcome TTL and the prepare timeout.
    commits: usize,
    /// Decisions, answered queries, restored doubts and client commits within the
    /// outcome TTL and the prepare timeout.
    resolutions: usize,
    /// Prepares, client commits and restored doubts since the node last held none.
    prepares: usize,
    /// None without a prepared transaction; any number with one.
    reserving: usize,
    /// Client commits within twice the prepare timeout.
    recent_commits: usize,
    /// Client reads within the transaction TTL and the prepare timeout, and each recent
    /// client commit's sends.
    forward_sends: usize,
    /// Client commits and restored decisions since the node last held none, and commits
    /// in flight then.
    decisions: usize,
}

/// The first table of `sizes` above its bound: its name, size, bound and what the bound
/// counts.
fn first_over_bound(
    sizes: node::TableSizes,
    bounds: &TableBounds,
) -> Option<(&'static str, usize, usize, &'static str)> {
    let node::TableSizes {
        open_txns,
        open_expiries,
        reserved_ids,
        reserved_expiries,
        outcomes,
        outcome_expiries,
        resolved,
        resolved_expiries,
        prepared,
        reservations,
        in_flight,
        forwards,
        decisions,
    } = sizes;
    let TableBounds {
        begins,
        reads,
        commits,
        resolutions,
        prepares,
        reserving,
        recent_commits,
        forward_sends,
        decisions: deciding,
    } = *bounds;
    let by_begins = "begins within the transaction TTL";
    let by_reads = "reads within the transaction TTL";
    let by_commits = "commits and queries within the outcome TTL and the prepare timeout";
    let by_resolutions = "decisions, answered queries, restored doubts and client commits \
        within the outcome TTL and the prepare timeout";
    let by_prepares = "prepares, client commits and restored doubts since it last held none";
    let by_flight = "client commits within twice the prepare timeout";
    let by_forwards = "client reads within the transaction TTL and the prepare timeout, \
        and each client commit's sends within twice the prepare timeout";
    let by_decisions = "client commits and restored decisions since it last held none, \
        and commits in flight then";
    [
        ("open transactions", open_txns, begins, by_begins),
        ("queued expiries of open transactions", open_expiries, begins, by_begins),
        ("ids reserved for reads", reserved_ids, reads, by_reads),
        ("queued expiries of reserved ids", reserved_expiries, reads, by_reads),
        ("remembered outcomes", outcomes, commits, by_commits),
        ("queued expiries of outcomes", outcome_expiries, commits, by_commits),
        ("resolved outcomes of prepared transactions", resolved, resolutions, by_resolutions),
        ("queued expiries of resolved outcomes", resolved_expiries, resolutions, by_resolutions),
        ("prepared transactions", prepared, prepares, by_prepares),
        ("reserved keys", reservations, reserving, "none without a prepared transaction"),
        ("commits in flight", in_flight, recent_commits, by_flight),
        ("forwarded requests", forwards, forward_sends, by_forwards),
        ("unacknowledged decisions", decisions, deciding, by_decisions),
    ]
    .into_iter()
    .find(|(_, size, bound, _)| size > bound)
}

/// How many of `times` (ascending: one node's clock) fall within `window_us` before
/// `now_us`.
fn within(times: &VecDeque<u64>, window_us: u64, now_us: u64) -> usize {
    times.len() - times.partition_point(|&t| t.saturating_add(window_us) <= now_us)
}

fn raise(map: &mut BTreeMap<String, u64>, key: &str, version: u64) {
    match map.get_mut(key) {
        Some(max) => *max = (*max).max(version),
        None => {
            map.insert(key.to_string(), version);
        }
    }
}

#[cfg(test)]
mod tests {
    use node::protocol::{Body, Conflict, KeyValue, KeyVersion};
    use node::TableSizes;

    use super::*;

    const CLIENT: usize = 1;

    fn envelope(msg_id: u64, in_reply_to: Option<u64>, payload: Payload) -> Envelope {
        Envelope {
            src: "x".into(),
            dest: "y".into(),
            body: Body { msg_id: Some(msg_id), in_reply_to, payload },
        }
    }

    /// A commit of `txn` writing `keys`.
    fn commit(txn: &str, keys: &[&str]) -> Payload {
        let writes =
            keys.iter().map(|k| KeyValue { key: (*k).into(), value: "v".into() }).collect();
        Payload::OccCommit { txn_id: txn.into(), writes, read_versions: vec![] }
    }

    fn answer(
        committed: bool,
        versions: &[(&str, u64)],
        conflicts: &[(&str, u64, u64)],
    ) -> Payload {
        Payload::OccCommitOk {
            committed,
            new_version: None,
            versions: versions
                .iter()
                .map(|(k, v)| KeyVersion { key: (*k).into(), version: *v })
                .collect(),
            conflicts: conflicts
                .iter()
                .map(|(k, e, a)| Conflict { key: (*k).into(), expected: *e, actual: *a })
                .collect(),
        }
    }

    /// Runs `(client request?, node reply, node-local time)` steps; returns the names found.
    fn check(steps: &[(Option<Payload>, Option<Payload>, u64)]) -> Vec<&'static str> {
        let mut c = Conformance::new(2, 1, 1_000_000, 1_000);
        c.initialised(0, 0, TableSizes::default());
        let (mut client_id, mut node_id) = (0, 0);
        for (request, reply, at_us) in steps {
            if let Some(request) = request {
                c.request(CLIENT, &envelope(client_id, None, request.clone()), false);
                client_id += 1;
            }
            if let Some(reply) = reply {
                c.reply(0, CLIENT, &envelope(node_id, Some(client_id - 1), reply.clone()), *at_us);
                node_id += 1;
            }
        }
        c.finish().iter().map(|v| v.name).collect()
    }

    #[test]
    fn an_abort_must_name_a_real_conflict() {
        // x reached version 2 through a commit the store announced.
        let setup = (Some(commit("t1", &["x"])), Some(answer(true, &[("x", 2)], &[])), 0);
        assert_eq!(
            check(&[
                setup.clone(),
                (Some(commit("t2", &["x"])), Some(answer(false, &[], &[("x", 1, 2)])), 0)
            ]),
            Vec::<&str>::new()
        );
        assert_eq!(
            check(&[setup.clone(), (Some(commit("t2", &["x"])), Some(answer(false, &[], &[])), 0)]),
            ["spurious-abort"]
        );
        assert_eq!(
            check(&[
                setup.clone(),
                (Some(commit("t2", &["x"])), Some(answer(false, &[], &[("x", 2, 2)])), 0)
            ]),
            ["spurious-abort"]
        );
        assert_eq!(
            check(&[
                setup,
                (Some(commit("t2", &["x"])), Some(answer(false, &[], &[("x", 2, 3)])), 0)
            ]),
            ["spurious-abort"]
        );
    }

    #[test]
    fn a_retried_commit_gets_its_first_answer_within_the_outcome_window() {
        let first = (Some(commit("t1", &["x"])), Some(answer(true, &[("x", 1)], &[])), 100);
        let unknown = |at_us| {
            (
                Some(commit("t1", &["x"])),
                Some(Payload::Error { code: 1000, text: "expired".into() }),
                at_us,
            )
        };
        assert_eq!(check(&[first.clone(), unknown(1_099)]), ["forgotten-outcome"]);
        assert_eq!(check(&[first.clone(), unknown(1_100)]), Vec::<&str>::new());
        let contradicting =
            (Some(commit("t1", &["x"])), Some(answer(false, &[], &[("x", 0, 1)])), 200);
        assert_eq!(check(&[first, contradicting]), ["contradicting-answers"]);
    }

    #[test]
    fn once_healed_every_request_is_answered_and_no_reply_is() {
        let mut c = Conformance::new(2, 1, 1_000, 1_000);
        c.initialised(0, 0, TableSizes::default());
        c.request(CLIENT, &envelope(0, None, Payload::OccBegin), false);
        c.request(CLIENT, &envelope(1, None, Payload::OccBegin), true);
        c.request(CLIENT, &envelope(2, None, Payload::OccBegin), true);
        c.reply(0, CLIENT, &envelope(0, Some(2), Payload::OccBeginOk { txn_id: "t1".into() }), 0);
        let reply = Payload::Malformed { type_name: "occ_read_ok".into(), reason: String::new() };
        c.request(CLIENT, &envelope(3, None, reply), true);
        c.reply(
            0,
            CLIENT,
            &envelope(1, Some(3), Payload::Error { code: 12, text: String::new() }),
            0,
        );
        let names: Vec<&str> = c.finish().iter().map(|v| v.name).collect();
        // msg 0 may be lost, msg 1 is owed an answer, msg 3 is owed none.
        assert_eq!(names, ["reply-type-mismatch", "request-unanswered"]);
    }

    #[test]
    fn before_init_the_store_refuses_with_error_11() {
        let mut c = Conformance::new(2, 1, 1_000, 1_000);
        c.request(CLIENT, &envelope(0, None, Payload::OccBegin), false);
        let unavailable = Payload::Error { code: 11, text: String::new() };
        c.reply(0, CLIENT, &envelope(0, Some(0), unavailable), 0);
        c.request(CLIENT, &envelope(1, None, Payload::OccBegin), false);
        c.reply(0, CLIENT, &envelope(1, Some(1), Payload::OccBeginOk { txn_id: "t1".into() }), 0);
        c.initialised(0, 0, TableSizes::default());
        c.request(CLIENT, &envelope(2, None, Payload::OccBegin), false);
        c.reply(0, CLIENT, &envelope(2, Some(2), Payload::OccBeginOk { txn_id: "t2".into() }), 0);
        let names: Vec<&str> = c.finish().iter().map(|v| v.name).collect();
        assert_eq!(names, ["answered-before-init"]);
    }

    #[test]
    fn an_abort_names_each_conflict_once_in_key_order() {
        let setup =
            (Some(commit("t1", &["x", "y"])), Some(answer(true, &[("x", 2), ("y", 2)], &[])), 0);
        let abort = |conflicts: &[(&str, u64, u64)]| {
            (Some(commit("t2", &["x"])), Some(answer(false, &[], conflicts)), 0)
        };
        assert!(check(&[setup.clone(), abort(&[("x", 1, 2), ("y", 1, 2)])]).is_empty());
        assert_eq!(check(&[setup.clone(), abort(&[("y", 1, 2), ("x", 1, 2)])]), ["spurious-abort"]);
        assert_eq!(check(&[setup, abort(&[("x", 1, 2), ("x", 1, 2)])]), ["spurious-abort"]);
    }

    #[test]
    fn tables_stay_within_what_the_ttls_allow() {
        let mut c = Conformance::new(2, 1, 100, 1_000);
        c.initialised(0, 0, TableSizes::default());
        let open = TableSizes { open_txns: 1, open_expiries: 1, ..TableSizes::default() };
        // Counted when delivered: a reply may wait for a sync, or die with a crash.
        c.delivered(0, &envelope(0, None, Payload::OccBegin), 10);
        c.table_sizes(0, 10, open);
        c.table_sizes(0, 109, open);
        // Past the TTL the open transaction must be gone.
        c.table_sizes(0, 110, TableSizes::default());
        c.table_sizes(0, 111, open);
        let found = c.finish();
        let names: Vec<&str> = found.iter().map(|v| v.name).collect();
        assert_eq!(names, ["memory-bound"]);
        assert!(found[0].explanation.contains("1 open transactions"), "{}", found[0].explanation);
    }

    #[test]
    fn each_cluster_table_is_judged_by_its_own_bound_and_named() {
        // A participant's resolved outcome lives for the outcome TTL (plus the prepare
        // timeout) after the decision that made it; one that outlives it is named.
        let check = |sizes: TableSizes, at_us: u64| {
            let mut c = Conformance::new(4, 3, 100, 1_000).with_node_ids(vec![
                "n1".into(),
                "n2".into(),
                "n3".into(),
            ]);
            c.initialised(1, 0, TableSizes::default());
            let decide = Payload::TxnDecide { txn_id: "t1.n1".into(), committed: true };
            let mut message = envelope(0, None, decide);
            message.src = "n1".into();
            c.delivered(1, &message, 10);
            c.table_sizes(1, at_us, sizes);
            c.finish().into_iter().map(|v| v.explanation).collect::<Vec<_>>()
        };
        let resolved = TableSizes { resolved: 1, resolved_expiries: 1, ..TableSizes::default() };
        let window_us = 1_000 + node::PREPARE_TIMEOUT_US;
        assert!(check(resolved, 10 + window_us - 1).is_empty());
        let late = check(resolved, 10 + window_us);
        assert_eq!(late.len(), 1, "{late:?}");
        assert!(late[0].contains("1 resolved outcomes of prepared transactions"), "{late:?}");
        // Nothing is prepared: no key may be reserved, and no forward is pending without
        // a client's read or commit.
        let reserved = check(TableSizes { reservations: 1, ..TableSizes::default() }, 20);
        assert!(reserved[0].contains("reserved keys"), "{reserved:?}");
        let forwards = check(TableSizes { forwards: 1, ..TableSizes::default() }, 20);
        assert!(forwards[0].contains("forwarded requests"), "{forwards:?}");
        // A decision or a prepared transaction the node never had cause to make.
        let decisions = check(TableSizes { decisions: 1, ..TableSizes::default() }, 20);
        assert!(decisions[0].contains("unacknowledged decisions"), "{decisions:?}");
        let prepared = check(TableSizes { prepared: 1, ..TableSizes::default() }, 20);
        assert!(prepared[0].contains("prepared transactions"), "{prepared:?}");
    }

    #[test]
    fn what_the_store_must_refuse_it_refuses_with_the_right_code() {
        let mut c = Conformance::new(2, 1, 1_000, 1_000);
        c.initialised(0, 0, TableSizes::default());
        let error = |code| Payload::Error { code, text: String::new() };
        c.request(CLIENT, &envelope(0, None, Payload::Unknown { type_name: "x".into() }), false);
        c.reply(0, CLIENT, &envelope(0, Some(0), error(10)), 0);
        let malformed = Payload::Malformed { type_name: "occ_read".into(), reason: String::new() };
        c.request(CLIENT, &envelope(1, None, malformed), false);
        c.reply(0, CLIENT, &envelope(1, Some(1), error(11)), 0);
        let init = Payload::Init { node_id: "n9".into(), node_ids: vec![] };
        c.request(CLIENT, &envelope(2, None, init), false);
        c.reply(0, CLIENT, &envelope(2, Some(2), Payload::InitOk), 0);
        // `envelope` addresses the store as "y": its own init again must be init_ok.
        let again = Payload::Init { node_id: "y".into(), node_ids: vec![] };
        c.request(CLIENT, &envelope(3, None, again.clone()), false);
        c.reply(0, CLIENT, &envelope(3, Some(3), Payload::InitOk), 0);
        c.request(CLIENT, &envelope(4, None, again), false);
        c.reply(0, CLIENT, &envelope(4, Some(4), error(22)), 0);
        let names: Vec<&str> = c.finish().iter().map(|v| v.name).collect();
        assert_eq!(names, ["reply-type-mismatch"; 3]);
    }

    #[test]
    fn an_init_that_changes_the_membership_must_be_refused() {
        // The cluster is [y, z]: the same again is init_ok, another order or another
        // list must get 22, a malformed one 12.
        let mut c =
            Conformance::new(2, 1, 1_000, 1_000).with_node_ids(vec!["y".into(), "z".into()]);
        c.initialised(0, 0, TableSizes::default());
        let init = |ids: &[&str]| Payload::Init {
            node_id: "y".into(),
            node_ids: ids.iter().map(|s| s.to_string()).collect(),
        };
        let error = |code| Payload::Error { code, text: String::new() };
        let steps = [
            (init(&["y", "z"]), Payload::InitOk),
            (init(&["z", "y"]), error(22)),
            (init(&["y"]), error(22)),
            (init(&["z"]), error(12)),
            (init(&["z", "y"]), Payload::InitOk),
            (init(&["y"]), Payload::InitOk),
        ];
        for (msg_id, (request, reply)) in (0..).zip(steps) {
            c.request(CLIENT, &envelope(msg_id, None, request), false);
            c.reply(0, CLIENT, &envelope(msg_id, Some(msg_id), reply), 0);
        }
        let names: Vec<&str> = c.finish().iter().map(|v| v.name).collect();
        assert_eq!(names, ["reply-type-mismatch"; 2], "the last two were acknowledged");
    }

    #[test]
    fn a_misrouted_request_must_be_refused() {
        // The simulator asked node 0, in node 1's name, for a key node 1 owns: 22 or
        // (not yet initialised) 11 is right, serving it is not; other answers are not
        // this rule's business.
        let mut c = Conformance::new(3, 2, 1_000, 1_000);
        let read = Payload::OccRead { txn_id: "m.z".into(), key: "k".into() };
        for msg_id in [100, 101, 102] {
            c.misrouted(0, &envelope(msg_id, None, read.clone()), "k", "z");
        }
        let error = |code| Payload::Error { code, text: String::new() };
        assert!(c.misrouted_answer(0, &envelope(0, Some(100), error(22))));
        assert!(c.misrouted_answer(0, &envelope(1, Some(101), error(11))));
        let served = Payload::OccReadOk { value: Some("v".into()), version: 1 };
        assert!(c.misrouted_answer(0, &envelope(2, Some(102), served.clone())));
        assert!(!c.misrouted_answer(1, &envelope(3, Some(102), served.clone())), "another node's");
        assert!(!c.misrouted_answer(0, &envelope(4, Some(7), served)), "an answer to a node");
        let violations = c.finish();
        let names: Vec<&str> = violations.iter().map(|v| v.name).collect();
        assert_eq!(names, ["unowned-key-served"]);
        assert!(violations[0].explanation.contains("naming k, which z owns"), "{violations:?}");
    }

    #[test]
    fn replies_are_numbered_and_answer_a_request_of_their_kind() {
        let mut c = Conformance::new(2, 1, 1_000_000, 1_000);
        c.initialised(0, 0, TableSizes::default());
        c.request(CLIENT, &envelope(0, None, Payload::OccBegin), false);
        c.reply(0, CLIENT, &envelope(5, Some(0), Payload::OccBeginOk { txn_id: "t1".into() }), 0);
        c.reply(0, CLIENT, &envelope(5, Some(0), Payload::OccBeginOk { txn_id: "t2".into() }), 0);
        c.reply(0, CLIENT, &envelope(6, Some(7), Payload::OccBeginOk { txn_id: "t3".into() }), 0);
        c.reply(
            0,
            CLIENT,
            &envelope(8, Some(0), Payload::OccReadOk { value: None, version: 0 }),
            0,
        );
        let names: Vec<&str> = c.finish().iter().map(|v| v.name).collect();
        assert_eq!(names, ["node-msg-id", "reply-to-unknown-request", "reply-type-mismatch"]);
    }

    #[test]
    fn each_request_kind_accepts_only_its_own_replies() {
        // A refusal fits only with its code, `init_ok` only a retried init, an `_ok` only
        // its own request (which any error may answer too), and anything another request.
        let error = |code| Payload::Error { code, text: String::new() };
        let begun = Payload::OccBeginOk { txn_id: "t1".into() };
        let read = Payload::OccReadOk { value: None, version: 0 };
        let check = |request, payload: &Payload, expect| {
            assert_eq!(answers_kind(request, payload), expect, "{request:?} answered {payload:?}");
        };
        check(Request::Refuse(22), &error(22), true);
        check(Request::Refuse(22), &error(11), false);
        check(Request::Refuse(22), &Payload::InitOk, false);
        check(Request::ReInit, &Payload::InitOk, true);
        check(Request::ReInit, &error(22), false);
        check(Request::Begin, &begun, true);
        check(Request::Begin, &read, false);
        check(Request::Read, &read, true);
        check(Request::Read, &error(30), true);
        check(Request::Commit, &answer(true, &[], &[]), true);
        check(Request::Commit, &begun, false);
        check(Request::Other, &read, true);
        check(Request::Ignore, &error(10), false);
    }

    #[test]
    fn a_read_never_sees_a_version_older_than_one_announced() {
        let installed = (Some(commit("t1", &["x"])), Some(answer(true, &[("x", 3)], &[])), 0);
        let read = |version| {
            let request = Payload::OccRead { txn_id: "t2".into(), key: "x".into() };
            (Some(request), Some(Payload::OccReadOk { value: None, version }), 0)
        };
        assert!(check(&[installed.clone(), read(3), read(4)]).is_empty());
        assert_eq!(check(&[installed.clone(), read(2)]), ["version-regressed"]);
        // A read announces too: a later read may not go below it.
        assert_eq!(check(&[read(5), read(4)]), ["version-regressed"]);
    }

    #[test]
    fn begin_ids_only_grow_across_restarts() {
        let begin = |id: &str| {
            (Some(Payload::OccBegin), Some(Payload::OccBeginOk { txn_id: id.into() }), 0)
        };
        assert!(check(&[begin("t1"), begin("t2"), begin("t1025")]).is_empty());
        assert_eq!(check(&[begin("t1"), begin("t7"), begin("t7")]), ["txn-id-reused"]);
        assert_eq!(check(&[begin("t9"), begin("t3")]), ["txn-id-reused"]);
    }

    #[test]
    fn a_commit_answer_must_name_exactly_the_keys_written() {
        let answered = |keys: &[&str], versions: &[(&str, u64)]| {
            (Some(commit("t1", keys)), Some(answer(true, versions, &[])), 0)
        };
        assert!(check(&[answered(&["y", "x", "y"], &[("x", 1), ("y", 1)])]).is_empty());
        assert_eq!(check(&[answered(&["x"], &[("z", 1)])]), ["commit-answer-mismatch"]);
        assert_eq!(check(&[answered(&["x", "y"], &[("x", 1)])]), ["commit-answer-mismatch"]);
    }

    #[test]
    fn a_restarted_store_numbers_from_zero_and_an_unsent_commit_may_have_installed() {
        let mut c = Conformance::new(2, 1, 1_000, 1_000);
        c.initialised(0, 0, TableSizes::default());
        c.request(CLIENT, &envelope(0, None, Payload::OccBegin), false);
        c.reply(0, CLIENT, &envelope(7, Some(0), Payload::OccBeginOk { txn_id: "t1".into() }), 0);
        // A reply the crash lost unsent: x@1 may exist although no one was told.
        c.lost_unsent(&[envelope(8, Some(1), answer(true, &[("x", 1)], &[]))]);
        c.restarted(0);
        c.initialised(0, 0, TableSizes::default());
        c.request(CLIENT, &envelope(1, None, commit("t5", &["x"])), false);
        c.reply(0, CLIENT, &envelope(0, Some(1), answer(false, &[], &[("x", 0, 1)])), 0);
        let names: Vec<&str> = c.finish().iter().map(|v| v.name).collect();
        assert_eq!(names, Vec::<&str>::new());
    }

    #[test]
    fn a_request_between_nodes_must_go_to_the_keys_owner_by_inits_order() {
        // init named [y, x]: a key goes to the node at its position in that order, not
        // in the names' sorted order. Node 0 (x) sends y reads of keys each node owns:
        // only the one x owns is misrouted; the simulator's own misroute is not judged.
        let ids: Vec<String> = vec!["y".into(), "x".into()];
        let mut c = Conformance::new(3, 2, 1_000, 1_000)
            .with_node_ids(ids.clone())
            .with_node_names(&["x".to_string(), "y".to_string()]);
        let y_owns = |k: &str| membership::owner(k, &ids) == "y";
        let key = |mine: bool| (0..).map(|k| format!("r{k}")).find(|k| y_owns(k) == mine);
        let (owned, unowned) = (key(true).unwrap(), key(false).unwrap());
        let read = |key: &str| Payload::OccRead { txn_id: "t1.x".into(), key: key.into() };
        c.between_nodes(0, &envelope(1, None, read(&owned)));
        c.between_nodes(0, &envelope(2, None, read(&unowned)));
        c.misrouted(1, &envelope(3, None, read(&unowned)), &unowned, "x");
        c.between_nodes(0, &envelope(3, None, read(&unowned)));
        let violations = c.finish();
        let names: Vec<&str> = violations.iter().map(|v| v.name).collect();
        assert_eq!(names, ["request-to-non-owner"]);
        let expected = format!("node x sent occ_read naming {unowned} to y, but init's node_ids [y, x] give {unowned} to x");
        assert!(violations[0].explanation.contains(&expected), "{violations:?}");
    }

    #[test]
    fn a_read_refused_with_30_must_name_a_key_a_prepared_transaction_writes() {
        // Nodes x and y (processes 0 and 1), a client (process 2); `key` is y's.
        let ids: Vec<String> = vec!["x".into(), "y".into()];
        let mut c = Conformance::new(3, 2, 1_000, 1_000)
            .with_node_ids(ids.clone())
            .with_node_names(&ids)
            .with_known_reservations(true);
        c.initialised(1, 0, TableSizes::default());
        let key = (0..).map(|k| format!("r{k}")).find(|k| membership::owner(k, &ids) == "y");
        let key = key.unwrap();
        let read = Payload::OccRead { txn_id: "t1.y".into(), key: key.clone() };
        let refusal = || Payload::Error { code: error_code::TXN_CONFLICT, text: String::new() };
        let from_y = |msg_id, in_reply_to, payload| Envelope {
            src: "y".into(),
            dest: "x".into(),
            body: Body { msg_id: Some(msg_id), in_reply_to, payload },
        };
        let writes = vec![KeyValue { key: key.clone(), value: "v".into() }];
        let prepare =
            Payload::TxnPrepare { txn_id: "t1.x".into(), writes, read_versions: Vec::new() };
        // Refused while x's prepare holds the key: as the protocol says.
        c.between_nodes(0, &envelope(5, None, prepare));
        c.request(2, &envelope(0, None, read.clone()), false);
        c.reply(1, 2, &from_y(0, Some(0), refusal()), 0);
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        // Once y acknowledged the decision nothing holds it: a refusal is a violation,
        // to a client's read and to another node's forwarded one alike.
        c.between_nodes(1, &from_y(1, Some(6), Payload::TxnDecideOk { txn_id: "t1.x".into() }));
        c.request(2, &envelope(1, None, read.clone()), false);
        c.reply(1, 2, &from_y(2, Some(1), refusal()), 0);
        c.between_nodes(0, &envelope(7, None, read));
        c.between_nodes(1, &from_y(3, Some(7), refusal()));
        let violations = c.finish();
        let names: Vec<&str> = violations.iter().map(|v| v.name).collect();
        assert_eq!(names, ["conflict-without-reservation"; 2]);
        let expected = format!("node y refused client c1's occ_read of {key} with error 30");
        assert!(violations[0].explanation.contains(&expected), "{violations:?}");
        assert!(violations[1].explanation.contains("refused node x's forwarded occ_read"));
    }
}
