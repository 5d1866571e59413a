#include "engine/time.h"

#include <cstdio>
#include <limits>

namespace rotor {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ReadDigits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

// Shifts the year to start in March so that the leap day is the last day of
// the shifted year; eras are 400-year cycles of 146097 days.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  int64_t y = year - (month <= 2 ? 1 : 0);
  int64_t era = FloorDiv(y, 400);
  int64_t yoe = y - era * 400;                                       // [0, 399]
  int64_t mp = (month + 9) % 12;                                     // March = 0
  int64_t doy = (153 * mp + 2) / 5 + static_cast<int64_t>(day) - 1;  // [0, 365]
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;               // [0, 146096]
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  int64_t z = days + 719468;
  int64_t era = FloorDiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  *year = y + (*month <= 2 ? 1 : 0);
}

namespace {
std::string Format(Instant t, bool millis) {
  int64_t days = FloorDiv(t.micros, kMicrosPerDay);
  int64_t rem = t.micros - days * kMicrosPerDay;
  int64_t y;
  unsigned mo, d;
  CivilFromDays(days, &y, &mo, &d);
  int64_t secs = rem / kMicrosPerSecond;
  int64_t ms = (rem % kMicrosPerSecond) / 1000;
  char buf[64];
  if (millis) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y), mo, d,
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60), static_cast<long long>(ms));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), mo, d,
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
  }
  return buf;
}
}  // namespace

std::string FormatRfc3339(Instant t) {
  return Format(t, true);
}
std::string FormatRfc3339Seconds(Instant t) {
  return Format(t, false);
}

StatusOr<Instant> ParseRfc3339(std::string_view s) {
  auto bad = [&](const char* why) { return InvalidArgument("bad RFC 3339 time \"" + std::string(s) + "\": " + why); };
  int64_t y, mo, d, h, mi, se;
  if (s.size() < 20 || !ReadDigits(s, 0, 4, &y) || s[4] != '-' || !ReadDigits(s, 5, 2, &mo) || s[7] != '-' ||
      !ReadDigits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !ReadDigits(s, 11, 2, &h) || s[13] != ':' ||
      !ReadDigits(s, 14, 2, &mi) || s[16] != ':' || !ReadDigits(s, 17, 2, &se)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS");
  }
  if (mo < 1 || mo > 12) return bad("month out of range");
  if (d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo))) return bad("day out of range");
  if (h > 23 || mi > 59 || se > 59) return bad("time of day out of range");
  size_t pos = 19;
  int64_t frac_micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
  }
  int64_t offset_secs = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int64_t oh, om;
    if (!ReadDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ReadDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("bad UTC offset");
    }
    offset_secs = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad("missing time zone (Z or ±HH:MM)");
  }
  if (pos != s.size()) return bad("trailing characters");
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_secs;
  return Instant{secs * kMicrosPerSecond + frac_micros};
}

StatusOr<Duration> ParseDuration(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("bad duration \"" + std::string(s) + "\": " + why + " (use e.g. 90s, 5m, 1h30m, 30d, 10y)");
  };
  if (s.empty()) return bad("empty");
  size_t pos = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    ++pos;
  }
  int64_t total = 0;
  bool any = false;
  while (pos < s.size()) {
    size_t start = pos;
    int64_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[pos] - '0', &n)) return bad("too large");
      ++pos;
    }
    if (pos == start) return bad("expected a number at position " + std::to_string(pos));
    size_t ustart = pos;
    while (pos < s.size() && s[pos] >= 'a' && s[pos] <= 'z') ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    int64_t mult;
    if (unit == "y")
      mult = 365 * 86400LL * kMicrosPerSecond;
    else if (unit == "w")
      mult = 7 * 86400LL * kMicrosPerSecond;
    else if (unit == "d")
      mult = 86400LL * kMicrosPerSecond;
    else if (unit == "h")
      mult = 3600LL * kMicrosPerSecond;
    else if (unit == "m")
      mult = 60LL * kMicrosPerSecond;
    else if (unit == "s")
      mult = kMicrosPerSecond;
    else if (unit == "ms")
      mult = 1000;
    else if (unit == "us")
      mult = 1;
    else if (unit.empty())
      return bad("missing unit after " + std::string(s.substr(start, pos - start)));
    else
      return bad("unknown unit \"" + std::string(unit) + "\"");
    int64_t part;
    if (__builtin_mul_overflow(n, mult, &part) || __builtin_add_overflow(total, part, &total)) return bad("too large");
    any = true;
  }
  if (!any) return bad("empty");
  int64_t v = total;
  return Duration{negative ? -v : v};
}

std::string FormatDuration(Duration d) {
  if (d.micros == 0) return "0s";
  std::string out;
  int64_t v = d.micros;
  if (v < 0) {
    out = "-";
    v = -v;
  }
  if (v % 1000 != 0) return out + std::to_string(v) + "us";
  if (v % kMicrosPerSecond != 0) return out + std::to_string(v / 1000) + "ms";
  int64_t s = v / kMicrosPerSecond;
  int64_t days = s / 86400;
  s %= 86400;
  if (days) out += std::to_string(days) + "d";
  if (s / 3600) out += std::to_string(s / 3600) + "h";
  if (s / 60 % 60) out += std::to_string(s / 60 % 60) + "m";
  if (s % 60) out += std::to_string(s % 60) + "s";
  return out;
}

}  // namespace rotor
