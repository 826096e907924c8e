#!/usr/bin/env node
// An in-memory single-node OCC key-value store for the protocol of docs/protocol.md (JSON
// lines, Maelstrom style: init, occ_begin, occ_read, occ_commit). Node.js, no npm packages.
// Run:  node main.js      # requests on stdin, one reply line per request on stdout
// Commits are idempotent per txn_id: every commit's answer (committed or aborted) is
// remembered, and a retried commit gets it again, never applied twice. Nothing is durable
// (a restart starts empty) and nothing expires (no TTLs, unlike occ-node). Deterministic: no
// timers, clocks or randomness. A cluster init is accepted but served as one node owning
// every key. JSON.parse keeps the last of duplicated fields instead of refusing the line,
// and integers above 2^53 lose precision.
"use strict";
const readline = require("readline");

const OWN_ID = /^t([1-9][0-9]*)$/; // ids of the node's own form: t1, t2, ...
class Refusal { constructor(code, text) { this.code = code; this.text = text; } } // an `error`
class Malformed { constructor(reason) { this.reason = reason; } } // error 12

const size = (s) => Buffer.byteLength(s, "utf8");
const byBytes = (a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
function clip(s, most = 200) {
  const b = Buffer.from(s, "utf8");
  if (b.length <= most) return s;
  const head = b.subarray(0, most).toString("utf8").replace(/\uFFFD+$/, "");
  return `${head}… (${b.length - size(head)} more bytes)`;
}

function field(obj, name, kind, required = true) { // null counts as absent
  const v = obj[name];
  if (v === undefined || v === null) {
    if (required) throw new Malformed(`missing field \`${name}\``);
    return null;
  }
  const ok = kind === "u64" ? Number.isSafeInteger(v) && v >= 0
    : kind === "list" ? Array.isArray(v) && v.every((x) => typeof x === "string")
    : typeof v === "string";
  if (!ok) throw new Malformed(`field \`${name}\`: invalid value ${clip(JSON.stringify(v))}, expected a ${kind}`);
  return v;
}

function pairs(body, name, second, kind) { // writes [{key, value}] or read_versions [{key, version}]
  const v = body[name] ?? [];
  try {
    if (!Array.isArray(v) || !v.every((it) => it && typeof it === "object" && !Array.isArray(it)))
      throw new Malformed(`expected a list of objects with \`key\` and \`${second}\``);
    return v.map((it) => [field(it, "key", "string"), field(it, second, kind)]);
  } catch (e) { throw e instanceof Malformed ? new Malformed(`field \`${name}\`: ${e.reason}`) : e; }
}

function tooLarge(txnId, writes, reads) { // docs/protocol.md, Limits
  if (size(txnId) > 1024) return `the txn_id is ${size(txnId)} bytes, the most is 1024`;
  const all = writes.concat(reads);
  if (all.length > 20000) return `${all.length} items, the most is 20000`;
  let total = 0;
  for (const [k, v] of all) {
    if (size(k) > 1024) return `key \`${clip(k)}\` is ${size(k)} bytes, the most is 1024`;
    const vs = typeof v === "string" ? size(v) : 0;
    if (vs > 1 << 20) return `the value written to \`${clip(k)}\` is ${vs} bytes, the most is 1048576`;
    total += size(k) + vs;
  }
  return total > 4 << 20 ? `keys and values are ${total} bytes, the most is 4194304` : null;
}

const ownNumber = (txnId) => { const m = OWN_ID.exec(txnId); return m ? BigInt(m[1]) : null; };

class Node {
  constructor() {
    this.store = new Map(); // key -> [value, version]
    this.outcomes = new Map(); // txn_id -> the commit's answer
    this.open = new Map(); // own id number -> reads recorded [[key, version]]
    this.reserved = new Set(); // own id numbers a client named before they were issued
    this.me = null; this.members = null; this.issued = 0n; this.nextMsg = 0;
  }
  version(key) { return this.store.has(key) ? this.store.get(key)[1] : 0; }
  needInit() { if (this.me === null) throw new Refusal(11, "node not initialised: send init first"); }

  init(body) {
    const nodeId = field(body, "node_id", "string"), nodeIds = field(body, "node_ids", "list");
    if (this.me !== null && nodeId !== this.me)
      throw new Refusal(22, `already initialised as \`${clip(this.me)}\`, not \`${clip(nodeId)}\``);
    if (nodeIds.length && !nodeIds.includes(nodeId)) throw new Malformed(`node_ids does not name this node \`${clip(nodeId)}\``);
    const twice = nodeIds.filter((n, i) => nodeIds.indexOf(n) !== i).sort(byBytes);
    if (twice.length) throw new Malformed(`node_ids names \`${clip(twice[0])}\` twice`);
    const members = nodeIds.length ? nodeIds : [nodeId];
    if (this.me !== null && JSON.stringify(members) !== JSON.stringify(this.members))
      throw new Refusal(22, `already initialised with node_ids ${JSON.stringify(this.members)}`);
    this.me = nodeId; this.members = members;
    return { type: "init_ok" };
  }

  occ_begin() {
    this.needInit();
    let n = this.issued + 1n;
    while (this.reserved.has(n) || this.outcomes.has(`t${n}`)) n += 1n; // ids a client named
    if (n >= 1n << 64n) throw new Refusal(11, "transaction ids exhausted");
    this.issued = n; this.open.set(n, []);
    return { type: "occ_begin_ok", txn_id: `t${n}` };
  }

  occ_read(body) {
    const txnId = field(body, "txn_id", "string"), key = field(body, "key", "string");
    this.needInit();
    const [value, version] = this.store.get(key) ?? [null, 0];
    const n = ownNumber(txnId);
    if (this.open.has(n)) this.open.get(n).push([key, version]);
    else if (n !== null && n > this.issued) this.reserved.add(n); // begin skips it
    return { type: "occ_read_ok", value, version };
  }

  occ_commit(body) {
    const txnId = field(body, "txn_id", "string");
    const writes = pairs(body, "writes", "value", "string"), reads = pairs(body, "read_versions", "version", "u64");
    this.needInit();
    const why = tooLarge(txnId, writes, reads);
    if (why) throw new Refusal(12, `commit too large: ${why}`);
    if (this.outcomes.has(txnId)) return this.outcomes.get(txnId); // a retry: the first answer
    const n = ownNumber(txnId);
    if (this.open.has(n)) { reads.push(...this.open.get(n)); this.open.delete(n); }
    const stale = new Map(); // each (key, expected) once
    for (const [k, v] of reads) if (this.version(k) !== v) stale.set(JSON.stringify([k, v]), [k, v, this.version(k)]);
    let out;
    if (stale.size) {
      const conflicts = [...stale.values()].sort((a, b) => byBytes(a[0], b[0]) || a[1] - b[1])
        .map(([key, expected, actual]) => ({ key, expected, actual }));
      out = { type: "occ_commit_ok", committed: false, versions: [], conflicts };
    } else {
      const last = new Map(writes); // a key written twice: the last value, one version bump
      const keys = [...last.keys()].sort(byBytes);
      const versions = keys.map((key) => ({ key, version: this.version(key) + 1 }));
      for (const { key, version } of versions) this.store.set(key, [last.get(key), version]);
      out = { type: "occ_commit_ok", committed: true };
      if (versions.length) out.new_version = Math.max(...versions.map((v) => v.version));
      Object.assign(out, { versions, conflicts: [] });
    }
    this.outcomes.set(txnId, out);
    return out;
  }

  handle(msg) {
    const body = msg.body, kind = body.type;
    if (kind === "error" || kind.endsWith("_ok")) return null; // replies are never answered
    const known = ["init", "occ_begin", "occ_read", "occ_commit"].includes(kind);
    let msgId = body.msg_id ?? null, out;
    try {
      try { field(body, "msg_id", "u64", false); field(body, "in_reply_to", "u64", false); }
      catch (e) { msgId = null; if (known) throw e; } // an ill-typed msg_id cannot be answered to
      if (!known) throw new Refusal(10, `unsupported message type \`${clip(kind)}\``);
      out = this[kind](body);
    } catch (e) {
      if (e instanceof Malformed) out = { type: "error", code: 12, text: `malformed ${kind}: ${e.reason}` };
      else if (e instanceof Refusal) out = { type: "error", code: e.code, text: e.text };
      else throw e;
    }
    const reply = { type: out.type, msg_id: this.nextMsg++ };
    if (msgId !== null) reply.in_reply_to = msgId;
    for (const [k, v] of Object.entries(out)) if (k !== "type") reply[k] = v;
    return { src: this.me ?? msg.dest, dest: msg.src, body: reply };
  }
}

const node = new Node();
let lineNumber = 0;
readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on("line", (line) => {
  lineNumber += 1;
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
    if (!(msg && typeof msg === "object" && typeof msg.src === "string" && typeof msg.dest === "string"
      && msg.body && typeof msg.body === "object" && !Array.isArray(msg.body) && typeof msg.body.type === "string"))
      throw new Error("not an envelope (src, dest, body.type)");
  } catch (e) {
    process.stderr.write(`main.js: line ${lineNumber}: ${e.message}\n`);
    return;
  }
  const reply = node.handle(msg);
  if (reply) process.stdout.write(JSON.stringify(reply) + "\n");
});
