#include "engine/adoption.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <unordered_set>

#include "engine/json.h"

namespace rotor {
namespace {

constexpr const char* kIssuedSubjectTypes[] = {"CN", "O", "OU", "C", "ST", "L", "serialNumber"};

bool IsIssuedSubjectType(const std::string& type) {
  for (const char* t : kIssuedSubjectTypes) {
    if (type == t) return true;
  }
  return false;
}

bool HasIdToken(const std::string& s) {
  return s.find("{id}") != std::string::npos;
}

JsonValue Strings(const std::vector<std::string>& values) {
  JsonValue a = JsonValue::Array();
  for (const auto& v : values) a.Push(JsonValue::String(v));
  return a;
}

std::string FormatFraction(double f) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", f);
  return buf;
}

JsonValue EncodePolicy(const RenewalPolicy& p) {
  JsonValue j = JsonValue::Object();
  j.Set("name", JsonValue::String(p.name));
  j.Set("lifetime_us", JsonValue::Int(p.lifetime.micros));
  j.Set("renew_fraction", JsonValue::String(FormatFraction(p.renew_fraction)));
  if (p.renew_before) j.Set("renew_before_us", JsonValue::Int(p.renew_before->micros));
  j.Set("jitter", JsonValue::String(FormatFraction(p.jitter)));
  j.Set("grace_us", JsonValue::Int(p.grace.micros));
  j.Set("backoff_base_us", JsonValue::Int(p.backoff_base.micros));
  j.Set("backoff_max_us", JsonValue::Int(p.backoff_max.micros));
  j.Set("max_issuances_per_window", JsonValue::Int(p.max_issuances_per_window));
  j.Set("issuance_window_us", JsonValue::Int(p.issuance_window.micros));
  j.Set("max_consecutive_failures", JsonValue::Int(p.max_consecutive_failures));
  j.Set("emergency_min_interval_us", JsonValue::Int(p.emergency_min_interval.micros));
  return j;
}

JsonValue EncodeProfile(const CertificateProfile& p) {
  JsonValue j = JsonValue::Object();
  j.Set("key_type", JsonValue::String(KeyTypeName(p.key_type)));
  JsonValue subject = JsonValue::Array();
  for (const auto& a : p.subject) {
    JsonValue attr = JsonValue::Object();
    attr.Set("type", JsonValue::String(a.type));
    attr.Set("value", JsonValue::String(a.value));
    subject.Push(std::move(attr));
  }
  j.Set("subject", std::move(subject));
  j.Set("dns", Strings(p.dns));
  j.Set("uris", Strings(p.uris));
  j.Set("ips", Strings(p.ips));
  j.Set("key_usage", JsonValue::Int(p.key_usage));
  std::vector<std::string> ekus;
  for (ExtKeyUsage e : p.ext_key_usage) ekus.emplace_back(ExtKeyUsageName(e));
  j.Set("ext_key_usage", Strings(ekus));
  j.Set("skew_us", JsonValue::Int(p.skew.micros));
  return j;
}

// Reader pulls typed members out of a JSON object, remembering the first problem.
class Reader {
 public:
  Reader(const JsonValue& object, std::string what) : o_(object), what_(std::move(what)) {}
  const Status& status() const { return bad_; }

  std::string Str(const char* key) {
    const JsonValue* v = o_.Find(key);
    if (v == nullptr || !v->is_string()) {
      Fail(key, "a string");
      return std::string();
    }
    return v->as_string();
  }
  int64_t Int(const char* key) {
    const JsonValue* v = o_.Find(key);
    if (v == nullptr || !v->is_int()) {
      Fail(key, "an integer");
      return 0;
    }
    return v->as_int();
  }
  std::optional<int64_t> OptionalInt(const char* key) {
    if (o_.Find(key) == nullptr) return std::nullopt;
    return Int(key);
  }
  double Fraction(const char* key) {
    const std::string text = Str(key);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') {
      Fail(key, "a decimal number");
      return 0.0;
    }
    return v;
  }
  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    const JsonValue* v = o_.Find(key);
    if (v == nullptr || v->kind() != JsonValue::Kind::kArray) {
      Fail(key, "an array");
      return out;
    }
    for (const auto& item : v->items()) {
      if (!item.is_string()) {
        Fail(key, "an array of strings");
        return out;
      }
      out.push_back(item.as_string());
    }
    return out;
  }
  const JsonValue* Object(const char* key) {
    const JsonValue* v = o_.Find(key);
    if (v == nullptr || !v->is_object()) {
      Fail(key, "an object");
      return nullptr;
    }
    return v;
  }
  const JsonValue* Array(const char* key) {
    const JsonValue* v = o_.Find(key);
    if (v == nullptr || v->kind() != JsonValue::Kind::kArray) {
      Fail(key, "an array");
      return nullptr;
    }
    return v;
  }
  void Fail(const char* key, const char* expected) {
    if (bad_.ok()) bad_ = InvalidArgument(what_ + ": \"" + key + "\" missing or not " + expected);
  }
  void Fail(const std::string& message) {
    if (bad_.ok()) bad_ = InvalidArgument(what_ + ": " + message);
  }

 private:
  const JsonValue& o_;
  std::string what_;
  Status bad_;
};

