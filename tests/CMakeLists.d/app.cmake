# ARCHITECTURE §2 and §5 as tests: the include rules between layers (with a
# self-test that plants violations), and the rotor binary's freedom from
# OpenSSL 3.
add_test(NAME layering_includes COMMAND bash ${PROJECT_SOURCE_DIR}/tests/layering/check_layers.sh --self-test)
set_tests_properties(layering_includes PROPERTIES LABELS "unit")
rotor_e2e_test(openssl_isolation openssl_isolation_test.sh)

# app/: the control-socket protocol and the crash hook.
rotor_cc_test(control_test SRCS unit/control_test.cc DEPS rotor_app rotor_test_support LABELS unit concurrent)

# actors/: the CAF runtime on a virtual clock over the in-memory fakes.
rotor_cc_test(runtime_test SRCS integration/runtime_test.cc DEPS rotor_actors rotor_app rotor_test_support
              LABELS integration concurrent)

# STYLE.md: every source follows .clang-format.
add_test(NAME source_format COMMAND bash ${PROJECT_SOURCE_DIR}/tests/layering/check_format.sh)
set_tests_properties(source_format PROPERTIES LABELS "unit")
# app/disk_estimate: the start-up estimate and refusal (issue 4).
rotor_cc_test(disk_estimate_test SRCS unit/disk_estimate_test.cc DEPS rotor_app LABELS unit)
