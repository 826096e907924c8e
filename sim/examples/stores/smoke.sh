#!/usr/bin/env bash
# Smoke test of the example stores in this directory: python/ (durable), python-naive/
# (non-idempotent on purpose) and node/. Pipes JSON lines into each and compares the
# replies with the ones docs/protocol.md calls for; for the durable store it also kills it
# (kill -9) mid-run and restarts it in the same directory. Needs bash, python3 and node.
# Run:  bash sim/examples/stores/smoke.sh      (exit status 0: all passed; 1: a mismatch)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failed=1; }
same() { # name want got: the same lines, or a diff
  if diff -u "$2" "$3" > "$work/diff"; then pass "$1"; else fail "$1"; cat "$work/diff"; fi
}
bodies() { sed -E 's/"msg_id":[0-9]+,"in_reply_to":[0-9]+,//' "$@"; } # a reply minus its numbering

# 1. One session, every store: before init, init, begin, a read of a missing key, a commit,
# the read back, a retried commit (other writes, same txn_id), a stale commit and its retry,
# a begun transaction whose recorded read went stale, a key written twice in one commit,
# malformed and unknown requests, a reply (not answered), a line that is not JSON, re-inits.
cat > "$work/in" <<'EOF'
{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":1}}
{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}
{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":3,"txn_id":"t1","key":"x"}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":4,"txn_id":"t1","writes":[{"key":"x","value":"7"},{"key":"y","value":"8"}],"read_versions":[{"key":"x","version":0}]}}
{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":5,"txn_id":"look","key":"x"}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":6,"txn_id":"t1","writes":[{"key":"x","value":"9"}],"read_versions":[]}}
{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":1,"txn_id":"mine","writes":[{"key":"x","value":"9"}],"read_versions":[{"key":"x","version":0}]}}
{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"mine","writes":[{"key":"x","value":"9"}],"read_versions":[{"key":"x","version":1}]}}
{"src":"c2","dest":"n1","body":{"type":"occ_begin","msg_id":3}}
{"src":"c2","dest":"n1","body":{"type":"occ_read","msg_id":4,"txn_id":"t2","key":"x"}}
{"src":"c3","dest":"n1","body":{"type":"occ_commit","msg_id":1,"txn_id":"blind","writes":[{"key":"x","value":"10"}]}}
{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":5,"txn_id":"t2","writes":[{"key":"x","value":"11"}],"read_versions":[]}}
{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":6,"txn_id":"t2","writes":[{"key":"x","value":"11"}],"read_versions":[{"key":"x","version":2}]}}
{"src":"c3","dest":"n1","body":{"type":"occ_commit","msg_id":2,"txn_id":"twice","writes":[{"key":"x","value":"a"},{"key":"x","value":"b"}],"read_versions":[{"key":"x","version":2},{"key":"x","version":2}]}}
{"src":"c3","dest":"n1","body":{"type":"occ_read","msg_id":3,"txn_id":"look","key":"x"}}
{"src":"c3","dest":"n1","body":{"type":"occ_read","msg_id":4,"key":"x"}}
{"src":"c3","dest":"n1","body":{"type":"occ_commit","msg_id":5,"txn_id":"bad","read_versions":[{"key":"x","version":-1}]}}
{"src":"c3","dest":"n1","body":{"type":"occ_scan","msg_id":6}}
{"src":"c3","dest":"n1","body":{"type":"occ_read_ok","msg_id":7,"value":"1","version":1}}
hello

{"src":"c0","dest":"n1","body":{"type":"init","msg_id":2,"node_id":"n2","node_ids":["n2"]}}
{"src":"c0","dest":"n1","body":{"type":"init","msg_id":3,"node_id":"n1","node_ids":[]}}
EOF
cat > "$work/want" <<'EOF'
{"src":"n1","dest":"c1","body":{"type":"error","msg_id":0,"in_reply_to":1,"code":11,"text":"node not initialised: send init first"}}
{"src":"n1","dest":"c0","body":{"type":"init_ok","msg_id":1,"in_reply_to":1}}
{"src":"n1","dest":"c1","body":{"type":"occ_begin_ok","msg_id":2,"in_reply_to":2,"txn_id":"t1"}}
{"src":"n1","dest":"c1","body":{"type":"occ_read_ok","msg_id":3,"in_reply_to":3,"value":null,"version":0}}
{"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","msg_id":4,"in_reply_to":4,"committed":true,"new_version":1,"versions":[{"key":"x","version":1},{"key":"y","version":1}],"conflicts":[]}}
{"src":"n1","dest":"c1","body":{"type":"occ_read_ok","msg_id":5,"in_reply_to":5,"value":"7","version":1}}
{"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","msg_id":6,"in_reply_to":6,"committed":true,"new_version":1,"versions":[{"key":"x","version":1},{"key":"y","version":1}],"conflicts":[]}}
{"src":"n1","dest":"c2","body":{"type":"occ_commit_ok","msg_id":7,"in_reply_to":1,"committed":false,"versions":[],"conflicts":[{"key":"x","expected":0,"actual":1}]}}
{"src":"n1","dest":"c2","body":{"type":"occ_commit_ok","msg_id":8,"in_reply_to":2,"committed":false,"versions":[],"conflicts":[{"key":"x","expected":0,"actual":1}]}}
{"src":"n1","dest":"c2","body":{"type":"occ_begin_ok","msg_id":9,"in_reply_to":3,"txn_id":"t2"}}
{"src":"n1","dest":"c2","body":{"type":"occ_read_ok","msg_id":10,"in_reply_to":4,"value":"7","version":1}}
{"src":"n1","dest":"c3","body":{"type":"occ_commit_ok","msg_id":11,"in_reply_to":1,"committed":true,"new_version":2,"versions":[{"key":"x","version":2}],"conflicts":[]}}
{"src":"n1","dest":"c2","body":{"type":"occ_commit_ok","msg_id":12,"in_reply_to":5,"committed":false,"versions":[],"conflicts":[{"key":"x","expected":1,"actual":2}]}}
{"src":"n1","dest":"c2","body":{"type":"occ_commit_ok","msg_id":13,"in_reply_to":6,"committed":false,"versions":[],"conflicts":[{"key":"x","expected":1,"actual":2}]}}
{"src":"n1","dest":"c3","body":{"type":"occ_commit_ok","msg_id":14,"in_reply_to":2,"committed":true,"new_version":3,"versions":[{"key":"x","version":3}],"conflicts":[]}}
{"src":"n1","dest":"c3","body":{"type":"occ_read_ok","msg_id":15,"in_reply_to":3,"value":"b","version":3}}
{"src":"n1","dest":"c3","body":{"type":"error","msg_id":16,"in_reply_to":4,"code":12,"text":"malformed occ_read: missing field `txn_id`"}}
{"src":"n1","dest":"c3","body":{"type":"error","msg_id":17,"in_reply_to":5,"code":12,"text":"malformed occ_commit: field `read_versions`: field `version`: invalid value -1, expected a u64"}}
{"src":"n1","dest":"c3","body":{"type":"error","msg_id":18,"in_reply_to":6,"code":10,"text":"unsupported message type `occ_scan`"}}
{"src":"n1","dest":"c0","body":{"type":"error","msg_id":19,"in_reply_to":2,"code":22,"text":"already initialised as `n1`, not `n2`"}}
{"src":"n1","dest":"c0","body":{"type":"init_ok","msg_id":20,"in_reply_to":3}}
EOF
mkdir "$work/py" "$work/naive" "$work/js"
(cd "$work/py" && python3 "$here/python/main.py" < "$work/in" > out 2> err)
same "python: session" "$work/want" "$work/py/out"
(cd "$work/js" && node "$here/node/main.js" < "$work/in" > out 2> err)
same "node: session" "$work/want" "$work/js/out"
grep -q "line 21" "$work/py/err" && grep -q "line 21" "$work/js/err" \
  && pass "python, node: the non-JSON line reported on stderr" || fail "non-JSON line not reported"

