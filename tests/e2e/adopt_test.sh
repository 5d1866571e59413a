#!/usr/bin/env bash
# rotor import --adopt, end to end with the real binary and certificates the
# openssl CLI makes: an Ed25519 leaf with its key, a P-256 leaf (IP and URI
# SANs), an RSA leaf behind an intermediate, a P-384 leaf (a key type rotor
# does not issue), an expired leaf, a leaf without its key and the CA that
# issued them. A dry run changes nothing; an adoption that dies before its
# commit adopts nothing; adoption is refused beside a running daemon; the
# daemon re-issues every adopted leaf from rotor's CA (openssl verify), with
# the same subject and SANs, keeps generation 1 until the grace window ends,
# and a fleet reload leaves the adopted identities alone.
source "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"
F=$WORK/fx
mkdir -p "$F/src" "$F/in"
cd "$F/src"
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -subj "/CN=Old Root/O=Acme" -days 3650 -addext basicConstraints=critical,CA:TRUE
o req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr -subj "/CN=Old Issuing CA/O=Acme"
printf 'basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >ca.ext
o x509 -req -in inter.csr -CA ca.pem -CAkey ca.key -set_serial 77 -days 1825 -extfile ca.ext -out inter.pem
cat >ca.cnf <<'CNF'
[ca]
default_ca = c
[c]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
unique_subject = no
preserve = yes
[p]
commonName = supplied
organizationName = optional
organizationalUnitName = optional
CNF
: >index.txt
echo 1000 >serial
# leaf NAME ISSUER KEYOPTS SUBJECT SAN EKU START END
leaf() {
  o req -new $3 -nodes -keyout "$1.key" -out "$1.csr" -subj "$4"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=%s\nextendedKeyUsage=%s\n' \
    "$5" "$6" >"$1.ext"
  o ca -batch -config ca.cnf -cert "$2.pem" -keyfile "$2.key" -startdate "$7" -enddate "$8" -in "$1.csr" \
    -out "$1.pem" -notext -extfile "$1.ext" || fail "openssl ca could not sign $1"
}
# Issued ten days ago for eleven days: past two thirds of their life, so due.
S=$(date -u -d '-10 days' +%Y%m%d%H%M%SZ)
E=$(date -u -d '+1 day' +%Y%m%d%H%M%SZ)
leaf ed ca "-newkey ed25519" "/CN=api.example.com/O=Acme" "DNS:api.example.com,DNS:api-v2.example.com" serverAuth "$S" "$E"
leaf p256 ca "-newkey ec -pkeyopt ec_paramgen_curve:P-256" "/CN=device-7/O=Acme/OU=Fleet" \
  "IP:10.0.0.7,URI:spiffe://acme.example/device/7" clientAuth "$S" "$E"
leaf rsa inter "-newkey rsa:2048" "/CN=legacy.example.com" "DNS:legacy.example.com" "serverAuth,clientAuth" "$S" "$E"
leaf p384 ca "-newkey ec -pkeyopt ec_paramgen_curve:P-384" "/CN=p384.example.com" "DNS:p384.example.com" serverAuth "$S" "$E"
leaf old ca "-newkey ed25519" "/CN=old.example.com" "DNS:old.example.com" serverAuth 200101000000Z 210101000000Z
leaf nokey ca "-newkey ed25519" "/CN=nokey.example.com" "DNS:nokey.example.com" serverAuth "$S" "$E"
IN=$F/in
cp ca.pem ed.pem ed.key p256.pem p256.key p384.pem p384.key old.pem old.key nokey.pem "$IN/"
cat rsa.pem inter.pem rsa.key >"$IN/rsa-bundle.pem"  # leaf, its intermediate and its key in one file
cd "$WORK"

cat >"$WORK/fleet.yaml" <<'EOF'
version: 1
policies:
  adopted-tls: {lifetime: 10m, renew_at: 2/3, grace: 15s}
groups:
  - {name: tokens, count: 2, policy: adopted-tls}
EOF
D=$WORK/data
ADOPT=(import --adopt --config "$WORK/fleet.yaml" --policy adopted-tls --data-dir "$D")

# --- Bad flags.
expect_exit 2 rotor import --adopt --data-dir "$D" "$IN"
expect_output_contains "--adopt needs --config FILE and --policy NAME"
expect_exit 2 rotor import --adopt --config "$WORK/fleet.yaml" --policy nonesuch --data-dir "$D" "$IN"
expect_output_contains 'no group of '"$WORK/fleet.yaml"' uses a policy named "nonesuch"; policies used: adopted-tls'
expect_exit 2 rotor import --adopt --config "$WORK/fleet.yaml" --policy adopted-tsl --data-dir "$D" "$IN"
expect_output_contains '(did you mean "adopted-tls"?)'
expect_exit 2 rotor import --dry-run --data-dir "$D" "$IN"
expect_exit 2 rotor "${ADOPT[@]}" --id 'zz=x' "$IN"
[ ! -e "$D" ] || fail "a refused command created the data directory"
pass "bad flags are refused before anything is written"

