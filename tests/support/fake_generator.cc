#include "tests/support/fake_generator.h"

#include <optional>

namespace rotor::testing {

StatusOr<Candidate> FakeGenerator::Generate(const CredentialJob& job) {
  const RotationRecord& record = *job.record;
  const CredentialVersion& version = *job.version;
  std::optional<Status> scripted;
  FaultFn fault;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (!scripted_.empty()) {
      scripted = scripted_.front();
      scripted_.pop_front();
    } else {
      fault = fault_;
    }
  }
  // The fault function runs unlocked: a test's may block to hold one call back.
  if (scripted && !scripted->ok()) return *scripted;
  if (!scripted && fault) {
    Status s = fault(record, version);
    if (!s.ok()) return s;
  }
  uint64_t serial = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    serial = ++serial_;
  }
  std::string material = "fake:" + record.id + ":" + std::to_string(version.generation) + ":" + std::to_string(serial);
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
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < times; ++i) scripted_.push_back(error);
}

void FakeGenerator::SetFault(FaultFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = std::move(fn);
}

int FakeGenerator::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

}  // namespace rotor::testing
