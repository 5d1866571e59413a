#include "engine/model.h"

#include <cstring>

namespace rotor {

const char* CredentialKindName(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kApiKey: return "api_key";
    case CredentialKind::kX509: return "x509";
    case CredentialKind::kCaIntermediate: return "ca_intermediate";
  }
  return "unknown";
}

StatusOr<CredentialKind> ParseCredentialKind(std::string_view name) {
  if (name == "api_key") return CredentialKind::kApiKey;
  if (name == "x509") return CredentialKind::kX509;
  // ca_intermediate is rotor's own: declared by the managed CA, never in a fleet file.
  return InvalidArgument("unknown credential kind \"" + std::string(name) + "\" (supported: api_key, x509)");
}

namespace {
constexpr Phase kAllPhases[] = {Phase::kNew,         Phase::kActive,     Phase::kIssuing,     Phase::kDelivering,
                                Phase::kVerifying,   Phase::kCommitting, Phase::kRollingBack, Phase::kBackoff,
                                Phase::kQuarantined, Phase::kRetiring,   Phase::kRetired};
}

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kNew: return "new";
    case Phase::kActive: return "active";
    case Phase::kIssuing: return "issuing";
    case Phase::kDelivering: return "delivering";
    case Phase::kVerifying: return "verifying";
    case Phase::kCommitting: return "committing";
    case Phase::kRollingBack: return "rolling_back";
    case Phase::kBackoff: return "backoff";
    case Phase::kQuarantined: return "quarantined";
    case Phase::kRetiring: return "retiring";
    case Phase::kRetired: return "retired";
  }
  return "unknown";
}

StatusOr<Phase> ParsePhase(std::string_view name) {
  for (Phase p : kAllPhases) {
    if (name == PhaseName(p)) return p;
  }
  return InvalidArgument("unknown phase \"" + std::string(name) + "\"");
}

bool IsResting(Phase phase) {
  return phase == Phase::kNew || phase == Phase::kActive || phase == Phase::kBackoff || phase == Phase::kQuarantined ||
         phase == Phase::kRetired;
}

bool IsRotating(Phase phase) {
  return !IsResting(phase) && phase != Phase::kRetiring;
}

const char* RotationReasonName(RotationReason reason) {
  switch (reason) {
    case RotationReason::kNone: return "none";
    case RotationReason::kInitial: return "initial";
    case RotationReason::kScheduled: return "scheduled";
    case RotationReason::kOverdue: return "overdue";
    case RotationReason::kOperator: return "operator";
    case RotationReason::kEmergency: return "emergency";
  }
  return "unknown";
}

Status CheckInvariants(const RotationRecord& r) {
  auto fail = [&](const std::string& what) {
    return DataLoss("invariant violated for " + r.id + " in phase " + PhaseName(r.phase) + ": " + what);
  };
  const bool needs_pending = r.phase == Phase::kDelivering || r.phase == Phase::kVerifying ||
                             r.phase == Phase::kCommitting || r.phase == Phase::kRollingBack;
  if (needs_pending && !r.pending) return fail("no pending version");
  if (!needs_pending && r.pending) return fail("a pending version outside delivery/verification");
  if (r.phase == Phase::kNew && (r.current || !r.retiring.empty())) return fail("a new identity holds versions");
  if (r.phase == Phase::kRetired && (r.current || !r.retiring.empty()))
    return fail("a retired identity holds versions");
  // Once committed, exactly one current until retirement: phases that can only
  // be reached after the first commit must hold one.
  if ((r.phase == Phase::kActive || r.phase == Phase::kRetiring) && !r.current) return fail("no current version");
  if (!r.current && !r.retiring.empty()) return fail("retiring versions without a current one");
  if (r.current) {
    if (r.current->generation == 0 || r.current->generation >= r.next_generation)
      return fail("current generation out of range");
    if (r.current->not_after <= r.current->issued_at) return fail("current expires before it was issued");
    if (r.current->fingerprint.empty()) return fail("current has no fingerprint");
  }
  if (r.pending) {
    if (r.pending->generation == 0 || r.pending->generation >= r.next_generation)
      return fail("pending generation out of range");
    if (r.current && r.pending->generation == r.current->generation) return fail("pending equals current");
  }
  for (size_t i = 0; i < r.retiring.size(); ++i) {
    const auto& v = r.retiring[i].version;
    if (r.current && v.generation >= r.current->generation) return fail("a retiring version is not older than current");
    if (r.pending && v.generation == r.pending->generation) return fail("pending is also retiring");
    for (size_t j = i + 1; j < r.retiring.size(); ++j) {
      if (r.retiring[j].version.generation == v.generation) return fail("a version retires twice");
    }
  }
  if (r.chain_seq > 0 && r.chain_hash.size() != 64) return fail("chain head hash malformed");
  return Status::Ok();
}

Health HealthAt(const RotationRecord& r, Instant now) {
  if (r.phase == Phase::kRetired || r.phase == Phase::kRetiring) return Health::kRetired;
  if (!r.current) return Health::kPending;
  if (now >= r.current->not_after) return Health::kExpired;
  if (r.phase == Phase::kQuarantined) return Health::kQuarantined;
  return Health::kHealthy;
}

