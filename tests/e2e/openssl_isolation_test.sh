#!/usr/bin/env bash
# ARCHITECTURE §5: the `rotor` process never loads OpenSSL 3, and
# `rotor-relay` (librdkafka) never loads BoringSSL. Its resolved
# libraries name BoringSSL's android/libcrypto.so.0 and no libssl or
# libcrypto.so.3, and with every symbol bound at load time (LD_BIND_NOW) each
# binding into a libcrypto goes to BoringSSL's. A short daemon run also loads
# nothing of OpenSSL 3 later (LD_DEBUG=files shows every dlopen). The relay
# is checked the other way round, and its TLS works: librdkafka completes a
# handshake with `openssl s_server` under security.protocol=ssl.
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

# rotor-relay: OpenSSL 3 only, never BoringSSL.
: "${ROTOR_RELAY:?ROTOR_RELAY must name the rotor-relay binary}"
libs=$(ldd "$ROTOR_RELAY")
grep -q 'libcrypto.so.3' <<<"$libs" || fail "rotor-relay does not link OpenSSL 3: $libs"
! grep -q 'android/' <<<"$libs" || fail "rotor-relay links BoringSSL: $libs"
pass "rotor-relay resolved libraries: OpenSSL 3, no BoringSSL"

rm -f "$WORK"/bind.*
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$WORK/bind" "$ROTOR_RELAY" --help >/dev/null
cat "$WORK"/bind.* >"$WORK/relay-bindings"
to_crypto=$(grep -E "binding file .* to [^ ]*libcrypto" "$WORK/relay-bindings" || true)
[ -n "$to_crypto" ] || fail "no binding of rotor-relay into libcrypto seen"
! grep -vE " to [^ ]*libcrypto\.so\.3" <<<"$to_crypto" | grep -q . ||
  fail "a relay symbol bound to another libcrypto: $(grep -vE 'libcrypto\.so\.3' <<<"$to_crypto" | head -3)"
! grep -q "android/" "$WORK/relay-bindings" || fail "BoringSSL appears in the relay's bindings"
echo "  $(wc -l <<<"$to_crypto") bindings into libcrypto.so.3, none elsewhere"
pass "rotor-relay LD_BIND_NOW bindings: every libcrypto symbol from OpenSSL 3"

# A TLS handshake from librdkafka to openssl s_server (security.protocol=ssl).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.pem" \
  -days 1 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
# s_server quits at the end of its stdin: keep it open for the handshake. On a
# loaded machine the relay can give up before the handshake ends, so up to
# three attempts, each with a fresh server; one verified handshake is enough.
for attempt in 1 2 3; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (sleep 20 | openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/tls.pem" -key "$WORK/tls.key" -naccept 1 \
    >"$WORK/s_server.out" 2>&1) &
  server=$!
  wait_for 10 "s_server listening" grep -q '^ACCEPT' "$WORK/s_server.out"
  # s_server speaks no Kafka: after the handshake the metadata request fails
  # and the relay gives up (exit 1); what counts is the verified handshake.
  rm -f "$WORK"/relay-files.*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/relay-files" "$ROTOR_RELAY" consume --bootstrap "127.0.0.1:$port" \
    -X security.protocol=ssl -X ssl.ca.location="$WORK/tls.pem" -X debug=security >"$WORK/relay-tls.out" 2>&1 || true
  kill "$server" 2>/dev/null || true
  pkill -f "s_server -accept 127.0.0.1:$port" 2>/dev/null || true
  grep -q "Broker SSL certificate verified" "$WORK/relay-tls.out" && break
  echo "  attempt $attempt: no verified handshake yet"
done
grep -q "Broker SSL certificate verified" "$WORK/relay-tls.out" ||
  fail "librdkafka did not verify s_server's certificate: $(grep -i ssl "$WORK/relay-tls.out" | head -5)"
grep -q "BEGIN SSL SESSION PARAMETERS" "$WORK/s_server.out" ||
  fail "s_server saw no completed handshake: $(head -5 "$WORK/s_server.out")"
cat "$WORK"/relay-files.* >"$WORK/relay-loaded"
grep -q "libcrypto.so.3" "$WORK/relay-loaded" || fail "LD_DEBUG=files saw no OpenSSL 3 load in the relay"
! grep -q "android/" "$WORK/relay-loaded" || fail "the relay loaded BoringSSL"
pass "rotor-relay completes a verified TLS handshake with openssl s_server, loading OpenSSL 3 only"
