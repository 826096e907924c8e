//! Bad input: lines that are not messages, unknown types, malformed fields, no init.

use crate::{assert_in_order, reply_to, run, INIT};

#[test]
fn a_line_that_is_not_json_is_reported_with_its_number_and_skipped() {
    // Proves garbage goes to stderr with its line number and later lines are still served.
    let run = run(&[
        INIT,
        "this is not json",
        r#"{"no":"envelope"}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#,
    ]);
    assert!(run.stderr.contains("occ-node: line 2: invalid JSON"), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("line 3: not an envelope"), "stderr: {}", run.stderr);
    assert_eq!(reply_to(&run.stdout, 2)["txn_id"], "t1");
    assert_eq!(run.stdout.len(), 2, "nothing is answered for garbage");
}

#[test]
fn an_unknown_type_gets_error_10() {
    // Proves an unknown body type is answered with not-supported.
    let run = run(&[INIT, r#"{"src":"c1","dest":"n1","body":{"type":"occ_scan","msg_id":2}}"#]);
    assert_in_order(
        &run.stdout,
        &[
            r#"{"src":"n1","dest":"c1","body":{"type":"error","msg_id":1,"in_reply_to":2,"code":10,"text":"unsupported message type `occ_scan`"}}"#,
        ],
    );
}

#[test]
fn a_missing_field_gets_error_12_naming_it() {
    // Proves a known type without a required field is answered with malformed-request.
    let run =
        run(&[INIT, r#"{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":2,"key":"x"}}"#]);
    let body = reply_to(&run.stdout, 2);
    assert_eq!(body["code"], 12);
    assert!(body["text"].as_str().unwrap_or("").contains("`txn_id`"), "{body}");
}

#[test]
fn an_ill_typed_field_gets_error_12_naming_it() {
    // Proves a field of the wrong JSON type is answered with malformed-request naming it.
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"t1","writes":[{"key":"x","value":7}]}}"#,
    ]);
    let body = reply_to(&run.stdout, 2);
    assert_eq!(body["code"], 12);
    let text = body["text"].as_str().unwrap_or("");
    assert!(text.contains("`writes`") && text.contains("integer `7`"), "{body}");
}

#[test]
fn a_request_before_init_gets_error_11() {
    // Proves the node refuses to serve before init (definitely, so clients may retry),
    // then serves normally once initialised.
    let run = run(&[
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":1}}"#,
        r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":2,"node_id":"n1","node_ids":["n1"]}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":3}}"#,
    ]);
    let refused = reply_to(&run.stdout, 1);
    assert_eq!(refused["code"], 11);
    assert!(refused["text"].as_str().unwrap_or("").contains("init"), "{refused}");
    assert_eq!(run.stdout[0]["src"], "n1", "answers as the address it was sent to");
    assert_eq!(reply_to(&run.stdout, 3)["txn_id"], "t1");
}

#[test]
fn replies_sent_to_the_node_are_ignored() {
    // Proves reply-type messages get no answer (answering could loop between nodes).
    let run = run(&[
        INIT,
        r#"{"src":"c1","dest":"n1","body":{"type":"init_ok","in_reply_to":0}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"error","in_reply_to":0,"code":13,"text":"x"}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}"#,
    ]);
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
    assert_eq!(run.stdout.len(), 2, "{:?}", run.stdout);
}

#[test]
fn errors_quote_at_most_200_bytes_of_a_long_line() {
    // Proves a megabyte of input never comes back whole: not on stderr for a line that is
    // not an envelope, not in the reply to an unknown type or an ill-typed field.
    let long = "x".repeat(1_000_000);
    let lines = [
        INIT.to_owned(),
        format!(r#"{{"src":"c1","dest":"n1","body":"{long}"}}"#),
        format!(r#"{{"src":"c1","dest":"n1","body":{{"type":"{long}","msg_id":2}}}}"#),
        format!(
            r#"{{"src":"c1","dest":"n1","body":{{"type":"occ_commit","msg_id":3,"txn_id":"t1","read_versions":"{long}"}}}}"#
        ),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let run = run(&lines);
    let clipped = format!("{}… (999800 more bytes)", "x".repeat(200));
    assert!(run.stderr.contains("occ-node: line 2: not an envelope: invalid type: string"));
    assert!(run.stderr.contains(&clipped) && run.stderr.len() < 1_000, "{}", run.stderr);
    for msg_id in [2, 3] {
        let text = reply_to(&run.stdout, msg_id)["text"].as_str().unwrap_or("").to_owned();
        assert!(text.contains(&clipped) && text.len() < 1_000, "{msg_id}: {text}");
    }
}
