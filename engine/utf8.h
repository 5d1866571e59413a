// UTF-8: one validator and one encoder for the whole project (certificate
// profiles, the X.509 builder, the import scanner, JSON). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rotor {

// ValidUtf8 reports whether `s` is well-formed UTF-8: no overlong forms, no
// surrogates, no code point past U+10FFFF, no truncated sequence.
bool ValidUtf8(std::string_view s);

// AppendUtf8 appends the UTF-8 encoding of code point `cp` (≤ U+10FFFF).
void AppendUtf8(uint32_t cp, std::string* out);

}  // namespace rotor
