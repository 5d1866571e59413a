# Documentation that tests keep honest: docs/audit-events.md, the audit event
# schema (every example re-parsed and re-hashed as the document defines).
rotor_cc_test(audit_doc_test SRCS unit/audit_doc_test.cc DEPS rotor_engine rotor_crypto rotor_test_support LABELS unit)
