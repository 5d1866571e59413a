# Engine unit tests: time, policy, JSON + audit chain, record codec, the
# rotation state machine by table, by random exploration and under crashes at
# every effect boundary. tests/support holds the in-memory fakes of the ports
# and RotationDriver, a synchronous driver reusable over real connectors.
set(ROTOR_ENGINE_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR}/..)

rotor_cc_library(rotor_test_support
  SRCS
    ${ROTOR_ENGINE_TESTS_DIR}/support/fake_hasher.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/fake_state_store.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/fake_delivery_sink.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/fake_generator.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/fake_command_runner.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/scripted_faults.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/rotation_driver.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/printers.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/test_paths.cc
    ${ROTOR_ENGINE_TESTS_DIR}/support/shell_command.cc
  PUBLIC_DEPS rotor_engine
)
target_compile_definitions(rotor_test_support PRIVATE ROTOR_DEFAULT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

foreach(t time_test policy_test json_audit_test record_codec_test rotation_table_test rotation_random_test
          crash_recovery_test rotation_not_after_test timer_wheel_test audit_stream_test token_bucket_test)
  rotor_cc_test(${t} SRCS ${ROTOR_ENGINE_TESTS_DIR}/unit/${t}.cc DEPS rotor_engine rotor_test_support
                LABELS unit)
endforeach()
