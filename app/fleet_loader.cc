#include "app/fleet_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/model.h"
#include "engine/policy.h"

namespace rotor {
namespace {

constexpr size_t kMaxFileBytes = size_t{256} << 20;
constexpr int kMaxPatternWidth = 20;
constexpr size_t kMaxLabelKeyBytes = 63;
constexpr size_t kMaxLabelValueBytes = 256;

// Quote renders user text for a message: quoted, control bytes escaped, long
// text cut, so that a hostile file cannot forge or flood log lines.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "\"";
}

const char* NodeKind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

std::string JoinQuoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// TabIndentedLine returns the 1-based number of the first line whose
// indentation holds a tab, or 0.
size_t TabIndentedLine(std::string_view text) {
  size_t line = 1;
  bool indent = true;
  for (char c : text) {
    if (c == '\n') {
      ++line;
      indent = true;
    } else if (indent && c == '\t') {
      return line;
    } else if (c != ' ') {
      indent = false;
    }
  }
  return 0;
}

// ParseDecimal accepts a plain decimal number ("0.66", "1", ".5"), nothing else.
std::optional<double> ParseDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseDigits(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// IdPattern is a compiled id_pattern: prefix, the number n (zero-padded to
// `width` digits when width > 0), suffix.
struct IdPattern {
  std::string prefix;
  int width = 0;
  std::string suffix;

  std::string Render(int64_t n) const {
    std::string digits = std::to_string(n);
    if (digits.size() < static_cast<size_t>(width)) digits.insert(0, width - digits.size(), '0');
    return prefix + digits + suffix;
  }
};

// CompileIdPattern returns the pattern, or why it is not one (no location).
StatusOr<IdPattern> CompileIdPattern(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("id_pattern " + Quote(text) + ": " + why +
                           " (write {n} or {n:0W} for the number, e.g. \"ci-job-{n:04}\")");
  };
  IdPattern p;
  bool seen = false;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '}') return bad("unmatched '}'");
    if (c != '{') {
      (seen ? p.suffix : p.prefix) += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) return bad("unmatched '{'");
    std::string_view inner = text.substr(i + 1, close - i - 1);
    if (seen) return bad("more than one placeholder");
    if (inner == "n") {
      p.width = 0;
    } else if (inner.size() >= 4 && inner.substr(0, 3) == "n:0") {
      auto w = ParseDigits(inner.substr(3), 2);
      if (!w || *w < 1 || *w > kMaxPatternWidth) {
        return bad("width must be 1 to " + std::to_string(kMaxPatternWidth));
      }
      p.width = static_cast<int>(*w);
    } else {
      return bad("unknown placeholder {" + std::string(inner) + "}");
    }
    seen = true;
    i = close + 1;
  }
  if (!seen) return bad("no {n} placeholder, so every id would be the same");
  return p;
}

struct Field {
  std::string name;
  YAML::Node key;
  YAML::Node value;
};

// Fields are the entries of one mapping, in file order, already checked
// against the keys allowed there.
class Fields {
 public:
  void Add(Field f) { fields_.push_back(std::move(f)); }
  const Field* Get(std::string_view name) const {
    for (const auto& f : fields_) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

 private:
  std::vector<Field> fields_;
};

// Where each identity id of a group came from, for duplicate reports. Listed
// ids come first in GroupSpec::identities, then the generated ones.
struct GroupOrigin {
  YAML::Mark group;
  std::vector<YAML::Mark> listed;
  YAML::Mark generated;
  std::string pattern;
};

struct NamedPolicy {
  RenewalPolicy policy;
  YAML::Mark at;
};

// FleetParser turns one YAML document into a FleetSpec. The first error ends
// the parse; each names the position of the node at fault.
class FleetParser {
 public:
  FleetParser(const std::string& source, Instant now) : source_(source), now_(now) {}

  StatusOr<FleetSpec> Parse(const YAML::Node& root);

  std::string Where(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0) return source_;
    return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  Status ErrorAt(const YAML::Mark& m, const std::string& what) const { return InvalidArgument(Where(m) + ": " + what); }
  Status ErrorAt(const YAML::Node& n, const std::string& what) const { return ErrorAt(n.Mark(), what); }

 private:
  StatusOr<Fields> ReadFields(const YAML::Node& map, const std::string& context,
                              const std::vector<std::string>& allowed) const;
  StatusOr<std::string> ReadScalar(const Field& f, const std::string& expected) const;
  StatusOr<std::string> ReadNonEmpty(const Field& f, const std::string& expected) const;
  StatusOr<Duration> ReadDuration(const Field& f) const;
  StatusOr<int64_t> ReadInteger(const Field& f, int64_t min, int64_t max) const;
  StatusOr<double> ReadRenewFraction(const Field& f) const;
  StatusOr<double> ReadJitter(const Field& f) const;
  StatusOr<RenewalPolicy> ReadPolicy(const YAML::Node& map, const std::string& name, const YAML::Mark& at) const;
  Status ReadPolicies(const Field& f);
  Status ReadGroup(const YAML::Node& node, size_t index, FleetSpec* fleet);
  Status ReadCertificate(const Field& f, const std::string& group, CertificateProfile* profile) const;
  StatusOr<std::vector<std::string>> ReadStringList(const Field& f, const std::string& expected) const;
  Status ReadCa(const Field& f, CaSpec* ca) const;
  Status ReadLabels(const Field& f, std::map<std::string, std::string>* labels) const;
  Status CheckUniqueIds(const FleetSpec& fleet) const;
  std::string DescribeId(const FleetSpec& fleet, size_t group, size_t index) const;
  YAML::Mark IdMark(size_t group, size_t index) const;

