// Decimal text of unsigned integers, as stored in positions, counters and
// audit sequences. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rotor {

// ParseDecimal reads `text` as a base-10 uint64: one or more ASCII digits and
// nothing else (no sign, no spaces). nullopt when malformed or above 2^64-1.
std::optional<uint64_t> ParseDecimal(std::string_view text);

}  // namespace rotor
