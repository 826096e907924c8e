//! JSON lines <-> [`Envelope`]: the only code that reads or writes the wire format.
//!
//! Decoding is two-layered so that bad input gets the most useful answer:
//! - a line that is not JSON, or not an envelope (`src`, `dest` strings and a `body`
//!   object with a string `type`), is a [`DecodeError`]: there is nobody sensible to answer;
//! - a body whose `type` is unknown decodes to [`Payload::Unknown`] (the node answers 10);
//! - a known `type` with a missing or ill-typed field decodes to [`Payload::Malformed`]
//!   whose `reason` names the field (the node answers 12).
//!
//! Speed matters (the simulator pushes every message through here), so decoding never
//! builds a `serde_json::Value`: the body's known fields are captured as borrowed raw JSON
//! slices in one pass, and only the fields the body's `type` needs are then parsed into
//! their typed form. Encoding writes bytes directly. A JSON `null` counts as an absent
//! field; fields that no message kind uses are ignored; a field given twice is a
//! `DecodeError` (JSON leaves duplicates undefined, so we refuse to guess).

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::clip;
use crate::protocol::{Body, Conflict, Envelope, KeyValue, KeyVersion, Payload};

/// Why a line is not a message. `Display` says what was wrong, e.g.
/// `invalid JSON: expected value at line 1 column 1` or
/// `not an envelope: missing field `dest` at line 1 column 30`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    src: String,
    dest: String,
    #[serde(borrow)]
    body: RawBody<'a>,
}

/// Every field any message kind uses, as unparsed JSON. Parsing per field later lets an
/// ill-typed field become a `Malformed` payload naming it instead of failing the line.
#[derive(Deserialize)]
struct RawBody<'a> {
    #[serde(rename = "type", borrow)]
    type_name: Cow<'a, str>,
    #[serde(borrow)]
    msg_id: Option<&'a RawValue>,
    #[serde(borrow)]
    in_reply_to: Option<&'a RawValue>,
    #[serde(borrow)]
    node_id: Option<&'a RawValue>,
    #[serde(borrow)]
    node_ids: Option<&'a RawValue>,
    #[serde(borrow)]
    txn_id: Option<&'a RawValue>,
    #[serde(borrow)]
    key: Option<&'a RawValue>,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
    #[serde(borrow)]
    version: Option<&'a RawValue>,
    #[serde(borrow)]
    writes: Option<&'a RawValue>,
    #[serde(borrow)]
    read_versions: Option<&'a RawValue>,
    #[serde(borrow)]
    committed: Option<&'a RawValue>,
    #[serde(borrow)]
    new_version: Option<&'a RawValue>,
    #[serde(borrow)]
    versions: Option<&'a RawValue>,
    #[serde(borrow)]
    conflicts: Option<&'a RawValue>,
    #[serde(borrow)]
    code: Option<&'a RawValue>,
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    vote: Option<&'a RawValue>,
}

/// Parses one line (without its newline) into an envelope.
pub fn decode(line: &str) -> Result<Envelope, DecodeError> {
    let raw: RawEnvelope<'_> = serde_json::from_str(line).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "not an envelope",
            _ => "invalid JSON",
        };
        // serde quotes the offending input whole: a long line must not echo back whole.
        DecodeError { message: format!("{what}: {}", clip::clip_quoted(&e.to_string())) }
    })?;
    let RawEnvelope { src, dest, body } = raw;
    Ok(Envelope { src, dest, body: decode_body(body) })
}

fn decode_body(raw: RawBody<'_>) -> Body {
    let msg_id = optional::<u64>(raw.msg_id, "msg_id");
    let in_reply_to = optional::<u64>(raw.in_reply_to, "in_reply_to");
    let payload = match decode_payload(&raw) {
        Ok(payload) => payload,
        Err(reason) => Payload::Malformed { type_name: raw.type_name.into_owned(), reason },
    };
    // An ill-typed `msg_id` makes a known message malformed; an unknown one is answered
    // with error 10 either way, so its `msg_id` is merely dropped.
    let payload = match (&payload, &msg_id, &in_reply_to) {
        (Payload::Unknown { .. } | Payload::Malformed { .. }, _, _) => payload,
        (_, Err(reason), _) | (_, _, Err(reason)) => {
            Payload::Malformed { type_name: payload.type_name().to_owned(), reason: reason.clone() }
        }
        _ => payload,
    };
    Body { msg_id: msg_id.ok().flatten(), in_reply_to: in_reply_to.ok().flatten(), payload }
}

