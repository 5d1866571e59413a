#include "engine/resting_record.h"

#include <cstdint>
#include <optional>

namespace rotor {
namespace {

constexpr std::string_view kSha256Prefix = "sha256:";

// Text tags: how a fingerprint, chain hash or error message is packed.
enum TextTag : uint8_t { kRaw = 0, kPrefixedDigest = 1, kBareDigest = 2 };

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

int HexValue(char c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

// Flag bits of the header byte.
enum Flags : uint8_t { kHasCurrent = 1, kHasPending = 2, kEmergency = 4 };

class Packer {
 public:
  // `expected`: room reserved up front, so packing grows the string once
  // (then Take trims it) instead of doubling it four times.
  explicit Packer(size_t expected) { out_.reserve(expected); }
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Bytes(std::string_view s) { out_.append(s); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  // Instants as zigzag deltas from the base, in wrapping arithmetic so that
  // any pair of values round-trips.
  void At(Instant t, Instant base) {
    const int64_t d = static_cast<int64_t>(static_cast<uint64_t>(t.micros) - static_cast<uint64_t>(base.micros));
    Varint((static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63));
  }
  void Text(std::string_view s) {
    std::string_view digest;
    uint8_t tag = kRaw;
    if (s.size() == kSha256Prefix.size() + 64 && s.substr(0, kSha256Prefix.size()) == kSha256Prefix &&
        IsLowerHex(s.substr(kSha256Prefix.size()))) {
      tag = kPrefixedDigest;
      digest = s.substr(kSha256Prefix.size());
    } else if (s.size() == 64 && IsLowerHex(s)) {
      tag = kBareDigest;
      digest = s;
    }
    U8(tag);
    if (tag == kRaw) {
      Varint(s.size());
      out_.append(s);
      return;
    }
    for (size_t i = 0; i < 64; i += 2) U8(static_cast<uint8_t>(HexValue(digest[i]) << 4 | HexValue(digest[i + 1])));
  }
  void Version(const CredentialVersion& v, Instant base) {
    Varint(v.generation);
    At(v.issued_at, base);
    At(v.not_after, base);
    Text(v.fingerprint);
  }
  std::string Take() {
    out_.shrink_to_fit();
    return std::move(out_);
  }

 private:
  std::string out_;
};

class Unpacker {
 public:
  explicit Unpacker(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }

  uint8_t U8() {
    if (pos_ >= in_.size()) return Fail(), 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = U8();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail(), 0;
  }
  Instant At(Instant base) {
    const uint64_t z = Varint();
    const uint64_t d = (z >> 1) ^ (~(z & 1) + 1);
    return Instant{static_cast<int64_t>(static_cast<uint64_t>(base.micros) + d)};
  }
  std::string Text() {
    const uint8_t tag = U8();
    if (!ok_) return {};
    if (tag == kRaw) {
      const uint64_t n = Varint();
      if (!ok_ || n > in_.size() - pos_) return Fail(), std::string();
      std::string s(in_.substr(pos_, n));
      pos_ += n;
      return s;
    }
    if (tag != kPrefixedDigest && tag != kBareDigest) return Fail(), std::string();
    if (in_.size() - pos_ < 32) return Fail(), std::string();
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s = tag == kPrefixedDigest ? std::string(kSha256Prefix) : std::string();
    s.reserve(s.size() + 64);
    for (size_t i = 0; i < 32; ++i) {
      const auto b = static_cast<uint8_t>(in_[pos_ + i]);
      s.push_back(kHex[b >> 4]);
      s.push_back(kHex[b & 0xF]);
    }
    pos_ += 32;
    return s;
  }
  CredentialVersion Version(Instant base) {
    CredentialVersion v;
    v.generation = Varint();
    v.issued_at = At(base);
    v.not_after = At(base);
    v.fingerprint = Text();
    return v;
  }
  uint32_t U32() {
    const uint64_t v = Varint();
    if (v > UINT32_MAX) Fail();
    return static_cast<uint32_t>(v);
  }

 private:
  void Fail() { ok_ = false; }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string PackResting(const RotationRecord& r) {
  Packer p(96 + r.group.size() + r.last_error.size() + 48 * (r.retiring.size() + 2));
  const Instant base = r.next_due;
  p.Varint(r.group.size());
  p.Bytes(r.group);
  p.U8(static_cast<uint8_t>(r.kind));
  p.U8(static_cast<uint8_t>(r.phase));
  p.U8(static_cast<uint8_t>(r.reason));
  p.U8(static_cast<uint8_t>((r.current ? kHasCurrent : 0) | (r.pending ? kHasPending : 0) |
                            (r.emergency ? kEmergency : 0)));
  p.At(base, Instant{0});
  if (r.current) p.Version(*r.current, base);
  if (r.pending) p.Version(*r.pending, base);
  p.Varint(r.retiring.size());
  for (const auto& rv : r.retiring) {
    p.Version(rv.version, base);
    p.At(rv.retire_at, base);
    p.U8(rv.compromised ? 1 : 0);
  }
  p.Varint(r.next_generation);
  p.Varint(r.stage_attempts);
  p.Varint(r.consecutive_failures);
  p.Text(r.last_error);
  p.At(r.window_start, base);
  p.Varint(r.issuances_in_window);
  p.At(r.last_emergency_at, base);
  p.Varint(r.chain_seq);
  p.Text(r.chain_hash);
  return p.Take();
}

StatusOr<RotationRecord> UnpackResting(std::string_view id, std::string_view packed) {
  Unpacker u(packed);
  RotationRecord r;
  r.id = std::string(id);
  const uint64_t group_size = u.Varint();
  if (!u.ok() || group_size > packed.size()) return InvalidArgument("resting record: group length out of range");
  r.group.reserve(group_size);
  for (uint64_t i = 0; i < group_size && u.ok(); ++i) r.group.push_back(static_cast<char>(u.U8()));
  const uint8_t kind = u.U8();
  const uint8_t phase = u.U8();
  const uint8_t reason = u.U8();
  const uint8_t flags = u.U8();
  if (kind < 1 || kind > static_cast<uint8_t>(CredentialKind::kCaIntermediate) ||
      phase > static_cast<uint8_t>(Phase::kRetired) || reason > static_cast<uint8_t>(RotationReason::kEmergency)) {
    return InvalidArgument("resting record: kind, phase or reason out of range");
  }
  r.kind = static_cast<CredentialKind>(kind);
  r.phase = static_cast<Phase>(phase);
  r.reason = static_cast<RotationReason>(reason);
  r.emergency = (flags & kEmergency) != 0;
  r.next_due = u.At(Instant{0});
  const Instant base = r.next_due;
  if (flags & kHasCurrent) r.current = u.Version(base);
  if (flags & kHasPending) r.pending = u.Version(base);
  const uint64_t n = u.Varint();
  if (!u.ok() || n > packed.size()) return InvalidArgument("resting record: retiring count out of range");
  for (uint64_t i = 0; i < n && u.ok(); ++i) {
    RetiringVersion rv;
    rv.version = u.Version(base);
    rv.retire_at = u.At(base);
    rv.compromised = u.U8() != 0;
    r.retiring.push_back(std::move(rv));
  }
  r.next_generation = u.Varint();
  r.stage_attempts = u.U32();
  r.consecutive_failures = u.U32();
  r.last_error = u.Text();
  r.window_start = u.At(base);
  r.issuances_in_window = u.U32();
  r.last_emergency_at = u.At(base);
  r.chain_seq = u.Varint();
  r.chain_hash = u.Text();
  if (!u.ok()) return InvalidArgument("resting record: truncated or malformed");
  if (!u.done()) return InvalidArgument("resting record: trailing bytes");
  return r;
}

}  // namespace rotor
