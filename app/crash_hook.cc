#include "app/crash_hook.h"

#include <unistd.h>

#include <cstdlib>

namespace rotor::app {

StatusOr<std::unique_ptr<CrashHook>> CrashHook::FromEnvironment() {
  const char* spec = std::getenv("ROTOR_CRASH_AT");
  if (spec == nullptr || *spec == '\0') return std::unique_ptr<CrashHook>();
  return Parse(spec);
}

StatusOr<std::unique_ptr<CrashHook>> CrashHook::Parse(const std::string& spec) {
  const size_t a = spec.find(':');
  const size_t b = a == std::string::npos ? a : spec.find(':', a + 1);
  auto bad = [&] { return InvalidArgument("ROTOR_CRASH_AT=\"" + spec + "\": expected <before|after>:<effect>:<n>"); };
  if (b == std::string::npos) return bad();
  const std::string when = spec.substr(0, a), effect = spec.substr(a + 1, b - a - 1), count = spec.substr(b + 1);
  if (when != "before" && when != "after") return bad();
  static constexpr EffectType kTypes[] = {EffectType::kGenerate, EffectType::kDeliver, EffectType::kVerify,
                                          EffectType::kActivate, EffectType::kDiscard, EffectType::kRetire};
  const EffectType* type = nullptr;
  for (const EffectType& t : kTypes) {
    if (effect == EffectTypeName(t)) type = &t;
  }
  if (type == nullptr) return bad();
  char* end = nullptr;
  const long n = std::strtol(count.c_str(), &end, 10);
  if (count.empty() || *end != '\0' || n < 1) return bad();
  return std::unique_ptr<CrashHook>(new CrashHook(when == "after", *type, n));
}

void CrashHook::Pass(bool after, EffectType type) {
  if (after != after_ || type != type_) return;
  if (remaining_.fetch_sub(1) == 1) _exit(kCrashExitCode);
}

Status CrashHook::Before(const std::string&, EffectType type) {
  Pass(false, type);
  return Status::Ok();
}

Status CrashHook::After(const std::string&, EffectType type) {
  Pass(true, type);
  return Status::Ok();
}

}  // namespace rotor::app
