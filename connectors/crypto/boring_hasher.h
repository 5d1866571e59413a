// BoringHasher: the Hasher port (engine/ports/credentials.h) over BoringSSL's
// SHA-256. Stateless; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "engine/ports/credentials.h"

namespace rotor {

class BoringHasher final : public Hasher {
 public:
  // Hasher:
  std::array<uint8_t, 32> Sha256(std::string_view data) const override;
};

}  // namespace rotor
