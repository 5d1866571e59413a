#include "tests/support/fake_hasher.h"

namespace rotor::testing {

std::array<uint8_t, 32> FakeHasher::Sha256(std::string_view data) const {
  static constexpr uint64_t kSeeds[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9e3779b97f4a7c15ULL,
                                         0x2545f4914f6cdd1dULL};
  std::array<uint8_t, 32> out{};
  for (int lane = 0; lane < 4; ++lane) {
    uint64_t h = kSeeds[lane];
    for (char c : data) {
      h ^= static_cast<uint8_t>(c);
      h *= 1099511628211ULL;
    }
    h ^= data.size() + static_cast<uint64_t>(lane);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    for (int i = 0; i < 8; ++i) out[lane * 8 + i] = static_cast<uint8_t>(h >> (8 * i));
  }
  return out;
}

}  // namespace rotor::testing
