#include "app/log.h"

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "engine/ports/clock.h"
#include "engine/time.h"

namespace rotor::app {
namespace {
std::mutex g_mu;
bool g_quiet = false;
bool g_progress = false;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}
}  // namespace

void SetLogQuiet(bool quiet) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_quiet = quiet;
}

bool LogQuiet() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_quiet;
}

void SetProgressLineActive(bool active) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_progress = active;
}

void Log(LogLevel level, const std::string& message, std::initializer_list<LogField> fields) {
  nlohmann::json j;
  j["ts"] = FormatRfc3339(SystemClock().Now());
  j["level"] = LevelName(level);
  j["msg"] = message;
  for (const auto& [k, v] : fields) j[k] = v;
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_quiet && (level == LogLevel::kInfo || level == LogLevel::kDebug)) return;
  if (g_progress) std::fputs("\r\033[K", stderr);
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace rotor::app
