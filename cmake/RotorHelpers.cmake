# rotor_cc_library(NAME SRCS ... [DEPS ...] [PUBLIC_DEPS ...])
function(rotor_cc_library name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${ROTOR_WARNINGS})
  if(A_DEPS)
    target_link_libraries(${name} PRIVATE ${A_DEPS})
  endif()
  if(A_PUBLIC_DEPS)
    target_link_libraries(${name} PUBLIC ${A_PUBLIC_DEPS})
  endif()
endfunction()

# rotor_cc_test(NAME SRCS ... [DEPS ...] [LABELS ...])
function(rotor_cc_test name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SRCS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${ROTOR_WARNINGS})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # gtest_discover_tests splits list values of PROPERTIES into separate
  # arguments, so several labels travel as one ("unit+concurrent"); ctest's
  # -L and -LE match labels as regular expressions, so -L concurrent and
  # -L unit both select it.
  string(REPLACE ";" "+" labels "${A_LABELS}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${labels}"
                       ENVIRONMENT "ROTOR_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