fn decode_payload(raw: &RawBody<'_>) -> Result<Payload, String> {
    Ok(match &*raw.type_name {
        "init" => Payload::Init {
            node_id: required(raw.node_id, "node_id")?,
            node_ids: required(raw.node_ids, "node_ids")?,
        },
        "init_ok" => Payload::InitOk,
        "occ_begin" => Payload::OccBegin,
        "occ_begin_ok" => Payload::OccBeginOk { txn_id: required(raw.txn_id, "txn_id")? },
        "occ_read" => Payload::OccRead {
            txn_id: required(raw.txn_id, "txn_id")?,
            key: required(raw.key, "key")?,
        },
        "occ_read_ok" => Payload::OccReadOk {
            value: optional(raw.value, "value")?,
            version: required(raw.version, "version")?,
        },
        "occ_commit" => Payload::OccCommit {
            txn_id: required(raw.txn_id, "txn_id")?,
            writes: optional(raw.writes, "writes")?.unwrap_or_default(),
            read_versions: optional(raw.read_versions, "read_versions")?.unwrap_or_default(),
        },
        "occ_commit_ok" => Payload::OccCommitOk {
            committed: required(raw.committed, "committed")?,
            new_version: optional(raw.new_version, "new_version")?,
            versions: optional(raw.versions, "versions")?.unwrap_or_default(),
            conflicts: optional(raw.conflicts, "conflicts")?.unwrap_or_default(),
        },
        "error" => Payload::Error {
            code: required(raw.code, "code")?,
            text: optional(raw.text, "text")?.unwrap_or_default(),
        },
        "txn_prepare" => Payload::TxnPrepare {
            txn_id: required(raw.txn_id, "txn_id")?,
            writes: optional(raw.writes, "writes")?.unwrap_or_default(),
            read_versions: optional(raw.read_versions, "read_versions")?.unwrap_or_default(),
        },
        "txn_prepare_ok" => Payload::TxnPrepareOk {
            txn_id: required(raw.txn_id, "txn_id")?,
            vote: required(raw.vote, "vote")?,
            versions: optional(raw.versions, "versions")?.unwrap_or_default(),
            conflicts: optional(raw.conflicts, "conflicts")?.unwrap_or_default(),
        },
        "txn_decide" => Payload::TxnDecide {
            txn_id: required(raw.txn_id, "txn_id")?,
            committed: required(raw.committed, "committed")?,
        },
        "txn_decide_ok" => Payload::TxnDecideOk { txn_id: required(raw.txn_id, "txn_id")? },
        "txn_query" => Payload::TxnQuery { txn_id: required(raw.txn_id, "txn_id")? },
        "txn_query_ok" => Payload::TxnQueryOk {
            txn_id: required(raw.txn_id, "txn_id")?,
            committed: required(raw.committed, "committed")?,
        },
        other => Payload::Unknown { type_name: other.to_owned() },
    })
}

fn required<T: DeserializeOwned>(raw: Option<&RawValue>, name: &str) -> Result<T, String> {
    optional(raw, name)?.ok_or_else(|| format!("missing field `{name}`"))
}

fn optional<T: DeserializeOwned>(raw: Option<&RawValue>, name: &str) -> Result<Option<T>, String> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_str(raw.get()).map_err(|e| {
        // serde's position is relative to the field's own text, so it would mislead.
        let message = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        format!("field `{name}`: {}", clip::clip_quoted(message))
    })
}

