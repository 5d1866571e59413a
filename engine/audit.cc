#include "engine/audit.h"

#include <cstdio>

#include "engine/decimal.h"

namespace rotor {

std::string FormatSequence(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

std::string EventHash(const Hasher& hasher, const JsonValue& event) {
  JsonValue copy = event;
  copy.Erase("hash");
  const JsonValue* prev = event.Find("prevhash");
  std::string input = prev && prev->is_string() ? prev->as_string() : std::string();
  AppendCanonicalJson(copy, &input);
  return HexSha256(hasher, input);
}

std::string ChainAuditEvent(const Hasher& hasher, const AuditFact& fact, Instant now, std::string_view source,
                            RotationRecord* record) {
  uint64_t seq = record->chain_seq + 1;
  std::string prevhash = record->chain_hash.empty() ? kGenesisHash : record->chain_hash;

  JsonValue data = JsonValue::Object();
  for (const auto& [key, value] : fact.data) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      data.Set(key, JsonValue::String(*s));
    } else {
      data.Set(key, JsonValue::Int(std::get<int64_t>(value)));
    }
  }
  JsonValue event = JsonValue::Object();
  event.Set("specversion", JsonValue::String("1.0"));
  event.Set("id", JsonValue::String(record->id + "/" + FormatSequence(seq)));
  event.Set("source", JsonValue::String(std::string(source)));
  event.Set("type", JsonValue::String(std::string(kEventTypePrefix) + fact.type));
  event.Set("subject", JsonValue::String(record->id));
  event.Set("time", JsonValue::String(FormatRfc3339(now)));
  event.Set("datacontenttype", JsonValue::String("application/json"));
  event.Set("data", std::move(data));
  event.Set("sequence", JsonValue::String(FormatSequence(seq)));
  event.Set("prevhash", JsonValue::String(prevhash));
  std::string hash = EventHash(hasher, event);
  event.Set("hash", JsonValue::String(hash));

  record->chain_seq = seq;
  record->chain_hash = hash;
  return CanonicalJson(event);
}

Status ChainVerifier::Feed(std::string_view line) {
  auto parsed = ParseJson(line);
  if (!parsed.ok()) return DataLoss("not valid JSON (" + parsed.status().message() + ")");
  const JsonValue& ev = *parsed;
  if (!ev.is_object()) return DataLoss("not a JSON object");
  if (CanonicalJson(ev) != line) return DataLoss("not in canonical form (the line was edited)");
  auto str = [&](const char* key) -> const std::string* {
    const JsonValue* v = ev.Find(key);
    return v && v->is_string() ? &v->as_string() : nullptr;
  };
  for (const char* key : {"specversion", "id", "source", "type", "subject", "time", "sequence", "prevhash", "hash"}) {
    if (!str(key)) return DataLoss(std::string("missing or non-string attribute \"") + key + "\"");
  }
  if (*str("specversion") != "1.0") return DataLoss("specversion is not 1.0");
  const std::string& subject = *str("subject");
  const std::string& seq_text = *str("sequence");
  if (seq_text.size() != 20 || seq_text.find_first_not_of("0123456789") != std::string::npos) {
    return DataLoss("sequence is not 20 decimal digits");
  }
  // Not std::stoull: it throws on 20 digits above 2^64-1, and a tampered
  // line must give an error, not an exception.
  const std::optional<uint64_t> seq_value = ParseDecimal(seq_text);
  if (!seq_value) return DataLoss("sequence " + seq_text + " is out of range");
  const uint64_t seq = *seq_value;
  Head& head = heads_[subject];
  if (seq <= head.seq) {
    return DataLoss("identity " + subject + ": sequence " + std::to_string(seq) + " repeats or goes back (last " +
                    std::to_string(head.seq) + "): duplicated or reordered event");
  }
  if (seq != head.seq + 1) {
    return DataLoss("identity " + subject + ": sequence jumps from " + std::to_string(head.seq) + " to " +
                    std::to_string(seq) + " (events missing)");
  }
  const std::string expected_prev = head.hash.empty() ? kGenesisHash : head.hash;
  if (*str("prevhash") != expected_prev) {
    return DataLoss("identity " + subject + ": prevhash does not match the previous event's hash");
  }
  std::string computed = EventHash(hasher_, ev);
  if (computed != *str("hash")) {
    return DataLoss("identity " + subject + ": hash mismatch at sequence " + std::to_string(seq) +
                    " (the event was altered)");
  }
  head.seq = seq;
  head.hash = computed;
  ++events_;
  return Status::Ok();
}

}  // namespace rotor