  const std::string& source_;
  const Instant now_;
  std::map<std::string, NamedPolicy> policies_;
  std::vector<GroupOrigin> origins_;  // parallel to FleetSpec::groups
  int64_t total_ids_ = 0;
};

StatusOr<Fields> FleetParser::ReadFields(const YAML::Node& map, const std::string& context,
                                         const std::vector<std::string>& allowed) const {
  if (!map.IsMap()) {
    return ErrorAt(map, "expected a mapping " + context + ", got " + NodeKind(map));
  }
  Fields fields;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) return ErrorAt(key, "keys " + context + " must be plain names");
    const std::string& name = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return ErrorAt(key, "unknown key " + Quote(name) + " " + context + DidYouMean(name, allowed) +
                              "; allowed keys: " + JoinQuoted(allowed));
    }
    auto [it, inserted] = seen.emplace(name, key.Mark());
    if (!inserted) {
      return ErrorAt(key,
                     "duplicate key " + Quote(name) + " " + context + " (first given at " + Where(it->second) + ")");
    }
    fields.Add(Field{name, key, entry.second});
  }
  return fields;
}

StatusOr<std::string> FleetParser::ReadScalar(const Field& f, const std::string& expected) const {
  if (!f.value.IsScalar()) {
    return ErrorAt(f.value.IsNull() ? f.key : f.value,
                   f.name + ": expected " + expected + ", got " + NodeKind(f.value));
  }
  return f.value.Scalar();
}

StatusOr<std::string> FleetParser::ReadNonEmpty(const Field& f, const std::string& expected) const {
  ROTOR_ASSIGN_OR_RETURN(std::string s, ReadScalar(f, expected));
  if (s.empty()) return ErrorAt(f.value, f.name + ": must not be empty");
  return s;
}

StatusOr<Duration> FleetParser::ReadDuration(const Field& f) const {
  ROTOR_ASSIGN_OR_RETURN(std::string text, ReadScalar(f, "a duration such as 90s, 5m or 1h30m"));
  Duration d = Duration::Zero();
  if (text != "0") {  // a bare zero needs no unit
    StatusOr<Duration> parsed = ParseDuration(text);
    if (!parsed.ok()) return ErrorAt(f.value, f.name + ": " + parsed.status().message());
    d = *parsed;
  }
  if (d < Duration::Zero()) return ErrorAt(f.value, f.name + " must not be negative, got " + Quote(text));
  return d;
}

StatusOr<int64_t> FleetParser::ReadInteger(const Field& f, int64_t min, int64_t max) const {
  ROTOR_ASSIGN_OR_RETURN(std::string text, ReadScalar(f, "a whole number"));
  auto range = [&] {
    return ErrorAt(f.value, f.name + " must be a whole number from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got " + Quote(text));
  };
  auto v = ParseDigits(text, 18);
  if (!v || *v < min || *v > max) return range();
  return *v;
}

StatusOr<double> FleetParser::ReadRenewFraction(const Field& f) const {
  ROTOR_ASSIGN_OR_RETURN(std::string text, ReadScalar(f, "a fraction such as 2/3 or 0.66"));
  std::optional<double> v;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    auto num = ParseDigits(std::string_view(text).substr(0, slash), 9);
    auto den = ParseDigits(std::string_view(text).substr(slash + 1), 9);
    if (num && den && *den > 0) v = static_cast<double>(*num) / static_cast<double>(*den);
  } else {
    v = ParseDecimal(text);
  }
  if (!v || !(*v > 0.0 && *v < 1.0)) {
    return ErrorAt(f.value,
                   f.name + " must be a fraction strictly between 0 and 1 (e.g. 2/3 or 0.66), got " + Quote(text));
  }
  return *v;
}

StatusOr<double> FleetParser::ReadJitter(const Field& f) const {
  ROTOR_ASSIGN_OR_RETURN(std::string text, ReadScalar(f, "a share such as 10% or 0.1"));
  std::optional<double> v;
  if (!text.empty() && text.back() == '%') {
    v = ParseDecimal(std::string_view(text).substr(0, text.size() - 1));
    if (v) *v /= 100.0;
  } else {
    v = ParseDecimal(text);
  }
  if (!v || *v < 0.0 || *v > 0.5) {
    return ErrorAt(f.value, f.name + " must be from 0 to 0.5 (or 0% to 50%), got " + Quote(text));
  }
  return *v;
}

