#!/usr/bin/env bash
# The README's promise: `rotor run` on the bundled quickstart fleet for 60 s
# leaves the store, out/ and the journal agreeing on exactly one current
# version per identity; `rotor audit verify` passes, and fails after any edit
# to a journal line, the removal of a line in the middle, or of the last line.
# Every delivered certificate verifies with OpenSSL against <data-dir>/ca and
# parses with GnuTLS, and two delivered identities complete mutual TLS.
source "$(dirname "$0")/lib.sh"
D="$WORK/data"
DURATION=${ROTOR_QUICKSTART_SECONDS:-60}
expect_exit 0 rotor run --config "$ROTOR_SOURCE_DIR/examples/quickstart.yaml" --data-dir "$D" --duration "$DURATION" \
  --no-progress
printf '%s\n' "$OUT" >"$D.log"
expect_output_contains '"msg":"rotor stopped"'
# 10,010 API keys, 505 certificates and the CA's intermediate.
TOTAL=10516
s=$(rotor status --json --data-dir "$D")
[ "$(json_field "$s" 'j["identities"]')" -eq $TOTAL ] || fail "expected $TOTAL identities"
# not_settled PREDICATE : the records (and their journal trail) of identities
# that fail PREDICATE, so that a failure says which identity and why.
not_settled() {
  json_field "$s" "'\\n'.join(str({k: r.get(k) for k in ('id', 'phase', 'health', 'last_error', 'consecutive_failures')}) for r in j['records'] if not ($1))"
  json_field "$s" "' '.join(r['id'] for r in j['records'] if not ($1))" | tr ' ' '\n' | head -3 | while read -r id; do
    [ -n "$id" ] && grep -h "\"subject\":\"$id\"" "$D"/audit/*.jsonl | grep -v '"dev.rotor.credential\.' | cut -c1-400
  done
  grep -v '"level":"info"' "$D.log" 2>/dev/null | tail -20 || true
}
[ "$(json_field "$s" 'j["by_phase"].get("active", 0)')" -eq $TOTAL ] ||
  fail "not every identity is active: $(json_field "$s" 'j["by_phase"]')"$'\n'"$(not_settled 'r["phase"] == "active"')"
[ "$(json_field "$s" 'j["by_health"].get("healthy", 0)')" -eq $TOTAL ] ||
  fail "not every identity is healthy"$'\n'"$(not_settled 'r["health"] == "healthy"')"
rotated=$(json_field "$s" 'sum(1 for r in j["records"] if r["current"]["generation"] > 1)')
[ "$rotated" -gt 0 ] || fail "no identity rotated within ${DURATION}s"
echo "identities rotated past generation 1 within ${DURATION}s: $rotated"
expect_exit 0 rotor check --data-dir "$D"
expect_output_contains "$TOTAL identities"
expect_exit 0 rotor audit verify --data-dir "$D"
pass "store, out/ and journal agree; audit verify passes"

# Certificates: every current one verifies against the trust anchor with its
# delivered chain (OpenSSL) and parses with GnuTLS's certtool.
certs=0
for cert in "$D"/out/*/current/cert.pem; do
  dir=$(dirname "$cert")
  out=$(openssl verify -CAfile "$D/ca/ca.pem" -untrusted "$dir/chain.pem" "$cert" 2>&1) ||
    fail "openssl verify refused $cert: $out"
  certtool -i --infile "$cert" >/dev/null 2>&1 || fail "certtool -i cannot parse $cert"
  certs=$((certs + 1))
done
[ "$certs" -eq 505 ] || fail "expected 505 delivered certificates, found $certs"
[ "$(stat -c %a "$D/out/payments-api-000/current/key.pem")" = 600 ] || fail "key.pem is not 0600"
pass "$certs certificates verify with openssl against ca/ca.pem and parse with certtool"

# Mutual TLS between two delivered identities: payments-api-000 serves,
# payments-api-001 connects, each checking the other against ca/ca.pem.
A="$D/out/payments-api-000/current"
B="$D/out/payments-api-001/current"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$port" -naccept 1 -cert "$A/cert.pem" -key "$A/key.pem" \
  -cert_chain "$A/chain.pem" -CAfile "$D/ca/ca.pem" -Verify 1 -verify_return_error \
  < <(sleep 30) >"$WORK/server.log" 2>&1 &  # s_server quits when its stdin closes
server=$!
wait_for 10 "openssl s_server" grep -q ACCEPT "$WORK/server.log"
client=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -cert "$B/cert.pem" -key "$B/key.pem" \
  -cert_chain "$B/chain.pem" -CAfile "$D/ca/ca.pem" -verify_return_error \
  -verify_hostname payments-api-000.payments.svc 2>&1) || fail "s_client failed: $client"
