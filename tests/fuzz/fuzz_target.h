// The libFuzzer entry point every fuzz target defines (tests/fuzz/*_fuzz.cc).
//
// Built two ways: with clang's -fsanitize=fuzzer for `make fuzz`, and with
// replay_main.cc in every normal build, where ctest replays the checked-in
// seed corpus and every past crash (tests/fuzz/regressions/) through the same
// function. A target must not crash, hang, leak or trip a sanitizer on any
// input; it reports a broken property with FuzzCheck, which aborts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace rotor::fuzz {

// FuzzCheck aborts with `what` when `ok` is false: a property every input must keep.
inline void FuzzCheck(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property broken: %s\n", what);
    std::abort();
  }
}

}  // namespace rotor::fuzz