RenewalPolicy DecodePolicy(const JsonValue& j, Reader* outer) {
  Reader r(j, "adopted identity policy");
  RenewalPolicy p;
  p.name = r.Str("name");
  p.lifetime.micros = r.Int("lifetime_us");
  p.renew_fraction = r.Fraction("renew_fraction");
  if (auto before = r.OptionalInt("renew_before_us")) p.renew_before = Duration{*before};
  p.jitter = r.Fraction("jitter");
  p.grace.micros = r.Int("grace_us");
  p.backoff_base.micros = r.Int("backoff_base_us");
  p.backoff_max.micros = r.Int("backoff_max_us");
  p.max_issuances_per_window = static_cast<uint32_t>(r.Int("max_issuances_per_window"));
  p.issuance_window.micros = r.Int("issuance_window_us");
  p.max_consecutive_failures = static_cast<uint32_t>(r.Int("max_consecutive_failures"));
  p.emergency_min_interval.micros = r.Int("emergency_min_interval_us");
  if (!r.status().ok()) outer->Fail(r.status().message());
  return p;
}

CertificateProfile DecodeProfile(const JsonValue& j, Reader* outer) {
  Reader r(j, "adopted identity profile");
  CertificateProfile p;
  if (auto type = ParseKeyType(r.Str("key_type")); type.ok()) {
    p.key_type = *type;
  } else if (r.status().ok()) {
    r.Fail(type.status().message());
  }
  if (const JsonValue* subject = r.Array("subject")) {
    for (const auto& attr : subject->items()) {
      if (!attr.is_object()) {
        r.Fail("subject holds something other than {type, value} objects");
        break;
      }
      Reader a(attr, "adopted identity subject attribute");
      NameAttribute na{a.Str("type"), a.Str("value")};
      if (!a.status().ok()) r.Fail(a.status().message());
      p.subject.push_back(std::move(na));
    }
  }
  p.dns = r.Strings("dns");
  p.uris = r.Strings("uris");
  p.ips = r.Strings("ips");
  p.key_usage = static_cast<uint32_t>(r.Int("key_usage"));
  for (const auto& name : r.Strings("ext_key_usage")) {
    auto e = ParseExtKeyUsage(name);
    if (!e.ok()) {
      r.Fail(e.status().message());
      break;
    }
    p.ext_key_usage.push_back(*e);
  }
  p.skew.micros = r.Int("skew_us");
  if (!r.status().ok()) outer->Fail(r.status().message());
  return p;
}

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

std::string Sanitize(std::string text) {
  if (text.rfind("*.", 0) == 0) text = "wildcard." + text.substr(2);
  std::string out;
  for (char c : text) out.push_back(IdChar(c) ? c : '-');
  while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(out.begin());
  while (!out.empty() && (out.back() == '.' || out.back() == '-')) out.pop_back();
  return out;
}

}  // namespace

std::string AdoptedGroupName(const std::string& policy_name) {
  return kAdoptedGroupPrefix + policy_name;
}

bool IsAdoptedGroup(const std::string& group_name) {
  return group_name.rfind(kAdoptedGroupPrefix, 0) == 0;
}

std::string EncodeAdoptedIdentity(const AdoptedIdentity& a) {
  JsonValue j = JsonValue::Object();
  j.Set("version", JsonValue::Int(1));
  j.Set("id", JsonValue::String(a.id));
  j.Set("policy_name", JsonValue::String(a.policy_name));
  j.Set("policy", EncodePolicy(a.policy));
  j.Set("profile", EncodeProfile(a.profile));
  j.Set("source", JsonValue::String(a.source));
  j.Set("imported_fingerprint", JsonValue::String(a.imported_fingerprint));
  j.Set("imported_serial", JsonValue::String(a.imported_serial));
  j.Set("adopted_at_us", JsonValue::Int(a.adopted_at.micros));
  return CanonicalJson(j);
}