StatusOr<RenewalPolicy> FleetParser::ReadPolicy(const YAML::Node& map, const std::string& name,
                                                const YAML::Mark& at) const {
  const std::string context = "in policy " + Quote(name);
  ROTOR_ASSIGN_OR_RETURN(Fields fields, ReadFields(map, context,
                                                   {"lifetime", "renew_at", "renew_before", "jitter", "grace",
                                                    "backoff", "circuit_breaker", "emergency_min_interval"}));
  RenewalPolicy p;
  p.name = name;
  const Field* lifetime = fields.Get("lifetime");
  if (!lifetime) return ErrorAt(at, "missing required key \"lifetime\" " + context);
  ROTOR_ASSIGN_OR_RETURN(p.lifetime, ReadDuration(*lifetime));

  const Field* renew_at = fields.Get("renew_at");
  const Field* renew_before = fields.Get("renew_before");
  if (renew_at && renew_before) {
    const Field* later = renew_at->key.Mark().pos > renew_before->key.Mark().pos ? renew_at : renew_before;
    return ErrorAt(later->key, "renew_at and renew_before are mutually exclusive " + context +
                                   ": renew at a fraction of the lifetime or a fixed time before expiry, "
                                   "not both");
  }
  if (renew_at) {
    ROTOR_ASSIGN_OR_RETURN(p.renew_fraction, ReadRenewFraction(*renew_at));
  }
  if (renew_before) {
    ROTOR_ASSIGN_OR_RETURN(Duration d, ReadDuration(*renew_before));
    p.renew_before = d;
  }
  if (const Field* f = fields.Get("jitter")) {
    ROTOR_ASSIGN_OR_RETURN(p.jitter, ReadJitter(*f));
  }
  if (const Field* f = fields.Get("grace")) {
    ROTOR_ASSIGN_OR_RETURN(p.grace, ReadDuration(*f));
  }
  if (const Field* f = fields.Get("emergency_min_interval")) {
    ROTOR_ASSIGN_OR_RETURN(p.emergency_min_interval, ReadDuration(*f));
  }
  if (const Field* f = fields.Get("backoff")) {
    ROTOR_ASSIGN_OR_RETURN(Fields backoff,
                           ReadFields(f->value, "in backoff of policy " + Quote(name), {"base", "max"}));
    if (const Field* b = backoff.Get("base")) {
      ROTOR_ASSIGN_OR_RETURN(p.backoff_base, ReadDuration(*b));
    }
    if (const Field* m = backoff.Get("max")) {
      ROTOR_ASSIGN_OR_RETURN(p.backoff_max, ReadDuration(*m));
    }
  }
  if (const Field* f = fields.Get("circuit_breaker")) {
    ROTOR_ASSIGN_OR_RETURN(Fields breaker, ReadFields(f->value, "in circuit_breaker of policy " + Quote(name),
                                                      {"max_issuances", "window", "max_failures"}));
    constexpr int64_t kMaxU32 = UINT32_MAX;
    if (const Field* m = breaker.Get("max_issuances")) {
      ROTOR_ASSIGN_OR_RETURN(int64_t v, ReadInteger(*m, 1, kMaxU32));
      p.max_issuances_per_window = static_cast<uint32_t>(v);
    }
    if (const Field* w = breaker.Get("window")) {
      ROTOR_ASSIGN_OR_RETURN(p.issuance_window, ReadDuration(*w));
    }
    if (const Field* m = breaker.Get("max_failures")) {
      ROTOR_ASSIGN_OR_RETURN(int64_t v, ReadInteger(*m, 1, kMaxU32));
      p.max_consecutive_failures = static_cast<uint32_t>(v);
    }
  }
  Status valid = ValidatePolicy(p, now_);
  if (!valid.ok()) {
    // ValidatePolicy names the policy itself; add the name only if it did not.
    const std::string own = "policy " + Quote(name);
    const std::string& why = valid.message();
    return ErrorAt(at, why.rfind(own, 0) == 0 ? why : own + ": " + why);
  }
  return p;
}

Status FleetParser::ReadPolicies(const Field& f) {
  if (f.value.IsNull()) return Status::Ok();  // "policies:" with nothing under it
  if (!f.value.IsMap()) {
    return ErrorAt(f.value,
                   "policies: expected a mapping from policy name to policy, got " + std::string(NodeKind(f.value)));
  }
  for (const auto& entry : f.value) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) return ErrorAt(key, "policy names must be plain names");
    const std::string& name = key.Scalar();
    if (!ValidIdentityId(name)) {
      return ErrorAt(
          key, "invalid policy name " + Quote(name) + ": use 1 to 200 of A-Z a-z 0-9 . _ -, not starting with . or -");
    }
    auto it = policies_.find(name);
    if (it != policies_.end()) {
      return ErrorAt(key, "duplicate policy " + Quote(name) + " (first defined at " + Where(it->second.at) + ")");
    }
    ROTOR_ASSIGN_OR_RETURN(RenewalPolicy p, ReadPolicy(entry.second, name, key.Mark()));
    policies_.emplace(name, NamedPolicy{std::move(p), key.Mark()});
  }
  return Status::Ok();
}

Status FleetParser::ReadLabels(const Field& f, std::map<std::string, std::string>* labels) const {
  if (!f.value.IsMap()) {
    return ErrorAt(f.value.IsNull() ? f.key : f.value,
                   "labels: expected a mapping such as {team: build}, got " + std::string(NodeKind(f.value)));
  }
  for (const auto& entry : f.value) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    if (!key.IsScalar()) return ErrorAt(key, "label keys must be plain names");
    const std::string& k = key.Scalar();
    bool ok = !k.empty() && k.size() <= kMaxLabelKeyBytes;
    for (char c : k) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-' || c == '/');
    }
    if (!ok) {
      return ErrorAt(key, "invalid label key " + Quote(k) + ": use 1 to 63 of A-Z a-z 0-9 . _ - /");
    }
    if (k == "group" || k == "kind") {
      return ErrorAt(key, "label key " + Quote(k) + " is reserved: selectors match " + k + "=... against the " +
                              (k == "group" ? "group name" : "credential kind"));
    }
    if (!value.IsScalar()) {
      return ErrorAt(value.IsNull() ? key : value, "label " + Quote(k) + ": expected a value, got " + NodeKind(value));
    }
    const std::string& v = value.Scalar();
    bool printable = v.size() <= kMaxLabelValueBytes;
    for (char c : v) printable = printable && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    if (!printable) {
      return ErrorAt(value, "label " + Quote(k) + ": value must be at most 256 bytes without control characters");
    }
    if (!labels->emplace(k, v).second) return ErrorAt(key, "duplicate label " + Quote(k));
  }
  return Status::Ok();
}

