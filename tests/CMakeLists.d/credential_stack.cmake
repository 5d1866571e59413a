# app/credential_stack and app/ca_bootstrap: the managed CA, its KEK, routing
# of generation and delivery by kind and identity, and the trust bundle
# following the intermediate's rotation. Real files, real LMDB, BoringSSL.
rotor_cc_test(credential_stack_integration_test SRCS integration/credential_stack_test.cc
              DEPS rotor_app rotor_crypto rotor_embedded rotor_test_support LABELS integration concurrent)