StatusOr<AdoptedIdentity> DecodeAdoptedIdentity(std::string_view json) {
  ROTOR_ASSIGN_OR_RETURN(JsonValue j, ParseJson(json));
  if (!j.is_object()) return InvalidArgument("adopted identity is not a JSON object");
  Reader r(j, "adopted identity");
  if (r.Int("version") != 1 && r.status().ok()) r.Fail("unknown version");
  AdoptedIdentity a;
  a.id = r.Str("id");
  a.policy_name = r.Str("policy_name");
  if (const JsonValue* p = r.Object("policy")) a.policy = DecodePolicy(*p, &r);
  if (const JsonValue* p = r.Object("profile")) a.profile = DecodeProfile(*p, &r);
  a.source = r.Str("source");
  a.imported_fingerprint = r.Str("imported_fingerprint");
  a.imported_serial = r.Str("imported_serial");
  a.adopted_at.micros = r.Int("adopted_at_us");
  if (!r.status().ok()) return r.status();
  if (!ValidIdentityId(a.id)) return InvalidArgument("adopted identity: \"" + a.id + "\" is not a valid identity id");
  return a;
}

StatusOr<std::string> DeriveIdentityId(const ImportedCertificate& cert, const std::string& prefix) {
  std::vector<std::string> candidates = cert.dns;
  for (const auto& a : cert.subject) {
    if (a.type == "CN") candidates.push_back(a.value);
  }
  for (const auto& u : cert.uris) {
    const size_t colon = u.find(':');
    candidates.push_back(colon == std::string::npos ? u : u.substr(colon + 1));
  }
  for (const auto& c : candidates) {
    std::string id = Sanitize(c);
    if (id.empty()) continue;
    id = prefix + id;
    if (id.size() > 200) id.resize(200);
    while (!id.empty() && (id.back() == '.' || id.back() == '-')) id.pop_back();
    if (ValidIdentityId(id)) return id;
  }
  return InvalidArgument("no identity id can be derived from its DNS names, CN or URIs; name one with --id");
}

StatusOr<CertificateProfile> DeriveProfile(const ImportedCertificate& cert, KeyType fallback,
                                           std::vector<std::string>* warnings) {
  CertificateProfile p;
  if (cert.subject.empty()) {
    return InvalidArgument("its subject is empty, and rotor's certificates always have one (CN={id} by default)");
  }
  if (cert.multi_valued_rdn) {
    return InvalidArgument("its subject has a multi-valued RDN (two attributes in one set), which rotor cannot issue");
  }
  for (const auto& a : cert.subject) {
    if (!IsIssuedSubjectType(a.type)) {
      return InvalidArgument("its subject has a " + a.type +
                             " attribute; rotor issues CN, O, OU, C, ST, L and serialNumber only");
    }
    if (HasIdToken(a.value)) return InvalidArgument("its subject holds the text {id}, which profiles expand");
  }
  if (!cert.other_sans.empty()) {
    std::string list;
    for (const auto& s : cert.other_sans) list += (list.empty() ? "" : ", ") + s;
    return InvalidArgument("its subjectAltName has entries rotor cannot issue (" + list +
                           "); rotor issues DNS, URI and IP entries");
  }
  for (const auto* names : {&cert.dns, &cert.uris, &cert.ips}) {
    for (const auto& n : *names) {
      if (HasIdToken(n)) return InvalidArgument("a subjectAltName holds the text {id}, which profiles expand");
    }
  }
  p.subject = cert.subject;
  p.dns = cert.dns;
  p.uris = cert.uris;
  p.ips = cert.ips;
  if (cert.key_type) {
    p.key_type = *cert.key_type;
  } else {
    p.key_type = fallback;
    warnings->push_back("its key type " + cert.key_type_name + " is not one rotor issues; re-issued with " +
                        KeyTypeName(fallback) + " keys");
  }
  if (cert.has_key_usage) {
    const bool rsa = p.key_type == KeyType::kRsa2048 || p.key_type == KeyType::kRsa3072;
    uint32_t allowed = kKeyUsageDigitalSignature | kKeyUsageContentCommitment;
    if (rsa) allowed |= kKeyUsageKeyEncipherment | kKeyUsageDataEncipherment;
    if (p.key_type == KeyType::kP256) allowed |= kKeyUsageKeyAgreement;
    p.key_usage = cert.key_usage & allowed;
    const uint32_t dropped = cert.key_usage & ~allowed;
    if (dropped != 0) {
      std::string names;
      const std::pair<uint32_t, const char*> bits[] = {{kKeyUsageKeyEncipherment, "key_encipherment"},
                                                       {kKeyUsageDataEncipherment, "data_encipherment"},
                                                       {kKeyUsageKeyAgreement, "key_agreement"},
                                                       {kKeyUsageKeyCertSign, "key_cert_sign"},
                                                       {kKeyUsageCrlSign, "crl_sign"}};
      for (const auto& [bit, name] : bits) {
        if (dropped & bit) names += std::string(names.empty() ? "" : ", ") + name;
      }
      warnings->push_back("key usage " + names + " dropped (not allowed for a " + KeyTypeName(p.key_type) + " leaf)");
    }
  }
  p.ext_key_usage = cert.ext_key_usage;
  std::sort(p.ext_key_usage.begin(), p.ext_key_usage.end());
  p.ext_key_usage.erase(std::unique(p.ext_key_usage.begin(), p.ext_key_usage.end()), p.ext_key_usage.end());
  for (const auto& oid : cert.other_ext_key_usages) {
    warnings->push_back("extended key usage " + oid + " is not one rotor issues; the re-issued certificate lacks it");
  }
  Status valid = ValidateProfile(p);
  if (!valid.ok()) return InvalidArgument("rotor cannot issue an equivalent certificate: " + valid.message());
  return p;
}

