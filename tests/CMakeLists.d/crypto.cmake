# Certificates and key wrapping: engine/certificate (profiles, pure C++),
# connectors/crypto/x509 and key_wrap (BoringSSL). The x509 integration test
# checks what rotor issues with the real `openssl` and `certtool` command-line
# tools, run as child processes: the test binaries themselves link only
# BoringSSL.
rotor_cc_test(certificate_profile_test SRCS unit/certificate_profile_test.cc DEPS rotor_engine LABELS unit)
rotor_cc_test(key_wrap_test SRCS unit/key_wrap_test.cc DEPS rotor_crypto rotor_test_support LABELS unit)
rotor_cc_test(x509_integration_test SRCS integration/x509_test.cc DEPS rotor_crypto rotor_test_support
              LABELS integration)
