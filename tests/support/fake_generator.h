// FakeGenerator: a CredentialGenerator (engine/ports/credentials.h) that
// makes unique, recognisable material ("fake:<id>:<generation>:<serial>")
// fingerprinted with the given Hasher, so EffectRunner's verify step accepts
// what the FakeDeliverySink hands back.
//
// Failures: FailNext queues one Status per call (transient or not); SetFault
// installs a function consulted on every call after the queue is empty.
// Thread-safe, as the port requires: the runtime's crypto pool calls Generate
// and Check from several threads at once.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "engine/ports/credentials.h"

namespace rotor::testing {

class FakeGenerator final : public CredentialGenerator {
 public:
  using FaultFn = std::function<Status(const RotationRecord& record, const CredentialVersion& version)>;

  explicit FakeGenerator(const Hasher& hasher) : hasher_(hasher) {}

  // CredentialGenerator:
  StatusOr<Candidate> Generate(const CredentialJob& job) override;
  Status Check(const CredentialJob& job, const Material& delivered) override;

  // Test controls.
  void FailNext(Status error, int times = 1);
  void SetFault(FaultFn fn);
  int calls() const;

 private:
  const Hasher& hasher_;
  mutable std::mutex mu_;
  // Protected by mu_.
  std::deque<Status> scripted_;
  FaultFn fault_;
  int calls_ = 0;
  uint64_t serial_ = 0;
};

}  // namespace rotor::testing
