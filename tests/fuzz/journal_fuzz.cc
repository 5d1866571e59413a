// Fuzz target: the journal reader (ChainVerifier, engine/audit.h), as
// `rotor audit verify` feeds it line by line.
//
// The first byte picks a mode:
//  - even: the rest is a journal, split at '\n' and fed line by line; any
//    bytes must give OK or an error message, never a crash;
//  - odd: a genuine journal of one identity (six chained events) is edited by
//    the rest of the input (each 4-byte op: line, offset, kind, byte). Unless
//    the edits left the journal unchanged or cut whole lines off its end —
//    which only the chain head in the store can reveal — the verifier must
//    refuse it: every other edit, deletion, reordering or insertion breaks
//    the chain.
#include <string>
#include <string_view>
#include <vector>

#include "connectors/crypto/boring_hasher.h"
#include "engine/audit.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

using rotor::AuditFact;
using rotor::ChainVerifier;

std::vector<std::string> GenuineJournal(const rotor::Hasher& hasher) {
  rotor::RotationRecord record;
  record.id = "web-7";
  record.group = "web";
  std::vector<std::string> lines;
  const char* types[] = {"identity.declared",    "rotation.started",    "credential.issued",
                         "credential.delivered", "credential.verified", "rotation.committed"};
  int64_t at = 1767225600;
  for (const char* type : types) {
    AuditFact fact;
    fact.type = type;
    fact.data["generation"] = int64_t{1};
    fact.data["reason"] = std::string("scheduled");
    lines.push_back(rotor::ChainAuditEvent(hasher, fact, rotor::Instant::FromSeconds(at++), "/rotor", &record));
  }
  return lines;
}

bool Verifies(const rotor::Hasher& hasher, const std::vector<std::string>& lines) {
  ChainVerifier verifier(hasher);
  for (const auto& line : lines) {
    if (!verifier.Feed(line).ok()) return false;
  }
  return true;
}

bool IsLinePrefix(const std::vector<std::string>& edited, const std::vector<std::string>& genuine) {
  if (edited.size() > genuine.size()) return false;
  for (size_t i = 0; i < edited.size(); ++i) {
    if (edited[i] != genuine[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rotor::BoringHasher hasher;
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    ChainVerifier verifier(hasher);
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      const auto status = verifier.Feed(line);
      rotor::fuzz::FuzzCheck(status.ok() || !status.message().empty(), "a refused line says why");
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    return 0;
  }

  static const std::vector<std::string> genuine = GenuineJournal(hasher);
  rotor::fuzz::FuzzCheck(Verifies(hasher, genuine), "the genuine journal verifies");
  std::vector<std::string> edited = genuine;
  for (size_t i = 1; i + 4 <= size && i < 1 + 4 * 16; i += 4) {
    if (edited.empty()) break;
    const size_t line = data[i] % edited.size();
    std::string& text = edited[line];
    const size_t offset = text.empty() ? 0 : data[i + 1] % text.size();
    const char byte = static_cast<char>(data[i + 3]);
    switch (data[i + 2] % 5) {
      case 0:  // overwrite one byte
        if (!text.empty()) text[offset] = byte;
        break;
      case 1:  // insert one byte
        text.insert(text.begin() + static_cast<std::ptrdiff_t>(offset), byte);
        break;
      case 2:  // delete one byte
        if (!text.empty()) text.erase(offset, 1);
        break;
      case 3:  // delete the line
        edited.erase(edited.begin() + static_cast<std::ptrdiff_t>(line));
        break;
      case 4:  // swap the line with the next one
        if (line + 1 < edited.size()) std::swap(edited[line], edited[line + 1]);
        break;
    }
  }
  if (!IsLinePrefix(edited, genuine)) {
    rotor::fuzz::FuzzCheck(!Verifies(hasher, edited), "an edited journal is refused");
  }
  return 0;
}
