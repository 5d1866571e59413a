// FakeHasher: a deterministic stand-in for SHA-256 in engine tests, which may
// not link BoringSSL. NOT SHA-256 and not cryptographic: four FNV-1a-64 lanes
// with distinct seeds, each finished with SplitMix64, so that any change of
// the input changes the digest (what the audit chain tests need). Stateless;
// thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "engine/ports/credentials.h"

namespace rotor::testing {

class FakeHasher final : public Hasher {
 public:
  // Hasher:
  std::array<uint8_t, 32> Sha256(std::string_view data) const override;
};

}  // namespace rotor::testing