wait "$server" || true
grep -q "Verify return code: 0 (ok)" <<<"$client" || fail "the client did not verify the server: $client"
grep -q "CN = payments-api-001.payments.svc" "$WORK/server.log" || fail "the server saw no client certificate: $(cat "$WORK/server.log")"
! grep -qi "verify error" "$WORK/server.log" || fail "the server refused the client: $(cat "$WORK/server.log")"
pass "mutual TLS: payments-api-001 and payments-api-000 verify each other with their delivered files"

J=audit/journal-000001.jsonl
lines=$(wc -l <"$D/$J")

# tamper NAME SCRIPT : copies the data dir, runs SCRIPT on the copy's journal,
# and expects `rotor audit verify` to fail naming a journal line.
tamper() {
  local name=$1 script=$2 copy="$WORK/$1"
  # audit verify reads only the store and the journal: copy just those.
  mkdir "$copy"
  cp -a "$D/store" "$D/audit" "$copy/"
  python3 -c "$script" "$copy/$J"
  expect_exit 1 rotor audit verify --data-dir "$copy"
  expect_output_contains "FAILED"
  echo "  $name: $(tail -1 <<<"$OUT")"
  rm -rf "$copy"
}
edit_char='
import sys
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
i = len(lines) // 2
lines[i] = lines[i].replace(b"\"generation\":", b"\"generation\":9", 1) if b"\"generation\":" in lines[i] else lines[i][:-3] + b"x" + lines[i][-2:]
open(p, "wb").write(b"\n".join(lines))'
tamper edit-field "$edit_char"
want=$(( (lines + 1) / 2 + 1 ))  # the script edits index len(split)//2, 0-based
grep -q "line $want:" <<<"$OUT" || fail "the edit was not located at line $want: $OUT"
tamper edit-time '
import sys, re
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
lines[5] = re.sub(rb"\"time\":\"(\d)", lambda m: b"\"time\":\"" + (b"1" if m.group(1) != b"1" else b"2"), lines[5], count=1)
open(p, "wb").write(b"\n".join(lines))'
grep -q "line 6" <<<"$OUT" || fail "the edit of line 6 was not located: $OUT"
tamper delete-middle '
import sys
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
del lines[len(lines) // 3]
open(p, "wb").write(b"\n".join(lines))'
tamper delete-last '
import sys
p = sys.argv[1]; data = open(p, "rb").read().rstrip(b"\n").split(b"\n")
open(p, "wb").write(b"\n".join(data[:-1]) + b"\n")'
tamper truncate-half '
import sys, os
p = sys.argv[1]; os.truncate(p, os.path.getsize(p) // 2)'
tamper reorder '
import sys, json
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
# Swap the first two events of one identity (the order across identities is free).
subject = json.loads(lines[100])["subject"]
mine = [i for i, l in enumerate(lines) if l and json.loads(l)["subject"] == subject][:2]
a, b = mine
lines[a], lines[b] = lines[b], lines[a]
open(p, "wb").write(b"\n".join(lines))'
tamper duplicate '
import sys
p = sys.argv[1]; lines = open(p, "rb").read().split(b"\n")
lines.insert(20, lines[20])
open(p, "wb").write(b"\n".join(lines))'
pass "audit verify fails on an edited, deleted, truncated, reordered or duplicated line"

# The delivered files also disagree detectably: re-point one current link.
cp -a "$D" "$WORK/relink"
id=ci-job-0042
g=$(readlink "$WORK/relink/out/$id/current" | sed 's|versions/||')
mkdir -p "$WORK/relink/out/$id/versions/999"
cp -p "$WORK/relink/out/$id/versions/$g/secret" "$WORK/relink/out/$id/versions/999/secret"
ln -sfn versions/999 "$WORK/relink/out/$id/current"
expect_exit 1 rotor check --data-dir "$WORK/relink"
expect_output_contains "$id"
pass "rotor check notices a current link that disagrees with the store"