Status FleetParser::ReadGroup(const YAML::Node& node, size_t index, FleetSpec* fleet) {
  std::string label = "group #" + std::to_string(index + 1);
  if (node.IsMap()) {
    for (const auto& entry : node) {
      if (entry.first.IsScalar() && entry.first.Scalar() == "name" && entry.second.IsScalar()) {
        label = "group " + Quote(entry.second.Scalar());
        break;
      }
    }
  }
  const std::string context = "in " + label;
  ROTOR_ASSIGN_OR_RETURN(Fields fields,
                         ReadFields(node, context,
                                    {"name", "kind", "policy", "labels", "count", "id_pattern", "identities", "hook",
                                     "verify_command", "command_timeout", "certificate"}));
  GroupSpec g;
  GroupOrigin origin;
  origin.group = node.Mark();

  const Field* name = fields.Get("name");
  if (!name) return ErrorAt(node, label + " has no name");
  ROTOR_ASSIGN_OR_RETURN(g.name, ReadScalar(*name, "a group name"));
  if (!ValidIdentityId(g.name)) {
    return ErrorAt(name->value, "invalid group name " + Quote(g.name) +
                                    ": use 1 to 200 of A-Z a-z 0-9 . _ -, not starting with . or -");
  }
  if (g.name == kCaGroupName) {
    return ErrorAt(name->value, "group name " + Quote(g.name) + " is reserved for rotor's managed CA");
  }
  for (size_t i = 0; i < fleet->groups.size(); ++i) {
    if (fleet->groups[i].name == g.name) {
      return ErrorAt(name->value,
                     "duplicate group name " + Quote(g.name) + " (first declared at " + Where(origins_[i].group) + ")");
    }
  }

  if (const Field* f = fields.Get("kind")) {
    ROTOR_ASSIGN_OR_RETURN(std::string kind, ReadScalar(*f, "a credential kind such as api_key"));
    StatusOr<CredentialKind> parsed = ParseCredentialKind(kind);
    if (!parsed.ok()) return ErrorAt(f->value, "kind: " + parsed.status().message());
    g.kind = *parsed;
  }
  if (const Field* f = fields.Get("certificate")) {
    if (g.kind != CredentialKind::kX509) {
      return ErrorAt(f->key, "certificate " + context + " needs kind: x509 (the group's kind is " +
                                 CredentialKindName(g.kind) + ")");
    }
    ROTOR_RETURN_IF_ERROR(ReadCertificate(*f, g.name, &g.certificate));
  }

  if (const Field* f = fields.Get("policy")) {
    if (f->value.IsMap()) {
      ROTOR_ASSIGN_OR_RETURN(g.policy, ReadPolicy(f->value, g.name, f->value.Mark()));
    } else if (f->value.IsScalar()) {
      const std::string& ref = f->value.Scalar();
      auto it = policies_.find(ref);
      if (it == policies_.end()) {
        std::vector<std::string> known;
        for (const auto& [n, _] : policies_) known.push_back(n);
        return ErrorAt(f->value, context + ": unknown policy " + Quote(ref) + DidYouMean(ref, known) +
                                     (known.empty() ? "; no policies are defined under \"policies:\""
                                                    : "; defined policies: " + JoinQuoted(known)));
      }
      g.policy = it->second.policy;
    } else {
      return ErrorAt(
          f->value.IsNull() ? f->key : f->value,
          "policy: expected a policy name or a mapping of policy fields, got " + std::string(NodeKind(f->value)));
    }
  }

  if (const Field* f = fields.Get("labels")) ROTOR_RETURN_IF_ERROR(ReadLabels(*f, &g.labels));
  if (const Field* f = fields.Get("hook")) {
    ROTOR_ASSIGN_OR_RETURN(g.hook, ReadNonEmpty(*f, "a command"));
  }
  if (const Field* f = fields.Get("verify_command")) {
    ROTOR_ASSIGN_OR_RETURN(g.verify_command, ReadNonEmpty(*f, "a command"));
  }
  if (const Field* f = fields.Get("command_timeout")) {
    ROTOR_ASSIGN_OR_RETURN(g.command_timeout, ReadDuration(*f));
    if (g.command_timeout <= Duration::Zero()) return ErrorAt(f->value, "command_timeout must be positive");
  }

  if (const Field* f = fields.Get("identities")) {
    if (!f->value.IsSequence()) {
      return ErrorAt(f->value.IsNull() ? f->key : f->value,
                     "identities: expected a list of identity ids, got " + std::string(NodeKind(f->value)));
    }
    if (total_ids_ + static_cast<int64_t>(f->value.size()) > kMaxFleetIdentities) {
      return ErrorAt(f->value, "the fleet declares more than " + std::to_string(kMaxFleetIdentities) + " identities");
    }
    for (const auto& item : f->value) {
      if (!item.IsScalar()) {
        return ErrorAt(item, "identities: expected an identity id, got " + std::string(NodeKind(item)));
      }
      const std::string& id = item.Scalar();
      if (id == kCaIdentityId) return ErrorAt(item, "identity id " + Quote(id) + " is reserved for rotor's managed CA");
      if (!ValidIdentityId(id)) {
        return ErrorAt(item, "invalid identity id " + Quote(id) +
                                 ": ids become directory names, so use 1 to 200 of A-Z a-z 0-9 . _ -, "
                                 "not starting with . or -");
      }
      g.identities.push_back(id);
      origin.listed.push_back(item.Mark());
    }
    total_ids_ += static_cast<int64_t>(g.identities.size());
  }

  const Field* count = fields.Get("count");
  const Field* pattern = fields.Get("id_pattern");
  if (pattern && !count) {
    return ErrorAt(pattern->key, "id_pattern needs a count " + context + " (how many ids to generate)");
  }
  if (count) {
    ROTOR_ASSIGN_OR_RETURN(int64_t n, ReadInteger(*count, 1, kMaxFleetIdentities));
    origin.pattern = g.name + "-{n}";
    YAML::Mark pattern_mark = count->value.Mark();
    if (pattern) {
      ROTOR_ASSIGN_OR_RETURN(origin.pattern, ReadNonEmpty(*pattern, "a pattern such as \"ci-job-{n:04}\""));
      pattern_mark = pattern->value.Mark();
    }
    StatusOr<IdPattern> compiled = CompileIdPattern(origin.pattern);
    if (!compiled.ok()) return ErrorAt(pattern_mark, compiled.status().message());
    // Digits are valid id characters and a longer n never makes a shorter id,
    // so the first and the last id stand for all of them.
    for (int64_t probe : {int64_t{0}, n - 1}) {
      std::string id = compiled->Render(probe);
      if (!ValidIdentityId(id)) {
        return ErrorAt(pattern_mark, "id_pattern " + Quote(origin.pattern) + " makes the invalid id " + Quote(id) +
                                         ": ids use 1 to 200 of A-Z a-z 0-9 . _ -, "
                                         "not starting with . or -");
      }
    }
    if (total_ids_ + n > kMaxFleetIdentities) {
      return ErrorAt(count->value,
                     "the fleet declares more than " + std::to_string(kMaxFleetIdentities) + " identities");
    }
    total_ids_ += n;
    g.identities.reserve(g.identities.size() + static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) g.identities.push_back(compiled->Render(i));
    origin.generated = count->value.Mark();
  }
  if (g.identities.empty()) {
    return ErrorAt(node, label +
                             " declares no identities: give count (and optionally id_pattern), "
                             "a list of identities, or both");
  }
  fleet->groups.push_back(std::move(g));
  origins_.push_back(std::move(origin));
  return Status::Ok();
}