# --- A path that cannot be read is named, and fails, even with nothing to adopt.
expect_exit 1 rotor "${ADOPT[@]}" --dry-run "$WORK/no-such-dir"
expect_output_contains "$WORK/no-such-dir:0: no such file"
[ ! -e "$D" ] || fail "a dry run created the data directory"
pass "an unreadable path is named and exits 1"

# --- A dry run shows what would happen and changes nothing.
expect_exit 1 rotor "${ADOPT[@]}" --dry-run "$IN"
expect_output_contains "ADOPT    api.example.com <- $IN/ed.pem:1"
expect_output_contains "ADOPT    legacy.example.com <- $IN/rsa-bundle.pem:1"
expect_output_contains "EXPIRED 2021-01-01T00:00:00Z"
expect_output_contains "REFUSE   $IN/nokey.pem:1"
expect_output_contains "no private key of it"
expect_output_contains "SKIP     $IN/ca.pem:1"
expect_output_contains "its key type p384 is not one rotor issues; re-issued with ed25519 keys"
expect_output_contains "5 to adopt (1 expired), 2 skipped, 1 refused; nothing was changed"
expect_output_contains "trust anchor $D/ca/ca.pem"
[ ! -e "$D" ] || fail "a dry run created the data directory"
rotor "${ADOPT[@]}" --dry-run --json "$IN" >"$WORK/plan.json" 2>/dev/null || true
jq -e '[.[] | select(.action == "adopt")] | length == 5' "$WORK/plan.json" >/dev/null || fail "dry-run JSON: $(cat "$WORK/plan.json")"
jq -e '.[] | select(.id == "old.example.com") | .status == "expired"' "$WORK/plan.json" >/dev/null ||
  fail "the expired leaf is not marked expired"
pass "dry run: one decision per certificate, nothing written"

# --- An adoption that dies before its commit adopts nothing; running it again does.
mkdir -p "$D"
expect_exit 86 env ROTOR_CRASH_AT=adopt:commit "$ROTOR_BIN" "${ADOPT[@]}" "$IN"
s=$(rotor status --json --data-dir "$D")
[ "$(json_field "$s" 'j["identities"]')" = 0 ] || fail "a crashed adoption left identities: $s"
consistent "$D"
pass "crash before the commit: nothing adopted"

# --- The adoption.
expect_exit 1 rotor "${ADOPT[@]}" "$IN"
expect_output_contains "adopted 5 under policy adopted-tls (1 expired), 2 skipped, 1 refused"
expect_output_contains "WARNING: 1 adopted certificate has expired already"
expect_output_contains '"msg":"adopted certificate has already expired'
IDS="api.example.com device-7 legacy.example.com p384.example.com old.example.com"
for id in $IDS; do
  current_is "$D" "$id" 1 || fail "$id: current is not versions/1"
  for f in cert.pem key.pem; do
    [ "$(stat -c %a "$D/out/$id/versions/1/$f")" = 600 ] || fail "$id/versions/1/$f is not 0600"
  done
done
cmp <(openssl x509 -in "$F/src/ed.pem" -outform DER) <(openssl x509 -in "$D/out/api.example.com/versions/1/cert.pem" -outform DER) ||
  fail "generation 1 is not the imported certificate"
cmp <(openssl x509 -in "$F/src/inter.pem") "$D/out/legacy.example.com/versions/1/chain.pem" ||
  fail "generation 1's chain is not the imported intermediate"
openssl pkey -in "$D/out/legacy.example.com/versions/1/key.pem" -pubout | cmp - <(openssl pkey -in "$F/src/rsa.key" -pubout) ||
  fail "generation 1's key is not the imported key"
[ ! -e "$D/out/nokey.example.com" ] || fail "the leaf without a key was adopted"
expect_exit 0 rotor inventory --data-dir "$D"
expect_output_contains "expired 1"
expect_output_contains "(total 8)"
consistent "$D"
expect_exit 1 rotor "${ADOPT[@]}" "$IN"
expect_output_contains "already adopted as api.example.com"
expect_output_contains "0 to adopt"
pass "adopted: generation 1 is the imported certificate, chain and key; adopting again changes nothing"

# --- Beside a running daemon adoption is refused; a dry run still works.
start_daemon "$D" "$WORK/fleet.yaml"
expect_exit 3 rotor "${ADOPT[@]}" "$IN"
expect_output_contains "a rotor daemon holds"
expect_exit 1 rotor "${ADOPT[@]}" --dry-run "$IN"
expect_output_contains "stop it before adopting for real"

