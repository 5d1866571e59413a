// Random bytes from BoringSSL's CSPRNG. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/ports/credentials.h"
#include "engine/status.h"

namespace rotor {

// FillRandom fills `out` from the CSPRNG. Returns Internal if the generator
// reports failure (BoringSSL aborts instead, but the 1/0 return is checked).
Status FillRandom(std::span<uint8_t> out);

// RandomBytes returns `n` random bytes, held in SecretBytes because callers
// use them as key material.
StatusOr<SecretBytes> RandomBytes(size_t n);

}  // namespace rotor
