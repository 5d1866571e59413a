// Adoption: existing leaf certificates (found by `rotor import`) taken over as
// managed identities (`rotor import --adopt --policy NAME`).
//
// An adopted identity is declared outside the fleet file: its declaration
// (AdoptedIdentity) is persisted in the state store, in the same transaction
// as its first record and its identity.adopted event, and merged into the
// fleet at every load (MergeAdopted), so reconciliation never retires it. All
// adopted identities under one policy form one group, "adopted:<policy>",
// whose certificate profile is per identity (GroupSpec::identity_profiles):
// subject, SANs, key type and usages copied from the imported certificate.
// Generation 1 is the imported certificate itself; the first rotation
// re-issues an equivalent one from rotor's CA, and generation 1 stays the
// previous version until its grace window ends.
//
// Pure values and functions; thread-compatible. Reading a certificate's
// fields is the crypto connector's (x509::ReadImportedCertificate).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/certificate.h"
#include "engine/fleet.h"
#include "engine/inventory.h"
#include "engine/model.h"
#include "engine/policy.h"
#include "engine/rotation.h"
#include "engine/status.h"
#include "engine/time.h"

namespace rotor {

// ImportedCertificate: what an existing certificate holds that an equivalent
// one must carry, as the crypto connector read it.
struct ImportedCertificate {
  // Subject attributes in order, types as rotor names them (CN, O, ...) or,
  // for types rotor does not issue, the OID's short name or dotted form.
  std::vector<NameAttribute> subject;
  bool multi_valued_rdn = false;  // some RDN holds more than one attribute
  std::vector<std::string> dns;
  std::vector<std::string> uris;
  std::vector<std::string> ips;         // textual
  std::vector<std::string> other_sans;  // SAN entries rotor cannot issue, described ("email:a@b")
  bool has_key_usage = false;
  uint32_t key_usage = 0;  // KeyUsage bits
  std::vector<ExtKeyUsage> ext_key_usage;
  std::vector<std::string> other_ext_key_usages;  // OIDs rotor does not know by name
  std::optional<KeyType> key_type;                // empty: a type rotor does not issue
  std::string key_type_name;                      // what it is, either way ("p384", "rsa4096")
};

// AdoptedIdentity: the persisted declaration of one adopted identity.
struct AdoptedIdentity {
  std::string id;
  // The fleet policy it was adopted under; while the fleet file has a group
  // with a policy of this name the identity follows it, otherwise `policy`
  // (the policy as it was at adoption).
  std::string policy_name;
  RenewalPolicy policy;
  CertificateProfile profile;
  std::string source;                // "file:position" of the imported certificate
  std::string imported_fingerprint;  // "sha256:" of its DER: generation 1
  std::string imported_serial;       // canonical serial
  Instant adopted_at;

