#include "engine/fleet.h"

namespace rotor {

const CertificateProfile& GroupSpec::ProfileOf(const std::string& id) const {
  auto it = identity_profiles.find(id);
  return it == identity_profiles.end() ? certificate : it->second;
}

const GroupSpec* FleetSpec::FindGroup(const std::string& name) const {
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

RenewalPolicy CaSpec::DefaultIntermediatePolicy() {
  RenewalPolicy p;
  p.name = "rotor-ca";
  p.lifetime = Duration::Days(90);
  p.grace = p.lifetime;
  p.max_issuances_per_window = 10;
  p.issuance_window = Duration::Hours(1);
  return p;
}

bool FleetSpec::NeedsCa() const {
  if (ca_declared) return true;
  for (const auto& g : groups) {
    if (g.kind == CredentialKind::kX509) return true;
  }
  return false;
}

void AddManagedCaGroup(FleetSpec* fleet) {
  if (!fleet->NeedsCa() || fleet->FindGroup(kCaGroupName) != nullptr) return;
  GroupSpec g;
  g.name = kCaGroupName;
  g.kind = CredentialKind::kCaIntermediate;
  g.policy = fleet->ca.intermediate_policy;
  g.policy.grace = g.policy.lifetime;
  g.labels = {{"rotor", "ca"}};
  g.identities = {kCaIdentityId};
  fleet->groups.push_back(std::move(g));
}

bool ValidIdentityId(const std::string& id) {
  if (id.empty() || id.size() > 200 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ParseSelector(std::string_view selector, std::string* key, std::string* value) {
  const size_t eq = selector.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  *key = std::string(selector.substr(0, eq));
  *value = std::string(selector.substr(eq + 1));
  return true;
}

bool MatchesSelector(const GroupSpec& group, const std::string& key, const std::string& value) {
  if (key == "group") return group.name == value;
  if (key == "kind") return value == CredentialKindName(group.kind);
  auto it = group.labels.find(key);
  return it != group.labels.end() && it->second == value;
}

}  // namespace rotor
