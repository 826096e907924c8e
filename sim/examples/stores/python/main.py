#!/usr/bin/env python3
# A durable single-node OCC key-value store for the protocol of docs/protocol.md (JSON lines,
# Maelstrom style: init, occ_begin, occ_read, occ_commit). Python 3 standard library only.
# Run it in the directory that holds (or will hold) its log:
#     cd DATA_DIR && python3 /path/to/main.py      # requests on stdin, replies on stdout
# Every commit's answer (committed or aborted, with what it installed) and every block of
# issued transaction ids is one JSON line appended to ./occ.log and fsynced before the reply
# leaves; at start the log is replayed (a torn last line is cut off). So committed data,
# retried commits' answers and issued ids survive a crash; open transactions do not (their
# commit gets error 1000). Deterministic: no threads, timers, clocks or randomness, so the
# output is a function of the input and the log. Unlike occ-node nothing expires (no TTLs),
# and a cluster init is accepted but served as one node that owns every key.
import json, os, re, sys

LOG, IDS_PER_RECORD, U64 = "occ.log", 1024, 2 ** 64
OWN_ID = re.compile(r"t([1-9][0-9]*)\Z")  # ids of the node's own form: t1, t2, ...

class Refusal(Exception):  # an `error` reply
    def __init__(self, code, text): super().__init__(text); self.code, self.text = code, text

class Malformed(Exception): pass  # error 12, "malformed <type>: <reason>"

def clip(s, most=200):
    b = s.encode("utf-8", "surrogatepass")
    if len(b) <= most: return s
    head = b[:most].decode("utf-8", "ignore")
    return f"{head}… ({len(b) - len(head.encode('utf-8', 'surrogatepass'))} more bytes)"

def size(s): return len(s.encode("utf-8", "surrogatepass"))

def field(obj, name, kind, required=True):  # null counts as absent
    v = obj.get(name)
    if v is None:
        if required: raise Malformed(f"missing field `{name}`")
        return None
    if kind is int: ok = type(v) is int and 0 <= v < U64
    else: ok = isinstance(v, kind) and (kind is not list or all(type(x) is str for x in v))
    if not ok:
        want = {str: "a string", int: "a u64", list: "a list of strings"}[kind]
        raise Malformed(f"field `{name}`: invalid value {clip(json.dumps(v))}, expected {want}")
    return v

def pairs(body, name, second, kind):  # writes [{key, value}] or read_versions [{key, version}]
    v = body.get(name) or []
    try:
        if not isinstance(v, list) or not all(isinstance(it, dict) for it in v):
            raise Malformed(f"expected a list of objects with `key` and `{second}`")
        return [(field(it, "key", str), field(it, second, kind)) for it in v]
    except Malformed as m: raise Malformed(f"field `{name}`: {m}")

def too_large(txn_id, writes, reads):  # docs/protocol.md, Limits
    if size(txn_id) > 1024: return f"the txn_id is {size(txn_id)} bytes, the most is 1024"
    if len(writes) + len(reads) > 20000: return f"{len(writes) + len(reads)} items, the most is 20000"
    total = 0
    for k, v in writes + reads:
        if size(k) > 1024: return f"key `{clip(k)}` is {size(k)} bytes, the most is 1024"
        if isinstance(v, str) and size(v) > 1 << 20:
            return f"the value written to `{clip(k)}` is {size(v)} bytes, the most is 1048576"
        total += size(k) + (size(v) if isinstance(v, str) else 0)
    return f"keys and values are {total} bytes, the most is 4194304" if total > 4 << 20 else None

def own_number(txn_id):
    m = OWN_ID.match(txn_id)
    return int(m.group(1)) if m else None

def no_duplicates(items):
    obj = {}
    for k, v in items:
        if k in obj: raise ValueError(f"field `{k}` given twice")
        obj[k] = v
    return obj

def bad_constant(c): raise ValueError(f"{c} is not JSON")

