//! Planted bugs: deliberate defects the harness must catch, each a mistake real OCC
//! implementations make. Off unless [`crate::NodeConfig::bug`] names one; the `occ-node`
//! binary never sets it. They exist to prove the simulator and checker find such bugs:
//! `sim bugs` lists them, `sim run --bug NAME` switches one on.

/// One planted defect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Commits without validating anything: lost updates everywhere.
    SkipValidation,
    /// Validates only keys the transaction also writes: read-only keys are ignored, so
    /// write skew commits.
    ValidateWrittenKeysOnly,
    /// Applies the writes, then validates, and does not roll back on abort: an aborted
    /// transaction's writes stay visible.
    ApplyBeforeValidate,
    /// Bumps each written key's version by the number of writes in the commit instead of
    /// once per key.
    BumpPerWrite,
    /// Does not bump the version of a key the transaction wrote without reading it (a
    /// blind write): two different values share a version.
    NoBumpOnBlindWrite,
    /// Re-validates a retried commit instead of answering from the outcome table: a retry
    /// of a commit that succeeded now conflicts with its own writes and says "aborted".
    RevalidateRetry,
    /// Forgets outcomes after 1ms and then treats the id as one it never issued, validating
    /// the retry statelessly instead of answering "indefinite".
    EarlyOutcomeExpiry,
    /// Serves read values from a cache that commits do not invalidate, with the store's
    /// current version: stale values under fresh versions.
    StaleReadCache,
    /// Applies a multi-key commit in two steps: the first key now, the others only after
    /// the next message is handled, so another transaction can slip between.
    SplitCommit,
    /// Stops answering anything after its 100th commit, as a node stuck on a lock or a
    /// full queue would: a liveness bug, not a safety one.
    HangAfter100Commits,
    /// Panics when validation finds a conflict, as code that assumes commits never
    /// conflict would (an `unwrap` on the happy path): the harness must report the seed,
    /// not die with it.
    PanicOnConflict,
    /// After its 100th commit asks to be ticked at time 0 forever, as a timer that
    /// re-arms itself in the past would: virtual time stops advancing.
    TickStorm,
    /// Sends a reply as soon as it is produced, before the records it depends on are
    /// synced (NATS acknowledged writes before fsync): a crash loses acknowledged commits.
    AckBeforeDurable,
    /// Keeps remembered outcomes in memory only: after a restart a retried commit finds
    /// nothing and is validated and applied again (MongoDB's retryable-write table).
    VolatileOutcomes,
    /// Recovery restores the last snapshot but replays the log from the first one: every
    /// commit between the two is applied twice.
    ReplayTwice,
    /// Recovery skips the checksums and trusts any frame whose payload parses: a torn or
    /// corrupted record is applied as if it were whole.
    TrustTornTail,
    /// Restarts the id counter after the last id the log names, not above the durable
    /// high-water mark: ids handed out just before a crash are issued again.
    IdsResetOnRestart,
    /// Believes the first read of the log: a read that came back corrupted cuts off
    /// everything after it, synced records included, without asking whether later frames
    /// prove them synced (turso's recovery zeroed a valid WAL).
    TruncateOnReadError,
    /// Group commit that releases on the wrong sync: a sync that completes releases every
    /// held reply, also those whose records were appended after the sync began and are
    /// not yet durable. A crash in the window before the next sync loses acknowledged
    /// commits.
    ReleaseOnAnySync,
    /// Cluster. A participant votes yes as soon as it prepared, before its `Prepared`
    /// record is durable: a crash forgets the prepared transaction (and its
    /// reservations) although the coordinator counted the vote.
    VoteBeforeDurable,
    /// Cluster. A restarted coordinator does not recover its decisions and presumes
    /// abort, although participants may already have committed.
    ForgetDecisionOnRestart,
    /// Cluster. A participant in doubt releases its reservations on a timeout while the
    /// transaction is still prepared (MatrixOne): another transaction writes the keys,
    /// then the decision applies at versions that are no longer next.
    ReleaseOnTimeout,
    /// Cluster. The coordinator tells participants "commit" before its decision is
    /// durable (CockroachDB #32220: a participant acting on an undurable hint): a crash
    /// then presumes abort for a transaction some participant committed.
    CommitOnHint,
    /// Cluster. A node serves reads of keys another node owns from a copy it cached,
    /// and commits read-only transactions on such reads without asking the owner: a
    /// stale follower read, as a node cut off by a partition would serve.
    StaleNonOwnerRead,
    /// Cluster. A coordinator forgets a commit decision when its outcome expires, whether
    /// or not every participant acknowledged it: a participant cut off for longer than
    /// the outcome TTL comes back, asks, and is told "abort" (presumed) for a transaction
    /// the others committed.
    ForgetUnackedDecision,
    /// Cluster, liveness. A participant in doubt never asks the coordinator: a lost
    /// abort decision (aborts are not driven, under presumed abort) leaves its
    /// transaction prepared, and its keys reserved, forever.
    NeverResolveDoubt,
    /// Cluster. A node answers a node-to-node read, commit or prepare of keys it does not
    /// own as if they were its own: it votes yes, installs them and serves them (nodes
    /// told the same ids in another order would split the keys without a word).
    ServeUnownedKeys,
    /// Cluster. A second `init` that names another membership (other nodes, or the same
    /// ones in another order) is acknowledged and ignored, so the sender believes a shard
    /// map this node does not use.
    IgnoreChangedMembership,
    /// Cluster. A node finds its own position in `node_ids` sorted by name (reusing the
    /// sorted copy made to look for duplicates), while owners are positions in `init`'s
    /// order: unless `init` happens to name the nodes in sorted order (as `n1..n9` in
    /// order always did), nodes disagree on who owns which key, and a key is served by
    /// two nodes, or by none.
    SelfInSortedIds,
    /// Cluster. A participant remembers how each transaction it prepared ended forever
    /// (a deadline of "never"), so that no late prepare can ever reserve its keys again:
    /// its resolved table grows with every two-phase commit and is never swept. Nothing
    /// a client sees goes wrong; only the table's bound does.
    KeepResolvedForever,
    /// Cluster. A node refuses every read (error 30) while any transaction at all is
    /// prepared there, not only reads of the keys prepared transactions write: a lock on
    /// the whole node instead of its keys. Every answer is one the protocol allows
    /// somewhere, and no data goes wrong; only conformance's reading of error 30 (a
    /// transaction prepared there writes the key) sees it.
    RefuseReadsWhilePrepared,
}

