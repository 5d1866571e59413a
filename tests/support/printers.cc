#include "tests/support/printers.h"

namespace rotor {

std::string DebugString(const CredentialVersion& v) {
  return "{gen " + std::to_string(v.generation) + " issued " + FormatRfc3339(v.issued_at) + " not_after " +
         FormatRfc3339(v.not_after) + " " + v.fingerprint + "}";
}

std::string DebugString(const RotationRecord& r) {
  std::string out = "{" + r.id + " group " + r.group + " phase " + PhaseName(r.phase);
  out += " current " + (r.current ? DebugString(*r.current) : std::string("-"));
  out += " pending " + (r.pending ? DebugString(*r.pending) : std::string("-"));
  out += " retiring [";
  for (const auto& rv : r.retiring) {
    out += DebugString(rv.version) + "@" + FormatRfc3339(rv.retire_at) + (rv.compromised ? "!" : "") + " ";
  }
  out += "] next_gen " + std::to_string(r.next_generation) + " next_due " + FormatRfc3339(r.next_due) + " (" +
         std::to_string(r.next_due.micros) + ")";
  out += " reason " + std::string(RotationReasonName(r.reason)) + (r.emergency ? " EMERGENCY" : "");
  out += " stage_attempts " + std::to_string(r.stage_attempts) + " failures " + std::to_string(r.consecutive_failures) +
         " window " + FormatRfc3339(r.window_start) + "/" + std::to_string(r.issuances_in_window) + " last_emergency " +
         FormatRfc3339(r.last_emergency_at);
  out += " chain " + std::to_string(r.chain_seq) + ":" + r.chain_hash.substr(0, 8);
  out += " last_error \"" + r.last_error + "\"}";
  return out;
}

std::string DebugString(const Event& e) {
  std::string out = std::string("{") + EventTypeName(e.type) + " gen " + std::to_string(e.generation);
  if (e.type == EventType::kGenerated) out += " issued " + FormatRfc3339(e.issued_at) + " " + e.fingerprint;
  if (e.type == EventType::kStepFailed) out += std::string(" ") + EffectTypeName(e.failed) + ": " + e.error.ToString();
  return out + "}";
}

std::string DebugString(const Effect& e) {
  std::string out = std::string(EffectTypeName(e.type)) + "(" + std::to_string(e.version.generation);
  if (e.restore) out += " restore " + std::to_string(e.restore->generation);
  return out + ")";
}

}  // namespace rotor