StatusOr<std::vector<std::string>> FleetParser::ReadStringList(const Field& f, const std::string& expected) const {
  std::vector<std::string> out;
  if (f.value.IsScalar()) {
    ROTOR_ASSIGN_OR_RETURN(std::string one, ReadNonEmpty(f, expected));
    out.push_back(std::move(one));
    return out;
  }
  if (!f.value.IsSequence()) {
    return ErrorAt(f.value.IsNull() ? f.key : f.value,
                   f.name + ": expected a list of " + expected + ", got " + NodeKind(f.value));
  }
  for (const auto& item : f.value) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return ErrorAt(
          item, f.name + ": expected " + expected + ", got " + (item.IsScalar() ? "an empty string" : NodeKind(item)));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

Status FleetParser::ReadCertificate(const Field& f, const std::string& group, CertificateProfile* profile) const {
  const std::string context = "in certificate of group " + Quote(group);
  ROTOR_ASSIGN_OR_RETURN(
      Fields fields, ReadFields(f.value, context,
                                {"key_type", "subject", "dns", "uris", "ips", "key_usage", "ext_key_usage", "skew"}));
  CertificateProfile p;
  if (const Field* k = fields.Get("key_type")) {
    ROTOR_ASSIGN_OR_RETURN(std::string text, ReadScalar(*k, "a key type (ed25519, p256, rsa2048, rsa3072)"));
    auto parsed = ParseKeyType(text);
    if (!parsed.ok()) return ErrorAt(k->value, "key_type: " + parsed.status().message());
    p.key_type = *parsed;
  }
  if (const Field* s = fields.Get("subject")) {
    if (!s->value.IsMap()) {
      return ErrorAt(
          s->value.IsNull() ? s->key : s->value,
          "subject: expected a mapping such as {CN: \"{id}.svc\", O: Example}, got " + std::string(NodeKind(s->value)));
    }
    for (const auto& entry : s->value) {
      if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
        return ErrorAt(entry.first, "subject: expected attribute: value pairs");
      }
      p.subject.push_back({entry.first.Scalar(), entry.second.Scalar()});
    }
  }
  if (const Field* d = fields.Get("dns")) {
    ROTOR_ASSIGN_OR_RETURN(p.dns, ReadStringList(*d, "DNS names"));
  }
  if (const Field* u = fields.Get("uris")) {
    ROTOR_ASSIGN_OR_RETURN(p.uris, ReadStringList(*u, "URIs"));
  }
  if (const Field* i = fields.Get("ips")) {
    ROTOR_ASSIGN_OR_RETURN(p.ips, ReadStringList(*i, "IP addresses"));
  }
  if (const Field* k = fields.Get("key_usage")) {
    ROTOR_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadStringList(*k, "key usages"));
    for (const auto& n : names) {
      auto bit = ParseKeyUsage(n);
      if (!bit.ok()) return ErrorAt(k->value, "key_usage: " + bit.status().message());
      p.key_usage |= *bit;
    }
  }
  if (const Field* k = fields.Get("ext_key_usage")) {
    ROTOR_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadStringList(*k, "extended key usages"));
    for (const auto& n : names) {
      auto eku = ParseExtKeyUsage(n);
      if (!eku.ok()) return ErrorAt(k->value, "ext_key_usage: " + eku.status().message());
      p.ext_key_usage.push_back(*eku);
    }
  }
  if (const Field* k = fields.Get("skew")) {
    ROTOR_ASSIGN_OR_RETURN(p.skew, ReadDuration(*k));
  }
  if (Status valid = ValidateProfile(p); !valid.ok()) return ErrorAt(f.value, context + ": " + valid.message());
  *profile = std::move(p);
  return Status::Ok();
}

