// Fuzz target: the PEM/DER scanner of `rotor import` (connectors/crypto/
// cert_scan.h). Any bytes give at least one item, and every error item says
// why; never a crash, an out-of-bounds read or a hang.
#include <string>
#include <string_view>
#include <vector>

#include "connectors/crypto/cert_scan.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<rotor::SecretBytes> ders;
  const auto items = rotor::x509::ScanBytes(bytes, "fuzz.pem", &ders);
  rotor::fuzz::FuzzCheck(!items.empty(), "a scan returns at least one item");
  rotor::fuzz::FuzzCheck(ders.size() == items.size(), "one DER entry per item");
  for (const auto& item : items) {
    rotor::fuzz::FuzzCheck(item.type != rotor::ItemType::kError || !item.error.empty(), "an error item says why");
  }
  return 0;
}
