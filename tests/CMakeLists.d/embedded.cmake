# Embedded store and audit journal: connectors/embedded (LMDB) and
# connectors/sinks (journal, verify). Real LMDB and real files under /tmp.
# The conformance test links LMDB itself to plant malformed values and a
# foreign format version.
rotor_cc_test(state_store_conformance_test SRCS conformance/state_store_test.cc
              DEPS rotor_embedded rotor::lmdb rotor_test_support LABELS conformance concurrent)
rotor_cc_test(journal_integration_test SRCS integration/journal_test.cc
              DEPS rotor_sinks rotor_embedded rotor_crypto rotor_test_support LABELS integration concurrent)
