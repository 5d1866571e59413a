#!/usr/bin/env bash
# Crash safety of the real daemon: a crash (_exit, no cleanup) before and
# after every kind of effect, then SIGKILLs at random moments; after each
# restart the store, out/ and the audit trail must agree (`rotor check`) and
# every hash chain must verify (`rotor audit verify`).
#
# Scale knobs (defaults: the quick version in `make test`; `make test-long`
# also runs 10,000 identities through 50 SIGKILLs):
#   ROTOR_CRASH_STEADY    identities in the plain API-key group (30)
#   ROTOR_CRASH_LIFETIME  the steady group's lifetime (6s); renewal at 1/2 of it
#   ROTOR_CRASH_JITTER    its renewal jitter (0)
#   ROTOR_CRASH_FAST_LIFETIME the flaky and certificate groups' lifetime (6s)
#   ROTOR_CRASH_RUN       seconds each recovery run lasts before the checks (3)
#   ROTOR_CRASH_FIRST_RUN the same for the first run, which issues the fleet (RUN)
#   ROTOR_KILL_ROUNDS     random SIGKILLs (5)
source "$(dirname "$0")/lib.sh"
STEADY=${ROTOR_CRASH_STEADY:-30}
LIFETIME=${ROTOR_CRASH_LIFETIME:-6s}
JITTER=${ROTOR_CRASH_JITTER:-0}
FAST_LIFETIME=${ROTOR_CRASH_FAST_LIFETIME:-6s}
RUN=${ROTOR_CRASH_RUN:-3}
FIRST_RUN=${ROTOR_CRASH_FIRST_RUN:-$RUN}
D="$WORK/data"
mkdir -p "$WORK/marks"
cat >"$WORK/fleet.yaml" <<YAML
version: 1
policies:
  fast: {lifetime: $FAST_LIFETIME, renew_at: 1/2, jitter: 0, grace: 1s, backoff: {base: 100ms, max: 500ms},
         circuit_breaker: {max_issuances: 1000, window: 1h, max_failures: 5}}
  steady: {lifetime: $LIFETIME, renew_at: 1/2, jitter: $JITTER, grace: 1s, backoff: {base: 100ms, max: 500ms},
           circuit_breaker: {max_issuances: 1000, window: 1h, max_failures: 5}}
groups:
  - name: steady
    count: $STEADY
    policy: steady
  - name: flaky
    count: 10
    policy: fast
    # Fails the first verification of every generation divisible by 3, so
    # rollbacks (discards) keep happening.
    verify_command: 'test \$((ROTOR_GENERATION % 3)) -ne 0 || test -e "$WORK/marks/\$ROTOR_IDENTITY-\$ROTOR_GENERATION" || { touch "$WORK/marks/\$ROTOR_IDENTITY-\$ROTOR_GENERATION"; exit 1; }'
  # Certificates from the managed CA: three files per version, and the CA's
  # own intermediate (rotor-ca) as one more identity.
  - name: certs
    kind: x509
    count: 10
    policy: fast
    certificate: {key_type: p256, dns: ["{id}.test"]}
YAML
IDENTITIES=$((STEADY + 21))

restart_and_check() {
  local what=$1 run=${2:-$RUN}
  expect_exit 0 rotor run --config "$WORK/fleet.yaml" --data-dir "$D" --no-progress --duration "$run"
  # Health and certificates first, right after the run: at scale the
  # cross-checks below take longer than the short lifetimes here.
  local s
  s=$(rotor status --json --data-dir "$D")
  [ "$(json_field "$s" 'j["by_health"].get("healthy", 0)')" -eq $IDENTITIES ] || fail "$what: not every identity healthy: $(head -c 3000 <<<"$s")"
  # Every current certificate still chains to the published bundle. Its
  # time is left out: the health check above covers expiry, and a short
  # certificate may expire while a loaded machine runs these checks.
  local c
  for c in "$D"/out/certs-*/current/cert.pem; do
    openssl verify -no_check_time -CAfile "$D/ca/ca.pem" -untrusted "$D/ca/bundle.pem" "$c" >/dev/null 2>&1 ||
      fail "$what: $c does not verify against ca/bundle.pem"
  done
  expect_exit 0 rotor check --data-dir "$D"
  expect_exit 0 rotor audit verify --data-dir "$D"
}

# A crash while the CA's first intermediate is being brought up (its
# delivery is the first delivery of all): the next start finishes it.
set +e
ROTOR_CRASH_AT="after:deliver:1" "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --no-progress \
  --duration 30 2>>"$D.crash.log"
rc=$?
set -e
[ "$rc" -eq 86 ] || fail "after:deliver:1: expected the crash hook's exit 86, got $rc"
restart_and_check "after a crash while bringing up the CA" "$FIRST_RUN"
echo "  crashed after the CA's first delivery, recovered and consistent"

rounds=0
for effect in generate deliver verify activate discard retire; do
  for when in before after; do
    n=12
    [ "$effect" = discard ] && n=2
    set +e
    ROTOR_CRASH_AT="$when:$effect:$n" "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --no-progress \
      --duration 30 2>>"$D.crash.log"
    rc=$?
    set -e
    [ "$rc" -eq 86 ] || fail "$when:$effect:$n: expected the crash hook's exit 86, got $rc (crash point not reached?)"
    restart_and_check "after a crash $when $effect #$n"
    echo "  crashed $when $effect #$n, recovered and consistent"
    rounds=$((rounds + 1))
  done
done
pass "$rounds crashes at effect boundaries, each recovered consistently"

KILL_ROUNDS=${ROTOR_KILL_ROUNDS:-5}
for i in $(seq 1 "$KILL_ROUNDS"); do
  "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$D" --no-progress 2>>"$D.kill.log" &
  pid=$!
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 3.0), 2))')"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  restart_and_check "after SIGKILL round $i"
done
pass "$KILL_ROUNDS random SIGKILLs of a daemon rotating $IDENTITIES identities, each recovered consistently"
