#!/usr/bin/env bash
# ARCHITECTURE §5: the `rotor` process never loads OpenSSL 3. Its resolved
# libraries name BoringSSL's android/libcrypto.so.0 and no libssl or
# libcrypto.so.3, and with every symbol bound at load time (LD_BIND_NOW) each
# binding into a libcrypto goes to BoringSSL's. A short daemon run also loads
# nothing of OpenSSL 3 later (LD_DEBUG=files shows every dlopen).
source "$(dirname "$0")/lib.sh"

libs=$(ldd "$ROTOR_BIN")
grep -q 'android/libcrypto.so.0' <<<"$libs" || fail "rotor does not link BoringSSL: $libs"
! grep -qE 'libssl\.so|libcrypto\.so\.3' <<<"$libs" || fail "rotor links OpenSSL 3: $libs"
pass "resolved libraries: BoringSSL only"

LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$WORK/bind" "$ROTOR_BIN" --help >/dev/null
cat "$WORK"/bind.* >"$WORK/bindings"
to_crypto=$(grep -E "binding file .* to [^ ]*libcrypto" "$WORK/bindings" || true)
[ -n "$to_crypto" ] || fail "no binding into libcrypto seen: is LD_DEBUG working?"
! grep -vE " to [^ ]*android/libcrypto\.so\.0" <<<"$to_crypto" | grep -q . ||
  fail "a symbol bound to another libcrypto: $(grep -vE 'android/libcrypto\.so\.0' <<<"$to_crypto" | head -3)"
! grep -qE "libssl\.so|libcrypto\.so\.3" "$WORK/bindings" || fail "OpenSSL 3 appears in the bindings"
echo "  $(wc -l <<<"$to_crypto") bindings into android/libcrypto.so.0, none elsewhere"
pass "LD_BIND_NOW bindings: every libcrypto symbol from BoringSSL"

cat >"$WORK/fleet.yaml" <<'YAML'
version: 1
groups:
  - name: probe
    count: 5
    policy: {lifetime: 1h}
  - name: certs
    kind: x509
    count: 5
    policy: {lifetime: 1h}
    certificate: {key_type: p256, dns: ["{id}.test"]}
YAML
LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/files" "$ROTOR_BIN" run --config "$WORK/fleet.yaml" --data-dir "$WORK/d" \
  --duration 2 --no-progress 2>/dev/null
cat "$WORK"/files.* >"$WORK/loaded"
grep -q "android/libcrypto.so.0" "$WORK/loaded" || fail "LD_DEBUG=files saw no BoringSSL load"
! grep -qE "libssl\.so|libcrypto\.so\.3" "$WORK/loaded" || fail "a daemon run loaded OpenSSL 3"
ls "$WORK"/d/out/certs-0/current/cert.pem >/dev/null 2>&1 || fail "the daemon run issued no certificate"
pass "a daemon run that creates a CA and signs certificates loads no OpenSSL 3"
