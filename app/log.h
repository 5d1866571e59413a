// Structured logs: one JSON object per line on stderr. Never pass secrets.
// Thread-safe (one mutex around the write).
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

namespace rotor::app {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

using LogField = std::pair<std::string, std::string>;

void Log(LogLevel level, const std::string& message, std::initializer_list<LogField> fields = {});
inline void LogInfo(const std::string& m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(const std::string& m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, m, f);
}
inline void LogError(const std::string& m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

// SetLogQuiet suppresses info and debug lines (warnings and errors still show).
void SetLogQuiet(bool quiet);
bool LogQuiet();
// While a progress line occupies the terminal, logs first clear it.
void SetProgressLineActive(bool active);

}  // namespace rotor::app
