// ScriptedFaults: a FaultInjector (engine/effect_runner.h) that simulates a
// crash — an Aborted status, which EffectRunner reports as crashed — at the
// Nth occurrence of an effect boundary. It also counts every boundary it sees,
// so a fault-free run tells a test how many boundaries there are to crash at.
// Thread-compatible.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/effect_runner.h"

namespace rotor::testing {

enum class Boundary { kBefore, kAfter };
const char* BoundaryName(Boundary b);

class ScriptedFaults final : public FaultInjector {
 public:
  // CrashAt arms one crash at the `occurrence`-th (1-based, counted from now)
  // `boundary` of `type`, for any identity or only for `id`. Each armed crash
  // fires once.
  void CrashAt(Boundary boundary, EffectType type, int occurrence, std::string id = "");

  // FaultInjector:
  Status Before(const std::string& id, EffectType type) override;
  Status After(const std::string& id, EffectType type) override;

  // seen returns how many `boundary`s of `type` were passed (crashes included).
  int seen(Boundary boundary, EffectType type) const;
  int fired() const { return fired_; }
  bool armed() const;

 private:
  struct Trigger {
    Boundary boundary;
    EffectType type;
    int remaining;  // occurrences to let pass, then fire
    std::string id;
    bool done = false;
  };
  Status Pass(Boundary boundary, const std::string& id, EffectType type);

  std::vector<Trigger> triggers_;
  std::map<std::pair<Boundary, EffectType>, int> seen_;
  int fired_ = 0;
};

}  // namespace rotor::testing
