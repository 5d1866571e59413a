# End-to-end tests: bash scripts under tests/e2e driving the real `rotor`
# binary on real files in a temporary directory (tests/e2e/lib.sh).
# rotor_e2e_test(NAME SCRIPT [LABELS ...] [ENV VAR=VALUE ...])
function(rotor_e2e_test name script)
  cmake_parse_arguments(A "" "" "LABELS;ENV" ${ARGN})
  add_test(NAME ${name} COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/${script})
  set_tests_properties(${name} PROPERTIES
    LABELS "e2e;${A_LABELS}"
    TIMEOUT 3600
    SKIP_RETURN_CODE 77
    ENVIRONMENT "ROTOR_BIN=$<TARGET_FILE:rotor>;ROTOR_RELAY=$<TARGET_FILE:rotor-relay>;ROTOR_SOURCE_DIR=${PROJECT_SOURCE_DIR};${A_ENV}")
endfunction()

rotor_e2e_test(e2e_cli cli_test.sh)
rotor_e2e_test(e2e_operator operator_test.sh LABELS concurrent)
rotor_e2e_test(e2e_hooks hooks_test.sh LABELS concurrent)
rotor_e2e_test(e2e_quickstart quickstart_test.sh)
rotor_e2e_test(e2e_crash crash_test.sh)
rotor_e2e_test(e2e_x509 x509_test.sh)
rotor_e2e_test(e2e_key_hygiene key_hygiene_test.sh)
rotor_e2e_test(e2e_kek kek_test.sh)

# `make test-long`: a hundred random SIGKILLs instead of five (about 8 minutes).
rotor_e2e_test(e2e_crash_long crash_test.sh LABELS long ENV ROTOR_KILL_ROUNDS=100)
rotor_e2e_test(e2e_import import_test.sh)
rotor_e2e_test(e2e_adopt adopt_test.sh)

# The audit stream to Kafka (librdkafka's mock cluster on loopback).
rotor_e2e_test(e2e_kafka kafka_test.sh)
rotor_e2e_test(e2e_kafka_outage kafka_outage_test.sh)
# `make test-long`: the full 60-second outage.
rotor_e2e_test(e2e_kafka_outage_long kafka_outage_test.sh LABELS long ENV KAFKA_OUTAGE_SECONDS=60)

# connectors/kafka: the audit-topic settings check (no broker needed).
rotor_cc_test(kafka_settings_test SRCS unit/kafka_settings_test.cc DEPS rotor_kafka LABELS unit)
# Issue 4's crash suite at scale: 10,000 identities (9,979 API keys, 10 with a
# flaky verify command, 10 certificates and the CA's intermediate) crashed at
# every effect boundary and by 50 SIGKILLs at random moments while they rotate
# (10-minute lifetimes renewed at 1/2 with 50% jitter, so about 40 rotations a
# second; the flaky and certificate groups at 20 s), every invariant checked
# after each restart (about 30 minutes on 2 cores).
rotor_e2e_test(e2e_crash_10k crash_test.sh LABELS long
               ENV ROTOR_CRASH_STEADY=9979 ROTOR_CRASH_LIFETIME=10m ROTOR_CRASH_JITTER=0.5
                   ROTOR_CRASH_FAST_LIFETIME=20s ROTOR_CRASH_RUN=10 ROTOR_CRASH_FIRST_RUN=40 ROTOR_KILL_ROUNDS=50)
