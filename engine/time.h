// Instants and durations in UTC, independent of the process time zone.
//
// An Instant counts microseconds since 1970-01-01T00:00:00Z. rotor never reads
// local time: formatting and parsing use proleptic Gregorian calendar maths.
// Value types; thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace rotor {

struct Duration {
  int64_t micros = 0;

  static constexpr Duration Micros(int64_t v) { return {v}; }
  static constexpr Duration Millis(int64_t v) { return {v * 1000}; }
  static constexpr Duration Seconds(int64_t v) { return {v * 1000000}; }
  static constexpr Duration Minutes(int64_t v) { return Seconds(v * 60); }
  static constexpr Duration Hours(int64_t v) { return Seconds(v * 3600); }
  static constexpr Duration Days(int64_t v) { return Seconds(v * 86400); }
  static constexpr Duration Zero() { return {0}; }

  constexpr double seconds() const { return static_cast<double>(micros) / 1e6; }
  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return {micros + o.micros}; }
  constexpr Duration operator-(Duration o) const { return {micros - o.micros}; }
};

struct Instant {
  int64_t micros = 0;  // since the Unix epoch, UTC

  static constexpr Instant FromMicros(int64_t v) { return {v}; }
  static constexpr Instant FromSeconds(int64_t v) { return {v * 1000000}; }
  constexpr auto operator<=>(const Instant&) const = default;
  constexpr Instant operator+(Duration d) const { return {micros + d.micros}; }
  constexpr Instant operator-(Duration d) const { return {micros - d.micros}; }
  constexpr Duration operator-(Instant o) const { return {micros - o.micros}; }
};

// kMaxInstant is 9999-12-31T23:59:59.999999Z, the last instant an X.509
// GeneralizedTime can express; no credential may expire after it.
inline constexpr Instant kMaxInstant{253402300799999999};
inline constexpr Instant kMinInstant{0};

// DaysFromCivil returns days since 1970-01-01 for a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
// CivilFromDays is the inverse of DaysFromCivil.
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

// FormatRfc3339 renders `t` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (milliseconds, UTC).
std::string FormatRfc3339(Instant t);
// FormatRfc3339Seconds renders `t` without fractional seconds.
std::string FormatRfc3339Seconds(Instant t);
// ParseRfc3339 accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)".
StatusOr<Instant> ParseRfc3339(std::string_view text);

// ParseDuration accepts a sequence of <integer><unit> with units
// y (365 d), w, d, h, m, s, ms, us — e.g. "90s", "1h30m", "10y", "500ms".
StatusOr<Duration> ParseDuration(std::string_view text);
// FormatDuration renders a duration compactly, e.g. "1h30m", "500ms", "-2s".
std::string FormatDuration(Duration d);

}  // namespace rotor
