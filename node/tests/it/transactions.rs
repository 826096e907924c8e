//! Transactions end to end: multi-key commits, conflicts, retries.

use crate::{reply_to, run, INIT};
use serde_json::json;

#[test]
fn a_multi_key_commit_reports_every_version_and_the_largest() {
    // Proves a commit bumps each written key by one and new_version is the maximum.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"a","writes":[{"key":"x","value":"1"}]}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":3}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":4,"txn_id":"t1","key":"x"}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":5,"txn_id":"t1","writes":[{"key":"y","value":"a"},{"key":"x","value":"2"},{"key":"y","value":"b"}],"read_versions":[{"key":"x","version":1}]}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":6,"txn_id":"z","key":"y"}}"#,
    ]);
    assert_eq!(reply_to(&run.stdout, 4)["value"], "1");
    let commit = reply_to(&run.stdout, 5);
    assert_eq!(commit["committed"], true);
    assert_eq!(commit["new_version"], 2);
    assert_eq!(commit["versions"], json!([{"key":"x","version":2},{"key":"y","version":1}]));
    let read = reply_to(&run.stdout, 6);
    assert_eq!((&read["value"], &read["version"]), (&json!("b"), &json!(1)), "last write wins");
}

#[test]
fn a_conflicting_commit_aborts_and_says_why() {
    // Proves that a commit whose read went stale changes nothing and names the conflict.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":3,"txn_id":"t1","key":"x"}}"#,
        r#"{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":4,"txn_id":"w","writes":[{"key":"x","value":"theirs"}]}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":5,"txn_id":"t1","writes":[{"key":"x","value":"mine"},{"key":"y","value":"mine"}],"read_versions":[{"key":"x","version":0}]}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":6,"txn_id":"r","key":"y"}}"#,
    ]);
    let commit = reply_to(&run.stdout, 5);
    assert_eq!(commit["committed"], false);
    assert!(commit.get("new_version").is_none(), "{commit}");
    assert_eq!(commit["conflicts"], json!([{"key":"x","expected":0,"actual":1}]));
    assert_eq!(reply_to(&run.stdout, 6)["version"], 0, "the aborted write to y was not applied");
}

#[test]
fn retried_commit_gets_the_first_answer() {
    // Proves idempotence after success: the retry neither re-applies nor reports a conflict.
    let commit = r#"{"type":"occ_commit","txn_id":"t1","writes":[{"key":"x","value":"1"}],"read_versions":[{"key":"x","version":0}]"#;
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#,
        &format!(r#"{{"src":"c1","dest":"n1","body":{commit},"msg_id":3}}}}"#),
        &format!(r#"{{"src":"c1","dest":"n1","body":{commit},"msg_id":4}}}}"#),
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":5,"txn_id":"r","key":"x"}}"#,
    ]);
    let first = reply_to(&run.stdout, 3);
    assert_eq!(first["committed"], true);
    for field in ["committed", "new_version", "versions", "conflicts"] {
        assert_eq!(reply_to(&run.stdout, 4)[field], first[field], "{field}");
    }
    assert_eq!(reply_to(&run.stdout, 5)["version"], 1, "applied once");
}

#[test]
fn retried_abort_gets_the_first_answer() {
    // Proves idempotence after abort: once the read versions are current again, a retry
    // still aborts, because the first answer was an abort.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"t1","writes":[{"key":"x","value":"a"}],"read_versions":[{"key":"x","version":1}]}}"#,
        r#"{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"w","writes":[{"key":"x","value":"b"}]}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":4,"txn_id":"t1","writes":[{"key":"x","value":"a"}],"read_versions":[{"key":"x","version":1}]}}"#,
    ]);
    let first = reply_to(&run.stdout, 2);
    assert_eq!(first["committed"], false);
    assert_eq!(first["conflicts"], json!([{"key":"x","expected":1,"actual":0}]));
    assert_eq!(reply_to(&run.stdout, 3)["new_version"], 1);
    let retry = reply_to(&run.stdout, 4);
    assert_eq!(
        (&retry["committed"], &retry["conflicts"]),
        (&first["committed"], &first["conflicts"])
    );
}

#[test]
fn a_client_naming_the_last_possible_id_does_not_exhaust_begin() {
    // Proves no client message poisons the id space: after a read and a commit naming
    // t18446744073709551615, begins are still served, from t1 on.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":2,"txn_id":"t18446744073709551615","key":"x"}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"t18446744073709551615","writes":[{"key":"x","value":"1"}],"read_versions":[{"key":"x","version":0}]}}"#,
        r#"{"src":"c2","dest":"n1","body":{"type":"occ_begin","msg_id":4}}"#,
        r#"{"src":"c2","dest":"n1","body":{"type":"occ_begin","msg_id":5}}"#,
    ]);
    assert_eq!(reply_to(&run.stdout, 3)["committed"], true, "validated statelessly");
    assert_eq!(reply_to(&run.stdout, 4)["txn_id"], "t1");
    assert_eq!(reply_to(&run.stdout, 5)["txn_id"], "t2");
}
