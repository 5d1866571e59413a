#include "tests/support/fake_generator.h"

namespace rotor::testing {

StatusOr<Candidate> FakeGenerator::Generate(const RotationRecord& record, const CredentialVersion& version) {
  ++calls_;
  if (!scripted_.empty()) {
    Status s = scripted_.front();
    scripted_.pop_front();
    if (!s.ok()) return s;
  } else if (fault_) {
    Status s = fault_(record, version);
    if (!s.ok()) return s;
  }
  std::string material =
      "fake:" + record.id + ":" + std::to_string(version.generation) + ":" + std::to_string(++serial_);
  Candidate c;
  c.fingerprint = "sha256:" + HexSha256(hasher_, material);
  c.material = SecretBytes(std::move(material));
  return c;
}

void FakeGenerator::FailNext(Status error, int times) {
  for (int i = 0; i < times; ++i) scripted_.push_back(error);
}

}  // namespace rotor::testing
