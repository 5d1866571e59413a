// rotor_capacity rekey N DIR: a forced rotation of N Ed25519 certificates
// through the real runtime against the crypto ceiling (bench/rekey.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rotor::bench {

struct RekeyOptions {
  size_t threads = 0;          // crypto pool and ceiling loop; 0: one per core
  bool file_sink = false;      // deliver to DIR/out (FileDeliverySink) instead of memory
  uint64_t ceiling_count = 0;  // certificates per ceiling loop; 0: min(N, 200,000)
};

// Rekey runs the mode and prints its key=value lines. Returns the exit code.
int Rekey(uint64_t n, const std::string& dir, const RekeyOptions& options);

}  // namespace rotor::bench