# --- The daemon re-issues every adopted leaf from rotor's CA (all are due or expired).
rotated() {
  for id in $IDS; do current_is "$D" "$id" 2 || return 1; done
}
wait_for 30 "every adopted identity at generation 2" rotated
# Within the 15 s grace window generation 1 stays, except the expired one (its notAfter passed).
for id in api.example.com device-7 legacy.example.com p384.example.com; do
  [ -d "$D/out/$id/versions/1" ] || fail "$id: generation 1 was removed before its grace window ended"
done
wait_for 10 "the expired generation 1 retired" test ! -e "$D/out/old.example.com/versions/1"
# same ID ORIGINAL: the re-issued certificate has the original's subject (attributes in order),
# SANs and extended key usages (as sets: rotor writes DNS, then URI, then IP entries).
same() {
  local what a b
  for what in "-subject" "-ext subjectAltName" "-ext extendedKeyUsage"; do
    a=$(openssl x509 -in "$2" -noout $what | tr ',' '\n' | sed 's/^ *//' | sort)
    b=$(openssl x509 -in "$D/out/$1/versions/2/cert.pem" -noout $what | tr ',' '\n' | sed 's/^ *//' | sort)
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "$1: re-issued with $b, imported had $a"
  done
  a=$(openssl x509 -in "$2" -noout -subject)
  b=$(openssl x509 -in "$D/out/$1/versions/2/cert.pem" -noout -subject)
  [ "$a" = "$b" ] || fail "$1: subject $b, imported $a"
}
same api.example.com "$F/src/ed.pem"
same device-7 "$F/src/p256.pem"
same legacy.example.com "$F/src/rsa.pem"
same p384.example.com "$F/src/p384.pem"
same old.example.com "$F/src/old.pem"
for id in $IDS; do
  C=$D/out/$id/versions/2
  openssl verify -CAfile "$D/ca/ca.pem" -untrusted "$C/chain.pem" "$C/cert.pem" >/dev/null ||
    fail "$id: the re-issued certificate does not chain to rotor's CA"
  openssl verify -CAfile "$F/src/ca.pem" "$C/cert.pem" >/dev/null 2>&1 && fail "$id: still verifies under the old CA"
  true
done
algo() { openssl x509 -in "$D/out/$1/versions/2/cert.pem" -noout -text | grep -m1 'Public Key Algorithm' | awk '{print $4}'; }
[ "$(algo api.example.com)" = ED25519 ] || fail "api.example.com: key type not kept: $(algo api.example.com)"
[ "$(algo device-7)" = id-ecPublicKey ] || fail "device-7: key type not kept"
[ "$(algo legacy.example.com)" = rsaEncryption ] || fail "legacy.example.com: key type not kept"
[ "$(algo p384.example.com)" = ED25519 ] || fail "p384.example.com: not re-issued with the fallback key type"
pass "re-issued from rotor's CA with the same subject, SANs and key types; generation 1 kept for its grace"

# --- A fleet reload leaves the adopted identities alone.
expect_exit 0 rotor apply --data-dir "$D"
expect_output_contains "0 retiring"
s=$(rotor status --json --data-dir "$D" api.example.com)
[ "$(json_field "$s" 'j[0]["phase"]')" = active ] || fail "adopted identity not active after a reload: $s"
[ "$(json_field "$s" 'j[0]["group"]')" = adopted:adopted-tls ] || fail "adopted identity regrouped: $s"
wait_for 25 "generation 1 retired after its grace window" test ! -e "$D/out/api.example.com/versions/1"
stop_daemon
grep '"msg":"imported certificate of an adopted identity expired' "$D.log" | grep -q '"id":"old.example.com"' ||
  fail "the daemon did not log the expired adopted certificate"
consistent "$D"
grep -h '"type":"dev.rotor.identity.adopted"' "$D"/audit/*.jsonl | jq -r .subject | sort >"$WORK/adopted.txt"
[ "$(wc -l <"$WORK/adopted.txt")" = 5 ] || fail "identity.adopted events: $(cat "$WORK/adopted.txt")"
grep -h '"subject":"api.example.com"' "$D"/audit/*.jsonl | jq -r '.type + " " + (.data.reason // "")' >"$WORK/api.txt"
head -1 "$WORK/api.txt" | grep -q '^dev.rotor.identity.adopted' || fail "first event of api.example.com: $(head -1 "$WORK/api.txt")"
grep -q '^dev.rotor.rotation.started scheduled' "$WORK/api.txt" || fail "no scheduled first rotation: $(cat "$WORK/api.txt")"
grep -q '^dev.rotor.credential.retired grace_ended' "$WORK/api.txt" || fail "generation 1 not retired at grace end"
grep -h '"subject":"old.example.com"' "$D"/audit/*.jsonl | grep -q '"reason":"overdue"' ||
  fail "the expired certificate was not re-issued as overdue"
pass "reload leaves them alone; audit trail and check agree"
