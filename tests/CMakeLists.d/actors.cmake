# actors/batch_worker.h: ordering with one thread, exactly-once handling,
# concurrency and batch bounds with several (the crypto pool), draining Stop.
rotor_cc_test(batch_worker_test SRCS unit/batch_worker_test.cc DEPS rotor_actors LABELS unit concurrent)
