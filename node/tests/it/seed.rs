//! The two sample tests of the protocol's origin (seeds/000_54123b9eab964e29.txt).

use crate::{assert_in_order, run, INIT};

#[test]
fn occ_commit_succeeds_with_matching_versions() {
    // Proves the seed's first sample: init, begin, blind write commits at version 1.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"t1","writes":[{"key":"x","value":"1"}],"read_versions":[]}}"#,
    ]);
    assert_in_order(
        &run.stdout,
        &[
            r#"{"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}}"#,
            r#"{"src":"n1","dest":"c1","body":{"type":"occ_begin_ok","in_reply_to":2,"msg_id":1,"txn_id":"t1"}}"#,
            r#"{"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","in_reply_to":3,"msg_id":2,"committed":true,"new_version":1,"versions":[{"key":"x","version":1}],"conflicts":[]}}"#,
        ],
    );
    assert_eq!(run.stdout.len(), 3, "one reply per request");
}

#[test]
fn occ_aborts_on_version_mismatch() {
    // Proves the seed's second sample: a never-begun txn is validated statelessly and aborts.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"t1","writes":[{"key":"x","value":"new"}],"read_versions":[{"key":"x","version":999}]}}"#,
    ]);
    assert_in_order(
        &run.stdout,
        &[
            r#"{"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}}"#,
            r#"{"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","in_reply_to":2,"msg_id":1,"committed":false,"versions":[],"conflicts":[{"key":"x","expected":999,"actual":0}]}}"#,
        ],
    );
    assert_eq!(run.stdout.len(), 2, "one reply per request");
}