# The naive store answers as specified up to the retried commit of t1 (reply 7), which it
# runs a second time: it must answer differently, which is its planted bug.
(cd "$work/naive" && python3 "$here/python-naive/main.py" < "$work/in" > out 2> err)
head -n 6 "$work/want" > "$work/want6"; head -n 6 "$work/naive/out" > "$work/naive6"
same "python-naive: session up to the retry" "$work/want6" "$work/naive6"
want7=$(sed -n 7p "$work/want"); got7=$(sed -n 7p "$work/naive/out")
if [ "$want7" != "$got7" ] && [[ $got7 == *'"new_version":2'* ]]; then
  pass "python-naive: the retried commit is applied again (its planted bug): $got7"
else fail "python-naive: expected the retry to bump x to version 2, got: $got7"; fi

# 2. The durable store: a first life killed with kill -9 after its replies came back, a torn
# last line added to the log, then a second life in the same directory.
d="$work/durable"; mkdir "$d"
coproc STORE { cd "$d" && exec python3 "$here/python/main.py" 2> "$d/err1"; }
ask() { # request, file: one line in, its reply appended to the file
  printf '%s\n' "$1" >&"${STORE[1]}"
  if IFS= read -r -t 10 reply <&"${STORE[0]}"; then printf '%s\n' "$reply" >> "$2"; else echo "(no reply)" >> "$2"; fi
}
ask '{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}' "$d/life1"
ask '{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":2}}' "$d/life1"
ask '{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"t1","writes":[{"key":"x","value":"a"},{"key":"y","value":"b"}]}}' "$d/life1"
ask '{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":4}}' "$d/life1"
ask '{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":5,"txn_id":"t2","key":"x"}}' "$d/life1"
ask '{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":6,"txn_id":"blind","writes":[{"key":"y","value":"c"}]}}' "$d/life1"
kill -9 "$STORE_PID"; wait "$STORE_PID" 2> /dev/null
cat > "$work/want1" <<'EOF'
{"src":"n1","dest":"c0","body":{"type":"init_ok","msg_id":0,"in_reply_to":1}}
{"src":"n1","dest":"c1","body":{"type":"occ_begin_ok","msg_id":1,"in_reply_to":2,"txn_id":"t1"}}
{"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","msg_id":2,"in_reply_to":3,"committed":true,"new_version":1,"versions":[{"key":"x","version":1},{"key":"y","version":1}],"conflicts":[]}}
{"src":"n1","dest":"c1","body":{"type":"occ_begin_ok","msg_id":3,"in_reply_to":4,"txn_id":"t2"}}
{"src":"n1","dest":"c1","body":{"type":"occ_read_ok","msg_id":4,"in_reply_to":5,"value":"a","version":1}}
{"src":"n1","dest":"c2","body":{"type":"occ_commit_ok","msg_id":5,"in_reply_to":6,"committed":true,"new_version":2,"versions":[{"key":"y","version":2}],"conflicts":[]}}
EOF
same "python durable: first life, then kill -9" "$work/want1" "$d/life1"
printf '{"txn":"t9","reply":{"ty' >> "$d/occ.log" # a torn last line: no newline