Status FleetParser::ReadCa(const Field& f, CaSpec* ca) const {
  const std::string context = "in ca";
  ROTOR_ASSIGN_OR_RETURN(Fields fields, ReadFields(f.value, context,
                                                   {"key_type", "organization", "root_common_name", "root_lifetime",
                                                    "intermediate_policy", "skew", "import", "kek_file"}));
  CaSpec c;
  if (const Field* k = fields.Get("key_type")) {
    ROTOR_ASSIGN_OR_RETURN(std::string text, ReadScalar(*k, "a key type (ed25519, p256, rsa2048, rsa3072)"));
    auto parsed = ParseKeyType(text);
    if (!parsed.ok()) return ErrorAt(k->value, "key_type: " + parsed.status().message());
    c.key_type = *parsed;
  }
  if (const Field* k = fields.Get("organization")) {
    ROTOR_ASSIGN_OR_RETURN(c.organization, ReadNonEmpty(*k, "an organization name"));
  }
  if (const Field* k = fields.Get("root_common_name")) {
    ROTOR_ASSIGN_OR_RETURN(c.root_common_name, ReadNonEmpty(*k, "a common name"));
  }
  if (const Field* k = fields.Get("root_lifetime")) {
    ROTOR_ASSIGN_OR_RETURN(c.root_lifetime, ReadDuration(*k));
    if (c.root_lifetime <= Duration::Zero()) return ErrorAt(k->value, "root_lifetime must be positive");
  }
  if (const Field* k = fields.Get("skew")) {
    ROTOR_ASSIGN_OR_RETURN(c.skew, ReadDuration(*k));
  }
  if (const Field* k = fields.Get("intermediate_policy")) {
    if (k->value.IsScalar()) {
      auto it = policies_.find(k->value.Scalar());
      if (it == policies_.end())
        return ErrorAt(k->value, "intermediate_policy: unknown policy " + Quote(k->value.Scalar()));
      c.intermediate_policy = it->second.policy;
    } else {
      ROTOR_ASSIGN_OR_RETURN(c.intermediate_policy, ReadPolicy(k->value, kCaGroupName, k->value.Mark()));
    }
    if (c.intermediate_policy.lifetime >= c.root_lifetime) {
      return ErrorAt(k->value, "intermediate_policy: the intermediate's lifetime must be shorter than root_lifetime");
    }
  }
  if (const Field* k = fields.Get("import")) {
    ROTOR_ASSIGN_OR_RETURN(Fields imp, ReadFields(k->value, "in ca.import", {"cert", "key"}));
    const Field* cert = imp.Get("cert");
    const Field* key = imp.Get("key");
    if (!cert || !key) return ErrorAt(k->value, "ca.import needs both cert and key (PEM files of the root to adopt)");
    ROTOR_ASSIGN_OR_RETURN(c.import_cert, ReadNonEmpty(*cert, "a path to a PEM certificate"));
    ROTOR_ASSIGN_OR_RETURN(c.import_key, ReadNonEmpty(*key, "a path to a PEM private key"));
  }
  if (const Field* k = fields.Get("kek_file")) {
    ROTOR_ASSIGN_OR_RETURN(c.kek_file, ReadNonEmpty(*k, "a path to the key-encryption key file"));
  }
  *ca = std::move(c);
  return Status::Ok();
}

YAML::Mark FleetParser::IdMark(size_t group, size_t index) const {
  const GroupOrigin& o = origins_[group];
  return index < o.listed.size() ? o.listed[index] : o.generated;
}

std::string FleetParser::DescribeId(const FleetSpec& fleet, size_t group, size_t index) const {
  const GroupOrigin& o = origins_[group];
  std::string out = "group " + Quote(fleet.groups[group].name);
  if (index >= o.listed.size()) {
    out += " (id_pattern " + Quote(o.pattern) + ", n=" + std::to_string(index - o.listed.size()) + ")";
  }
  return out + " at " + Where(IdMark(group, index));
}

