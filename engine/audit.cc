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
  const uint64_t seq = record->chain_seq + 1;
  const std::string& prevhash = record->chain_hash.empty() ? kGenesisHash : record->chain_hash;
  const std::string sequence = FormatSequence(seq);

  // The canonical form written member by member, in its (byte) order of keys:
  // data, datacontenttype, [hash], id, prevhash, sequence, source,
  // specversion, subject, time, type. EventHash's input is prevhash followed
  // by the event without "hash"; the line is the same bytes with the hash
  // member spliced in before "id". Equal to CanonicalJson of the JsonValue
  // (tests/unit/audit_test.cc checks both against each other and against
  // ChainVerifier).
  std::string line;
  line.reserve(512);
  line.append(prevhash);
  const size_t start = line.size();
  line.append("{\"data\":{");
  bool first = true;
  for (const auto& [key, value] : fact.data) {  // std::map: byte order, as canonical JSON
    if (!first) line.push_back(',');
    first = false;
    AppendJsonString(key, &line);
    line.push_back(':');
    if (const auto* str = std::get_if<std::string>(&value)) {
      AppendJsonString(*str, &line);
    } else {
      line.append(std::to_string(std::get<int64_t>(value)));
    }
  }
  line.append("},\"datacontenttype\":\"application/json\",");
  const size_t splice = line.size();
  line.append("\"id\":");
  AppendJsonString(record->id + "/" + sequence, &line);
  line.append(",\"prevhash\":");
  AppendJsonString(prevhash, &line);
  line.append(",\"sequence\":");
  AppendJsonString(sequence, &line);
  line.append(",\"source\":");
  AppendJsonString(source, &line);
  line.append(",\"specversion\":\"1.0\",\"subject\":");
  AppendJsonString(record->id, &line);
  line.append(",\"time\":");
  AppendJsonString(FormatRfc3339(now), &line);
  line.append(",\"type\":");
  AppendJsonString(std::string(kEventTypePrefix) + fact.type, &line);
  line.push_back('}');
  std::string hash = HexSha256(hasher, line);

  std::string out;
  out.reserve(line.size() - start + hash.size() + 10);
  out.append(line, start, splice - start);
  out.append("\"hash\":\"").append(hash).append("\",");
  out.append(line, splice, std::string::npos);
  record->chain_seq = seq;
  record->chain_hash = std::move(hash);
  return out;
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
