#include "tests/support/fake_generator.h"

namespace rotor::testing {

StatusOr<Candidate> FakeGenerator::Generate(const CredentialJob& job) {
  const RotationRecord& record = *job.record;
  const CredentialVersion& version = *job.version;
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
  c.files.push_back({"secret", SecretBytes(std::move(material))});
  return c;
}

Status FakeGenerator::Check(const CredentialJob& job, const Material& delivered) {
  const MaterialFile* secret = FindFile(delivered, "secret");
  if (secret == nullptr) return PermissionDenied("no secret delivered");
  if ("sha256:" + HexSha256(hasher_, secret->bytes.view()) != job.version->fingerprint) {
    return PermissionDenied("delivered material does not match the issued fingerprint");
  }
  return Status::Ok();
}

void FakeGenerator::FailNext(Status error, int times) {
  for (int i = 0; i < times; ++i) scripted_.push_back(error);
}

}  // namespace rotor::testing