/// Appends `envelope` as one JSON object (no newline) to `out`.
pub fn encode(envelope: &Envelope, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"src\":");
    string(out, &envelope.src);
    out.extend_from_slice(b",\"dest\":");
    string(out, &envelope.dest);
    out.extend_from_slice(b",\"body\":{\"type\":");
    let body = &envelope.body;
    string(out, body.payload.type_name());
    if let Some(msg_id) = body.msg_id {
        out.extend_from_slice(b",\"msg_id\":");
        number(out, msg_id);
    }
    if let Some(in_reply_to) = body.in_reply_to {
        out.extend_from_slice(b",\"in_reply_to\":");
        number(out, in_reply_to);
    }
    payload_fields(out, &body.payload);
    out.extend_from_slice(b"}}");
}

/// The payload's own fields, after the body's common ones (`type`, `msg_id`,
/// `in_reply_to`).
fn payload_fields(out: &mut Vec<u8>, payload: &Payload) {
    match payload {
        Payload::Init { node_id, node_ids } => {
            string_field(out, "node_id", node_id);
            field(out, "node_ids");
            list(out, node_ids, |out, id| string(out, id));
        }
        Payload::InitOk | Payload::OccBegin => {}
        Payload::OccBeginOk { txn_id } => string_field(out, "txn_id", txn_id),
        Payload::OccRead { txn_id, key } => {
            string_field(out, "txn_id", txn_id);
            string_field(out, "key", key);
        }
        Payload::OccReadOk { value, version } => {
            field(out, "value");
            match value {
                Some(value) => string(out, value),
                None => out.extend_from_slice(b"null"),
            }
            number_field(out, "version", *version);
        }
        Payload::OccCommit { txn_id, writes, read_versions }
        | Payload::TxnPrepare { txn_id, writes, read_versions } => {
            string_field(out, "txn_id", txn_id);
            field(out, "writes");
            list(out, writes, key_value);
            field(out, "read_versions");
            list(out, read_versions, key_version);
        }
        Payload::OccCommitOk { committed, new_version, versions, conflicts } => {
            bool_field(out, "committed", *committed);
            if let Some(new_version) = new_version {
                number_field(out, "new_version", *new_version);
            }
            versions_and_conflicts(out, versions, conflicts);
        }
        Payload::Error { code, text } => {
            number_field(out, "code", u64::from(*code));
            string_field(out, "text", text);
        }
        Payload::TxnPrepareOk { txn_id, vote, versions, conflicts } => {
            string_field(out, "txn_id", txn_id);
            bool_field(out, "vote", *vote);
            versions_and_conflicts(out, versions, conflicts);
        }
        Payload::TxnDecide { txn_id, committed } | Payload::TxnQueryOk { txn_id, committed } => {
            string_field(out, "txn_id", txn_id);
            bool_field(out, "committed", *committed);
        }
        Payload::TxnDecideOk { txn_id } | Payload::TxnQuery { txn_id } => {
            string_field(out, "txn_id", txn_id);
        }
        // Decode artefacts: only their type and common fields survive a round trip.
        Payload::Unknown { .. } | Payload::Malformed { .. } => {}
    }
}

/// A commit's or a vote's `versions` and `conflicts`.
fn versions_and_conflicts(out: &mut Vec<u8>, versions: &[KeyVersion], conflicts: &[Conflict]) {
    field(out, "versions");
    list(out, versions, key_version);
    field(out, "conflicts");
    list(out, conflicts, conflict);
}

fn string_field(out: &mut Vec<u8>, name: &str, value: &str) {
    field(out, name);
    string(out, value);
}

fn number_field(out: &mut Vec<u8>, name: &str, value: u64) {
    field(out, name);
    number(out, value);
}

fn bool_field(out: &mut Vec<u8>, name: &str, value: bool) {
    field(out, name);
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

/// [`encode`] into a fresh string.
pub fn encode_to_string(envelope: &Envelope) -> String {
    let mut out = Vec::with_capacity(128);
    encode(envelope, &mut out);
    // `encode` writes only ASCII punctuation, digits and whole UTF-8 strings.
    String::from_utf8(out).expect("encode writes valid UTF-8")
}

fn field(out: &mut Vec<u8>, name: &str) {
    out.push(b',');
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn list<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, x);
    }
    out.push(b']');
}