AdoptedStart AdoptedRecord(const AdoptedIdentity& adopted, Instant not_before, Instant not_after, Instant now) {
  AdoptedStart out;
  RotationRecord& r = out.record;
  r = NewRecord(adopted.id, AdoptedGroupName(adopted.policy_name), CredentialKind::kX509, now);
  Instant issued_at = std::min(not_before, now);
  if (issued_at >= not_after) issued_at = not_after - Duration{1};
  r.phase = Phase::kActive;
  r.current = CredentialVersion{1, issued_at, not_after, adopted.imported_fingerprint};
  r.next_generation = 2;
  const Instant renew_at = RenewalPoint(adopted.policy, adopted.id, issued_at, not_after);
  r.next_due = renew_at;

  AuditFact& f = out.audit;
  f.type = "identity.adopted";
  f.data["group"] = r.group;
  f.data["kind"] = std::string(CredentialKindName(r.kind));
  f.data["policy"] = adopted.policy_name;
  f.data["phase"] = std::string(PhaseName(r.phase));
  f.data["generation"] = int64_t{1};
  f.data["fingerprint"] = adopted.imported_fingerprint;
  f.data["serial"] = adopted.imported_serial;
  f.data["source"] = adopted.source;
  f.data["not_after"] = FormatRfc3339(not_after);
  f.data["renew_at"] = FormatRfc3339(renew_at);
  f.data["key_type"] = std::string(KeyTypeName(adopted.profile.key_type));
  if (now >= not_after) f.data["expired"] = int64_t{1};
  return out;
}

const char* AdoptionActionName(AdoptionAction action) {
  switch (action) {
    case AdoptionAction::kAdopt: return "adopt";
    case AdoptionAction::kSkip: return "skip";
    case AdoptionAction::kRefuse: return "refuse";
  }
  return "unknown";
}