class Node:
    def __init__(self):
        self.store, self.outcomes, self.open, self.reserved = {}, {}, {}, set()
        self.me = self.members = self.identity = None
        self.issued = self.floor = self.ids_upto = self.next_msg = 0
        self.exit_code = None
        self.recover()
        fresh = not os.path.exists(LOG)
        self.log = open(LOG, "ab")
        if fresh: d = os.open(".", os.O_RDONLY); os.fsync(d); os.close(d)  # the new name too

    def recover(self):
        try: data = open(LOG, "rb").read()
        except FileNotFoundError: return
        lines, good = data.split(b"\n"), 0
        for i, raw in enumerate(lines[:-1]):  # lines[-1]: bytes after the last newline
            try: rec = json.loads(raw)
            except ValueError:
                if i < len(lines) - 2 or lines[-1]: sys.exit(f"main.py: {LOG}: damaged line {i + 1}")
                break  # the last line is torn: cut it off below
            good += len(raw) + 1
            if "init" in rec: self.identity = rec
            elif "ids" in rec: self.issued = self.floor = self.ids_upto = rec["ids"]
            else:
                for k, v, version in rec["install"]: self.store[k] = (v, version)
                self.outcomes[rec["txn"]] = rec["reply"]
        if good < len(data):
            print(f"main.py: {LOG}: cut {len(data) - good} bytes of a torn tail", file=sys.stderr)
            with open(LOG, "r+b") as f: f.truncate(good); os.fsync(f.fileno())

    def append(self, record):  # durable before any later reply is written
        self.log.write((json.dumps(record, separators=(",", ":")) + "\n").encode())
        self.log.flush(); os.fsync(self.log.fileno())

    def version(self, key): return self.store.get(key, (None, 0))[1]

    def need_init(self):
        if self.me is None: raise Refusal(11, "node not initialised: send init first")

    def on_init(self, body):
        node_id, node_ids = field(body, "node_id", str), field(body, "node_ids", list)
        if self.me is not None and node_id != self.me:
            raise Refusal(22, f"already initialised as `{clip(self.me)}`, not `{clip(node_id)}`")
        if node_ids and node_id not in node_ids: raise Malformed(f"node_ids does not name this node `{clip(node_id)}`")
        twice = sorted(n for n in set(node_ids) if node_ids.count(n) > 1)
        if twice: raise Malformed(f"node_ids names `{clip(twice[0])}` twice")
        ident = {"init": node_id, "node_ids": node_ids or [node_id]}
        if self.me is not None and ident["node_ids"] != self.members:
            raise Refusal(22, f"already initialised with node_ids {json.dumps(self.members)}")
        if self.me is None:
            if self.identity is None: self.append(ident); self.identity = ident
            elif self.identity != ident:
                self.exit_code = 1
                raise Refusal(22, f"this node's log ./{LOG} belongs to {clip(json.dumps(self.identity))}")
            self.me, self.members = node_id, ident["node_ids"]
        return {"type": "init_ok"}

    def on_occ_begin(self, body):
        self.need_init()
        n = self.issued + 1
        while n in self.reserved or f"t{n}" in self.outcomes: n += 1  # ids a client named
        if n >= U64: raise Refusal(11, "transaction ids exhausted")
        if n > self.ids_upto:  # a restart must never issue this id again
            self.ids_upto = n + IDS_PER_RECORD - 1; self.append({"ids": self.ids_upto})
        self.issued, self.open[n] = n, []
        return {"type": "occ_begin_ok", "txn_id": f"t{n}"}

    def on_occ_read(self, body):
        txn_id, key = field(body, "txn_id", str), field(body, "key", str)
        self.need_init()
        value, version = self.store.get(key, (None, 0))
        n = own_number(txn_id)
        if n in self.open: self.open[n].append((key, version))
        elif n is not None and n > self.issued: self.reserved.add(n)  # begin skips it
        return {"type": "occ_read_ok", "value": value, "version": version}

    def on_occ_commit(self, body):
        txn_id = field(body, "txn_id", str)
        writes, reads = pairs(body, "writes", "value", str), pairs(body, "read_versions", "version", int)
        self.need_init()
        why = too_large(txn_id, writes, reads)
        if why: raise Refusal(12, f"commit too large: {why}")
        if txn_id in self.outcomes: return self.outcomes[txn_id]  # a retry: the first answer
        n = own_number(txn_id)
        if n in self.open: reads += self.open.pop(n)
        elif n is not None and n <= self.floor:  # issued before a restart, never committed
            raise Refusal(1000, f"state of transaction `{clip(txn_id)}` expired: it may or may not have committed")
        stale = sorted({(k, v, self.version(k)) for k, v in reads if self.version(k) != v})
        if stale:
            out, install = {"type": "occ_commit_ok", "committed": False, "versions": [],
                            "conflicts": [{"key": k, "expected": e, "actual": a} for k, e, a in stale]}, []
        else:
            last = dict(writes)  # a key written twice: the last value, one version bump
            install = [(k, last[k], self.version(k) + 1) for k in sorted(last)]
            out = {"type": "occ_commit_ok", "committed": True}
            if install: out["new_version"] = max(v for _, _, v in install)
            out.update(versions=[{"key": k, "version": v} for k, _, v in install], conflicts=[])
        self.append({"txn": txn_id, "reply": out, "install": install})
        for k, v, version in install: self.store[k] = (v, version)
        self.outcomes[txn_id] = out
        return out

    def handle(self, msg):
        body, kind = msg["body"], msg["body"]["type"]
        if kind == "error" or kind.endswith("_ok"): return None  # replies are never answered
        handler = getattr(self, "on_" + kind, None) if kind in ("init", "occ_begin", "occ_read", "occ_commit") else None
        msg_id = body.get("msg_id")
        try:
            try: field(body, "msg_id", int, False); field(body, "in_reply_to", int, False)
            except Malformed:
                msg_id = None  # an ill-typed msg_id cannot be answered to
                if handler: raise
            if handler is None: raise Refusal(10, f"unsupported message type `{clip(kind)}`")
            out = handler(body)
        except Malformed as m: out = {"type": "error", "code": 12, "text": f"malformed {kind}: {m}"}
        except Refusal as r: out = {"type": "error", "code": r.code, "text": r.text}
        reply = {"type": out["type"], "msg_id": self.next_msg}
        self.next_msg += 1
        if msg_id is not None: reply["in_reply_to"] = msg_id
        reply.update((k, v) for k, v in out.items() if k != "type")
        return {"src": self.me or msg["dest"], "dest": msg["src"], "body": reply}

def main():
    node, number = Node(), 0
    while True:
        raw = sys.stdin.buffer.readline()
        if not raw: return 0
        number += 1
        line = raw.rstrip(b"\n").rstrip(b"\r")
        if not line.strip(): continue
        try:
            msg = json.loads(line.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=bad_constant)
            if not (isinstance(msg, dict) and type(msg.get("src")) is str and type(msg.get("dest")) is str
                    and isinstance(msg.get("body"), dict) and type(msg["body"].get("type")) is str):
                raise ValueError("not an envelope (src, dest, body.type)")
        except (ValueError, RecursionError) as e:
            print(f"main.py: line {number}: {e}", file=sys.stderr, flush=True)
            continue
        reply = node.handle(msg)
        if reply:
            sys.stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        if node.exit_code is not None: return node.exit_code

if __name__ == "__main__":
    sys.exit(main())
