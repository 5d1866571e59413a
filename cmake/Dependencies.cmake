# Third-party libraries, all from Debian's archive (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
include(GoogleTest)
find_package(benchmark REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 QUIET)

# BoringSSL (android-libboringssl-dev). Imported under rotor's own name so no
# target can pick OpenSSL 3 by accident (ARCHITECTURE §5).
find_path(BORINGSSL_INCLUDE_DIR openssl/base.h PATHS /usr/include/android NO_DEFAULT_PATH REQUIRED)
find_library(BORINGSSL_CRYPTO_LIBRARY NAMES crypto PATHS /usr/lib/x86_64-linux-gnu/android
             NO_DEFAULT_PATH REQUIRED)
add_library(rotor::boringssl UNKNOWN IMPORTED)
set_target_properties(rotor::boringssl PROPERTIES
  IMPORTED_LOCATION ${BORINGSSL_CRYPTO_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR})
get_filename_component(BORINGSSL_LIB_DIR ${BORINGSSL_CRYPTO_LIBRARY} DIRECTORY)
set(CMAKE_BUILD_RPATH ${BORINGSSL_LIB_DIR})
set(CMAKE_INSTALL_RPATH ${BORINGSSL_LIB_DIR})

# CAF 0.17.6 ships no CMake config or pkg-config. Debian's libcaf-dev, except
# when ROTOR_CAF_PREFIX names another build of the same version: the TSan
# build (ROTOR_SANITIZE=thread) defaults to the instrumented one that
# scripts/build-caf-tsan.sh installs into <build dir>/caf-tsan, since
# ThreadSanitizer cannot see the ordering inside an uninstrumented CAF.
set(ROTOR_CAF_PREFIX "" CACHE PATH "Install prefix of a CAF 0.17.6 build to use instead of Debian's")
if(NOT ROTOR_CAF_PREFIX AND ROTOR_SANITIZE MATCHES "thread")
  set(ROTOR_CAF_PREFIX ${CMAKE_BINARY_DIR}/caf-tsan CACHE PATH
      "Install prefix of a CAF 0.17.6 build to use instead of Debian's" FORCE)
endif()
if(ROTOR_CAF_PREFIX)
  # Set, not found: a tree configured before may hold Debian's paths in the cache.
  set(CAF_INCLUDE_DIR ${ROTOR_CAF_PREFIX}/include)
  set(CAF_CORE_LIBRARY ${ROTOR_CAF_PREFIX}/lib/libcaf_core.so)
  if(NOT EXISTS ${CAF_INCLUDE_DIR}/caf/all.hpp OR NOT EXISTS ${CAF_CORE_LIBRARY})
    message(FATAL_ERROR "ROTOR_CAF_PREFIX=${ROTOR_CAF_PREFIX} holds no CAF build: "
                        "run scripts/build-caf-tsan.sh ${ROTOR_CAF_PREFIX} (make test-tsan does)")
  endif()
  list(APPEND CMAKE_BUILD_RPATH ${ROTOR_CAF_PREFIX}/lib)
else()
  find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
  find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
endif()
add_library(rotor::caf UNKNOWN IMPORTED)
set_target_properties(rotor::caf PROPERTIES
  IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)

# LMDB
find_path(LMDB_INCLUDE_DIR lmdb.h REQUIRED)
find_library(LMDB_LIBRARY lmdb REQUIRED)
add_library(rotor::lmdb UNKNOWN IMPORTED)
set_target_properties(rotor::lmdb PROPERTIES
  IMPORTED_LOCATION ${LMDB_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${LMDB_INCLUDE_DIR})

# CLI11 is header-only; Debian's package may or may not carry a CMake config.
if(NOT TARGET CLI11::CLI11)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${CLI11_INCLUDE_DIR})
endif()

# librdkafka, for rotor-relay only: it links OpenSSL 3 (ARCHITECTURE §5).
find_path(RDKAFKA_INCLUDE_DIR librdkafka/rdkafka.h REQUIRED)
find_library(RDKAFKA_LIBRARY rdkafka REQUIRED)
add_library(rotor::rdkafka UNKNOWN IMPORTED)
set_target_properties(rotor::rdkafka PROPERTIES
  IMPORTED_LOCATION ${RDKAFKA_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${RDKAFKA_INCLUDE_DIR})
