# End-to-end tests: bash scripts under tests/e2e driving the real `rotor`
# binary on real files in a temporary directory (tests/e2e/lib.sh).
function(rotor_e2e_test name script)
  add_test(NAME ${name} COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/${script})
  set_tests_properties(${name} PROPERTIES
    LABELS "e2e;${ARGN}"
    TIMEOUT 900
    ENVIRONMENT "ROTOR_BIN=$<TARGET_FILE:rotor>;ROTOR_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

rotor_e2e_test(e2e_cli cli_test.sh)
rotor_e2e_test(e2e_operator operator_test.sh)
rotor_e2e_test(e2e_hooks hooks_test.sh)
rotor_e2e_test(e2e_quickstart quickstart_test.sh)
rotor_e2e_test(e2e_crash crash_test.sh)