// CheckUniqueIds finds the first id declared twice, in file order. The table
// holds references (group, index), not copies: 8 bytes a slot keeps a fleet
// of ten million ids cheap to check.
Status FleetParser::CheckUniqueIds(const FleetSpec& fleet) const {
  size_t capacity = 16;
  const size_t total = static_cast<size_t>(total_ids_);
  while (capacity < total + total / 2) capacity <<= 1;  // load factor at most 2/3
  std::vector<uint64_t> slots(capacity, 0);             // 0: empty; else (group + 1) << 32 | index
  auto id_at = [&](uint64_t ref) -> const std::string& {
    return fleet.groups[(ref >> 32) - 1].identities[ref & 0xffffffffu];
  };
  std::hash<std::string_view> hash;
  for (size_t g = 0; g < fleet.groups.size(); ++g) {
    const auto& ids = fleet.groups[g].identities;
    for (size_t i = 0; i < ids.size(); ++i) {
      size_t slot = hash(ids[i]) & (capacity - 1);
      while (slots[slot] != 0) {
        uint64_t other = slots[slot];
        if (id_at(other) == ids[i]) {
          size_t og = (other >> 32) - 1;
          size_t oi = other & 0xffffffffu;
          return ErrorAt(IdMark(g, i), "duplicate identity id " + Quote(ids[i]) + ": declared in " +
                                           DescribeId(fleet, og, oi) + " and again in " + DescribeId(fleet, g, i));
        }
        slot = (slot + 1) & (capacity - 1);
      }
      slots[slot] = ((uint64_t{g} + 1) << 32) | uint64_t{i};
    }
  }
  return Status::Ok();
}

StatusOr<FleetSpec> FleetParser::Parse(const YAML::Node& root) {
  if (root.IsNull()) return ErrorAt(YAML::Mark(), "the fleet file is empty: it needs version: 1 and groups");
  ROTOR_ASSIGN_OR_RETURN(Fields top, ReadFields(root, "at the top level", {"version", "policies", "groups", "ca"}));
  const Field* version = top.Get("version");
  if (!version) return ErrorAt(root, "missing \"version: 1\" at the top level");
  if (!version->value.IsScalar() || version->value.Scalar() != "1") {
    return ErrorAt(version->value.IsNull() ? version->key : version->value,
                   "unsupported fleet file version " +
                       (version->value.IsScalar() ? Quote(version->value.Scalar()) : NodeKind(version->value)) +
                       ": this rotor reads version 1");
  }
  if (const Field* p = top.Get("policies")) ROTOR_RETURN_IF_ERROR(ReadPolicies(*p));
  const Field* groups = top.Get("groups");
  if (!groups) return ErrorAt(root, "missing \"groups\": the fleet declares no identities");
  if (groups->value.IsNull() || (groups->value.IsSequence() && groups->value.size() == 0)) {
    return ErrorAt(groups->key, "groups is empty: the fleet declares no identities");
  }
  if (!groups->value.IsSequence()) {
    return ErrorAt(groups->value, "groups: expected a list of groups, got " + std::string(NodeKind(groups->value)));
  }
  FleetSpec fleet;
  fleet.groups.reserve(groups->value.size());
  size_t index = 0;
  for (const auto& node : groups->value) ROTOR_RETURN_IF_ERROR(ReadGroup(node, index++, &fleet));
  ROTOR_RETURN_IF_ERROR(CheckUniqueIds(fleet));
  if (const Field* f = top.Get("ca")) {
    ROTOR_RETURN_IF_ERROR(ReadCa(*f, &fleet.ca));
    fleet.ca_declared = true;
  }
  for (size_t g = 0; g < fleet.groups.size(); ++g) {
    const auto& ids = fleet.groups[g].identities;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == kCaIdentityId) {
        return ErrorAt(IdMark(g, i), "identity id " + Quote(ids[i]) + " is reserved for rotor's managed CA");
      }
    }
  }
  AddManagedCaGroup(&fleet);
  return fleet;
}

// yaml-cpp 0.7 accepts a quoted scalar that is never closed when a newline
// follows it at the end of the input (`hook: "echo hi` as the last line).
// FindUnterminatedQuote looks for such a scalar: one whose text at its mark
// opens a quote that the rest of the input never closes. Aliases can make the
// tree a graph (even a cycle), so each container is visited once, by mark.
bool FindUnterminatedQuote(const YAML::Node& node, std::string_view text, int depth, std::set<int>* seen,
                           YAML::Node* found) {
  if (!node.IsDefined() || depth > 64) return false;
  const int pos = node.Mark().pos;
  if (node.IsScalar()) {
    if (node.Tag() != "!" || pos < 0 || static_cast<size_t>(pos) >= text.size()) return false;
    const char quote = text[static_cast<size_t>(pos)];
    if (quote != '"' && quote != '\'') return false;
    for (size_t i = static_cast<size_t>(pos) + 1; i < text.size(); ++i) {
      if (quote == '"' && text[i] == '\\') {
        ++i;
      } else if (text[i] == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;  // '' is an escaped quote inside single quotes
        } else {
          return false;
        }
      }
    }
    *found = node;
    return true;
  }
  if (!node.IsSequence() && !node.IsMap()) return false;
  if (!seen->insert(pos).second) return false;
  for (const auto& item : node) {
    if (node.IsMap()) {
      if (FindUnterminatedQuote(item.first, text, depth + 1, seen, found) ||
          FindUnterminatedQuote(item.second, text, depth + 1, seen, found)) {
        return true;
      }
    } else if (FindUnterminatedQuote(item, text, depth + 1, seen, found)) {
      return true;
    }
  }
  return false;
}

