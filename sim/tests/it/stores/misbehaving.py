"""A small in-memory OCC store (docs/protocol.md) that misbehaves as a process on purpose,
one way per mode, so that tests can see `sim --bin` say what went wrong in words:

  python3 misbehaving.py correct      behaves (idempotent commits, flushes every line)
  python3 misbehaving.py unflushed    never flushes stdout (block-buffered on a pipe)
  python3 misbehaving.py init-flushed flushes its answer to init, and nothing after it
  python3 misbehaving.py random-ids   names transactions with random numbers
  python3 misbehaving.py exits        exits after its tenth line
  python3 misbehaving.py chatter      prints a debug line on stdout at every begin
  python3 misbehaving.py hangs        spins forever on its fifth line
  python3 misbehaving.py seed-shape   answers commits as the task this protocol comes from
                                      shows them: `committed` and `new_version`, no `versions`
  python3 misbehaving.py timer        a thread on the wall clock writes a message every 5 ms
  python3 misbehaving.py flaky FILE   exits on its (20 + N)th line, N counting its starts
                                      in FILE: each run of a seed differs from the last
"""
import json
import random
import sys
import threading
import time

MODE = sys.argv[1]
STARTS = 0
if MODE == "flaky":
    with open(sys.argv[2], "a+") as starts:
        starts.write("started\n")
        starts.seek(0)
        STARTS = len(starts.readlines())
store, outcomes, me, ids, msgs = {}, {}, None, 0, 0


def answer(msg, body):
    global msgs
    body = dict(body, msg_id=msgs)
    msgs += 1
    if "msg_id" in msg["body"]:
        body["in_reply_to"] = msg["body"]["msg_id"]
    line = json.dumps({"src": me or msg["dest"], "dest": msg["src"], "body": body})
    sys.stdout.write(line + "\n")
    if MODE != "unflushed" and (MODE != "init-flushed" or body["type"] == "init_ok"):
        sys.stdout.flush()


def commit(body):
    stale = [
        {"key": r["key"], "expected": r["version"], "actual": store.get(r["key"], (None, 0))[1]}
        for r in body.get("read_versions") or []
        if store.get(r["key"], (None, 0))[1] != r["version"]
    ]
    if stale:
        stale = sorted({(c["key"], c["expected"]): c for c in stale}.values(),
                       key=lambda c: (c["key"], c["expected"]))
        return {"type": "occ_commit_ok", "committed": False, "versions": [], "conflicts": stale}
    last = {w["key"]: w["value"] for w in body.get("writes") or []}
    versions = []
    for key in sorted(last):
        store[key] = (last[key], store.get(key, (None, 0))[1] + 1)
        versions.append({"key": key, "version": store[key][1]})
    reply = {"type": "occ_commit_ok", "committed": True, "versions": versions, "conflicts": []}
    if versions:
        reply["new_version"] = max(v["version"] for v in versions)
    return reply


def tick_on_the_wall_clock():
    while True:
        time.sleep(0.005)
        line = json.dumps({"src": me, "dest": "c1", "body": {"type": "occ_begin_ok", "txn_id": "t0"}})
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    global me, ids
    lines = 0
    while True:
        raw = sys.stdin.readline()
        if not raw:
            return
        lines += 1
        if MODE == "exits" and lines > 10:
            sys.exit(3)
        if MODE == "flaky" and lines == 20 + STARTS:
            sys.exit(4)
        if MODE == "hangs" and lines == 5:
            while True:
                pass
        msg = json.loads(raw)
        body = msg["body"]
        kind = body["type"]
        if kind == "init":
            me = body["node_id"]
            answer(msg, {"type": "init_ok"})
            if MODE == "timer":
                threading.Thread(target=tick_on_the_wall_clock, daemon=True).start()
        elif kind == "occ_begin":
            if MODE == "chatter":
                print("DEBUG: begin")
                sys.stdout.flush()
            ids += 1
            txn = f"t{random.getrandbits(40) if MODE == 'random-ids' else ids}"
            answer(msg, {"type": "occ_begin_ok", "txn_id": txn})
        elif kind == "occ_read":
            value, version = store.get(body["key"], (None, 0))
            answer(msg, {"type": "occ_read_ok", "value": value, "version": version})
        elif kind == "occ_commit":
            txn = body["txn_id"]
            if txn not in outcomes:
                outcomes[txn] = commit(body)
            reply = outcomes[txn]
            if MODE == "seed-shape":
                reply = {k: v for k, v in reply.items() if k in ("type", "committed", "new_version")}
            answer(msg, reply)
        elif not kind.endswith("_ok") and kind != "error":
            answer(msg, {"type": "error", "code": 10, "text": f"unknown type {kind}"})


main()
