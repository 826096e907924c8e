//! The wire protocol's typed messages: the only module that knows the message shapes.
//!
//! Maelstrom-style envelopes `{src, dest, body}` whose body carries `type`, `msg_id`,
//! `in_reply_to` and the fields of one message kind. `codec` turns these into JSON lines
//! and back; everything else in the workspace works on these types.

/// One message on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub src: String,
    pub dest: String,
    pub body: Body,
}

/// The body's common fields plus the kind-specific payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub msg_id: Option<u64>,
    pub in_reply_to: Option<u64>,
    pub payload: Payload,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct KeyVersion {
    pub key: String,
    pub version: u64,
}

/// Why a commit aborted: the version the transaction relied on and the one the store has.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Conflict {
    pub key: String,
    pub expected: u64,
    pub actual: u64,
}

/// Every message kind of the protocol, requests and replies alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Init {
        node_id: String,
        node_ids: Vec<String>,
    },
    InitOk,
    OccBegin,
    OccBeginOk {
        txn_id: String,
    },
    OccRead {
        txn_id: String,
        key: String,
    },
    /// `value: None` with `version: 0` is an absent key.
    OccReadOk {
        value: Option<String>,
        version: u64,
    },
    OccCommit {
        txn_id: String,
        writes: Vec<KeyValue>,
        read_versions: Vec<KeyVersion>,
    },
    /// `new_version` is the largest installed version (absent for read-only or aborted
    /// commits); `versions` lists every written key's new version; `conflicts` says why an
    /// aborted commit aborted.
    OccCommitOk {
        committed: bool,
        new_version: Option<u64>,
        versions: Vec<KeyVersion>,
        conflicts: Vec<Conflict>,
    },
    Error {
        code: u32,
        text: String,
    },
    /// Node to node, two-phase commit: a coordinator asks a participant to validate the
    /// reads of its keys and reserve its keys for `txn_id`.
    TxnPrepare {
        txn_id: String,
        writes: Vec<KeyValue>,
        read_versions: Vec<KeyVersion>,
    },
    /// The participant's vote; a yes names the version each write will install, a no the
    /// conflicts.
    TxnPrepareOk {
        txn_id: String,
        vote: bool,
        versions: Vec<KeyVersion>,
        conflicts: Vec<Conflict>,
    },
    /// The coordinator's decision for a transaction a participant prepared.
    TxnDecide {
        txn_id: String,
        committed: bool,
    },
    TxnDecideOk {
        txn_id: String,
    },
    /// A participant in doubt asks the transaction's coordinator what it decided.
    TxnQuery {
        txn_id: String,
    },
    TxnQueryOk {
        txn_id: String,
        committed: bool,
    },
    /// A well-formed envelope whose body `type` this protocol does not know. Kept as a
    /// message (not a decode failure) so the node can answer it with error 10.
    Unknown {
        type_name: String,
    },
    /// A known body `type` whose fields are missing or ill-typed: the node answers error 12
    /// quoting `reason`, which names the field.
    Malformed {
        type_name: String,
        reason: String,
    },
}

impl Payload {
    /// The body's wire `type`: for `Unknown` and `Malformed`, the type the sender wrote.
    pub fn type_name(&self) -> &str {
        match self {
            Payload::Init { .. } => "init",
            Payload::InitOk => "init_ok",
            Payload::OccBegin => "occ_begin",
            Payload::OccBeginOk { .. } => "occ_begin_ok",
            Payload::OccRead { .. } => "occ_read",
            Payload::OccReadOk { .. } => "occ_read_ok",
            Payload::OccCommit { .. } => "occ_commit",
            Payload::OccCommitOk { .. } => "occ_commit_ok",
            Payload::Error { .. } => "error",
            Payload::TxnPrepare { .. } => "txn_prepare",
            Payload::TxnPrepareOk { .. } => "txn_prepare_ok",
            Payload::TxnDecide { .. } => "txn_decide",
            Payload::TxnDecideOk { .. } => "txn_decide_ok",
            Payload::TxnQuery { .. } => "txn_query",
            Payload::TxnQueryOk { .. } => "txn_query_ok",
            Payload::Unknown { type_name } | Payload::Malformed { type_name, .. } => type_name,
        }
    }
}

/// Whether a wire `type` names a reply (or an error), which nodes never answer: answering a
/// reply could start an endless exchange between two nodes.
pub fn is_reply_type(type_name: &str) -> bool {
    type_name == "error" || type_name.ends_with("_ok")
}

/// Maelstrom error codes used by this store. Codes >= 1000 are ours and, by Maelstrom's
/// convention, indefinite: the operation may or may not have taken effect.
pub mod error_code {
    pub const TIMEOUT: u32 = 0;
    pub const NOT_SUPPORTED: u32 = 10;
    pub const TEMPORARILY_UNAVAILABLE: u32 = 11;
    pub const MALFORMED_REQUEST: u32 = 12;
    pub const ABORT: u32 = 14;
    /// The request contradicts the node's state, e.g. an `init` naming a different node id
    /// than the one the node was already initialised with.
    pub const PRECONDITION_FAILED: u32 = 22;
    pub const TXN_CONFLICT: u32 = 30;
    /// The node no longer remembers this transaction (its state expired): it cannot know
    /// whether an earlier attempt committed, so the answer is indefinite.
    pub const TXN_STATE_EXPIRED: u32 = 1000;

    /// Maelstrom's rule: timeouts, crashes and our own codes >= 1000 are indefinite.
    pub fn is_indefinite(code: u32) -> bool {
        code == TIMEOUT || code == 13 || code >= 1000
    }
}
