// cert_scan_mutation FILE...: feeds every FILE, then thousands of damaged
// copies of each (cut short, bytes overwritten, a span duplicated, a span
// deleted; a fixed-seed generator, so a failure reproduces), through
// x509::ScanBytes. Built under AddressSanitizer and UndefinedBehaviorSanitizer
// by `make test-sanitize`, it turns any out-of-bounds read, leak or undefined
// behaviour of the PEM/DER scanner into a failed run. Exits 1 when a scan
// returns no item or an error item without a reason.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "connectors/crypto/cert_scan.h"

namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Check(const std::vector<rotor::InventoryItem>& items) {
  if (items.empty()) return false;
  for (const auto& it : items) {
    if (it.type == rotor::ItemType::kError && it.error.empty()) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = std::getenv("ROUNDS") != nullptr ? std::atoi(std::getenv("ROUNDS")) : 3000;
  uint32_t seed = 20261204;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  size_t scans = 0;
  for (int a = 1; a < argc; ++a) {
    const std::string data = ReadAll(argv[a]);
    if (!Check(rotor::x509::ScanBytes(data, argv[a]))) {
      std::fprintf(stderr, "cert_scan_mutation: bad result for %s\n", argv[a]);
      return 1;
    }
    ++scans;
    if (data.empty()) continue;
    for (int r = 0; r < rounds; ++r) {
      std::string d = data;
      const size_t at = next() % d.size();
      switch (r % 4) {
        case 0: d.resize(at); break;
        case 1:
          for (int k = 0; k < 4; ++k) d[next() % d.size()] = static_cast<char>(next() >> 24);
          break;
        case 2: d.insert(at, d.substr(at, next() % 64)); break;
        default: d.erase(at, next() % 16); break;
      }
      if (!Check(rotor::x509::ScanBytes(d, "mutated"))) {
        std::fprintf(stderr, "cert_scan_mutation: bad result for round %d of %s\n", r, argv[a]);
        return 1;
      }
      ++scans;
    }
  }
  std::printf("cert_scan_mutation: %zu scans of %d files, every one with a result\n", scans, argc - 1);
  return 0;
}