impl Bug {
    pub const ALL: [Bug; 31] = [
        Bug::SkipValidation,
        Bug::ValidateWrittenKeysOnly,
        Bug::ApplyBeforeValidate,
        Bug::BumpPerWrite,
        Bug::NoBumpOnBlindWrite,
        Bug::RevalidateRetry,
        Bug::EarlyOutcomeExpiry,
        Bug::StaleReadCache,
        Bug::SplitCommit,
        Bug::HangAfter100Commits,
        Bug::PanicOnConflict,
        Bug::TickStorm,
        Bug::AckBeforeDurable,
        Bug::VolatileOutcomes,
        Bug::ReplayTwice,
        Bug::TrustTornTail,
        Bug::IdsResetOnRestart,
        Bug::TruncateOnReadError,
        Bug::ReleaseOnAnySync,
        Bug::VoteBeforeDurable,
        Bug::ForgetDecisionOnRestart,
        Bug::ReleaseOnTimeout,
        Bug::CommitOnHint,
        Bug::StaleNonOwnerRead,
        Bug::NeverResolveDoubt,
        Bug::ForgetUnackedDecision,
        Bug::ServeUnownedKeys,
        Bug::IgnoreChangedMembership,
        Bug::SelfInSortedIds,
        Bug::KeepResolvedForever,
        Bug::RefuseReadsWhilePrepared,
    ];

    /// Whether the bug lives in the cluster's code: it needs `--nodes` of 2 or more.
    pub fn needs_cluster(self) -> bool {
        matches!(
            self,
            Bug::VoteBeforeDurable
                | Bug::ForgetDecisionOnRestart
                | Bug::ReleaseOnTimeout
                | Bug::CommitOnHint
                | Bug::StaleNonOwnerRead
                | Bug::NeverResolveDoubt
                | Bug::ForgetUnackedDecision
                | Bug::ServeUnownedKeys
                | Bug::IgnoreChangedMembership
                | Bug::SelfInSortedIds
                | Bug::KeepResolvedForever
                | Bug::RefuseReadsWhilePrepared
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Bug::SkipValidation => "skip-validation",
            Bug::ValidateWrittenKeysOnly => "validate-written-keys-only",
            Bug::ApplyBeforeValidate => "apply-before-validate",
            Bug::BumpPerWrite => "bump-per-write",
            Bug::NoBumpOnBlindWrite => "no-bump-on-blind-write",
            Bug::RevalidateRetry => "revalidate-retry",
            Bug::EarlyOutcomeExpiry => "early-outcome-expiry",
            Bug::StaleReadCache => "stale-read-cache",
            Bug::SplitCommit => "split-commit",
            Bug::HangAfter100Commits => "hang-after-100-commits",
            Bug::PanicOnConflict => "panic-on-conflict",
            Bug::TickStorm => "tick-storm",
            Bug::AckBeforeDurable => "ack-before-durable",
            Bug::VolatileOutcomes => "volatile-outcomes",
            Bug::ReplayTwice => "replay-twice",
            Bug::TrustTornTail => "trust-torn-tail",
            Bug::IdsResetOnRestart => "ids-reset-on-restart",
            Bug::TruncateOnReadError => "truncate-on-read-error",
            Bug::ReleaseOnAnySync => "release-on-any-sync",
            Bug::VoteBeforeDurable => "vote-before-durable",
            Bug::ForgetDecisionOnRestart => "forget-decision-on-restart",
            Bug::ReleaseOnTimeout => "release-on-timeout",
            Bug::CommitOnHint => "commit-on-hint",
            Bug::StaleNonOwnerRead => "stale-non-owner-read",
            Bug::NeverResolveDoubt => "never-resolve-doubt",
            Bug::ForgetUnackedDecision => "forget-unacked-decision",
            Bug::ServeUnownedKeys => "serve-unowned-keys",
            Bug::IgnoreChangedMembership => "ignore-changed-membership",
            Bug::SelfInSortedIds => "self-in-sorted-ids",
            Bug::KeepResolvedForever => "keep-resolved-forever",
            Bug::RefuseReadsWhilePrepared => "refuse-reads-while-prepared",
        }
    }