const char* HealthName(Health h) {
  switch (h) {
    case Health::kHealthy: return "healthy";
    case Health::kPending: return "pending";
    case Health::kExpired: return "expired";
    case Health::kQuarantined: return "quarantined";
    case Health::kRetired: return "retired";
  }
  return "unknown";
}

// ---- Binary codec -------------------------------------------------------
// Format 1: a version byte, then fields in declaration order. Integers are
// little-endian fixed width; strings are u32 length + bytes; optionals a u8 flag.

namespace {

constexpr uint8_t kRecordFormat = 1;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Fixed(v, 4); }
  void U64(uint64_t v) { Fixed(v, 8); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v), 8); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Version(const CredentialVersion& v) {
    U64(v.generation);
    I64(v.issued_at.micros);
    I64(v.not_after.micros);
    Str(v.fingerprint);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Fixed(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  uint8_t U8() { return static_cast<uint8_t>(Fixed(1)); }
  uint32_t U32() { return static_cast<uint32_t>(Fixed(4)); }
  uint64_t U64() { return Fixed(8); }
  int64_t I64() { return static_cast<int64_t>(Fixed(8)); }
  std::string Str() {
    uint32_t n = U32();
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  CredentialVersion Version() {
    CredentialVersion v;
    v.generation = U64();
    v.issued_at.micros = I64();
    v.not_after.micros = I64();
    v.fingerprint = Str();
    return v;
  }

 private:
  uint64_t Fixed(int n) {
    if (!ok_ || in_.size() - pos_ < static_cast<size_t>(n)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string EncodeRecord(const RotationRecord& r) {
  Writer w;
  w.U8(kRecordFormat);
  w.Str(r.id);
  w.Str(r.group);
  w.U8(static_cast<uint8_t>(r.kind));
  w.U8(static_cast<uint8_t>(r.phase));
  w.U8(r.current ? 1 : 0);
  if (r.current) w.Version(*r.current);
  w.U8(r.pending ? 1 : 0);
  if (r.pending) w.Version(*r.pending);
  w.U32(static_cast<uint32_t>(r.retiring.size()));
  for (const auto& rv : r.retiring) {
    w.Version(rv.version);
    w.I64(rv.retire_at.micros);
    w.U8(rv.compromised ? 1 : 0);
  }
  w.U64(r.next_generation);
  w.I64(r.next_due.micros);
  w.U8(static_cast<uint8_t>(r.reason));
  w.U8(r.emergency ? 1 : 0);
  w.U32(r.stage_attempts);
  w.U32(r.consecutive_failures);
  w.Str(r.last_error);
  w.I64(r.window_start.micros);
  w.U32(r.issuances_in_window);
  w.I64(r.last_emergency_at.micros);
  w.U64(r.chain_seq);
  w.Str(r.chain_hash);
  return w.Take();
}

StatusOr<RotationRecord> DecodeRecord(std::string_view bytes) {
  Reader rd(bytes);
  RotationRecord r;
  uint8_t format = rd.U8();
  if (rd.ok() && format != kRecordFormat) {
    return InvalidArgument("record format " + std::to_string(format) + " is not understood (expected 1)");
  }
  r.id = rd.Str();
  r.group = rd.Str();
  uint8_t kind = rd.U8();
  uint8_t phase = rd.U8();
  if (rd.U8()) r.current = rd.Version();
  if (rd.U8()) r.pending = rd.Version();
  uint32_t n = rd.U32();
  if (rd.ok() && n > bytes.size()) return InvalidArgument("record: retiring count out of range");
  for (uint32_t i = 0; rd.ok() && i < n; ++i) {
    RetiringVersion rv;
    rv.version = rd.Version();
    rv.retire_at.micros = rd.I64();
    rv.compromised = rd.U8() != 0;
    r.retiring.push_back(std::move(rv));
  }
  r.next_generation = rd.U64();
  r.next_due.micros = rd.I64();
  uint8_t reason = rd.U8();
  r.emergency = rd.U8() != 0;
  r.stage_attempts = rd.U32();
  r.consecutive_failures = rd.U32();
  r.last_error = rd.Str();
  r.window_start.micros = rd.I64();
  r.issuances_in_window = rd.U32();
  r.last_emergency_at.micros = rd.I64();
  r.chain_seq = rd.U64();
  r.chain_hash = rd.Str();
  if (!rd.ok()) return InvalidArgument("record truncated");
  if (!rd.done()) return InvalidArgument("record has trailing bytes");
  if (kind < static_cast<uint8_t>(CredentialKind::kApiKey) ||
      kind > static_cast<uint8_t>(CredentialKind::kCaIntermediate))
    return InvalidArgument("record: unknown kind " + std::to_string(kind));
  if (phase > static_cast<uint8_t>(Phase::kRetired))
    return InvalidArgument("record: unknown phase " + std::to_string(phase));
  if (reason > static_cast<uint8_t>(RotationReason::kEmergency)) return InvalidArgument("record: unknown reason");
  r.kind = static_cast<CredentialKind>(kind);
  r.phase = static_cast<Phase>(phase);
  r.reason = static_cast<RotationReason>(reason);
  return r;
}

}  // namespace rotor
