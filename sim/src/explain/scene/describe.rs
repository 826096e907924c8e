//! A message in a few words: what it asks or answers, its keys, versions and conflicts,
//! as both the text report's diagrams and the HTML page label it.

use node::protocol::{Conflict, KeyValue, KeyVersion, Payload};

/// The transaction a message names, if its type carries one.
pub(crate) fn payload_txn_id(payload: &Payload) -> Option<&str> {
    match payload {
        Payload::OccRead { txn_id, .. }
        | Payload::OccCommit { txn_id, .. }
        | Payload::TxnPrepare { txn_id, .. }
        | Payload::TxnPrepareOk { txn_id, .. }
        | Payload::TxnDecide { txn_id, .. }
        | Payload::TxnDecideOk { txn_id }
        | Payload::TxnQuery { txn_id }
        | Payload::TxnQueryOk { txn_id, .. } => Some(txn_id),
        _ => None,
    }
}

/// A message in a few words, its transaction named by the caller: `occ_read x`,
/// `occ_read_ok x@4=3.1` (`request` is what a reply answers), `occ_commit w[x=3] rv[x@2]`.
/// The store's txn id is shown only where it is news: the reply that hands it out, and
/// any id other than the one the transaction went on to use (`own_id`).
pub(crate) fn describe(
    payload: &Payload,
    request: Option<&Payload>,
    own_id: Option<&str>,
) -> String {
    let foreign = |id: &str| match own_id {
        Some(own) if own == id => String::new(),
        _ => format!(" (txn {id})"),
    };
    match payload {
        Payload::OccBegin => "occ_begin".to_string(),
        Payload::OccBeginOk { txn_id } if own_id == Some(txn_id.as_str()) => {
            format!("occ_begin_ok {txn_id}")
        }
        Payload::OccBeginOk { txn_id } => format!("occ_begin_ok {txn_id} (not used)"),
        Payload::OccRead { txn_id, key } => format!("occ_read {key}{}", foreign(txn_id)),
        Payload::OccReadOk { value, version } => {
            let key = match request {
                Some(Payload::OccRead { key, .. }) => key.as_str(),
                _ => "?",
            };
            format!("occ_read_ok {key}@{version}={}", value.as_deref().unwrap_or("null"))
        }
        Payload::OccCommit { txn_id, writes, read_versions } => {
            format!("occ_commit {}{}", writes_and_reads(writes, read_versions), foreign(txn_id))
        }
        Payload::OccCommitOk { committed: true, versions, .. } => {
            format!("occ_commit_ok committed [{}]", key_versions(versions))
        }
        Payload::OccCommitOk { committed: false, conflicts, .. } => {
            format!("occ_commit_ok ABORTED ({})", conflict_list(conflicts))
        }
        Payload::Error { code, text } => format!("error {code}: {text}"),
        Payload::TxnPrepare { txn_id, writes, read_versions } => {
            format!("txn_prepare {}{}", writes_and_reads(writes, read_versions), foreign(txn_id))
        }
        Payload::TxnPrepareOk { vote: true, versions, .. } => {
            format!("txn_prepare_ok YES, will install [{}]", key_versions(versions))
        }
        Payload::TxnPrepareOk { vote: false, conflicts, .. } if conflicts.is_empty() => {
            "txn_prepare_ok NO (a key is reserved)".to_string()
        }
        Payload::TxnPrepareOk { vote: false, conflicts, .. } => {
            format!("txn_prepare_ok NO ({})", conflict_list(conflicts))
        }
        Payload::TxnDecide { committed, .. } => {
            format!("txn_decide {}", if *committed { "COMMIT" } else { "ABORT" })
        }
        Payload::TxnQueryOk { committed, .. } => {
            format!("txn_query_ok {}", if *committed { "COMMIT" } else { "ABORT" })
        }
        other => other.type_name().to_string(),
    }
}

/// `w[k=x ...] rv[k@v ...]`: a commit's or a prepare's writes and the versions it read.
fn writes_and_reads(writes: &[KeyValue], read_versions: &[KeyVersion]) -> String {
    let writes: Vec<String> = writes.iter().map(|w| format!("{}={}", w.key, w.value)).collect();
    format!("w[{}] rv[{}]", writes.join(" "), key_versions(read_versions))
}

/// `k@v k@v ...`.
fn key_versions(versions: &[KeyVersion]) -> String {
    let versions: Vec<String> =
        versions.iter().map(|v| format!("{}@{}", v.key, v.version)).collect();
    versions.join(" ")
}

/// `k read @v, now @w, ...`: why a commit or a vote said no.
fn conflict_list(conflicts: &[Conflict]) -> String {
    let conflicts: Vec<String> = conflicts
        .iter()
        .map(|c| format!("{} read @{}, now @{}", c.key, c.expected, c.actual))
        .collect();
    conflicts.join(", ")
}
