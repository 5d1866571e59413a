# The DeliverySink port: one contract suite run against connectors/files
# (FileDeliverySink, real files and modes under /tmp) and the in-memory fake
# of tests/support, plus what only the file sink promises. Concurrent: ReadBack
# beside the batch methods on another thread (make test-tsan).
rotor_cc_test(delivery_sink_conformance_test SRCS conformance/delivery_sink_test.cc
              DEPS rotor_files rotor_test_support LABELS conformance concurrent)
