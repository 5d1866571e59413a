#!/usr/bin/env bash
# Key hygiene (hardening issue), through the real daemon:
#  1. after a batch of issuances, a core dump of the running daemon (gcore)
#     holds none of that batch's private keys or API secrets — not the raw
#     private scalar, not the PKCS#8 DER, not the PEM text;
#  2. no log line and no audit event carries any issued secret;
#  3. no key file or version directory was ever readable by others (checked
#     on everything delivered, including versions since retired: the modes
#     are set at creation, see FileDeliverySink).
source "$(dirname "$0")/lib.sh"
# A sanitizer build maps terabytes of shadow memory: no core dump of it is useful.
if ldd "$ROTOR_BIN" | grep -qE 'lib(a|t)san'; then
  echo "skipped: $ROTOR_BIN is a sanitizer build"
  exit 77
fi
command -v gcore >/dev/null || fail "gcore (Debian package gdb) is needed: scripts/install-deps.sh installs it"

cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: svc
    kind: x509
    count: 12
    policy: {lifetime: 1h}
    certificate: {key_type: p256, dns: ["{id}.test"]}
  - name: dev
    kind: x509
    count: 12
    policy: {lifetime: 1h}
    certificate: {key_type: ed25519, dns: ["{id}.test"]}
  - name: legacy
    kind: x509
    count: 2
    policy: {lifetime: 1h}
    certificate: {key_type: rsa2048, dns: ["{id}.test"]}
  - name: keys
    count: 24
    policy: {lifetime: 1h}
YAML

D="$WORK/d"
start_daemon "$D" "$WORK/fleet.yaml"
wait_for 60 "every identity active" all_active "$D" 51
# A second batch: every identity rotates once more, so the dump is taken
# after keys were generated, delivered, read back, verified and retired.
expect_exit 0 rotor rotate --all --wait --data-dir "$D"
sleep 1
gcore -o "$WORK/core" "$DAEMON_PID" >/dev/null 2>&1 || fail "gcore could not dump the daemon"
core=$(ls "$WORK"/core.* | head -1)
[ -s "$core" ] || fail "no core file"
# The control: what the daemon does keep (each identity's current
# fingerprint, in its record) must be found, or the search proves nothing.
ids=$(cd "$D/out" && ls)
# shellcheck disable=SC2086
rotor status --json --data-dir "$D" $ids >"$WORK/status.json"

# Every version of every identity still on disk: secrets of the batch that
# was just rotated out (in grace) and of the current one.
python3 - "$D" "$core" "$WORK/status.json" <<'PY' || fail "issued secrets found in the daemon's memory (see above)"
import glob, json, os, re, subprocess, sys
data_dir, core_path = sys.argv[1], sys.argv[2]
core = open(core_path, "rb").read()
fingerprints = [i["current"]["fingerprint"].encode() for i in json.load(open(sys.argv[3]))]
kept = sum(1 for f in fingerprints if f in core)
assert len(fingerprints) == 50 and kept == len(fingerprints), f"control: {kept} of {len(fingerprints)} fingerprints found"
needles = []
for key in glob.glob(f"{data_dir}/out/*/versions/*/key.pem"):
    pem = open(key).read()
    body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    needles.append((key, "PEM body (first 48 chars)", body[:48].encode()))
    der = subprocess.run(["openssl", "pkey", "-in", key, "-outform", "DER"], capture_output=True, check=True).stdout
    needles.append((key, "PKCS#8 DER", der))
    text = subprocess.run(["openssl", "pkey", "-in", key, "-text", "-noout"], capture_output=True, text=True,
                          check=True).stdout
    # EC and Ed25519 keys print "priv:", RSA keys their secret "prime1:".
    m = re.search(r"(?:priv|prime1):\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    if m:
        raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
        raw = raw[1:] if raw[:1] == b"\x00" and len(raw) % 2 == 1 else raw
        needles.append((key, "raw private key", raw))
for secret in glob.glob(f"{data_dir}/out/*/versions/*/secret"):
    needles.append((secret, "API key", open(secret, "rb").read().strip()))
raw = sum(1 for _, kind, _ in needles if kind == "raw private key")
keys = len(glob.glob(f"{data_dir}/out/*/versions/*/key.pem"))
assert keys >= 52 and raw == keys, f"{keys} key files, {raw} raw private keys extracted"
found = [(path, kind) for path, kind, n in needles if len(n) >= 16 and n in core]
for path, kind in found[:10]:
    print(f"  {kind} of {path} is in the core dump", file=sys.stderr)
print(f"  searched a {len(core) >> 20} MiB core for {len(needles)} secrets of {keys} keys and"
      f" {len(needles) - 3 * keys} API keys: {len(found)} found (control: {kept} fingerprints found)")
sys.exit(1 if found else 0)
PY
pass "a core dump after a batch holds none of its private keys or secrets"
stop_daemon

python3 - "$D" "$D.log" <<'PY' || fail "a secret appears in a log line or an audit event"
import glob, sys
data_dir, log = sys.argv[1], sys.argv[2]
haystack = open(log, "rb").read() + b"".join(open(p, "rb").read() for p in glob.glob(f"{data_dir}/audit/*.jsonl"))
secrets = []
for p in glob.glob(f"{data_dir}/out/*/versions/*/key.pem"):
    body = "".join(l for l in open(p).read().splitlines() if not l.startswith("-----"))
    secrets += [body[i:i + 32].encode() for i in range(0, len(body) - 32, 32)]
secrets += [open(p, "rb").read().strip() for p in glob.glob(f"{data_dir}/out/*/versions/*/secret")]
leaked = [s for s in secrets if s in haystack]
print(f"  searched {len(haystack) >> 10} KiB of logs and journal for {len(secrets)} secret fragments")
sys.exit(1 if leaked else 0)
PY
pass "no secret in any log line or audit event"

bad=$(find "$D/out" "$D/ca" \( -type f -perm /077 \) -o \( -type d -perm /077 \) 2>/dev/null | grep -vE '/ca/(ca|bundle)\.pem$' || true)
[ -z "$bad" ] || fail "readable by others: $bad"
pass "every delivered file is 0600 and every directory 0700"
