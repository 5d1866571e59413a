// gtest printers for engine values, so that failed expectations show records
// and events rather than their bytes. Found by argument-dependent lookup:
// include this header in a test that compares these types.
#pragma once

#include <ostream>
#include <string>

#include "engine/model.h"
#include "engine/rotation.h"

namespace rotor {

std::string DebugString(const CredentialVersion& v);
std::string DebugString(const RotationRecord& r);
std::string DebugString(const Event& e);
std::string DebugString(const Effect& e);

inline void PrintTo(const CredentialVersion& v, std::ostream* os) {
  *os << DebugString(v);
}
inline void PrintTo(const RotationRecord& r, std::ostream* os) {
  *os << DebugString(r);
}
inline void PrintTo(const Event& e, std::ostream* os) {
  *os << DebugString(e);
}
inline void PrintTo(const Effect& e, std::ostream* os) {
  *os << DebugString(e);
}
inline void PrintTo(Phase p, std::ostream* os) {
  *os << PhaseName(p);
}
inline void PrintTo(EffectType t, std::ostream* os) {
  *os << EffectTypeName(t);
}
inline void PrintTo(EventType t, std::ostream* os) {
  *os << EventTypeName(t);
}
inline void PrintTo(StatusCode c, std::ostream* os) {
  *os << StatusCodeName(c);
}
inline void PrintTo(const Status& s, std::ostream* os) {
  *os << s.ToString();
}
inline void PrintTo(Instant t, std::ostream* os) {
  *os << FormatRfc3339(t) << " (" << t.micros << "us)";
}
inline void PrintTo(Duration d, std::ostream* os) {
  *os << FormatDuration(d);
}

}  // namespace rotor