  bool operator==(const AdoptedIdentity&) const = default;
};

// kAdoptedGroupPrefix starts the name of every adopted group: "adopted:" and
// the policy name. ':' cannot occur in a fleet file's group names.
inline constexpr char kAdoptedGroupPrefix[] = "adopted:";
std::string AdoptedGroupName(const std::string& policy_name);
bool IsAdoptedGroup(const std::string& group_name);

// EncodeAdoptedIdentity / DecodeAdoptedIdentity: canonical JSON, every field.
// Decode fails with InvalidArgument on anything malformed.
std::string EncodeAdoptedIdentity(const AdoptedIdentity& adopted);
StatusOr<AdoptedIdentity> DecodeAdoptedIdentity(std::string_view json);

// DeriveIdentityId proposes an id for a certificate: its first DNS name, else
// its CN, else its first URI's text after the scheme, made a valid identity
// id ("*." becomes "wildcard.", any other character outside [A-Za-z0-9._-]
// becomes '-', at most 200 bytes) and prefixed with `prefix`.
// InvalidArgument when nothing usable is left.
StatusOr<std::string> DeriveIdentityId(const ImportedCertificate& cert, const std::string& prefix);

// DeriveProfile builds the certificate profile of an equivalent certificate:
// the same subject, DNS/URI/IP SANs and extended key usages, the same key type
// when rotor issues it (else `fallback`, with a warning), the key usages the
// key type allows (others dropped with a warning). A certificate whose
// subject or SANs rotor cannot reproduce is refused (InvalidArgument naming
// what): an empty subject, a multi-valued RDN, an attribute type rotor does not
// issue, a SAN of another type, a value holding "{id}" (profiles expand it).
StatusOr<CertificateProfile> DeriveProfile(const ImportedCertificate& cert, KeyType fallback,
                                           std::vector<std::string>* warnings);

// AdoptedRecord is the first record of an adopted identity: active, with
// generation 1 (the imported certificate, issued_at = its notBefore, never
// after `now`) current, due at its renewal point under `policy` — at once
// when that has passed or the certificate has expired — and its
// identity.adopted audit fact. The record's chain starts at genesis.
struct AdoptedStart {
  RotationRecord record;
  AuditFact audit;
};
AdoptedStart AdoptedRecord(const AdoptedIdentity& adopted, Instant not_before, Instant not_after, Instant now);

// MergeAdopted adds every adopted identity to `fleet`: into group
// "adopted:<policy>" (kind x509, label adopted=true, no hook), under the
// fleet's policy of that name when a group has one, else the recorded one
// (a warning each such policy). Then the managed CA's group is added if the
// fleet needs it now. FailedPrecondition when the fleet file declares an
// adopted identity's id itself.
Status MergeAdopted(const std::vector<AdoptedIdentity>& adopted, FleetSpec* fleet, std::vector<std::string>* warnings);

// One certificate `rotor import --adopt` considers, with what the scan found.
struct AdoptionCandidate {
  InventoryItem cert;      // linked (LinkInventory)
  std::string unreadable;  // why its fields could not be read; empty when `fields` holds them
  ImportedCertificate fields;
  bool key_found = false;  // an unencrypted private key of its public key was read
  bool encrypted_key_only = false;
  std::string id_override;  // from --id; empty: derived
};

// What adoption knows of the data directory and the fleet.
struct AdoptionContext {
  // The group of the store's record of an id, or nullopt when it has none
  // (a lookup, so that a store of millions is not read whole).
  std::function<std::optional<std::string>(const std::string& id)> existing;
  std::map<std::string, std::string> adopted_by_fp;  // imported fingerprint -> id, adopted before
  const FleetSpec* fleet = nullptr;                  // its ids are taken; walked once
  std::string id_prefix;
  KeyType fallback_key_type = KeyType::kEd25519;
  RenewalPolicy policy;
  Instant now;
};

enum class AdoptionAction : uint8_t { kAdopt, kSkip, kRefuse };
const char* AdoptionActionName(AdoptionAction action);  // "adopt", "skip", "refuse"

struct AdoptionOutcome {
  AdoptionAction action = AdoptionAction::kRefuse;
  std::string id;      // kAdopt, and kSkip of one adopted before
  std::string reason;  // kSkip and kRefuse
  std::vector<std::string> warnings;
  CertificateProfile profile;  // kAdopt
  CertStatus status = CertStatus::kValid;
};

// PlanAdoption decides, for each candidate in order: a CA certificate is
// skipped, as is one adopted before (or met twice); a leaf is refused when
// its fields could not be read, no unencrypted key of it was found, it is
// not valid yet, rotor cannot issue an equivalent (DeriveProfile), no id can
// be derived, or its id is taken (a record of the store, an id of the fleet
// file, or another candidate's: both are refused, naming each other).
// Everything else is adopted. Pure.
std::vector<AdoptionOutcome> PlanAdoption(const std::vector<AdoptionCandidate>& candidates,
                                          const AdoptionContext& context);

// FindPolicy returns the policy named `name` of the first group using it, or
// nullptr.
const RenewalPolicy* FindPolicy(const FleetSpec& fleet, const std::string& name);

}  // namespace rotor
