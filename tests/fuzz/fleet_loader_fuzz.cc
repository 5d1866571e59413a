// Fuzz target: the fleet-file loader (app/fleet_loader.h). Any bytes are
// either a fleet or an InvalidArgument whose message names the source; never
// a crash, a hang or an exception escaping.
#include <string>
#include <string_view>

#include "app/fleet_loader.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto now = rotor::Instant::FromSeconds(1767225600);  // 2026-01-01T00:00:00Z
  auto fleet = rotor::ParseFleet(text, "fuzz.yaml", now);
  if (!fleet.ok()) {
    rotor::fuzz::FuzzCheck(fleet.status().message().find("fuzz.yaml") != std::string::npos,
                           "a fleet error names the file");
  }
  return 0;
}
