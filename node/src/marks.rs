//! Coverage marks ("sometimes" assertions): counters on the interesting branches of the
//! store, so that a sweep can show each branch was taken, and fail when one never is.
//! A branch no run reaches is a blind spot of the harness, however green it is.
//!
//! Marks are counted in the node's own state and read through [`crate::Node::marks`]:
//! no global, nothing that could reach a reply, a trace or a fingerprint.

/// One interesting branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// Validation found a read version that is no longer current.
    ReadSetConflict,
    /// A retried commit was answered from the outcome table.
    OutcomeReplayed,
    /// An open transaction's TTL ran out.
    TxnExpired,
    /// A remembered outcome's TTL ran out.
    OutcomeExpired,
    /// A commit was answered "unknown" because its transaction's state had expired.
    CommitAfterExpiry,
    /// A read the node recorded, and the commit did not echo, was validated.
    RecordedReadChecked,
    /// A commit for an id the node never issued was validated statelessly.
    ForeignCommitValidated,
    /// A reply waited for the sync of the records it depends on.
    ReplyHeldForSync,
    /// The node wrote a snapshot record.
    SnapshotTaken,
    /// A snapshot let the node cut the log's head off (`Output::Compact`): the log stays
    /// bounded.
    LogCompacted,
    /// A restart rebuilt the state from a snapshot record and the records after it.
    RecoveredFromSnapshot,
    /// Recovery cut off a torn or lost tail of the log.
    TornTailCut,
    /// A read of the log came back corrupted and a re-read got the record back.
    CorruptReadRepaired,
    /// A retried commit of an id issued before the last restart got its recovered answer.
    OutcomeReplayedAfterRestart,
}

impl Mark {
    pub const ALL: [Mark; 14] = [
        Mark::ReadSetConflict,
        Mark::OutcomeReplayed,
        Mark::TxnExpired,
        Mark::OutcomeExpired,
        Mark::CommitAfterExpiry,
        Mark::RecordedReadChecked,
        Mark::ForeignCommitValidated,
        Mark::ReplyHeldForSync,
        Mark::SnapshotTaken,
        Mark::LogCompacted,
        Mark::RecoveredFromSnapshot,
        Mark::TornTailCut,
        Mark::CorruptReadRepaired,
        Mark::OutcomeReplayedAfterRestart,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mark::ReadSetConflict => "read-set-conflict",
            Mark::OutcomeReplayed => "outcome-replayed",
            Mark::TxnExpired => "txn-expired",
            Mark::OutcomeExpired => "outcome-expired",
            Mark::CommitAfterExpiry => "commit-after-expiry",
            Mark::RecordedReadChecked => "recorded-read-checked",
            Mark::ForeignCommitValidated => "foreign-commit-validated",
            Mark::ReplyHeldForSync => "reply-held-for-sync",
            Mark::SnapshotTaken => "snapshot-taken",
            Mark::LogCompacted => "log-compacted",
            Mark::RecoveredFromSnapshot => "recovered-from-snapshot",
            Mark::TornTailCut => "torn-tail-cut",
            Mark::CorruptReadRepaired => "corrupt-read-repaired",
            Mark::OutcomeReplayedAfterRestart => "outcome-replayed-after-restart",
        }
    }
}

/// How often each mark was hit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    counts: [u64; Mark::ALL.len()],
}

impl Marks {
    pub fn hit(&mut self, mark: Mark) {
        self.counts[mark as usize] += 1;
    }

    pub fn count(&self, mark: Mark) -> u64 {
        self.counts[mark as usize]
    }

    pub fn add(&mut self, other: &Marks) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }

    /// `(mark, count)` for every mark, hit or not, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (Mark, u64)> + '_ {
        Mark::ALL.into_iter().map(|mark| (mark, self.count(mark)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_count_and_add_up() {
        let mut a = Marks::default();
        a.hit(Mark::TxnExpired);
        a.hit(Mark::TxnExpired);
        let mut b = Marks::default();
        b.hit(Mark::OutcomeReplayed);
        b.add(&a);
        assert_eq!(b.count(Mark::TxnExpired), 2);
        assert_eq!(b.count(Mark::OutcomeReplayed), 1);
        assert_eq!(b.iter().filter(|(_, n)| *n == 0).count(), Mark::ALL.len() - 2);
    }
}