cat > "$work/in2" <<'EOF'
{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":1,"txn_id":"look","key":"x"}}
{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1"]}}
{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":2,"txn_id":"look","key":"x"}}
{"src":"c1","dest":"n1","body":{"type":"occ_read","msg_id":2,"txn_id":"look","key":"y"}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":3,"txn_id":"t1","writes":[{"key":"x","value":"other"}]}}
{"src":"c2","dest":"n1","body":{"type":"occ_commit","msg_id":6,"txn_id":"blind","writes":[{"key":"y","value":"c"}]}}
{"src":"c1","dest":"n1","body":{"type":"occ_commit","msg_id":7,"txn_id":"t2","writes":[{"key":"x","value":"z"}],"read_versions":[{"key":"x","version":1}]}}
{"src":"c1","dest":"n1","body":{"type":"occ_begin","msg_id":8}}
EOF
cat > "$work/want2" <<'EOF'
{"src":"n1","dest":"c1","body":{"type":"error","msg_id":0,"in_reply_to":1,"code":11,"text":"node not initialised: send init first"}}
{"src":"n1","dest":"c0","body":{"type":"init_ok","msg_id":1,"in_reply_to":1}}
{"src":"n1","dest":"c1","body":{"type":"occ_read_ok","msg_id":2,"in_reply_to":2,"value":"a","version":1}}
{"src":"n1","dest":"c1","body":{"type":"occ_read_ok","msg_id":3,"in_reply_to":2,"value":"c","version":2}}
{"src":"n1","dest":"c1","body":{"type":"occ_commit_ok","msg_id":4,"in_reply_to":3,"committed":true,"new_version":1,"versions":[{"key":"x","version":1},{"key":"y","version":1}],"conflicts":[]}}
{"src":"n1","dest":"c2","body":{"type":"occ_commit_ok","msg_id":5,"in_reply_to":6,"committed":true,"new_version":2,"versions":[{"key":"y","version":2}],"conflicts":[]}}
{"src":"n1","dest":"c1","body":{"type":"error","msg_id":6,"in_reply_to":7,"code":1000,"text":"state of transaction `t2` expired: it may or may not have committed"}}
{"src":"n1","dest":"c1","body":{"type":"occ_begin_ok","msg_id":7,"in_reply_to":8,"txn_id":"t1025"}}
EOF
(cd "$d" && python3 "$here/python/main.py" < "$work/in2" > life2 2> err2)
same "python durable: second life (data, retried commits, open txn lost, ids not reused)" "$work/want2" "$d/life2"
sed -n '3p;6p' "$d/life1" | bodies > "$work/first"; sed -n '5,6p' "$d/life2" | bodies > "$work/again"
same "python durable: retries after the restart answered as the first time" "$work/first" "$work/again"
grep -q "torn tail" "$d/err2" && pass "python durable: torn last line cut off" || fail "torn tail not reported: $(cat "$d/err2")"
if grep -q "ty\$" "$d/occ.log" || [ "$(tail -c 1 "$d/occ.log" | od -An -c | tr -d ' ')" != '\n' ]; then
  fail "python durable: the log still ends in a torn line"; fi

# A third life as another node: refused (error 22), exit status 1, the log left as it was.
cp "$d/occ.log" "$work/log-before"
echo '{"src":"c0","dest":"n2","body":{"type":"init","msg_id":1,"node_id":"n2","node_ids":["n2"]}}' \
  | (cd "$d" && python3 "$here/python/main.py" > life3 2> err3); status=$?
[ "$status" = 1 ] && grep -q '"code":22' "$d/life3" && cmp -s "$d/occ.log" "$work/log-before" \
  && pass "python durable: init as another node refused, exit 1" || fail "init as another node: status $status, $(cat "$d/life3")"

if [ "$failed" = 0 ]; then echo "all passed"; else echo "FAILED"; fi
exit "$failed"
