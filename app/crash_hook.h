// CrashHook: a FaultInjector (engine/effect_runner.h) that kills the daemon
// at a chosen effect boundary, for crash-recovery tests of the real process.
//
// Armed by the environment variable ROTOR_CRASH_AT="<before|after>:<effect>:<n>"
// (effect: generate, deliver, verify, activate, discard, retire; n ≥ 1): the
// process calls _exit(kCrashExitCode) at the n-th such boundary — no
// destructors, no flushing, as close to a power cut as a process can get
// without losing what the kernel already has. Unset: no hook at all.
// Thread-safe (an atomic counter).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/effect_runner.h"
#include "engine/status.h"

namespace rotor::app {

inline constexpr int kCrashExitCode = 86;

class CrashHook final : public FaultInjector {
 public:
  // FromEnvironment returns the hook ROTOR_CRASH_AT asks for, nullptr when it
  // is unset, or InvalidArgument when it is malformed.
  static StatusOr<std::unique_ptr<CrashHook>> FromEnvironment();
  static StatusOr<std::unique_ptr<CrashHook>> Parse(const std::string& spec);

  // FaultInjector:
  Status Before(const std::string& id, EffectType type) override;
  Status After(const std::string& id, EffectType type) override;

 private:
  CrashHook(bool after, EffectType type, long n) : after_(after), type_(type), remaining_(n) {}
  void Pass(bool after, EffectType type);

  // Constant after construction.
  const bool after_;
  const EffectType type_;
  std::atomic<long> remaining_;
};

}  // namespace rotor::app
