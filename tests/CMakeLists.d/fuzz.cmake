# Fuzz targets (tests/fuzz): one entry point each, built two ways.
#  - Normal builds: <target>_fuzz_replay runs the entry point over the seed
#    corpus and every past crash (tests/fuzz/regressions/<target>/), as a test
#    in `make test`.
#  - ROTOR_FUZZ=ON (clang): <target>_fuzz is a libFuzzer binary; `make fuzz`
#    runs each for a bounded time (scripts/fuzz.sh).
# Seeds: tests/fuzz/corpus/<target>/ plus, where real inputs exist, the
# directories named in ROTOR_FUZZ_SEEDS_<target>.
set(ROTOR_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR}/../fuzz)
set(ROTOR_FUZZ_TARGETS fleet_loader control_request journal state_machine cert_scan)
set(ROTOR_FUZZ_DEPS_fleet_loader rotor_fleet)
set(ROTOR_FUZZ_DEPS_control_request rotor_app)
set(ROTOR_FUZZ_DEPS_journal rotor_engine rotor_crypto)
set(ROTOR_FUZZ_DEPS_state_machine rotor_engine rotor_test_support)
set(ROTOR_FUZZ_DEPS_cert_scan rotor_crypto)
set(ROTOR_FUZZ_SEEDS_fleet_loader ${PROJECT_SOURCE_DIR}/tests/data/fleets ${PROJECT_SOURCE_DIR}/examples
    ${PROJECT_SOURCE_DIR}/deploy)

foreach(t ${ROTOR_FUZZ_TARGETS})
  set(seeds ${ROTOR_FUZZ_DIR}/corpus/${t} ${ROTOR_FUZZ_SEEDS_${t}})
  if(EXISTS ${ROTOR_FUZZ_DIR}/regressions/${t})
    list(APPEND seeds ${ROTOR_FUZZ_DIR}/regressions/${t})
  endif()
  if(ROTOR_FUZZ)
    add_executable(${t}_fuzz ${ROTOR_FUZZ_DIR}/${t}_fuzz.cc)
    target_link_options(${t}_fuzz PRIVATE -fsanitize=fuzzer)
    set(exe ${t}_fuzz)
  else()
    add_executable(${t}_fuzz_replay ${ROTOR_FUZZ_DIR}/${t}_fuzz.cc ${ROTOR_FUZZ_DIR}/replay_main.cc)
    add_test(NAME fuzz_replay_${t} COMMAND ${t}_fuzz_replay ${seeds})
    set_tests_properties(fuzz_replay_${t} PROPERTIES LABELS "unit;fuzz")
    set(exe ${t}_fuzz_replay)
  endif()
  target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${exe} PRIVATE ${ROTOR_WARNINGS})
  target_link_libraries(${exe} PRIVATE ${ROTOR_FUZZ_DEPS_${t}})
  set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  # scripts/fuzz.sh reads the seed directories from here.
  string(REPLACE ";" "\n" seed_lines "${seeds}")
  file(WRITE ${CMAKE_BINARY_DIR}/fuzz/${t}.seeds "${seed_lines}\n")
endforeach()