std::vector<AdoptionOutcome> PlanAdoption(const std::vector<AdoptionCandidate>& candidates,
                                          const AdoptionContext& ctx) {
  std::vector<AdoptionOutcome> out(candidates.size());
  std::map<std::string, size_t> first_by_fp;
  std::map<std::string, std::vector<size_t>> by_id;  // adoptable candidates per id
  for (size_t i = 0; i < candidates.size(); ++i) {
    const AdoptionCandidate& c = candidates[i];
    AdoptionOutcome& o = out[i];
    o.status = Classify(c.cert, ctx.now, ctx.policy);
    auto refuse = [&](std::string why) {
      o.action = AdoptionAction::kRefuse;
      o.reason = std::move(why);
    };
    auto skip = [&](std::string why) {
      o.action = AdoptionAction::kSkip;
      o.reason = std::move(why);
    };
    if (auto seen = first_by_fp.find(c.cert.fingerprint); seen != first_by_fp.end()) {
      skip("the same certificate as " + Location(candidates[seen->second].cert));
      continue;
    }
    first_by_fp.emplace(c.cert.fingerprint, i);
    if (c.cert.is_ca) {
      skip("a CA certificate: only leaves are adopted (rotor's own CA signs their successors)");
      continue;
    }
    if (auto before = ctx.adopted_by_fp.find(c.cert.fingerprint); before != ctx.adopted_by_fp.end()) {
      o.id = before->second;
      skip("already adopted as " + before->second);
      continue;
    }
    if (!c.unreadable.empty()) {
      refuse(c.unreadable);
      continue;
    }
    if (!c.key_found) {
      refuse(c.encrypted_key_only
                 ? "no unencrypted private key of it among the files read (an encrypted key was read: if it is "
                   "this certificate's, decrypt it with openssl pkey -in KEY -out PLAIN and adopt from the copy)"
                 : "no private key of it among the files read; give the key file (or its directory) too");
      continue;
    }
    if (o.status == CertStatus::kNotYetValid) {
      refuse("not valid before " + FormatRfc3339Seconds(c.cert.not_before) + "; adopt it once it is");
      continue;
    }
    auto profile = DeriveProfile(c.fields, ctx.fallback_key_type, &o.warnings);
    if (!profile.ok()) {
      refuse(profile.status().message());
      continue;
    }
    o.profile = *std::move(profile);
    if (!c.id_override.empty()) {
      o.id = c.id_override;
    } else {
      auto id = DeriveIdentityId(c.fields, ctx.id_prefix);
      if (!id.ok()) {
        refuse(id.status().message());
        continue;
      }
      o.id = *id;
    }
    if (auto group = ctx.existing ? ctx.existing(o.id) : std::nullopt) {
      refuse("identity " + o.id + " exists already (group " + *group +
             "); give this certificate another id with --id " + c.cert.serial + "=ID");
      continue;
    }
    o.action = AdoptionAction::kAdopt;
    by_id[o.id].push_back(i);
  }
  if (ctx.fleet != nullptr && !by_id.empty()) {
    for (const auto& g : ctx.fleet->groups) {
      for (const auto& id : g.identities) {
        auto taken = by_id.find(id);
        if (taken == by_id.end()) continue;
        for (size_t k : taken->second) {
          out[k].action = AdoptionAction::kRefuse;
          out[k].reason = "the fleet file declares identity " + id + " (group " + g.name +
                          "); give this certificate another id with --id " + candidates[k].cert.serial + "=ID";
        }
        by_id.erase(taken);
      }
    }
  }
  for (const auto& [id, users] : by_id) {
    if (users.size() < 2) continue;
    for (size_t i : users) {
      std::string others;
      for (size_t j : users) {
        if (j != i) others += (others.empty() ? "" : ", ") + Location(candidates[j].cert);
      }
      out[i].action = AdoptionAction::kRefuse;
      out[i].reason = "identity id " + id + " is derived for " + others +
                      " too; name them apart with --id SERIAL=ID (serial " + candidates[i].cert.serial + ")";
    }
  }
  return out;
}

const RenewalPolicy* FindPolicy(const FleetSpec& fleet, const std::string& name) {
  for (const auto& g : fleet.groups) {
    if (g.kind != CredentialKind::kCaIntermediate && g.policy.name == name) return &g.policy;
  }
  return nullptr;
}

Status MergeAdopted(const std::vector<AdoptedIdentity>& adopted, FleetSpec* fleet, std::vector<std::string>* warnings) {
  if (adopted.empty()) return Status::Ok();
  std::unordered_set<std::string> ids;
  for (const auto& a : adopted) ids.insert(a.id);
  for (const auto& g : fleet->groups) {
    for (const auto& id : g.identities) {
      if (ids.count(id)) {
        return FailedPrecondition("identity " + id + " is declared in group " + g.name +
                                  " of the fleet file, and was adopted from an imported certificate "
                                  "(rotor import --adopt): remove it from the fleet file or give it another id there");
      }
    }
  }
  std::vector<GroupSpec> added;
  std::set<std::string> stale_policies;
  for (const auto& a : adopted) {
    const std::string name = AdoptedGroupName(a.policy_name);
    auto g = std::find_if(added.begin(), added.end(), [&](const GroupSpec& x) { return x.name == name; });
    if (g == added.end()) {
      GroupSpec group;
      group.name = name;
      group.kind = CredentialKind::kX509;
      const RenewalPolicy* current = FindPolicy(*fleet, a.policy_name);
      group.policy = current != nullptr ? *current : a.policy;
      if (current == nullptr) stale_policies.insert(a.policy_name);
      group.labels = {{"adopted", "true"}};
      added.push_back(std::move(group));
      g = added.end() - 1;
    }
    g->identities.push_back(a.id);
    g->identity_profiles[a.id] = a.profile;
  }
  for (const auto& p : stale_policies) {
    warnings->push_back("no group of the fleet file uses policy " + p +
                        " any more; the identities adopted under it keep the policy as it was at adoption");
  }
  for (auto& g : added) fleet->groups.push_back(std::move(g));
  AddManagedCaGroup(fleet);
  return Status::Ok();
}

}  // namespace rotor