// DocumentMarks notes where each document of a YAML stream starts and where
// its first content is, without building it. ParseFleet walks at most two
// documents with it instead of YAML::LoadAll: yaml-cpp 0.7's LoadAll never
// returns on some malformed streams (a lone ',' yields endless empty
// documents without consuming input) and exhausts memory. Found by
// tests/fuzz/fleet_loader_fuzz.cc; regression input in
// tests/fuzz/regressions/fleet_loader/.
class DocumentMarks final : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start;
    std::optional<YAML::Mark> content;
  };
  std::vector<Document> documents;
  YAML::Mark last;  // the furthest event seen

  // YAML::EventHandler:
  void OnDocumentStart(const YAML::Mark& mark) override {
    documents.push_back({mark, std::nullopt});
    Seen(mark);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    Content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnMapEnd() override {}

 private:
  void Seen(const YAML::Mark& mark) {
    if (mark.pos > last.pos) last = mark;
  }
  void Content(const YAML::Mark& mark) {
    Seen(mark);
    if (!documents.empty() && !documents.back().content) documents.back().content = mark;
  }
};

}  // namespace

StatusOr<FleetSpec> ParseFleet(std::string_view yaml_text, const std::string& source_name, Instant now) {
  FleetParser parser(source_name, now);
  try {
    std::istringstream stream{std::string(yaml_text)};
    YAML::Parser events(stream);
    DocumentMarks marks;
    size_t handled = 0;
    while (handled < 2 && events.HandleNextDocument(marks)) ++handled;
    if (handled == 0) return parser.Parse(YAML::Node());
    if (handled == 2) {
      const auto& docs = marks.documents;
      if (docs.size() < 2 || docs[1].start.pos <= docs[0].start.pos) {
        // A "document" that consumed nothing: input yaml-cpp cannot read.
        return parser.ErrorAt(marks.last, "YAML syntax error: unexpected character after this point");
      }
      return parser.ErrorAt(docs[1].content.value_or(docs[1].start),
                            "a fleet file holds one YAML document; this is a second one");
    }
    std::vector<YAML::Node> docs{YAML::Load(std::string(yaml_text))};
    YAML::Node open_quote;
    std::set<int> seen;
    if (FindUnterminatedQuote(docs[0], yaml_text, 0, &seen, &open_quote)) {
      return parser.ErrorAt(open_quote, "YAML syntax error: quoted string never closed");
    }
    return parser.Parse(docs[0]);
  } catch (const YAML::ParserException& e) {
    std::string why = "YAML syntax error: " + e.msg;
    // yaml-cpp says "illegal map value" and the like for a tab; say the cause.
    if (const size_t line = TabIndentedLine(yaml_text); line > 0 && static_cast<int>(line) <= e.mark.line + 1) {
      why += " (line " + std::to_string(line) + " is indented with a tab; YAML indents with spaces only)";
    }
    return parser.ErrorAt(e.mark, why);
  } catch (const YAML::Exception& e) {
    return parser.ErrorAt(e.mark, "cannot read YAML: " + e.msg);
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kResourceExhausted, source_name + ": out of memory while loading the fleet");
  } catch (const std::exception& e) {
    return InvalidArgument(source_name + ": cannot load the fleet: " + e.what());
  } catch (...) {
    return InvalidArgument(source_name + ": cannot load the fleet: unknown error");
  }
}

StatusOr<FleetSpec> LoadFleetFile(const std::string& path, Instant now) {
  auto fail = [&](const std::string& why) { return InvalidArgument(path + ": cannot read fleet file: " + why); };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  std::string text;
  Status read_status;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    read_status = fail(std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    read_status = fail(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    read_status = fail("larger than 256 MiB");
  } else {
    text.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_status = fail(std::strerror(errno));
        break;
      }
      if (n == 0) break;  // the file shrank under us; parse what is there
      done += static_cast<size_t>(n);
    }
    text.resize(done);
  }
  ::close(fd);
  ROTOR_RETURN_IF_ERROR(read_status);
  return ParseFleet(text, path, now);
}

std::optional<std::string> Closest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return std::nullopt;
  size_t best = 3;  // at most two edits away
  const std::string* pick = nullptr;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best && d < std::max<size_t>(c.size(), 2)) {
      best = d;
      pick = &c;
    }
  }
  return pick ? std::optional<std::string>(*pick) : std::nullopt;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const auto pick = Closest(word, candidates);
  return pick ? " (did you mean " + Quote(*pick) + "?)" : "";
}

std::string UnknownPolicyMessage(const FleetSpec& fleet, const std::string& config, const std::string& name) {
  std::vector<std::string> used;
  for (const GroupSpec& g : fleet.groups) {
    if (std::find(used.begin(), used.end(), g.policy.name) == used.end()) used.push_back(g.policy.name);
  }
  return "--policy: no group of " + config + " uses a policy named " + Quote(name) + DidYouMean(name, used) +
         "; policies used: " + (used.empty() ? std::string("none") : JoinQuoted(used));
}

}  // namespace rotor
