#include "tests/support/scripted_faults.h"

namespace rotor::testing {

const char* BoundaryName(Boundary b) {
  return b == Boundary::kBefore ? "before" : "after";
}

void ScriptedFaults::CrashAt(Boundary boundary, EffectType type, int occurrence, std::string id) {
  triggers_.push_back(Trigger{boundary, type, occurrence, std::move(id)});
}

Status ScriptedFaults::Pass(Boundary boundary, const std::string& id, EffectType type) {
  seen_[{boundary, type}]++;
  bool crash = false;
  for (auto& t : triggers_) {
    if (t.done || t.boundary != boundary || t.type != type || (!t.id.empty() && t.id != id)) continue;
    if (--t.remaining == 0) {
      t.done = true;
      crash = true;
    }
  }
  if (!crash) return Status::Ok();
  ++fired_;
  return Aborted(std::string("simulated crash ") + BoundaryName(boundary) + " " + EffectTypeName(type) + " of " + id);
}

Status ScriptedFaults::Before(const std::string& id, EffectType type) {
  return Pass(Boundary::kBefore, id, type);
}
Status ScriptedFaults::After(const std::string& id, EffectType type) {
  return Pass(Boundary::kAfter, id, type);
}

int ScriptedFaults::seen(Boundary boundary, EffectType type) const {
  auto it = seen_.find({boundary, type});
  return it == seen_.end() ? 0 : it->second;
}

bool ScriptedFaults::armed() const {
  for (const auto& t : triggers_) {
    if (!t.done) return true;
  }
  return false;
}

}  // namespace rotor::testing
