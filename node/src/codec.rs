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
}

/// Parses one line (without its newline) into an envelope.
pub fn decode(line: &str) -> Result<Envelope, DecodeError> {
    let raw: RawEnvelope<'_> = serde_json::from_str(line).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "not an envelope",
            _ => "invalid JSON",
        };
        DecodeError { message: format!("{what}: {e}") }
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
        format!("field `{name}`: {message}")
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
    match &body.payload {
        Payload::Init { node_id, node_ids } => {
            field(out, "node_id");
            string(out, node_id);
            field(out, "node_ids");
            list(out, node_ids, |out, id| string(out, id));
        }
        Payload::InitOk | Payload::OccBegin => {}
        Payload::OccBeginOk { txn_id } => {
            field(out, "txn_id");
            string(out, txn_id);
        }
        Payload::OccRead { txn_id, key } => {
            field(out, "txn_id");
            string(out, txn_id);
            field(out, "key");
            string(out, key);
        }
        Payload::OccReadOk { value, version } => {
            field(out, "value");
            match value {
                Some(value) => string(out, value),
                None => out.extend_from_slice(b"null"),
            }
            field(out, "version");
            number(out, *version);
        }
        Payload::OccCommit { txn_id, writes, read_versions } => {
            field(out, "txn_id");
            string(out, txn_id);
            field(out, "writes");
            list(out, writes, key_value);
            field(out, "read_versions");
            list(out, read_versions, key_version);
        }
        Payload::OccCommitOk { committed, new_version, versions, conflicts } => {
            field(out, "committed");
            out.extend_from_slice(if *committed { b"true" } else { b"false" });
            if let Some(new_version) = new_version {
                field(out, "new_version");
                number(out, *new_version);
            }
            field(out, "versions");
            list(out, versions, key_version);
            field(out, "conflicts");
            list(out, conflicts, conflict);
        }
        Payload::Error { code, text } => {
            field(out, "code");
            number(out, u64::from(*code));
            field(out, "text");
            string(out, text);
        }
        // Decode artefacts: only their type and common fields survive a round trip.
        Payload::Unknown { .. } | Payload::Malformed { .. } => {}
    }
    out.extend_from_slice(b"}}");
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
