#include "engine/audit_stream.h"

#include <algorithm>
#include <optional>

#include "engine/decimal.h"
#include "engine/json.h"

namespace rotor {

void AuditStreamVerifier::Problem(std::string_view where, const std::string& what) {
  if (report_.problems.size() < kMaxProblems) report_.problems.push_back(std::string(where) + ": " + what);
}

void AuditStreamVerifier::Feed(std::string_view line, std::string_view where) {
  ++report_.records;
  auto parsed = ParseJson(line);
  if (!parsed.ok() || !parsed->is_object()) {
    ++report_.breaks;
    Problem(where, "not a JSON object");
    return;
  }
  auto str = [&](const char* key) -> std::optional<std::string> {
    const JsonValue* v = parsed->Find(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return v->as_string();
  };
  const auto id = str("id"), subject = str("subject"), sequence = str("sequence"), hash = str("hash"),
             prevhash = str("prevhash");
  const std::optional<uint64_t> seq = sequence ? ParseDecimal(*sequence) : std::nullopt;
  if (!id || !subject || !hash || !prevhash || !seq || *seq == 0) {
    ++report_.breaks;
    Problem(where, "missing or malformed id, subject, sequence, prevhash or hash");
    return;
  }
  // A resend is the same bytes; the same id with other bytes is an alteration
  // (the digest is over the whole line: an edit that kept "hash" shows too).
  const std::array<uint8_t, 32> digest = hasher_.Sha256(line);
  if (auto it = seen_.find(*id); it != seen_.end()) {
    if (it->second == digest) {
      ++report_.duplicates;
    } else {
      ++report_.breaks;
      Problem(where, "event " + *id + " seen before with other content: one of them was altered");
    }
    return;
  }
  seen_.emplace(*id, digest);
  ++report_.events;
  Identity& identity = identities_[*subject];
  ++identity.distinct;
  auto head_it = chain_.heads().find(*subject);
  const uint64_t head = head_it == chain_.heads().end() ? 0 : head_it->second.seq;
  identity.last = std::max(identity.last, *seq);
  if (*seq <= head) {
    ++report_.breaks;
    Problem(where, "identity " + *subject + ": sequence " + std::to_string(*seq) + " arrives after " +
                       std::to_string(head) + " (reordered)");
    return;
  }
  if (*seq > head + 1) {
    Problem(where, "identity " + *subject + ": sequence jumps from " + std::to_string(head) + " to " +
                       std::to_string(*seq) + " (events missing)");
    chain_.ResumeAt(*subject, *seq - 1, *prevhash);
  }
  Status fed = chain_.Feed(line);
  if (!fed.ok()) {
    ++report_.breaks;
    Problem(where, fed.message());
    chain_.ResumeAt(*subject, *seq, *hash);
  }
}

StreamVerifyReport AuditStreamVerifier::Report() const {
  StreamVerifyReport report = report_;
  report.identities = identities_.size();
  report.gaps = 0;
  for (const auto& [subject, identity] : identities_) report.gaps += identity.last - identity.distinct;
  return report;
}

}  // namespace rotor
