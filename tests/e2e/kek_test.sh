#!/usr/bin/env bash
# Rotation of the key-encryption key itself (`rotor kek rotate`):
#  1. the default KEK (<data-dir>/kek) is replaced by a fresh one; every CA
#     key is re-sealed; the daemon starts with it and signs; a copy of the old
#     KEK opens nothing;
#  2. a KEK given in a file (--new-kek-file) is used by the next start once
#     ROTOR_KEK_FILE points at it;
#  3. a running daemon is never disturbed: the command is refused (exit 3);
#  4. an interrupted run (kek.new left behind) finishes when run again.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: web
    kind: x509
    count: 3
    policy: {lifetime: 1h}
    certificate: {dns: ["{id}.test"]}
YAML
D="$WORK/d"
expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --duration 2 --no-progress
expect_exit 0 rotor rotate rotor-ca --data-dir "$D"  # queued: a second intermediate at the next start
expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --duration 3 --no-progress
n_keys=$(find "$D/ca" -name '*.enc' | wc -l)
[ "$n_keys" -ge 3 ] || fail "expected the root key and two intermediate keys, found $n_keys sealed keys"
cp "$D/kek" "$WORK/old.kek"
sums_before=$(cd "$D/ca" && find . -name '*.enc' | sort | xargs sha256sum)

# 3. Refused beside a running daemon.
start_daemon "$D" "$WORK/fleet.yaml"
expect_exit 3 rotor kek rotate --data-dir "$D"
expect_output_contains "in use"
stop_daemon
[ "$sums_before" = "$(cd "$D/ca" && find . -name '*.enc' | sort | xargs sha256sum)" ] ||
  fail "a refused kek rotate changed a sealed key"
pass "kek rotate is refused while a daemon holds the data directory"

# 1. The default KEK.
expect_exit 0 rotor kek rotate --data-dir "$D"
expect_output_contains "$n_keys CA keys re-sealed"
! cmp -s "$D/kek" "$WORK/old.kek" || fail "the KEK file did not change"
[ "$(stat -c %a "$D/kek")" = 600 ] || fail "the new KEK is not 0600"
[ ! -e "$D/kek.new" ] || fail "kek.new left behind"
for f in $(find "$D/ca" -name '*.enc'); do
  ! grep -q "PRIVATE KEY" "$f" || fail "$f is not sealed"
done
gen_before=$(generation "$D" rotor-ca)
expect_exit 0 rotor rotate rotor-ca --data-dir "$D"
expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --duration 3 --no-progress
[ "$(generation "$D" rotor-ca)" -gt "$gen_before" ] || fail "no intermediate signed by the root after the KEK rotation"
openssl verify -CAfile "$D/ca/ca.pem" -untrusted "$D/ca/bundle.pem" "$D/out/web-0/current/cert.pem" >/dev/null ||
  fail "a leaf no longer verifies"
# The old KEK opens nothing: a start with it is refused, naming the key ids.
expect_exit 3 env ROTOR_KEK_FILE="$WORK/old.kek" "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" \
  --duration 1 --no-progress
expect_output_contains "key-encryption key"
consistent "$D"
pass "the default KEK is replaced; every CA key re-sealed; the root signs again; the old KEK opens nothing"

# 2. A KEK supplied by the operator.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/ops.kek"
chmod 600 "$WORK/ops.kek"
expect_exit 0 rotor kek rotate --data-dir "$D" --new-kek-file "$WORK/ops.kek"
expect_output_contains "ROTOR_KEK_FILE"
expect_exit 3 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --duration 1 --no-progress  # still data-dir/kek
expect_exit 0 env ROTOR_KEK_FILE="$WORK/ops.kek" "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" \
  --duration 2 --no-progress
pass "a KEK given with --new-kek-file is used once ROTOR_KEK_FILE names it"
# From an operator's KEK back to... another operator KEK: --new-kek-file is
# required when the KEK in use is not <data-dir>/kek.
expect_exit 2 env ROTOR_KEK_FILE="$WORK/ops.kek" "$ROTOR_BIN" kek rotate --data-dir "$D"
expect_output_contains "--new-kek-file"
expect_exit 2 env ROTOR_KEK_FILE="$WORK/ops.kek" "$ROTOR_BIN" kek rotate --data-dir "$D" --new-kek-file "$WORK/ops.kek"
expect_output_contains "already in use"
pass "kek rotate refuses to guess the new KEK, and refuses the KEK in use"

# 4. Interrupted: half the keys re-sealed under kek.new (made here by a run
# stopped after its first key: sealed keys are moved back from a copy).
E="$WORK/e"
expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$E" --duration 2 --no-progress
cp -a "$E/ca" "$WORK/ca.before"
cp "$E/kek" "$WORK/e-old.kek"
expect_exit 0 rotor kek rotate --data-dir "$E"
cp "$E/kek" "$E/kek.new"                          # the new KEK, as an interrupted run leaves it...
cp "$WORK/e-old.kek" "$E/kek"                     # ...with the old one still in place
cp "$WORK/ca.before/root.key.enc" "$E/ca/root.key.enc"  # and the root key not yet re-sealed
expect_exit 0 rotor kek rotate --data-dir "$E"
expect_output_contains "1 CA key re-sealed"
expect_output_contains "already under it"
expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$E" --duration 2 --no-progress
pass "an interrupted kek rotate finishes when run again"