fn key_value(out: &mut Vec<u8>, kv: &KeyValue) {
    out.extend_from_slice(b"{\"key\":");
    string(out, &kv.key);
    out.extend_from_slice(b",\"value\":");
    string(out, &kv.value);
    out.push(b'}');
}

fn key_version(out: &mut Vec<u8>, kv: &KeyVersion) {
    out.extend_from_slice(b"{\"key\":");
    string(out, &kv.key);
    out.extend_from_slice(b",\"version\":");
    number(out, kv.version);
    out.push(b'}');
}

fn conflict(out: &mut Vec<u8>, c: &Conflict) {
    out.extend_from_slice(b"{\"key\":");
    string(out, &c.key);
    out.extend_from_slice(b",\"expected\":");
    number(out, c.expected);
    out.extend_from_slice(b",\"actual\":");
    number(out, c.actual);
    out.push(b'}');
}

fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A JSON string literal: escapes quotes, backslashes and control characters (RFC 8259).
fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(msg_id: Option<u64>, in_reply_to: Option<u64>, payload: Payload) -> Envelope {
        Envelope {
            src: "c1".to_owned(),
            dest: "n1".to_owned(),
            body: Body { msg_id, in_reply_to, payload },
        }
    }

    /// Decodes `line` (an envelope from c1 to n1) and expects its body's fields and payload.
    fn check(line: &str, msg_id: Option<u64>, payload: Payload) {
        let body = format!(r#"{{"src":"c1","dest":"n1","body":{line}}}"#);
        assert_eq!(decode(&body), Ok(envelope(msg_id, None, payload)), "decoding {line}");
    }

    /// Expects `line` not to decode, with an error message containing `why`.
    fn check_error(line: &str, why: &str) {
        match decode(line) {
            Ok(e) => panic!("{line} decoded to {e:?}, expected an error about {why}"),
            Err(e) => assert!(e.to_string().contains(why), "error for {line} was `{e}`"),
        }
    }

    fn malformed(type_name: &str, reason: &str) -> Payload {
        Payload::Malformed { type_name: type_name.to_owned(), reason: reason.to_owned() }
    }

    #[test]
    fn every_payload_survives_a_round_trip() {
        let kv = |k: &str, v: &str| KeyValue { key: k.to_owned(), value: v.to_owned() };
        let kver = |k: &str, v| KeyVersion { key: k.to_owned(), version: v };
        let payloads = [
            Payload::Init { node_id: "n1".to_owned(), node_ids: vec!["n1".into(), "n2".into()] },
            Payload::InitOk,
            Payload::OccBegin,
            Payload::OccBeginOk { txn_id: "t1".to_owned() },
            Payload::OccRead { txn_id: "t1".to_owned(), key: "x".to_owned() },
            Payload::OccReadOk { value: None, version: 0 },
            Payload::OccReadOk { value: Some("42".to_owned()), version: u64::MAX },
            Payload::OccCommit {
                txn_id: "t1".to_owned(),
                writes: vec![kv("x", "1"), kv("y", "")],
                read_versions: vec![kver("x", 5)],
            },
            Payload::OccCommitOk {
                committed: true,
                new_version: Some(6),
                versions: vec![kver("x", 6), kver("y", 1)],
                conflicts: vec![],
            },
            Payload::OccCommitOk {
                committed: false,
                new_version: None,
                versions: vec![],
                conflicts: vec![Conflict { key: "x".to_owned(), expected: 999, actual: 0 }],
            },
            Payload::Error { code: 12, text: "bad \"field\"".to_owned() },
            Payload::Unknown { type_name: "frobnicate".to_owned() },
        ];
        for payload in payloads {
            let e = envelope(Some(7), Some(3), payload);
            assert_eq!(decode(&encode_to_string(&e)), Ok(e.clone()), "{}", encode_to_string(&e));
        }
    }

    #[test]
    fn strings_are_escaped_so_any_text_survives() {
        let text = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} é ☃ 🦀";
        let e = envelope(None, None, Payload::OccBeginOk { txn_id: text.to_owned() });
        let line = encode_to_string(&e);
        assert!(!line.contains('\n'), "a raw newline would split the line: {line}");
        assert_eq!(decode(&line), Ok(e));
        // serde_json agrees with our encoding.
        let value: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(value["body"]["txn_id"], text);
    }

    #[test]
    fn the_seed_lines_decode() {
        check(
            r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}"#,
            Some(1),
            Payload::Init { node_id: "n1".to_owned(), node_ids: vec!["n1".to_owned()] },
        );
        check(
            r#"{"type":"occ_commit","msg_id":2,"txn_id":"t1","writes":[{"key":"x","value":"new"}],"read_versions":[{"key":"x","version":999}]}"#,
            Some(2),
            Payload::OccCommit {
                txn_id: "t1".to_owned(),
                writes: vec![KeyValue { key: "x".to_owned(), value: "new".to_owned() }],
                read_versions: vec![KeyVersion { key: "x".to_owned(), version: 999 }],
            },
        );
    }

    #[test]
    fn field_order_null_and_extra_fields_do_not_matter() {
        check(
            r#"{"key":"x","extra":[1,{"a":2}],"txn_id":"t9","msg_id":null,"type":"occ_read"}"#,
            None,
            Payload::OccRead { txn_id: "t9".to_owned(), key: "x".to_owned() },
        );
        check(
            r#"{"type":"occ_commit","txn_id":"t1","msg_id":4}"#,
            Some(4),
            Payload::OccCommit { txn_id: "t1".to_owned(), writes: vec![], read_versions: vec![] },
        );
    }

    #[test]
    fn an_unknown_type_decodes_to_unknown_even_with_odd_fields() {
        check(
            r#"{"type":"frob","msg_id":"seven","key":5}"#,
            None,
            Payload::Unknown { type_name: "frob".to_owned() },
        );
    }

    #[test]
    fn a_missing_or_ill_typed_field_is_malformed_and_named() {
        check(
            r#"{"type":"occ_read","msg_id":1,"key":"x"}"#,
            Some(1),
            malformed("occ_read", "missing field `txn_id`"),
        );
        check(
            r#"{"type":"occ_read","msg_id":1,"txn_id":5,"key":"x"}"#,
            Some(1),
            malformed("occ_read", "field `txn_id`: invalid type: integer `5`, expected a string"),
        );
        check(
            r#"{"type":"occ_commit","msg_id":1,"txn_id":"t1","writes":[{"key":"x"}]}"#,
            Some(1),
            malformed("occ_commit", "field `writes`: missing field `value`"),
        );
        check(
            r#"{"type":"occ_commit","msg_id":1,"txn_id":"t1","read_versions":[{"key":"x","version":-1}]}"#,
            Some(1),
            malformed(
                "occ_commit",
                "field `read_versions`: invalid value: integer `-1`, expected u64",
            ),
        );
        check(
            r#"{"type":"occ_begin","msg_id":"one"}"#,
            None,
            malformed("occ_begin", "field `msg_id`: invalid type: string \"one\", expected u64"),
        );
    }

    #[test]
    fn lines_that_are_not_envelopes_are_errors_that_say_why() {
        check_error("", "invalid JSON");
        check_error("hello", "invalid JSON");
        check_error(r#"{"src":"c1","dest":"n1","body":{"type":"init""#, "invalid JSON");
        check_error(
            r#"{"src":"c1","dest":"n1","body":{"type":"occ_begin"}} trailing"#,
            "invalid JSON",
        );
        check_error("[1,2]", "not an envelope");
        check_error(r#"{"dest":"n1","body":{"type":"occ_begin"}}"#, "missing field `src`");
        check_error(r#"{"src":1,"dest":"n1","body":{"type":"occ_begin"}}"#, "not an envelope");
        check_error(r#"{"src":"c1","dest":"n1","body":5}"#, "not an envelope");
        check_error(r#"{"src":"c1","dest":"n1","body":{"msg_id":1}}"#, "missing field `type`");
        check_error(r#"{"src":"c1","dest":"n1","body":{"type":7}}"#, "not an envelope");
    }
}
