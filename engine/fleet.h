// The declared fleet: groups of identities and their policies, as loaded from
// a fleet file (app/fleet_loader.h parses YAML into this). Value types.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/certificate.h"
#include "engine/model.h"
#include "engine/policy.h"
#include "engine/time.h"

namespace rotor {

struct GroupSpec {
  std::string name;
  CredentialKind kind = CredentialKind::kApiKey;
  RenewalPolicy policy;
  CertificateProfile certificate;  // kind x509: what each identity's certificate looks like
  // Per-identity profiles that replace `certificate` (adopted identities,
  // engine/adoption.h: each keeps the subject and SANs it was imported with).
  std::map<std::string, CertificateProfile> identity_profiles;
  std::map<std::string, std::string> labels;
  std::vector<std::string> identities;  // expanded identity ids, unique fleet-wide
  std::string hook;                     // optional shell command run after delivery
  std::string verify_command;           // optional shell command run by the verify step
  Duration command_timeout = Duration::Seconds(30);

  // ProfileOf returns the certificate profile of identity `id`.
  const CertificateProfile& ProfileOf(const std::string& id) const;
};

// The identity id and group of the managed CA's intermediate. Reserved: a
// fleet file may use neither.
inline constexpr char kCaIdentityId[] = "rotor-ca";
inline constexpr char kCaGroupName[] = "rotor-ca";

// The managed CA (ARCHITECTURE §5), from the fleet file's `ca:` section.
struct CaSpec {
  KeyType key_type = KeyType::kP256;
  std::string organization = "rotor";
  std::string root_common_name = "rotor root CA";
  Duration root_lifetime = Duration::Days(3650);
  // The intermediate's policy. Its grace always equals its lifetime, so a
  // replaced intermediate stays in the trust bundle until it expires — after
  // every leaf it signed (a leaf never outlives its issuer).
  RenewalPolicy intermediate_policy = DefaultIntermediatePolicy();
  Duration skew = Duration::Seconds(60);
  // An existing root (PEM certificate and key files) to adopt on first start.
  std::string import_cert;
  std::string import_key;
  // Where the key-encryption key lives; empty: ROTOR_KEK, ROTOR_KEK_FILE or
  // <data-dir>/kek (created on first start).
  std::string kek_file;

  static RenewalPolicy DefaultIntermediatePolicy();
  bool operator==(const CaSpec&) const = default;
};

struct FleetSpec {
  std::vector<GroupSpec> groups;
  CaSpec ca;
  bool ca_declared = false;  // the file has a `ca:` section

  // NeedsCa: some group issues certificates, or the file configures a CA.
  bool NeedsCa() const;

  // FindGroup returns the group named `name`, or nullptr.
  const GroupSpec* FindGroup(const std::string& name) const;
};

// AddManagedCaGroup appends the group of the CA's intermediate (one identity,
// kCaIdentityId) when the fleet NeedsCa and does not have it yet.
void AddManagedCaGroup(FleetSpec* fleet);

// ValidIdentityId: 1–200 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
// Ids become directory names, so nothing else is allowed.
bool ValidIdentityId(const std::string& id);

// ParseSelector splits "key=value" at its first '='; false when there is no
// '=' or the key is empty. The value may be empty or hold further '='.
bool ParseSelector(std::string_view selector, std::string* key, std::string* value);

// MatchesSelector reports whether `group` matches "key=value" (labels, plus
// the pseudo-labels "group" and "kind").
bool MatchesSelector(const GroupSpec& group, const std::string& key, const std::string& value);

}  // namespace rotor
