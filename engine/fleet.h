// The declared fleet: groups of identities and their policies, as loaded from
// a fleet file (app/fleet_loader.h parses YAML into this). Value types.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/policy.h"
#include "engine/time.h"

namespace rotor {

struct GroupSpec {
  std::string name;
  CredentialKind kind = CredentialKind::kApiKey;
  RenewalPolicy policy;
  std::map<std::string, std::string> labels;
  std::vector<std::string> identities;  // expanded identity ids, unique fleet-wide
  std::string hook;                     // optional shell command run after delivery
  std::string verify_command;           // optional shell command run by the verify step
  Duration command_timeout = Duration::Seconds(30);
};

struct FleetSpec {
  std::vector<GroupSpec> groups;

  // FindGroup returns the group named `name`, or nullptr.
  const GroupSpec* FindGroup(const std::string& name) const;
};

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