    /// One line for `sim bugs`: what the bug does, and for a cluster's bug
    /// (`needs_cluster`) first `cluster: `.
    pub fn description(self) -> &'static str {
        if self.needs_cluster() {
            self.cluster_description()
        } else {
            self.lone_node_description()
        }
    }

    /// The description of a bug that a lone node already has.
    fn lone_node_description(self) -> &'static str {
        match self {
            Bug::SkipValidation => "commits without validating read versions (lost updates)",
            Bug::ValidateWrittenKeysOnly => {
                "validates only keys that are also written: read-only keys are ignored (write skew)"
            }
            Bug::ApplyBeforeValidate => {
                "applies writes before validating and does not roll back on abort"
            }
            Bug::BumpPerWrite => {
                "bumps each written key by the number of writes in the commit, not once per key"
            }
            Bug::NoBumpOnBlindWrite => {
                "does not bump the version of a key written without being read"
            }
            Bug::RevalidateRetry => {
                "re-validates a retried commit instead of answering from the outcome table"
            }
            Bug::EarlyOutcomeExpiry => {
                "expires remembered outcomes after 1ms and then validates retries statelessly"
            }
            Bug::StaleReadCache => "serves reads from a value cache that commits do not invalidate",
            Bug::SplitCommit => {
                "applies a multi-key commit in two steps another transaction can slip between"
            }
            Bug::HangAfter100Commits => "stops answering anything after its 100th commit",
            Bug::PanicOnConflict => "panics when validation finds a conflict",
            Bug::TickStorm => "after its 100th commit asks for a tick at time 0, forever",
            Bug::AckBeforeDurable => "replies before the records it depends on are synced",
            Bug::VolatileOutcomes => {
                "keeps commit outcomes in memory only: a retry after a restart is applied again"
            }
            Bug::ReplayTwice => {
                "recovery replays the log from the first snapshot, not the last: double bumps"
            }
            Bug::TrustTornTail => "recovery skips checksums and applies torn or corrupted records",
            Bug::IdsResetOnRestart => {
                "restarts transaction ids after the last one logged, not the durable high-water mark"
            }
            Bug::TruncateOnReadError => {
                "recovery believes a corrupted read and cuts off the synced log after it"
            }
            Bug::ReleaseOnAnySync => {
                "a finished sync releases every held reply, also those its sync did not cover"
            }
            cluster => unreachable!("{cluster:?} needs a cluster"),
        }
    }

    /// The description of a bug that lives in the cluster's code.
    fn cluster_description(self) -> &'static str {
        match self {
            Bug::VoteBeforeDurable => {
                "cluster: a participant votes yes before its prepared record is durable"
            }
            Bug::ForgetDecisionOnRestart => {
                "cluster: a restarted coordinator forgets its decisions and presumes abort"
            }
            Bug::ReleaseOnTimeout => {
                "cluster: a participant in doubt releases its reservations on a timeout"
            }
            Bug::CommitOnHint => {
                "cluster: participants are told commit before the decision is durable"
            }
            Bug::StaleNonOwnerRead => {
                "cluster: a non-owner serves reads and read-only commits from a cached copy"
            }
            Bug::NeverResolveDoubt => {
                "cluster: a participant in doubt never asks, so a lost abort is never resolved"
            }
            Bug::ForgetUnackedDecision => {
                "cluster: a coordinator forgets a commit decision when its outcome expires, acked or not"
            }
            Bug::ServeUnownedKeys => {
                "cluster: a node serves other nodes' reads, commits and prepares of keys it does not own"
            }
            Bug::IgnoreChangedMembership => {
                "cluster: a second init with another membership gets init_ok and is ignored"
            }
            Bug::SelfInSortedIds => {
                "cluster: a node takes its own position from node_ids sorted, owners from init's order"
            }
            Bug::KeepResolvedForever => {
                "cluster: a participant remembers how each prepared transaction ended forever"
            }
            Bug::RefuseReadsWhilePrepared => {
                "cluster: a node refuses every read while anything is prepared there"
            }
            lone => unreachable!("{lone:?} needs no cluster"),
        }
    }

    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|bug| bug.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bug has a name `from_name` finds and a description, which starts with
    /// `cluster: ` exactly for the bugs that need a cluster.
    #[test]
    fn every_bug_is_named_and_described_with_its_scope() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
            let line = bug.description();
            assert_eq!(line.starts_with("cluster: "), bug.needs_cluster(), "{bug:?}: {line}");
        }
    }
}
