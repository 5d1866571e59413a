# Inventory and import (issue 5): engine/inventory (serials, classification,
# linking, encoding), the PEM/DER scanner and the import walker on the fixture
# set tests/data/import/make_fixtures.sh writes with the `openssl` CLI and on
# the system trust store, and the LMDB inventory store.
rotor_cc_test(inventory_test SRCS unit/inventory_test.cc DEPS rotor_engine LABELS unit)
rotor_cc_test(cert_scan_test SRCS integration/cert_scan_test.cc DEPS rotor_app rotor_crypto rotor_test_support
              LABELS integration)
# The scanner under damaged input; `make test-sanitize` builds it with
# -DROTOR_SANITIZE=address,undefined and runs it on the fixture set.
add_executable(cert_scan_mutation ${CMAKE_CURRENT_LIST_DIR}/../fuzz/cert_scan_mutation.cc)
target_include_directories(cert_scan_mutation PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_options(cert_scan_mutation PRIVATE ${ROTOR_WARNINGS})
target_link_libraries(cert_scan_mutation PRIVATE rotor_crypto)
set_target_properties(cert_scan_mutation PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
# Adoption (issue 5): ids and profiles derived from imported certificates, the
# plan, the first record, the declaration's codec and the merge into the fleet.
rotor_cc_test(adoption_test SRCS unit/adoption_test.cc DEPS rotor_engine LABELS unit)
