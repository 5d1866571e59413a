# Inventory and import (issue 5): engine/inventory (serials, classification,
# linking, encoding), the PEM/DER scanner and the import walker on the fixture
# set tests/data/import/make_fixtures.sh writes with the `openssl` CLI and on
# the system trust store, and the LMDB inventory store.
rotor_cc_test(inventory_test SRCS unit/inventory_test.cc DEPS rotor_engine LABELS unit)
rotor_cc_test(cert_scan_test SRCS integration/cert_scan_test.cc DEPS rotor_app rotor_crypto rotor_test_support
              LABELS integration)
